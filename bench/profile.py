"""Profile one benchmark request in-process with pyinstrument, on a copy of the seeded database.

    .venv/bin/python -m bench.profile calendar        # or: availability, search, venue,
    .venv/bin/python -m bench.profile feed-304 -n 50  #     feed-cold, venue-feed-cold, venue-feed-304,
    .venv/bin/python -m bench.profile booking         #     booking (POST, also times the write lock)
    .venv/bin/python -m bench.profile calendar --database postgresql   # on the cached PostgreSQL dump

The request runs through Flask's test client with the production configuration, so the profile
shows the app's own work (no gunicorn, no network). CPU time per request is printed first: on a
shared machine it is steadier than wall time. On PostgreSQL it is this process's CPU only (the
server's backend works on its own clock); the SQL statements' count and time are printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import seed
from bench.run import ROOT, seed_pgbin, working_database

WHAT = (
    "healthz", "availability", "search", "venue", "calendar", "feed-cold", "feed-304", "venue-feed-cold",
    "venue-feed-304", "booking",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile one benchmark request in-process.")
    parser.add_argument("what", choices=WHAT)
    parser.add_argument("-n", type=int, default=20, help="requests to time and to profile")
    parser.add_argument("--bookings", type=int, default=seed.Scale.bookings)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)
    if args.database == "postgresql" and not os.environ.get("TEST_POSTGRESQL_URL"):
        # The throwaway cluster `make bench` uses; the seeded dump is restored into it.
        if not (seed_pgbin() / "initdb").exists():
            subprocess.run([str(ROOT / "scripts" / "system-deps")], check=True)
        again = [sys.executable, "-m", "bench.profile", *(argv if argv is not None else sys.argv[1:])]
        return subprocess.run([str(ROOT / "scripts" / "with-postgres"), *again], cwd=ROOT).returncode
    work = Path(tempfile.mkdtemp(prefix="dichtbij-profile."))
    try:
        scale = seed.Scale(bookings=args.bookings, database=args.database)
        url, meta, cleanup = working_database(scale, work, SimpleNamespace(seconds={}))
        try:
            return _profile(args, meta, url, work)
        finally:
            cleanup()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _profile(args, meta: seed.Meta, url: str, work: Path) -> int:
    os.environ.update(
        DICHTBIJ_CONFIG="production",
        SESSION_COOKIE_SECURE="0",
        DATABASE_URL=url,
        SECRET_KEY="bench",
        DICHTBIJ_INSTANCE=str(work / "instance"),
    )
    from app import create_app

    app = create_app()
    client = app.test_client()
    if args.what == "booking":
        send, held = _bookings(app, client, meta, url, 3 + 2 * args.n)
    else:
        path, headers = _request(client, meta, args.what)

        def send():
            return client.get(path, headers=headers)

    for _ in range(3):
        response = send()
    held.clear() if args.what == "booking" else None
    print(f"{args.what}: {response.request.path} -> {response.status_code}, {len(response.data)} bytes")
    statements = _statement_clock(app)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.n):
        send()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{args.n} requests: {wall / args.n * 1000:.2f} ms wall, {cpu / args.n * 1000:.2f} ms CPU each")
    count, seconds = statements.pop()
    print(f"SQL statements (every thread's, the mail sender's too): {count / args.n:.1f} a request, "
          f"{seconds / args.n * 1000:.2f} ms (wall) a request")  # fmt: skip
    if args.what == "booking" and held:
        print(f"write transactions (BEGIN IMMEDIATE .. COMMIT): {len(held)}, {sum(held) / len(held) * 1000:.1f} ms "
              f"on average, {max(held) * 1000:.1f} ms the longest")  # fmt: skip
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(args.n):
        send()
    profiler.stop()
    print(profiler.output_text(color=False, unicode=False))
    return 0


def _statement_clock(app):
    """Counts the statements sent and the wall time until each returns (`pop()`: the totals,
    and stop counting)."""
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine
    totals = [0, 0.0]

    def before(conn, *_args):
        conn.info["dichtbij.statement_started"] = time.perf_counter()

    def after(conn, *_args):
        totals[0] += 1
        totals[1] += time.perf_counter() - conn.info.pop("dichtbij.statement_started", time.perf_counter())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)

    class Clock:
        @staticmethod
        def pop() -> tuple[int, float]:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
            return totals[0], totals[1]

    return Clock()


def _bookings(app, client, meta: seed.Meta, url: str, n: int):
    """A sender of valid booking requests over many spaces, and the list of write-lock times."""
    import random
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import event

    from app.extensions import db
    from bench.scenarios import booking_body, read_world

    world = read_world(url)
    rng = random.Random(3)
    today = datetime.now(UTC).date()
    spaces = [
        s for s in world.spaces if s["published"] and s["venue_id"] != meta.big_venue_id and world.windows[s["id"]]
    ]
    bodies = []
    while len(bodies) < n:
        space = rng.choice(spaces)
        body = booking_body(space, world.windows[space["id"]], rng, today + timedelta(days=2), 60)
        if body:
            bodies.append(body)
    tokens = iter(range(n))
    held, started = [], {}
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "begin")
    def _begin(conn):
        if conn.get_execution_options().get("sqlite_begin") == "IMMEDIATE":
            started[id(conn)] = time.perf_counter()

    @event.listens_for(engine, "commit")
    def _commit(conn):
        if id(conn) in started:
            held.append(time.perf_counter() - started.pop(id(conn)))

    def send():
        i = next(tokens)
        token = meta.tokens[meta.client_emails[i % len(meta.client_emails)]]
        return client.post("/api/v1/bookings", json=bodies[i], headers={"Authorization": f"Bearer {token}"})

    return send, held


def _request(client, meta: seed.Meta, what: str) -> tuple[str, dict]:
    from datetime import UTC, datetime, timedelta

    token = {"Authorization": f"Bearer {meta.tokens[meta.heavy_member]}"}
    manager = {"Authorization": f"Bearer {meta.tokens[meta.big_venue_manager]}"}
    day = datetime.now(UTC).date() + timedelta(days=7)
    if what == "healthz":
        return "/healthz", {}
    if what == "availability":
        return f"/api/v1/spaces/700/availability?from={day}&to={day + timedelta(days=6)}", token
    if what == "search":
        return f"/api/v1/venues?near=52.3702,4.8952&free_from={day}T10:00&free_to={day}T12:00", token
    if what == "venue":
        return "/venues/5", {}
    if what == "calendar":
        page = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/login", data={"email": meta.big_venue_manager, "password": meta.password, "csrf_token": csrf})
        return f"/manage/venues/{meta.big_venue_id}/calendar?date={meta.calendar_day}", {}
    if what.startswith("venue-feed"):
        url = json.loads(client.get(f"/api/v1/venues/{meta.big_venue_id}", headers=manager).data)["feed_url"]
    else:
        url = json.loads(client.get("/api/v1/me", headers=token).data)["feed_url"]
    path = "/" + url.split("/", 3)[3]
    if what.endswith("304"):
        return path, {"If-None-Match": client.get(path).headers["ETag"]}
    return path, {}


if __name__ == "__main__":
    sys.exit(main())
