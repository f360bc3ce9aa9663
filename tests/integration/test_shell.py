"""The UI shell: home page, health, error pages, language, security headers, assets."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db

PAGES = ["/", "/login", "/register", "/no-such-page", "/healthz", "/api/v1/openapi.json", "/api/v1/me"]


@pytest.mark.parametrize("path", PAGES)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert script_src.strip() == "'self'"  # no inline script, no remote script
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_home_page_renders_with_landmarks(client):
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<main id="main"' in page
    assert "<header" in page and "<footer" in page and "<nav" in page
    assert 'href="#main"' in page  # skip link
    assert "Work nearby, in your own neighbourhood" in page


def test_pages_have_no_inline_script_and_no_remote_assets(client):
    page = client.get("/").get_data(as_text=True)
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_vendor_assets_are_served_from_node_modules(client):
    for path in [
        "/vendor/utrecht-css/index.css",
        "/vendor/utrecht-tokens/index.css",
        "/vendor/htmx/htmx.min.js",
    ]:
        with client.get(path) as response:
            assert response.status_code == 200, path
            assert len(response.data) > 1000
    assert client.get("/vendor/htmx/../../package.json").status_code == 404
    assert client.get("/vendor/unknown/x.js").status_code == 404


def test_every_asset_the_layout_links_exists(client):
    page = client.get("/").get_data(as_text=True)
    links = re.findall(r'(?:href|src)="(/(?:static|vendor)/[^"]+)"', page)
    assert len(links) >= 5
    for link in links:
        with client.get(link) as response:
            assert response.status_code == 200, link


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_healthz_503_when_database_fails(client, monkeypatch):
    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("database is down"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


def test_friendly_404_page_in_dutch_by_default(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Pagina niet gevonden" in response.get_data(as_text=True)
    assert response.content_type.startswith("text/html")


def test_language_from_accept_language(client):
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en"' in page
    page = client.get("/", headers={"Accept-Language": "nl-NL"}).get_data(as_text=True)
    assert '<html lang="nl"' in page
    assert "Werk dichtbij, in je eigen buurt" in page


def test_language_switch_without_javascript(client):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login")
    response = client.post("/language", data={"language": "en", "next": "/login", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert '<html lang="en"' in page


def test_language_switch_refuses_offsite_redirect(client):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/")
    for target in ["https://evil.example/", "//evil.example/", "/\\evil.example"]:
        response = client.post("/language", data={"language": "en", "next": target, "csrf_token": token})
        assert response.headers["Location"] == "/", target


def test_language_switch_needs_csrf(client):
    response = client.post("/language", data={"language": "en"})
    assert response.status_code == 400


def test_unexpected_error_renders_friendly_500_page(client, monkeypatch):
    import app.home.views as views

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(views, "render_template", boom)
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
