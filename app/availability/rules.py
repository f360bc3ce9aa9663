"""When a space is free, and how many seats: the pure availability engine.

Weekly windows are wall-clock times in the venue's zone, so they are expanded day by day in local time
and turned into real instants at once. Everything after that (merging, subtracting closures, counting
seats) works on UTC instants: Python compares and subtracts two datetimes that share a tzinfo by wall
clock and ignores DST, so no arithmetic here ever touches a local datetime.

Rules:
- Intervals are half-open [start, end): a booking ending 13:00 and one starting 13:00 do not overlap.
- A window opens at the earlier occurrence of an ambiguous wall time (autumn) and closes at the later
  one; a wall time inside the spring gap is clipped to the transition instant (03:00 CEST).
- Seats free at an instant = capacity - seats of the buffer-widened busy intervals covering it,
  never below 0; only parts with at least one free seat are reported.
- Free intervals are maximal: split only where the number of free seats changes.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from zoneinfo import ZoneInfo

__all__ = [
    "Busy",
    "Free",
    "Interval",
    "Window",
    "free_intervals",
    "local_instant",
    "on_grid",
    "open_intervals",
    "seats_free_throughout",
    "slots",
]

_DAY = timedelta(days=1)
_MINUTES_PER_DAY = 24 * 60
# Largest UTC offset change between two instants we enumerate grid points for (DST shifts are <= 2 h).
_GRID_MARGIN_MINUTES = 180

_Span = tuple[datetime, datetime]  # UTC, half-open


@dataclass(frozen=True)
class Window:
    """A weekly opening window in venue-local wall time; it never runs past midnight."""

    weekday: int  # 0 = Monday ... 6 = Sunday
    opens: time
    closes: time  # > opens, so time(0, 0) can never close a window

    def __post_init__(self) -> None:
        _check_window(self)

    @classmethod
    def trusted(cls, weekday: int, opens: time, closes: time) -> Window:
        """A window read back from the database, whose constraints already hold what
        `_check_window` checks (weekday 0..6, opens < closes, naive times): not checked again."""
        window = object.__new__(cls)
        object.__setattr__(window, "weekday", weekday)
        object.__setattr__(window, "opens", opens)
        object.__setattr__(window, "closes", closes)
        return window


@dataclass(frozen=True)
class Interval:
    """A half-open span [start, end) of real time between two aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if _as_utc(self.end, "interval end") < _as_utc(self.start, "interval start"):
            raise ValueError("interval end must not be before its start")


@dataclass(frozen=True)
class Busy:
    """Time taken by a booking or a block; a whole-space booking takes the full capacity."""

    start: datetime
    end: datetime
    seats: int

    def __post_init__(self) -> None:
        if _as_utc(self.end, "busy end") < _as_utc(self.start, "busy start"):
            raise ValueError("busy end must not be before its start")
        if self.seats < 1:
            raise ValueError(f"busy seats must be >= 1, got {self.seats}")


@dataclass(frozen=True)
class Free:
    """A maximal free span in the venue's zone, with the seats free throughout it (>= 1)."""

    start: datetime
    end: datetime
    seats: int


def local_instant(day: date, wall: time, tz: ZoneInfo, *, prefer: str) -> datetime | None:
    """The instant (in `tz`) at which the venue's clocks show `wall` on `day`.

    `prefer` ("earlier"/"later") picks the occurrence of an ambiguous autumn time. A time in the spring
    gap does not exist; it is clipped to the transition instant, the first real instant after the gap,
    so a window touching the gap shrinks instead of failing. Never returns None; the Optional return
    type is kept for callers written against the published signature.
    """
    if prefer not in ("earlier", "later"):
        raise ValueError(f'prefer must be "earlier" or "later", got {prefer!r}')
    if wall.tzinfo is not None:
        raise ValueError("wall must be a naive local time")
    return _local_to_utc(datetime.combine(day, wall), tz, later=prefer == "later").astimezone(tz)


def open_intervals(
    windows: Iterable[Window],
    closures: Iterable[Interval],
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
) -> list[Interval]:
    """Open time for local days first_day..last_day: sorted, merged, minus closures, in UTC."""
    return [Interval(s, e) for s, e in _open_spans(windows, closures, first_day, last_day, tz)]


def free_intervals(
    *,
    windows: Iterable[Window],
    closures: Iterable[Interval],
    busy: Iterable[Busy],
    capacity: int,
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
    now: datetime,
    lead: timedelta = timedelta(0),
    horizon_days: int | None = None,
    buffer: timedelta = timedelta(0),
) -> list[Free]:
    """Maximal free intervals with their free seats, in the venue's zone.

    Open time is cut to [now + lead, end of the local day now + horizon_days) and each busy interval is
    widened by `buffer` on both sides (changeover time). One sweep over the sorted busy edges, so the
    cost is O((windows*days + busy) log busy), never busy x open.
    """
    if capacity < 1:
        raise ValueError(f"capacity must be >= 1, got {capacity}")
    if lead < timedelta(0) or buffer < timedelta(0):
        raise ValueError("lead and buffer must not be negative")
    if horizon_days is not None and horizon_days < 0:
        raise ValueError(f"horizon_days must be >= 0, got {horizon_days}")
    now_utc = _as_utc(now, "now")
    earliest = now_utc + lead
    latest = None
    if horizon_days is not None:
        last_day_open = now_utc.astimezone(tz).date() + timedelta(days=horizon_days)
        latest = _local_to_utc(datetime.combine(last_day_open + _DAY, time(0)), tz, later=False)

    opened = _clip(_open_spans(windows, closures, first_day, last_day, tz), earliest, latest)
    edges, used_from = _usage(busy, buffer)

    out: list[tuple[datetime, datetime, int]] = []
    for start, end in opened:
        i = bisect_right(edges, start) - 1  # last edge at or before start
        cursor = start
        while cursor < end:
            used = used_from[i] if i >= 0 else 0
            nxt = edges[i + 1] if i + 1 < len(edges) and edges[i + 1] < end else end
            _emit(out, cursor, nxt, capacity - min(capacity, used))
            cursor = nxt
            i += 1
    return [Free(s.astimezone(tz), e.astimezone(tz), n) for s, e, n in out]


def seats_free_throughout(free: Sequence[Free], start: datetime, end: datetime) -> int:
    """The fewest free seats anywhere in [start, end); 0 if any part of it is not free.

    `free` must be sorted and non-overlapping, as free_intervals returns it.
    """
    lo, hi = _as_utc(start, "start"), _as_utc(end, "end")
    if hi <= lo:
        raise ValueError("end must be after start")
    i = bisect_right(free, lo, key=lambda f: f.start.astimezone(UTC)) - 1
    if i < 0:
        return 0
    fewest = free[i].seats
    cursor = lo
    while cursor < hi:
        if i >= len(free):
            return 0
        f_start, f_end = free[i].start.astimezone(UTC), free[i].end.astimezone(UTC)
        if not f_start <= cursor < f_end:
            return 0
        fewest = min(fewest, free[i].seats)
        cursor = f_end
        i += 1
    return fewest


def on_grid(instant: datetime, slot_minutes: int, tz: ZoneInfo) -> bool:
    """Whether the local wall time is a whole number of slots after local midnight, to the second."""
    _check_slot(slot_minutes)
    local = _as_utc(instant, "instant").astimezone(tz)
    if local.second or local.microsecond:
        return False
    return (local.hour * 60 + local.minute) % slot_minutes == 0


def slots(free: Sequence[Free], slot_minutes: int, tz: ZoneInfo) -> list[Free]:
    """Bookable slots: slot_minutes of real time, starting and ending on the local grid.

    A slot may span touching Free intervals (seats mode splits them where the seat count changes) and
    then carries the fewest seats among them, which is what seats_free_throughout would allow. On DST
    days a slot that would end off the grid (e.g. 90 minutes across the spring gap) is left out, and
    slots never overlap.
    """
    _check_slot(slot_minutes)
    step = timedelta(minutes=slot_minutes)
    out: list[Free] = []
    for run in _runs(free):
        run_start, run_end = run[0][0], run[-1][1]
        if run_end - run_start < step:
            continue
        k = 0
        last_end = run_start
        for begin in _grid_points(run_start, run_end - step, slot_minutes, tz):
            finish = begin + step
            if begin < last_end or not on_grid(finish, slot_minutes, tz):
                continue
            while run[k][1] <= begin:
                k += 1
            seats = run[k][2]
            for piece_start, _, piece_seats in islice(run, k + 1, None):
                if piece_start >= finish:
                    break
                seats = min(seats, piece_seats)
            out.append(Free(begin.astimezone(tz), finish.astimezone(tz), seats))
            last_end = finish
    return out


# --- helpers ---------------------------------------------------------------------------------------


def _as_utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


def _check_window(window: Window) -> None:
    if not 0 <= window.weekday <= 6:
        raise ValueError(f"weekday must be 0..6, got {window.weekday}")
    if window.opens.tzinfo is not None or window.closes.tzinfo is not None:
        raise ValueError("window times are local wall times and must not carry a tzinfo")
    if window.closes <= window.opens:
        raise ValueError(f"window closes ({window.closes}) must be after it opens ({window.opens})")


def _check_slot(slot_minutes: int) -> None:
    if not 1 <= slot_minutes <= _MINUTES_PER_DAY:
        raise ValueError(f"slot_minutes must be 1..1440, got {slot_minutes}")


def _local_instants(naive: datetime, tz: ZoneInfo) -> list[datetime]:
    """All UTC instants showing this wall time: one, two (autumn) or none (spring gap)."""
    before = naive.replace(tzinfo=tz).utcoffset()
    after = naive.replace(tzinfo=tz, fold=1).utcoffset()
    if before == after:
        return [(naive - before).replace(tzinfo=UTC)]
    if before > after:
        return [(naive - before).replace(tzinfo=UTC), (naive - after).replace(tzinfo=UTC)]
    return []


def _local_to_utc(naive: datetime, tz: ZoneInfo, *, later: bool) -> datetime:
    """UTC instant of a local wall time; PEP 495 fold semantics tell the gap and the fold apart."""
    return _local_to_utc_cached(naive, tz, later, naive.fold)  # equal datetimes may differ in fold


# A pure function of hashable arguments, asked again and again for the same few wall times (many
# spaces share their opening hours): a search over hundreds of spaces mostly hits this cache.
@lru_cache(maxsize=4096)
def _local_to_utc_cached(naive: datetime, tz: ZoneInfo, later: bool, _fold: int) -> datetime:
    before = naive.replace(tzinfo=tz).utcoffset()  # offset in force before a transition
    after = naive.replace(tzinfo=tz, fold=1).utcoffset()  # offset in force after it
    if before == after or before > after:  # unique, or ambiguous (the clock went back)
        return (naive - (after if later else before)).replace(tzinfo=UTC)
    # In the spring gap: the transition lies in (naive - after, naive - before]. tzdata transitions are
    # whole seconds, so bisect over integer timestamps.
    lo = math.floor((naive - after).replace(tzinfo=UTC).timestamp())
    hi = math.ceil((naive - before).replace(tzinfo=UTC).timestamp())
    offset_before = datetime.fromtimestamp(lo, tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == offset_before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def _merge(spans: Iterable[_Span]) -> list[_Span]:
    """Sort and merge overlapping or touching spans; drop empty ones."""
    out: list[_Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _subtract(spans: list[_Span], holes: list[_Span]) -> list[_Span]:
    """spans minus holes, both sorted and merged; a single forward pass over each."""
    out: list[_Span] = []
    j = 0
    for start, end in spans:
        while j < len(holes) and holes[j][1] <= start:
            j += 1
        cursor = start
        k = j
        while k < len(holes) and holes[k][0] < end:
            if holes[k][0] > cursor:
                out.append((cursor, holes[k][0]))
            cursor = max(cursor, holes[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def _open_spans(
    windows: Iterable[Window], closures: Iterable[Interval], first_day: date, last_day: date, tz: ZoneInfo
) -> list[_Span]:
    if first_day > last_day:
        raise ValueError(f"first_day ({first_day}) must not be after last_day ({last_day})")
    by_weekday: dict[int, list[Window]] = {}
    for window in windows:
        if type(window) is not Window:  # a Window is checked when made (or trusted) and frozen
            _check_window(window)  # look-alike objects are checked here
        by_weekday.setdefault(window.weekday, []).append(window)
    spans: list[_Span] = []
    day = first_day
    while day <= last_day:
        for window in by_weekday.get(day.weekday(), ()):
            start = _local_to_utc(datetime.combine(day, window.opens), tz, later=False)
            end = _local_to_utc(datetime.combine(day, window.closes), tz, later=True)
            spans.append((start, end))
        day += _DAY
    holes = [(_as_utc(c.start, "closure start"), _as_utc(c.end, "closure end")) for c in closures]
    return _subtract(_merge(spans), _merge(holes))


def _clip(spans: list[_Span], earliest: datetime, latest: datetime | None) -> list[_Span]:
    out = []
    for start, end in spans:
        start = max(start, earliest)
        if latest is not None:
            end = min(end, latest)
        if start < end:
            out.append((start, end))
    return out


def _usage(busy: Iterable[Busy], buffer: timedelta) -> tuple[list[datetime], list[int]]:
    """Step function of seats in use: used_from[i] holds from edges[i] up to edges[i + 1]."""
    delta: dict[datetime, int] = {}
    for item in busy:
        if item.seats < 1:
            raise ValueError(f"busy seats must be >= 1, got {item.seats}")
        start = _as_utc(item.start, "busy start") - buffer
        end = _as_utc(item.end, "busy end") + buffer
        if start < end:
            delta[start] = delta.get(start, 0) + item.seats
            delta[end] = delta.get(end, 0) - item.seats
    edges = sorted(delta)
    used_from = []
    used = 0
    for edge in edges:
        used += delta[edge]
        used_from.append(used)
    return edges, used_from


def _emit(out: list[tuple[datetime, datetime, int]], start: datetime, end: datetime, seats: int) -> None:
    """Append a free piece, merging it into the previous one when it touches with equal seats."""
    if seats < 1 or start >= end:
        return
    if out and out[-1][1] == start and out[-1][2] == seats:
        out[-1] = (out[-1][0], end, seats)
    else:
        out.append((start, end, seats))


def _runs(free: Sequence[Free]) -> Iterator[list[tuple[datetime, datetime, int]]]:
    """Group touching Free intervals (UTC) into runs of uninterrupted free time."""
    run: list[tuple[datetime, datetime, int]] = []
    for f in free:
        piece = (_as_utc(f.start, "free start"), _as_utc(f.end, "free end"), f.seats)
        if run and piece[0] != run[-1][1]:
            yield run
            run = []
        run.append(piece)
    if run:
        yield run


def _grid_points(first: datetime, last: datetime, slot_minutes: int, tz: ZoneInfo) -> list[datetime]:
    """Sorted UTC instants in [first, last] whose local wall time is on the slot grid.

    Walks local wall minutes counted from first's local midnight, widened by a margin that covers any
    DST shift, and keeps both occurrences of an autumn wall time; the UTC bounds do the exact cut.
    """
    first_local, last_local = first.astimezone(tz), last.astimezone(tz)
    base = first_local.date()
    lo = first_local.hour * 60 + first_local.minute - _GRID_MARGIN_MINUTES
    hi = (last_local.date() - base).days * _MINUTES_PER_DAY + last_local.hour * 60 + last_local.minute
    hi += _GRID_MARGIN_MINUTES
    points: set[datetime] = set()
    for day_index in range(lo // _MINUTES_PER_DAY, hi // _MINUTES_PER_DAY + 1):
        day = base + timedelta(days=day_index)
        offset = day_index * _MINUTES_PER_DAY
        minute = -(-max(0, lo - offset) // slot_minutes) * slot_minutes
        stop = min(_MINUTES_PER_DAY - 1, hi - offset)
        while minute <= stop:
            naive = datetime.combine(day, time(minute // 60, minute % 60))
            points.update(p for p in _local_instants(naive, tz) if first <= p <= last)
            minute += slot_minutes
    return sorted(points)
