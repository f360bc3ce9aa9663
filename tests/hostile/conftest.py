"""A small neighbourhood for hostile tests: two managers with their venues, two members with
bookings, a hidden venue, a closure, a block, an imported calendar, live, revoked and rotated
secrets. Everything is built through the services users hit, inside the test's rolled-back
transaction. The clock is frozen and the importer can never reach the network."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import csrf_token
from tests.factories import make_space, make_venue

# Monday 2026-11-30, 08:00 UTC (09:00 in Amsterdam).
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

# Text only the owners (Anouk, her venue's managers) may ever see.
ANOUK_NAME = "Anouk Geheimnaam"
ANOUK_EMAIL = "anouk.private@example.org"
ANOUK_TITLE = "Anouks geheime plan"
HIDDEN_VENUE_NAME = "Verborgen Atelier"

SMALL_ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\n"
    b"BEGIN:VEVENT\r\nUID:import-1@test\r\nDTSTAMP:20261101T000000Z\r\n"
    b"DTSTART:20261209T090000Z\r\nDTEND:20261209T100000Z\r\nSUMMARY:Extern\r\n"
    b"END:VEVENT\r\nEND:VCALENDAR\r\n"
)

# Every table whose rows a refused request must leave alone.
MAIN_TABLES = (
    "users",
    "api_tokens",
    "venues",
    "venue_managers",
    "spaces",
    "opening_windows",
    "closures",
    "bookings",
    "booking_events",
    "idempotency_keys",
    "outbox_messages",
    "calendar_imports",
    "imported_blocks",
)


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    import app.api.bookings
    import app.api.venues
    import app.bookings.services
    import app.bookings.views
    import app.feeds.feeds
    import app.feeds.imports
    import app.venues.views

    for module in (
        app.api.bookings,
        app.api.venues,
        app.bookings.services,
        app.bookings.views,
        app.feeds.feeds,
        app.feeds.imports,
        app.venues.views,
    ):
        monkeypatch.setattr(module, "now_utc", lambda: NOW)
    return NOW


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Imports get a canned calendar; a look-up or connection fails the test."""
    from app.feeds import fetch, imports

    def refuse(*args, **kwargs):
        raise AssertionError(f"a hostile test tried to reach the network: {args}")

    monkeypatch.setattr(fetch, "resolve", refuse)
    monkeypatch.setattr(fetch, "connect", refuse)
    monkeypatch.setattr(imports, "download", lambda request: imports.Fetched(body=SMALL_ICS))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    accounts: dict = field(default_factory=dict)  # name -> tests.conftest.Account
    tokens: dict = field(default_factory=dict)  # name -> plaintext API token
    ids: dict = field(default_factory=dict)  # symbolic name -> id
    secrets: dict = field(default_factory=dict)  # feed secrets and URLs

    def headers(self, who: str) -> dict[str, str]:
        return bearer(self.tokens[who]) if who in self.tokens else {}

    def fill(self, template: str) -> str:
        """`/bookings/{booking}` → `/bookings/12`, from `ids` and `secrets`."""
        return template.format(**self.ids, **self.secrets)


def table_counts(app) -> dict[str, int]:
    """Rows in each main table, in one query (it runs after every case of the bad-input tables)."""
    counts = [sa.select(sa.func.count()).select_from(sa.table(table)).scalar_subquery() for table in MAIN_TABLES]
    with app.app_context():
        return dict(zip(MAIN_TABLES, db.session.execute(sa.select(*counts)).one(), strict=True))


def snapshot(app) -> dict[str, list[str]]:
    """Every row of the main tables (a token's last use aside), to compare before and after."""
    with app.app_context():
        out = {}
        for name in MAIN_TABLES:
            table = db.metadata.tables[name]
            rows = db.session.execute(sa.select(table)).mappings().all()
            out[name] = sorted(repr(sorted((k, v) for k, v in row.items() if k != "last_used_at")) for row in rows)
        return out


def log_in(app, account):
    """A fresh browser-like client, logged in through the real form."""
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": account.email, "password": account.password, "csrf_token": csrf_token(client, "/login")},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def feed_path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def world(app, make_user, make_token) -> World:
    from app.accounts.models import ApiToken, User
    from app.accounts.services import revoke_api_token, rotate_feed_token
    from app.availability import services as availability
    from app.bookings import services as bookings
    from app.feeds import imports
    from app.feeds.views import busy_feed_url, member_feed_url, space_feed_url, venue_feed_url
    from app.venues.models import Space, Venue

    w = World()
    w.accounts = {
        "manager": make_user("manager", email="marja@example.org", name="Marja"),
        "other_manager": make_user("manager", email="kees@example.org", name="Kees"),
        "anouk": make_user("member", email=ANOUK_EMAIL, name=ANOUK_NAME),
        "samir": make_user("member", email="samir@example.org", name="Samir"),
        "admin": make_user("admin", email="coordinator@example.org", name="Coördinator"),
    }
    w.tokens = {name: make_token(account) for name, account in w.accounts.items()}
    # A token Anouk made and revoked: it must open nothing.
    w.tokens["revoked"] = make_token(w.accounts["anouk"], label="old laptop")
    manager, other = w.accounts["manager"].id, w.accounts["other_manager"].id
    venue = make_venue(app, manager, name="Buurthuis De Pijler")
    hidden = make_venue(app, manager, name=HIDDEN_VENUE_NAME, published=False)
    other_venue = make_venue(app, other, name="Café De Hoek", neighbourhood="Oudwijk")
    room = make_space(app, manager, venue, name="Zaal", capacity=12, mode="room")
    approval = make_space(app, manager, venue, name="Atelier", capacity=8, mode="seats", requires_approval=True)
    hidden_space = make_space(app, manager, hidden, name="Achterkamer")
    other_room = make_space(app, other, other_venue, name="Serre")

    def local(text: str) -> datetime:
        from zoneinfo import ZoneInfo

        return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Amsterdam"))

    with app.test_request_context():
        user = {name: db.session.get(User, account.id) for name, account in w.accounts.items()}
        room_obj = db.session.get(Space, room)
        closure = availability.add_closure(
            user["manager"], room_obj, local("2026-12-24T00:00"), local("2026-12-27T00:00"), "Kerst"
        )
        db.session.commit()
        closure_id = closure.id
        booking = bookings.create_booking(
            user["anouk"], room, local("2026-12-03T09:00"), local("2026-12-03T10:00"), title=ANOUK_TITLE
        ).bookings[0]
        pending = bookings.create_booking(
            user["anouk"], approval, local("2026-12-02T13:00"), local("2026-12-02T15:00"), seats=2, title=ANOUK_TITLE
        ).bookings[0]
        series = bookings.create_booking(
            user["anouk"],
            room,
            local("2026-12-07T14:00"),
            local("2026-12-07T15:00"),
            title=ANOUK_TITLE,
            repeat=bookings.Repeat("weekly", 3),
        )
        block = bookings.create_block(
            user["manager"], room, local("2026-12-04T09:00"), local("2026-12-04T12:00"), "Onderhoud"
        )
        samir_booking = bookings.create_booking(
            user["samir"], other_room, local("2026-12-01T10:00"), local("2026-12-01T11:00"), title="Samirs les"
        ).bookings[0]
        request = imports.check_url(room_obj, "https://calendar.example.org/zaal.ics")
        import_ = imports.create_import(user["manager"], room_obj, request, imports.Fetched(body=SMALL_ICS))
        db.session.commit()
        w.ids = {
            "venue": venue,
            "hidden_venue": hidden,
            "other_venue": other_venue,
            "room": room,
            "approval": approval,
            "hidden_space": hidden_space,
            "other_room": other_room,
            "closure": closure_id,
            "booking": booking.id,
            "pending": pending.id,
            "series_booking": series.bookings[0].id,
            "series": series.series_id,
            "block": block.id,
            "samir_booking": samir_booking.id,
            "import": import_.id,
            "anouk": w.accounts["anouk"].id,
            "samir": w.accounts["samir"].id,
            "missing": 987654,
        }
        old_member_feed = feed_path(member_feed_url(user["anouk"]))
        w.secrets = {
            "anouk_feed": user["anouk"].feed_token,
            "venue_feed": db.session.get(Venue, venue).feed_token,
            "hidden_venue_feed": db.session.get(Venue, hidden).feed_token,
            "room_feed": room_obj.feed_token,
            "room_busy": room_obj.busy_token,
            "hidden_space_feed": db.session.get(Space, hidden_space).feed_token,
        }
        rotate_feed_token(user["anouk"])
        db.session.commit()
        w.secrets["anouk_old_feed"] = w.secrets["anouk_feed"]
        w.secrets["anouk_feed"] = user["anouk"].feed_token
        w.secrets["old_member_feed_path"] = old_member_feed
        w.secrets["member_feed_path"] = feed_path(member_feed_url(user["anouk"]))
        w.secrets["venue_feed_path"] = feed_path(venue_feed_url(db.session.get(Venue, venue)))
        w.secrets["room_feed_path"] = feed_path(space_feed_url(room_obj))
        w.secrets["room_busy_path"] = feed_path(busy_feed_url(room_obj))
        token_row = db.session.scalar(sa.select(ApiToken).where(ApiToken.prefix == w.tokens["revoked"][:10]))
        revoke_api_token(user["anouk"], token_row.id)
        db.session.commit()
        w.ids["anouk_token"] = token_row.id
    return w
