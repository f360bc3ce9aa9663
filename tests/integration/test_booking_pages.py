"""Booking in the browser without JavaScript: book, see, list, cancel; managers approve,
decline, cancel with a reason and block time from the venue calendar."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.bookings.models import Booking
from app.extensions import db
from tests.conftest import csrf_token
from tests.factories import make_space, make_venue

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    import app.bookings.services as services
    import app.bookings.views as views

    monkeypatch.setattr(services, "now_utc", lambda: NOW)
    monkeypatch.setattr(views, "now_utc", lambda: NOW)


@pytest.fixture
def setup(app, make_user):
    manager = make_user("manager", name="Marja")
    venue = make_venue(app, manager.id)
    room = make_space(app, manager.id, venue, name="Zaal")
    approval = make_space(app, manager.id, venue, name="Atelier", requires_approval=True)
    return {"manager": manager, "venue": venue, "room": room, "approval": approval}


def post_booking(client, space_id, start, end, **extra):
    token = csrf_token(client, f"/spaces/{space_id}/book?start={start}")
    data = {"csrf_token": token, "space_id": space_id, "start": start, "end": end, "seats": 1, **extra}
    return client.post(f"/spaces/{space_id}/book", data=data)


def test_book_from_a_slot_link_and_see_it(client, setup, member, login):
    login(member)
    page = client.get(f"/spaces/{setup['room']}/book?start=2026-12-01T09:00").get_data(as_text=True)
    assert 'value="2026-12-01T09:00"' in page and 'value="2026-12-01T09:30"' in page  # end prefilled
    response = post_booking(client, setup["room"], "2026-12-01T09:00", "2026-12-01T12:00", title="Schrijven")
    assert response.status_code == 302
    detail = client.get(response.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Zaal — Buurthuis De Pijler" in detail
    assert "09:00–12:00" in detail and "Schrijven" in detail
    assert "calendar.ics" in detail  # add to calendar
    mine = client.get("/bookings").get_data(as_text=True)
    assert "09:00–12:00" in mine


def test_conflict_and_rule_errors_show_on_the_form(client, setup, member, make_user, login):
    login(member)
    assert post_booking(client, setup["room"], "2026-12-01T09:00", "2026-12-01T12:00").status_code == 302
    response = post_booking(client, setup["room"], "2026-12-01T11:00", "2026-12-01T13:00")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'id="error-summary"' in page and "11:00" in page
    response = post_booking(client, setup["room"], "2026-12-01T09:15", "2026-12-01T10:00")
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_cancel_needs_a_confirmation_step(app, client, setup, member, login):
    login(member)
    location = post_booking(client, setup["room"], "2026-12-03T09:00", "2026-12-03T10:00").headers["Location"]
    booking_id = int(location.rsplit("/", 1)[1])
    page = client.get(f"/bookings/{booking_id}/cancel")
    assert page.status_code == 200
    with app.app_context():
        assert db.session.get(Booking, booking_id).status == "confirmed"  # a GET changes nothing
    response = client.post(
        f"/bookings/{booking_id}/cancel", data={"csrf_token": csrf_token(client, f"/bookings/{booking_id}/cancel")}
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Booking, booking_id).status == "cancelled"


def test_someone_elses_booking_is_404(client, setup, member, make_user, login):
    login(member)
    location = post_booking(client, setup["room"], "2026-12-03T09:00", "2026-12-03T10:00").headers["Location"]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(make_user())
    assert client.get(location).status_code == 404
    assert client.get(location + "/cancel").status_code == 404
    assert client.get(location.replace("/bookings/", "/manage/bookings/")).status_code == 404


def test_manager_approves_from_the_calendar(app, client, setup, member, login):
    login(member)
    location = post_booking(client, setup["approval"], "2026-12-02T13:00", "2026-12-02T15:00").headers["Location"]
    booking_id = int(location.rsplit("/", 1)[1])
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(setup["manager"])
    calendar = client.get(
        f"/manage/venues/{setup['venue']}/calendar?date=2026-12-02", headers={"Accept-Language": "en"}
    )
    page = calendar.get_data(as_text=True)
    assert "request waits for you" in page or "wacht op jou" in page
    assert member.name in page  # managers see who booked
    response = client.post(
        f"/manage/bookings/{booking_id}",
        data={
            "csrf_token": csrf_token(client, f"/manage/bookings/{booking_id}"),
            "action": "approve",
            "next": f"/manage/venues/{setup['venue']}/calendar",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Booking, booking_id).status == "confirmed"


def test_manager_declines_and_cancels_with_reason(app, client, setup, member, login):
    login(member)
    first = int(
        post_booking(client, setup["approval"], "2026-12-02T13:00", "2026-12-02T15:00")
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    second = int(
        post_booking(client, setup["room"], "2026-12-02T13:00", "2026-12-02T15:00")
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(setup["manager"])
    token = csrf_token(client, f"/manage/bookings/{first}")
    client.post(f"/manage/bookings/{first}", data={"csrf_token": token, "action": "decline", "reason": "Vol"})
    client.post(f"/manage/bookings/{second}", data={"csrf_token": token, "action": "cancel", "reason": "Lekkage"})
    with app.app_context():
        assert (db.session.get(Booking, first).status, db.session.get(Booking, first).reason) == ("declined", "Vol")
        assert (db.session.get(Booking, second).status, db.session.get(Booking, second).reason) == (
            "cancelled",
            "Lekkage",
        )


def test_manager_blocks_time_and_members_cannot(app, client, setup, member, login):
    login(setup["manager"])
    token = csrf_token(client, f"/manage/venues/{setup['venue']}/calendar")
    response = client.post(
        f"/manage/venues/{setup['venue']}/blocks",
        data={
            "csrf_token": token,
            "space_id": setup["room"],
            "start": "2026-12-04T09:00",
            "end": "2026-12-04T12:00",
            "title": "Onderhoud",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        block = db.session.scalar(sa.select(Booking).where(Booking.kind == "block"))
        assert (block.space_id, block.title) == (setup["room"], "Onderhoud")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(member)
    assert client.get(f"/manage/venues/{setup['venue']}/calendar").status_code == 403
    assert post_booking(client, setup["room"], "2026-12-04T10:00", "2026-12-04T11:00").status_code == 409
