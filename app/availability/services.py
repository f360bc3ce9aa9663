"""Opening hours, closures, and free time of spaces: loading data for the pure rules."""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.accounts.models import User
from app.availability import rules
from app.availability.localtime import day_range, start_of_day
from app.availability.models import Closure, OpeningWindow
from app.database import dialect_name, one_of, plain_row, plain_rows
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.venues.access import actor_params, can_see_sql, who
from app.venues.models import Space, Venue

MAX_RANGE_DAYS = 62
DST_CUSHION = timedelta(hours=3)


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


class SpaceLimits(NamedTuple):
    """What free time depends on, of one space: plain values, no ORM entity needed (a tuple:
    a search makes thousands). The booking engine's `engine.SpaceRules` holds the rest of the
    space's rules (slots, lengths, approval)."""

    id: int
    capacity: int
    lead_minutes: int
    horizon_days: int
    buffer_minutes: int
    zone: ZoneInfo

    @classmethod
    def of(cls, space: Space) -> SpaceLimits:
        return cls(
            space.id, space.capacity, space.lead_minutes, space.horizon_days, space.buffer_minutes, space.venue.zone
        )


def visible_space_limits(actor: User | None, space_id: int) -> SpaceLimits:
    """What free time depends on of a space the actor may see, from one plain row; NotFound as
    `venues.services.visible_space` (whose rule `can_see_sql` states in SQL)."""
    params = {"space_id": space_id, **actor_params(actor)}
    row = plain_row(_space_limits_stmt(who(actor)), params)
    if row is None or not row[6]:
        raise NotFound()
    return SpaceLimits(*row[:5], ZoneInfo(row[5]))


# Statements are built once per shape and reused with bound values (see app/venues/search.py).


@functools.cache
def _space_limits_stmt(who_: str):
    return (
        sa.select(
            Space.id,
            Space.capacity,
            Space.lead_minutes,
            Space.horizon_days,
            Space.buffer_minutes,
            Venue.timezone,
            can_see_sql(who_),
        )
        .join(Venue, Venue.id == Space.venue_id)
        .where(Space.id == sa.bindparam("space_id"))
    )


@functools.cache
def _hours_and_closures_stmt(by_weekday: bool, dialect: str):
    windows, closures = OpeningWindow.__table__.c, Closure.__table__.c
    blank_time = sa.type_coerce(sa.null(), windows.opens.type)
    blank_instant = sa.type_coerce(sa.null(), closures.start.type)
    windows_stmt = sa.select(
        windows.space_id,
        windows.weekday,
        windows.opens,
        windows.closes,
        blank_instant.label("start"),
        blank_instant.label("end"),
    ).where(one_of(windows.space_id, "space_ids", dialect))
    if by_weekday:
        windows_stmt = windows_stmt.where(one_of(windows.weekday, "weekdays", dialect))
    closures_stmt = sa.select(closures.space_id, sa.null(), blank_time, blank_time, closures.start, closures.end).where(
        one_of(closures.space_id, "space_ids", dialect),
        closures.start < sa.bindparam("end"),
        closures.end > sa.bindparam("start"),
    )
    return sa.union_all(windows_stmt, closures_stmt)


def hours_and_closures(
    space_ids: Sequence[int], start: datetime, end: datetime, weekdays: Iterable[int] | None = None
) -> tuple[dict[int, list[rules.Window]], dict[int, list[rules.Interval]]]:
    """Weekly windows (on these weekdays, or all) and the closures overlapping [start, end) of these
    spaces: one statement, plain rows (no ORM entities), windows trusted as the database's
    constraints checked them."""
    params = {"space_ids": list(space_ids), "start": start, "end": end}
    if weekdays is not None:
        params["weekdays"] = sorted(set(weekdays))
    windows: dict[int, list[rules.Window]] = defaultdict(list)
    closures: dict[int, list[rules.Interval]] = defaultdict(list)
    made: dict[tuple[int, time, time], rules.Window] = {}  # spaces share their hours: one Window each
    for space_id, weekday, opens, closes, c_start, c_end in plain_rows(
        _hours_and_closures_stmt(weekdays is not None, dialect_name()), params
    ):
        if weekday is None:
            closures[space_id].append(rules.Interval(c_start, c_end))
            continue
        key = (weekday, opens, closes)
        window = made.get(key)
        if window is None:
            window = made[key] = rules.Window.trusted(weekday, opens, closes)
        windows[space_id].append(window)
    return windows, closures


def free_time(wanted: Sequence[tuple[SpaceLimits, date, date]], now: datetime) -> dict[int, list[rules.Free]]:
    """Free intervals per space over its own local days first..last, in a fixed number of
    statements (hours and closures in one, busy time in two) however many spaces are asked."""
    if not wanted:
        return {}
    ids = [rules_.id for rules_, _first, _last in wanted]
    # The instants of the local days asked for in each space's own zone, and a few hours more: a
    # window touching a DST gap at midnight is clipped to the transition, which may come earlier
    # than start_of_day says.
    firsts = {(rules_.zone, first) for rules_, first, _last in wanted}
    ends = {(rules_.zone, last + timedelta(days=1)) for rules_, _first, last in wanted}
    lo = min(start_of_day(day, zone) for zone, day in firsts) - DST_CUSHION
    hi = max(start_of_day(day, zone) for zone, day in ends) + DST_CUSHION
    windows, closures = hours_and_closures(ids, lo, hi, _weekdays_of(wanted))
    # Busy time widened by a buffer still takes time inside the range.
    margin = timedelta(minutes=max(rules_.buffer_minutes for rules_, _first, _last in wanted))
    busy = busy_for(ids, lo - margin, hi + margin)
    result = {}
    for space, first, last in wanted:
        result[space.id] = rules.free_intervals(
            windows=windows.get(space.id, ()),
            closures=closures.get(space.id, ()),
            busy=busy.get(space.id, ()),
            capacity=space.capacity,
            first_day=first,
            last_day=last,
            tz=space.zone,
            now=now,
            lead=timedelta(minutes=space.lead_minutes),
            horizon_days=space.horizon_days,
            buffer=timedelta(minutes=space.buffer_minutes),
        )
    return result


def _weekdays_of(wanted: Sequence[tuple[SpaceLimits, date, date]]) -> set[int] | None:
    """The weekdays of all the days asked for; None when that is every day of the week."""
    days: set[int] = set()
    for _space, first, last in wanted:
        if (last - first).days >= 6:
            return None
        days.update((first + timedelta(days=i)).weekday() for i in range((last - first).days + 1))
    return None if len(days) == 7 else days


def free_for_spaces(spaces: Sequence[Space], first: date, last: date, now: datetime) -> dict[int, list[rules.Free]]:
    """Free intervals per space over local days first..last, in a fixed number of queries."""
    return free_time([(SpaceLimits.of(s), first, last) for s in spaces], now)


def free_for_space(space: Space, first: date, last: date, now: datetime) -> list[rules.Free]:
    check_range(first, last)
    return free_for_spaces([space], first, last, now)[space.id]


def open_for_space(space: Space, first: date, last: date) -> list[rules.Interval]:
    """When the space is open at all (for drawing busy time on a timeline)."""
    start, end = day_range(first, last, space.venue.zone)
    closures = [rules.Interval(c.start, c.end) for c in space.closures if c.start < end and c.end > start]
    windows = [rules.Window(w.weekday, w.opens, w.closes) for w in space.windows]
    return rules.open_intervals(windows, closures, first, last, space.venue.zone)
