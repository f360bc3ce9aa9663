"""Calendar subscriptions: what each feed holds, its fingerprint, and its iCalendar body.

A calendar app believes exactly what it gets, polls every hour or so, and drops an event
only when it disappears from the feed. So:
- cancelled and declined bookings leave the feed (the one behaviour every app agrees on);
- every event keeps its UID, carries the booking's SEQUENCE, and its DTSTAMP and
  LAST-MODIFIED are the booking's last change, so an unchanged feed is byte-identical;
- times carry the venue's TZID with its VTIMEZONE in the feed (never floating);
- `fingerprint()` answers "did anything change?" with one aggregate query, so an
  unchanged feed answers 304 without building the calendar.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa
from flask_babel import force_locale, gettext
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.bookings.models import HOLDING, Booking
from app.db import now_utc
from app.extensions import db
from app.feeds.ical import booking_event, booking_summary
from app.venues.models import Space, Venue

PAST_DAYS = 90
FUTURE_DAYS = 732  # beyond every space's horizon
REFRESH = "PT1H"
FORMAT_VERSION = "1"  # bump when the body's layout changes, so ETags change with it


@dataclass(frozen=True)
class Feed:
    """Which bookings a feed shows and to whom."""

    kind: str  # member | venue | space | busy
    owner_id: int
    name: str
    language: str
    zone: ZoneInfo

    def window(self, now: datetime) -> tuple[datetime, datetime, date]:
        today = now.astimezone(self.zone).date()
        first = today - timedelta(days=PAST_DAYS)
        start = datetime.combine(first, datetime.min.time(), tzinfo=self.zone)
        return start, start + timedelta(days=PAST_DAYS + FUTURE_DAYS), first

    def where(self, query):
        if self.kind == "member":
            return query.where(Booking.member_id == self.owner_id, Booking.kind == "booking")
        if self.kind == "venue":
            return query.where(Space.venue_id == self.owner_id)
        return query.where(Booking.space_id == self.owner_id)


def member_feed(user: User) -> Feed:
    zone = ZoneInfo("Europe/Amsterdam")
    with force_locale(user.language):
        name = gettext("Dichtbij — my bookings")
    return Feed("member", user.id, name, user.language, zone)


def venue_feed(venue: Venue, language: str = "nl") -> Feed:
    return Feed("venue", venue.id, f"Dichtbij — {venue.name}", language, venue.zone)


def space_feed(space: Space, language: str = "nl") -> Feed:
    return Feed("space", space.id, f"Dichtbij — {space.name}, {space.venue.name}", language, space.venue.zone)


def busy_feed(space: Space, language: str = "nl") -> Feed:
    return Feed("busy", space.id, f"{space.name}, {space.venue.name}", language, space.venue.zone)


def _base(feed: Feed, start: datetime, end: datetime):
    """Bookings overlapping the window, of any status: a cancellation changes the feed too."""
    query = (
        sa.select(Booking)
        .join(Space, Space.id == Booking.space_id)
        .join(Venue, Venue.id == Space.venue_id)
        .where(Booking.start < end, Booking.end > start)
    )
    return feed.where(query)


def fingerprint(feed: Feed, now: datetime | None = None) -> str:
    """A strong ETag from one aggregate query: it changes whenever the body would."""
    start, end, first = feed.window(now or now_utc())
    query = _base(feed, start, end).with_only_columns(
        sa.func.count(Booking.id),
        sa.func.max(Booking.updated_at),
        sa.func.sum(Booking.id * 7 + Booking.sequence),
        sa.func.max(Space.updated_at),
        sa.func.max(Venue.updated_at),
    )
    row = db.session.execute(query).one()
    parts = [
        FORMAT_VERSION,
        feed.kind,
        str(feed.owner_id),
        feed.name,
        feed.language,
        first.isoformat(),
        *(str(v) for v in row),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def last_modified(feed: Feed, now: datetime | None = None) -> datetime | None:
    start, end, _first = feed.window(now or now_utc())
    query = _base(feed, start, end).with_only_columns(
        sa.func.max(Booking.updated_at), sa.func.max(Space.updated_at), sa.func.max(Venue.updated_at)
    )
    values = [v for v in db.session.execute(query).one() if v is not None]
    return max(values) if values else None


def build(feed: Feed, base_url: str, now: datetime | None = None) -> bytes:
    start, end, first = feed.window(now or now_utc())
    bookings = list(
        db.session.scalars(
            _base(feed, start, end)
            .where(Booking.status.in_(HOLDING))
            .options(joinedload(Booking.space).joinedload(Space.venue), joinedload(Booking.member))
            .order_by(Booking.start, Booking.id)
        ).unique()
    )
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Dichtbij//Dichtbij//NL")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", feed.name)
    cal.add("name", feed.name)
    cal.add("x-wr-timezone", str(feed.zone.key))
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", REFRESH)
    with force_locale(feed.language):
        for booking in bookings:
            cal.add_component(_event(feed, booking, base_url))
    cal.add_missing_timezones(first_date=date(first.year, 1, 1), last_date=date(first.year + 4, 1, 1))
    return cal.to_ical()


def _event(feed: Feed, booking: Booking, base_url: str) -> icalendar.Event:
    zone = booking.space.venue.zone
    if feed.kind == "busy":
        event = booking_event(booking, audience="public", summary=gettext("Booked"))
    else:
        status = {"confirmed": gettext("confirmed"), "pending": gettext("waiting for approval")}[booking.status]
        description = gettext("Seats: %(n)s", n=booking.seats) + "\n" + gettext("Status: %(s)s", s=status)
        summary = booking_summary(booking)
        if feed.kind in ("venue", "space"):
            who = booking.member.name if booking.member else gettext("Blocked")
            summary = f"{booking.space.name} — {who}" + (f" · {booking.title}" if booking.title else "")
        event = booking_event(
            booking, audience="member" if feed.kind == "member" else "manager", summary=summary, description=description
        )
        event.add("url", f"{base_url}/bookings/{booking.id}")
    # Local time with its zone: Outlook and Apple show UTC-only feeds shifted at DST changes.
    for name, value in (("dtstart", booking.start), ("dtend", booking.end)):
        del event[name]
        event.add(name, value.astimezone(zone))
    return event
