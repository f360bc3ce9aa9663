"""axe-core on every main page, in Dutch and in English: no serious or critical violations.

axe is injected from node_modules by Playwright; the app never serves it. Its script tag and
the styles it measures with would be refused by our Content-Security-Policy, so these tests
(and only these) run in a browser context with `bypass_csp=True`. The CSP itself is checked on
the same pages by the tour in test_role_journeys.py (which also saves their screenshots) and by
every other browser journey, which fail on any console error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from app.accounts.services import register_user, set_home
from app.availability import services as availability
from app.bookings import services as bookings
from app.db import now_utc
from app.extensions import db
from app.venues import services as venues

# axe checks what the browser renders, which no database changes: one database is enough.
pytestmark = [pytest.mark.e2e, pytest.mark.one_database]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "een lang wachtwoord"
DESKTOP = {"width": 1280, "height": 900}
LANGUAGES = ("nl", "en")
BLOCKING = ("serious", "critical")


@dataclass(frozen=True)
class World:
    ids: dict
    day: str  # a Tuesday next week, ISO
    emails: dict  # (role, language) -> e-mail address


def next_weeks_tuesday(zone) -> date:
    today = now_utc().astimezone(zone).date()
    return today + timedelta(days=8 - today.weekday())


def build_world(app, tag: str) -> World:
    """Every page's data, made through the services: a venue in Zwolle with a seats space and a
    room that needs approval, a closure, and per language a member, a manager and an admin,
    each member with a confirmed booking and a request. `tag` keeps the e-mail addresses apart."""
    with app.app_context():
        people = {}
        for language in LANGUAGES:
            for role in ("member", "manager", "admin"):
                people[role, language] = register_user(
                    f"{role}-{language}-{tag}@example.org",
                    PASSWORD,
                    f"{role.title()} {language.upper()}",
                    language,
                    role,
                )
            set_home(people["member", language], "Thuis", 52.5120, 6.0930)
        manager = people["manager", "nl"]
        venue = venues.create_venue(
            manager,
            {
                "name": "Buurthuis De Pelikaan",
                "kind": "community_centre",
                "description": "Een buurthuis met een rustige leeszaal en een grote zaal.",
                "address": "Pelikaanstraat 4",
                "postcode": "8011 KP",
                "city": "Zwolle",
                "neighbourhood": "Binnenstad",
                "lat": 52.5125,
                "lon": 6.0944,
                "amenities": ["wifi", "coffee", "step_free"],
                "published": True,
            },
        )
        venues.add_manager(manager, venue, people["manager", "en"].email)
        desks = venues.create_space(manager, venue, {"name": "Leeszaal", "capacity": 8, "mode": "seats"})
        hall = venues.create_space(
            manager,
            venue,
            {"name": "Grote zaal", "capacity": 20, "mode": "room", "requires_approval": True, "cancel_hours": 0},
        )
        for space in (desks, hall):
            availability.set_hours(manager, space, [(d, time(8, 30), time(17)) for d in range(5)])
        zone = venue.zone
        day = next_weeks_tuesday(zone)
        closed = day + timedelta(days=14)
        availability.add_closure(
            manager,
            desks,
            datetime.combine(closed, time(0), zone),
            datetime.combine(closed + timedelta(days=1), time(0), zone),
            "Onderhoud",
        )
        db.session.commit()
        ids = {"venue": venue.id, "desks": desks.id, "hall": hall.id}
        for n, language in enumerate(LANGUAGES):
            member = people["member", language]
            start = datetime.combine(day, time(9 + 2 * n), zone)
            confirmed = bookings.create_booking(member, desks.id, start, start + timedelta(hours=2), title="Schrijven")
            request = bookings.create_booking(member, hall.id, start, start + timedelta(hours=2), title="Training")
            ids["booking", language] = confirmed.bookings[0].id
            ids["request", language] = request.bookings[0].id
        ids["member", "nl"] = people["member", "nl"].id
        db.session.commit()
        emails = {key: user.email for key, user in people.items()}
    return World(ids, day.isoformat(), emails)


@pytest.fixture(scope="module")
def world(live_server, database_kind) -> World:
    return build_world(live_server, f"a11y-{database_kind}")


def page_path(world: World, path: str, language: str) -> str:
    return path.format(
        day=world.day,
        venue=world.ids["venue"],
        desks=world.ids["desks"],
        booking=world.ids.get(("booking", language)),
        request=world.ids.get(("request", language)),
        member=world.ids["member", "nl"],
    )


def log_in_by_form(context, email: str) -> None:
    page = context.new_page()
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("main").locator("button[type=submit]").click()
    expect(page.locator(".utrecht-alert--ok")).to_be_visible()
    page.close()


# (name, who is logged in, path) — the path is filled in from the world.
PAGES = [
    ("home", None, "/"),
    ("login", None, "/login"),
    ("register", None, "/register"),
    ("not-found", None, "/no-such-page"),
    ("account", "member", "/account"),
    ("find", "member", "/find?date={day}&from=09:00&until=12:00"),
    ("venue", "member", "/venues/{venue}"),
    ("space", "member", "/spaces/{desks}?week={day}"),
    ("booking-form", "member", "/spaces/{desks}/book?start={day}T14:00"),
    ("booking", "member", "/bookings/{booking}"),
    ("my-bookings", "member", "/bookings"),
    ("calendar-feeds", "member", "/calendar"),
    ("manage-venues", "manager", "/manage/venues"),
    ("venue-form", "manager", "/manage/venues/{venue}/edit"),
    ("space-form", "manager", "/manage/spaces/{desks}/edit"),
    ("hours", "manager", "/manage/spaces/{desks}/hours"),
    ("closures", "manager", "/manage/spaces/{desks}/closures"),
    ("venue-calendar", "manager", "/manage/venues/{venue}/calendar?date={day}&view=week"),
    ("manage-booking", "manager", "/manage/bookings/{request}"),
    ("admin-users", "admin", "/admin/users"),
    ("admin-deactivate", "admin", "/admin/users/{member}/deactivate"),
    # Pages with errors on them, after a failed submit.
    ("login-error", None, "/login"),
    ("booking-form-error", "member", "/spaces/{desks}/book?start={day}T14:00"),
    ("admin-users-error", "admin", "/admin/users"),
]


def fail_a_form(page, name: str) -> None:
    """Submit the page's form so that it comes back with errors (by the page's own controls)."""
    if name == "login-error":
        page.locator("#email").fill("nobody@example.org")
        page.locator("#password").fill("not the password")
        page.get_by_role("main").locator("button[type=submit]").click()
    elif name == "booking-form-error":
        page.locator("#end").fill(page.locator("#start").input_value())
        page.get_by_role("main").locator("button[type=submit]").click()
    elif name == "admin-users-error":
        own = page.locator("tr", has=page.locator(".admin-table__you"))
        own.locator("select").select_option("member")
        own.locator("button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()


@pytest.fixture(scope="module")
def contexts(browser, live_server, world):
    """A browser context per (role, language), kept for the module; each logs in once through
    the form. Only here: axe's script tag and the styles it measures with would break the CSP
    (see the module's docstring), hence `bypass_csp`."""
    made = {}
    try:
        for language in LANGUAGES:
            for role in (None, "member", "manager", "admin"):
                context = browser.new_context(
                    base_url=live_server.config["LIVE_URL"],
                    locale="nl-NL" if language == "nl" else "en-GB",
                    bypass_csp=True,
                    viewport=DESKTOP,
                )
                made[role, language] = context
                if role is not None:
                    log_in_by_form(context, world.emails[role, language])
        yield made
    finally:
        for context in made.values():
            context.close()


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(node["target"]) for node in v["nodes"][:8])
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}\n    {targets}")
    return "\n".join(lines)


# Every page in both languages; the pages with errors (the same templates) in Dutch only.
CASES = [
    pytest.param(name, role, path, language, id=f"{name}-{language}")
    for language in LANGUAGES
    for name, role, path in PAGES
    if language == "nl" or not name.endswith("-error")
]


@pytest.mark.parametrize(("name", "role", "path", "language"), CASES)
def test_no_serious_accessibility_violations(contexts, world, name, role, path, language):
    page = contexts[role, language].new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        target = page_path(world, path, language)
        response = page.goto(target)
        assert response is not None
        assert response.status == (404 if name == "not-found" else 200), f"{name}: HTTP {response.status}"
        assert urlsplit(page.url).path == urlsplit(target).path, f"{name}: sent to {page.url}"
        if name.endswith("-error"):
            fail_a_form(page, name)
        assert page.locator("html").get_attribute("lang") == language
        violations = axe_violations(page)
    finally:
        page.close()
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe on {name} [{language}]:\n{describe(blocking)}"
    assert not errors, errors
