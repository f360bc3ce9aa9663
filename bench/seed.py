"""A large, realistic Dichtbij database for the benchmark, built through the service layer.

Users, venues, spaces, opening hours and closures are made by the same service functions the
app uses (`register_user`, `create_api_token`, `create_venue`, `create_space`, `set_hours`,
`add_closure`). Bookings go through the booking engine (bench/seed_bookings.py): every one is
judged exactly as `create_booking` judges it, and a share is made by `create_booking` itself;
docs/performance.md explains why the rest takes the engine path.

The result is cached under bench/.cache/ (bench/cache.py), keyed by the parameters and the
migrations, so a second run reuses it. `python -m bench.seed --help` lists the options.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
SEED_FORMAT = 4  # bump when the shape of the seeded data changes
MAX_AGE_DAYS = 5  # bookings are placed around the seeding day; older data is seeded again
PASSWORD = "bench-password-1"
ZONE = ZoneInfo("Europe/Amsterdam")
PAST_DAYS = 90  # history: what a member feed and a venue feed show of the past
FUTURE_DAYS = 75  # within every space's horizon
CALENDAR_OFFSET_DAYS = 7  # the manager's calendar day: a week from the seeding day
BIG_VENUE_SPACES = 50
BIG_VENUE_BOOKINGS = 5_000
BIG_VENUE_DAY_BOOKINGS = 100
HEAVY_MEMBER_BOOKINGS = 2_000
SERVICE_PATH_BOOKINGS = 500  # made by create_booking end to end, and timed
CLIENTS = 16

# Where the venues are: Dutch cities, roughly by population, spread around each centre.
CITIES = [
    ("Amsterdam", 52.3702, 4.8952, 200, 4.0),
    ("Rotterdam", 51.9244, 4.4777, 150, 4.0),
    ("Den Haag", 52.0705, 4.3007, 130, 3.5),
    ("Utrecht", 52.0907, 5.1214, 100, 3.0),
    ("Eindhoven", 51.4416, 5.4697, 60, 3.0),
    ("Groningen", 53.2194, 6.5665, 60, 2.5),
    ("Tilburg", 51.5555, 5.0913, 50, 2.5),
    ("Almere", 52.3508, 5.2647, 50, 3.0),
    ("Breda", 51.5719, 4.7683, 50, 2.5),
    ("Nijmegen", 51.8126, 5.8372, 50, 2.5),
    ("Arnhem", 51.9851, 5.8987, 50, 2.5),
    ("Haarlem", 52.3874, 4.6462, 50, 2.0),
]

KINDS = ["community_centre"] * 4 + ["library"] * 2 + ["cafe"] * 2 + ["sports_hall", "studio", "hall", "office", "other"]

AMENITIES = [
    "wifi", "power_sockets", "quiet", "calls_ok", "projector", "screen", "whiteboard", "coffee", "kitchen",
    "step_free", "accessible_toilet", "hearing_loop", "bike_parking", "parking", "daylight", "lockable",
]  # fmt: skip

SPACE_NAMES = ["Zaal", "Studio", "Werkplek", "Vergaderkamer", "Keuken", "Atelier", "Leeszaal", "Gymzaal", "Kelder"]

TITLES = ["", "", "", "Yoga", "Buurtoverleg", "Repetitie", "Workshop", "Huiswerkklas", "Taalcafé", "Vergadering"]

# Weekly hours, as (weekday, opens, closes); the big venue uses "long".
HOURS = {
    "office": [(d, wall(8, 30), wall(17, 30)) for d in range(5)],
    "community": [(d, wall(9), wall(22)) for d in range(5)] + [(5, wall(10), wall(17))],
    "cafe": [(d, wall(8), wall(18)) for d in range(7)],
    "split": [(d, wall(9), wall(12, 30)) for d in range(5)]
    + [(d, wall(13, 30), wall(17)) for d in range(5)]
    + [(1, wall(19), wall(22)), (3, wall(19), wall(22))],
    "evenings": [(d, wall(18), wall(23)) for d in range(5)] + [(d, wall(9), wall(23)) for d in (5, 6)],
    "long": [(d, wall(8), wall(22)) for d in range(6)] + [(6, wall(10), wall(18))],
}


@dataclass(frozen=True)
class Scale:
    venues: int = 1_000
    spaces: int = 3_000
    bookings: int = 100_000
    database: str = "sqlite"
    seed: int = 42

    def key(self) -> str:
        migrations = sorted((ROOT / "migrations" / "versions").glob("*.py"))
        digest = hashlib.sha256(json.dumps([asdict(self), SEED_FORMAT]).encode())
        for path in migrations:
            digest.update(path.name.encode() + path.read_bytes())
        return f"{self.database}-{self.venues}v-{self.spaces}s-{self.bookings}b-{digest.hexdigest()[:10]}"


@dataclass
class Meta:
    """What the benchmark needs to know about a seeded database."""

    scale: dict
    anchor: str  # the seeding day (UTC date)
    calendar_day: str
    big_venue_id: int
    big_venue_manager: str
    heavy_member: str
    client_emails: list[str]
    tokens: dict[str, str]  # e-mail -> API token
    password: str
    seconds: dict[str, float] = field(default_factory=dict)
    service_path_ms_per_booking: float | None = None
    engine_path_ms_per_booking: float | None = None
    counts: dict[str, int] = field(default_factory=dict)


def make_app(url: str):
    """The app as production builds it, pointed at the bench database."""
    os.environ.setdefault("DICHTBIJ_CONFIG", "production")
    from app import create_app
    from config import ProductionConfig

    return create_app(
        ProductionConfig,
        SQLALCHEMY_DATABASE_URI=url,
        SECRET_KEY="bench",
        # A cheap hash for thousands of seeded accounts (scrypt costs 12 ms each here); the
        # log-in itself is not measured, and check_password_hash reads any method.
        PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
        MAIL_DELIVER_AFTER_COMMIT=False,
    )


def seed_database(url: str, scale: Scale, log=print) -> Meta:
    """Fill an empty database at `url` (the schema is made by the migrations).

    The session is emptied after every commit: a long-lived session holding thousands of
    objects makes every commit expire all of them, which a request never sees.
    """
    import flask_migrate

    from app.database import enable_migrations
    from app.extensions import db
    from bench.seed_bookings import seed_bookings, seed_service_path

    rng = random.Random(scale.seed)
    app = make_app(url)
    enable_migrations(app)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    with app.app_context():
        flask_migrate.upgrade()
        seconds["migrate"] = time.perf_counter() - t0
        people = _seed_users(scale, rng, log, seconds)
        big_id, spaces = _seed_venues(scale, rng, people["managers"], log, seconds)
        anchor = datetime.now(UTC).date()
        calendar_day = _weekday_on_or_after(anchor + timedelta(days=CALENDAR_OFFSET_DAYS))
        _seed_closures(spaces, big_id, rng, anchor, log, seconds)
        counts, engine_ms = seed_bookings(scale, rng, big_id, spaces, people, anchor, calendar_day, log, seconds)
        service_ms = seed_service_path(scale, rng, big_id, spaces, people, log, seconds)
        counts["service_path"] = SERVICE_PATH_BOOKINGS if service_ms is not None else 0
        tokens = _seed_tokens(people)
        db.session.commit()
        db.session.close()
        _finish(db, log, seconds)
        db.engine.dispose()
    return Meta(
        scale=asdict(scale),
        anchor=anchor.isoformat(),
        calendar_day=calendar_day.isoformat(),
        big_venue_id=big_id,
        big_venue_manager=people["emails"][people["managers"][0]],
        heavy_member=people["emails"][people["heavy"]],
        client_emails=[people["emails"][i] for i in people["clients"]],
        tokens=tokens,
        password=PASSWORD,
        seconds={k: round(v, 1) for k, v in seconds.items()},
        service_path_ms_per_booking=service_ms,
        engine_path_ms_per_booking=engine_ms,
        counts=counts,
    )


def commit() -> None:
    from app.extensions import db

    db.session.commit()
    db.session.expunge_all()


def _weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _seed_users(scale: Scale, rng: random.Random, log, seconds) -> dict:
    """Accounts by register_user; returns their ids (and e-mail addresses by id)."""
    from app.accounts.services import register_user

    t0 = time.perf_counter()
    n_managers = max(2, scale.venues // 2)
    n_members = min(10_000, max(200, scale.bookings // 25))
    managers, members, emails = [], [], {}
    for i in range(n_managers):
        user = register_user(f"manager{i}@bench.example", PASSWORD, f"Beheerder {i}", "nl", "manager")
        managers.append(user.id)
        emails[user.id] = user.email
        if i % 500 == 499:
            commit()
    for i in range(n_members):
        language = "en" if rng.random() < 0.2 else "nl"
        user = register_user(f"member{i}@bench.example", PASSWORD, f"Lid {i}", language)
        members.append(user.id)
        emails[user.id] = user.email
        if i % 500 == 499:
            commit()
    commit()
    seconds["users"] = time.perf_counter() - t0
    log(f"seed: {n_managers} managers, {n_members} members in {seconds['users']:.1f} s")
    return {
        "managers": managers,
        "members": members,
        "heavy": members[0],
        "clients": members[1 : 1 + CLIENTS],
        "emails": emails,
    }


def _venue_values(i: int, rng: random.Random, city) -> dict:
    name, lat0, lon0, _n, spread_km = city
    # Denser towards the centre: a normal spread, like a city's amenities.
    dlat = rng.gauss(0, spread_km / 2) / 111.2
    dlon = rng.gauss(0, spread_km / 2) / (111.2 * math.cos(math.radians(lat0)))
    return {
        "name": f"{rng.choice(['Buurthuis', 'Wijkcentrum', 'Bibliotheek', 'Café', 'Studio', 'Huis'])} {name} {i}",
        "kind": rng.choice(KINDS),
        "address": f"Straat {i}",
        "postcode": f"{1000 + i % 9000} AB",
        "city": name,
        "neighbourhood": f"{name}-{rng.randint(1, 12)}",
        "lat": round(lat0 + dlat, 6),
        "lon": round(lon0 + dlon, 6),
        "description": "Een ruimte in de buurt. " * rng.randint(1, 6),
        "contact": f"info{i}@bench.example",
        "amenities": rng.sample(AMENITIES, rng.randint(0, 6)),
        "published": rng.random() < 0.97,
    }


def _space_values(rng: random.Random, venue_index: int, n: int) -> dict:
    mode = rng.choices(["room", "seats", "both"], weights=[60, 25, 15])[0]
    slot = rng.choice([30, 30, 60])
    minimum = slot * rng.choice([1, 2]) if slot == 30 else slot
    return {
        "name": f"{rng.choice(SPACE_NAMES)} {n + 1}",
        "capacity": rng.randint(4, 40) if mode != "room" else rng.randint(2, 60),
        "mode": mode,
        "slot_minutes": slot,
        "min_minutes": minimum,
        "max_minutes": rng.choice([240, 480]),
        "lead_minutes": rng.choice([0, 0, 60, 120]),
        "horizon_days": rng.choice([90, 120, 180, 365]),
        "buffer_minutes": rng.choice([0, 0, 0, 15]) if mode == "room" else 0,
        "requires_approval": rng.random() < 0.1,
        "cancel_hours": rng.choice([0, 24, 48]),
        "price_per_hour_cents": rng.choice([0, 0, 500, 1500, 2500]),
        "amenities": rng.sample(AMENITIES, rng.randint(0, 4)),
    }


def _seed_venues(scale: Scale, rng: random.Random, managers: list[int], log, seconds) -> tuple[int, list[int]]:
    """Venues by create_venue, spaces by create_space, hours by set_hours; returns ids."""
    from app.accounts.models import User
    from app.availability.services import set_hours
    from app.extensions import db
    from app.venues.services import create_space, create_venue

    t0 = time.perf_counter()
    weights = [c[3] for c in CITIES]
    big_spaces = min(BIG_VENUE_SPACES, scale.spaces // 4)
    # Other venues get 1 to 6 spaces, summing to the asked number.
    per_venue = [1] * (scale.venues - 1)
    for _ in range(max(0, scale.spaces - big_spaces - len(per_venue))):
        per_venue[rng.randrange(len(per_venue))] += 1
    big_id, space_ids = 0, []
    for i, n in enumerate([big_spaces, *per_venue]):
        manager = db.session.get(User, managers[i % len(managers)])
        if i == 0:  # the big venue: 50 spaces, the manager's calendar and the 5,000-event feed
            values = {**_venue_values(0, rng, CITIES[3]), "name": "Wijkcentrum De Bench", "published": True}
        else:
            values = _venue_values(i, rng, rng.choices(CITIES, weights=weights)[0])
        venue = create_venue(manager, values)
        for j in range(n):
            if i == 0:
                values = {**_space_values(rng, 0, j), "requires_approval": False, "lead_minutes": 0,
                          "horizon_days": 365, "buffer_minutes": 0, "min_minutes": 30, "max_minutes": 480,
                          "slot_minutes": 30}  # fmt: skip
                hours = HOURS["long"]
            else:
                values = _space_values(rng, i, j)
                hours = HOURS[rng.choice(["office", "community", "community", "cafe", "split", "evenings"])]
            space = create_space(manager, venue, values)
            set_hours(manager, space, hours)
            space_ids.append(space.id)
        if i == 0:
            big_id = venue.id
        commit()
    seconds["venues_spaces"] = time.perf_counter() - t0
    log(f"seed: {scale.venues} venues, {len(space_ids)} spaces with hours in {seconds['venues_spaces']:.1f} s")
    return big_id, space_ids


def _seed_closures(space_ids: list[int], big_id: int, rng, anchor: date, log, seconds) -> None:
    """Holidays and maintenance by add_closure, before any booking (the engine checks them)."""
    from app.availability.services import add_closure
    from app.extensions import db
    from app.venues.models import Space

    t0 = time.perf_counter()
    n = 0
    for space_id in space_ids:
        if rng.random() > 0.15:
            continue
        space = db.session.get(Space, space_id)
        if space.venue_id == big_id:
            continue
        first = anchor + timedelta(days=rng.randint(-PAST_DAYS, FUTURE_DAYS))
        start = datetime.combine(first, wall(0), tzinfo=ZONE)
        end = datetime.combine(first + timedelta(days=rng.randint(1, 3)), wall(0), tzinfo=ZONE)
        add_closure(space.venue.managers[0], space, start, end, rng.choice(["Onderhoud", "Feestdag", "Verbouwing"]))
        n += 1
        if n % 100 == 0:
            commit()
    commit()
    seconds["closures"] = time.perf_counter() - t0
    log(f"seed: {n} closures in {seconds['closures']:.1f} s")


def _seed_tokens(people) -> dict[str, str]:
    from app.accounts.models import User
    from app.accounts.services import create_api_token
    from app.extensions import db

    tokens = {}
    for user_id in [people["heavy"], *people["clients"], people["managers"][0]]:
        tokens[people["emails"][user_id]] = create_api_token(db.session.get(User, user_id), "bench")[1]
    return tokens


def _finish(db, log, seconds) -> None:
    t0 = time.perf_counter()
    if db.engine.dialect.name == "sqlite":
        # Fold the WAL into the main file so the cache is one file (outside any transaction).
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    else:
        # What autovacuum would have done on a database that grew over months.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    seconds["finish"] = time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venues", type=int, default=Scale.venues)
    parser.add_argument("--spaces", type=int, default=Scale.spaces)
    parser.add_argument("--bookings", type=int, default=Scale.bookings)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=Scale.seed)
    args = parser.parse_args(argv)
    from bench.cache import over_capacity, postgresql_seeded, sqlite_seeded

    scale = Scale(args.venues, args.spaces, args.bookings, args.database, args.seed)
    if scale.database == "sqlite":
        path, _meta = sqlite_seeded(scale)
        url = f"sqlite:///{path}"
    else:
        url, _meta = postgresql_seeded(scale, os.environ["TEST_POSTGRESQL_URL"])
    bad = over_capacity(url)
    print(f"over capacity: {len(bad)} spaces" + (f" {bad[:5]}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
