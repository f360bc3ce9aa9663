"""Versions: the counters feeds take their ETag from (app/versions.py, migration 0009_versions).

A calendar app that gets the same ETag keeps the body it has, forever. So every write that
changes what a feed shows must move a counter the feed's ETag reads. Two layers of tests:

- the triggers themselves, statement by statement (plain SQL and Core, no services): every
  trigger, on both databases (SQLite drops a table's triggers when a migration rebuilds it);
- every write service a user can reach, walked through on one world while four feeds are
  watched: when a body changed, its ETag must have changed. A meta-check keeps the walk
  complete: a new write service fails it until it is walked or said not to change feeds.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import has_app_context

from app.accounts.models import User
from app.availability.models import Closure, OpeningWindow
from app.bookings.models import Booking
from app.extensions import db
from app.feeds.import_models import CalendarImport, ImportedBlock
from app.venues.models import Space
from tests.factories import make_space, make_venue
from tests.integration.test_feeds import NOW, bearer, book, feed_path

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    """Bookings stamped and feeds built at one instant: a body changes only when data does."""
    import app.bookings.services as services
    import app.feeds.feeds as feeds

    monkeypatch.setattr(services, "now_utc", lambda: NOW)
    monkeypatch.setattr(feeds, "now_utc", lambda: NOW)


# -- reading the counters ---------------------------------------------------------------------

Counter = tuple[str, object]  # ("spaces", 3), ("versions", "places")


def counters(app) -> dict[Counter, int]:
    """Every counter in the database, read with plain SQL (the ORM's copies go stale). Inside
    the caller's app context if there is one: leaving a context of its own would end the
    session, and roll back what the caller has not committed."""
    if not has_app_context():
        with app.app_context():
            return counters(app)
    rows = db.session.execute(
        sa.text(
            "SELECT 'users', id, version FROM users UNION ALL SELECT 'venues', id, version FROM venues "
            "UNION ALL SELECT 'spaces', id, version FROM spaces"
        )
    ).all()
    shared = db.session.execute(sa.text("SELECT name, version FROM versions")).all()
    found = {(table, key): int(version) for table, key, version in rows}
    found.update({("versions", name): int(version) for name, version in shared})
    return found


def moved(before: dict[Counter, int], after: dict[Counter, int]) -> set[Counter]:
    """The counters that grew; none may shrink (rows that came or went are left out)."""
    shrunk = {k for k in before.keys() & after.keys() if after[k] < before[k]}
    assert not shrunk, f"counters went backwards: {shrunk}"
    return {k for k in before.keys() & after.keys() if after[k] > before[k]}


# -- 1. the triggers, statement by statement ----------------------------------------------------


@pytest.fixture
def rows(app, make_user):
    """Two venues, two spaces in the first, two members, an import: just rows, no bookings."""
    manager = make_user("manager")
    anna, bram = make_user("member", name="Anna"), make_user("member", name="Bram")
    venue = make_venue(app, manager.id)
    other_venue = make_venue(app, manager.id, name="De Tuin")
    room = make_space(app, manager.id, venue, hours=None, name="Zaal")
    hall = make_space(app, manager.id, venue, hours=None, name="Hal")
    with app.app_context():
        import_id = db.session.execute(
            sa.insert(CalendarImport.__table__).values(space_id=room, url="https://example.org/zaal.ics")
        ).inserted_primary_key[0]
        db.session.commit()
    return SimpleNamespace(
        venue=venue, other_venue=other_venue, room=room, hall=hall, anna=anna.id, bram=bram.id, import_id=import_id
    )


CHILDREN = {  # table: (its values for a space and a member, a column an UPDATE changes, its new value)
    "bookings": (
        lambda r: {"space_id": r.room, "member_id": r.anna, "start": START, "end": START + timedelta(hours=1)},
        "title",
        "Koor",
    ),
    "opening_windows": (
        lambda r: {"space_id": r.room, "weekday": 0, "opens": time(9), "closes": time(17)},
        "weekday",
        3,
    ),
    "closures": (lambda r: {"space_id": r.room, "start": START, "end": START + timedelta(days=1)}, "reason", "Kerst"),
    "imported_blocks": (
        lambda r: {
            "import_id": r.import_id,
            "space_id": r.room,
            "uid": "koor@example.org",
            "start": START,
            "end": START + timedelta(hours=2),
        },
        "summary",
        "Koorrepetitie",
    ),
}
TABLES = {"bookings": Booking, "opening_windows": OpeningWindow, "closures": Closure, "imported_blocks": ImportedBlock}


@pytest.mark.parametrize("table", sorted(CHILDREN))
def test_a_row_of_a_space_moves_the_space_on_insert_update_and_delete(app, rows, table):
    """Free time and feeds read these rows: each change moves its space (a booking's member too),
    and nothing else (no shared counter: those are for names and addresses)."""
    values, column, new_value = CHILDREN[table]
    owners = {("spaces", rows.room)} | ({("users", rows.anna)} if table == "bookings" else set())
    with app.app_context():
        before = counters(app)
        row_id = db.session.execute(sa.insert(TABLES[table].__table__).values(values(rows))).inserted_primary_key[0]
        assert moved(before, counters(app)) == owners, "INSERT"
        before = counters(app)
        db.session.execute(
            sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"), {"value": new_value, "id": row_id}
        )
        assert moved(before, counters(app)) == owners, "UPDATE"
        before = counters(app)
        db.session.execute(sa.text(f"DELETE FROM {table} WHERE id = :id"), {"id": row_id})
        assert moved(before, counters(app)) == owners, "DELETE"


def test_a_booking_moved_to_another_space_and_member_moves_old_and_new_owners(app, rows):
    """The old space's and member's feeds lose the event, the new ones gain it."""
    with app.app_context():
        booking = db.session.execute(
            sa.insert(Booking.__table__).values(CHILDREN["bookings"][0](rows))
        ).inserted_primary_key[0]
        before = counters(app)
        db.session.execute(
            sa.text("UPDATE bookings SET space_id = :space, member_id = :member WHERE id = :id"),
            {"space": rows.hall, "member": rows.bram, "id": booking},
        )
        assert moved(before, counters(app)) == {
            ("spaces", rows.room),
            ("spaces", rows.hall),
            ("users", rows.anna),
            ("users", rows.bram),
        }


@pytest.mark.parametrize(
    ("table", "shared"), [("spaces", "places"), ("venues", "places"), ("users", "people")], ids=str
)
def test_renaming_an_owner_moves_its_own_counter_and_the_shared_one(app, rows, table, shared):
    """Member feeds show space and venue names (`places`); venue and space feeds show members'
    names (`people`)."""
    key = {"spaces": rows.room, "venues": rows.venue, "users": rows.anna}[table]
    with app.app_context():
        before = counters(app)
        db.session.execute(sa.text(f"UPDATE {table} SET name = 'Nieuwe naam' WHERE id = :id"), {"id": key})
        after = counters(app)
    assert moved(before, after) == {(table, key), ("versions", shared)}
    assert after[(table, key)] == before[(table, key)] + 1


def test_an_email_change_moves_people_and_a_language_change_does_not(app, rows):
    """Venue and space feeds show e-mail addresses, not languages; the member's own feed shows
    both (its words are in the member's language), so the member's counter moves either way."""
    with app.app_context():
        before = counters(app)
        db.session.execute(sa.text("UPDATE users SET email = 'anna@elders.example' WHERE id = :id"), {"id": rows.anna})
        assert moved(before, counters(app)) == {("users", rows.anna), ("versions", "people")}
        before = counters(app)
        db.session.execute(sa.text("UPDATE users SET language = 'en' WHERE id = :id"), {"id": rows.anna})
        assert moved(before, counters(app)) == {("users", rows.anna)}


def test_a_space_added_removed_or_moved_moves_its_venues(app, rows):
    """A venue feed shows the bookings of the spaces it has: its set of spaces is in its ETag."""
    with app.app_context():
        before = counters(app)
        space = db.session.execute(
            sa.insert(Space.__table__).values(venue_id=rows.venue, name="Hoek")
        ).inserted_primary_key[0]
        assert moved(before, counters(app)) == {("venues", rows.venue)}, "INSERT"
        before = counters(app)
        db.session.execute(
            sa.text("UPDATE spaces SET venue_id = :to WHERE id = :id"), {"to": rows.other_venue, "id": space}
        )
        assert moved(before, counters(app)) == {
            ("spaces", space),
            ("venues", rows.venue),
            ("venues", rows.other_venue),
            ("versions", "places"),
        }, "moved to another venue"
        before = counters(app)
        db.session.execute(sa.text("DELETE FROM spaces WHERE id = :id"), {"id": space})
        assert moved(before, counters(app)) == {("venues", rows.other_venue)}, "DELETE"


@pytest.mark.parametrize("table", ["users", "venues", "spaces"])
def test_a_counter_bump_moves_that_counter_by_one_and_nothing_else(app, rows, table):
    """The triggers bump counters with UPDATEs of the owners' rows: those must not count as a
    change of the row (no second bump, no `places`/`people` for every booking)."""
    key = {"spaces": rows.room, "venues": rows.venue, "users": rows.anna}[table]
    with app.app_context():
        before = counters(app)
        db.session.execute(sa.text(f"UPDATE {table} SET version = version + 1 WHERE id = :id"), {"id": key})
        after = counters(app)
    assert moved(before, after) == {(table, key)}
    assert after[(table, key)] == before[(table, key)] + 1


# -- 2. every write service, with the feeds watched -------------------------------------------

SERVICES = {  # short name: module whose public functions the walk spies on
    "bookings": "app.bookings.services",
    "venues": "app.venues.services",
    "availability": "app.availability.services",
    "accounts": "app.accounts.services",
    "imports": "app.feeds.imports",
}
CHECKED = {  # every module whose writing functions must be walked or excused
    **SERVICES,
    "admin.views": "app.admin.views",
    "admin.forms": "app.admin.forms",
    "throttle": "app.accounts.throttle",
    "outbox": "app.notifications.outbox",
}
WRITES = ("db.session.add", "db.session.delete", ".flush(", "run_write(", "sa.update", "sa.delete", "sa.insert")

BOOKING_FLOWS = {
    "bookings.create_booking",
    "bookings.change_booking",
    "bookings.cancel_booking",
    "bookings.cancel_series",
    "bookings.approve_booking",
    "bookings.decline_booking",
    "bookings.create_block",
}
PLACE_AND_PEOPLE_FLOWS = {
    "venues.update_space",
    "venues.update_venue",
    "venues.add_manager",
    "venues.create_space",
    "venues.delete_space",
    "venues.delete_venue",
    "accounts.update_profile",
    "accounts.set_language",
    "accounts.rotate_feed_token",
    "accounts.set_role",
    "accounts.set_active",
}
AVAILABILITY_FLOWS = {
    "availability.set_hours",
    "availability.copy_hours",
    "availability.add_closure",
    "availability.add_closure_to_spaces",
    "availability.delete_closure",
    "imports.import_upload",
    "imports.create_import",
    "imports.apply_download",
    "imports.delete_import",
}
WALKED = BOOKING_FLOWS | PLACE_AND_PEOPLE_FLOWS | AVAILABILITY_FLOWS
DOES_NOT_CHANGE_FEEDS = {
    "accounts.register_user": "a new account has no bookings: no feed shows it",
    "accounts.change_password": "no feed shows a password",
    "accounts.set_home": "the home location is shown to its member only, never in a feed",
    "accounts.create_api_token": "API tokens are in no feed",
    "accounts.revoke_api_token": "API tokens are in no feed",
    "venues.create_venue": "a new venue has no spaces nor bookings: only its own (empty) feed shows it",
    "throttle.DatabaseThrottle.hit": "log-in throttle hits are in no feed",
    "throttle.DatabaseThrottle.reset": "log-in throttle hits are in no feed",
    "outbox.queue_booking_mail": "the mail queue is in no feed",
}


def _public_functions(module) -> Iterable[tuple[str, Callable]]:
    """Module-level functions and methods of module-level classes defined in `module`."""
    for name, obj in list(vars(module).items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj):
            for method, fn in vars(obj).items():
                if not method.startswith("_") and inspect.isfunction(fn):
                    yield f"{name}.{method}", fn


def writing_services() -> set[str]:
    found = set()
    for short, path in CHECKED.items():
        for name, fn in _public_functions(importlib.import_module(path)):
            source = inspect.getsource(fn)
            if any(marker in source for marker in WRITES):
                found.add(f"{short}.{name}")
    return found


def test_every_write_service_is_walked_or_excused():
    """A new write service must be walked below (or excused with a reason), so whoever adds one
    asks whether it changes a feed without moving a counter."""
    writers = writing_services()
    assert {"bookings.create_booking", "venues.update_space", "accounts.set_role", "imports.delete_import"} <= writers
    assert writers <= WALKED | set(DOES_NOT_CHANGE_FEEDS), sorted(writers - WALKED - set(DOES_NOT_CHANGE_FEEDS))
    assert not WALKED & set(DOES_NOT_CHANGE_FEEDS)
    assert set(DOES_NOT_CHANGE_FEEDS) <= writers, "excused, but not a write service (any more)"
    every = {
        f"{short}.{name}"
        for short, path in CHECKED.items()
        for name, _ in _public_functions(importlib.import_module(path))
    }
    assert WALKED | set(DOES_NOT_CHANGE_FEEDS) <= every, "stale names"


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """Which service functions ran: every public function of SERVICES, wrapped to say so."""
    seen: list[str] = []

    def spy(name: str, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            seen.append(name)
            return fn(*args, **kwargs)

        return wrapper

    for short, path in SERVICES.items():
        module = importlib.import_module(path)
        for name, fn in _public_functions(module):
            if "." not in name:
                monkeypatch.setattr(module, name, spy(f"{short}.{name}", fn))
    return seen


@dataclass
class Seen:
    status: int
    etag: str | None
    body: bytes


def _difference(before: bytes, after: bytes) -> str:
    """The body lines that changed (unfolded), for the report of a gap."""
    old, new = (b.replace(b"\r\n ", b"").decode().split("\r\n") for b in (before, after))
    lines = [line for line in difflib.unified_diff(old, new, lineterm="", n=0) if line[:3] not in ("---", "+++", "@@ ")]
    return "\n    ".join(lines[:10])


class Walk:
    """Service calls one after another on one world; every feed is read (no conditional headers)
    before and after each, and every changed body must come with a changed ETag."""

    def __init__(self, app, client, calls: list[str], feeds: dict[str, str]):
        self.app, self.client, self.calls, self.feeds = app, client, calls, feeds
        self.gaps: list[str] = []
        self.problems: list[str] = []
        self.walked: set[str] = set()

    def look(self) -> dict[str, Seen]:
        seen = {}
        for name, path in self.feeds.items():
            response = self.client.get(path)
            seen[name] = Seen(response.status_code, response.headers.get("ETag"), response.data)
        return seen

    def step(
        self,
        service: str,
        call: Callable[[], object],
        *,
        changes: Iterable[str] = (),
        moves: Iterable[Counter] = (),
        stays: Iterable[Counter] = (),
    ):
        """Run `call`, which must reach `service`. `changes`: feeds whose body must change (so the
        walk cannot pass by changing nothing); `moves`/`stays`: counters that must/must not move.
        Findings are collected, not raised, so one run reports every service that falls short."""
        before, counted = self.look(), counters(self.app)
        self.calls.clear()
        result = call()
        if service not in self.calls:
            self.problems.append(f"{service} was not reached (ran: {self.calls})")
        self.walked.update(self.calls)
        after, now = self.look(), counters(self.app)
        for name in self.feeds:
            old, new = before[name], after[name]
            assert new.status in (200, 404), (service, name, new.status)
            if new.status == 200 and old.status == 200 and old.body != new.body and old.etag == new.etag:
                self.gaps.append(
                    f"{service}: the {name} feed's body changed, its ETag did not:\n    "
                    + _difference(old.body, new.body)
                )
        for name in changes:
            if before[name].status != 200 or before[name].body == after[name].body:
                self.problems.append(f"{service} did not change the {name} feed")
        grew = moved(counted, now)
        self.problems += [f"{service} did not move {c}" for c in moves if c not in grew]
        self.problems += [f"{service} moved {c}" for c in stays if c in grew]
        return result

    def finish(self, declared: set[str]) -> None:
        assert not self.gaps, "a feed changed without its ETag:\n" + "\n".join(self.gaps + self.problems)
        assert not self.problems, "\n".join(self.problems)
        assert declared <= self.walked, f"not walked: {sorted(declared - self.walked)}"


@pytest.fixture
def world(app, client, make_user, make_token, calls):
    """A venue with a room (open daily) and an atelier (requests need approval); a manager, an
    admin, two members; and the four feeds the walk watches: Anouk's, the venue's, the room's
    and the room's public busy feed."""
    manager = make_user("manager", name="Marja")
    admin = make_user("admin", name="Ada")
    anouk = make_user("member", email="anouk@example.org", name="Anouk de Vries", language="nl")
    samir = make_user("member", email="samir@example.org", name="Samir")
    venue = make_venue(app, manager.id)
    room = make_space(app, manager.id, venue, name="Zaal", hours="daily", horizon_days=400)
    atelier = make_space(app, manager.id, venue, name="Atelier", requires_approval=True)
    tokens = {who.name.split()[0].lower(): bearer(make_token(who)) for who in (manager, admin, anouk, samir)}
    mh = tokens["marja"]
    space = client.get(f"/api/v1/spaces/{room}", headers=mh).json
    feeds = {
        "member": feed_path(client, tokens["anouk"]),
        "venue": client.get(f"/api/v1/venues/{venue}", headers=mh).json["feed_url"],
        "space": space["feed_url"],
        "busy": space["busy_feed_url"],
    }
    feeds = {name: url.removeprefix("http://localhost") for name, url in feeds.items()}
    return SimpleNamespace(
        app=app,
        client=client,
        walk=Walk(app, client, calls, feeds),
        tokens=tokens,
        venue=venue,
        room=room,
        atelier=atelier,
        manager=manager.id,
        admin=admin.id,
        anouk=anouk.id,
        samir=samir.id,
    )


def api(w, method: str, path: str, who: str, json=None, status: int = 200):
    response = w.client.open(f"/api/v1{path}", method=method, json=json, headers=w.tokens[who])
    assert response.status_code == status, (path, response.status_code, response.json)
    return response.json


def as_user(w, user_id: int, do: Callable[[User], object]) -> Callable[[], object]:
    """A service call as the edges make it: the actor loaded, the service run, one commit."""

    def call():
        with w.app.app_context():
            result = do(db.session.get(User, user_id))
            db.session.commit()
            return result

    return call


def test_booking_services_change_feeds_only_with_their_etags(world):
    """Book, repeat, book for someone, change, cancel, approve, decline, block."""
    w, walk = world, world.walk
    anouk, room, atelier = world.tokens["anouk"], world.room, world.atelier
    everywhere = ("member", "venue", "space", "busy")
    room_and_anouk = [("spaces", room), ("users", world.anouk)]

    one = walk.step(
        "bookings.create_booking",
        lambda: book(w.client, anouk, room, "2026-12-01T09:00", "2026-12-01T12:00", title="Klant"),
        changes=everywhere,
        moves=room_and_anouk,
    )
    series = walk.step(
        "bookings.create_booking",
        lambda: book(
            w.client, anouk, room, "2026-12-02T10:00", "2026-12-02T11:00", repeat={"freq": "weekly", "count": 3}
        ),
        changes=everywhere,
        moves=room_and_anouk,
    )
    assert len(series["bookings"]) == 3
    walk.step(
        "bookings.create_booking",
        lambda: book(
            w.client, w.tokens["marja"], room, "2026-12-01T13:00", "2026-12-01T14:00", member_email="samir@example.org"
        ),
        changes=("venue", "space", "busy"),
        moves=[("spaces", room), ("users", world.samir)],
    )
    walk.step(
        "bookings.change_booking",
        lambda: api(w, "PATCH", f"/bookings/{one['id']}", "anouk", {"title": "Klant B"}),
        changes=everywhere,  # the busy feed shows no title, but the event's SEQUENCE
        moves=room_and_anouk,
    )
    walk.step(
        "bookings.change_booking",
        lambda: api(
            w, "PATCH", f"/bookings/{one['id']}", "anouk", {"start": "2026-12-01T10:00", "end": "2026-12-01T12:00"}
        ),
        changes=everywhere,
        moves=room_and_anouk,
    )
    walk.step(
        "bookings.cancel_booking",
        lambda: api(w, "POST", f"/bookings/{one['id']}/cancel", "anouk", {}),
        changes=everywhere,
        moves=room_and_anouk,
    )
    walk.step(
        "bookings.cancel_series",
        lambda: api(w, "POST", f"/series/{series['series_id']}/cancel", "anouk", {}),
        changes=everywhere,
        moves=room_and_anouk,
    )
    request = walk.step(
        "bookings.create_booking",
        lambda: book(w.client, anouk, atelier, "2026-12-01T13:00", "2026-12-01T15:00"),
        changes=("member", "venue"),
        moves=[("spaces", atelier), ("users", world.anouk)],
    )
    assert request["status"] == "pending"
    walk.step(
        "bookings.approve_booking",
        lambda: api(w, "POST", f"/bookings/{request['id']}/approve", "marja", {}),
        changes=("member", "venue"),
        moves=[("spaces", atelier), ("users", world.anouk)],
    )
    other = book(w.client, anouk, atelier, "2026-12-02T13:00", "2026-12-02T15:00")
    walk.step(
        "bookings.decline_booking",
        lambda: api(w, "POST", f"/bookings/{other['id']}/decline", "marja", {"reason": "Vol"}),
        changes=("member", "venue"),
        moves=[("spaces", atelier), ("users", world.anouk)],
    )
    walk.step(
        "bookings.create_block",
        lambda: api(
            w, "POST", f"/spaces/{room}/blocks", "marja", {"start": "2026-12-04T09:00", "end": "2026-12-04T12:00"}, 201
        ),
        changes=("venue", "space", "busy"),
        moves=[("spaces", room)],
    )
    walk.finish(BOOKING_FLOWS)


def test_place_and_people_services_change_feeds_only_with_their_etags(world):
    """Spaces and venues renamed, moved in time zone, added and deleted; members renamed, their
    language, role, access and feed secret changed; at last the venue deleted."""
    from app.accounts import services as accounts

    w, walk = world, world.walk
    book(w.client, w.tokens["anouk"], w.room, "2026-12-01T09:00", "2026-12-01T12:00", title="Klant")
    book(w.client, w.tokens["anouk"], w.atelier, "2026-12-01T13:00", "2026-12-01T15:00")
    everywhere = ("member", "venue", "space", "busy")
    places = ("versions", "places")
    people = ("versions", "people")

    walk.step(
        "venues.update_space",
        lambda: api(w, "PATCH", f"/spaces/{w.room}", "marja", {"name": "Grote zaal"}),
        changes=everywhere,
        moves=[("spaces", w.room), places],
    )
    walk.step(  # what free time depends on, not what the feeds show
        "venues.update_space",
        lambda: api(w, "PATCH", f"/spaces/{w.room}", "marja", {"capacity": 40, "buffer_minutes": 15}),
        moves=[("spaces", w.room)],
    )
    for change in ({"name": "De Pijler"}, {"address": "Herderplein 9"}, {"timezone": "Europe/London"}):
        walk.step(
            "venues.update_venue",
            lambda change=change: api(w, "PATCH", f"/venues/{w.venue}", "marja", change),
            changes=everywhere,
            moves=[("venues", w.venue), places],
        )
    for published in (False, True):
        walk.step(
            "venues.update_venue",
            lambda published=published: api(w, "PATCH", f"/venues/{w.venue}", "marja", {"published": published}),
            moves=[("venues", w.venue)],
        )
    walk.step(
        "venues.add_manager",
        lambda: api(w, "POST", f"/venues/{w.venue}/managers", "marja", {"email": "samir@example.org"}, 201),
        moves=[("users", w.samir)],
    )
    walk.step(
        "accounts.set_role",
        as_user(w, w.admin, lambda admin: accounts.set_role(admin, w.samir, "member")),
        moves=[("users", w.samir)],
    )
    corner = walk.step(
        "venues.create_space",
        lambda: api(
            w, "POST", f"/venues/{w.venue}/spaces", "marja", {"name": "Hoek", "mode": "seats", "capacity": 6}, 201
        ),
        moves=[("venues", w.venue)],
    )
    walk.step(
        "venues.delete_space",
        lambda: api(w, "DELETE", f"/spaces/{corner['id']}", "marja", status=204),
        moves=[("venues", w.venue)],
    )
    walk.step(  # Anouk's request there leaves her feed and the venue's
        "venues.delete_space",
        lambda: api(w, "DELETE", f"/spaces/{w.atelier}", "marja", status=204),
        changes=("member", "venue"),
        moves=[("venues", w.venue), ("users", w.anouk)],
    )
    walk.step(
        "accounts.update_profile",
        as_user(w, w.anouk, lambda anouk: accounts.update_profile(anouk, "Anouk Visser", "nl")),
        changes=("member", "venue", "space"),
        moves=[("users", w.anouk), people],
    )
    walk.step(
        "accounts.update_profile",
        as_user(w, w.anouk, lambda anouk: accounts.update_profile(anouk, "Anouk Visser", "en")),
        changes=("member",),
        moves=[("users", w.anouk)],
        stays=[people],
    )
    walk.step(
        "accounts.set_language",
        as_user(w, w.anouk, lambda anouk: accounts.set_language(anouk, "nl")),
        changes=("member",),
        moves=[("users", w.anouk)],
        stays=[people],
    )
    for active in (False, True):
        walk.step(
            "accounts.set_active",
            as_user(w, w.admin, lambda admin, active=active: accounts.set_active(admin, w.samir, active)),
            moves=[("users", w.samir)],
        )
    old = walk.feeds["member"]

    def rotate():
        walk.feeds["member"] = api(w, "POST", "/me/feed-token", "anouk")["feed_url"].removeprefix("http://localhost")
        assert w.client.get(old).status_code == 404

    walk.step("accounts.rotate_feed_token", rotate, moves=[("users", w.anouk)])
    walk.step(  # the venue's, space's and busy feeds are 404 now; Anouk's loses the booking
        "venues.delete_venue",
        lambda: api(w, "DELETE", f"/venues/{w.venue}", "marja", status=204),
        changes=("member",),
        moves=[("users", w.anouk)],
    )
    assert {name: walk.client.get(path).status_code for name, path in walk.feeds.items()} == {
        "member": 200,
        "venue": 404,
        "space": 404,
        "busy": 404,
    }
    walk.finish(PLACE_AND_PEOPLE_FLOWS)


def calendar_file(*events: tuple[str, str, str]) -> bytes:
    """A small .ics: (uid, start, end) in UTC, as 20261203T100000Z."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Dichtbij//EN"]
    for uid, start, end in events:
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261127T100000Z", f"DTSTART:{start}", f"DTEND:{end}"]
        lines += ["SUMMARY:Koor", "END:VEVENT"]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


def test_availability_services_move_the_space_they_change(world, monkeypatch):
    """Hours, closures and imported busy time are in no feed body, but in the free time of the
    space: its counter must move (a later feed of free time reads it)."""
    from app.availability import services as availability
    from app.feeds import imports

    w, walk = world, world.walk
    book(w.client, w.tokens["anouk"], w.room, "2026-12-01T09:00", "2026-12-01T12:00")
    room, atelier = [("spaces", w.room)], [("spaces", w.atelier)]

    def spaces(*ids):
        return [db.session.get(Space, i) for i in ids]

    walk.step(
        "availability.set_hours",
        lambda: api(
            w,
            "PUT",
            f"/spaces/{w.room}/hours",
            "marja",
            {"hours": [{"weekday": d, "opens": "07:00", "closes": "23:00"} for d in range(7)]},
        ),
        moves=room,
    )
    walk.step(
        "availability.copy_hours",
        as_user(w, w.manager, lambda marja: availability.copy_hours(marja, *spaces(w.atelier, w.room))),
        moves=atelier,
    )
    closure = walk.step(
        "availability.add_closure",
        lambda: api(
            w, "POST", f"/spaces/{w.room}/closures", "marja", {"start": "2026-12-24", "end": "2026-12-26"}, 201
        ),
        moves=room,
    )
    walk.step(
        "availability.add_closure_to_spaces",
        as_user(
            w,
            w.manager,
            lambda marja: availability.add_closure_to_spaces(
                marja, spaces(w.room, w.atelier), datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)
            ),
        ),
        moves=room + atelier,
    )
    walk.step(
        "availability.delete_closure",
        lambda: api(w, "DELETE", f"/closures/{closure['id']}", "marja", status=204),
        moves=room,
    )
    choir = ("koor@example.org", "20261203T100000Z", "20261203T110000Z")
    yoga = ("yoga@example.org", "20261210T100000Z", "20261210T110000Z")
    upload = walk.step(
        "imports.import_upload",
        as_user(
            w,
            w.manager,
            lambda marja: (
                imports.import_upload(marja, *spaces(w.room), "rooster.ics", calendar_file(choir, yoga), now=NOW).id
            ),
        ),
        moves=room,
    )

    def download(body: bytes):
        with w.app.app_context():
            report = imports.apply_download(db.session.get(CalendarImport, upload), imports.Fetched(body=body), NOW)
            db.session.commit()
            assert report.result == "synced"

    walk.step(  # yoga moved an hour
        "imports.apply_download",
        lambda: download(calendar_file(choir, ("yoga@example.org", "20261210T120000Z", "20261210T130000Z"))),
        moves=room,
    )
    monkeypatch.setattr(imports, "now_utc", lambda: NOW + timedelta(days=5))
    walk.step(  # "sync now" of the upload: the choir is over, its block goes
        "imports.apply_download",
        lambda: api(w, "POST", f"/imports/{upload}/sync", "marja"),
        moves=room,
    )
    linked = walk.step(
        "imports.create_import",
        as_user(
            w,
            w.manager,
            lambda marja: (
                imports.create_import(
                    marja,
                    *spaces(w.atelier),
                    imports.FeedRequest(None, "https://calendar.example.org/atelier.ics"),
                    imports.Fetched(body=calendar_file(yoga)),
                    now=NOW,
                ).id
            ),
        ),
        moves=atelier,
    )
    for import_id, space in ((upload, room), (linked, atelier)):
        walk.step(
            "imports.delete_import",
            lambda import_id=import_id: api(w, "DELETE", f"/imports/{import_id}", "marja", status=204),
            moves=space,
        )
    with w.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportedBlock)) == 0
    walk.finish(AVAILABILITY_FLOWS)
