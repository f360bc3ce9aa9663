"""A member books a slot and cancels it; a manager approves a pending request. In Chromium."""

from __future__ import annotations

from datetime import time

import pytest
from playwright.sync_api import expect

from app.accounts.services import register_user
from app.availability import services as availability
from app.extensions import db
from app.venues import services as venues
from tests.e2e.test_venue_journeys import log_in, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "een lang wachtwoord"


def make_world(app, tag: str, requires_approval: bool = False) -> dict:
    """A manager, a member, and a published venue with a space open every day 08:00–22:00."""
    with app.app_context():
        manager = register_user(f"marja-{tag}@example.org", PASSWORD, "Marja Jansen", "nl", "manager")
        member = register_user(f"anouk-{tag}@example.org", PASSWORD, "Anouk de Vries", "nl")
        venue = venues.create_venue(
            manager,
            {
                "name": f"Buurthuis {tag}",
                "kind": "community_centre",
                "address": "Herderplein 8",
                "city": "Utrecht",
                "lat": 52.09,
                "lon": 5.10,
                "published": True,
            },
        )
        space = venues.create_space(
            manager,
            venue,
            {"name": "Zaal", "capacity": 12, "mode": "room", "requires_approval": requires_approval, "cancel_hours": 0},
        )
        availability.set_hours(manager, space, [(d, time(8), time(22)) for d in range(7)])
        db.session.commit()
        return {"manager": manager.email, "member": member.email, "space": space.id, "venue": venue.id}


def book_next_week_first_slot(page, space_id: int) -> None:
    page.goto(f"/spaces/{space_id}")
    page.get_by_role("link", name="Volgende week").click()
    page.locator("a.slot").first.click()
    expect(page.get_by_role("heading", name="Boek")).to_be_visible()
    page.get_by_label("Waarvoor (niet verplicht)").fill("Klantgesprek")


def test_member_books_and_cancels(page, live_server, database_kind):
    world = make_world(live_server, f"book-{database_kind}")
    log_in(page, world["member"])
    book_next_week_first_slot(page, world["space"])
    page.get_by_role("main").get_by_role("button", name="Boek").click()
    expect(page.get_by_text("Geboekt.")).to_be_visible()
    expect(page.get_by_text("Bevestigd")).to_be_visible()
    expect(page.get_by_role("link", name="In agenda zetten")).to_be_visible()
    screenshot(page, f"member-booked-{database_kind}")

    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Mijn boekingen").click()
    expect(page.get_by_text("Klantgesprek")).to_be_visible()
    page.get_by_text("Zaal — Buurthuis").first.click()
    page.get_by_role("link", name="Annuleer").click()
    expect(page.get_by_role("heading", name="Deze boeking annuleren?")).to_be_visible()
    page.get_by_role("button", name="Ja, annuleren").click()
    expect(page.get_by_text("Je boeking is geannuleerd.")).to_be_visible()
    expect(page.get_by_text("Geannuleerd", exact=True)).to_be_visible()
    # The slot is free again at once.
    book_next_week_first_slot(page, world["space"])
    page.get_by_role("main").get_by_role("button", name="Boek").click()
    expect(page.get_by_text("Geboekt.")).to_be_visible()


def test_manager_approves_a_pending_request(page, browser, live_server, database_kind):
    world = make_world(live_server, f"approve-{database_kind}", requires_approval=True)
    log_in(page, world["member"])
    book_next_week_first_slot(page, world["space"])
    page.get_by_role("main").get_by_role("button", name="Aanvragen").click()
    expect(page.get_by_text("Je aanvraag is verstuurd.")).to_be_visible()
    expect(page.get_by_text("Wacht op goedkeuring")).to_be_visible()
    page.get_by_role("button", name="Uitloggen").click()

    log_in(page, world["manager"])
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Mijn locaties").click()
    page.get_by_role("link", name="Boekingenagenda").first.click()
    requests = page.locator(".pending-requests")
    expect(requests).to_contain_text("Anouk de Vries")
    expect(requests).to_contain_text("Klantgesprek")
    screenshot(page, f"manager-pending-{database_kind}")
    requests.get_by_role("button", name="Goedkeuren").click()
    expect(page.get_by_text("Goedgekeurd. Het lid krijgt een e-mail.")).to_be_visible()
    expect(page.locator(".pending-requests")).to_have_count(0)
