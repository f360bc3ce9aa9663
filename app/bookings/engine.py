"""The booking engine: pure rules and conflicts. No Flask, no database.

`services.py` loads a space's rules, windows, closures and the time already taken (inside a
transaction that holds the space's lock), asks this module what is wrong, and writes only
when nothing is. The UI and the API reach the same rules through that one path.

One rule covers every mode: a booking takes seats, a whole-space booking takes all of them,
and at every instant the seats held (pending and confirmed bookings, blocks, imported busy
time) never exceed the capacity. Not "the sum of every booking that overlaps the new one",
which would refuse bookings that fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from app.availability import rules
from app.availability.localtime import exists

FREQUENCIES = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
MIN_REPEAT, MAX_REPEAT = 2, 52


@dataclass(frozen=True)
class SpaceRules:
    """What a space allows; a copy of its settings, so the engine needs no model."""

    capacity: int
    mode: str  # room | seats | both
    tz: ZoneInfo
    slot_minutes: int = 30
    min_minutes: int = 30
    max_minutes: int = 480
    lead_minutes: int = 0
    horizon_days: int = 90
    buffer_minutes: int = 0
    cancel_hours: int = 24
    windows: tuple[rules.Window, ...] = ()
    closures: tuple[rules.Interval, ...] = ()


@dataclass(frozen=True)
class Taken:
    """Time already held in the space: `seats` of it from start to end."""

    start: datetime
    end: datetime
    seats: int
    booking_id: int | None = None


@dataclass(frozen=True)
class Occurrence:
    start: datetime
    end: datetime


@dataclass
class Verdict:
    """What is wrong with one occurrence: rule errors (422) and conflicts (409)."""

    occurrence: Occurrence
    errors: dict[str, list[str]] = field(default_factory=dict)
    conflicts: list[tuple[datetime, datetime]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.conflicts


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def seats_taken(space: SpaceRules, seats: int, whole: bool) -> int:
    """A room is always taken whole; in a `both` space the member chooses."""
    if space.mode == "room" or (space.mode == "both" and whole):
        return space.capacity
    return seats


def check_request(space: SpaceRules, seats: int, whole: bool) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if whole and space.mode == "seats":
        errors["whole"] = [str(_l("This space is booked by the seat, not as a whole."))]
    if not 1 <= seats <= space.capacity:
        errors["seats"] = [str(_l("Choose between 1 and %(n)s seats.", n=space.capacity))]
    return errors


def check_rules(space: SpaceRules, occ: Occurrence, now: datetime) -> dict[str, list[str]]:
    """Everything about one occurrence that does not depend on other bookings."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message) -> None:
        errors.setdefault(name, []).append(str(message))

    start, end = utc(occ.start), utc(occ.end)
    if end <= start:
        add("end", _l("The end must be after the start."))
        return errors
    minutes = (end - start) / timedelta(minutes=1)
    if not (
        rules.on_grid(occ.start, space.slot_minutes, space.tz) and rules.on_grid(occ.end, space.slot_minutes, space.tz)
    ):
        add("start", _l("Start and end must fall on the %(n)s-minute grid, such as 09:00.", n=space.slot_minutes))
    if minutes < space.min_minutes:
        add("end", _l("Book at least %(n)s minutes.", n=space.min_minutes))
    if minutes > space.max_minutes:
        add("end", _l("Book at most %(n)s minutes.", n=space.max_minutes))
    if start < utc(now):
        add("start", _l("This time has already passed."))
    elif start < utc(now) + timedelta(minutes=space.lead_minutes):
        add("start", _l("Book at least %(n)s minutes ahead.", n=space.lead_minutes))
    last_day = utc(now).astimezone(space.tz).date() + timedelta(days=space.horizon_days)
    if occ.start.astimezone(space.tz).date() > last_day:
        add("start", _l("You can book up to %(n)s days ahead.", n=space.horizon_days))
    if not errors and not _inside_open_time(space, start, end):
        add("start", _l("The space is not open for all of this time (opening hours or a closure)."))
    return errors


def _inside_open_time(space: SpaceRules, start: datetime, end: datetime) -> bool:
    first = start.astimezone(space.tz).date() - timedelta(days=1)
    last = end.astimezone(space.tz).date()
    for interval in rules.open_intervals(space.windows, space.closures, first, last, space.tz):
        if utc(interval.start) <= start and end <= utc(interval.end):
            return True
    return False


def conflicts(space: SpaceRules, occ: Occurrence, need: int, taken: Iterable[Taken]) -> list[tuple[datetime, datetime]]:
    """The stretches of [start, end) where `need` more seats would exceed the capacity.

    Other bookings are widened by the changeover buffer on both sides. Adjacent stretches are
    merged; an empty list means the occurrence fits.
    """
    buffer = timedelta(minutes=space.buffer_minutes)
    start, end = utc(occ.start), utc(occ.end)
    events: list[tuple[datetime, int]] = []
    for t in taken:
        t_start, t_end = utc(t.start) - buffer, utc(t.end) + buffer
        if t_start < end and t_end > start:
            events.append((max(t_start, start), t.seats))
            events.append((min(t_end, end), -t.seats))
    if need > space.capacity:
        return [(start, end)]
    events.sort(key=lambda e: (e[0], e[1]))  # ends (negative) before starts at the same instant
    over: list[tuple[datetime, datetime]] = []
    in_use, cursor = 0, start
    for instant, delta in events:
        if instant > cursor and in_use + need > space.capacity:
            _extend(over, cursor, instant)
        cursor = max(cursor, instant)
        in_use += delta
    if cursor < end and in_use + need > space.capacity:
        _extend(over, cursor, end)
    return over


def _extend(spans: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> None:
    if spans and spans[-1][1] >= start:
        spans[-1] = (spans[-1][0], max(spans[-1][1], end))
    else:
        spans.append((start, end))


def occurrences(space: SpaceRules, start: datetime, end: datetime, freq: str | None, count: int) -> list[Occurrence]:
    """A series repeats the same local wall-clock times (09:00 stays 09:00 across DST).

    An occurrence whose local start or end does not exist that day is shifted by the rules'
    clipping; `check_rules` then judges it like any other.
    """
    if freq is None:
        return [Occurrence(start, end)]
    step = FREQUENCIES[freq]
    local_start, local_end = start.astimezone(space.tz), end.astimezone(space.tz)
    length_days = (local_end.date() - local_start.date()).days
    result = []
    for i in range(count):
        day: date = local_start.date() + step * i
        result.append(
            Occurrence(
                _wall(day, local_start.time(), space.tz, prefer="earlier"),
                _wall(day + timedelta(days=length_days), local_end.time(), space.tz, prefer="later"),
            )
        )
    return result


def _wall(day: date, wall: time, tz: ZoneInfo, prefer: str) -> datetime:
    local = datetime.combine(day, wall.replace(tzinfo=None), tzinfo=tz)
    if exists(local):
        return local if prefer == "earlier" else local.replace(fold=1)
    return rules.local_instant(day, wall.replace(tzinfo=None), tz, prefer=prefer)


def judge(
    space: SpaceRules,
    occs: Sequence[Occurrence],
    seats: int,
    whole: bool,
    taken: Sequence[Taken],
    now: datetime,
) -> list[Verdict]:
    """Judge every occurrence of a request; earlier occurrences of the same series count as
    taken for later ones, so a series can never overlap itself."""
    need = seats_taken(space, seats, whole)
    held = list(taken)
    verdicts = []
    for occ in occs:
        verdict = Verdict(occ, errors=check_rules(space, occ, now))
        if not verdict.errors:
            verdict.conflicts = conflicts(space, occ, need, held)
        if verdict.ok:
            held.append(Taken(occ.start, occ.end, need))
        verdicts.append(verdict)
    return verdicts


def can_cancel_free(space: SpaceRules, start: datetime, now: datetime) -> bool:
    """Members may cancel until `cancel_hours` before the start."""
    return utc(now) <= utc(start) - timedelta(hours=space.cancel_hours)
