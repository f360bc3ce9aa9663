"""Demo data for Utrecht-West: the people from the product brief and their neighbourhood.

Built through the same service functions the app uses, so the demo obeys every rule.
Idempotent: accounts are looked up by e-mail and venues by name before they are made;
bookings are only added to a database that has none.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.accounts import services as accounts
from app.accounts.models import User
from app.availability import services as availability
from app.bookings import services as bookings
from app.bookings.models import Booking
from app.db import now_utc
from app.errors import DomainError
from app.extensions import db
from app.venues import services as venues
from app.venues.models import Venue

DEMO_PASSWORD = "dichtbij-demo"
ZONE = ZoneInfo("Europe/Amsterdam")

DEMO_USERS = [
    # email, name, role, language
    ("anouk@example.org", "Anouk de Vries", "member", "nl"),
    ("samir@example.org", "Samir El Amrani", "member", "en"),
    ("marja@example.org", "Marja Jansen", "manager", "nl"),
    ("kees@example.org", "Kees Bakker", "manager", "nl"),
    ("coordinator@example.org", "Coördinator Dichtbij", "admin", "nl"),
]

WEEKDAYS = range(5)
EVERY_DAY = range(7)

# venue fields, its manager, and its spaces: (fields, hours [(days, opens, closes)])
DEMO_VENUES = [
    (
        {
            "name": "Buurthuis De Pijler",
            "kind": "community_centre",
            "address": "Herderplein 8",
            "postcode": "3554 AT",
            "neighbourhood": "Lombok",
            "lat": 52.0927,
            "lon": 5.0987,
            "description": "Het buurthuis van Lombok: zalen voor trainingen en overleg, koffie uit de buurtkeuken.",
            "contact": "030 123 45 67",
            "amenities": ["wifi", "coffee", "kitchen", "step_free", "accessible_toilet", "bike_parking"],
        },
        "marja@example.org",
        [
            (
                {
                    "name": "Grote zaal",
                    "capacity": 24,
                    "mode": "room",
                    "requires_approval": True,
                    "min_minutes": 60,
                    "slot_minutes": 30,
                    "price_per_hour_cents": 1500,
                    "amenities": ["projector", "screen", "whiteboard", "hearing_loop", "daylight"],
                },
                [(WEEKDAYS, time(9), time(22)), ([5], time(10), time(17))],
            ),
            (
                {
                    "name": "Vergaderkamer",
                    "capacity": 12,
                    "mode": "room",
                    "slot_minutes": 30,
                    "price_per_hour_cents": 750,
                    "amenities": ["screen", "whiteboard", "daylight"],
                },
                [(WEEKDAYS, time(9), time(22))],
            ),
            (
                {
                    "name": "Flexplekken",
                    "capacity": 10,
                    "mode": "seats",
                    "slot_minutes": 30,
                    "cancel_hours": 2,
                    "amenities": ["power_sockets", "quiet", "daylight"],
                },
                [(WEEKDAYS, time(8, 30), time(17))],
            ),
        ],
    ),
    (
        {
            "name": "Bibliotheek Lombok",
            "kind": "library",
            "address": "Kanaalstraat 195",
            "postcode": "3531 CJ",
            "neighbourhood": "Lombok",
            "lat": 52.0912,
            "lon": 5.1003,
            "description": "Stille studieplekken en een projectruimte boven de jeugdafdeling.",
            "amenities": ["wifi", "quiet", "step_free", "accessible_toilet", "bike_parking"],
        },
        "marja@example.org",
        [
            (
                {
                    "name": "Studieplekken",
                    "capacity": 16,
                    "mode": "seats",
                    "slot_minutes": 60,
                    "min_minutes": 60,
                    "cancel_hours": 1,
                    "amenities": ["power_sockets", "quiet"],
                },
                [(WEEKDAYS, time(10), time(20)), ([5], time(10), time(17))],
            ),
            (
                {
                    "name": "Projectruimte",
                    "capacity": 8,
                    "mode": "room",
                    "slot_minutes": 30,
                    "amenities": ["screen", "whiteboard"],
                },
                [(WEEKDAYS, time(10), time(20))],
            ),
        ],
    ),
    (
        {
            "name": "Café De Achterkamer",
            "kind": "cafe",
            "address": "Damstraat 12",
            "postcode": "3531 BV",
            "neighbourhood": "Nieuw Engeland",
            "lat": 52.0958,
            "lon": 5.0962,
            "description": "Een rustige hoek achterin het café: op doordeweekse ochtenden voor wie wil werken.",
            "contact": "kees@example.org",
            "amenities": ["wifi", "coffee", "power_sockets"],
        },
        "kees@example.org",
        [
            (
                {
                    "name": "De achterhoek",
                    "capacity": 8,
                    "mode": "both",
                    "slot_minutes": 30,
                    "max_minutes": 210,
                    "cancel_hours": 2,
                    "amenities": ["calls_ok", "daylight"],
                },
                [(WEEKDAYS, time(8, 30), time(12))],
            ),
        ],
    ),
    (
        {
            "name": "Sporthal Oog in Al",
            "kind": "sports_hall",
            "address": "Thomas à Kempisweg 2",
            "postcode": "3581 LJ",
            "neighbourhood": "Oog in Al",
            "lat": 52.0883,
            "lon": 5.0862,
            "description": "Naast de zaal: een kantine en een bestuurskamer die overdag vrij zijn.",
            "amenities": ["parking", "bike_parking", "step_free", "kitchen"],
        },
        "kees@example.org",
        [
            (
                {
                    "name": "Bestuurskamer",
                    "capacity": 10,
                    "mode": "room",
                    "slot_minutes": 60,
                    "min_minutes": 60,
                    "amenities": ["screen", "whiteboard", "lockable"],
                },
                [(WEEKDAYS, time(9), time(17))],
            ),
        ],
    ),
    (
        {
            "name": "Atelier Het Kanaal",
            "kind": "studio",
            "address": "Billitonkade 31",
            "postcode": "3531 TG",
            "neighbourhood": "Lombok",
            "lat": 52.0889,
            "lon": 5.1049,
            "description": "Licht atelier aan het water voor fotoshoots, workshops en kleine groepen.",
            "amenities": ["wifi", "daylight", "kitchen"],
        },
        "marja@example.org",
        [
            (
                {
                    "name": "Atelier",
                    "capacity": 14,
                    "mode": "room",
                    "slot_minutes": 60,
                    "min_minutes": 120,
                    "price_per_hour_cents": 2000,
                    "requires_approval": True,
                    "amenities": ["projector", "lockable"],
                },
                [(EVERY_DAY, time(9), time(21))],
            ),
        ],
    ),
    (
        {
            "name": "Wijkkerk De Rank",
            "kind": "hall",
            "address": "Marnixlaan 20",
            "postcode": "3552 HE",
            "neighbourhood": "Halve Maan",
            "lat": 52.0993,
            "lon": 5.0915,
            "description": "De kerkzaal en twee zalen in het zaalgebouw; de kerk zelf is op zondag bezet.",
            "amenities": ["step_free", "accessible_toilet", "hearing_loop", "kitchen", "parking"],
        },
        "marja@example.org",
        [
            (
                {
                    "name": "Zaalgebouw 1",
                    "capacity": 30,
                    "mode": "room",
                    "slot_minutes": 60,
                    "min_minutes": 60,
                    "amenities": ["projector", "screen"],
                },
                [(range(6), time(9), time(22))],
            ),
            (
                {
                    "name": "Zaalgebouw 2",
                    "capacity": 12,
                    "mode": "room",
                    "slot_minutes": 30,
                    "amenities": ["whiteboard", "daylight"],
                },
                [(range(6), time(9), time(22))],
            ),
        ],
    ),
    (
        {
            "name": "Werkplaats Schepenbuurt",
            "kind": "office",
            "address": "Schepenstraat 5",
            "postcode": "3555 SB",
            "neighbourhood": "Schepenbuurt",
            "lat": 52.0996,
            "lon": 5.0987,
            "description": "Een bedrijfsverzamelgebouw dat zijn vergaderkamer en flexplekken deelt met de buurt.",
            "amenities": ["wifi", "coffee", "power_sockets", "bike_parking"],
        },
        "kees@example.org",
        [
            (
                {
                    "name": "Flexplekken",
                    "capacity": 6,
                    "mode": "seats",
                    "slot_minutes": 30,
                    "cancel_hours": 4,
                    "amenities": ["quiet", "daylight"],
                },
                [(WEEKDAYS, time(8), time(18))],
            ),
        ],
    ),
]


def load_demo(only_if_empty: bool = False, now: datetime | None = None) -> str:
    if only_if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(User)):
        return "The database has data; demo not loaded."
    now = now or now_utc()
    users = _users()
    made_venues = _venues(users, now)
    made_bookings = _bookings(users, now)
    db.session.commit()
    return (
        f"Demo loaded: {len(users['new'])} new accounts, {made_venues} new venues, {made_bookings} new bookings "
        f"(password for every account: {DEMO_PASSWORD})."
    )


def _users() -> dict:
    found: dict = {"new": []}
    for email, name, role, language in DEMO_USERS:
        user = accounts.user_by_email(email)
        if user is None:
            user = accounts.register_user(email, DEMO_PASSWORD, name, language=language, role=role)
            found["new"].append(user)
        found[email] = user
    accounts.set_home(found["anouk@example.org"], "Lombok", 52.0921, 5.1012)
    accounts.set_home(found["samir@example.org"], "Oog in Al", 52.0878, 5.0905)
    return found


def _venues(users: dict, now: datetime) -> int:
    made = 0
    for fields, manager_email, spaces in DEMO_VENUES:
        if db.session.scalar(sa.select(Venue.id).where(Venue.name == fields["name"])):
            continue
        manager = users[manager_email]
        venue = venues.create_venue(manager, {"city": "Utrecht", "published": True, **fields})
        for space_fields, hours in spaces:
            space = venues.create_space(manager, venue, space_fields)
            availability.set_hours(manager, space, [(d, o, c) for days, o, c in hours for d in days])
        if fields["kind"] == "community_centre":
            _christmas(manager, venue, now)
        made += 1
    db.session.flush()
    return made


def _christmas(manager: User, venue: Venue, now: datetime) -> None:
    """Closed over Christmas and New Year, for every space at once."""
    year = now.astimezone(ZONE).year
    for first, last, reason in (
        (date(year, 12, 24), date(year, 12, 26), "Kerst"),
        (date(year, 12, 31), date(year + 1, 1, 1), "Oud en nieuw"),
    ):
        start = datetime.combine(first, time(0), tzinfo=ZONE)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=ZONE)
        availability.add_closure_to_spaces(manager, venue.spaces, start, end, reason)


def _space(venue_name: str, space_name: str):
    venue = db.session.scalar(sa.select(Venue).where(Venue.name == venue_name))
    return next(s for s in venue.spaces if s.name == space_name)


def _next(weekday: int, now: datetime, weeks_ahead: int = 0) -> date:
    today = now.astimezone(ZONE).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7, weeks=weeks_ahead)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


def _bookings(users: dict, now: datetime) -> int:
    if db.session.scalar(sa.select(sa.func.count()).select_from(Booking)):
        return 0
    anouk, samir = users["anouk@example.org"], users["samir@example.org"]
    marja = users["marja@example.org"]
    corner = _space("Café De Achterkamer", "De achterhoek")
    flex = _space("Buurthuis De Pijler", "Flexplekken")
    hall = _space("Buurthuis De Pijler", "Grote zaal")
    meeting = _space("Buurthuis De Pijler", "Vergaderkamer")
    library = _space("Bibliotheek Lombok", "Studieplekken")
    plans = [
        # Anouk: a quiet seat on Tuesday and Thursday mornings, every week for two months.
        lambda: bookings.create_booking(
            anouk,
            corner.id,
            _at(_next(1, now), 9),
            _at(_next(1, now), 12),
            seats=1,
            title="Focuswerk",
            repeat=bookings.Repeat("weekly", 8, True),
            now=now,
        ),
        lambda: bookings.create_booking(
            anouk,
            corner.id,
            _at(_next(3, now), 9),
            _at(_next(3, now), 12),
            seats=1,
            repeat=bookings.Repeat("weekly", 8, True),
            now=now,
        ),
        lambda: bookings.create_booking(
            anouk, library.id, _at(_next(0, now), 13), _at(_next(0, now), 16), seats=1, now=now
        ),
        # Samir: a training for 12 next month, waiting for Marja's approval.
        lambda: bookings.create_booking(
            samir, hall.id, _at(_next(2, now, 3), 13), _at(_next(2, now, 3), 17), title="Training presenteren", now=now
        ),
        lambda: bookings.create_booking(
            samir, meeting.id, _at(_next(4, now), 10), _at(_next(4, now), 12), title="Intake nieuwe klant", now=now
        ),
        # Marja books the meeting room for the residents' committee, every other Wednesday evening.
        lambda: bookings.create_booking(
            marja,
            meeting.id,
            _at(_next(2, now), 19),
            _at(_next(2, now), 21),
            title="Bewonerscommissie",
            repeat=bookings.Repeat("weekly", 6, True),
            now=now,
        ),
        lambda: bookings.create_booking(
            samir, flex.id, _at(_next(1, now), 9), _at(_next(1, now), 13), seats=2, now=now
        ),
    ]
    made = 0
    for plan in plans:
        try:
            made += len(plan().bookings)
        except DomainError:
            continue  # e.g. a closed day in the season the demo is loaded: skip that plan
    return made
