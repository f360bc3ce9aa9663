"""The availability engine: DST days, seats, buffers, closures, slots, and its invariants."""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate, pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.availability.rules import (
    Busy,
    Free,
    Interval,
    Window,
    free_intervals,
    local_instant,
    on_grid,
    open_intervals,
    seats_free_throughout,
    slots,
)

AMS = ZoneInfo("Europe/Amsterdam")
SPRING = date(2027, 3, 28)  # Sunday; 02:00 CET -> 03:00 CEST (01:00 UTC)
AUTUMN = date(2027, 10, 31)  # Sunday; 03:00 CEST -> 02:00 CET (01:00 UTC)
MONDAY = date(2027, 6, 14)  # an ordinary summer Monday, CEST (+02:00)
LONG_AGO = datetime(2027, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """A venue-local instant; only for wall times that exist."""
    return datetime.combine(day, time(hour, minute), tzinfo=AMS).replace(fold=fold)


def spans(items) -> list[tuple[datetime, datetime]]:
    return [(i.start.astimezone(UTC), i.end.astimezone(UTC)) for i in items]


def seats(items) -> list[tuple[str, str, int]]:
    """Free intervals as local ISO strings, so offsets are part of the assertion."""
    return [(f.start.isoformat(), f.end.isoformat(), f.seats) for f in items]


def real_hours(items) -> float:
    return sum((e - s).total_seconds() for s, e in spans(items)) / 3600


def free(day=MONDAY, windows=None, busy=(), capacity=1, closures=(), last_day=None, **kwargs):
    """free_intervals for one Monday-ish day with a 09:00-17:00 window unless told otherwise."""
    windows = windows if windows is not None else [Window(day.weekday(), time(9), time(17))]
    return free_intervals(
        windows=windows,
        closures=closures,
        busy=busy,
        capacity=capacity,
        first_day=day,
        last_day=last_day or day,
        tz=AMS,
        now=kwargs.pop("now", LONG_AGO),
        **kwargs,
    )


# --- DST --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "utc_open", "utc_close", "offset"),
    [(SPRING, 7, 15, "+02:00"), (AUTUMN, 8, 16, "+01:00")],
)
def test_nine_to_five_is_eight_real_hours_on_dst_days(day, utc_open, utc_close, offset):
    window = Window(6, time(9), time(17))
    opened = open_intervals([window], [], day, day, AMS)
    assert spans(opened) == [
        (utc(day.year, day.month, day.day, utc_open), utc(day.year, day.month, day.day, utc_close))
    ]
    assert opened[0].end - opened[0].start == timedelta(hours=8)
    result = free(day=day, windows=[window])
    assert seats(result) == [(f"{day}T09:00:00{offset}", f"{day}T17:00:00{offset}", 1)]
    assert real_hours(result) == 8


def test_dst_day_in_a_week_keeps_every_day_eight_hours():
    windows = [Window(d, time(9), time(17)) for d in range(7)]
    opened = open_intervals(windows, [], date(2027, 3, 25), date(2027, 3, 31), AMS)
    assert [(i.end - i.start) for i in opened] == [timedelta(hours=8)] * 7
    assert [i.start.astimezone(AMS).strftime("%d %H:%M%z") for i in opened] == [
        "25 09:00+0100", "26 09:00+0100", "27 09:00+0100", "28 09:00+0200",
        "29 09:00+0200", "30 09:00+0200", "31 09:00+0200",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("opens", "closes", "expected"),
    [
        (time(1), time(2, 30), [(utc(2027, 3, 28, 0), utc(2027, 3, 28, 1))]),  # 01:00-03:00 CEST, 1 h
        (time(2), time(3), []),  # wholly inside the missing hour
        (time(2, 30), time(5), [(utc(2027, 3, 28, 1), utc(2027, 3, 28, 3))]),  # 03:00-05:00 CEST, 2 h
        (time(0), time(6), [(utc(2027, 3, 27, 23), utc(2027, 3, 28, 4))]),  # 5 h
    ],
)
def test_windows_touching_the_spring_gap_are_clipped(opens, closes, expected):
    assert spans(open_intervals([Window(6, opens, closes)], [], SPRING, SPRING, AMS)) == expected


def test_gap_clipped_end_is_the_transition_instant_in_local_time():
    (result,) = free(day=SPRING, windows=[Window(6, time(1), time(2, 30))])
    assert (result.start.isoformat(), result.end.isoformat()) == (
        "2027-03-28T01:00:00+01:00",
        "2027-03-28T03:00:00+02:00",
    )


def test_fall_back_window_opens_at_first_and_closes_at_second_occurrence():
    opened = open_intervals([Window(6, time(1), time(4))], [], AUTUMN, AUTUMN, AMS)
    assert spans(opened) == [(utc(2027, 10, 30, 23), utc(2027, 10, 31, 3))]
    closing_at_fold = open_intervals([Window(6, time(0), time(2))], [], AUTUMN, AUTUMN, AMS)
    assert spans(closing_at_fold) == [(utc(2027, 10, 30, 22), utc(2027, 10, 31, 1))]  # to 02:00 CET
    inside_fold = open_intervals([Window(6, time(2, 15), time(2, 45))], [], AUTUMN, AUTUMN, AMS)
    assert spans(inside_fold) == [(utc(2027, 10, 31, 0, 15), utc(2027, 10, 31, 1, 45))]


def test_local_instant_picks_occurrences_and_clips_gaps():
    earlier = local_instant(AUTUMN, time(2, 30), AMS, prefer="earlier")
    later = local_instant(AUTUMN, time(2, 30), AMS, prefer="later")
    assert (earlier.isoformat(), later.isoformat()) == (
        "2027-10-31T02:30:00+02:00",
        "2027-10-31T02:30:00+01:00",
    )
    assert later.astimezone(UTC) - earlier.astimezone(UTC) == timedelta(hours=1)
    for prefer in ("earlier", "later"):
        gap = local_instant(SPRING, time(2, 30), AMS, prefer=prefer)
        assert gap.astimezone(UTC) == utc(2027, 3, 28, 1)
        assert gap.isoformat() == "2027-03-28T03:00:00+02:00"
    plain = local_instant(MONDAY, time(9), AMS, prefer="later")
    assert plain.astimezone(UTC) == utc(2027, 6, 14, 7)


@pytest.mark.parametrize(
    ("zone", "day", "wall", "expected"),
    [
        ("Pacific/Apia", date(2011, 12, 30), time(10), "2011-12-31T00:00:00+14:00"),  # a skipped day
        ("America/Santiago", date(2022, 9, 11), time(0), "2022-09-11T01:00:00-03:00"),  # no midnight
        ("Australia/Lord_Howe", date(2027, 10, 3), time(2, 15), "2027-10-03T02:30:00+11:00"),  # 30-min shift
    ],
)
def test_local_instant_clips_gaps_in_other_zones(zone, day, wall, expected):
    assert local_instant(day, wall, ZoneInfo(zone), prefer="earlier").isoformat() == expected


# --- bookings, buffer, lead, horizon, closures --------------------------------------------------


def test_back_to_back_bookings_leave_free_time_exactly_at_their_edges():
    busy = [Busy(local(MONDAY, 10), local(MONDAY, 13), 1), Busy(local(MONDAY, 13), local(MONDAY, 15), 1)]
    assert spans(free(busy=busy)) == [
        (utc(2027, 6, 14, 7), utc(2027, 6, 14, 8)),
        (utc(2027, 6, 14, 13), utc(2027, 6, 14, 15)),
    ]


def test_touching_bookings_do_not_add_up_seats():
    busy = [Busy(local(MONDAY, 11), local(MONDAY, 13), 1), Busy(local(MONDAY, 13), local(MONDAY, 14), 1)]
    assert seats(free(busy=busy, capacity=2)) == [
        ("2027-06-14T09:00:00+02:00", "2027-06-14T11:00:00+02:00", 2),
        ("2027-06-14T11:00:00+02:00", "2027-06-14T14:00:00+02:00", 1),  # one interval across 13:00
        ("2027-06-14T14:00:00+02:00", "2027-06-14T17:00:00+02:00", 2),
    ]


def test_buffer_widens_bookings_on_both_sides():
    busy = [Busy(local(MONDAY, 9), local(MONDAY, 10), 1), Busy(local(MONDAY, 12), local(MONDAY, 13), 1)]
    result = free(busy=busy, buffer=timedelta(minutes=15))
    assert [(f.start.strftime("%H:%M"), f.end.strftime("%H:%M")) for f in result] == [
        ("10:15", "11:45"),
        ("13:15", "17:00"),
    ]


def test_busy_given_in_utc_counts_the_same_as_local():
    busy = [Busy(utc(2027, 6, 14, 8), utc(2027, 6, 14, 9), 1)]  # 10:00-11:00 local
    assert [f.end.strftime("%H:%M") for f in free(busy=busy)] == ["10:00", "17:00"]


def test_lead_time_cuts_the_start():
    now = utc(2027, 6, 14, 8, 20)  # 10:20 local
    result = free(now=now, lead=timedelta(hours=2))
    assert seats(result) == [("2027-06-14T12:20:00+02:00", "2027-06-14T17:00:00+02:00", 1)]


def test_horizon_ends_at_local_midnight_after_the_last_bookable_day():
    windows = [Window(d, time(9), time(17)) for d in range(7)]
    now = utc(2027, 6, 14, 8)  # Monday 10:00 local
    result = free(windows=windows, last_day=date(2027, 6, 20), now=now, horizon_days=2)
    assert [(f.start.strftime("%d %H:%M"), f.end.strftime("%d %H:%M")) for f in result] == [
        ("14 10:00", "14 17:00"),
        ("15 09:00", "15 17:00"),
        ("16 09:00", "16 17:00"),
    ]


def test_horizon_counts_from_the_local_date_of_now():
    windows = [Window(d, time(0), time(23)) for d in range(7)]
    now = utc(2027, 6, 14, 22, 30)  # already Tuesday 00:30 in Amsterdam
    result = free(windows=windows, last_day=date(2027, 6, 20), now=now, horizon_days=0)
    assert seats(result) == [("2027-06-15T00:30:00+02:00", "2027-06-15T23:00:00+02:00", 1)]


def test_closures_partial_whole_day_spanning_and_past_the_range():
    windows = [Window(d, time(9), time(17)) for d in range(7)]
    closures = [
        Interval(local(MONDAY, 12), local(MONDAY, 13)),  # lunch
        Interval(local(date(2027, 6, 15), 0), local(date(2027, 6, 16), 0)),  # all of Tuesday
        Interval(local(date(2027, 6, 16), 15), local(date(2027, 6, 18), 11)),  # Wed 15:00 - Fri 11:00
        Interval(local(date(2027, 6, 19), 16), utc(2027, 7, 1)),  # Sat 16:00 until after the range
        Interval(utc(2027, 6, 1), local(MONDAY, 9, 30)),  # from before the range
    ]
    result = free(windows=windows, closures=closures, last_day=date(2027, 6, 20))
    assert [(f.start.strftime("%a %H:%M"), f.end.strftime("%a %H:%M")) for f in result] == [
        ("Mon 09:30", "Mon 12:00"),
        ("Mon 13:00", "Mon 17:00"),
        ("Wed 09:00", "Wed 15:00"),
        ("Fri 11:00", "Fri 17:00"),
        ("Sat 09:00", "Sat 16:00"),
    ]


def test_overlapping_and_adjacent_windows_merge():
    windows = [Window(0, time(9), time(12)), Window(0, time(12), time(14)), Window(0, time(13), time(17))]
    assert spans(open_intervals(windows, [], MONDAY, MONDAY, AMS)) == [(utc(2027, 6, 14, 7), utc(2027, 6, 14, 15))]
    assert open_intervals(windows, [], date(2027, 6, 15), date(2027, 6, 20), AMS) == []


# --- seats ------------------------------------------------------------------------------------------

SEATS_BUSY = [Busy(local(MONDAY, 10), local(MONDAY, 12), 3), Busy(local(MONDAY, 11), local(MONDAY, 13), 4)]


def test_overlapping_bookings_split_free_seats():
    assert [
        (f.start.strftime("%H:%M"), f.end.strftime("%H:%M"), f.seats) for f in free(busy=SEATS_BUSY, capacity=8)
    ] == [
        ("09:00", "10:00", 8),
        ("10:00", "11:00", 5),
        ("11:00", "12:00", 1),
        ("12:00", "13:00", 4),
        ("13:00", "17:00", 8),
    ]


def test_whole_space_booking_and_overbooking_leave_nothing_free():
    whole = [Busy(local(MONDAY, 10), local(MONDAY, 12), 8)]
    assert [(f.start.hour, f.end.hour, f.seats) for f in free(busy=whole, capacity=8)] == [
        (9, 10, 8),
        (12, 17, 8),
    ]
    over = [*whole, Busy(local(MONDAY, 11), local(MONDAY, 14), 5)]
    assert [(f.start.hour, f.end.hour, f.seats) for f in free(busy=over, capacity=8)] == [
        (9, 10, 8),
        (12, 14, 3),
        (14, 17, 8),
    ]


def test_equal_seats_on_both_sides_of_an_edge_are_one_interval():
    busy = [Busy(local(MONDAY, 10), local(MONDAY, 11), 2), Busy(local(MONDAY, 11), local(MONDAY, 12), 2)]
    assert [(f.start.hour, f.end.hour, f.seats) for f in free(busy=busy, capacity=8)] == [
        (9, 10, 8),
        (10, 12, 6),
        (12, 17, 8),
    ]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (local(MONDAY, 10), local(MONDAY, 11, 30), 1),
        (local(MONDAY, 9), local(MONDAY, 10, 30), 5),
        (local(MONDAY, 9), local(MONDAY, 17), 1),
        (local(MONDAY, 13), local(MONDAY, 17), 8),
        (utc(2027, 6, 14, 10), utc(2027, 6, 14, 11), 4),  # 12:00-13:00 local, asked in UTC
        (local(MONDAY, 8), local(MONDAY, 10), 0),  # before opening
        (local(MONDAY, 16), local(MONDAY, 18), 0),  # past closing
        (local(MONDAY, 18), local(MONDAY, 19), 0),
        (local(date(2027, 6, 13), 9), local(date(2027, 6, 13), 10), 0),
    ],
)
def test_seats_free_throughout(start, end, expected):
    assert seats_free_throughout(free(busy=SEATS_BUSY, capacity=8), start, end) == expected


def test_seats_free_throughout_is_zero_across_a_gap_between_windows():
    windows = [Window(0, time(9), time(12)), Window(0, time(13), time(17))]
    result = free(windows=windows, capacity=3)
    assert seats_free_throughout(result, local(MONDAY, 11), local(MONDAY, 14)) == 0
    assert seats_free_throughout(result, local(MONDAY, 13), local(MONDAY, 14)) == 3


# --- grid and slots ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "slot", "expected"),
    [
        (local(MONDAY, 9), 30, True),
        (local(MONDAY, 9, 30), 30, True),
        (local(MONDAY, 9, 15), 30, False),
        (local(MONDAY, 9, 15), 15, True),
        (local(MONDAY, 9) + timedelta(seconds=30), 30, False),
        (local(MONDAY, 9) + timedelta(microseconds=1), 1, False),
        (utc(2027, 6, 13, 22), 1440, True),  # local midnight
        (utc(2027, 6, 14, 0), 1440, False),  # UTC midnight is 02:00 local
        (utc(2027, 3, 28, 1), 60, True),  # the spring transition, 03:00 CEST
        (utc(2027, 3, 28, 1), 180, True),
        (utc(2027, 3, 28, 0, 30), 60, False),  # 01:30 CET
        (utc(2027, 10, 31, 0, 30), 30, True),  # 02:30 CEST
        (utc(2027, 10, 31, 1, 30), 30, True),  # 02:30 CET
        (utc(2027, 10, 31, 1, 30), 60, False),
    ],
)
def test_on_grid(instant, slot, expected):
    assert on_grid(instant, slot, AMS) is expected


def test_slots_are_aligned_and_inside_free_time():
    busy = [Busy(local(MONDAY, 10, 10), local(MONDAY, 10, 40), 1)]
    result = slots(free(windows=[Window(0, time(9), time(12))], busy=busy), 30, AMS)
    assert [(s.start.strftime("%H:%M"), s.end.strftime("%H:%M"), s.seats) for s in result] == [
        ("09:00", "09:30", 1),
        ("09:30", "10:00", 1),
        ("11:00", "11:30", 1),
        ("11:30", "12:00", 1),
    ]


def test_slots_skip_a_free_interval_that_starts_off_grid():
    result = slots(free(windows=[Window(0, time(9, 10), time(10, 50))]), 30, AMS)
    assert [s.start.strftime("%H:%M") for s in result] == ["09:30", "10:00"]


@pytest.mark.parametrize(
    ("day", "slot", "expected"),
    [
        (SPRING, 60, ["00:00+01:00", "01:00+01:00", "03:00+02:00", "04:00+02:00", "05:00+02:00"]),
        (SPRING, 90, ["00:00+01:00", "03:00+02:00", "04:30+02:00"]),  # 01:30 would end off-grid
        (AUTUMN, 60, ["00:00+02:00", "01:00+02:00", "02:00+02:00", "02:00+01:00", "03:00+01:00",
                      "04:00+01:00", "05:00+01:00"]),
    ],
)  # fmt: skip
def test_slots_on_dst_days_are_real_minutes_long(day, slot, expected):
    result = slots(free(day=day, windows=[Window(6, time(0), time(6))]), slot, AMS)
    assert [s.start.isoformat(timespec="minutes")[11:] for s in result] == expected
    assert {s.end.astimezone(UTC) - s.start.astimezone(UTC) for s in result} == {timedelta(minutes=slot)}


def test_slots_find_grid_points_in_the_repeated_hour():
    # Free time starts at 02:45 CEST; the clocks then show 02:00 again, which is on the grid.
    result = slots(free(day=AUTUMN, windows=[Window(6, time(2, 45), time(6))]), 60, AMS)
    assert [s.start.isoformat(timespec="minutes")[11:] for s in result] == [
        "02:00+01:00",
        "03:00+01:00",
        "04:00+01:00",
        "05:00+01:00",
    ]


def test_slots_before_a_close_in_the_repeated_hour_include_both_passes():
    result = slots(free(day=AUTUMN, windows=[Window(6, time(1), time(2, 45))]), 30, AMS)
    assert [s.start.isoformat(timespec="minutes")[11:] for s in result] == [
        "01:00+02:00",
        "01:30+02:00",
        "02:00+02:00",
        "02:30+02:00",
        "02:00+01:00",
    ]


def test_slot_across_a_seat_change_carries_the_fewest_seats():
    busy = [Busy(local(MONDAY, 9, 30), local(MONDAY, 10), 3), Busy(local(MONDAY, 10, 30), local(MONDAY, 11), 1)]
    result = slots(free(windows=[Window(0, time(9), time(12))], busy=busy, capacity=8), 60, AMS)
    assert [(s.start.hour, s.end.hour, s.seats) for s in result] == [(9, 10, 5), (10, 11, 7), (11, 12, 8)]


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: Window(7, time(9), time(17)),
        lambda: Window(-1, time(9), time(17)),
        lambda: Window(0, time(17), time(9)),
        lambda: Window(0, time(9), time(9)),
        lambda: Window(0, time(9), time(0)),
        lambda: Window(0, time(9, tzinfo=UTC), time(17, tzinfo=UTC)),
        lambda: Busy(datetime(2027, 6, 14, 9), datetime(2027, 6, 14, 10), 1),
        lambda: Busy(local(MONDAY, 10), local(MONDAY, 9), 1),
        lambda: Busy(local(MONDAY, 9), local(MONDAY, 10), 0),
        lambda: Interval(datetime(2027, 6, 14, 9), local(MONDAY, 10)),
        lambda: Interval(local(MONDAY, 10), local(MONDAY, 9)),
        lambda: free(now=datetime(2027, 1, 1)),
        lambda: free(capacity=0),
        lambda: free(buffer=timedelta(minutes=-5)),
        lambda: free(horizon_days=-1),
        lambda: free(last_day=date(2027, 6, 13)),
        lambda: open_intervals([], [], MONDAY, date(2027, 6, 13), AMS),
        lambda: local_instant(MONDAY, time(9), AMS, prefer="first"),
        lambda: on_grid(datetime(2027, 6, 14, 9), 30, AMS),
        lambda: on_grid(local(MONDAY, 9), 0, AMS),
        lambda: on_grid(local(MONDAY, 9), 1441, AMS),
        lambda: slots([], 0, AMS),
        lambda: slots([], 1441, AMS),
        lambda: seats_free_throughout([], datetime(2027, 6, 14, 9), local(MONDAY, 10)),
        lambda: seats_free_throughout([], local(MONDAY, 10), local(MONDAY, 10)),
    ],
)
def test_bad_input_is_refused(build):
    with pytest.raises(ValueError):
        build()


def test_slot_size_bounds_are_inclusive():
    assert on_grid(local(MONDAY, 0), 1440, AMS) is True
    assert on_grid(local(MONDAY, 9, 1), 1, AMS) is True


# --- properties -------------------------------------------------------------------------------------
# Everything is on whole UTC minutes (Amsterdam's offsets are whole hours), so a per-minute reference
# model decides every question exactly. Its open time is the rule itself, independent of the code:
# a window opens at the first instant whose local (date, wall) reaches (day, opens) and closes at the
# last instant showing (day, closes), or when none does (spring gap), the first instant after which the
# local (date, wall) never again falls below it.

FIRST_DAYS = st.one_of(
    st.dates(date(2027, 3, 22), date(2027, 3, 28)),
    st.dates(date(2027, 10, 25), date(2027, 10, 31)),
    st.dates(date(2027, 6, 1), date(2027, 6, 7)),
)
WALL_MINUTES = st.one_of(st.integers(0, 1439), st.sampled_from([0, 60, 90, 120, 150, 180, 210, 1439]))


@st.composite
def windows_st(draw):
    out = []
    for _ in range(draw(st.integers(0, 5))):
        a, b = sorted(draw(st.lists(WALL_MINUTES, min_size=2, max_size=2, unique=True)))
        weekday = draw(st.one_of(st.just(6), st.integers(0, 6)))
        out.append(Window(weekday, time(a // 60, a % 60), time(b // 60, b % 60)))
    return out


@st.composite
def scenarios(draw, *, cut: bool):
    first_day = draw(FIRST_DAYS)
    last_day = first_day + timedelta(days=draw(st.integers(0, 5)))
    base = datetime.combine(first_day, time(0), tzinfo=AMS).astimezone(UTC)
    span = ((last_day - first_day).days + 1) * 1440
    at = st.integers(-600, span + 600).map(lambda m: base + m * MINUTE)
    zone = st.sampled_from([UTC, AMS])

    closures = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(at)
        closures.append(Interval(start.astimezone(draw(zone)), start + draw(st.integers(1, 3000)) * MINUTE))
    capacity = draw(st.integers(1, 6))
    busy = []
    for _ in range(draw(st.integers(0, 12))):
        start = draw(at)
        end = start + draw(st.integers(1, 600)) * MINUTE
        busy.append(Busy(start.astimezone(draw(zone)), end, draw(st.integers(1, capacity + 2))))
    kwargs = {"now": base - timedelta(days=3)}
    if cut:
        kwargs = {
            "now": draw(at),
            "lead": draw(st.sampled_from([0, 0, 45, 1500])) * MINUTE,
            "horizon_days": draw(st.one_of(st.none(), st.integers(0, 4))),
        }
    return {
        "windows": draw(windows_st()),
        "closures": closures,
        "busy": busy,
        "capacity": capacity,
        "first_day": first_day,
        "last_day": last_day,
        "tz": AMS,
        "buffer": draw(st.sampled_from([0, 0, 15, 30])) * MINUTE,
        **kwargs,
    }


class Model:
    """Per-minute reference over [start, start + size minutes), from the range's day before to after."""

    def __init__(self, s: dict):
        self.start = datetime.combine(s["first_day"] - timedelta(days=1), time(0), tzinfo=UTC)
        self.size = ((s["last_day"] - s["first_day"]).days + 3) * 1440
        epoch_minute = int(self.start.timestamp()) // 60
        hourly = [
            int((self.start + timedelta(hours=h)).astimezone(AMS).utcoffset().total_seconds()) // 60
            for h in range(self.size // 60)
        ]
        self.key = key = [epoch_minute + i + hourly[i // 60] for i in range(self.size)]  # local minutes since epoch
        reached = list(accumulate(key, max))
        settled = list(accumulate(reversed(key), min))[::-1]
        self.open = [False] * self.size
        day = s["first_day"]
        while day <= s["last_day"]:
            day_key = (day - date(1970, 1, 1)).days * 1440
            for w in s["windows"]:
                if w.weekday == day.weekday():
                    lo = bisect_left(reached, day_key + w.opens.hour * 60 + w.opens.minute)
                    closes = day_key + w.closes.hour * 60 + w.closes.minute
                    hi = max(bisect_left(settled, closes), bisect_left(settled, closes + 1) - 1)
                    self.open[lo:hi] = [True] * max(0, hi - lo)
            day += timedelta(days=1)
        for c in s["closures"]:
            lo, hi = self.index(c.start), self.index(c.end)
            self.open[lo:hi] = [False] * max(0, hi - lo)
        change = [0] * (self.size + 1)
        for b in s["busy"]:
            # to UTC first: arithmetic on a datetime in AMS is wall-clock arithmetic and skips DST
            change[self.index(b.start.astimezone(UTC) - s["buffer"])] += b.seats
            change[self.index(b.end.astimezone(UTC) + s["buffer"])] -= b.seats
        self.used = list(accumulate(change[:-1]))
        now = s["now"].astimezone(UTC)
        first = self.index(now + s.get("lead", timedelta(0)))
        last = self.size
        if s.get("horizon_days") is not None:
            day_after = now.astimezone(AMS).date() + timedelta(days=s["horizon_days"] + 1)
            last = max(first, self.index(datetime.combine(day_after, time(0), tzinfo=AMS)))
        self.in_range = [False] * first + [True] * (last - first) + [False] * (self.size - last)
        cap = s["capacity"]
        self.expected = [
            cap - min(cap, u) if o and r else 0 for o, r, u in zip(self.open, self.in_range, self.used, strict=True)
        ]

    def index(self, instant: datetime) -> int:
        offset = instant.astimezone(UTC) - self.start
        assert offset % MINUTE == timedelta(0)
        return min(max(offset // MINUTE, 0), self.size)

    def reported(self, result: list[Free]) -> list[int]:
        out = [0] * self.size
        for f in result:
            lo, hi = self.index(f.start), self.index(f.end)
            assert 0 < lo < hi < self.size  # strictly inside the modelled stretch
            assert out[lo:hi] == [0] * (hi - lo)  # no overlap
            out[lo:hi] = [f.seats] * (hi - lo)
        return out


PROPERTY = settings(max_examples=100, deadline=None)


@PROPERTY
@given(scenarios(cut=True))
def test_free_seats_match_the_reference_minute_by_minute(scenario):
    result = free_intervals(**scenario)
    model = Model(scenario)
    reported = model.reported(result)
    assert reported == model.expected
    for i, seats_now in enumerate(reported):  # invariants 1 and 2 spelled out
        if seats_now:
            assert model.open[i] and model.in_range[i]
            assert 1 <= seats_now <= scenario["capacity"]
            assert seats_now + min(model.used[i], scenario["capacity"]) == scenario["capacity"]


@PROPERTY
@given(scenarios(cut=False))
def test_free_plus_fully_used_time_is_open_time(scenario):
    result = free_intervals(**scenario)
    opened = open_intervals(scenario["windows"], scenario["closures"], scenario["first_day"], scenario["last_day"], AMS)
    model = Model(scenario)
    cap = scenario["capacity"]
    free_seconds = sum((f.end.astimezone(UTC) - f.start.astimezone(UTC)).total_seconds() for f in result)
    full_seconds = 60 * sum(1 for o, u in zip(model.open, model.used, strict=True) if o and u >= cap)
    open_seconds = sum((i.end - i.start).total_seconds() for i in opened)
    assert open_seconds == 60 * sum(model.open)
    assert free_seconds + full_seconds == open_seconds
    for f in result:  # invariant 1 against open_intervals itself
        assert any(i.start <= f.start and f.end <= i.end for i in opened)
        assert not any(c.start < f.end and f.start < c.end for c in scenario["closures"])


@PROPERTY
@given(scenarios(cut=True))
def test_output_is_sorted_disjoint_and_maximal(scenario):
    result = free_intervals(**scenario)
    for f in result:
        assert f.start.tzinfo is AMS and f.end.tzinfo is AMS
        assert f.start.astimezone(UTC) < f.end.astimezone(UTC)
        assert 1 <= f.seats <= scenario["capacity"]
    for a, b in pairwise(result):
        a_end, b_start = a.end.astimezone(UTC), b.start.astimezone(UTC)
        assert a_end <= b_start
        assert not (a_end == b_start and a.seats == b.seats)
    opened = open_intervals(scenario["windows"], scenario["closures"], scenario["first_day"], scenario["last_day"], AMS)
    for a, b in pairwise(opened):
        assert a.start.tzinfo is UTC and a.start < a.end < b.start


@PROPERTY
@given(scenarios(cut=False), st.data())
def test_seats_free_throughout_is_the_minimum_of_the_reference(scenario, data):
    result = free_intervals(**scenario)
    model = Model(scenario)
    lo = data.draw(st.integers(0, model.size - 1))
    hi = data.draw(st.integers(lo + 1, min(model.size, lo + 900)))
    start, end = model.start + lo * MINUTE, model.start + hi * MINUTE
    expected = min(model.expected[lo:hi])
    assert seats_free_throughout(result, start.astimezone(AMS), end) == expected


@PROPERTY
@given(scenarios(cut=False), st.sampled_from([15, 30, 60, 90, 120]))
def test_slots_are_on_grid_inside_free_time_and_complete(scenario, slot):
    result = free_intervals(**scenario)
    cut = slots(result, slot, AMS)
    model = Model(scenario)
    length = timedelta(minutes=slot)
    for s in cut:
        assert s.end.astimezone(UTC) - s.start.astimezone(UTC) == length
        assert on_grid(s.start, slot, AMS) and on_grid(s.end, slot, AMS)
        assert s.seats == seats_free_throughout(result, s.start, s.end) >= 1
    for a, b in pairwise(cut):
        assert a.end.astimezone(UTC) <= b.start.astimezone(UTC)
    if 60 % slot == 0:  # grid points are slot apart in real time, even on DST days: nothing is lost
        starts = {s.start.astimezone(UTC) for s in cut}
        for i in range(model.size - slot):
            if model.key[i] % slot == 0 and min(model.expected[i : i + slot]) > 0:
                instant = model.start + i * MINUTE
                assert on_grid(instant, slot, AMS)
                assert instant in starts


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2027, 1, 1), date(2027, 12, 31)), st.integers(0, 1439))
def test_local_instant_round_trips_or_lands_on_the_transition(day, minute):
    wall = time(minute // 60, minute % 60)
    earlier = local_instant(day, wall, AMS, prefer="earlier").astimezone(UTC)
    later = local_instant(day, wall, AMS, prefer="later").astimezone(UTC)
    in_gap = day == SPRING and wall.hour == 2
    in_fold = day == AUTUMN and wall.hour == 2
    if in_gap:
        assert earlier == later == utc(2027, 3, 28, 1)
        return
    assert later - earlier == (timedelta(hours=1) if in_fold else timedelta(0))
    for instant in (earlier, later):
        shown = instant.astimezone(AMS)
        assert (shown.date(), shown.time()) == (day, wall)
