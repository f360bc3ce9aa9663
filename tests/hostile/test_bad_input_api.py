"""Malformed, oversized, wrong-typed and out-of-range values for every field of every API
endpoint: each is a clear 4xx, never a 5xx: a problem document whose `errors` names the field
for a 422 (a NUL character or a lone surrogate is a 400 for the whole request). And nothing
changes. The HTML forms' fields are in test_bad_input_html.py.

Each case replaces one field of an otherwise valid body, so the field is the only reason to refuse.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.hostile.conftest import log_in, snapshot, table_counts

HUGE = 10**30
NUL = "a\x00b"
SURROGATE = "a\ud800b"


def text(limit: int, required: bool = True) -> list[tuple[str, object]]:
    cases = [
        ("a number", 12),
        ("a list", ["a"]),
        ("an object", {"a": 1}),
        ("a boolean", True),
        ("too long", "x" * (limit + 1)),
        ("a NUL", NUL),
        ("a lone surrogate", SURROGATE),
    ]
    return [*cases, ("empty", ""), ("blank", "   ")] if required else cases


def number(low: int | float, high: int | float, integer: bool = True) -> list[tuple[str, object]]:
    cases = [
        ("a string", str(low)),
        ("a boolean", True),
        ("a list", [low]),
        ("below the range", low - 1),
        ("above the range", high + 1),
        ("huge", HUGE),
        ("hugely negative", -HUGE),
    ]
    return [*cases, ("a fraction", low + 0.5)] if integer else [*cases, ("too precise to be huge", 1e308)]


BOOLEAN = [("a string", "yes"), ("a number", 1), ("a list", [True])]
AMENITY_LIST = [("a string", "wifi"), ("numbers", [1]), ("unknown", ["jacuzzi"]), ("an object", {"wifi": True})]


def choice(*bad: str) -> list[tuple[str, object]]:
    return [("a number", 1), ("a list", ["x"]), *((f"{value!r}", value) for value in bad)]


def moment(limit: int = 40, required: bool = True) -> list[tuple[str, object]]:
    """Bad date-times; an empty one means "unchanged" or "from now" where the field is optional."""
    cases = [
        ("words", "gisteren"),
        ("an impossible day", "2026-02-30T09:00"),
        ("an impossible hour", "2026-12-08T25:00"),
        ("year 9999", "9999-12-08T09:00"),
        ("year 1", "0001-12-08T09:00"),
        ("a number", 20261208),
        ("too long", "2026-12-08T09:00" + " " * limit),
        ("a NUL", "2026-12-08T09:00\x00"),
        ("a lone surrogate", "2026-12-08T09:00\ud800"),
    ]
    return [*cases, ("empty", "")] if required else cases


VENUE = {
    "name": "Bieb Oost",
    "kind": "library",
    "address": "Straat 1",
    "city": "Utrecht",
    "lat": 52.09,
    "lon": 5.12,
}
VENUE_FIELDS = {
    "name": text(120),
    "kind": choice("castle", ""),
    "address": text(200),
    "postcode": text(12, required=False),
    "city": text(80),
    "neighbourhood": text(80, required=False),
    "lat": number(-90, 90, integer=False),
    "lon": number(-180, 180, integer=False),
    "timezone": [*text(64), ("unknown", "Mars/Olympus_Mons"), ("a path", "../../etc/passwd")],
    "description": text(5000, required=False),
    "contact": text(200, required=False),
    "amenities": AMENITY_LIST,
    "published": BOOLEAN,
}
SPACE = {"name": "Leeszaal", "capacity": 4}
SPACE_FIELDS = {
    "name": text(120),
    "description": text(5000, required=False),
    "mode": choice("hammock", ""),
    "capacity": number(1, 10_000),
    "slot_minutes": [*number(5, 240), ("not a slot size", 7)],
    "min_minutes": [*number(1, 10_080), ("not whole slots", 45)],
    "max_minutes": [*number(1, 10_080), ("not whole slots", 95)],
    "lead_minutes": number(0, 129_600),
    "horizon_days": number(1, 730),
    "buffer_minutes": number(0, 1440),
    "requires_approval": BOOLEAN,
    "cancel_hours": number(0, 2160),
    "price_per_hour_cents": number(0, 10_000_000),
    "amenities": AMENITY_LIST,
}
BOOKING = {"space_id": "{room}", "start": "2026-12-08T09:00", "end": "2026-12-08T10:00"}
BOOKING_FIELDS = {
    "space_id": [*number(1, 10**6), ("zero", 0), ("a hidden space", "{hidden_space}"), ("no space", "{missing}")],
    "start": [*moment(), ("in the past", "2026-11-02T09:00"), ("off the grid", "2026-12-08T09:10")],
    "end": [*moment(), ("before the start", "2026-12-08T08:00"), ("equal to the start", "2026-12-08T09:00")],
    "seats": [*number(1, 10_000), ("more than fit", 13)],
    "whole": BOOLEAN,
    "title": text(200, required=False),
    "repeat": [
        ("a string", "weekly"),
        ("a list", ["weekly"]),
        ("without count", {"freq": "weekly"}),
        ("an unknown key", {"freq": "weekly", "count": 3, "until": "2027-01-01"}),
    ],
    "repeat.freq": [("monthly", {"freq": "monthly", "count": 3}), ("a number", {"freq": 7, "count": 3})],
    "repeat.count": [
        ("one", {"freq": "weekly", "count": 1}),
        ("53", {"freq": "weekly", "count": 53}),
        ("huge", {"freq": "weekly", "count": HUGE}),
        ("a string", {"freq": "weekly", "count": "3"}),
    ],
    "repeat.skip_conflicts": [("a string", {"freq": "weekly", "count": 2, "skip_conflicts": "yes"})],
    "member_email": [*text(254, required=False), ("no account", "nobody@example.org")],
}
CHANGE_FIELDS = {
    "start": moment(required=False),
    "end": [*moment(required=False), ("before the start", "2026-12-03T08:00")],
    "seats": number(1, 10_000),
    "whole": BOOLEAN,
    "title": text(200, required=False),
}
DATE = [
    ("words", "morgen"),
    ("an impossible day", "2026-02-30"),
    ("year 9999", "9999-12-10"),
    ("a number", 20261210),
    ("a NUL", "2026-12-10\x00"),
    ("too long", "2026-12-10" + "T09:00" * 6),
    ("empty", ""),
]
HOURS_FIELDS = {
    "hours": [
        ("a string", "ma-vr 9-17"),
        ("numbers", [1, 2]),
        ("too many", [{"weekday": d % 7, "opens": "09:00", "closes": "09:01"} for d in range(101)]),
    ],
    "hours[0].weekday": [
        (label, [{"weekday": value, "opens": "09:00", "closes": "17:00"}]) for label, value in number(0, 6)
    ],
    "hours[0].opens": [
        ("25:00", [{"weekday": 0, "opens": "25:00", "closes": "17:00"}]),
        ("words", [{"weekday": 0, "opens": "negen uur", "closes": "17:00"}]),
        ("a number", [{"weekday": 0, "opens": 900, "closes": "17:00"}]),
        ("a NUL", [{"weekday": 0, "opens": "09:00\x00", "closes": "17:00"}]),
    ],
    "hours[0].closes": [("before it opens", [{"weekday": 0, "opens": "17:00", "closes": "09:00"}])],
    "hours[1].opens": [
        (
            "overlapping",
            [{"weekday": 0, "opens": "09:00", "closes": "12:00"}, {"weekday": 0, "opens": "11:00", "closes": "13:00"}],
        )
    ],
    "hours[0].extra": [("an unknown key", [{"weekday": 0, "opens": "09:00", "closes": "17:00", "extra": 1}])],
}
REASON = {"reason": text(500, required=False)}

# (name, actor, method, path, base body, {field: [(label, value)]})
API_ENDPOINTS = [
    (
        "tokens",
        None,
        "POST",
        "/api/v1/tokens",
        {"email": "marja@example.org", "password": PASSWORD},
        {"email": text(254), "password": text(200), "label": text(100, required=False)},
    ),
    ("create venue", "manager", "POST", "/api/v1/venues", VENUE, VENUE_FIELDS),
    ("change venue", "manager", "PATCH", "/api/v1/venues/{venue}", {}, VENUE_FIELDS),
    (
        "add manager",
        "manager",
        "POST",
        "/api/v1/venues/{venue}/managers",
        {"email": "kees@example.org"},
        {"email": [*text(254), ("no account", "nobody@example.org")]},
    ),
    ("create space", "manager", "POST", "/api/v1/venues/{venue}/spaces", SPACE, SPACE_FIELDS),
    ("change space", "manager", "PATCH", "/api/v1/spaces/{room}", {}, SPACE_FIELDS),
    ("hours", "manager", "PUT", "/api/v1/spaces/{room}/hours", {"hours": []}, HOURS_FIELDS),
    (
        "closure",
        "manager",
        "POST",
        "/api/v1/spaces/{room}/closures",
        {"start": "2026-12-10", "end": "2026-12-11"},
        {
            "start": DATE,
            "end": [*DATE, ("before the start", "2026-12-09")],
            "reason": text(200, required=False),
        },
    ),
    ("book", "anouk", "POST", "/api/v1/bookings", BOOKING, BOOKING_FIELDS),
    ("change booking", "anouk", "PATCH", "/api/v1/bookings/{booking}", {}, CHANGE_FIELDS),
    ("cancel booking", "anouk", "POST", "/api/v1/bookings/{booking}/cancel", {}, REASON),
    (
        "cancel series",
        "anouk",
        "POST",
        "/api/v1/series/{series}/cancel",
        {},
        {"from": moment(required=False), **REASON},
    ),
    (
        "approve",
        "manager",
        "POST",
        "/api/v1/bookings/{pending}/approve",
        {},
        {"message": text(500, required=False)},
    ),
    ("decline", "manager", "POST", "/api/v1/bookings/{pending}/decline", {}, REASON),
    (
        "block",
        "manager",
        "POST",
        "/api/v1/spaces/{room}/blocks",
        {"start": "2026-12-09T09:00", "end": "2026-12-09T10:00"},
        {
            "start": moment(),
            "end": [*moment(), ("before the start", "2026-12-09T08:00")],
            "title": text(200, required=False),
        },
    ),
    (
        "import",
        "manager",
        "POST",
        "/api/v1/spaces/{room}/imports",
        {"url": "https://calendar.example.org/other.ics"},
        {
            "url": [
                *text(2000),
                ("not a web address", "zomaar wat"),
                ("ftp", "ftp://calendar.example.org/a.ics"),
                ("javascript", "javascript:alert(1)"),
                ("with a password", "https://user:pw@calendar.example.org/a.ics"),
                ("with a space", "https://calendar.example.org/a b.ics"),
                ("already imported", "https://calendar.example.org/zaal.ics"),
            ]
        },
    ),
]

# Query strings: (name, actor, path, base query, {field: [(label, value)]})
API_QUERIES = [
    (
        "search",
        "anouk",
        "/api/v1/venues",
        {},
        {
            "near": [
                ("words", "hier"),
                ("off the globe", "91,5"),
                ("off the globe east", "52,181"),
                ("nan", "nan,nan"),
            ],
            "radius_km": [("negative", "-1"), ("too far", "1000"), ("words", "ver"), ("nan", "nan"), ("inf", "inf")],
            "kind": [("unknown", "castle")],
            "amenity": [("unknown", "jacuzzi")],
            "seats": [("zero", "0"), ("words", "veel"), ("huge", str(HUGE)), ("a fraction", "1.5"), ("empty", "")],
            "limit": [("zero", "0"), ("too many", "101"), ("words", "veel"), ("empty", "")],
            "cursor": [("not ours", "bm9wZQ"), ("not base64", "!!")],
            "free_from": [("words", "straks"), ("year 9999", "9999-01-01T09:00")],
            "free_to": [("before free_from", "2026-12-08T08:00"), ("weeks later", "2027-02-08T08:00")],
        },
    ),
    (
        "bookings",
        "anouk",
        "/api/v1/bookings",
        {},
        {
            "from": [("words", "gisteren"), ("year 9999", "9999-01-01"), ("too long", "2026-12-01" * 5)],
            "to": [("before from", "2026-01-01"), ("more than a year", "2028-06-01")],
            "space_id": [
                ("words", "zaal"),
                ("huge", str(HUGE)),
                ("negative", "-1"),
                ("too big for an id", "2147483648"),
            ],
            "venue_id": [("words", "hier"), ("huge", str(HUGE)), ("negative", "-1")],
            "status": [("unknown", "maybe")],
        },
    ),
    (
        "availability",
        "anouk",
        "/api/v1/spaces/{room}/availability",
        {"from": "2026-12-01", "to": "2026-12-07"},
        {
            "from": [("words", "morgen"), ("too long", "2026-12-01T09:00"), ("an impossible day", "2026-02-30")],
            "to": [("before from", "2026-11-01"), ("too many days", "2027-03-01"), ("empty", "")],
        },
    ),
]
QUERY_BASES = {"search": {"free_from": "2026-12-08T09:00", "free_to": "2026-12-08T10:00"}, "bookings": {}}


def fill(world, value):
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return world.ids[value[1:-1]]
    return value


def check_api(response, field: str, counts_before, counts_after) -> list[str]:
    problems = []
    status = response.status_code
    if not 400 <= status < 500:
        problems.append(f"status {status}")
    if response.content_type != "application/problem+json":
        problems.append(f"content type {response.content_type}")
    elif status == 422:
        errors = response.json.get("errors") or {}
        top = field.split(".")[0].split("[")[0]
        named = [key for key in errors if key == field or key.split(".")[0].split("[")[0] == top]
        if not named:
            problems.append(f"422 without errors[{field!r}]: {errors}")
    if counts_after != counts_before:
        problems.append(f"changed {[t for t in counts_before if counts_before[t] != counts_after[t]]}")
    return problems


# One test per group (one neighbourhood each), every endpoint of the group inside it.
API_GROUPS = {
    "accounts and venues": ("tokens", "create venue", "change venue", "add manager"),
    "spaces": ("create space", "change space", "hours", "closure", "import"),
    "bookings": ("book", "change booking", "cancel booking", "cancel series", "approve", "decline", "block"),
}


def test_every_api_endpoint_is_in_a_group():
    grouped = [name for names in API_GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(e[0] for e in API_ENDPOINTS)


@pytest.mark.parametrize("group", API_GROUPS)
def test_api_bodies(app, world, group):
    client = app.test_client()
    before = snapshot(app)
    counts = table_counts(app)
    wrong = []
    for name, actor, method, path, base, fields in API_ENDPOINTS:
        if name not in API_GROUPS[group]:
            continue
        headers = world.headers(actor) if actor else {}
        url = world.fill(path)
        cases = [(field, label, value) for field, values in fields.items() for label, value in values]
        for field, label, value in [*cases, ("unknown", "an unknown field", 1)]:
            body = {key: fill(world, v) for key, v in base.items()}
            if field.startswith("repeat."):
                body["repeat"] = value
            elif field.startswith("hours["):
                body["hours"] = value
            else:
                body[field] = fill(world, value)
            response = client.open(url, method=method, json=body, headers=headers)
            after = table_counts(app)
            if problems := check_api(response, field, counts, after):
                text = response.get_data(as_text=True)[:150]
                wrong.append(f"{name}: {field} = {label}: {'; '.join(problems)} {text}")
            counts = after
    assert wrong == []
    assert snapshot(app) == before


def test_idempotency_key_header(app, world):
    client = app.test_client()
    body = {"space_id": world.ids["room"], "start": "2026-12-08T09:00", "end": "2026-12-08T10:00"}
    counts = table_counts(app)
    for key, field, status in [("k" * 201, "Idempotency-Key", 422), ("a\x00b", None, 400)]:
        response = client.post(
            "/api/v1/bookings", json=body, headers={**world.headers("anouk"), "Idempotency-Key": key}
        )
        assert response.status_code == status, response.json
        assert response.content_type == "application/problem+json"
        if field:
            assert field in response.json["errors"]
    assert table_counts(app) == counts


@pytest.mark.parametrize(("name", "actor", "path", "base", "fields"), API_QUERIES, ids=[q[0] for q in API_QUERIES])
def test_api_queries(app, world, name, actor, path, base, fields):
    client = app.test_client()
    url = world.fill(path)
    counts = table_counts(app)
    wrong = []
    for field, cases in fields.items():
        for label, value in cases:
            query = {**base, **QUERY_BASES.get(name, {}), field: value}
            response = client.get(url, query_string=query, headers=world.headers(actor))
            if problems := check_api(response, field, counts, table_counts(app)):
                wrong.append(f"{field} = {label}: {'; '.join(problems)} {response.get_data(as_text=True)[:150]}")
    for label, value in [("a NUL", "a\x00b"), ("a NUL in the name", None)]:
        query = {**base, "near" if value else "x\x00": value or "1"}
        response = client.get(url, query_string=query, headers=world.headers(actor))
        if response.status_code != 400:
            wrong.append(f"{label}: {response.status_code}")
    assert wrong == []


def test_ids_in_paths_beyond_any_row_are_404(app, world):
    """Ids past a 32-bit integer overflowed the query (a 500 on both databases) before MAX_ID."""
    client = app.test_client()
    paths = [
        ("GET", "/api/v1/venues/{id}"),
        ("PATCH", "/api/v1/venues/{id}"),
        ("DELETE", "/api/v1/spaces/{id}"),
        ("GET", "/api/v1/spaces/{id}/availability?from=2026-12-01&to=2026-12-02"),
        ("POST", "/api/v1/bookings/{id}/cancel"),
        ("DELETE", "/api/v1/closures/{id}"),
        ("POST", "/api/v1/imports/{id}/sync"),
    ]
    statuses = {}
    for number in (2**31, 2**63, HUGE):
        for method, template in paths:
            response = client.open(template.format(id=number), method=method, json={}, headers=world.headers("manager"))
            statuses[(method, template, number)] = response.status_code
    assert set(statuses.values()) == {404}, {k: v for k, v in statuses.items() if v != 404}
    manager = log_in(app, world.accounts["manager"])
    for template in ("/venues/{id}", "/spaces/{id}", "/bookings/{id}", "/manage/venues/{id}/calendar"):
        assert manager.get(template.format(id=2**63)).status_code == 404, template
    # The largest id is still an id: it is looked up (and not found).
    assert client.get(f"/api/v1/venues/{2**31 - 1}", headers=world.headers("manager")).status_code == 404
