"""Calendars in: external feeds become busy blocks of a space.

Feeds are served by a real HTTP server on 127.0.0.1 (tests/fixtures/ical/ holds real-world-shaped
exports). Nothing here ever talks to a non-loopback address: `fetch.connect` is guarded for every
test, and `fetch.resolve` refuses real look-ups of anything but loopback names.
"""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

import app.api.bookings as api_bookings
import app.api.venues as api_venues
import app.bookings.services as booking_services
from app.accounts.models import User
from app.bookings.models import Booking
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.feeds import fetch, imports
from app.feeds.import_models import CalendarImport, ImportedBlock
from app.venues.models import Space
from tests.factories import make_space, make_venue

# Monday 2026-11-30, 08:00 UTC (09:00 in Amsterdam).
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ical"

GOOGLE_ONGOING = "3t4u5v6w7x8y9z0a1b2c3d4e5f@google.com"
GOOGLE_SERVICE = "5m2q1v0c8k3j7h4g2f1e0d9c8b@google.com"
GOOGLE_CHOIR = "7p4r2t9v1x3z5b7d9f1h3j5l7n@google.com"
TAALCAFE = "c2b7a1e0-5d2f-4e8a-9b61-3f0d7c4e8a21"


def ics(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def calendar(*events: str, header: str = "") -> bytes:
    """A small calendar for the mechanics tests (the time-zone tests use the fixture files)."""
    body = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Test//Dichtbij//EN\n" + header
    body += "".join(f"BEGIN:VEVENT\nDTSTAMP:20261127T100000Z\n{e.strip()}\nEND:VEVENT\n" for e in events)
    return (body + "END:VCALENDAR\n").replace("\n", "\r\n").encode()


# -- a feed server on loopback --------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that gave up: not our business
        pass


class FeedServer:
    """Serves routes (path → handler) on 127.0.0.1 and records every request's headers."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = outer.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                route(self)

            def log_message(self, *args):
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    # route makers

    def feed(self, path: str, body: bytes, etag: str | None = None, last_modified: str | None = None, **kw) -> None:
        def route(h):
            if etag and h.headers.get("If-None-Match") == etag:
                h.send_response(304)
                h.send_header("ETag", etag)
                h.end_headers()
                return
            _send(h, 200, body, etag=etag, last_modified=last_modified, **kw)

        self.routes[path] = route

    def status(self, path: str, code: int, body: bytes = b"", content_type: str = "text/plain") -> None:
        self.routes[path] = lambda h: _send(h, code, body, content_type=content_type)

    def redirect(self, path: str, location: str, code: int = 302) -> None:
        def route(h):
            h.send_response(code)
            h.send_header("Location", location)
            h.send_header("Content-Length", "0")
            h.end_headers()

        self.routes[path] = route

    def slow(self, path: str, seconds: float, body: bytes) -> None:
        def route(h):
            self.release.wait(seconds)
            with contextlib.suppress(OSError):
                _send(h, 200, body)

        self.routes[path] = route

    def chunked(self, path: str, body: bytes) -> None:
        def route(h):
            h.send_response(200)
            h.send_header("Content-Type", "text/calendar")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            with contextlib.suppress(OSError):
                for i in range(0, len(body), 500):
                    piece = body[i : i + 500]
                    h.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                h.wfile.write(b"0\r\n\r\n")

        self.routes[path] = route


def _send(h, code, body, etag=None, last_modified=None, content_type="text/calendar; charset=UTF-8"):
    h.send_response(code)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    if etag:
        h.send_header("ETag", etag)
    if last_modified:
        h.send_header("Last-Modified", last_modified)
    h.end_headers()
    h.wfile.write(body)


@pytest.fixture
def server():
    feeds = FeedServer()
    yield feeds
    feeds.close()


# -- guards, clock, places -----------------------------------------------------------------------

LOOPBACK_NAMES = {"localhost", "2130706433"}


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Every connection the importer opens; anything but loopback fails the test at once."""
    opened: list[tuple[str, int]] = []
    real_connect, real_resolve = fetch.connect, fetch.resolve

    def guarded_connect(address, port, timeout):
        assert ipaddress.ip_address(address).is_loopback, f"a test tried to connect to {address}"
        opened.append((address, port))
        return real_connect(address, port, timeout)

    def guarded_resolve(host, port):
        if host not in LOOPBACK_NAMES:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise AssertionError(f"a test tried to look up {host} in the DNS") from None
        return real_resolve(host, port)

    monkeypatch.setattr(fetch, "connect", guarded_connect)
    monkeypatch.setattr(fetch, "resolve", guarded_resolve)
    return opened


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    clock = SimpleNamespace(now=NOW)
    for module in (imports, api_venues, api_bookings, booking_services):
        monkeypatch.setattr(module, "now_utc", lambda: clock.now)
    return clock


@pytest.fixture
def allow_private(app, monkeypatch):
    """The feed server lives on 127.0.0.1: let the importer reach it."""
    monkeypatch.setitem(app.config, "IMPORT_ALLOW_PRIVATE_ADDRESSES", True)


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture
def mh(manager, make_token):
    return bearer(make_token(manager))


@pytest.fixture
def place(app, manager):
    venue_id = make_venue(app, manager.id)
    space_id = make_space(app, manager.id, venue_id, hours="daily", horizon_days=180)
    return SimpleNamespace(venue_id=venue_id, space_id=space_id)


def add_import(client, headers, space_id, url):
    return client.post(f"/api/v1/spaces/{space_id}/imports", json={"url": url}, headers=headers)


def sync(client, headers, import_id):
    return client.post(f"/api/v1/imports/{import_id}/sync", headers=headers)


def blocks(app, import_id: int) -> list[tuple]:
    """(id, uid, recurrence_key, start, end) of an import's blocks, earliest first."""
    with app.app_context():
        rows = db.session.scalars(
            sa.select(ImportedBlock)
            .where(ImportedBlock.import_id == import_id)
            .order_by(ImportedBlock.start, ImportedBlock.uid)
        )
        return [(b.id, b.uid, b.recurrence_key, b.start, b.end) for b in rows]


def spans(app, import_id: int) -> list[tuple]:
    """(uid, recurrence_key, start, end) without row ids."""
    return [row[1:] for row in blocks(app, import_id)]


def imported(app, client, mh, server, space_id, name: str) -> int:
    server.feed(f"/{name}", ics(name))
    response = add_import(client, mh, space_id, server.url(f"/{name}"))
    assert response.status_code == 201, response.json
    assert response.json["last_error"] is None
    return response.json["id"]


# -- what a feed becomes ---------------------------------------------------------------------------


def test_google_export_utc_times_follow_x_wr_timezone(app, client, mh, place, server, allow_private):
    server.feed("/google.ics", ics("google.ics"))
    response = add_import(client, mh, place.space_id, server.url("/google.ics"))
    assert response.status_code == 201, response.json
    body = response.json
    assert body == {
        "id": body["id"],
        "space_id": place.space_id,
        "url": server.url("/google.ics"),
        "filename": None,
        "last_synced_at": "2026-11-30T09:00:00+01:00",
        "last_attempt_at": "2026-11-30T09:00:00+01:00",
        "last_error": None,
        "conflicts": [],
    }
    # The past service and the summer camp after the 180-day horizon are left out; the funeral
    # that is going on right now is in. The choir keeps 19:30 Amsterdam time across 28 March.
    assert spans(app, body["id"]) == [
        (GOOGLE_ONGOING, "", utc("2026-11-30 07:00"), utc("2026-11-30 10:00")),
        (GOOGLE_SERVICE, "", utc("2026-12-06 09:00"), utc("2026-12-06 11:00")),
        (GOOGLE_CHOIR, "2027-03-04T18:30:00Z", utc("2027-03-04 18:30"), utc("2027-03-04 20:30")),
        (GOOGLE_CHOIR, "2027-03-11T18:30:00Z", utc("2027-03-11 18:30"), utc("2027-03-11 20:30")),
        (GOOGLE_CHOIR, "2027-03-18T18:30:00Z", utc("2027-03-18 18:30"), utc("2027-03-18 20:30")),
        (GOOGLE_CHOIR, "2027-03-25T18:30:00Z", utc("2027-03-25 18:30"), utc("2027-03-25 20:30")),
        (GOOGLE_CHOIR, "2027-04-01T17:30:00Z", utc("2027-04-01 17:30"), utc("2027-04-01 19:30")),
        (GOOGLE_CHOIR, "2027-04-08T17:30:00Z", utc("2027-04-08 17:30"), utc("2027-04-08 19:30")),
    ]
    with app.app_context():
        summaries = db.session.scalars(sa.select(ImportedBlock.summary).order_by(ImportedBlock.start)).all()
    assert summaries[:2] == ["Rouwdienst", "Kerkdienst"]  # kept for managers ...
    assert "Kerkdienst" not in client.get(f"/api/v1/spaces/{place.space_id}/imports", headers=mh).text  # ... not shown


def test_outlook_windows_zone_names_and_their_vtimezones(app, client, mh, place, server, allow_private):
    import_id = imported(app, client, mh, server, place.space_id, "outlook.ics")
    rows = spans(app, import_id)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("", utc("2026-12-07 13:00"), utc("2026-12-07 15:00")),  # W. Europe Standard Time
        ("", utc("2026-12-10 10:00"), utc("2026-12-10 11:30")),  # GMT Standard Time (London)
        ("2027-03-17T19:00:00Z", utc("2027-03-17 19:00"), utc("2027-03-17 21:00")),
        ("2027-03-24T19:00:00Z", utc("2027-03-24 19:00"), utc("2027-03-24 21:00")),
        ("2027-03-31T18:00:00Z", utc("2027-03-31 18:00"), utc("2027-03-31 20:00")),  # summer time
        ("2027-04-07T18:00:00Z", utc("2027-04-07 18:00"), utc("2027-04-07 20:00")),  # UNTIL is inclusive
    ]
    assert rows[0][0].startswith("040000008200E00074C5B7101A82E00800000000D0E4")
    assert len({r[0] for r in rows}) == 3


def test_tzids_without_vtimezone(app, client, mh, place, server, allow_private):
    import_id = imported(app, client, mh, server, place.space_id, "missing-vtimezone.ics")
    assert spans(app, import_id) == [
        ("zp-20261208-1@zaalplanner.example", "", utc("2026-12-08 09:00"), utc("2026-12-08 11:00")),
        ("zp-20261208-2@zaalplanner.example", "", utc("2026-12-08 14:00"), utc("2026-12-08 15:00")),
        # An unknown zone name: read as the venue's local time.
        ("zp-20261208-3@zaalplanner.example", "", utc("2026-12-08 17:00"), utc("2026-12-08 18:00")),
    ]


def test_series_with_exdate_rdate_and_a_moved_occurrence(app, client, mh, place, server, allow_private):
    import_id = imported(app, client, mh, server, place.space_id, "series.ics")
    assert spans(app, import_id) == [
        (TAALCAFE, "2026-12-01T08:30:00Z", utc("2026-12-01 08:30"), utc("2026-12-01 10:00")),
        (TAALCAFE, "2026-12-08T08:30:00Z", utc("2026-12-08 08:30"), utc("2026-12-08 10:00")),
        # 15 December moved to Wednesday 16th 13:00; keyed by the instant it replaces.
        (TAALCAFE, "2026-12-15T08:30:00Z", utc("2026-12-16 12:00"), utc("2026-12-16 13:30")),
        # 22 December is an EXDATE; 30 December an RDATE.
        (TAALCAFE, "2026-12-29T08:30:00Z", utc("2026-12-29 08:30"), utc("2026-12-29 10:00")),
        (TAALCAFE, "2026-12-30T08:30:00Z", utc("2026-12-30 08:30"), utc("2026-12-30 10:00")),
        (TAALCAFE, "2027-01-05T08:30:00Z", utc("2027-01-05 08:30"), utc("2027-01-05 10:00")),
    ]


def test_all_day_events_are_whole_days_in_the_venue_zone(app, client, mh, place, server, allow_private):
    import_id = imported(app, client, mh, server, place.space_id, "allday.ics")
    assert [(r[1], r[2], r[3]) for r in spans(app, import_id)] == [
        ("", utc("2026-12-23 23:00"), utc("2026-12-25 23:00")),  # 24 and 25 December
        ("", utc("2026-12-30 23:00"), utc("2026-12-31 23:00")),  # no DTEND: one day
        ("2027-04-26T22:00:00Z", utc("2027-04-26 22:00"), utc("2027-04-27 22:00")),  # summer time
    ]


def test_cancelled_and_transparent_events_are_not_busy(app, client, mh, place, server, allow_private):
    import_id = imported(app, client, mh, server, place.space_id, "statuses.ics")
    assert spans(app, import_id) == [
        ("yoga-vrijdag@google.com", "2026-12-04T17:00:00Z", utc("2026-12-04 17:00"), utc("2026-12-04 18:00")),
        ("bezet-1@google.com", "", utc("2026-12-11 09:00"), utc("2026-12-11 10:00")),
        # 11 December's yoga is cancelled in an override.
        ("yoga-vrijdag@google.com", "2026-12-18T17:00:00Z", utc("2026-12-18 17:00"), utc("2026-12-18 18:00")),
    ]


def test_floating_times_follow_x_wr_timezone_else_the_venue_zone(
    app, client, mh, manager, place, server, allow_private
):
    import_id = imported(app, client, mh, server, place.space_id, "floating.ics")
    assert spans(app, import_id) == [
        ("rooster-4411@schoolrooster.example", "", utc("2026-12-09 19:00"), utc("2026-12-09 21:00")),  # London
    ]
    without = ics("floating.ics").replace(b"X-WR-TIMEZONE:Europe/London\r\n", b"")
    with app.app_context():
        actor = db.session.get(User, manager.id)
        upload = imports.import_upload(actor, db.session.get(Space, place.space_id), "rooster.ics", without)
        db.session.commit()
        upload_id = upload.id
    assert spans(app, upload_id) == [
        ("rooster-4411@schoolrooster.example", "", utc("2026-12-09 18:00"), utc("2026-12-09 20:00")),  # Amsterdam
    ]


def test_the_window_follows_the_space_horizon(app, client, mh, place, server, allow_private):
    import_id = imported(app, client, mh, server, place.space_id, "google.ics")
    assert len(blocks(app, import_id)) == 8
    response = client.patch(f"/api/v1/spaces/{place.space_id}", json={"horizon_days": 30}, headers=mh)
    assert response.status_code == 200, response.json
    assert sync(client, mh, import_id).status_code == 200
    assert [r[0] for r in spans(app, import_id)] == [GOOGLE_ONGOING, GOOGLE_SERVICE]


def test_imported_busy_answers_per_space_in_one_query(app, client, mh, manager, place, server, allow_private):
    other_space = make_space(app, manager.id, place.venue_id, name="Zaal 2", hours="daily", horizon_days=180)
    imported(app, client, mh, server, place.space_id, "series.ics")
    imported(app, client, mh, server, other_space, "outlook.ics")
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            busy = imports.imported_busy(
                [place.space_id, other_space, 999_999], utc("2026-12-08 09:00"), utc("2026-12-16 12:00")
            )
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert busy == {
        # 8 December ends 10:00, after the start; the moved session starts exactly at the end: out.
        place.space_id: [(utc("2026-12-08 08:30"), utc("2026-12-08 10:00"))],
        other_space: [(utc("2026-12-10 10:00"), utc("2026-12-10 11:30"))],
    }
    assert all(s.tzinfo is UTC and e.tzinfo is UTC for items in busy.values() for s, e in items)
    with app.app_context():
        assert imports.imported_busy([], NOW, NOW + timedelta(days=1)) == {}


def test_availability_api_leaves_out_imported_time(app, client, mh, place, server, allow_private):
    imported(app, client, mh, server, place.space_id, "google.ics")
    response = client.get(f"/api/v1/spaces/{place.space_id}/availability?from=2026-12-06&to=2026-12-06", headers=mh)
    assert response.status_code == 200
    assert response.json["free"] == [
        {"start": "2026-12-06T08:00:00+01:00", "end": "2026-12-06T10:00:00+01:00", "seats": 12},
        {"start": "2026-12-06T12:00:00+01:00", "end": "2026-12-06T22:00:00+01:00", "seats": 12},
    ]


# -- syncing -----------------------------------------------------------------------------------------


def test_conditional_get_answers_304_and_keeps_the_blocks(app, client, mh, place, server, clock, allow_private):
    stamp = "Fri, 27 Nov 2026 10:15:00 GMT"
    server.feed("/google.ics", ics("google.ics"), etag='"v1-abc"', last_modified=stamp)
    import_id = add_import(client, mh, place.space_id, server.url("/google.ics")).json["id"]
    before = blocks(app, import_id)
    assert len(before) == 8
    assert "if-none-match" not in server.requests[0][1]

    clock.now = NOW + timedelta(hours=1)
    response = sync(client, mh, import_id)
    assert response.status_code == 200
    assert response.json["last_synced_at"] == "2026-11-30T10:00:00+01:00"  # a 304 is a good sync
    assert response.json["last_error"] is None
    headers = server.requests[1][1]
    assert headers["if-none-match"] == '"v1-abc"'
    assert headers["if-modified-since"] == stamp
    assert blocks(app, import_id) == before

    # A 304 a week later still moves the window on: what is past goes, from what was stored.
    clock.now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert sync(client, mh, import_id).status_code == 200
    assert server.requests[2][1]["if-none-match"] == '"v1-abc"'
    assert blocks(app, import_id) == before[2:]


def test_blocks_are_updated_in_place_by_uid(app, client, mh, place, server, allow_private):
    first = calendar(
        "UID:a@example.org\nDTSTART:20261202T090000Z\nDTEND:20261202T110000Z\nSUMMARY:A",
        "UID:b@example.org\nDTSTART:20261203T090000Z\nDTEND:20261203T110000Z\nSUMMARY:B",
        "UID:c@example.org\nDTSTART:20261204T090000Z\nDTEND:20261204T100000Z\nRRULE:FREQ=WEEKLY;COUNT=3",
    )
    server.feed("/cal.ics", first)
    import_id = add_import(client, mh, place.space_id, server.url("/cal.ics")).json["id"]
    before = {(r[1], r[2]): r for r in blocks(app, import_id)}
    assert len(before) == 5

    second = calendar(
        "UID:a@example.org\nDTSTART:20261202T130000Z\nDTEND:20261202T150000Z\nSUMMARY:A moved",
        "UID:c@example.org\nDTSTART:20261204T090000Z\nDTEND:20261204T100000Z\nRRULE:FREQ=WEEKLY;COUNT=2",
        "UID:d@example.org\nDTSTART:20261205T090000Z\nDTEND:20261205T100000Z",
    )
    server.feed("/cal.ics", second)
    for _ in range(3):  # again and again: never a duplicate
        assert sync(client, mh, import_id).status_code == 200
        after = {(r[1], r[2]): r for r in blocks(app, import_id)}
        assert sorted(after) == [
            ("a@example.org", ""),
            ("c@example.org", "2026-12-04T09:00:00Z"),
            ("c@example.org", "2026-12-11T09:00:00Z"),
            ("d@example.org", ""),
        ]
        moved = after[("a@example.org", "")]
        assert moved[0] == before[("a@example.org", "")][0]  # same row
        assert (moved[3], moved[4]) == (utc("2026-12-02 13:00"), utc("2026-12-02 15:00"))
        assert (
            after[("c@example.org", "2026-12-11T09:00:00Z")][0] == before[("c@example.org", "2026-12-11T09:00:00Z")][0]
        )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportedBlock)) == 4


BROKEN = {
    "server error": (lambda s: s.status("/cal.ics", 500, b"oops"), "The server answered 500 instead of the calendar."),
    "login page": (
        lambda s: s.status("/cal.ics", 200, b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html"),
        "This is not an iCalendar file (it does not start with BEGIN:VCALENDAR).",
    ),
    "garbage bytes": (lambda s: s.status("/cal.ics", 200, bytes(range(256)) * 4), "This is not an iCalendar file"),
    "broken ical": (
        lambda s: s.status("/cal.ics", 200, b"BEGIN:VCALENDAR\r\nthis is no content line\r\nEND:VCALENDAR\r\n"),
        "The calendar could not be read: it is not valid iCalendar.",
    ),
    "timeout": (lambda s: s.slow("/cal.ics", 5, ics("google.ics")), "No answer within 0.5 seconds."),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_feed_keeps_the_last_good_blocks(
    app, client, mh, place, server, clock, allow_private, monkeypatch, kind
):
    monkeypatch.setitem(app.config, "IMPORT_TIMEOUT_SECONDS", 0.5)
    server.feed("/cal.ics", ics("series.ics"))
    import_id = add_import(client, mh, place.space_id, server.url("/cal.ics")).json["id"]
    before = blocks(app, import_id)
    assert len(before) == 6

    breaks, message = BROKEN[kind]
    breaks(server)
    clock.now = NOW + timedelta(hours=2)
    started = time.monotonic()
    response = sync(client, mh, import_id)
    assert time.monotonic() - started < 3
    assert response.status_code == 200
    body = response.json
    assert body["last_error"].startswith(message)
    assert body["last_synced_at"] == "2026-11-30T09:00:00+01:00"  # the last GOOD sync
    assert body["last_attempt_at"] == "2026-11-30T11:00:00+01:00"
    assert blocks(app, import_id) == before

    server.feed("/cal.ics", ics("series.ics"))  # mended: the error goes
    assert sync(client, mh, import_id).json["last_error"] is None


def test_a_broken_version_is_not_remembered(app, client, mh, place, server, allow_private):
    """Its ETag is not kept: else the next sync would get a 304 and call the broken feed good."""
    server.feed("/cal.ics", ics("series.ics"), etag='"v1"')
    import_id = add_import(client, mh, place.space_id, server.url("/cal.ics")).json["id"]
    server.feed("/cal.ics", b"BEGIN:VCALENDAR\r\nthis is no content line\r\n", etag='"v2"')
    for _ in range(2):
        body = sync(client, mh, import_id).json
        assert body["last_error"] == "The calendar could not be read: it is not valid iCalendar."
    assert [h.get("if-none-match") for _, h in server.requests] == [None, '"v1"', '"v1"']
    assert len(blocks(app, import_id)) == 6


def test_odd_values_are_stored_safely(app, client, mh, place, server, allow_private):
    long_uid = "x" * 300 + "@example.org"
    data = calendar(
        f"UID:{long_uid}\nDTSTART:20261201T090000Z\nDTEND:20261201T100000Z\nSUMMARY:Bingo\x00avond" + "!" * 300,
        "UID:nul\x00uid@example.org\nDTSTART:20261202T090000Z\nDTEND:20261202T100000Z",
    )
    server.feed("/odd.ics", data, etag='"' + "e" * 600 + '"')
    response = add_import(client, mh, place.space_id, server.url("/odd.ics"))
    assert response.json["last_error"] is None
    with app.app_context():
        rows = db.session.scalars(sa.select(ImportedBlock).order_by(ImportedBlock.start)).all()
        assert [(len(r.uid), r.uid[:7], r.summary[:12], len(r.summary)) for r in rows] == [
            (71, "sha256:", "Bingo avond!", 200),
            (19, "nul uid", "", 0),
        ]
        assert db.session.get(CalendarImport, response.json["id"]).etag is None  # too long to send back
    assert len(blocks(app, sync(client, mh, response.json["id"]).json["id"])) == 2


@pytest.mark.parametrize("how", ["feed", "chunked"])
def test_a_feed_over_the_size_cap_is_refused(app, client, mh, place, server, allow_private, monkeypatch, how):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 2048)
    body = ics("outlook.ics")
    assert len(body) > 2048
    getattr(server, how)("/big.ics", body)
    response = add_import(client, mh, place.space_id, server.url("/big.ics"))
    assert response.status_code == 201  # the import exists, with the reason it is empty
    assert response.json["last_error"] == "The calendar is larger than 2 KiB."
    assert response.json["last_synced_at"] is None
    assert blocks(app, response.json["id"]) == []


def test_redirects_are_followed_up_to_the_limit(app, client, mh, place, server, allow_private, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_REDIRECTS", 2)
    server.feed("/series.ics", ics("series.ics"))
    server.redirect("/old", "/middle", 301)
    server.redirect("/middle", server.url("/series.ics"), 307)
    ok = add_import(client, mh, place.space_id, server.url("/old"))
    assert ok.json["last_error"] is None
    assert len(blocks(app, ok.json["id"])) == 6
    assert server.paths() == ["/old", "/middle", "/series.ics"]

    server.redirect("/loop", "/loop")
    looped = add_import(client, mh, place.space_id, server.url("/loop"))
    assert looped.status_code == 201
    assert looped.json["last_error"] == "Too many redirects (more than 2)."
    assert server.paths()[3:] == ["/loop", "/loop", "/loop"]  # the first request and 2 redirects


def test_uploads_and_the_cli_roll_the_window_forward(app, manager, place, clock, runner):
    weekly = calendar(
        "UID:open@example.org\nDTSTART;TZID=Europe/Amsterdam:20261202T190000\n"
        "DTEND;TZID=Europe/Amsterdam:20261202T210000\nRRULE:FREQ=WEEKLY"
    )
    with app.app_context():
        actor = db.session.get(User, manager.id)
        upload = imports.import_upload(
            actor, db.session.get(Space, place.space_id), "C:\\Users\\koster\\agenda.ics", weekly
        )
        db.session.commit()
        upload_id = upload.id
        assert (upload.url, upload.filename) == (None, "agenda.ics")
    rows = blocks(app, upload_id)
    assert (len(rows), rows[0][3], rows[-1][3]) == (26, utc("2026-12-02 18:00"), utc("2027-05-26 17:00"))

    clock.now = NOW + timedelta(days=28)
    result = runner.invoke(args=["calendars", "sync"])
    assert result.exit_code == 0, result.output
    rows = blocks(app, upload_id)
    assert (len(rows), rows[0][3], rows[-1][3]) == (26, utc("2026-12-30 18:00"), utc("2027-06-23 17:00"))


def test_upload_refuses_files_it_cannot_read_and_non_managers(app, manager, make_user, place):
    member = make_user("member")
    with app.app_context():
        space = db.session.get(Space, place.space_id)
        with pytest.raises(DomainError) as refused:
            imports.import_upload(db.session.get(User, manager.id), space, "x.ics", b"PK\x03\x04 a zip file")
        assert refused.value.errors == {
            "file": ["This is not an iCalendar file (it does not start with BEGIN:VCALENDAR)."]
        }
        with pytest.raises(Forbidden):
            imports.import_upload(db.session.get(User, member.id), space, "x.ics", ics("series.ics"))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarImport)) == 0


def test_the_cli_prints_one_line_per_import(app, client, mh, manager, place, server, runner, allow_private):
    good = imported(app, client, mh, server, place.space_id, "google.ics")
    server.feed("/series.ics", ics("series.ics"))
    broken = add_import(client, mh, place.space_id, server.url("/series.ics")).json["id"]
    server.status("/series.ics", 500)
    with app.app_context():
        actor = db.session.get(User, manager.id)
        upload = imports.import_upload(actor, db.session.get(Space, place.space_id), "closed.ics", ics("allday.ics"))
        db.session.commit()
        upload_id = upload.id

    result = runner.invoke(args=["calendars", "sync"])
    assert result.exit_code == 0, result.output
    where = "Buurthuis De Pijler / Zaal 1"
    assert result.output.splitlines() == [
        f"import {good} (url) · {where}: synced, 8 blocks",
        f"import {broken} (url) · {where}: failed (The server answered 500 instead of the calendar.); keeping 6 blocks",
        f"import {upload_id} (file closed.ics) · {where}: synced, 3 blocks",
        "3 imports, 0 not processed.",
    ]
    assert "127.0.0.1" not in result.output  # feed URLs can hold secrets; logs are not the place
    helped = runner.invoke(args=["calendars", "sync", "--help"])
    assert "cron" in helped.output and "systemd" in helped.output


# -- addresses we never fetch from ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/google.ics",
        "http://localhost:{port}/google.ics",
        "http://[::1]:{port}/google.ics",
        "http://2130706433:{port}/google.ics",
        "http://10.0.0.1/calendar.ics",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/cal.ics",
        "http://[fd00::1]/cal.ics",
        "http://[::ffff:127.0.0.1]/cal.ics",
        "http://0.0.0.0/cal.ics",
        "webcal://192.168.1.10/cal.ics",
    ],
)
def test_private_addresses_are_refused_at_creation(app, client, mh, place, server, connections, url):
    server.feed("/google.ics", ics("google.ics"))
    response = add_import(client, mh, place.space_id, url.format(port=server.port))
    assert response.status_code == 422
    assert "private or local address" in response.json["errors"]["url"][0]
    assert server.requests == []
    assert connections == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarImport)) == 0


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://ftp.example.org/agenda.ics",
        "gopher://127.0.0.1:70/_stats",
        "javascript:alert(1)",
        "https://user:secret@calendar.example.org/agenda.ics",
        "webcal://",
        "not a url",
    ],
)
def test_other_schemes_and_odd_urls_are_refused(app, client, mh, place, connections, url):
    response = add_import(client, mh, place.space_id, url)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"url"}
    assert connections == []


def test_webcal_is_fetched_as_https():
    assert fetch.normalise_url("webcal://p12-caldav.icloud.com/published/2/MTIz") == (
        "https://p12-caldav.icloud.com/published/2/MTIz"
    )
    assert fetch.normalise_url("WEBCAL://Calendar.Example.org:8443/agenda-café.ics?x=1#top") == (
        "https://calendar.example.org:8443/agenda-caf%C3%A9.ics?x=1"
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "224.0.0.251",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:8.8.8.8",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "2002:a00:1::1",  # 6to4 around 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "2001:db8::1",
    ],
)
def test_refused_addresses(address):
    assert fetch.refused_address(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2001:4860:4860::8888", "2a00:1450:400e:80f::200e"])
def test_public_addresses_pass(address):
    assert fetch.refused_address(ipaddress.ip_address(address)) is False


def test_a_public_looking_name_that_resolves_to_loopback_is_refused(app, client, mh, place, monkeypatch, connections):
    monkeypatch.setattr(fetch, "resolve", lambda host, port: ["127.0.0.1"])
    response = add_import(client, mh, place.space_id, "https://calendar.example.org/agenda.ics")
    assert response.status_code == 422
    assert response.json["errors"]["url"] == [
        "calendar.example.org is a private or local address; calendars are only imported from the internet."
    ]
    assert connections == []


def test_every_address_of_a_name_is_checked(app, client, mh, place, monkeypatch, connections):
    monkeypatch.setattr(fetch, "resolve", lambda host, port: ["93.184.215.14", "10.0.0.1"])
    response = add_import(client, mh, place.space_id, "https://calendar.example.org/agenda.ics")
    assert response.status_code == 422
    assert connections == []


@pytest.fixture
def loopback_is_the_internet(monkeypatch):
    """Pretend 127.0.0.1 (only) is a public address, so a redirect's re-check can be seen."""
    real = fetch.refused_address
    monkeypatch.setattr(fetch, "refused_address", lambda ip: False if str(ip) == "127.0.0.1" else real(ip))


@pytest.mark.parametrize(
    "target", ["http://127.0.0.2:{port}/google.ics", "http://metadata.internal/computeMetadata/v1/"]
)
def test_a_redirect_into_the_private_network_is_refused(
    app, client, mh, place, server, monkeypatch, connections, loopback_is_the_internet, target
):
    real_resolve = fetch.resolve
    monkeypatch.setattr(
        fetch,
        "resolve",
        lambda host, port: ["169.254.169.254"] if host == "metadata.internal" else real_resolve(host, port),
    )
    server.feed("/google.ics", ics("google.ics"))
    server.redirect("/hop", target.format(port=server.port))
    response = add_import(client, mh, place.space_id, server.url("/hop"))
    assert response.status_code == 422
    assert "private or local address" in response.json["errors"]["url"][0]
    assert server.paths() == ["/hop"]
    assert connections == [("127.0.0.1", server.port)]


def test_the_checked_address_is_the_one_connected_to(
    app, client, mh, place, server, monkeypatch, connections, loopback_is_the_internet
):
    """DNS rebinding: a second look-up would answer 10.0.0.1; there is none."""
    lookups = []

    def rebinding(host, port):
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["10.0.0.1"]

    monkeypatch.setattr(fetch, "resolve", rebinding)
    server.feed("/series.ics", ics("series.ics"))
    response = add_import(client, mh, place.space_id, f"http://calendar.example.org:{server.port}/series.ics")
    assert response.status_code == 201, response.json
    assert response.json["last_error"] is None
    assert lookups == ["calendar.example.org"]
    assert connections == [("127.0.0.1", server.port)]
    assert server.requests[0][1]["host"] == f"calendar.example.org:{server.port}"
    assert len(blocks(app, response.json["id"])) == 6


@pytest.fixture
def https_server(tmp_path, monkeypatch):
    """An HTTPS feed server on 127.0.0.1 with a certificate for calendar.example.org only,
    which the importer trusts; it records the SNI name each client sends."""
    assert shutil.which("openssl"), "openssl (Debian's base system) is needed to make a test certificate"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    name = "calendar.example.org"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}"]
    command += ["-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    names: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda sock, name, ctx: names.append(name)
    monkeypatch.setattr(fetch, "tls_context", lambda: ssl.create_default_context(cafile=str(cert)))
    feeds = FeedServer(tls)
    feeds.sni = names
    yield feeds
    feeds.close()


def test_https_sends_the_host_name_as_sni_and_checks_the_certificate(
    app, client, mh, place, https_server, monkeypatch, connections, loopback_is_the_internet
):
    lookups = []
    monkeypatch.setattr(fetch, "resolve", lambda host, port: lookups.append(host) or ["127.0.0.1"])
    https_server.feed("/series.ics", ics("series.ics"))
    response = add_import(client, mh, place.space_id, f"webcal://calendar.example.org:{https_server.port}/series.ics")
    assert response.status_code == 201, response.json
    assert response.json["url"] == f"https://calendar.example.org:{https_server.port}/series.ics"
    assert response.json["last_error"] is None
    assert len(blocks(app, response.json["id"])) == 6
    assert https_server.sni == ["calendar.example.org"]
    assert https_server.requests[0][1]["host"] == f"calendar.example.org:{https_server.port}"
    assert lookups == ["calendar.example.org"]
    assert connections == [("127.0.0.1", https_server.port)]

    # Another name on the same address: the certificate does not match, so no calendar.
    wrong = add_import(client, mh, place.space_id, f"https://agenda.example.net:{https_server.port}/series.ics")
    assert wrong.status_code == 201
    assert wrong.json["last_error"].startswith("The secure connection failed")
    assert len(https_server.requests) == 1


def test_an_address_refused_at_sync_becomes_last_error(app, client, mh, place, server, monkeypatch, connections):
    monkeypatch.setitem(app.config, "IMPORT_ALLOW_PRIVATE_ADDRESSES", True)
    import_id = imported(app, client, mh, server, place.space_id, "series.ics")
    before = blocks(app, import_id)
    monkeypatch.setitem(app.config, "IMPORT_ALLOW_PRIVATE_ADDRESSES", False)
    opened = len(connections)
    body = sync(client, mh, import_id).json
    assert "private or local address" in body["last_error"]
    assert body["last_synced_at"] == "2026-11-30T09:00:00+01:00"
    assert blocks(app, import_id) == before
    assert len(connections) == opened


# -- the API -------------------------------------------------------------------------------------------


def book(client, headers, space_id, start, end):
    return client.post("/api/v1/bookings", json={"space_id": space_id, "start": start, "end": end}, headers=headers)


def booking_state(app, booking_id):
    with app.app_context():
        b = db.session.get(Booking, booking_id)
        return (b.status, b.start, b.end, b.seats, b.sequence, b.updated_at, b.title)


def test_bookings_an_import_overlaps_are_flagged_and_left_alone(
    app, client, mh, place, server, make_user, make_token, allow_private
):
    anouk = bearer(make_token(make_user("member", name="Anouk")))
    clash = book(client, anouk, place.space_id, "2026-12-07T14:30", "2026-12-07T15:30")
    after = book(client, anouk, place.space_id, "2026-12-07T16:00", "2026-12-07T17:00")  # touches the end: fine
    assert clash.status_code == after.status_code == 201
    clash_id, after_id = clash.json["id"], after.json["id"]
    states = {clash_id: booking_state(app, clash_id), after_id: booking_state(app, after_id)}

    server.feed("/outlook.ics", ics("outlook.ics"))
    created = add_import(client, mh, place.space_id, server.url("/outlook.ics"))
    assert created.status_code == 201
    expected = [{"booking_id": clash_id, "start": "2026-12-07T14:30:00+01:00", "end": "2026-12-07T15:30:00+01:00"}]
    assert created.json["conflicts"] == expected
    assert "Anouk" not in created.text
    assert sync(client, mh, created.json["id"]).json["conflicts"] == expected
    listed = client.get(f"/api/v1/spaces/{place.space_id}/imports", headers=mh).json
    assert [(i["id"], i["conflicts"]) for i in listed["imports"]] == [(created.json["id"], expected)]
    with app.app_context():
        assert [b.id for b in imports.conflicting_bookings(db.session.get(CalendarImport, created.json["id"]))] == [
            clash_id
        ]

    assert client.delete(f"/api/v1/imports/{created.json['id']}", headers=mh).status_code == 204
    assert blocks(app, created.json["id"]) == []
    assert {k: booking_state(app, k) for k in states} == states


def test_create_list_sync_delete(app, client, mh, place, server, allow_private):
    server.status("/later.ics", 503)
    failing = add_import(client, mh, place.space_id, server.url("/later.ics"))
    assert failing.status_code == 201  # a failing first fetch still creates the import
    assert (failing.json["last_error"], failing.json["last_synced_at"]) == (
        "The server answered 503 instead of the calendar.",
        None,
    )
    duplicate = add_import(client, mh, place.space_id, server.url("/later.ics"))
    assert duplicate.status_code == 422
    assert duplicate.json["errors"] == {"url": ["This calendar is already imported into this space."]}
    series_id = imported(app, client, mh, server, place.space_id, "series.ics")

    listed = client.get(f"/api/v1/spaces/{place.space_id}/imports", headers=mh)
    assert listed.status_code == 200
    assert [(i["id"], i["last_error"] is None) for i in listed.json["imports"]] == [
        (failing.json["id"], False),
        (series_id, True),
    ]
    server.feed("/later.ics", ics("allday.ics"))
    synced = sync(client, mh, failing.json["id"])
    assert synced.status_code == 200
    assert synced.json["last_error"] is None
    assert synced.json["last_synced_at"] == "2026-11-30T09:00:00+01:00"
    assert len(blocks(app, failing.json["id"])) == 3

    assert client.delete(f"/api/v1/imports/{series_id}", headers=mh).status_code == 204
    assert blocks(app, series_id) == []
    assert client.delete(f"/api/v1/imports/{series_id}", headers=mh).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportedBlock)) == 3


@pytest.mark.parametrize("body", [{}, {"url": ""}, {"url": 5}, {"url": "https://x.example/" + "a" * 2000}])
def test_the_url_is_required_and_a_string(client, mh, place, body):
    response = client.post(f"/api/v1/spaces/{place.space_id}/imports", json=body, headers=mh)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"url"}


def test_only_the_space_managers_may_see_and_change_imports(
    app, client, mh, manager, place, server, make_user, make_token, allow_private
):
    import_id = imported(app, client, mh, server, place.space_id, "series.ics")
    hidden_venue = make_venue(app, manager.id, published=False)
    hidden_space = make_space(app, manager.id, hidden_venue, horizon_days=180)
    server.feed("/hidden.ics", ics("allday.ics"))
    hidden_import = add_import(client, mh, hidden_space, server.url("/hidden.ics")).json["id"]
    before = len(server.requests)

    for role in ("member", "manager"):  # a member, and a manager of another venue
        h = bearer(make_token(make_user(role)))
        # The published venue: they may see the space, not manage it.
        assert client.get(f"/api/v1/spaces/{place.space_id}/imports", headers=h).status_code == 403
        assert add_import(client, h, place.space_id, server.url("/series.ics")).status_code == 403
        assert sync(client, h, import_id).status_code == 403
        assert client.delete(f"/api/v1/imports/{import_id}", headers=h).status_code == 403
        # The unpublished venue: they may not know it exists.
        assert client.get(f"/api/v1/spaces/{hidden_space}/imports", headers=h).status_code == 404
        assert add_import(client, h, hidden_space, server.url("/series.ics")).status_code == 404
        assert sync(client, h, hidden_import).status_code == 404
        assert client.delete(f"/api/v1/imports/{hidden_import}", headers=h).status_code == 404
        assert sync(client, h, 999_999).status_code == 404
    assert client.get(f"/api/v1/spaces/{place.space_id}/imports").status_code == 401
    assert len(server.requests) == before  # nobody made us fetch anything
    assert len(blocks(app, import_id)) == 6 and len(blocks(app, hidden_import)) == 3


# -- the expansion engine on its own -------------------------------------------------------------------


def test_series_repeating_by_the_minute_are_skipped_and_huge_calendars_refused(monkeypatch):
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Amsterdam")
    end = NOW + timedelta(days=30)
    fine = calendar(
        "UID:m@example.org\nDTSTART:20261201T090000Z\nDTEND:20261201T090100Z\nRRULE:FREQ=MINUTELY",
        "UID:h@example.org\nDTSTART:20261201T090000Z\nDTEND:20261201T091000Z\nRRULE:FREQ=DAILY;BYHOUR=1,2,3,4,5,6",
        "UID:ok@example.org\nDTSTART:20261201T090000Z\nDTEND:20261201T100000Z",
    )
    assert [o.uid for o in imports.expand(fine, zone, NOW, end)] == ["ok@example.org"]
    monkeypatch.setattr(imports, "MAX_BLOCKS", 10)
    daily = calendar("UID:d@example.org\nDTSTART:20261201T090000Z\nDTEND:20261201T100000Z\nRRULE:FREQ=DAILY")
    with pytest.raises(imports.FeedError, match="more than 10 events"):
        imports.expand(daily, zone, NOW, end)


def test_one_broken_event_does_not_spoil_the_feed():
    from zoneinfo import ZoneInfo

    data = calendar(
        "UID:ok@example.org\nDTSTART:20261201T090000Z\nDTEND:20261201T100000Z",
        "UID:no-start@example.org\nSUMMARY:Forgot the start",
        "UID:bad-end@example.org\nDTSTART:20261202T090000Z\nDTEND:tomorrow",
        "UID:bad-rule@example.org\nDTSTART:20261202T090000Z\nDTEND:20261202T100000Z\nRRULE:FREQ=SOMETIMES",
        "UID:no-end@example.org\nDTSTART:20261203T090000Z",  # an instant: takes no time
    )
    found = imports.expand(data, ZoneInfo("Europe/Amsterdam"), NOW, NOW + timedelta(days=30))
    assert [(o.uid, o.start, o.end) for o in found] == [
        ("ok@example.org", utc("2026-12-01 09:00"), utc("2026-12-01 10:00"))
    ]


def test_a_booking_into_imported_time_is_refused(app, client, mh, place, server, allow_private, clock):
    """The venue's own calendar takes the whole space: booking into it is a 409, around it is fine."""
    imported(app, client, mh, server, place.space_id, "google.ics")
    body = {"space_id": place.space_id, "start": "2026-12-06T10:30", "end": "2026-12-06T11:00"}
    response = client.post("/api/v1/bookings", json=body, headers=mh)
    assert response.status_code == 409, response.json
    body.update(start="2026-12-06T09:00", end="2026-12-06T10:00")
    assert client.post("/api/v1/bookings", json=body, headers=mh).status_code == 201
