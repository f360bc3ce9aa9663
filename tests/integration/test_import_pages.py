"""The managers' page for linked calendars: upload, refused addresses, clashes, removal."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.feeds.import_models import CalendarImport, ImportedBlock
from tests.conftest import csrf_token
from tests.factories import make_space, make_venue

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ical"
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    import app.bookings.services as booking_services
    import app.feeds.imports as imports

    monkeypatch.setattr(imports, "now_utc", lambda: NOW)
    monkeypatch.setattr(booking_services, "now_utc", lambda: NOW)


@pytest.fixture
def setup(app, make_user, login):
    manager = make_user("manager", name="Marja")
    venue = make_venue(app, manager.id)
    space = make_space(app, manager.id, venue, hours="daily")
    login(manager)
    return {"manager": manager, "space": space, "venue": venue}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def upload(client, space_id, name="google.ics", data=None):
    path = f"/manage/spaces/{space_id}/calendars"
    body = data if data is not None else (FIXTURES / name).read_bytes()
    return client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "kind": "file",
            "upload-csrf_token": csrf_token(client, path),
            "upload-file": (io.BytesIO(body), name),
        },
        content_type="multipart/form-data",
    )


def test_upload_blocks_the_space_and_shows_on_the_page(app, client, setup):
    response = upload(client, setup["space"])
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert count(app, CalendarImport) == 1
    assert count(app, ImportedBlock) > 0
    page = client.get(f"/manage/spaces/{setup['space']}/calendars", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "google.ics" in page and "block the space" in page


def test_garbage_upload_is_refused_and_changes_nothing(app, client, setup):
    response = upload(client, setup["space"], "notes.ics", b"this is not a calendar")
    assert response.status_code == 422
    assert 'id="error-summary"' in response.get_data(as_text=True)
    assert count(app, CalendarImport) == 0


def test_private_address_is_refused(app, client, setup):
    path = f"/manage/spaces/{setup['space']}/calendars"
    token = csrf_token(client, path)
    for url in ("http://127.0.0.1/cal.ics", "file:///etc/passwd", "http://169.254.169.254/latest"):
        response = client.post(path, data={"link-csrf_token": token, "kind": "url", "link-url": url})
        assert response.status_code == 422, url
    assert count(app, CalendarImport) == 0


def test_clashing_booking_is_flagged_not_deleted(app, client, setup, make_user, make_token):
    member = make_user()
    headers = {"Authorization": f"Bearer {make_token(member)}"}
    booking = client.post(
        "/api/v1/bookings",
        json={"space_id": setup["space"], "start": "2026-12-06T10:30", "end": "2026-12-06T11:00"},
        headers=headers,
    )
    assert booking.status_code == 201
    assert upload(client, setup["space"]).status_code == 302
    page = client.get(f"/manage/spaces/{setup['space']}/calendars", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "1 booking clashes with this calendar" in page
    assert f"/manage/bookings/{booking.json['id']}" in page
    assert member.name not in page
    status = client.get(f"/api/v1/bookings/{booking.json['id']}", headers=headers).json["status"]
    assert status == "confirmed"


def test_remove_and_access(app, client, setup, make_user, login):
    upload(client, setup["space"])
    with app.app_context():
        import_id = db.session.scalar(sa.select(CalendarImport.id))
    token = csrf_token(client, f"/manage/spaces/{setup['space']}/calendars")
    client.post("/logout", data={"csrf_token": token})
    login(make_user("manager"))
    assert client.get(f"/manage/spaces/{setup['space']}/calendars").status_code == 403
    token = csrf_token(client, "/")
    assert client.post(f"/manage/calendars/{import_id}/delete", data={"csrf_token": token}).status_code == 403
    assert count(app, CalendarImport) == 1
    client.post("/logout", data={"csrf_token": token})
    login(setup["manager"])
    token = csrf_token(client, "/")
    assert client.post(f"/manage/calendars/{import_id}/delete", data={"csrf_token": token}).status_code == 302
    assert count(app, CalendarImport) == 0
    assert count(app, ImportedBlock) == 0
