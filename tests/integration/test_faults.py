"""Faults: a gunicorn worker killed and PostgreSQL restarted in the middle of a booking load,
SMTP down while members book, and migrations from an older schema with data in it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.bookings.models import HOLDING, Booking
from app.extensions import db
from config import TestingConfig
from tests.integration.conftest import seeded
from tests.integration.test_concurrency import max_in_use
from tests.support.databases import empty_database
from tests.support.servers import free_port, gunicorn, worker_pids


def post(base: str, token: str, body: dict, key: str) -> tuple[int | None, dict]:
    """One try; None when the connection broke (a killed worker, a restarting database)."""
    request = urllib.request.Request(
        f"{base}/api/v1/bookings",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    # A worker killed mid-answer leaves a broken status line or a cut-off body.
    except (ConnectionError, urllib.error.URLError, TimeoutError, http.client.HTTPException, json.JSONDecodeError):
        return None, {}


def test_worker_killed_and_database_restarted_during_load(server, database_kind):
    base, app, ids, tokens, proc = server
    first_day = (datetime.now(UTC) + timedelta(days=2)).date()
    answers: dict[str, tuple[int, dict]] = {}
    failures: list[int | None] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        for n in range(8):
            day = (first_day + timedelta(days=n)).isoformat()
            hour = 8 + (i % 12)
            body = {"space_id": ids["corner"], "start": f"{day}T{hour:02d}:00", "end": f"{day}T{hour:02d}:30"}
            key = uuid.uuid4().hex
            for _attempt in range(30):  # a client retries with the same key until it gets an answer
                status, payload = post(base, tokens[i], body, key)
                if status in (201, 409, 422):
                    with lock:
                        answers[key] = (status, payload)
                    break
                with lock:
                    failures.append(status)
                time.sleep(0.2)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    for pid in worker_pids(proc.pid)[:1]:
        os.kill(pid, signal.SIGKILL)
    if database_kind == "postgresql":
        subprocess.run([os.environ["TEST_POSTGRESQL_CTL"], "restart"], check=True, capture_output=True)
    for t in threads:
        t.join(timeout=300)
    assert set(failures) <= {None, 503}, failures  # dropped connections or a clean 503, never a 500
    assert len(answers) == 12 * 8  # with retries under the same key, every request got its answer
    created = {p["id"] for s, p in answers.values() if s == 201}
    with app.app_context():
        db.engine.dispose()  # connections from before the restart are gone
        rows = db.session.execute(
            sa.select(Booking.id, Booking.start, Booking.end, Booking.seats).where(
                Booking.space_id == ids["corner"], Booking.status.in_(HOLDING)
            )
        ).all()
    assert created == {r.id for r in rows}  # every 201 is there, nothing half-written beside them
    assert max_in_use([(r.start, r.end, r.seats) for r in rows]) <= 5


def test_smtp_down_bookings_succeed_and_mail_follows(database_kind, tmp_path):
    from aiosmtpd.controller import Controller

    from app.notifications.models import OutboxMessage
    from app.notifications.outbox import deliver_pending

    smtp_port = free_port()
    fixture = seeded.__wrapped__(database_kind, tmp_path)
    app, url, ids, tokens = next(fixture)
    env = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "MAIL_TIMEOUT_AFTER_COMMIT": "1"}
    with gunicorn(url, tmp_path / "instance", workers=2, threads=2, **env) as (base, _proc):
        day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
        started = time.monotonic()
        statuses = [
            post(
                base,
                tokens[i],
                {"space_id": ids["corner"], "start": f"{day}T{9 + i:02d}:00", "end": f"{day}T{9 + i:02d}:30"},
                uuid.uuid4().hex,
            )[0]
            for i in range(5)
        ]
        assert statuses == [201] * 5  # the mail server is down; booking does not care
        assert time.monotonic() - started < 10
        time.sleep(1.5)  # let the after-commit attempts fail
    with app.app_context():
        queued = db.session.scalars(sa.select(OutboxMessage)).all()
        assert len(queued) == 5
        assert all(m.sent_at is None for m in queued)

    received = []

    class Handler:
        async def handle_DATA(self, smtp, session, envelope):
            received.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port)
        with app.app_context():
            sent, failed = deliver_pending(now=datetime.now(UTC) + timedelta(hours=7))
    finally:
        controller.stop()
    assert (sent, failed) == (5, 0)
    assert len(received) == 5
    with app.app_context():
        assert all(m.sent_at is not None for m in db.session.scalars(sa.select(OutboxMessage)))
    with pytest.raises(StopIteration):
        next(fixture)  # the fixture's own teardown


SPACE_ROW = (
    "INSERT INTO spaces (id, venue_id, name, description, capacity, mode, slot_minutes, min_minutes, max_minutes,"
    " lead_minutes, horizon_days, buffer_minutes, requires_approval, cancel_hours, price_per_hour_cents, amenities,"
    " created_at) VALUES (1, 1, 'Zaal', '', 10, 'room', 30, 30, 480, 0, 90, 0, :f, 24, 0, '[]', :s)"
)
VENUE_ROW = (
    "INSERT INTO venues (id, name, kind, address, postcode, city, neighbourhood, lat, lon, timezone, description,"
    " contact, amenities, published, created_at) VALUES (1, 'De Pijler', 'community_centre', 'Herderplein 8', '',"
    " 'Utrecht', '', 52.09, 5.10, 'Europe/Amsterdam', '', '', '[]', :t, :s)"
)
USER_ROW = (
    "INSERT INTO users (id, email, name, password_hash, role, language, active, created_at, home_label)"
    " VALUES (1, 'anouk@example.org', 'Anouk', 'x', 'member', 'nl', :t, :s, '')"
)
BOOKING_ROW = (
    'INSERT INTO bookings (id, uid, kind, space_id, member_id, start, "end", seats, whole, title, status, sequence,'
    " created_at, updated_at, reason) VALUES (1, 'u1@dichtbij', 'booking', 1, 1, :a, :b, 10, :t, 'Oud', 'confirmed',"
    " 0, :s, :s, '')"
)


def test_migrate_from_an_older_schema_with_data(database_kind, tmp_path):
    """Upgrade a database of the bookings release (0003) that holds data: nothing is lost, new
    columns are filled (feed tokens, updated_at), and the app reads it."""
    import flask_migrate

    from app.database import enable_migrations

    url = empty_database(database_kind, "dichtbij_upgrade", tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    enable_migrations(app)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    stamp = now if database_kind == "postgresql" else now.replace(tzinfo=None)
    with app.app_context():
        flask_migrate.upgrade(revision="0003_bookings")
        db.session.execute(sa.text(USER_ROW), {"t": True, "s": stamp})
        db.session.execute(sa.text(VENUE_ROW), {"t": True, "s": stamp})
        db.session.execute(sa.text(SPACE_ROW), {"f": False, "s": stamp})
        db.session.execute(
            sa.text(BOOKING_ROW),
            {"a": stamp + timedelta(days=5), "b": stamp + timedelta(days=5, hours=2), "t": True, "s": stamp},
        )
        db.session.commit()
        flask_migrate.upgrade()
        row = db.session.execute(sa.text("SELECT feed_token FROM users WHERE id = 1")).one()
        assert len(row.feed_token) >= 30
        spaces = db.session.execute(sa.text("SELECT feed_token, busy_token, updated_at FROM spaces")).one()
        assert spaces.feed_token and spaces.busy_token and spaces.feed_token != spaces.busy_token
        assert spaces.updated_at is not None
        booking = db.session.get(Booking, 1)
        assert (booking.title, booking.start) == ("Oud", now + timedelta(days=5))
        db.engine.dispose()
