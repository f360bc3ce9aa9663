"""Browser journeys: the real app served on loopback, driven by Playwright in Debian's Chromium.

The server runs in a thread of the test process against its own freshly migrated database
(SQLite file or PostgreSQL), so the browser sees exactly what production would.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from config import TestingConfig
from tests.support.databases import empty_database, migrate

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Chromium's own background traffic is refused on this network; keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: scripts/system-deps installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(database_kind, tmp_path_factory):
    url = empty_database(database_kind, "dichtbij_e2e", tmp_path_factory.getbasetemp())
    # Every journey logs in from 127.0.0.1; the throttle itself is tested in tests/integration.
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, THROTTLE_LIMIT=10_000)
    app.instance_path = str(tmp_path_factory.mktemp("e2e-instance"))
    migrate(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server.config["LIVE_URL"], locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(msg):
        # A page answered 422 or 404 on purpose is logged as "Failed to load resource";
        # failed assets are caught below instead.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    def on_response(response):
        if response.request.resource_type != "document" and response.status >= 400:
            errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"errors in the browser console: {errors}"
