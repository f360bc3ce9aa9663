"""Bookings for the benchmark database: every one judged by the booking engine.

For each request the space's rules come from `bookings.services.space_rules`, and
`engine.check_request`, `engine.occurrences` and `engine.judge` decide, exactly as in
`create_booking`; only accepted requests are written, in batches. `seed_service_path` makes some
more with `create_booking` itself, end to end, and times them (docs/performance.md).
"""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall

from bench.seed import (
    BIG_VENUE_BOOKINGS,
    BIG_VENUE_DAY_BOOKINGS,
    CLIENTS,
    FUTURE_DAYS,
    HEAVY_MEMBER_BOOKINGS,
    PAST_DAYS,
    SERVICE_PATH_BOOKINGS,
    TITLES,
    ZONE,
    commit,
)


@dataclass
class _SpaceState:
    space_id: int
    venue_id: int
    rules: object  # engine.SpaceRules
    capacity: int
    mode: str
    requires_approval: bool
    windows: dict[int, list[tuple[int, int]]]  # weekday -> [(opens, closes)] in minutes
    held: dict[date, list] = field(default_factory=lambda: defaultdict(list))  # local day -> [Taken]


def space_states(space_ids: list[int]) -> dict[int, _SpaceState]:
    from app.bookings.services import space_rules
    from app.extensions import db
    from app.venues.models import Space

    states = {}
    for n, space_id in enumerate(space_ids):
        space = db.session.get(Space, space_id)
        rules = space_rules(space)  # the same loader create_booking uses
        windows: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for w in rules.windows:
            windows[w.weekday].append((w.opens.hour * 60 + w.opens.minute, w.closes.hour * 60 + w.closes.minute))
        states[space.id] = _SpaceState(
            space.id, space.venue_id, rules, space.capacity, space.mode, space.requires_approval, windows
        )
        if n % 500 == 499:
            commit()
    commit()
    return states


def _candidate(state: _SpaceState, rng: random.Random, day: date):
    """A request a member could plausibly make: on the grid, inside a window of that day."""
    rules = state.rules
    options = state.windows.get(day.weekday())
    if not options:
        return None
    opens, closes = rng.choice(options)
    slot = rules.slot_minutes
    first = -(-opens // slot) * slot
    lengths = [m for m in range(rules.min_minutes, min(rules.max_minutes, 180) + 1, slot) if m % slot == 0]
    if not lengths:
        return None
    length = rng.choice(lengths)
    last = closes - length
    if last < first:
        return None
    start_minute = first + slot * rng.randint(0, (last - first) // slot)
    start = datetime.combine(day, wall(start_minute // 60, start_minute % 60), tzinfo=ZONE)
    end = start + timedelta(minutes=length)
    whole = state.mode == "both" and rng.random() < 0.25
    seats = 1 if state.mode == "room" or whole else min(state.capacity, rng.choice([1, 1, 1, 2, 2, 3, 4]))
    return start, end, seats, whole


def _judge(state: _SpaceState, start: datetime, end: datetime, seats: int, whole: bool, now: datetime):
    """The engine's verdict, with the bookings held around the request (like taken_in)."""
    from app.bookings import engine

    if engine.check_request(state.rules, seats, whole):
        return None
    day = start.date()
    taken = [t for d in (day - timedelta(days=1), day, day + timedelta(days=1)) for t in state.held.get(d, ())]
    occs = engine.occurrences(state.rules, start, end, None, 1)
    verdict = engine.judge(state.rules, occs, seats, whole, taken, now)[0]
    return verdict if verdict.ok else None


def _created_at(rng: random.Random, start: datetime, lead_minutes: int, horizon_days: int, now: datetime) -> datetime:
    """When the member booked: a few hours to a few weeks ahead, never after the seeding moment."""
    ahead = timedelta(minutes=lead_minutes) + timedelta(minutes=rng.randint(60, 30 * 24 * 60))
    at = min(start.astimezone(UTC) - ahead, now)
    # Within the horizon of the day it was made (the engine checks that too).
    earliest = start.astimezone(UTC) - timedelta(days=horizon_days - 1)
    return max(at, earliest).replace(microsecond=0)


def seed_bookings(scale, rng, big_id, spaces, people, anchor, calendar_day, log, seconds):
    """Every booking judged by the engine; the accepted ones written in batches."""
    import sqlalchemy as sa

    from app.bookings import engine
    from app.bookings.models import Booking, BookingEvent
    from app.extensions import db

    t0 = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    states = space_states(spaces)
    big_states = [s for s in states.values() if s.venue_id == big_id]
    other_states = [s for s in states.values() if s.venue_id != big_id]
    members = people["members"]
    heavy = people["heavy"]
    service_share = SERVICE_PATH_BOOKINGS if scale.bookings >= 20 * SERVICE_PATH_BOOKINGS else 0
    big_total = min(BIG_VENUE_BOOKINGS, scale.bookings // 20)
    heavy_total = min(HEAVY_MEMBER_BOOKINGS, scale.bookings // 50)
    other_total = scale.bookings - big_total - service_share
    rows: list[dict] = []
    events: list[dict] = []
    next_id = (db.session.scalar(sa.select(sa.func.max(Booking.id))) or 0) + 1
    judged = 0
    counts: dict[str, int] = defaultdict(int)

    def accept(state: _SpaceState, start, end, seats, whole, member_id, created_at, status) -> None:
        nonlocal next_id
        need = engine.seats_taken(state.rules, seats, whole)
        booking_id = next_id
        next_id += 1
        first_status = "pending" if state.requires_approval else "confirmed"
        decided = min(created_at + timedelta(hours=rng.randint(1, 48)), now)
        updated = created_at if status == first_status else decided
        rows.append(
            {
                "id": booking_id,
                "uid": f"{uuid.UUID(int=rng.getrandbits(128), version=4)}@dichtbij",
                "kind": "booking",
                "space_id": state.space_id,
                "member_id": member_id,
                "created_by_id": member_id,
                "start": start.astimezone(UTC),
                "end": end.astimezone(UTC),
                "seats": need,
                "whole": state.mode == "room" or (state.mode == "both" and whole),
                "title": rng.choice(TITLES),
                "status": status,
                "series_id": None,
                "sequence": 0 if updated == created_at else 1,
                "created_at": created_at,
                "updated_at": updated,
                "cancelled_by_id": member_id if status == "cancelled" else None,
                "reason": "",
            }
        )
        events.append(
            {
                "booking_id": booking_id,
                "actor_id": member_id,
                "at": created_at,
                "action": "created",
                "details": {"status": first_status, "on_behalf": False},
            }
        )
        if status != first_status:
            action = {"confirmed": "approved", "declined": "declined", "cancelled": "cancelled"}[status]
            events.append(
                {"booking_id": booking_id, "actor_id": member_id, "at": updated, "action": action, "details": {}}
            )
        if status in ("pending", "confirmed"):
            state.held[start.date()].append(engine.Taken(start, end, need, booking_id))
        counts[status] += 1

    def place(state: _SpaceState, member_id: int, day: date, may_drop: bool) -> bool:
        nonlocal judged
        for _attempt in range(12):
            candidate = _candidate(state, rng, day)
            if candidate is None:
                return False
            start, end, seats, whole = candidate
            created_at = _created_at(rng, start, state.rules.lead_minutes, state.rules.horizon_days, now)
            judged += 1
            if _judge(state, start, end, seats, whole, created_at) is None:
                continue
            status = _status(rng, state, start, now, may_drop)
            accept(state, start, end, seats, whole, member_id, created_at, status)
            return True
        return False

    def flush() -> None:
        if rows:
            db.session.execute(sa.insert(Booking.__table__), rows)
            db.session.execute(sa.insert(BookingEvent.__table__), events)
            db.session.commit()
            rows.clear()
            events.clear()

    days = [anchor + timedelta(days=d) for d in range(-PAST_DAYS, FUTURE_DAYS + 1)]
    # The big venue: 100 bookings on the calendar day (two per space), the rest spread out.
    per_space = BIG_VENUE_DAY_BOOKINGS // max(1, len(big_states))
    placed_big = 0
    for state in big_states:
        for _ in range(per_space):
            if placed_big < min(BIG_VENUE_DAY_BOOKINGS, big_total) and place(
                state, rng.choice(members[1:]), calendar_day, False
            ):
                placed_big += 1
    big_days = [d for d in days if d != calendar_day]
    while placed_big < big_total:
        if place(rng.choice(big_states), rng.choice(members[1:]), rng.choice(big_days), False):
            placed_big += 1
    counts["big_venue"] = placed_big
    # Everyone else, with popular and quiet spaces (log-normal weights); the heavy member
    # (a club that books for all its teams) has 2,000 of them.
    weights = [rng.lognormvariate(0, 1) for _ in other_states]
    who = [heavy] * heavy_total + [rng.choice(members[1:]) for _ in range(other_total - heavy_total)]
    rng.shuffle(who)
    for i, member_id in enumerate(who):
        may_drop = member_id != heavy
        while not place(rng.choices(other_states, weights=weights)[0], member_id, rng.choice(days), may_drop):
            pass
        if len(rows) >= 5_000:
            flush()
        if i % 20_000 == 19_999:
            log(f"seed: {placed_big + i + 1} bookings judged and written ({time.perf_counter() - t0:.0f} s)")
    flush()
    if db.engine.dialect.name == "postgresql":  # the ids were given: move the sequence past them
        db.session.execute(sa.text("SELECT setval(pg_get_serial_sequence('bookings', 'id'), max(id)) FROM bookings"))
        db.session.commit()
    counts["heavy_member"] = heavy_total
    counts["judged"] = judged
    seconds["bookings"] = time.perf_counter() - t0
    total = placed_big + len(who)
    engine_ms = seconds["bookings"] / max(1, total) * 1000
    log(f"seed: {total} bookings ({judged} requests judged) in {seconds['bookings']:.1f} s ({engine_ms:.2f} ms each)")
    return dict(counts), round(engine_ms, 3)


def _status(rng: random.Random, state: _SpaceState, start: datetime, now: datetime, may_drop: bool) -> str:
    if not may_drop:
        return "pending" if state.requires_approval and start > now and rng.random() < 0.3 else "confirmed"
    if rng.random() < 0.04:
        return "cancelled"
    if state.requires_approval:
        roll = rng.random()
        if start > now and roll < 0.2:
            return "pending"
        if roll > 0.9:
            return "declined"
    return "confirmed"


def seed_service_path(scale, rng, big_id, spaces, people, log, seconds) -> float | None:
    """Some bookings made by create_booking end to end (lock, engine, outbox mail), timed."""
    from app.accounts.models import User
    from app.bookings.services import create_booking
    from app.errors import DomainError
    from app.extensions import db

    if scale.bookings < 20 * SERVICE_PATH_BOOKINGS:
        return None
    states = [s for s in space_states(spaces).values() if s.venue_id != big_id]
    members = people["members"][1 + CLIENTS :]
    anchor = datetime.now(UTC).date()
    made = refused = 0
    t0 = time.perf_counter()
    while made < SERVICE_PATH_BOOKINGS:
        state = rng.choice(states)
        candidate = _candidate(state, rng, anchor + timedelta(days=rng.randint(2, 60)))
        if candidate is None:
            continue
        start, end, seats, whole = candidate
        try:
            create_booking(
                db.session.get(User, rng.choice(members)), state.space_id, start, end, seats=seats, whole=whole
            )
        except DomainError:
            refused += 1
        else:
            made += 1
        db.session.expunge_all()  # one booking per "request", as in the app
    seconds["service_path"] = time.perf_counter() - t0
    ms = seconds["service_path"] / (made + refused) * 1000
    log(
        f"seed: {made} bookings by create_booking ({refused} refused) "
        f"in {seconds['service_path']:.1f} s ({ms:.1f} ms each)"
    )
    return round(ms, 2)
