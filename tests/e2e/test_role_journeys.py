"""Every role end to end in Chromium: a member and the coordinator by keyboard alone, a venue
manager by clicks; then a tour of the main pages at phone and desktop width, under the real CSP.

Keyboard journeys use only Tab, Shift+Tab, Enter, Space, arrow keys and typing after the first
page load: `tab_to` presses Tab until the element has focus, so a control that cannot be
reached by keyboard fails the journey.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.accounts.services import register_user, set_home, user_by_email
from app.availability import services as availability
from app.bookings import services as bookings
from app.db import now_utc
from app.errors import DomainError
from app.extensions import db
from app.venues import services as venues
from app.venues.models import Space, Venue
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import PAGES, build_world, fail_a_form, log_in_by_form, page_path
from tests.e2e.test_venue_journeys import DESKTOP, PASSWORD, PHONE, log_in, main_nav, screenshot

pytestmark = pytest.mark.e2e

MAX_TABS = 150
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def focused(locator) -> bool:
    return locator.evaluate("el => el === document.activeElement")


def tab_to(page, locator, backwards: bool = False) -> None:
    """Move the focus with Tab (or Shift+Tab) until `locator` has it."""
    key = "Shift+Tab" if backwards else "Tab"
    locator.wait_for()
    for _ in range(MAX_TABS):
        if focused(locator):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{locator} cannot be reached with {key}")


def keyboard_log_in(page, email: str) -> None:
    page.goto("/login")
    tab_to(page, page.get_by_label("E-mailadres"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Wachtwoord")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")


def next_monday() -> date:
    today = now_utc().astimezone(AMSTERDAM).date()
    return today + timedelta(days=7 - today.weekday())


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, AMSTERDAM)


def test_member_finds_books_weekly_cancels_one_and_subscribes_by_keyboard(page, live_server, database_kind):
    tag = f"roles-{database_kind}"
    with live_server.app_context():
        manager = register_user(f"manager-{tag}@example.org", PASSWORD, "Joost Smit", "nl", "manager")
        member = register_user(f"anouk-{tag}@example.org", PASSWORD, "Anouk de Vries", "nl")
        set_home(member, "Thuis", 52.1561, 5.3878)  # Amersfoort: nobody else's venues are near
        venue = venues.create_venue(
            manager,
            {
                "name": "Bibliotheek Eemhuis",
                "kind": "library",
                "address": "Eemplein 77",
                "city": "Amersfoort",
                "lat": 52.1590,
                "lon": 5.3810,
                "amenities": ["wifi", "quiet"],
                "published": True,
            },
        )
        space = venues.create_space(
            manager, venue, {"name": "Studieplekken", "capacity": 6, "mode": "seats", "cancel_hours": 0}
        )
        availability.set_hours(manager, space, [(d, time(8), time(18)) for d in range(7)])
        db.session.commit()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    keyboard_log_in(page, f"anouk-{tag}@example.org")
    expect(page.get_by_text("Je bent ingelogd.")).to_be_visible()

    # Find: the nearest place first, then its week.
    tab_to(page, main_nav(page).get_by_role("link", name="Zoek een plek"))
    page.keyboard.press("Enter")
    card = page.locator(".venue-card").first
    expect(card).to_contain_text("Bibliotheek Eemhuis")
    tab_to(page, card.get_by_role("link", name=re.compile("Andere tijden deze week")))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Studieplekken", level=1)).to_be_visible()
    tab_to(page, page.get_by_role("link", name="Volgende week"))
    page.keyboard.press("Enter")
    expect(page.locator(".week-grid__day").first).to_contain_text("maandag")
    tab_to(page, page.locator("a.slot").first)
    page.keyboard.press("Enter")

    # Book every week, three times. Shift+Tab goes back from the count to the frequency.
    expect(page.get_by_role("heading", name="Boek", exact=True)).to_be_visible()
    tab_to(page, page.get_by_label("Waarvoor (niet verplicht)"))
    page.keyboard.type("Schrijfochtend")
    tab_to(page, page.get_by_label("Aantal keer"))
    page.keyboard.type("3")
    tab_to(page, page.locator("#repeat-freq"), backwards=True)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#repeat-freq")).to_have_value("weekly")
    tab_to(page, page.get_by_role("main").get_by_role("button", name="Boek"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Geboekt. Het staat in je agenda-abonnement.")).to_be_visible()
    series = page.locator("ul", has=page.locator(".status-badge")).last.locator("li")
    expect(series).to_have_count(3)
    expect(series.get_by_text("Bevestigd")).to_have_count(3)

    # Cancel the second one only.
    tab_to(page, series.nth(1).get_by_role("link"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("main").get_by_role("link", name="Annuleer"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Deze boeking annuleren?")).to_be_visible()
    expect(page.get_by_label("Alleen deze")).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Ja, annuleren"))
    page.keyboard.press("Space")
    expect(page.get_by_text("Je boeking is geannuleerd. De tijd is weer vrij.")).to_be_visible()
    series = page.locator("ul", has=page.locator(".status-badge")).last.locator("li")
    expect(series.get_by_text("Bevestigd")).to_have_count(2)
    expect(series.nth(1).get_by_text("Geannuleerd")).to_be_visible()
    page.set_viewport_size(PHONE)
    screenshot(page, f"member-series-phone[{database_kind}]")
    page.set_viewport_size(DESKTOP)

    # The calendar page: see the link, copy it.
    tab_to(page, main_nav(page).get_by_role("link", name="In mijn agenda"))
    page.keyboard.press("Enter")
    feed = page.get_by_label("Agendalink")
    expect(feed).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/feeds/member/\d+/[\w-]+\.ics$"))
    tab_to(page, page.get_by_role("button", name="Link kopiëren"))
    page.keyboard.press("Enter")
    expect(page.locator(".feed-link__copied")).to_have_text("Gekopieerd")
    assert page.evaluate("navigator.clipboard.readText()") == feed.input_value()
    expect(page.get_by_role("link", name="Openen in mijn agenda-app")).to_have_attribute(
        "href", re.compile("^webcal://")
    )
    page.set_viewport_size(PHONE)
    screenshot(page, f"member-calendar-phone[{database_kind}]")


def test_manager_creates_a_venue_sets_hours_and_a_closure_and_approves(page, live_server, database_kind):
    tag = f"roles-mgr-{database_kind}"
    email = f"marja-{tag}@example.org"
    with live_server.app_context():
        register_user(email, PASSWORD, "Marja Jansen", "nl", "manager")
        register_user(f"samir-{tag}@example.org", PASSWORD, "Samir Haddou", "nl")
        db.session.commit()
    monday = next_monday()
    closed_day = monday + timedelta(days=2)
    log_in(page, email)

    main_nav(page).get_by_role("link", name="Mijn locaties").click()
    page.get_by_role("link", name="Locatie toevoegen").click()
    page.get_by_label("Naam", exact=True).fill("Buurthuis De Boog")
    page.get_by_label("Soort locatie").select_option(label="Buurthuis")
    page.get_by_label("Straat en huisnummer").fill("Brink 3")
    page.get_by_label("Plaats").fill("Deventer")
    page.get_by_label("Breedtegraad").fill("52.2551")
    page.get_by_label("Lengtegraad").fill("6.1639")
    page.get_by_label("Gepubliceerd: leden kunnen deze locatie vinden").check()
    page.get_by_role("button", name="Locatie toevoegen").click()
    expect(page.get_by_text("Buurthuis De Boog is toegevoegd.", exact=False)).to_be_visible()

    page.get_by_label("Naam", exact=True).fill("Trainingszaal")
    page.get_by_label("Capaciteit (personen of plekken)").fill("12")
    page.get_by_label("Een beheerder keurt aanvragen goed").check()
    page.get_by_role("button", name="Ruimte toevoegen").click()
    expect(page.get_by_role("heading", name="Openingstijden van Trainingszaal")).to_be_visible()
    for day in ("Maandag", "Dinsdag", "Woensdag", "Donderdag", "Vrijdag"):
        page.get_by_label(f"Open, {day}, periode 1", exact=True).fill("09:00")
        page.get_by_label(f"Dicht, {day}, periode 1", exact=True).fill("17:00")
    page.get_by_role("button", name="Openingstijden opslaan").click()
    expect(page.get_by_text("De openingstijden van Trainingszaal zijn opgeslagen.")).to_be_visible()

    # A study day closes the room for all of Wednesday.
    main_nav(page).get_by_role("link", name="Mijn locaties").click()
    card = page.locator("section.manage-venue", has_text="Buurthuis De Boog")
    card.get_by_role("link", name="Sluitingen Trainingszaal").click()
    whole_days = page.locator("section.closure-form", has=page.get_by_role("heading", name="Hele dagen"))
    whole_days.get_by_label("Van").fill(closed_day.isoformat())
    whole_days.get_by_label("Tot").fill(closed_day.isoformat())
    whole_days.get_by_label("Reden").fill("Studiedag")
    whole_days.get_by_role("button", name="Sluiting toevoegen").click()
    expect(page.get_by_text("De sluiting is toegevoegd aan Trainingszaal.")).to_be_visible()
    expect(page.locator(".closure-list__item")).to_contain_text("Studiedag")
    screenshot(page, f"manager-closures-desktop[{database_kind}]")

    # Samir asks for Monday and for the closed Wednesday: only Monday can be asked for.
    with live_server.app_context():
        samir = user_by_email(f"samir-{tag}@example.org")
        space = db.session.scalar(sa.select(Space).join(Venue).where(Venue.name == "Buurthuis De Boog"))
        start = local(monday, time(13))
        result = bookings.create_booking(samir, space.id, start, start + timedelta(hours=3), title="Training EHBO")
        assert result.bookings[0].status == "pending"
        closed = local(closed_day, time(13))
        with pytest.raises(DomainError):
            bookings.create_booking(samir, space.id, closed, closed + timedelta(hours=1))
        db.session.commit()

    main_nav(page).get_by_role("link", name="Mijn locaties").click()
    card = page.locator("section.manage-venue", has_text="Buurthuis De Boog")
    card.get_by_role("link", name=re.compile("Boekingenagenda")).click()
    requests = page.locator(".pending-requests")
    expect(requests).to_contain_text("Samir Haddou")
    expect(requests).to_contain_text("Training EHBO")
    page.set_viewport_size(PHONE)
    screenshot(page, f"manager-requests-phone[{database_kind}]")
    page.set_viewport_size(DESKTOP)
    requests.get_by_role("button", name="Goedkeuren").click()
    expect(page.get_by_text("Goedgekeurd. Het lid krijgt een e-mail.")).to_be_visible()
    expect(page.locator(".pending-requests")).to_have_count(0)


def test_admin_changes_a_role_and_deactivates_an_account_by_keyboard(page, live_server, database_kind):
    tag = f"roles-admin-{database_kind}"
    admin_email = f"coordinator-{tag}@example.org"
    samir_email = f"samir-{tag}@example.org"
    with live_server.app_context():
        register_user(admin_email, PASSWORD, "Coördinator Kim", "nl", "admin")
        register_user(f"fenna-{tag}@example.org", PASSWORD, "Fenna Visser", "nl")
        register_user(samir_email, PASSWORD, "Samir Haddou", "nl")
        db.session.commit()

    keyboard_log_in(page, admin_email)
    expect(page.get_by_text("Je bent ingelogd.")).to_be_visible()
    tab_to(page, main_nav(page).get_by_role("link", name="Beheer"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()

    # Fenna becomes a venue manager.
    search = page.get_by_label("Zoek op naam of e-mailadres")
    tab_to(page, search)
    page.keyboard.type(f"fenna-{tag}")
    page.keyboard.press("Enter")
    expect(page.get_by_text("1 account past bij")).to_be_visible()
    role = page.get_by_label("Rol van Fenna Visser")
    tab_to(page, role)
    page.keyboard.press("ArrowDown")
    expect(role).to_have_value("manager")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Rol wijzigen (Fenna Visser)")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Fenna Visser is nu beheerder van een locatie.")).to_be_visible()
    expect(page.get_by_label("Rol van Fenna Visser")).to_have_value("manager")
    expect(search).to_have_value(f"fenna-{tag}")  # the search is kept

    # Demoting oneself is refused, with the reason next to the field.
    tab_to(page, search, backwards=True)
    page.keyboard.press("Control+A")
    page.keyboard.type(admin_email)
    page.keyboard.press("Enter")
    own = page.get_by_label("Rol van Coördinator Kim")
    tab_to(page, own)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Je kunt je eigen rol niet wijzigen. Vraag het een andere beheerder.")
    expect(page.get_by_label("Rol van Coördinator Kim")).to_have_attribute("aria-invalid", "true")

    # Samir is deactivated, after a confirmation.
    tab_to(page, search)
    page.keyboard.press("Control+A")
    page.keyboard.type(samir_email)
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("link", name="Deactiveren Samir Haddou"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Samir Haddou deactiveren?")).to_be_visible()
    tab_to(page, page.get_by_role("button", name="Ja, deactiveren"))
    page.keyboard.press("Space")
    expect(page.get_by_text("Samir Haddou is gedeactiveerd en kan niet meer inloggen.")).to_be_visible()
    row = page.locator("tr", has_text=samir_email)
    expect(row.get_by_text("Gedeactiveerd")).to_be_visible()
    expect(row.get_by_role("button", name="Weer activeren Samir Haddou")).to_be_visible()
    screenshot(page, f"admin-users-desktop[{database_kind}]")
    page.set_viewport_size(PHONE)
    screenshot(page, f"admin-users-phone[{database_kind}]")
    page.set_viewport_size(DESKTOP)

    tab_to(page, page.get_by_role("button", name="Uitloggen"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Je bent uitgelogd.")).to_be_visible()

    # Samir cannot log in any more.
    keyboard_log_in(page, samir_email)
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("E-mailadres of wachtwoord klopt niet.")
    expect(main_nav(page).get_by_role("link", name="Inloggen")).to_be_visible()


@pytest.mark.one_database  # screenshots: the pages look the same on either database
def test_main_pages_at_phone_and_desktop_width(browser, live_server, database_kind):
    """Every page of the accessibility check, in Dutch, with the Content-Security-Policy in force:
    a full-page screenshot at each width into test-artifacts/, and no error in the console."""
    world = build_world(live_server, f"tour-{database_kind}")
    contexts, errors = {}, []

    def on_console(msg):
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    try:
        for role in (None, "member", "manager", "admin"):
            context = browser.new_context(base_url=live_server.config["LIVE_URL"], locale="nl-NL", viewport=DESKTOP)
            context.on("console", on_console)
            context.on("weberror", lambda error: errors.append(str(error.error)))
            contexts[role] = context
            if role is not None:
                log_in_by_form(context, world.emails[role, "nl"])
        ARTIFACTS.mkdir(exist_ok=True)
        for name, role, path in PAGES:
            page = contexts[role].new_page()
            page.goto(page_path(world, path, "nl"))
            if name.endswith("-error"):
                fail_a_form(page, name)
            for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                page.set_viewport_size(viewport)
                shot = ARTIFACTS / f"page-{name}-{width}[{database_kind}].png"
                page.screenshot(path=str(shot), full_page=True, caret="initial")
            page.close()
    finally:
        for context in contexts.values():
            context.close()
    assert not errors, f"errors in the browser console: {errors}"
