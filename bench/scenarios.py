"""What the benchmark asks of Dichtbij: the requests of each scenario, built from the seeded data."""

from __future__ import annotations

import json
import random
import re
import sys
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bench import load, seed
from bench.load import Result, raw, request, run_wrk, sequential, settle


@dataclass
class World:
    """What the requests are built from, read from the working database."""

    spaces: list[dict]
    venues: list[dict]
    windows: dict[int, list[tuple[int, int, int]]]  # space -> [(weekday, opens, closes)] in minutes


def read_world(url: str) -> World:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        spaces = [dict(r._mapping) for r in conn.execute(sa.text(
            "SELECT s.id, s.venue_id, s.capacity, s.mode, s.slot_minutes, s.min_minutes, s.max_minutes, "
            "s.requires_approval, v.published "
            "FROM spaces s JOIN venues v ON v.id = s.venue_id ORDER BY s.id"))]  # fmt: skip
        venues = [dict(r._mapping) for r in conn.execute(sa.text("SELECT id, lat, lon, published FROM venues"))]
        windows: dict[int, list] = defaultdict(list)
        for space_id, weekday, opens, closes in conn.execute(
            sa.text("SELECT space_id, weekday, opens, closes FROM opening_windows")
        ):
            windows[space_id].append((weekday, _minutes(opens), _minutes(closes)))
    engine.dispose()
    return World(spaces, venues, windows)


def _minutes(value) -> int:
    text = str(value)
    return int(text[:2]) * 60 + int(text[3:5])


def booking_body(space: dict, windows, rng: random.Random, first_day: date, days: int) -> dict | None:
    day = first_day + timedelta(days=rng.randrange(days))
    options = [(o, c) for w, o, c in windows if w == day.weekday()]
    if not options:
        return None
    opens, closes = rng.choice(options)
    slot = space["slot_minutes"]
    length = max(space["min_minutes"], slot * rng.choice([1, 2, 2, 3, 4]))
    first = -(-opens // slot) * slot
    if first + length > closes or length > space["max_minutes"]:
        return None
    start = first + slot * rng.randrange((closes - length - first) // slot + 1)
    end = start + length
    body = {
        "space_id": space["id"],
        "start": f"{day.isoformat()}T{start // 60:02d}:{start % 60:02d}",
        "end": f"{day.isoformat()}T{end // 60:02d}:{end % 60:02d}",
        "seats": 1 if space["mode"] == "room" else rng.choice([1, 1, 2, 3]),
    }
    return body


GROUPS = ("healthz", "availability", "search", "venue", "calendar", "feeds", "booking")


def measure_app(port, url, world: World, meta: seed.Meta, rng, d, w, c, work, report,
                only: frozenset[str] = frozenset(GROUPS)) -> list[Result]:  # fmt: skip
    """Every scenario in `only` (all by default: a partial run is for working on one of them)."""
    results: list[Result] = []
    tokens = [meta.tokens[e] for e in meta.client_emails]
    today = datetime.now(UTC).date()
    published_spaces = [s for s in world.spaces if s["published"]]
    published_venues = [v for v in world.venues if v["published"]]

    def bearer(i: int) -> dict:
        return {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}

    # The app's own floor: /healthz is one "SELECT 1" through the same middleware and session.
    if "healthz" in only:
        results.append(run_wrk("healthz (app floor: SELECT 1)", port, [raw("GET", "/healthz", port)], c, d, work, w))

    # Availability of a space for a week.
    if "availability" in only:
        reqs = []
        for i in range(4000):
            space = rng.choice(published_spaces)
            first = today + timedelta(days=rng.randint(0, 28))
            path = f"/api/v1/spaces/{space['id']}/availability?from={first}&to={first + timedelta(days=6)}"
            reqs.append(raw("GET", path, port, bearer(i)))
        results.append(run_wrk("availability, a week", port, reqs, c, d, work, w))
        results.append(run_wrk("availability, a week", port, reqs, 1, d, work, w))

    # Search near a point with a time window (near a venue, so where people live).
    if "search" in only:
        reqs = []
        for i in range(4000):
            v = rng.choice(published_venues)
            lat, lon = v["lat"] + rng.gauss(0, 0.01), v["lon"] + rng.gauss(0, 0.015)
            day = today + timedelta(days=rng.randint(1, 14))
            hour = rng.randint(9, 19)
            query = urllib.parse.urlencode({"near": f"{lat:.5f},{lon:.5f}", "free_from": f"{day}T{hour:02d}:00",
                                            "free_to": f"{day}T{hour + 2:02d}:00"})  # fmt: skip
            reqs.append(raw("GET", f"/api/v1/venues?{query}", port, bearer(i)))
        results.append(run_wrk("search near + free window", port, reqs, c, d, work, w))
        results.append(run_wrk("search near + free window", port, reqs, 1, d, work, w))

    # A venue page, anonymous.
    if "venue" in only:
        reqs = [raw("GET", f"/venues/{rng.choice(published_venues)['id']}", port, {"Accept-Language": "nl"})
                for _ in range(4000)]  # fmt: skip
        results.append(run_wrk("venue page (anonymous)", port, reqs, c, d, work, w))

    # The manager's day calendar of the big venue, logged in through the form.
    if "calendar" in only:
        cookie = login(port, meta.big_venue_manager, meta.password)
        path = f"/manage/venues/{meta.big_venue_id}/calendar?date={meta.calendar_day}"
        status, _h, body = request("GET", port, path, {"Cookie": cookie})
        shown = body.decode().count('href="/manage/bookings/') if status == 200 else 0
        report.checks["calendar_status"] = status
        report.checks["calendar_page_kb"] = round(len(body) / 1024, 1)
        results.append(run_wrk("manager day calendar (50 spaces, 100 bookings)", port,
                               [raw("GET", path, port, {"Cookie": cookie})], c, d, work, w))  # fmt: skip
        results[-1].note = f"{shown} booking entries on the page" if shown else ""

    # Feeds: cold (200) and unchanged (304).
    if "feeds" in only:
        settle()
        report.checks["worker_rss_mb_before_feeds"] = load.SERVER.worker_rss_mb() if load.SERVER else []
        heavy = {"Authorization": f"Bearer {meta.tokens[meta.heavy_member]}"}
        manager = {"Authorization": f"Bearer {meta.tokens[meta.big_venue_manager]}"}
        member_feed = json.loads(request("GET", port, "/api/v1/me", heavy)[2])["feed_url"]
        venue_feed = json.loads(request("GET", port, f"/api/v1/venues/{meta.big_venue_id}", manager)[2])["feed_url"]
        for label, feed_url in (("member feed", member_feed), ("venue feed", venue_feed)):
            path = urllib.parse.urlsplit(feed_url).path
            status, headers, body = request("GET", port, path)
            events = body.count(b"BEGIN:VEVENT")
            report.checks[f"{label} events"] = events
            report.checks[f"{label} kb"] = round(len(body) / 1024, 1)
            etag = headers.get("ETag")
            results.append(sequential(f"{label} ({events} events), cold 200 (built)", port, path, d, fresh_host=True))
            # Google Calendar polls without If-None-Match: an unchanged feed comes from the body cache.
            results.append(sequential(f"{label} ({events} events), 200 unchanged (cached)", port, path, d))
            hot = raw("GET", path, port, {"If-None-Match": etag})
            results.append(run_wrk(f"{label} ({events} events), 304", port, [hot], c, d, work, w))

    # Booking creation: many spaces, then all on one space.
    def post_booking(body: dict, i: int) -> bytes:
        headers = {**bearer(i), "Content-Type": "application/json"}
        return raw("POST", "/api/v1/bookings", port, headers, json.dumps(body))

    if "booking" in only:
        before = booking_count(url)
        open_spaces = [s for s in published_spaces if s["venue_id"] != meta.big_venue_id and world.windows.get(s["id"])]
        reqs = []
        while len(reqs) < 20_000:
            space = rng.choice(open_spaces)
            body = booking_body(space, world.windows[space["id"]], rng, today + timedelta(days=2), 60)
            if body:
                reqs.append(post_booking(body, len(reqs)))
        results.append(run_wrk("create booking, many spaces", port, reqs, c, d, work))
        # A shared space of about ten seats, open most days: the busiest kind of space.
        one = min(open_spaces, key=lambda s: (s["mode"] != "seats", s["requires_approval"], abs(s["capacity"] - 10),
                                              -len(world.windows[s["id"]]), s["id"]))  # fmt: skip
        reqs = []
        while len(reqs) < 20_000:
            body = booking_body(one, world.windows[one["id"]], rng, today + timedelta(days=2), 14)
            if body:
                reqs.append(post_booking(body, len(reqs)))
        results.append(run_wrk(f"create booking, one space ({one['capacity']} seats)", port, reqs, c, d, work))
        created = sum(r.statuses.get("201", 0) for r in results[-2:])
        report.checks["bookings_201"] = created
        report.checks["bookings_in_database_after"] = booking_count(url) - before
        unexpected = {k: v for r in results[-2:] for k, v in r.statuses.items() if k not in ("201", "409", "422")}
        report.checks["unexpected_statuses"] = unexpected
    return results


def booking_count(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text("SELECT COUNT(*) FROM bookings")).scalar()
    engine.dispose()
    return value


def login(port: int, email: str, password: str) -> str:
    """Log in through the real form, CSRF token included; returns the Cookie header."""
    status, headers, body = request("GET", port, "/login")
    cookie = headers.get("Set-Cookie", "").split(";", 1)[0]
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body.decode()) or re.search(
        r'name="csrf_token" value="([^"]+)"', body.decode()
    )
    if status != 200 or not match:
        sys.exit(f"bench: no log-in form ({status})")
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": match.group(1)})
    status, headers, _b = request("POST", port, "/login", {
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, form.encode())  # fmt: skip
    if status != 302:
        sys.exit(f"bench: log-in failed ({status})")
    return headers.get("Set-Cookie", "").split(";", 1)[0]
