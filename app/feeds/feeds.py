"""Calendar subscriptions: what each feed holds, its fingerprint, and its iCalendar body.

A calendar app believes exactly what it gets, polls every hour or so, and drops an event
only when it disappears from the feed. So:
- cancelled and declined bookings leave the feed (the one behaviour every app agrees on);
- every event keeps its UID, carries the booking's SEQUENCE, and its DTSTAMP and
  LAST-MODIFIED are the booking's last change, so an unchanged feed is byte-identical;
- times carry the venue's TZID with its VTIMEZONE in the feed (never floating);
- `owner()` answers "did anything change?" from one row (the owner's secret and the counters of
  app/versions.py, which the database moves on every write), so an unchanged feed answers 304
  without reading a booking; `last_modified()` is an aggregate, read only when a body is built
  or a client asks with If-Modified-Since alone.

The body is written line by line by `app.feeds.writer` (an icalendar tree of 5,000 events took
seconds); bookings are read as plain rows, their spaces and venues once per feed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from sqlalchemy.orm import joinedload

from app import versions
from app.accounts.models import User
from app.bookings.models import HOLDING, Booking
from app.database import plain_row, plain_rows
from app.db import now_utc
from app.extensions import db
from app.feeds import writer
from app.feeds.ical import DEFAULT_ORGANIZER, EVENT_STATUS, PARTSTAT, PRODID
from app.venues.models import Space, Venue

PAST_DAYS = 90
FUTURE_DAYS = 732  # beyond every space's horizon
REFRESH = "PT1H"
# Bump when the body's layout changes, so ETags change with it. 2: the hand-written writer
# (one RDATE line per transition, VTIMEZONEs in TZID order, NAME/X-WR-CALNAME escaped as TEXT,
# the repeated hour at the end of DST in UTC, control characters left out, a literal backslash-N
# kept as text) and ETag parts per feed kind.
FORMAT_VERSION = "2"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
MEMBER_ZONE = "Europe/Amsterdam"  # a member's feed window turns at midnight here


@dataclass(frozen=True)
class Feed:
    """Which bookings a feed shows and to whom.

    `space_ids` (venue feeds) filters bookings by the venue's spaces directly: joined through
    `spaces`, PostgreSQL scans all of `bookings` (150 ms at 1M rows) instead of the index (2.4 ms).
    `changed` holds the `updated_at` of the rows the view already loaded, for Last-Modified.
    """

    kind: str  # member | venue | space | busy
    owner_id: int
    name: str
    language: str
    zone: ZoneInfo
    space_ids: tuple[int, ...] = ()
    changed: tuple[datetime, ...] = ()

    def window(self, now: datetime) -> tuple[datetime, datetime, date]:
        today = now.astimezone(self.zone).date()
        first = today - timedelta(days=PAST_DAYS)
        start = datetime.combine(first, datetime.min.time(), tzinfo=self.zone)
        return start, start + timedelta(days=PAST_DAYS + FUTURE_DAYS), first

    def where(self, query):
        if self.kind == "member":
            return query.where(Booking.member_id == self.owner_id, Booking.kind == "booking")
        if self.kind == "venue":
            return query.where(Booking.space_id.in_(self.space_ids))
        return query.where(Booking.space_id == self.owner_id)


def member_feed(user: User) -> Feed:
    zone = ZoneInfo(MEMBER_ZONE)
    with force_locale(user.language):
        name = gettext("Dichtbij — my bookings")
    return Feed("member", user.id, name, user.language, zone, changed=(user.updated_at,))


def venue_feed(venue: Venue, language: str = "nl") -> Feed:
    """One small query for the venue's space ids (and their last change), not a join per poll."""
    rows = plain_rows(sa.select(Space.id, Space.updated_at).where(Space.venue_id == venue.id).order_by(Space.id))
    changed = (venue.updated_at, *([max(r.updated_at for r in rows)] if rows else []))
    return Feed(
        "venue",
        venue.id,
        f"Dichtbij — {venue.name}",
        language,
        venue.zone,
        space_ids=tuple(r.id for r in rows),
        changed=changed,
    )


def space_feed(space: Space, language: str = "nl") -> Feed:
    venue = space.venue
    name = f"Dichtbij — {space.name}, {venue.name}"
    return Feed("space", space.id, name, language, venue.zone, changed=(space.updated_at, venue.updated_at))


def busy_feed(space: Space, language: str = "nl") -> Feed:
    venue = space.venue
    name = f"{space.name}, {venue.name}"
    return Feed("busy", space.id, name, language, venue.zone, changed=(space.updated_at, venue.updated_at))


# -- has it changed? ----------------------------------------------------------------------------


class Owner(NamedTuple):
    """What a poll needs to know before anything else: the feed's secret, and its ETag's parts.

    Read in one statement, no entities: most polls end in a 304 right after it.
    """

    secret: str | None
    zone: ZoneInfo
    language: str
    versions: tuple[int, ...]

    def etag(self, kind: str, owner_id: int, now: datetime) -> str:
        """Changes whenever the body would: the counters (app/versions.py) cover every row the
        body shows; the window slides at local midnight; the language picks the words."""
        first = now.astimezone(self.zone).date() - timedelta(days=PAST_DAYS)
        parts = (fingerprint(), kind, str(owner_id), self.language, first.isoformat(), *map(str, self.versions))
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@functools.cache
def fingerprint() -> str:
    """What a body depends on besides the database's rows: its layout (FORMAT_VERSION), the time
    zone rules and the translations. Part of every ETag, so a release that bumps the layout or
    changes a catalogue, or a tzdata update, makes every calendar app fetch its feed again.
    (Servers behind one address must then run the same catalogues and tzdata, or their ETags
    differ for the same feed.)"""
    digest = hashlib.sha256(f"{FORMAT_VERSION}\x1f{tz_version()}".encode())
    for catalogue in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.mo")):
        digest.update(b"\x1f" + catalogue.parent.parent.name.encode() + b"\x1f" + catalogue.read_bytes())
    return digest.hexdigest()[:16]


def tz_version(paths=None) -> str:
    """The version of the time zone database: named by the first `tzdata.zi` on zoneinfo's
    search path (Debian's tzdata has one), else the tzdata package's version."""
    for directory in zoneinfo.TZPATH if paths is None else paths:
        try:
            with (Path(directory) / "tzdata.zi").open(encoding="utf-8") as source:
                first = source.readline()
        except OSError:
            continue
        if first.startswith("# version "):
            return first.split()[-1]
    try:
        return importlib.metadata.version("tzdata")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def owner(kind: str, owner_id: int, language: str = "nl") -> Owner | None:
    """The feed owner's secret and versions (with the database's epoch); None when there is no
    such owner (or the member is deactivated).

    Member feeds show their spaces' and venues' names (`places`); venue and space feeds show
    members' names and addresses (`people`); a venue feed shows all its spaces: the sum of their
    counters (the set of spaces is fixed while the venue's own counter stands still).
    """
    row = plain_row(_owner_stmt(kind), {"id": owner_id})
    if row is None:
        return None
    secret, zone, own_language, *counters = row
    return Owner(secret, ZoneInfo(zone), own_language or language, tuple(int(v or 0) for v in counters))


@functools.cache
def _owner_stmt(kind: str) -> sa.Select:
    owner_id = sa.bindparam("id")
    if kind == "member":
        return sa.select(
            User.feed_token,
            sa.literal(MEMBER_ZONE),
            User.language,
            versions.shared(versions.EPOCH),
            User.version,
            versions.shared(versions.PLACES),
        ).where(User.id == owner_id, User.active.is_(True))  # a deactivated member's feed is gone
    if kind == "venue":
        return sa.select(
            Venue.feed_token,
            Venue.timezone,
            sa.null(),
            versions.shared(versions.EPOCH),
            Venue.version,
            versions.of_venue_spaces(),
            versions.shared(versions.PEOPLE),
        ).where(Venue.id == owner_id)
    token = Space.busy_token if kind == "busy" else Space.feed_token
    shown = () if kind == "busy" else (versions.shared(versions.PEOPLE),)
    return (
        sa.select(
            token, Venue.timezone, sa.null(), versions.shared(versions.EPOCH), Space.version, Venue.version, *shown
        )
        .join(Venue, Venue.id == Space.venue_id)
        .where(Space.id == owner_id)
    )


def last_modified(feed: Feed, now: datetime | None = None) -> datetime | None:
    """The latest change of anything the feed shows, for Last-Modified: one aggregate.

    Bookings of any status count (a cancellation changes the feed too). The member feed joins
    spaces and venues, for their last change (the other feeds have those rows loaded); venue
    and space feeds also ask for the last change of any account, whose names they show.
    """
    start, end, _first = feed.window(now or now_utc())
    query = sa.select(sa.func.max(Booking.updated_at)).where(Booking.start < end, Booking.end > start)
    if feed.kind == "member":
        query = (
            query.add_columns(sa.func.max(Space.updated_at), sa.func.max(Venue.updated_at))
            .select_from(Booking)
            .join(Space, Space.id == Booking.space_id)
            .join(Venue, Venue.id == Space.venue_id)
        )
    elif feed.kind in ("venue", "space"):
        query = query.add_columns(sa.select(sa.func.max(User.updated_at)).scalar_subquery())
    row = tuple(plain_row(feed.where(query)))  # an aggregate: always one row
    # The window slides at local midnight, so the body may change then with no row changing.
    stamps = [v for v in (*row, *feed.changed, start + timedelta(days=PAST_DAYS)) if v is not None]
    return max(stamps) if stamps else None


def build(feed: Feed, base_url: str, now: datetime | None = None) -> bytes:
    """The feed's iCalendar body; the same bytes for the same data (so for the same ETag)."""
    start, end, first = feed.window(now or now_utc())
    rows = plain_rows(
        feed.where(
            sa.select(
                Booking.id,
                Booking.uid,
                Booking.sequence,
                Booking.created_at,
                Booking.updated_at,
                Booking.start,
                Booking.end,
                Booking.status,
                Booking.seats,
                Booking.title,
                Booking.space_id,
                User.name.label("member_name"),
                User.email.label("member_email"),
            )
            .outerjoin(User, User.id == Booking.member_id)
            .where(Booking.start < end, Booking.end > start, Booking.status.in_(HOLDING))
            .order_by(Booking.start, Booking.id)
        )
    )
    space_ids = sorted({r.space_id for r in rows})
    spaces = db.session.scalars(sa.select(Space).where(Space.id.in_(space_ids)).options(joinedload(Space.venue)))
    return render(feed, rows, {s.id: s for s in spaces}, base_url, first)


def render(feed: Feed, rows, spaces: dict[int, Space], base_url: str, first: date) -> bytes:
    """The body for booking rows (as `build` selects them) and their spaces; no database.

    `first` is the window's first day: VTIMEZONEs cover its year and the four after it.
    """
    with force_locale(feed.language):
        places = {space_id: _Place(space) for space_id, space in spaces.items()}
        events = _Events(feed, base_url)
        body = [events.write(r, places[r.space_id]) for r in rows]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        writer.line("NAME", writer.text(feed.name)),
        writer.line("X-WR-CALNAME", writer.text(feed.name)),
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
        f"X-PUBLISHED-TTL:{REFRESH}",
        writer.line("X-WR-TIMEZONE", writer.text(str(feed.zone.key))),
    ]
    used = {places[r.space_id].tzid for r in rows} - {None}
    for tzid in sorted(used):
        block = writer.vtimezone(tzid, first.year)
        if block:
            lines.append(block.removesuffix("\r\n"))
    lines += body
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


class _Place:
    """What every event in one space shares, written once per feed."""

    def __init__(self, space: Space):
        venue = space.venue
        self.space_name = space.name
        self.venue_name = venue.name
        self.zone = venue.zone
        self.tzid = writer.tzid(self.zone)
        self.tz_params = f"TZID={writer.param(self.tzid)}" if self.tzid else ""
        self.geo = f"GEO:{float(venue.lat)};{float(venue.lon)}"
        self.location = writer.line("LOCATION", writer.text(venue.full_address))
        self.organizer = writer.line(
            "ORGANIZER", writer.uri(f"mailto:{DEFAULT_ORGANIZER}"), f"CN={writer.param(venue.name or 'Dichtbij')}"
        )

    def when(self, name: str, value: datetime) -> str:
        """DTSTART/DTEND in local time with the TZID: Outlook and Apple show UTC-only feeds shifted
        at DST changes. In UTC ("...Z") for a UTC venue and for the second pass through the hour
        that repeats when DST ends: a local time there means its first pass (RFC 5545 3.3.5)."""
        if self.tz_params:
            local = value.astimezone(self.zone)
            if not local.fold:
                return writer.line(name, writer.wall(local), self.tz_params)
        return f"{name}:{writer.utc_stamp(value)}"


class _Events:
    """Writes a feed's VEVENTs: the properties `ical.booking_event` gives, in icalendar's order.

    Texts that repeat (descriptions, attendees) are translated and escaped once per feed.
    Must run inside `force_locale(feed.language)`.
    """

    def __init__(self, feed: Feed, base_url: str):
        self.kind = feed.kind
        self.base_url = base_url
        self.booked = gettext("Booked")
        self.blocked = gettext("Blocked")
        self.statuses = {"confirmed": gettext("confirmed"), "pending": gettext("waiting for approval")}
        self.descriptions: dict[tuple[int, str], str] = {}
        self.attendees: dict[tuple[str, str, str], str] = {}

    def write(self, r, place: _Place) -> str:
        utc = writer.utc_stamp
        modified = utc(r.updated_at)
        if self.kind == "busy":
            summary = self.booked
        elif self.kind == "member":
            summary = f"{place.space_name} — {place.venue_name}" + (f" · {r.title}" if r.title else "")
        else:
            who = r.member_name if r.member_name is not None else self.blocked
            summary = f"{place.space_name} — {who}" + (f" · {r.title}" if r.title else "")
        lines = [
            "BEGIN:VEVENT",
            writer.line("SUMMARY", writer.text(summary)),
            place.when("DTSTART", r.start),
            place.when("DTEND", r.end),
            f"DTSTAMP:{modified}",
            writer.line("UID", writer.text(r.uid)),
            f"SEQUENCE:{int(r.sequence or 0)}",
        ]
        if self.kind != "busy" and r.member_email is not None:
            lines.append(self._attendee(r.member_name, r.member_email, r.status))
        lines.append(f"CREATED:{utc(r.created_at)}")
        if self.kind != "busy":
            lines.append(self._description(r.seats, r.status))
        lines += [place.geo, f"LAST-MODIFIED:{modified}", place.location]
        if self.kind != "busy":
            lines.append(place.organizer)
        lines += [f"STATUS:{EVENT_STATUS[r.status]}", "TRANSP:OPAQUE"]
        if self.kind != "busy":
            lines.append(writer.line("URL", writer.uri(f"{self.base_url}/bookings/{r.id}")))
        lines.append("END:VEVENT")
        return "\r\n".join(lines)

    def _description(self, seats: int, status: str) -> str:
        key = (seats, status)
        found = self.descriptions.get(key)
        if found is None:
            text = gettext("Seats: %(n)s", n=seats) + "\n" + gettext("Status: %(s)s", s=self.statuses[status])
            found = self.descriptions[key] = writer.line("DESCRIPTION", writer.text(text))
        return found

    def _attendee(self, name: str, email: str, status: str) -> str:
        key = (name, email, status)
        found = self.attendees.get(key)
        if found is None:
            params = f"CN={writer.param(name)};PARTSTAT={PARTSTAT[status]};ROLE=REQ-PARTICIPANT;RSVP=FALSE"
            found = self.attendees[key] = writer.line("ATTENDEE", writer.uri(f"mailto:{email}"), params)
        return found
