"""Booking flows: book, repeat, change, cancel, approve, decline, block.

Each write runs through `transaction.run_write`, which holds the space's lock while the
engine judges the request against the time already taken; nothing is written unless the
engine finds nothing wrong. Services flush; `run_write` commits once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.availability import rules
from app.availability.localtime import day_range
from app.availability.models import Closure, OpeningWindow
from app.bookings import engine
from app.bookings.models import HOLDING, Booking, BookingEvent
from app.bookings.transaction import lock_space, run_write
from app.database import dialect_name, plain_rows
from app.db import UTCDateTime, now_utc
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.extensions import db
from app.feeds.import_models import ImportedBlock
from app.venues.models import Space, Venue
from app.venues.services import space_and_manages

MAX_LIST_DAYS = 366


@dataclass
class Repeat:
    freq: str  # daily | weekly
    count: int
    skip_conflicts: bool = False


@dataclass
class Skipped:
    start: datetime
    end: datetime
    reason: str


@dataclass
class BookingResult:
    bookings: list[Booking]
    skipped: list[Skipped] = field(default_factory=list)
    series_id: str | None = None
    manages: bool = False  # whether the actor manages the space's venue


# -- loading ---------------------------------------------------------------------------------


def space_rules(space: Space) -> engine.SpaceRules:
    # Plain rows, not ORM objects: this runs inside the write lock for every booking.
    closures = plain_rows(_statements().closures, {"space_id": space.id})
    return _rules(space, _windows(space.id), [(start, end) for start, end in closures])


def _windows(space_id: int) -> list[tuple]:
    return plain_rows(_statements().windows, {"space_id": space_id})


def _rules(space: Space, windows, closures) -> engine.SpaceRules:
    return engine.SpaceRules(
        capacity=space.capacity,
        mode=space.mode,
        tz=ZoneInfo(space.venue.timezone),
        slot_minutes=space.slot_minutes,
        min_minutes=space.min_minutes,
        max_minutes=space.max_minutes,
        lead_minutes=space.lead_minutes,
        horizon_days=space.horizon_days,
        buffer_minutes=space.buffer_minutes,
        cancel_hours=space.cancel_hours,
        windows=tuple(rules.Window(weekday, opens, closes) for weekday, opens, closes in windows),
        closures=tuple(rules.Interval(start, end) for start, end in closures),
    )


def taken_in(space: Space, start: datetime, end: datetime, exclude: set[int] | None = None) -> list[engine.Taken]:
    """Seats held in the space around [start, end): bookings, blocks, imported busy time."""
    return _rules_and_taken(space, start, end, exclude, with_closures=False)[1]


def _rules_and_taken(
    space: Space, start: datetime, end: datetime, exclude: set[int] | None = None, *, with_closures: bool = True
) -> tuple[engine.SpaceRules | None, list[engine.Taken]]:
    """The space's rules (`with_closures`) and the seats held around [start, end), in two
    statements: the opening windows, and one UNION ALL of the bookings and blocks, the venue's
    imported busy time and (`with_closures`) the space's closures."""
    margin = timedelta(minutes=space.buffer_minutes)
    q = _statements()
    params = {"space_id": space.id, "lo": start - margin, "hi": end + margin}
    rows = plain_rows(q.held_and_closed if with_closures else q.held, params)
    capacity = space.capacity
    taken, closures = [], []
    for source, booking_id, b_start, b_end, seats, whole, kind in rows:
        if source == "b":
            if not exclude or booking_id not in exclude:
                taken.append(engine.Taken(b_start, b_end, capacity if whole or kind == "block" else seats, booking_id))
        elif source == "i":
            taken.append(engine.Taken(b_start, b_end, capacity))  # the venue's own calendar
        else:
            closures.append((b_start, b_end))
    space_r = _rules(space, _windows(space.id), closures) if with_closures else None
    return space_r, taken


class _Statements:
    """The statements every booking runs, built once per process (with bound parameters): building
    a statement and its cache key costs ~0.1 ms each time, inside the write lock."""

    def __init__(self) -> None:
        space_id = sa.bindparam("space_id")
        lo, hi = sa.bindparam("lo", type_=UTCDateTime), sa.bindparam("hi", type_=UTCDateTime)
        self.windows = sa.select(OpeningWindow.weekday, OpeningWindow.opens, OpeningWindow.closes).where(
            OpeningWindow.space_id == space_id
        )
        self.closures = sa.select(Closure.start, Closure.end).where(Closure.space_id == space_id)
        booked = (Booking.id, Booking.start, Booking.end, Booking.seats, Booking.whole, Booking.kind)
        held = sa.select(sa.literal_column("'b'").label("source"), *booked).where(
            Booking.space_id == space_id, Booking.status.in_(HOLDING), Booking.start < hi, Booking.end > lo
        )
        nothing = (sa.null(), sa.null(), sa.null(), sa.null())
        imported = sa.select(sa.literal_column("'i'"), nothing[0], ImportedBlock.start, ImportedBlock.end, *nothing[1:])
        imported = imported.where(ImportedBlock.space_id == space_id, ImportedBlock.start < hi, ImportedBlock.end > lo)
        closed = sa.select(sa.literal_column("'c'"), nothing[0], Closure.start, Closure.end, *nothing[1:]).where(
            Closure.space_id == space_id
        )
        self.record = sa.insert(BookingEvent.__table__)
        self.held = sa.union_all(held, imported)
        self.held_and_closed = sa.union_all(held, imported, closed)


_STATEMENTS: _Statements | None = None


def _statements() -> _Statements:
    global _STATEMENTS
    if _STATEMENTS is None:
        _STATEMENTS = _Statements()
    return _STATEMENTS


def visible_booking(actor: User, booking_id: int) -> Booking:
    """Someone else's booking is a 404, unless the actor manages its space."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound()
    if booking.member_id == actor.id or booking.space.can_manage(actor):
        return booking
    raise NotFound()


def _locked_space(actor: User, space_id: int) -> tuple[Space, bool]:
    """The space and its venue as they are now, read inside the write transaction (one statement;
    on PostgreSQL it takes the space's row lock, `lock_space`, as it reads), and whether `actor`
    manages the venue (asked in the same statement: no load of the venue's managers)."""
    postgresql = dialect_name() == "postgresql"
    space, manages = space_and_manages(actor, space_id, fresh=True, lock=postgresql)
    if space is None or not (space.venue.published or manages):  # Space.can_see
        raise DomainError.on("space_id", _l("This space does not exist."))
    return space, manages


def _describe(spans: list[tuple[datetime, datetime]], tz: ZoneInfo) -> str:
    return ", ".join(
        f"{format_datetime(s.astimezone(tz), 'EEE d MMM HH:mm', rebase=False)}–"
        f"{format_datetime(e.astimezone(tz), 'HH:mm', rebase=False)}"
        for s, e in spans
    )


def _record(booking: Booking, actor: User | None, action: str, **details) -> None:
    booking.events.append(BookingEvent(actor_id=actor.id if actor else None, action=action, details=details))


def _notify(booking: Booking, event: str, message: str = "") -> None:
    from app.notifications.outbox import queue_booking_mail

    queue_booking_mail(booking, event, message)


# -- book --------------------------------------------------------------------------------------


def create_booking(
    actor: User,
    space_id: int,
    start: datetime,
    end: datetime,
    *,
    seats: int = 1,
    whole: bool = False,
    title: str = "",
    repeat: Repeat | None = None,
    member: User | None = None,
    now: datetime | None = None,
    and_then: Callable[[BookingResult], None] | None = None,
) -> BookingResult:
    """Book a slot or a series. A manager may book on behalf of `member`.

    `and_then` runs inside the same transaction after the bookings are flushed (the API
    stores its idempotency record there, so both commit or neither does). The bookings come back
    still loaded (with their space, venue and member): reading them opens no transaction.
    """
    now = now or now_utc()

    def work() -> BookingResult:
        space, manages = _locked_space(actor, space_id)
        on_behalf = member is not None and member.id != actor.id
        if on_behalf and not manages:
            raise Forbidden(detail=str(_l("Only the venue's managers may book for someone else.")))
        # What the request and its times need of the space (the windows and closures are read
        # with the time already taken, below).
        space_r = _rules(space, (), ())
        errors = engine.check_request(space_r, seats, whole)
        if errors:
            raise DomainError(errors)
        if repeat is not None:
            if repeat.freq not in engine.FREQUENCIES:
                raise DomainError.on("repeat.freq", _l("Repeat daily or weekly."))
            if not engine.MIN_REPEAT <= repeat.count <= engine.MAX_REPEAT:
                raise DomainError.on("repeat.count", _l("Repeat between 2 and 52 times."))
        occs = engine.occurrences(space_r, start, end, repeat.freq if repeat else None, repeat.count if repeat else 1)
        lo = min(engine.utc(o.start) for o in occs)
        hi = max(engine.utc(o.end) for o in occs)
        space_r, taken = _rules_and_taken(space, lo, hi)
        verdicts = engine.judge(space_r, occs, seats, whole, taken, now)
        bad = [v for v in verdicts if not v.ok]
        skip = repeat is not None and repeat.skip_conflicts
        if bad and not (skip and len(bad) < len(verdicts)):
            _refuse(bad, space_r.tz, series=repeat is not None)
        holder = member or actor
        status = "pending" if space.requires_approval and not manages else "confirmed"
        series_id = uuid.uuid4().hex if repeat is not None else None
        made = []
        for verdict in verdicts:
            if not verdict.ok:
                continue
            booking = Booking(
                space=space,
                member=holder,
                created_by=actor,
                start=engine.utc(verdict.occurrence.start),
                end=engine.utc(verdict.occurrence.end),
                seats=engine.seats_taken(space_r, seats, whole),
                whole=space.mode == "room" or (space.mode == "both" and whole),
                title=title.strip(),
                status=status,
                series_id=series_id,
                created_at=now,
                updated_at=now,
            )
            db.session.add(booking)
            made.append(booking)
        db.session.flush()
        # Their history by one plain INSERT (as `_record` would write it): the flush then has one
        # kind of object to order and write, which is most of its cost inside the lock.
        history = {"actor_id": actor.id, "action": "created", "details": {"status": status, "on_behalf": on_behalf}}
        if made:
            db.session.execute(_statements().record, [{"booking_id": b.id, **history} for b in made])
        for booking in made:
            _notify(booking, status)
            if status == "pending":
                _notify(booking, "new_request")
        skipped = [Skipped(v.occurrence.start, v.occurrence.end, _reason(v, space_r.tz)) for v in verdicts if not v.ok]
        result = BookingResult(made, skipped, series_id, manages)
        if and_then is not None:
            and_then(result)
        return result

    # Everything judged is read inside the transaction (`_locked_space`, `space_rules`,
    # `taken_in`), so the commit need not expire it: the caller renders the answer from memory.
    return run_write(work, keep_loaded=True)


def _reason(verdict: engine.Verdict, tz: ZoneInfo) -> str:
    if verdict.errors:
        return "; ".join(m for msgs in verdict.errors.values() for m in msgs)
    return str(_l("Taken: %(times)s", times=_describe(verdict.conflicts, tz)))


def _refuse(bad: list[engine.Verdict], tz: ZoneInfo, series: bool) -> None:
    """Rule errors (422) win over conflicts (409): they cannot be fixed by waiting."""
    with_errors = [v for v in bad if v.errors]
    if with_errors:
        if not series:
            raise DomainError(with_errors[0].errors)
        raise DomainError(
            {
                f"occurrences[{format_datetime(v.occurrence.start.astimezone(tz), 'yyyy-MM-dd', rebase=False)}]": [
                    _reason(v, tz)
                ]
                for v in with_errors
            }
        )
    spans = [span for v in bad for span in v.conflicts]
    raise BookingConflict(spans, tz)


class BookingConflict(Conflict):
    """409 naming the times already taken — never by whom."""

    def __init__(self, spans: list[tuple[datetime, datetime]], tz: ZoneInfo) -> None:
        super().__init__(detail=str(_l("This time is already taken: %(times)s.", times=_describe(spans, tz))))
        self.spans = [(s.astimezone(tz), e.astimezone(tz)) for s, e in spans]


def create_block(
    actor: User, space_id: int, start: datetime, end: datetime, title: str = "", now: datetime | None = None
) -> Booking:
    """A manager takes time out of a space (no member); it takes every seat."""
    now = now or now_utc()

    def work() -> Booking:
        space, manages = _locked_space(actor, space_id)
        if not manages:
            raise Forbidden()
        space_r = space_rules(space)
        occ = engine.Occurrence(start, end)
        if engine.utc(end) <= engine.utc(start):
            raise DomainError.on("end", _l("The end must be after the start."))
        clash = engine.conflicts(space_r, occ, space.capacity, taken_in(space, engine.utc(start), engine.utc(end)))
        if clash:
            raise BookingConflict(clash, space_r.tz)
        block = Booking(
            space=space,
            kind="block",
            member=None,
            created_by=actor,
            start=engine.utc(start),
            end=engine.utc(end),
            seats=space.capacity,
            whole=True,
            title=title.strip(),
            status="confirmed",
            created_at=now,
            updated_at=now,
        )
        db.session.add(block)
        _record(block, actor, "blocked")
        db.session.flush()
        return block

    return run_write(work, keep_loaded=True)


# -- change --------------------------------------------------------------------------------------


def change_booking(
    actor: User,
    booking_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    seats: int | None = None,
    whole: bool | None = None,
    title: str | None = None,
    now: datetime | None = None,
) -> Booking:
    """Members change their own within the same rules; managers any time. The new time is
    checked like a new booking against everything but the booking itself; refused, the
    booking stays exactly as it was."""
    now = now or now_utc()

    def work() -> Booking:
        booking = visible_booking(actor, booking_id)
        space = booking.space
        if lock_space(space.id):  # PostgreSQL: the space's rules as they are under the lock
            db.session.refresh(space)
        db.session.refresh(booking)
        if not booking.holds_seats:
            raise DomainError.on("status", _l("A cancelled or declined booking cannot be changed."))
        manager = space.can_manage(actor)
        space_r = space_rules(space)
        new_start = engine.utc(start) if start else booking.start
        new_end = engine.utc(end) if end else booking.end
        new_whole = booking.whole if whole is None else whole
        new_seats = booking.seats if seats is None else seats
        if space.mode == "both" and booking.whole and whole is False and seats is None:
            new_seats = 1
        times_changed = (new_start, new_end) != (booking.start, booking.end)
        seats_changed = (new_seats, new_whole) != (booking.seats, booking.whole)
        if times_changed or seats_changed:
            if booking.kind != "block":
                errors = engine.check_request(space_r, new_seats if not new_whole else 1, new_whole)
                if errors:
                    raise DomainError(errors)
            occ = engine.Occurrence(new_start, new_end)
            errors = engine.check_rules(space_r, occ, now)
            if manager:  # managers may move bookings outside the member rules, not outside reality
                errors = {
                    k: v for k, v in errors.items() if k == "end" and engine.utc(new_end) <= engine.utc(new_start)
                }
            if not manager and engine.utc(booking.start) < engine.utc(now):
                errors.setdefault("start", []).append(str(_l("This booking has already started.")))
            if errors:
                raise DomainError(errors)
            need = space.capacity if booking.kind == "block" else engine.seats_taken(space_r, new_seats, new_whole)
            clash = engine.conflicts(space_r, occ, need, taken_in(space, new_start, new_end, exclude={booking.id}))
            if clash:
                raise BookingConflict(clash, space_r.tz)
            booking.start, booking.end = new_start, new_end
            booking.seats = need
            booking.whole = space.mode == "room" or booking.kind == "block" or (space.mode == "both" and new_whole)
        if title is not None:
            if len(title) > 200:
                raise DomainError.on("title", _l("Use at most %(n)s characters.", n=200))
            booking.title = title.strip()
        if times_changed or seats_changed or title is not None:
            booking.sequence += 1
            booking.updated_at = now
            _record(
                booking,
                actor,
                "changed",
                start=booking.start.isoformat(),
                end=booking.end.isoformat(),
                seats=booking.seats,
            )
            db.session.flush()
            if booking.kind == "booking":
                _notify(booking, "updated")
        return booking

    return run_write(work)


# -- cancel, approve, decline ----------------------------------------------------------------------


def cancel_booking(actor: User, booking_id: int, reason: str = "", now: datetime | None = None) -> Booking:
    """Members until `cancel_hours` before the start; managers any time, with a reason."""
    now = now or now_utc()

    def work() -> Booking:
        booking = _under_lock(visible_booking(actor, booking_id))
        _cancel(actor, booking, reason, now)
        return booking

    return run_write(work)


def _under_lock(booking: Booking) -> Booking:
    """The booking as it is once its space is locked (PostgreSQL): a cancellation, approval or
    decision committed meanwhile by someone else is seen, not overwritten."""
    if lock_space(booking.space_id):
        db.session.refresh(booking)
    return booking


def _cancel(actor: User, booking: Booking, reason: str, now: datetime) -> None:
    if not booking.holds_seats:
        raise DomainError.on("status", _l("This booking is already cancelled or declined."))
    if len(reason) > 500:
        raise DomainError.on("reason", _l("Use at most %(n)s characters.", n=500))
    manager = booking.space.can_manage(actor)
    if not manager:
        space_r = space_rules(booking.space)
        if not engine.can_cancel_free(space_r, booking.start, now):
            raise DomainError.on(
                "",
                _l(
                    "Bookings here can be cancelled until %(n)s hours before the start. Contact the venue.",
                    n=booking.space.cancel_hours,
                ),
            )
    booking.status = "cancelled"
    booking.cancelled_by = actor
    booking.reason = reason.strip()
    booking.sequence += 1
    booking.updated_at = now
    _record(booking, actor, "cancelled", reason=booking.reason)
    db.session.flush()
    if booking.kind == "booking":
        _notify(booking, "cancelled", booking.reason if manager and booking.member_id != actor.id else "")


def cancel_series(
    actor: User, series_id: str, from_: datetime | None = None, reason: str = "", now: datetime | None = None
) -> list[Booking]:
    """Cancel the rest of a series: every occurrence starting at or after `from_` (default now)."""
    now = now or now_utc()

    def work() -> list[Booking]:
        series = sa.select(Booking).where(Booking.series_id == series_id)
        space_id = db.session.scalar(series.with_only_columns(Booking.space_id).limit(1))
        if space_id is None:
            raise NotFound()
        lock_space(space_id)  # a series is in one space; its bookings are read under the lock
        fresh = series.order_by(Booking.start).execution_options(populate_existing=True)
        bookings = list(db.session.scalars(fresh))
        visible = [b for b in bookings if b.member_id == actor.id or b.space.can_manage(actor)]
        if not visible:
            raise NotFound()
        cutoff = engine.utc(from_) if from_ else engine.utc(now)
        cancelled = []
        for booking in visible:
            if booking.holds_seats and booking.start >= cutoff:
                _cancel(actor, booking, reason, now)
                cancelled.append(booking)
        return cancelled

    return run_write(work)


def _decide(actor: User, booking_id: int, approve: bool, message: str, now: datetime) -> Booking:
    booking = _under_lock(visible_booking(actor, booking_id))
    if not booking.space.can_manage(actor):
        raise Forbidden(detail=str(_l("Only the venue's managers may approve or decline requests.")))
    if booking.status != "pending":
        raise DomainError.on("status", _l("Only pending requests can be approved or declined."))
    if len(message) > 500:
        raise DomainError.on("reason", _l("Use at most %(n)s characters.", n=500))
    booking.status = "confirmed" if approve else "declined"
    booking.reason = message.strip()
    booking.sequence += 1
    booking.updated_at = now
    if not approve:
        booking.cancelled_by = actor
    _record(booking, actor, "approved" if approve else "declined", message=booking.reason)
    db.session.flush()
    _notify(booking, "approved" if approve else "declined", booking.reason)
    return booking


def approve_booking(actor: User, booking_id: int, message: str = "", now: datetime | None = None) -> Booking:
    return run_write(lambda: _decide(actor, booking_id, True, message, now or now_utc()))


def decline_booking(actor: User, booking_id: int, reason: str = "", now: datetime | None = None) -> Booking:
    return run_write(lambda: _decide(actor, booking_id, False, reason, now or now_utc()))


# -- lists -------------------------------------------------------------------------------------


def list_bookings(
    actor: User,
    start: datetime,
    end: datetime,
    *,
    space_id: int | None = None,
    venue_id: int | None = None,
    status: str | None = None,
) -> list[Booking]:
    """The actor's own bookings; all of a space's (or venue's) when the actor manages it.

    Every booking overlapping [start, end) is listed, in one query.
    """
    if end - start > timedelta(days=MAX_LIST_DAYS + 1):
        raise DomainError.on("to", _l("Ask for at most %(n)s days at a time.", n=MAX_LIST_DAYS))
    query = (
        sa.select(Booking)
        .join(Space, Space.id == Booking.space_id)
        .options(joinedload(Booking.space).joinedload(Space.venue), joinedload(Booking.member))
        .where(Booking.start < end, Booking.end > start)
        .order_by(Booking.start, Booking.id)
    )
    if space_id is not None or venue_id is not None:
        if space_id is not None:
            space = db.session.get(Space, space_id)
            if space is None or not space.can_see(actor):
                raise NotFound()
            if not space.can_manage(actor):
                raise Forbidden()
            query = query.where(Booking.space_id == space_id)
        if venue_id is not None:
            venue = db.session.get(Venue, venue_id)
            if venue is None or not venue.can_see(actor):
                raise NotFound()
            if not venue.can_manage(actor):
                raise Forbidden()
            query = query.where(Space.venue_id == venue_id)
    else:
        query = query.where(Booking.member_id == actor.id)
    if status is not None:
        query = query.where(Booking.status == status)
    return list(db.session.scalars(query).unique())


def local_days(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Whole local days, both inclusive, as a half-open instant range."""
    return day_range(first, last, tz)


def as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
