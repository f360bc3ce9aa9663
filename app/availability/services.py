"""Opening hours, closures, and free time of spaces: loading data for the pure rules."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.accounts.models import User
from app.availability import rules
from app.availability.localtime import day_range
from app.availability.models import Closure, OpeningWindow
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.venues.models import Space

MAX_RANGE_DAYS = 62


# -- opening hours ---------------------------------------------------------------------------


def set_hours(actor: User, space: Space, windows: Sequence[tuple[int, time, time]]) -> list[OpeningWindow]:
    """Replace the space's weekly hours. Windows on one day may not overlap."""
    if not space.can_manage(actor):
        raise Forbidden()
    errors: dict[str, list[str]] = {}
    by_day: dict[int, list[tuple[time, time, int]]] = defaultdict(list)
    for i, (weekday, opens, closes) in enumerate(windows):
        if not 0 <= weekday <= 6:
            errors[f"hours[{i}].weekday"] = [str(_l("A weekday from 0 (Monday) to 6 (Sunday)."))]
        if opens >= closes:
            errors[f"hours[{i}].closes"] = [str(_l("Closing time must be after opening time."))]
        by_day[weekday].append((opens, closes, i))
    for day_windows in by_day.values():
        day_windows.sort()
        for (_o1, c1, _i1), (o2, _c2, i2) in itertools.pairwise(day_windows):
            if o2 < c1:
                errors.setdefault(f"hours[{i2}].opens", []).append(str(_l("Overlaps another window on the same day.")))
    if errors:
        raise DomainError(errors)
    space.windows.clear()
    db.session.flush()
    for weekday, opens, closes in sorted(windows):
        space.windows.append(OpeningWindow(weekday=weekday, opens=opens, closes=closes))
    db.session.flush()
    return list(space.windows)


def copy_hours(actor: User, space: Space, source: Space) -> list[OpeningWindow]:
    """'Copy from another space': the source must be one the actor manages too."""
    if not source.can_manage(actor):
        raise NotFound()
    return set_hours(actor, space, [(w.weekday, w.opens, w.closes) for w in source.windows])


# -- closures --------------------------------------------------------------------------------


def add_closure(actor: User, space: Space, start: datetime, end: datetime, reason: str = "") -> Closure:
    if not space.can_manage(actor):
        raise Forbidden()
    if end <= start:
        raise DomainError.on("end", _l("The end must be after the start."))
    if len(reason) > 200:
        raise DomainError.on("reason", _l("Use at most %(n)s characters.", n=200))
    closure = Closure(space=space, start=start.astimezone(UTC), end=end.astimezone(UTC), reason=reason.strip())
    db.session.add(closure)
    db.session.flush()
    return closure


def add_closure_to_spaces(
    actor: User, spaces: Iterable[Space], start: datetime, end: datetime, reason: str = ""
) -> list[Closure]:
    """Christmas for the whole building in one go."""
    return [add_closure(actor, space, start, end, reason) for space in spaces]


def managed_closure(actor: User, closure_id: int) -> Closure:
    closure = db.session.get(Closure, closure_id)
    if closure is None or not closure.space.can_see(actor):
        raise NotFound()
    if not closure.space.can_manage(actor):
        raise Forbidden()
    return closure


def delete_closure(actor: User, closure: Closure) -> None:
    if not closure.space.can_manage(actor):
        raise Forbidden()
    db.session.delete(closure)
    db.session.flush()


# -- free time -------------------------------------------------------------------------------


def check_range(first: date, last: date, field: str = "to") -> None:
    if last < first:
        raise DomainError.on(field, _l("The end date must not be before the start date."))
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise DomainError.on(field, _l("Ask for at most %(n)s days at a time.", n=MAX_RANGE_DAYS))


def busy_for(space_ids: Sequence[int], start: datetime, end: datetime) -> dict[int, list[rules.Busy]]:
    """Time taken in each space between start and end: bookings and blocks hold seats.

    One query for all spaces, so a search over many venues stays a fixed number of queries.
    """
    from app.bookings.queries import busy_for_spaces

    return busy_for_spaces(space_ids, start, end)


def free_for_spaces(spaces: Sequence[Space], first: date, last: date, now: datetime) -> dict[int, list[rules.Free]]:
    """Free intervals per space over local days first..last, in a fixed number of queries."""
    if not spaces:
        return {}
    ids = [s.id for s in spaces]
    windows: dict[int, list[rules.Window]] = defaultdict(list)
    for w in db.session.scalars(sa.select(OpeningWindow).where(OpeningWindow.space_id.in_(ids))):
        windows[w.space_id].append(rules.Window(w.weekday, w.opens, w.closes))
    # The widest instant range any venue zone could need: a day either side covers every offset.
    lo = datetime.combine(first - timedelta(days=1), time(0), tzinfo=UTC)
    hi = datetime.combine(last + timedelta(days=2), time(0), tzinfo=UTC)
    closures: dict[int, list[rules.Interval]] = defaultdict(list)
    for c in db.session.scalars(
        sa.select(Closure).where(Closure.space_id.in_(ids), Closure.start < hi, Closure.end > lo)
    ):
        closures[c.space_id].append(rules.Interval(c.start, c.end))
    busy = busy_for(ids, lo, hi)
    result = {}
    for space in spaces:
        tz = space.venue.zone
        result[space.id] = rules.free_intervals(
            windows=windows[space.id],
            closures=closures[space.id],
            busy=busy.get(space.id, []),
            capacity=space.capacity,
            first_day=first,
            last_day=last,
            tz=tz,
            now=now,
            lead=timedelta(minutes=space.lead_minutes),
            horizon_days=space.horizon_days,
            buffer=timedelta(minutes=space.buffer_minutes),
        )
    return result


def free_for_space(space: Space, first: date, last: date, now: datetime) -> list[rules.Free]:
    check_range(first, last)
    return free_for_spaces([space], first, last, now)[space.id]


def open_for_space(space: Space, first: date, last: date) -> list[rules.Interval]:
    """When the space is open at all (for drawing busy time on a timeline)."""
    start, end = day_range(first, last, space.venue.zone)
    closures = [rules.Interval(c.start, c.end) for c in space.closures if c.start < end and c.end > start]
    windows = [rules.Window(w.weekday, w.opens, w.closes) for w in space.windows]
    return rules.open_intervals(windows, closures, first, last, space.venue.zone)
