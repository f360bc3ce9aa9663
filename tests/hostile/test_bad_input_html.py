"""Malformed, oversized, wrong-typed and out-of-range values for every field of every HTML form:
a 422 with the message on the form (or a 400), never a 5xx, and nothing changes. The API's
fields are in test_bad_input_api.py.

Each case replaces one field of an otherwise valid form, so the field is the only reason to refuse.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, csrf_token
from tests.hostile.conftest import log_in, snapshot, table_counts

HUGE = 10**30
NUL = "a\x00b"

HTML_VENUE = {
    "name": "Bieb Oost",
    "kind": "library",
    "address": "Straat 1",
    "city": "Utrecht",
    "lat": "52.09",
    "lon": "5.12",
    "timezone": "Europe/Amsterdam",
}
HTML_SPACE = {
    "name": "Leeszaal",
    "mode": "room",
    "capacity": "4",
    "slot_minutes": "30",
    "min_minutes": "30",
    "max_minutes": "480",
    "lead_minutes": "0",
    "horizon_days": "90",
    "buffer_minutes": "0",
    "cancel_hours": "24",
    "price_per_hour_cents": "0",
}


def form_text(limit: int, required: bool = True) -> list[tuple[str, str]]:
    cases = [("too long", "x" * (limit + 1)), ("a NUL", NUL)]
    return [*cases, ("empty", ""), ("blank", "  ")] if required else cases


def form_number(low: int, high: int) -> list[tuple[str, str]]:
    return [
        ("words", "veel"),
        ("below the range", str(low - 1)),
        ("above the range", str(high + 1)),
        ("huge", str(HUGE)),
        ("a fraction", f"{low}.5"),
        ("empty", ""),
    ]


HTML_VENUE_FIELDS = {
    "name": form_text(120),
    "kind": [("unknown", "castle"), ("empty", "")],
    "address": form_text(200),
    "postcode": form_text(12, required=False),
    "city": form_text(80),
    "lat": [("words", "noord"), ("off the globe", "91"), ("nan", "nan"), ("inf", "inf"), ("empty", "")],
    "lon": [("words", "oost"), ("off the globe", "-181"), ("nan", "nan"), ("empty", "")],
    "timezone": [("unknown", "Mars/Olympus_Mons"), *form_text(64)],
    "description": form_text(5000, required=False),
    "contact": form_text(200, required=False),
    "amenities": [("unknown", "jacuzzi")],
}
HTML_SPACE_FIELDS = {
    "name": form_text(120),
    "description": form_text(5000, required=False),
    "mode": [("unknown", "hammock")],
    "capacity": form_number(1, 10_000),
    "slot_minutes": [*form_number(5, 240), ("not a slot size", "7")],
    "min_minutes": form_number(1, 10_080),
    "max_minutes": form_number(1, 10_080),
    "lead_minutes": form_number(0, 129_600),
    "horizon_days": form_number(1, 730),
    "buffer_minutes": form_number(0, 1440),
    "cancel_hours": form_number(0, 2160),
    "price_per_hour_cents": form_number(0, 10_000_000),
    "amenities": [("unknown", "jacuzzi")],
}
HTML_MOMENT = [
    ("words", "morgen"),
    ("an impossible day", "2026-02-30T09:00"),
    ("year 9999", "9999-12-08T09:00"),
    ("a NUL", "2026-12-08T09:00\x00"),
    ("empty", ""),
    ("too long", "2026-12-08T09:00" * 3),
]

# (name, actor, path, the page that carries the CSRF token, base form, {field: [(label, value)]})
HTML_FORMS = [
    (
        "register",
        None,
        "/register",
        "/register",
        {"name": "Nieuw", "email": "nieuw@example.org", "password": "lang genoeg wachtwoord", "language": "nl"},
        {
            "name": form_text(100),
            "email": [*form_text(254), ("not an address", "nieuw-at-example"), ("taken", "marja@example.org")],
            "password": [*form_text(200), ("too short", "kort")],
            "language": [("unknown", "fy")],
        },
    ),
    (
        "login",
        None,
        "/login",
        "/login",
        {"email": "marja@example.org", "password": PASSWORD},
        {"email": form_text(254), "password": form_text(200)},
    ),
    (
        "profile",
        "anouk",
        "/account",
        "/account",
        {"name": "Anouk", "language": "en"},
        {"name": form_text(100), "language": [("unknown", "fy"), ("empty", "")]},
    ),
    (
        "home",
        "anouk",
        "/account/home",
        "/account",
        {"home_lat": "52.09", "home_lon": "5.1"},
        {
            "home_lat": [("words", "noord"), ("off the globe", "91"), ("nan", "nan")],
            "home_lon": [("words", "oost"), ("off the globe", "181"), ("nan", "nan")],
            "home_label": form_text(100, required=False),
            "neighbourhood": [("unknown", "Atlantis")],
        },
    ),
    (
        "password",
        "anouk",
        "/account/password",
        "/account/password",
        {"current_password": PASSWORD, "new_password": "een nieuw lang wachtwoord"},
        {
            "current_password": [*form_text(200), ("wrong", "niet mijn wachtwoord")],
            "new_password": [*form_text(200), ("too short", "kort")],
        },
    ),
    ("tokens", "anouk", "/account/tokens", "/account/tokens", {"label": "script"}, {"label": form_text(100, False)}),
    (
        "book",
        "anouk",
        "/spaces/{room}/book",
        "/spaces/{room}/book",
        {"start": "2026-12-08T09:00", "end": "2026-12-08T10:00", "seats": "1"},
        {
            "start": [*HTML_MOMENT, ("in the past", "2026-11-02T09:00"), ("off the grid", "2026-12-08T09:10")],
            "end": [*HTML_MOMENT, ("before the start", "2026-12-08T08:00")],
            "seats": [*form_number(1, 10_000), ("more than fit", "13")],
            "title": form_text(200, required=False),
            "repeat-freq": [("monthly", "monthly")],
            "repeat-count": [("words", "vaak"), ("one", "1"), ("53", "53"), ("huge", str(HUGE))],
            "member_email": form_text(254, required=False),
        },
    ),
    (
        "cancel",
        "anouk",
        "/bookings/{booking}/cancel",
        "/bookings/{booking}/cancel",
        {},
        {"reason": form_text(500, required=False)},
    ),
    (
        "decide",
        "manager",
        "/manage/bookings/{pending}",
        "/manage/bookings/{pending}",
        {"action": "decline"},
        {
            "reason": form_text(500, required=False),
            "action": [("unknown", "explode"), ("empty", ""), ("a NUL", "approve\x00")],
        },
    ),
    (
        "approve",
        "manager",
        "/manage/bookings/{pending}",
        "/manage/bookings/{pending}",
        {"action": "approve"},
        {"message": form_text(500, required=False)},
    ),
    ("new venue", "manager", "/manage/venues/new", "/manage/venues/new", HTML_VENUE, HTML_VENUE_FIELDS),
    (
        "edit venue",
        "manager",
        "/manage/venues/{venue}/edit",
        "/manage/venues/{venue}/edit",
        HTML_VENUE,
        HTML_VENUE_FIELDS,
    ),
    (
        "add manager",
        "manager",
        "/manage/venues/{venue}/managers",
        "/manage/venues/{venue}/edit",
        {"email": "kees@example.org"},
        {"email": [*form_text(254), ("no account", "nobody@example.org")]},
    ),
    (
        "new space",
        "manager",
        "/manage/venues/{venue}/spaces/new",
        "/manage/venues/{venue}/spaces/new",
        HTML_SPACE,
        HTML_SPACE_FIELDS,
    ),
    (
        "edit space",
        "manager",
        "/manage/spaces/{room}/edit",
        "/manage/spaces/{room}/edit",
        HTML_SPACE,
        HTML_SPACE_FIELDS,
    ),
    (
        "hours",
        "manager",
        "/manage/spaces/{room}/hours",
        "/manage/spaces/{room}/hours",
        {"day0-0-opens": "09:00", "day0-0-closes": "17:00"},
        {
            "day0-0-opens": [("25:00", "25:00"), ("words", "negen uur"), ("a NUL", "09:00\x00")],
            "day0-0-closes": [("before it opens", "08:00"), ("empty", "")],
            "day0-1-opens": [("overlapping", "12:00")],
        },
    ),
    (
        "copy hours",
        "manager",
        "/manage/spaces/{room}/hours/copy",
        "/manage/spaces/{room}/hours",
        {"source": "{approval}"},
        {"source": [("words", "die"), ("a space of another venue", "{other_room}"), ("itself", "{room}")]},
    ),
    (
        "closure",
        "manager",
        "/manage/spaces/{room}/closures",
        "/manage/spaces/{room}/closures",
        {"variant": "days", "days-start": "2026-12-10", "days-end": "2026-12-11"},
        {
            "variant": [("unknown", "weeks"), ("empty", "")],
            "days-start": [
                ("words", "morgen"),
                ("an impossible day", "2026-02-30"),
                ("a NUL", "2026-12-10\x00"),
                ("empty", ""),
            ],
            "days-end": [("before the start", "2026-12-09"), ("year 9999", "9999-12-10")],
            "days-reason": form_text(200, required=False),
        },
    ),
]
# A day-0 window to overlap with the hours form's second row.
HTML_EXTRA = {"hours": {"day0-1-closes": "13:00"}}


def fill_form(world, form: dict) -> dict:
    return {key: world.fill(value) if isinstance(value, str) else value for key, value in form.items()}


HTML_GROUPS = {
    "accounts": ("register", "login", "profile", "home", "password", "tokens"),
    "bookings": ("book", "cancel", "decide", "approve"),
    "venues": ("new venue", "edit venue", "add manager"),
    "spaces": ("new space", "edit space", "hours", "copy hours", "closure"),
}


def test_every_html_form_is_in_a_group():
    grouped = [name for names in HTML_GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(f[0] for f in HTML_FORMS)


def html_problems(response, counts, after) -> list[str]:
    problems = []
    if response.status_code not in (400, 422):
        problems.append(f"status {response.status_code}")
    if "text/html" not in response.content_type:
        problems.append(f"content type {response.content_type}")
    if response.status_code == 422 and not re.search(
        r'id="error-summary"|aria-invalid="true"|utrecht-form-field-error-message', response.get_data(as_text=True)
    ):
        problems.append("422 without a message on the form")
    if after != counts:
        problems.append(f"changed {[t for t in counts if counts[t] != after[t]]}")
    return problems


@pytest.mark.parametrize("group", HTML_GROUPS)
def test_html_forms(app, world, group):
    clients = {}
    before = snapshot(app)
    counts = table_counts(app)
    wrong = []
    sent = 0
    for name, actor, path, page, base, fields in HTML_FORMS:
        if name not in HTML_GROUPS[group]:
            continue
        if actor not in clients:
            clients[actor] = log_in(app, world.accounts[actor]) if actor else app.test_client()
        client = clients[actor]
        url = world.fill(path)
        token = csrf_token(client, world.fill(page))
        for field, cases in fields.items():
            for label, value in cases:
                data = {**fill_form(world, base), field: world.fill(value), "csrf_token": token}
                if field in ("day0-1-opens",):
                    data.update(HTML_EXTRA["hours"])
                # Failed log-ins are throttled per address: each case comes from its own.
                sent += 1
                response = client.post(
                    url, data=data, environ_base={"REMOTE_ADDR": f"198.51.{sent // 250}.{sent % 250}"}
                )
                after = table_counts(app)
                if problems := html_problems(response, counts, after):
                    wrong.append(f"{name}: {field} = {label}: {'; '.join(problems)}")
                counts = after
    assert wrong == []
    assert snapshot(app) == before
    for actor, client in clients.items():
        if actor:  # still signed in: a refused form does not log anyone out
            assert client.get("/account").status_code == 200


def test_find_page_bad_queries(app, world):
    client = app.test_client()
    base = {"date": "2026-12-08", "from": "09:00", "until": "10:00"}
    cases = [
        ("date", "morgen"),
        ("date", "9999-12-31"),
        ("date", "2026-02-30"),
        ("from", "25:00"),
        ("until", "gisteren"),
        ("until", "08:00"),
        ("seats", "0"),
        ("seats", str(HUGE)),
        ("radius_km", "-5"),
        ("kind", "castle"),
        ("amenity", "jacuzzi"),
    ]
    statuses = {
        (field, value): client.get("/find", query_string={**base, field: value}).status_code for field, value in cases
    }
    assert statuses == dict.fromkeys(cases, 422)
    assert client.get("/find", query_string=base).status_code == 200
    assert client.get("/find", query_string={**base, "date": "2026-12-08\x00"}).status_code == 400


def test_blocks_from_the_calendar_refuse_bad_times_and_change_nothing(app, world):
    """The venue calendar's block form answers with a redirect and a message, never a 5xx."""
    client = log_in(app, world.accounts["manager"])
    url = world.fill("/manage/venues/{venue}/blocks")
    token = csrf_token(client, world.fill("/manage/venues/{venue}/calendar"))
    counts = table_counts(app)
    base = {"space_id": world.ids["room"], "start": "2026-12-09T09:00", "end": "2026-12-09T10:00", "csrf_token": token}
    cases = [
        ("start", "morgen"),
        ("start", "9999-12-09T09:00"),
        ("end", "2026-12-09T08:00"),
        ("end", ""),
        ("title", "x" * 201),
        ("space_id", "zaal"),
        ("space_id", str(HUGE)),
        ("space_id", str(world.ids["other_room"])),
    ]
    statuses = {}
    for field, value in cases:
        response = client.post(url, data={**base, field: value})
        statuses[(field, value[:20])] = response.status_code
    assert set(statuses.values()) <= {302, 404, 422}, statuses
    assert statuses[("space_id", str(world.ids["other_room"]))] == 404
    assert table_counts(app) == counts
