"""The web layer under attack: every state-changing HTML form refuses a request without its
CSRF token, every page and error page carries the security headers, and bodies over
MAX_CONTENT_LENGTH are refused with 413 (problem+json under /api, a page elsewhere).

The routes come from app.url_map, so a form added later is covered without editing this file.
"""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import Rule

from tests.conftest import csrf_token
from tests.hostile.conftest import log_in, snapshot

# A URL argument's name → the world's object of that kind (one the logged-in admin may change).
ARGUMENTS = {
    "venue_id": "venue",
    "space_id": "room",
    "booking_id": "pending",
    "closure_id": "closure",
    "import_id": "import",
    "token_id": "anouk_token",
    "user_id": "samir",
    "series_id": "series",
}


def url_for_rule(rule: Rule, world) -> str:
    """The rule's path with real ids; an argument we do not know yet gets 1 (still a POST to check)."""
    values = {}
    for name in rule.arguments:
        key = ARGUMENTS.get(name)
        values[name] = world.ids[key] if key else 1
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:[^:>]+:)?{name}>", str(value), path)
    return path


def html_post_rules(app) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and not rule.rule.startswith("/api/")]


def test_the_url_map_has_the_forms_we_know(app):
    paths = {rule.rule for rule in html_post_rules(app)}
    for known in ("/login", "/logout", "/spaces/<int:space_id>/book", "/manage/bookings/<int:booking_id>"):
        assert known in paths
    assert all(name in ARGUMENTS for rule in html_post_rules(app) for name in rule.arguments), [
        rule.rule for rule in html_post_rules(app) if set(rule.arguments) - set(ARGUMENTS)
    ]


@pytest.mark.parametrize("token", ["missing", "another session's", "tampered"])
def test_every_html_form_needs_its_csrf_token(app, world, token):
    """Signed in as an administrator (who may do everything), a POST without a valid token is a
    400 and changes nothing, on every POST rule outside /api."""
    client = log_in(app, world.accounts["admin"])
    if token == "missing":
        extra = {}
    elif token == "another session's":
        extra = {"csrf_token": csrf_token(app.test_client(), "/login")}
    else:
        extra = {"csrf_token": csrf_token(client, "/calendar")[:-4] + "AAAA"}
    before = snapshot(app)
    wrong = []
    for rule in html_post_rules(app):
        path = url_for_rule(rule, world)
        # A body that would otherwise do something: every field the forms of this app know.
        data = {
            "action": "approve",
            "reason": "weg",
            "name": "Overgenomen",
            "email": "samir@example.org",
            "password": "correct horse battery",
            "language": "en",
            "role": "admin",
            "label": "gestolen",
            "clear": "1",
            **extra,
        }
        response = client.post(path, data=data)
        if response.status_code != 400:
            wrong.append(f"{rule.rule}: {response.status_code}")
        elif "text/html" not in response.content_type:
            wrong.append(f"{rule.rule}: a 400 of type {response.content_type}")
    assert wrong == []
    assert snapshot(app) == before
    assert client.get("/account").status_code == 200  # the log-out without a token did nothing


def test_a_form_with_its_token_does_work(app, world):
    """The counter-check: the same client with a valid token changes what it posts."""
    client = log_in(app, world.accounts["anouk"])
    response = client.post(
        "/account", data={"name": "Anouk", "language": "en", "csrf_token": csrf_token(client, "/account")}
    )
    assert response.status_code == 302
    assert client.get("/account").get_data(as_text=True).count('value="Anouk"') == 1


# -- security headers --------------------------------------------------------------------------


def check_headers(response) -> list[str]:
    """What is missing or weak in one response's security headers."""
    problems = []
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {
        part.strip().split(" ", 1)[0]: part.strip().split(" ", 1)[1:] for part in csp.split(";") if part.strip()
    }
    script = " ".join(directives.get("script-src", directives.get("default-src", [""])))
    if not csp:
        problems.append("no Content-Security-Policy")
    if "'unsafe-inline'" in script or "'unsafe-eval'" in script or "*" in script.split():
        problems.append(f"weak script-src: {script!r}")
    if "script-src" not in directives and "default-src" not in directives:
        problems.append("no script-src or default-src")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is {directives.get('frame-ancestors')}")
    if directives.get("object-src") != ["'none'"]:
        problems.append(f"object-src is {directives.get('object-src')}")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.headers.get("Referrer-Policy") not in (
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    ):
        problems.append(f"Referrer-Policy is {response.headers.get('Referrer-Policy')!r}")
    return problems


def get_rules_without_arguments(app) -> list[str]:
    return sorted(
        {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and not rule.arguments},
    )


@pytest.mark.parametrize("who", ["visitor", "member", "manager", "admin"])
def test_security_headers_on_every_page(app, world, who):
    client = app.test_client() if who == "visitor" else log_in(app, world.accounts[who if who != "member" else "anouk"])
    paths = get_rules_without_arguments(app)
    assert {"/", "/find", "/login", "/bookings", "/manage/venues", "/api/v1/openapi.json"} <= set(paths)
    paths += [
        world.fill("/venues/{venue}"),
        world.fill("/spaces/{room}"),
        world.fill("/spaces/{room}/book"),
        world.fill("/bookings/{booking}"),
        world.fill("/manage/venues/{venue}/calendar"),
        world.secrets["room_busy_path"],
        "/static/css/app.css",
    ]
    missing = {}
    for path in paths:
        response = client.get(path)
        response.close()  # static files are streamed from an open file
        assert response.status_code < 500, (path, response.status_code)
        if problems := check_headers(response):
            missing[f"{path} ({response.status_code})"] = problems
    assert missing == {}


def test_security_headers_on_error_pages(app, client, world, monkeypatch):
    answers = {
        "404 page": client.get("/nergens"),
        "404 problem": client.get("/api/v1/nergens"),
        "405 page": client.put("/login"),
        "405 problem": client.put("/api/v1/me"),
        "400 csrf": client.post("/login", data={"email": "a@b.nl", "password": "x"}),
        "401 problem": client.get("/api/v1/me"),
        "403 page": log_in(app, world.accounts["samir"]).get("/manage/venues"),
        "413 page": client.post("/login", data={"x": "y" * (app.config["MAX_CONTENT_LENGTH"] + 1)}),
    }

    def boom():
        raise RuntimeError("boom")

    monkeypatch.setattr(app, "testing", False)  # let the error handler answer, as in production
    monkeypatch.setitem(app.view_functions, "home.index", boom)
    answers["500 page"] = client.get("/")
    assert {name: response.status_code for name, response in answers.items()} == {
        "404 page": 404,
        "404 problem": 404,
        "405 page": 405,
        "405 problem": 405,
        "400 csrf": 400,
        "401 problem": 401,
        "403 page": 403,
        "413 page": 413,
        "500 page": 500,
    }
    assert {name: check_headers(response) for name, response in answers.items()} == {name: [] for name in answers}


# -- request size ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "api"),
    [
        ("/api/v1/bookings", "application/json", True),
        ("/api/v1/venues", "application/json", True),
        ("/api/v1/tokens", "application/json", True),
        ("/login", "application/x-www-form-urlencoded", False),
        ("/spaces/{room}/book", "application/x-www-form-urlencoded", False),
        ("/manage/venues/new", "multipart/form-data; boundary=xyz", False),
    ],
)
def test_bodies_over_the_limit_are_413(app, world, path, content_type, api):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 2 * 1024 * 1024
    client = app.test_client() if api else log_in(app, world.accounts["manager"])
    headers = world.headers("manager") if api else {}
    if content_type.startswith("application/json"):
        body = b'{"name": "' + b"x" * limit + b'"}'
    elif content_type.startswith("multipart"):
        body = b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\n' + b"x" * limit + b"\r\n--xyz--\r\n"
    else:
        body = b"name=" + b"x" * limit
    before = snapshot(app)
    response = client.post(world.fill(path), data=body, content_type=content_type, headers=headers)
    assert response.status_code == 413
    if api:
        assert response.content_type == "application/problem+json"
        assert response.json["status"] == 413
    else:
        assert response.content_type.startswith("text/html")
        assert "<html" in response.get_data(as_text=True)
    assert snapshot(app) == before


def test_a_body_just_under_the_limit_is_read(app, world):
    """The counter-check: the limit is the limit, not less (a 422 for the long name, not a 413)."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b'{"name": "' + b"x" * (limit - 200) + b'", "kind": "cafe"}'
    response = app.test_client().post(
        "/api/v1/venues", data=body, content_type="application/json", headers=world.headers("manager")
    )
    assert response.status_code == 422
    assert "name" in response.json["errors"]
