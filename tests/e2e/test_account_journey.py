"""Register → log in → switch language → log out, in Chromium, by a person's clicks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_register_login_switch_language_logout(page, database_kind):
    email = f"anouk-{database_kind}@example.org"
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.get_by_role("link", name="Aanmelden").first.click()
    page.get_by_label("Naam").fill("Anouk de Vries")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill("een lang wachtwoord")
    page.get_by_role("button", name="Account maken").click()
    expect(page.get_by_text("Welkom bij Dichtbij, Anouk de Vries.")).to_be_visible()

    page.get_by_role("button", name="Uitloggen").click()
    expect(page.get_by_text("Je bent uitgelogd.")).to_be_visible()

    page.get_by_role("link", name="Inloggen").first.click()
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill("een lang wachtwoord")
    page.get_by_role("main").get_by_role("button", name="Inloggen").click()
    expect(page.get_by_text("Je bent ingelogd.")).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    # Remembered on the account: a fresh visit to the profile is still English.
    page.goto("/account")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_role("radio", name="English")).to_be_checked()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login"))


def test_wrong_password_shows_error_on_the_form(page, database_kind):
    page.goto("/login")
    page.get_by_label("E-mailadres").fill(f"nobody-{database_kind}@example.org")
    page.get_by_label("Wachtwoord").fill("not the password")
    page.get_by_role("main").get_by_role("button", name="Inloggen").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("E-mailadres of wachtwoord klopt niet.")


def test_keyboard_only_skip_link_and_focus(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Naar de inhoud")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
