"""A manager puts a venue online; a member finds it near home. In Chromium, by a person's clicks."""

from __future__ import annotations

import re
from datetime import time

import pytest
from playwright.sync_api import expect

from app.accounts.services import register_user, set_home
from app.availability import services as availability
from app.extensions import db
from app.venues import services as venues
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

PASSWORD = "een lang wachtwoord"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Inloggen").click()
    expect(page.get_by_text("Je bent ingelogd.")).to_be_visible()


def screenshot(page, name: str) -> None:
    """A full-page picture. caret="initial": hiding the caret leaves empty style attributes
    behind, which htmx would copy on its next swap and our CSP would then refuse."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, caret="initial")


def main_nav(page):
    return page.get_by_role("navigation", name="Hoofdmenu")


def test_manager_creates_a_venue_with_a_space_and_hours_and_publishes_it(page, live_server, database_kind):
    email = f"marja-venues-{database_kind}@example.org"
    with live_server.app_context():
        register_user(email, PASSWORD, "Marja Jansen", "nl", "manager")
        db.session.commit()
    log_in(page, email)

    main_nav(page).get_by_role("link", name="Mijn locaties").click()
    expect(page.get_by_role("heading", name="Mijn locaties")).to_be_visible()
    page.get_by_role("link", name="Locatie toevoegen").click()
    page.get_by_label("Naam", exact=True).fill("Buurthuis Het Anker")
    page.get_by_label("Soort locatie").select_option(label="Buurthuis")
    page.get_by_label("Beschrijving").fill("Een buurthuis met een rustige zaal.")
    page.get_by_label("Straat en huisnummer").fill("Kanaalstraat 12")
    page.get_by_label("Postcode").fill("3531 CJ")
    page.get_by_label("Plaats").fill("Utrecht")
    page.get_by_label("Wijk").fill("Lombok")
    page.get_by_label("Breedtegraad").fill("52.0912")
    page.get_by_label("Lengtegraad").fill("5.0977")
    page.get_by_label("Wifi").check()
    page.get_by_label("Koffie").check()
    page.get_by_role("button", name="Locatie toevoegen").click()
    expect(page.get_by_text("Buurthuis Het Anker is toegevoegd. Voeg nu de eerste ruimte toe.")).to_be_visible()

    page.get_by_label("Naam", exact=True).fill("Achterzaal")
    page.get_by_label("Hoe je boekt").select_option(label="Plekken: boekingen delen de ruimte")
    page.get_by_label("Capaciteit (personen of plekken)").fill("8")
    page.get_by_role("button", name="Ruimte toevoegen").click()
    expect(page.get_by_role("heading", name="Openingstijden van Achterzaal")).to_be_visible()

    for day in ("Maandag", "Dinsdag", "Woensdag", "Donderdag", "Vrijdag"):
        page.get_by_label(f"Open, {day}, periode 1", exact=True).fill("08:30")
        page.get_by_label(f"Dicht, {day}, periode 1", exact=True).fill("12:00")
    # A mistake first: the error appears next to the row it belongs to.
    page.get_by_label("Open, Vrijdag, periode 2", exact=True).fill("14:00")
    page.get_by_label("Dicht, Vrijdag, periode 2", exact=True).fill("13:00")
    page.get_by_role("button", name="Openingstijden opslaan").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Vrijdag, periode 2: De sluitingstijd moet na de openingstijd liggen.")
    expect(page.locator("#day4-1-closes-error")).to_have_text("De sluitingstijd moet na de openingstijd liggen.")
    page.get_by_label("Open, Vrijdag, periode 2", exact=True).fill("")
    page.get_by_label("Dicht, Vrijdag, periode 2", exact=True).fill("")
    page.set_viewport_size(PHONE)
    screenshot(page, f"manager-hours-phone[{database_kind}]")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Openingstijden opslaan").click()
    expect(page.get_by_text("De openingstijden van Achterzaal zijn opgeslagen.")).to_be_visible()
    expect(page.get_by_label("Open, Vrijdag, periode 1", exact=True)).to_have_value("08:30")

    main_nav(page).get_by_role("link", name="Mijn locaties").click()
    card = page.locator("section.manage-venue", has_text="Buurthuis Het Anker")
    expect(card.get_by_text("Niet gepubliceerd")).to_be_visible()
    expect(card).to_contain_text("5 periodes per week open")
    card.get_by_role("link", name="Locatie bewerken").click()
    page.get_by_label("Gepubliceerd: leden kunnen deze locatie vinden").check()
    page.get_by_role("button", name="Locatie opslaan").click()
    expect(page.get_by_text("Buurthuis Het Anker is opgeslagen.")).to_be_visible()
    card = page.locator("section.manage-venue", has_text="Buurthuis Het Anker")
    expect(card.get_by_text("Gepubliceerd", exact=True)).to_be_visible()
    screenshot(page, f"manager-venues-desktop[{database_kind}]")


def test_member_finds_a_space_near_home_and_sees_its_timeline(page, live_server, database_kind):
    # Groningen, far from the other journeys' venues, so only these two are near.
    with live_server.app_context():
        manager = register_user(f"kees-venues-{database_kind}@example.org", PASSWORD, "Kees Bakker", "nl", "manager")
        member = register_user(f"anouk-finds-{database_kind}@example.org", PASSWORD, "Anouk de Vries", "nl")
        set_home(member, "Thuis", 53.2194, 6.5665)
        near = venues.create_venue(
            manager,
            {
                "name": "Café De Hoek",
                "kind": "cafe",
                "address": "Vismarkt 1",
                "city": "Groningen",
                "lat": 53.2180,
                "lon": 6.5690,
                "amenities": ["wifi", "coffee"],
                "published": True,
            },
        )
        far = venues.create_venue(
            manager,
            {
                "name": "Bibliotheek Noord",
                "kind": "library",
                "address": "Noorderplein 9",
                "city": "Groningen",
                "lat": 53.2400,
                "lon": 6.5700,
                "amenities": ["quiet"],
                "published": True,
            },
        )
        every_day = [(d, time(8), time(18)) for d in range(7)]
        for venue, name in ((near, "Achterhoek"), (far, "Leeszaal")):
            space = venues.create_space(manager, venue, {"name": name, "capacity": 8, "mode": "seats"})
            availability.set_hours(manager, space, every_day)
        db.session.commit()
    log_in(page, f"anouk-finds-{database_kind}@example.org")

    main_nav(page).get_by_role("link", name="Zoek een plek").click()
    expect(page.get_by_role("heading", name="Zoek een plek")).to_be_visible()
    expect(page.get_by_label("Van", exact=True)).to_have_value("09:00")
    expect(page.get_by_label("Tot", exact=True)).to_have_value("12:00")
    cards = page.locator(".venue-card")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("Café De Hoek")
    expect(cards.nth(1)).to_contain_text("Bibliotheek Noord")
    expect(cards.nth(0).locator(".venue-card__walk")).to_have_text(re.compile(r"\d+ min lopen"))
    expect(cards.nth(0).locator(".timeline__text li")).to_have_text(["Vrij 08:00–18:00, 8 plekken"])
    expect(cards.nth(0).locator("svg.timeline__bar rect.timeline__segment--free")).to_have_count(1)
    expect(cards.nth(0).get_by_role("link", name=re.compile("Boek 09:00–12:00"))).to_be_visible()
    expect(page.get_by_text("Anouk de Vries", exact=False)).to_have_count(0)

    # Only places with Wi-Fi: the results change in place, and the address says what was asked.
    page.locator("summary", has_text="Moet hebben").click()
    page.get_by_label("Wifi").check()
    page.get_by_role("button", name="Zoeken").click()
    expect(page).to_have_url(re.compile(r"amenity=wifi"))
    expect(page.locator(".venue-card")).to_have_count(1)
    expect(page.locator(".venue-card")).to_contain_text("Café De Hoek")
    expect(page.locator("#results-heading")).to_be_focused()
    screenshot(page, f"member-find-desktop[{database_kind}]")
    page.set_viewport_size(PHONE)
    screenshot(page, f"member-find-phone[{database_kind}]")

    # A mistake in the search shows on the form, in place.
    page.get_by_label("Tot", exact=True).fill("08:00")
    page.get_by_role("button", name="Zoeken").click()
    expect(page.locator("#until-error")).to_have_text("Het einde moet na het begin liggen.")
    expect(page.locator(".venue-card")).to_have_count(0)

    page.set_viewport_size(DESKTOP)
    page.goto("/find")
    page.locator(".venue-card").first.get_by_role("link", name=re.compile("Andere tijden deze week")).click()
    expect(page.get_by_role("heading", name="Achterhoek")).to_be_visible()
    expect(page.locator(".week-grid .slot").first).to_be_visible()
    page.set_viewport_size(PHONE)
    screenshot(page, f"member-space-week-phone[{database_kind}]")
