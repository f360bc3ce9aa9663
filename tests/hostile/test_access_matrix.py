"""Who may see and change what, over every object endpoint, for the people who should not:
nobody signed in, another member, the manager of another venue, a revoked API token, a rotated
or borrowed feed secret.

The rule: never another's data; 404 for what the actor may not see, 403 for what they may see
but not change; without a usable token the API answers 401, and an HTML page asks to log in.
Each surface is one table; every row is checked, the mismatches reported together, and the
database must be exactly as it was afterwards.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.extensions import db
from tests.conftest import csrf_token
from tests.hostile.conftest import (
    ANOUK_EMAIL,
    ANOUK_NAME,
    ANOUK_TITLE,
    HIDDEN_VENUE_NAME,
    log_in,
    snapshot,
)

VENUE_BODY = {"name": "Overgenomen", "description": "weg"}
SPACE_BODY = {"name": "Overgenomen", "capacity": 1}
BOOK_BODY = {"start": "2026-12-08T09:00", "end": "2026-12-08T10:00"}

# (method, path, JSON body, expected status for another member and another venue's manager)
API_ROWS = [
    ("GET", "/api/v1/venues/{venue}", None, 200),
    ("GET", "/api/v1/venues/{hidden_venue}", None, 404),
    ("GET", "/api/v1/venues/{missing}", None, 404),
    ("PATCH", "/api/v1/venues/{venue}", VENUE_BODY, 403),
    ("PATCH", "/api/v1/venues/{hidden_venue}", VENUE_BODY, 404),
    ("DELETE", "/api/v1/venues/{venue}", None, 403),
    ("DELETE", "/api/v1/venues/{hidden_venue}", None, 404),
    ("POST", "/api/v1/venues/{venue}/managers", {"email": "samir@example.org"}, 403),
    ("POST", "/api/v1/venues/{hidden_venue}/managers", {"email": "samir@example.org"}, 404),
    ("POST", "/api/v1/venues/{venue}/spaces", SPACE_BODY, 403),
    ("POST", "/api/v1/venues/{hidden_venue}/spaces", SPACE_BODY, 404),
    ("GET", "/api/v1/spaces/{room}", None, 200),
    ("GET", "/api/v1/spaces/{hidden_space}", None, 404),
    ("PATCH", "/api/v1/spaces/{room}", SPACE_BODY, 403),
    ("PATCH", "/api/v1/spaces/{hidden_space}", SPACE_BODY, 404),
    ("DELETE", "/api/v1/spaces/{room}", None, 403),
    ("DELETE", "/api/v1/spaces/{hidden_space}", None, 404),
    ("GET", "/api/v1/spaces/{room}/hours", None, 200),
    ("GET", "/api/v1/spaces/{hidden_space}/hours", None, 404),
    ("PUT", "/api/v1/spaces/{room}/hours", {"hours": []}, 403),
    ("PUT", "/api/v1/spaces/{hidden_space}/hours", {"hours": []}, 404),
    ("GET", "/api/v1/spaces/{room}/closures", None, 200),
    ("GET", "/api/v1/spaces/{hidden_space}/closures", None, 404),
    ("POST", "/api/v1/spaces/{room}/closures", {"start": "2026-12-10", "end": "2026-12-10"}, 403),
    ("POST", "/api/v1/spaces/{hidden_space}/closures", {"start": "2026-12-10", "end": "2026-12-10"}, 404),
    ("DELETE", "/api/v1/closures/{closure}", None, 403),
    ("DELETE", "/api/v1/closures/{hidden_closure}", None, 404),
    ("GET", "/api/v1/spaces/{room}/availability?from=2026-12-01&to=2026-12-07", None, 200),
    ("GET", "/api/v1/spaces/{hidden_space}/availability?from=2026-12-01&to=2026-12-07", None, 404),
    ("GET", "/api/v1/bookings?space_id={room}", None, 403),
    ("GET", "/api/v1/bookings?space_id={hidden_space}", None, 404),
    ("GET", "/api/v1/bookings?venue_id={venue}", None, 403),
    ("GET", "/api/v1/bookings?venue_id={hidden_venue}", None, 404),
    ("GET", "/api/v1/bookings/{booking}", None, 404),
    ("GET", "/api/v1/bookings/{block}", None, 404),
    ("PATCH", "/api/v1/bookings/{booking}", {"title": "Gekaapt"}, 404),
    ("POST", "/api/v1/bookings/{booking}/cancel", {}, 404),
    ("POST", "/api/v1/bookings/{pending}/approve", {}, 404),
    ("POST", "/api/v1/bookings/{pending}/decline", {"reason": "nee"}, 404),
    ("POST", "/api/v1/series/{series}/cancel", {}, 404),
    ("POST", "/api/v1/spaces/{room}/blocks", BOOK_BODY, 403),
    ("POST", "/api/v1/spaces/{hidden_space}/blocks", BOOK_BODY, 404),
    ("POST", "/api/v1/bookings", {"space_id": "{room}", **BOOK_BODY, "member_email": ANOUK_EMAIL}, 403),
    ("POST", "/api/v1/bookings", {"space_id": "{hidden_space}", **BOOK_BODY}, 422),
    ("POST", "/api/v1/bookings", {"space_id": "{missing}", **BOOK_BODY}, 422),
    ("GET", "/api/v1/spaces/{room}/imports", None, 403),
    ("GET", "/api/v1/spaces/{hidden_space}/imports", None, 404),
    ("POST", "/api/v1/spaces/{room}/imports", {"url": "https://calendar.example.org/b.ics"}, 403),
    ("POST", "/api/v1/spaces/{hidden_space}/imports", {"url": "https://calendar.example.org/b.ics"}, 404),
    ("POST", "/api/v1/imports/{import}/sync", {}, 403),
    ("DELETE", "/api/v1/imports/{import}", None, 403),
    ("DELETE", "/api/v1/imports/{hidden_import}", None, 404),
    ("GET", "/api/v1/users", None, 403),
]
API_ACTORS = ("anonymous", "revoked", "samir", "other_manager")


def private_strings(world) -> list[str]:
    """Strings only the owners may see: never in an answer to the actors of this file."""
    s = world.secrets
    return [
        ANOUK_EMAIL,
        ANOUK_NAME,
        ANOUK_TITLE,
        HIDDEN_VENUE_NAME,
        "Extern",  # the imported calendar's event
        "calendar.example.org",  # the imported calendar's address
        s["anouk_feed"],
        s["anouk_old_feed"],
        s["venue_feed"],
        s["hidden_venue_feed"],
        s["room_feed"],
        s["hidden_space_feed"],
    ]


@pytest.fixture
def hidden_extras(app, world):
    """A closure and an import in the unpublished venue, so their endpoints can be asked about."""
    from datetime import UTC, datetime

    from app.accounts.models import User
    from app.availability import services as availability
    from app.feeds import imports
    from app.venues.models import Space
    from tests.hostile.conftest import SMALL_ICS

    with app.test_request_context():
        manager = db.session.get(User, world.accounts["manager"].id)
        space = db.session.get(Space, world.ids["hidden_space"])
        closure = availability.add_closure(
            manager, space, datetime(2026, 12, 10, tzinfo=UTC), datetime(2026, 12, 11, tzinfo=UTC), "Dicht"
        )
        request = imports.check_url(space, "https://calendar.example.org/hidden.ics")
        import_ = imports.create_import(manager, space, request, imports.Fetched(body=SMALL_ICS))
        db.session.commit()
        world.ids["hidden_closure"] = closure.id
        world.ids["hidden_import"] = import_.id
    return world


def fill_body(world, body):
    if body is None:
        return None
    out = {}
    for key, value in body.items():
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            value = world.ids[value[1:-1]]
        out[key] = value
    return out


@pytest.mark.parametrize("actor", API_ACTORS)
def test_api_access_matrix(app, client, hidden_extras, actor):
    world = hidden_extras
    before = snapshot(app)
    headers = world.headers(actor)
    private = private_strings(world)
    mismatches = []
    for number, (method, template, body, outsider) in enumerate(API_ROWS):
        expected = 401 if actor in ("anonymous", "revoked") else outsider
        path = world.fill(template)
        # Each row from its own address: failed tokens are throttled per address (tested elsewhere).
        address = {"REMOTE_ADDR": f"192.0.2.{number + 1}"}
        response = client.open(path, method=method, json=fill_body(world, body), headers=headers, environ_base=address)
        text = response.get_data(as_text=True)
        problems = []
        if response.status_code != expected:
            problems.append(f"status {response.status_code}, expected {expected}: {text[:200]}")
        if response.status_code >= 400 and response.content_type != "application/problem+json":
            problems.append(f"content type {response.content_type}")
        if response.status_code == 401 and response.headers.get("WWW-Authenticate") != 'Bearer realm="dichtbij"':
            problems.append("401 without WWW-Authenticate")
        problems += [f"shows {secret!r}" for secret in private if secret in text]
        if response.status_code == 200 and "feed_url" in response.json and "/venues/" in template:
            problems.append("shows the managers' feed_url")
        if problems:
            mismatches.append(f"{method} {template}: {'; '.join(problems)}")
    assert mismatches == []
    assert snapshot(app) == before


@pytest.mark.parametrize("actor", ("samir", "other_manager"))
def test_api_lists_show_only_ones_own(app, client, world, actor):
    headers = world.headers(actor)
    venues = client.get("/api/v1/venues", headers=headers).json["venues"]
    assert {v["id"] for v in venues} == {world.ids["venue"], world.ids["other_venue"]}
    assert all("feed_url" not in v for v in venues if v["id"] == world.ids["venue"])
    mine = client.get("/api/v1/bookings?from=2026-11-01&to=2027-03-01", headers=headers).json["bookings"]
    expected = {world.ids["samir_booking"]} if actor == "samir" else set()
    assert {b["id"] for b in mine} == expected
    me = client.get("/api/v1/me", headers=headers).json
    assert me["email"] == world.accounts[actor].email
    assert world.secrets["anouk_feed"] not in me["feed_url"]


def test_a_revoked_token_stays_revoked_after_use(app, client, world):
    """Using a revoked token (even many times) never brings it back."""
    for _ in range(3):
        assert client.get("/api/v1/me", headers=world.headers("revoked")).status_code == 401
    assert client.get("/api/v1/me", headers=world.headers("anouk")).status_code == 200


# -- HTML --------------------------------------------------------------------------------------

VENUE_FORM = {
    "name": "Overgenomen",
    "kind": "community_centre",
    "address": "Straat 1",
    "city": "Utrecht",
    "lat": "52.09",
    "lon": "5.1",
    "timezone": "Europe/Amsterdam",
}
SPACE_FORM = {
    "name": "Overgenomen",
    "mode": "room",
    "capacity": "3",
    "slot_minutes": "30",
    "min_minutes": "30",
    "max_minutes": "480",
    "lead_minutes": "0",
    "horizon_days": "90",
    "buffer_minutes": "0",
    "cancel_hours": "24",
    "price_per_hour_cents": "0",
}
LOGIN = "login"  # expected: a redirect to the log-in page

# (method, path, form, {actor: expected}); the default for a missing actor is in `html_expected`.
HTML_ROWS = [
    ("GET", "/venues/{venue}", None, {"anonymous": 200, "samir": 200, "other_manager": 200}),
    ("GET", "/venues/{hidden_venue}", None, {"anonymous": 404, "samir": 404, "other_manager": 404}),
    ("GET", "/venues/{missing}", None, {"anonymous": 404, "samir": 404, "other_manager": 404}),
    ("GET", "/spaces/{room}", None, {"anonymous": 200, "samir": 200, "other_manager": 200}),
    ("GET", "/spaces/{hidden_space}", None, {"anonymous": 404, "samir": 404, "other_manager": 404}),
    ("GET", "/spaces/{room}/book?start=2026-12-08T09:00", None, {"samir": 200, "other_manager": 200}),
    ("GET", "/spaces/{hidden_space}/book", None, {"samir": 404, "other_manager": 404}),
    ("GET", "/spaces/{missing}/book", None, {"samir": 404, "other_manager": 404}),
    (
        "POST",
        "/spaces/{hidden_space}/book",
        {"space_id": "{hidden_space}", **BOOK_BODY, "seats": "1"},
        {"samir": 404, "other_manager": 404},
    ),
    ("GET", "/bookings/{booking}", None, {}),
    ("GET", "/bookings/{block}", None, {}),
    ("GET", "/bookings/{missing}", None, {}),
    ("GET", "/bookings/{booking}/cancel", None, {}),
    ("POST", "/bookings/{booking}/cancel", {"reason": "weg"}, {}),
    ("POST", "/bookings/{series_booking}/cancel", {"scope": "series"}, {}),
    ("GET", "/bookings/{booking}/calendar.ics", None, {}),
    ("GET", "/manage/bookings/{booking}", None, {}),
    ("GET", "/manage/bookings/{pending}", None, {}),
    ("POST", "/manage/bookings/{pending}", {"action": "approve"}, {}),
    ("POST", "/manage/bookings/{pending}", {"action": "decline", "reason": "nee"}, {}),
    ("POST", "/manage/bookings/{booking}", {"action": "cancel", "reason": "weg"}, {}),
    ("GET", "/manage/venues/{venue}/edit", None, {"samir": 403, "other_manager": 403}),
    ("GET", "/manage/venues/{hidden_venue}/edit", None, {"samir": 403, "other_manager": 404}),
    ("POST", "/manage/venues/{venue}/edit", VENUE_FORM, {"samir": 403, "other_manager": 403}),
    ("POST", "/manage/venues/{hidden_venue}/edit", VENUE_FORM, {"samir": 403, "other_manager": 404}),
    ("POST", "/manage/venues/{venue}/managers", {"email": "kees@example.org"}, {"samir": 403, "other_manager": 403}),
    ("POST", "/manage/venues/{venue}/delete", {}, {"samir": 403, "other_manager": 403}),
    ("POST", "/manage/venues/{hidden_venue}/delete", {}, {"samir": 403, "other_manager": 404}),
    ("GET", "/manage/venues/{venue}/spaces/new", None, {"samir": 403, "other_manager": 403}),
    ("POST", "/manage/venues/{venue}/spaces/new", SPACE_FORM, {"samir": 403, "other_manager": 403}),
    ("GET", "/manage/venues/{venue}/calendar", None, {"samir": 403, "other_manager": 403}),
    ("GET", "/manage/venues/{hidden_venue}/calendar", None, {"samir": 404, "other_manager": 404}),
    (
        "POST",
        "/manage/venues/{venue}/blocks",
        {"space_id": "{room}", **BOOK_BODY, "title": "Gekaapt"},
        {"samir": 403, "other_manager": 403},
    ),
    ("GET", "/manage/spaces/{room}/edit", None, {"samir": 403, "other_manager": 403}),
    ("GET", "/manage/spaces/{hidden_space}/edit", None, {"samir": 403, "other_manager": 404}),
    ("POST", "/manage/spaces/{room}/edit", SPACE_FORM, {"samir": 403, "other_manager": 403}),
    ("POST", "/manage/spaces/{room}/delete", {}, {"samir": 403, "other_manager": 403}),
    ("GET", "/manage/spaces/{room}/hours", None, {"samir": 403, "other_manager": 403}),
    ("GET", "/manage/spaces/{hidden_space}/hours", None, {"samir": 403, "other_manager": 404}),
    (
        "POST",
        "/manage/spaces/{room}/hours",
        {"day0-0-opens": "06:00", "day0-0-closes": "23:00"},
        {"samir": 403, "other_manager": 403},
    ),
    ("POST", "/manage/spaces/{room}/hours/copy", {"source": "{other_room}"}, {"samir": 403, "other_manager": 403}),
    # Copying from a space one does not manage into one's own: the source is refused.
    (
        "POST",
        "/manage/spaces/{other_room}/hours/copy",
        {"source": "{room}"},
        {"samir": 403, "other_manager": 422},
    ),
    ("GET", "/manage/spaces/{room}/closures", None, {"samir": 403, "other_manager": 403}),
    ("GET", "/manage/spaces/{hidden_space}/closures", None, {"samir": 403, "other_manager": 404}),
    (
        "POST",
        "/manage/spaces/{room}/closures",
        {"variant": "days", "days-start": "2026-12-10", "days-end": "2026-12-10"},
        {"samir": 403, "other_manager": 403},
    ),
    ("POST", "/manage/closures/{closure}/delete", {}, {"samir": 403, "other_manager": 403}),
    ("POST", "/manage/closures/{hidden_closure}/delete", {}, {"samir": 403, "other_manager": 404}),
    ("POST", "/account/tokens/{anouk_token}/revoke", {}, {"samir": 404, "other_manager": 404}),
    ("GET", "/manage/spaces/{room}/calendars", None, {"samir": 403, "other_manager": 403}),
    ("GET", "/manage/spaces/{hidden_space}/calendars", None, {"samir": 404, "other_manager": 404}),
    (
        "POST",
        "/manage/spaces/{room}/calendars",
        {"url": "https://calendar.example.org/c.ics"},
        {"samir": 403, "other_manager": 403},
    ),
    ("POST", "/manage/calendars/{import}/sync", {}, {"samir": 403, "other_manager": 403}),
    ("POST", "/manage/calendars/{import}/delete", {}, {"samir": 403, "other_manager": 403}),
    ("POST", "/manage/calendars/{hidden_import}/delete", {}, {"samir": 404, "other_manager": 404}),
    ("GET", "/admin/users", None, {"samir": 403, "other_manager": 403}),
    ("POST", "/admin/users/{anouk}/role", {"role": "admin"}, {"samir": 403, "other_manager": 403}),
    ("GET", "/admin/users/{anouk}/deactivate", None, {"samir": 403, "other_manager": 403}),
    ("POST", "/admin/users/{anouk}/deactivate", {}, {"samir": 403, "other_manager": 403}),
    ("POST", "/admin/users/{anouk}/reactivate", {}, {"samir": 403, "other_manager": 403}),
]
HTML_ACTORS = ("anonymous", "bearer_only", "samir", "other_manager")


def html_expected(actor: str, row_expectations: dict) -> int | str:
    if actor in ("anonymous", "bearer_only"):
        # An API token is no log-in for the pages: without a session it is an anonymous visit.
        return row_expectations.get("anonymous", LOGIN)
    return row_expectations.get(actor, 404)


def html_client(app, world, actor):
    if actor in ("samir", "other_manager"):
        return log_in(app, world.accounts[actor]), {}
    client = app.test_client()
    headers = {"Authorization": f"Bearer {world.tokens['anouk']}"} if actor == "bearer_only" else {}
    return client, headers


@pytest.mark.parametrize("actor", HTML_ACTORS)
def test_html_access_matrix(app, hidden_extras, actor):
    world = hidden_extras
    client, headers = html_client(app, world, actor)
    token = csrf_token(client, "/login" if actor in ("anonymous", "bearer_only") else "/calendar")
    before = snapshot(app)
    private = private_strings(world)
    mismatches = []
    for method, template, form, expectations in HTML_ROWS:
        expected = html_expected(actor, expectations)
        path = world.fill(template)
        data = None
        if form is not None:
            data = {k: world.fill(v) for k, v in form.items()} | {"csrf_token": token}
        response = client.open(path, method=method, data=data, headers=headers)
        text = response.get_data(as_text=True)
        problems = []
        if expected == LOGIN:
            location = urlsplit(response.headers.get("Location", ""))
            if response.status_code != 302 or location.path != "/login":
                problems.append(f"status {response.status_code} to {location.path!r}, expected a log-in redirect")
        elif response.status_code != expected:
            problems.append(f"status {response.status_code}, expected {expected}")
        problems += [f"shows {secret!r}" for secret in private if secret in text]
        if problems:
            mismatches.append(f"{method} {template}: {'; '.join(problems)}")
    assert mismatches == []
    assert snapshot(app) == before


def test_another_managers_pages_list_only_their_own(app, world):
    client = log_in(app, world.accounts["other_manager"])
    page = client.get("/manage/venues").get_data(as_text=True)
    assert "Café De Hoek" in page
    assert "Buurthuis De Pijler" not in page and HIDDEN_VENUE_NAME not in page
    hours = client.get(f"/manage/spaces/{world.ids['other_room']}/hours").get_data(as_text=True)
    assert "Zaal" not in hours and "Achterkamer" not in hours  # copy-from lists only their own spaces
    found = client.get("/find?date=2026-12-08&from=09:00&until=10:00").get_data(as_text=True)
    assert HIDDEN_VENUE_NAME not in found


# -- feeds -------------------------------------------------------------------------------------

# (path, expected): the secret in a feed URL is the only key; a wrong, old or borrowed one is 404.
FEED_ROWS = [
    ("{member_feed_path}", 200),
    ("{old_member_feed_path}", 404),  # rotated
    ("/feeds/member/{samir}/{anouk_feed}.ics", 404),  # Anouk's secret on Samir's id
    ("/feeds/member/{anouk}/{venue_feed}.ics", 404),  # another object's secret
    ("/feeds/member/{anouk}/{anouk_feed_upper}.ics", 404),
    ("/feeds/member/{anouk}/{anouk_feed_prefix}.ics", 404),
    ("/feeds/member/{missing}/{anouk_feed}.ics", 404),
    ("{venue_feed_path}", 200),
    ("/feeds/venue/{other_venue}/{venue_feed}.ics", 404),
    ("/feeds/venue/{venue}/{room_feed}.ics", 404),
    ("/feeds/venue/{venue}/{anouk_feed}.ics", 404),
    ("{room_feed_path}", 200),
    ("/feeds/space/{room}/{room_busy}.ics", 404),  # the public busy secret opens no manager feed
    ("/feeds/space/{other_room}/{room_feed}.ics", 404),
    ("/feeds/space/{room}/{venue_feed}.ics", 404),
    ("{room_busy_path}", 200),
    ("/feeds/busy/{room}/{room_feed}.ics", 404),
    ("/feeds/busy/{other_room}/{room_busy}.ics", 404),
]


def test_feed_access_matrix(app, client, world):
    secrets = world.secrets
    extra = {"anouk_feed_upper": secrets["anouk_feed"].swapcase(), "anouk_feed_prefix": secrets["anouk_feed"][:-1]}
    mismatches = []
    for template, expected in FEED_ROWS:
        path = template.format(**world.ids, **secrets, **extra)
        response = client.get(path)
        if response.status_code != expected:
            mismatches.append(f"{template}: {response.status_code}, expected {expected}")
        elif expected == 404 and b"BEGIN:VCALENDAR" in response.data:
            mismatches.append(f"{template}: a calendar on a 404")
    assert mismatches == []
    # The public busy feed says when, never who or what.
    busy = client.get(secrets["room_busy_path"]).get_data(as_text=True)
    assert busy.count("BEGIN:VEVENT") == 5  # Anouk's booking, her series of three, the block
    for secret in [*private_strings(world), "Onderhoud", "ATTENDEE", "ORGANIZER", "DESCRIPTION"]:
        assert secret not in busy, secret
