"""Calendars in: an external calendar (a URL or an uploaded file) makes a space busy.

A sync is: download (or the uploaded/stored bytes) → parse → expand every event from now to
the space's horizon → upsert/delete that import's blocks in one go. Blocks are keyed by UID
and the original start of the occurrence, so a sync moves, adds and removes blocks in place
and never duplicates them; it never touches member bookings (a booking an import overlaps is
reported by `conflicting_bookings`, for the manager to sort out).

A failed download or a broken feed keeps the last good blocks and records `last_error`;
`last_synced_at` stays the time of the last good sync.

Services flush, never commit. The network is slow and belongs outside a transaction (on
SQLite a writing request holds the database's write lock), so the edges run a sync in steps:
`feed_request` → commit → `download` → `apply_download` → commit. `sync_import` does all
three in one call for callers that do not mind holding the transaction.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePosixPath

import icalendar
import recurring_ical_events
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from app.accounts.models import User
from app.availability.localtime import start_of_day
from app.bookings.models import HOLDING, Booking
from app.database import dialect_name
from app.db import now_utc
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.feeds import fetch
from app.feeds.import_models import CalendarImport, ImportedBlock
from app.venues.models import Space

log = logging.getLogger(__name__)

MAX_BLOCKS = 10_000  # occurrences in one import's window; more is not a room's agenda
EXPAND_SECONDS = 20  # CPU budget for expanding one feed
MAX_PER_DAY = 4  # series repeating more often than this a day (FREQ=MINUTELY, ...) are skipped
TOO_FINE = {"SECONDLY", "MINUTELY", "HOURLY"}


class FeedError(Exception):
    """The bytes are not a calendar we can use; the message is for the venue's manager."""


@dataclass(frozen=True)
class Occurrence:
    """One busy stretch from a feed, as UTC instants."""

    uid: str
    recurrence_key: str
    start: datetime
    end: datetime
    summary: str


@dataclass(frozen=True)
class FeedRequest:
    """What a download needs, read from the import before the transaction ends."""

    import_id: int | None
    url: str | None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    """What a download brought: new bytes, "not modified", an error, or (no URL) nothing new."""

    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None
    refused: bool = False


@dataclass(frozen=True)
class SyncReport:
    import_: CalendarImport
    result: str  # "synced" | "not modified" | "failed"
    blocks: int
    error: str | None = None


# -- parse and expand (pure) ------------------------------------------------------------------


def expand(data: bytes, zone: zoneinfo.ZoneInfo, start: datetime, end: datetime) -> list[Occurrence]:
    """Every busy occurrence overlapping [start, end), from iCalendar bytes.

    Recurring events are expanded (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides); TZIDs are
    honoured, Windows zone names and missing VTIMEZONEs too; floating times (and UTC times of
    Google exports) follow X-WR-TIMEZONE, else `zone`; all-day events are whole days in `zone`.
    Cancelled and transparent (free) occurrences are left out.
    """
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper().startswith(b"BEGIN:VCALENDAR"):
        raise FeedError("This is not an iCalendar file (it does not start with BEGIN:VCALENDAR).")
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # untrusted input: any parser failure means "cannot read"
        raise FeedError("The calendar could not be read: it is not valid iCalendar.") from exc
    fallback = _x_wr_zone(calendar) or zone
    recurring = _prepare(calendar)
    deadline = time.monotonic() + EXPAND_SECONDS
    try:
        query = recurring_ical_events.of(calendar, skip_bad_series=True)
        skip = tuple(query.suppressed_errors)
        found: dict[tuple[str, str], Occurrence] = {}
        lo, hi = start - timedelta(days=1), end + timedelta(days=1)  # dates and floating times: exact cut below
        for series in query.series:
            try:
                for occurrence in series.between(lo, hi):
                    if time.monotonic() > deadline:
                        raise FeedError("The calendar takes too long to expand.")
                    item = _occurrence(occurrence.as_component(False), recurring, fallback, zone)
                    if item is None or item.end <= start or item.start >= end:
                        continue
                    found.setdefault((item.uid, item.recurrence_key), item)
                    if len(found) > MAX_BLOCKS:
                        raise FeedError(f"The calendar has more than {MAX_BLOCKS} events in the coming days.")
            except skip:
                continue  # one broken series does not spoil the rest
    except FeedError:
        raise
    except Exception as exc:
        log.warning("calendar import: expansion failed", exc_info=exc)
        raise FeedError("The calendar's events could not be read.") from exc
    return sorted(found.values(), key=lambda o: (o.start, o.uid, o.recurrence_key))


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    name = WINDOWS_TO_OLSON.get(name, name)
    return zoneinfo.ZoneInfo(name) if name in _zone_names() else None


def _x_wr_zone(calendar: icalendar.Calendar) -> zoneinfo.ZoneInfo | None:
    """X-WR-TIMEZONE as a zone (a Windows name mapped); an unknown one is dropped."""
    value = calendar.get("X-WR-TIMEZONE")
    if value is None:
        return None
    found = _zone(str(value).strip())
    del calendar["X-WR-TIMEZONE"]
    if found is not None:
        calendar.add("X-WR-TIMEZONE", found.key)  # what x_wr_timezone (inside `of`) reads
    return found


def _prepare(calendar: icalendar.Calendar) -> set[str]:
    """Drop events we cannot use (no start, broken values, repeating by the minute or hour)
    so one bad event does not spoil the feed; answer the UIDs that recur."""
    recurring = set()
    for component in list(calendar.subcomponents):
        if component.name != "VEVENT":
            continue
        if not _usable(component):
            calendar.subcomponents.remove(component)
            continue
        if "RRULE" in component or "RDATE" in component or "RECURRENCE-ID" in component:
            recurring.add(_uid(component))
    return recurring


def _usable(component) -> bool:
    try:
        if not isinstance(component["DTSTART"].dt, date):
            return False
        for name in ("DTEND", "DURATION", "RECURRENCE-ID"):
            if name in component:
                component[name].dt  # noqa: B018  (a broken value raises here)
        return not any(_too_fine(rule) for rule in _rules(component))
    except Exception:
        return False


def _rules(component) -> list:
    rules = component.get("RRULE")
    if rules is None:
        return []
    return rules if isinstance(rules, list) else [rules]


def _too_fine(rule) -> bool:
    freq = [str(f).upper() for f in rule.get("FREQ", [])]
    per_day = 1
    for part in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        per_day *= max(1, len(rule.get(part, [])))
    return bool(TOO_FINE.intersection(freq)) or per_day > MAX_PER_DAY


def _text(value, limit: int) -> str:
    """Text fit for any database: no control characters (PostgreSQL refuses NUL), cut to size."""
    return "".join(c if c.isprintable() else " " for c in str(value)).strip()[:limit]


def _header(value: str | None, limit: int) -> str | None:
    """An ETag or Last-Modified we can store and send back, else None (then we fetch it whole)."""
    if value is None or len(value) > limit or not value.isprintable():
        return None
    return value


def _uid(component) -> str:
    uid = _text(component.get("UID", ""), 10_000)
    if not uid:  # no UID: stable enough from what the event says
        raw = b"|".join(component[k].to_ical() for k in ("DTSTART", "SUMMARY") if k in component)
        uid = "no-uid:" + hashlib.sha256(raw).hexdigest()
    if len(uid) > 255:
        uid = "sha256:" + hashlib.sha256(uid.encode()).hexdigest()
    return uid


def _occurrence(component, recurring: set[str], fallback: zoneinfo.ZoneInfo, zone: zoneinfo.ZoneInfo):
    if str(component.get("STATUS", "")).upper() == "CANCELLED":
        return None
    if str(component.get("TRANSP", "")).upper() == "TRANSPARENT":
        return None
    begin = component["DTSTART"].dt
    if "DTEND" in component:
        finish = component["DTEND"].dt
    elif "DURATION" in component:
        finish = begin + component["DURATION"].dt
    else:
        finish = begin if isinstance(begin, datetime) else begin + timedelta(days=1)
    start, end = _instant(begin, fallback, zone), _instant(finish, fallback, zone)
    if end <= start:
        return None
    uid = _uid(component)
    key = ""
    if uid in recurring:
        rid = component.get("RECURRENCE-ID")
        original = rid.dt if rid is not None else begin
        key = _instant(original, fallback, zone).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Occurrence(uid, key, start, end, _text(component.get("SUMMARY", ""), 200))


def _instant(value: date | datetime, fallback: zoneinfo.ZoneInfo, zone: zoneinfo.ZoneInfo) -> datetime:
    """An aware UTC instant: floating times (or an unknown TZID) in `fallback`, dates at the venue's midnight."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=fallback)
        return value.astimezone(UTC)
    return start_of_day(value, zone).astimezone(UTC)


def window(space: Space, now: datetime) -> tuple[datetime, datetime]:
    """From now to the end of the space's last bookable local day (as availability counts it)."""
    zone = space.venue.zone
    last_day = now.astimezone(zone).date() + timedelta(days=space.horizon_days)
    return now, start_of_day(last_day + timedelta(days=1), zone).astimezone(UTC)


# -- access ------------------------------------------------------------------------------------


def managed_import(actor: User, import_id: int) -> CalendarImport:
    """404 when the actor may not see the space, 403 when they may see but not manage it."""
    import_ = db.session.get(CalendarImport, import_id)
    if import_ is None or not import_.space.can_see(actor):
        raise NotFound()
    if not import_.space.can_manage(actor):
        raise Forbidden(detail=str(_l("Only the managers of this venue may change it.")))
    return import_


def imports_of(actor: User, space: Space) -> list[CalendarImport]:
    if not space.can_manage(actor):
        raise Forbidden()
    return list(
        db.session.scalars(
            sa.select(CalendarImport).where(CalendarImport.space_id == space.id).order_by(CalendarImport.id)
        )
    )


def import_ids() -> list[int]:
    """Every import, oldest first (for `flask calendars sync`)."""
    return list(db.session.scalars(sa.select(CalendarImport.id).order_by(CalendarImport.id)))


# -- sync in steps -------------------------------------------------------------------------------


def check_url(space: Space, url: str) -> FeedRequest:
    """A new import's URL, normalised (webcal → https); 422 on "url" when it cannot be one."""
    try:
        normal = fetch.normalise_url(url)
    except fetch.Refused as exc:
        raise DomainError.on("url", str(exc))
    taken = db.session.scalar(
        sa.select(CalendarImport.id).where(CalendarImport.space_id == space.id, CalendarImport.url == normal)
    )
    if taken is not None:
        raise DomainError.on("url", _l("This calendar is already imported into this space."))
    return FeedRequest(None, normal)


def feed_request(import_: CalendarImport) -> FeedRequest:
    return FeedRequest(import_.id, import_.url, import_.etag, import_.last_modified)


def download(request: FeedRequest) -> Fetched:
    """The network step: no database. Without a URL (an upload) there is nothing to fetch."""
    if request.url is None:
        return Fetched()
    config = current_app.config
    limits = fetch.Limits(
        timeout=float(config["IMPORT_TIMEOUT_SECONDS"]),
        max_bytes=int(config["IMPORT_MAX_BYTES"]),
        max_redirects=int(config["IMPORT_MAX_REDIRECTS"]),
        allow_private=bool(config["IMPORT_ALLOW_PRIVATE_ADDRESSES"]),
    )
    try:
        response = fetch.fetch(request.url, limits, etag=request.etag, last_modified=request.last_modified)
    except fetch.Refused as exc:
        return Fetched(error=str(exc), refused=True)
    except fetch.FetchError as exc:
        return Fetched(error=str(exc))
    return Fetched(response.body, response.etag, response.last_modified, not_modified=response.status == 304)


def create_import(
    actor: User, space: Space, request: FeedRequest, fetched: Fetched, now: datetime | None = None
) -> CalendarImport:
    """A URL import, synced once from `fetched`. A refused address is a 422 on "url"; any
    other failure still creates the import, with `last_error` set."""
    if not space.can_manage(actor):
        raise Forbidden()
    if fetched.refused:
        raise DomainError.on("url", fetched.error or "")
    now = now or now_utc()
    import_ = CalendarImport(space=space, url=request.url, created_by=actor, created_at=now)
    db.session.add(import_)
    db.session.flush()
    apply_download(import_, fetched, now)
    return import_


def import_upload(actor: User, space: Space, filename: str, data: bytes, now: datetime | None = None) -> CalendarImport:
    """An import from an uploaded .ics file; a file we cannot read is a 422 on "file"."""
    if not space.can_manage(actor):
        raise Forbidden()
    if len(data) > int(current_app.config["IMPORT_MAX_BYTES"]):
        raise DomainError.on("file", _l("The file is too large."))
    now = now or now_utc()
    try:
        expand(data, space.venue.zone, *window(space, now))
    except FeedError as exc:
        raise DomainError.on("file", str(exc))
    name = _text(PurePosixPath((filename or "").replace("\\", "/")).name, 255) or "calendar.ics"
    import_ = CalendarImport(space=space, url=None, filename=name, created_by=actor, created_at=now)
    db.session.add(import_)
    db.session.flush()
    apply_download(import_, Fetched(body=data), now)
    return import_


def apply_download(import_: CalendarImport, fetched: Fetched, now: datetime | None = None) -> SyncReport:
    """Bring the import's blocks in line with what was fetched (or stored); flush."""
    now = now or now_utc()
    _lock(import_)
    import_.last_attempt_at = now
    if fetched.error:
        return _failed(import_, fetched.error)
    content = fetched.body if fetched.body is not None else import_.content
    if content is None:
        import_.etag = import_.last_modified = None  # download it whole next time
        return _failed(import_, "Nothing was stored to read; the next sync downloads the calendar again.")
    try:
        occurrences = expand(content, import_.space.venue.zone, *window(import_.space, now))
    except FeedError as exc:
        return _failed(import_, str(exc))
    _store(import_, occurrences)
    if fetched.body is not None:
        import_.content = fetched.body
    if fetched.body is not None or fetched.not_modified:
        import_.etag, import_.last_modified = _header(fetched.etag, 500), _header(fetched.last_modified, 100)
    import_.last_synced_at = now
    import_.last_error = None
    db.session.flush()
    return SyncReport(import_, "not modified" if fetched.not_modified else "synced", len(occurrences))


def sync_import(import_: CalendarImport, now: datetime | None = None) -> SyncReport:
    """Download and apply in one call (the transaction stays open during the download)."""
    return apply_download(import_, download(feed_request(import_)), now)


def delete_import(actor: User, import_: CalendarImport) -> None:
    """The import and its blocks go; bookings stay as they are."""
    if not import_.space.can_manage(actor):
        raise Forbidden()
    db.session.delete(import_)
    db.session.flush()


def _lock(import_: CalendarImport) -> None:
    """One sync of an import at a time (PostgreSQL); SQLite writers already take turns."""
    if dialect_name() == "postgresql":
        db.session.execute(sa.select(CalendarImport.id).where(CalendarImport.id == import_.id).with_for_update())


def _failed(import_: CalendarImport, message: str) -> SyncReport:
    import_.last_error = message[:500]
    db.session.flush()
    count = db.session.scalar(sa.select(sa.func.count()).where(ImportedBlock.import_id == import_.id))
    return SyncReport(import_, "failed", count or 0, import_.last_error)


def _store(import_: CalendarImport, occurrences: Sequence[Occurrence]) -> None:
    """Upsert by (uid, recurrence_key); delete what the feed no longer has."""
    existing = {
        (b.uid, b.recurrence_key): b
        for b in db.session.scalars(
            sa.select(ImportedBlock)
            .where(ImportedBlock.import_id == import_.id)
            .execution_options(populate_existing=True)
        )
    }
    for item in occurrences:
        block = existing.pop((item.uid, item.recurrence_key), None)
        if block is None:
            db.session.add(
                ImportedBlock(
                    import_id=import_.id,
                    space_id=import_.space_id,
                    uid=item.uid,
                    recurrence_key=item.recurrence_key,
                    start=item.start,
                    end=item.end,
                    summary=item.summary,
                )
            )
            continue
        if (block.start, block.end, block.summary, block.space_id) != (
            item.start,
            item.end,
            item.summary,
            import_.space_id,
        ):
            block.start, block.end, block.summary, block.space_id = item.start, item.end, item.summary, import_.space_id
    for block in existing.values():
        db.session.delete(block)
    db.session.flush()
    db.session.expire(import_, ["blocks"])


# -- questions other packages ask ------------------------------------------------------------------


def imported_busy(
    space_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Imported busy time per space overlapping [start, end), as aware UTC instants; one query."""
    if not space_ids:
        return {}
    rows = db.session.execute(
        sa.select(ImportedBlock.space_id, ImportedBlock.start, ImportedBlock.end)
        .where(ImportedBlock.space_id.in_(space_ids), ImportedBlock.start < end, ImportedBlock.end > start)
        .order_by(ImportedBlock.space_id, ImportedBlock.start, ImportedBlock.end)
    )
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for space_id, b_start, b_end in rows:
        busy[space_id].append((b_start, b_end))
    return dict(busy)


def conflicting_bookings(import_: CalendarImport) -> list[Booking]:
    """Pending or confirmed member bookings of the space that any of the import's blocks overlaps."""
    return conflicts_by_import([import_])[import_.id]


def conflicts_by_import(imports: Sequence[CalendarImport]) -> dict[int, list[Booking]]:
    """`conflicting_bookings` for several imports in one query: a page lists them all."""
    found: dict[int, list[Booking]] = {i.id: [] for i in imports}
    if not found:
        return found
    rows = db.session.execute(
        sa.select(ImportedBlock.import_id, Booking)
        .join(CalendarImport, CalendarImport.id == ImportedBlock.import_id)
        .join(
            Booking,
            sa.and_(
                Booking.space_id == CalendarImport.space_id,
                ImportedBlock.start < Booking.end,
                ImportedBlock.end > Booking.start,
            ),
        )
        .where(ImportedBlock.import_id.in_(found), Booking.kind == "booking", Booking.status.in_(HOLDING))
        .distinct()
        .order_by(ImportedBlock.import_id, Booking.start, Booking.id)
    )
    for import_id, booking in rows:
        found[import_id].append(booking)
    return found


def block_counts(imports: Sequence[CalendarImport]) -> dict[int, int]:
    """How many busy blocks each import holds, in one query."""
    counts = dict.fromkeys((i.id for i in imports), 0)
    if counts:
        rows = db.session.execute(
            sa.select(ImportedBlock.import_id, sa.func.count())
            .where(ImportedBlock.import_id.in_(counts))
            .group_by(ImportedBlock.import_id)
        )
        counts.update(dict(rows.all()))
    return counts
