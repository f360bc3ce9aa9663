"""The booking engine without a database: capacity per instant, rules, series, DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.availability import rules
from app.bookings import engine

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
DAY = datetime(2026, 12, 1, 0, 0, tzinfo=AMS)


def space(**overrides) -> engine.SpaceRules:
    values = {
        "capacity": 8,
        "mode": "seats",
        "tz": AMS,
        "slot_minutes": 30,
        "min_minutes": 30,
        "max_minutes": 480,
        "windows": tuple(rules.Window(d, time(8), time(18)) for d in range(7)),
    }
    values.update(overrides)
    return engine.SpaceRules(**values)


def at(hour: int, minute: int = 0, day: datetime = DAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


def test_seats_fit_when_overlapping_bookings_never_meet():
    taken = [engine.Taken(at(9), at(11), 3), engine.Taken(at(11), at(12), 3)]
    # The sum of both overlapping bookings (6) + 5 > 8, yet at no instant are more than 8 in use.
    assert engine.conflicts(space(), engine.Occurrence(at(9), at(12)), 5, taken) == []


def test_conflict_names_exactly_the_overfull_stretch():
    taken = [engine.Taken(at(9), at(11), 3), engine.Taken(at(10), at(12), 5)]
    over = engine.conflicts(space(), engine.Occurrence(at(9), at(13)), 1, taken)
    assert over == [(at(10).astimezone(UTC), at(11).astimezone(UTC))]


def test_back_to_back_and_buffer():
    taken = [engine.Taken(at(9), at(10), 8)]
    assert engine.conflicts(space(), engine.Occurrence(at(10), at(11)), 1, taken) == []
    buffered = space(buffer_minutes=15)
    assert engine.conflicts(buffered, engine.Occurrence(at(10), at(11)), 1, taken) == [
        (at(10).astimezone(UTC), at(10, 15).astimezone(UTC))
    ]


def test_room_and_both_take_every_seat():
    assert engine.seats_taken(space(mode="room", capacity=12), 1, False) == 12
    assert engine.seats_taken(space(mode="both", capacity=6), 2, False) == 2
    assert engine.seats_taken(space(mode="both", capacity=6), 2, True) == 6
    assert list(engine.check_request(space(mode="seats"), 1, True)) == ["whole"]
    assert list(engine.check_request(space(capacity=8), 9, False)) == ["seats"]
    assert engine.check_request(space(mode="both"), 1, True) == {}


def test_rules():
    s = space(lead_minutes=60, horizon_days=10)
    assert engine.check_rules(s, engine.Occurrence(at(9), at(10)), NOW) == {}
    assert "start" in engine.check_rules(s, engine.Occurrence(at(9, 15), at(10)), NOW)  # off grid
    assert "end" in engine.check_rules(s, engine.Occurrence(at(9), at(9, 0)), NOW)
    assert "start" in engine.check_rules(s, engine.Occurrence(at(7), at(9)), NOW)  # before opening
    assert "start" in engine.check_rules(
        s, engine.Occurrence(at(8, 30, NOW.astimezone(AMS)), at(9, 30, NOW.astimezone(AMS))), NOW
    )
    far = DAY + timedelta(days=11)
    assert "start" in engine.check_rules(s, engine.Occurrence(at(9, day=far), at(10, day=far)), NOW)
    closed = space(closures=(rules.Interval(at(12), at(13)),))
    assert "start" in engine.check_rules(closed, engine.Occurrence(at(11), at(14)), NOW)
    assert engine.check_rules(closed, engine.Occurrence(at(13), at(14)), NOW) == {}


def test_weekly_series_keeps_local_wall_time_over_dst():
    s = space(horizon_days=200)
    start = datetime(2027, 3, 23, 9, 0, tzinfo=AMS)  # Tuesday before the spring change
    occs = engine.occurrences(s, start, start.replace(hour=12), "weekly", 3)
    assert [o.start.astimezone(AMS).strftime("%Y-%m-%d %H:%M %z") for o in occs] == [
        "2027-03-23 09:00 +0100",
        "2027-03-30 09:00 +0200",
        "2027-04-06 09:00 +0200",
    ]
    assert {(o.end - o.start) for o in occs} == {timedelta(hours=3)}
    assert {(o.end.astimezone(UTC) - o.start.astimezone(UTC)) for o in occs} == {timedelta(hours=3)}


def test_series_never_overlaps_itself():
    s = space(mode="room", capacity=4)
    occs = engine.occurrences(s, at(9), at(17), "daily", 2)
    verdicts = engine.judge(s, [occs[0], occs[0]], 1, False, [], NOW)
    assert [v.ok for v in verdicts] == [True, False]


def test_span_across_dst_needs_a_continuous_window():
    s = space(
        windows=tuple(rules.Window(d, time(0), time(23, 30)) for d in range(7)), max_minutes=24 * 60, horizon_days=400
    )
    start = datetime(2027, 10, 30, 20, 0, tzinfo=AMS)
    end = datetime(2027, 10, 31, 2, 0, tzinfo=AMS)
    # 23:30-00:00 is closed each night: the booking crosses a gap.
    assert "start" in engine.check_rules(s, engine.Occurrence(start, end), NOW)
    s = space(
        windows=tuple(rules.Window(d, time(0), time(23, 59)) for d in range(7)),
        max_minutes=24 * 60,
        horizon_days=400,
        slot_minutes=60,
    )
    sunday = engine.Occurrence(datetime(2027, 10, 31, 0, 0, tzinfo=AMS), datetime(2027, 10, 31, 12, 0, tzinfo=AMS))
    assert engine.check_rules(s, sunday, NOW) == {}


def test_cancel_window():
    s = space(cancel_hours=24)
    assert engine.can_cancel_free(s, NOW + timedelta(hours=24), NOW)
    assert not engine.can_cancel_free(s, NOW + timedelta(hours=23, minutes=59), NOW)


minutes = st.integers(min_value=0, max_value=16).map(lambda q: at(9) + timedelta(minutes=30 * q))


@st.composite
def bookings(draw):
    items = []
    for _ in range(draw(st.integers(0, 8))):
        a, b = sorted([draw(minutes), draw(minutes)])
        if a == b:
            continue
        items.append(engine.Taken(a, b, draw(st.integers(1, 8))))
    return items


@settings(max_examples=200, deadline=None)
@given(taken=bookings(), first=minutes, last=minutes, need=st.integers(1, 8), buffer=st.sampled_from([0, 30]))
def test_conflicts_match_a_minute_by_minute_count(taken, first, last, need, buffer):
    """Property: the engine refuses exactly when some minute would hold more than the capacity."""
    if first >= last:
        first, last = last, first + timedelta(minutes=30)
    s = space(buffer_minutes=buffer)
    over = engine.conflicts(s, engine.Occurrence(first, last), need, taken)
    pad = timedelta(minutes=buffer)
    t = first.astimezone(UTC)
    expected_over = []
    while t < last.astimezone(UTC):
        in_use = sum(x.seats for x in taken if x.start.astimezone(UTC) - pad <= t < x.end.astimezone(UTC) + pad)
        if in_use + need > s.capacity:
            expected_over.append(t)
        t += timedelta(minutes=1)
    covered = [t for t in expected_over if any(a <= t < b for a, b in over)]
    assert covered == expected_over
    for a, b in over:  # nothing reported that is not over capacity
        t = a
        while t < b:
            assert t in expected_over
            t += timedelta(minutes=1)
