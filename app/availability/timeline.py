"""One day of one space as a bar of free, busy and closed segments, in the venue's local time.

Pure: it takes the open and free intervals the services computed and cuts the drawn part of the
day into segments, each with its share of the bar as a percentage. Templates draw them as SVG
attributes (our CSP forbids inline styles) and read them out as text for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.availability import rules
from app.availability.localtime import start_of_day

FREE, BUSY, CLOSED = "free", "busy", "closed"
FIRST_HOUR, LAST_HOUR = 7, 22  # drawn at least from 07:00 to 22:00


@dataclass(frozen=True)
class Segment:
    state: str  # FREE, BUSY or CLOSED
    start: datetime  # in the venue's zone
    end: datetime
    seats: int | None  # free seats throughout a FREE segment
    x: str  # "12.500%": where it starts on the bar
    width: str


@dataclass(frozen=True)
class Tick:
    label: str  # "09:00"
    x: str
    major: bool  # every six hours: still labelled on a narrow screen


@dataclass(frozen=True)
class Timeline:
    day: date
    start: datetime
    end: datetime
    segments: list[Segment]
    ticks: list[Tick]
    window: Segment | None = None  # the time that was searched for, drawn as an outline

    @property
    def closed_all_day(self) -> bool:
        return all(s.state == CLOSED for s in self.segments)

    @property
    def told(self) -> list[Segment]:
        """The segments worth reading out: from the first open moment to the last."""
        states = [s.state for s in self.segments]
        if all(s == CLOSED for s in states):
            return []
        first = next(i for i, s in enumerate(states) if s != CLOSED)
        last = len(states) - 1 - next(i for i, s in enumerate(reversed(states)) if s != CLOSED)
        return self.segments[first : last + 1]


def hour_span(day: date, tz: ZoneInfo, open_: Iterable[rules.Interval]) -> tuple[int, int]:
    """The local hours to draw: 07:00 to 22:00, widened to whole hours around the open time."""
    first, last = FIRST_HOUR, LAST_HOUR
    for interval in open_:
        start, end = interval.start.astimezone(tz), interval.end.astimezone(tz)
        if end.date() < day or start.date() > day or (end.date() == day and end.time() == time(0)):
            continue
        first = min(first, 0 if start.date() < day else start.hour)
        closing_hour = 24 if end.date() > day else end.hour + (1 if (end.minute or end.second) else 0)
        last = max(last, closing_hour)
    return first, last


def _bound(day: date, hour: int, tz: ZoneInfo) -> datetime:
    if hour >= 24:
        return start_of_day(day + timedelta(days=1), tz).astimezone(UTC)
    return rules.local_instant(day, time(hour), tz, prefer="earlier").astimezone(UTC)


def day_timeline(
    day: date,
    tz: ZoneInfo,
    open_: Sequence[rules.Interval],
    free: Sequence[rules.Free],
    *,
    hours: tuple[int, int] = (FIRST_HOUR, LAST_HOUR),
    window: tuple[datetime, datetime] | None = None,
) -> Timeline:
    """Cut local `day` between `hours` into closed, busy (open but not free) and free segments.

    `open_` and `free` may reach into other days; only what falls inside the drawn hours counts.
    """
    lo, hi = _bound(day, hours[0], tz), _bound(day, hours[1], tz)
    total = (hi - lo).total_seconds()

    def share(start: datetime, end: datetime) -> tuple[str, str]:
        return (
            f"{100 * (start - lo).total_seconds() / total:.3f}%",
            f"{100 * (end - start).total_seconds() / total:.3f}%",
        )

    opened = _clip(((i.start, i.end, None) for i in open_), lo, hi)
    frees = _clip(((f.start, f.end, f.seats) for f in free), lo, hi)
    pieces: list[tuple[str, datetime, datetime, int | None]] = []
    cursor = lo
    for o_start, o_end, _ in opened:
        if cursor < o_start:
            pieces.append((CLOSED, cursor, o_start, None))
        inner = o_start
        for f_start, f_end, seats in frees:
            f_start, f_end = max(f_start, o_start), min(f_end, o_end)
            if f_start >= f_end:
                continue
            if inner < f_start:
                pieces.append((BUSY, inner, f_start, None))
            pieces.append((FREE, f_start, f_end, seats))
            inner = f_end
        if inner < o_end:
            pieces.append((BUSY, inner, o_end, None))
        cursor = max(cursor, o_end)
    if cursor < hi:
        pieces.append((CLOSED, cursor, hi, None))

    merged: list[tuple[str, datetime, datetime, int | None]] = []
    for piece in pieces:
        if merged and merged[-1][0] == piece[0] and merged[-1][3] == piece[3] and merged[-1][2] == piece[1]:
            merged[-1] = (piece[0], merged[-1][1], piece[2], piece[3])
        else:
            merged.append(piece)
    segments = [
        Segment(state, s.astimezone(tz), e.astimezone(tz), seats, *share(s, e)) for state, s, e, seats in merged
    ]

    ticks = []
    for hour in range(math.ceil(hours[0] / 3) * 3, hours[1] + 1, 3):
        if hours[0] + 2 <= hour <= hours[1] - 2:  # keep clear of the labels at both ends
            at = _bound(day, hour, tz)
            ticks.append(Tick(f"{hour:02d}:00", share(lo, at)[1], hour % 6 == 0))

    drawn_window = None
    if window is not None:
        w_start, w_end = max(window[0].astimezone(UTC), lo), min(window[1].astimezone(UTC), hi)
        if w_start < w_end:
            drawn_window = Segment("window", w_start.astimezone(tz), w_end.astimezone(tz), None, *share(w_start, w_end))
    return Timeline(day, lo.astimezone(tz), hi.astimezone(tz), segments, ticks, drawn_window)


def _clip(spans: Iterable[tuple[datetime, datetime, int | None]], lo: datetime, hi: datetime):
    out = []
    for start, end, seats in spans:
        start, end = max(start.astimezone(UTC), lo), min(end.astimezone(UTC), hi)
        if start < end:
            out.append((start, end, seats))
    return sorted(out, key=lambda s: s[0])
