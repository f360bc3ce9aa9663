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


def _amsterdam(text: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Amsterdam"))


@pytest.fixture
def busy_day(app, setup, member):
    """Wednesday 2 December: a confirmed booking with a title, a pending request, seats, a whole
    booking, a cancelled one (not shown), a block over midnight (Thursday into Friday) and a space
    with nothing."""
    from app.accounts.models import User
    from app.bookings import services

    seats = make_space(app, setup["manager"].id, setup["venue"], name="Plekken", mode="both", capacity=10)
    empty = make_space(app, setup["manager"].id, setup["venue"], name="Leeg")
    with app.app_context():
        who, manager = db.session.get(User, member.id), db.session.get(User, setup["manager"].id)
        ids = {
            "titled": services.create_booking(
                who, setup["room"], _amsterdam("2026-12-02T10:00"), _amsterdam("2026-12-02T12:00"), title="Koor <b>"
            ),
            "pending": services.create_booking(
                who, setup["approval"], _amsterdam("2026-12-02T13:00"), _amsterdam("2026-12-02T15:00")
            ),
            "seats": services.create_booking(
                who, seats, _amsterdam("2026-12-02T09:00"), _amsterdam("2026-12-02T10:00"), seats=3
            ),
            "whole": services.create_booking(
                who, seats, _amsterdam("2026-12-02T16:00"), _amsterdam("2026-12-02T17:00"), whole=True
            ),
            "cancelled": services.create_booking(
                who, setup["room"], _amsterdam("2026-12-02T14:00"), _amsterdam("2026-12-02T15:00")
            ),
        }
        ids = {k: r.bookings[0].id for k, r in ids.items()}
        db.session.commit()
        services.cancel_booking(manager, ids["cancelled"], "Lekkage")
        ids["block"] = services.create_block(
            manager, seats, _amsterdam("2026-12-03T20:00"), _amsterdam("2026-12-04T10:00"), "Vloer"
        ).id
        db.session.commit()
    return {**setup, "seats": seats, "empty": empty, "ids": ids}


def _sections(page: str) -> list[str]:
    return page.split('<section class="calendar-day"')[1:]


def test_venue_calendar_of_a_day(app, client, busy_day, member, login):
    ids, venue = busy_day["ids"], busy_day["venue"]
    login(busy_day["manager"])
    response = client.get(f"/manage/venues/{venue}/calendar?date=2026-12-02")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    pending, (day,) = page.split('<nav class="week-nav"')[0], _sections(page)
    # The request waiting for approval, with its space, member, seats and both ways to act on it.
    assert "1 request waits for you" in pending
    assert f"Atelier · {member.name} · The whole space" in pending  # a room is booked whole
    assert f'action="/manage/bookings/{ids["pending"]}"' in pending
    assert f'href="/manage/bookings/{ids["pending"]}">Decline or reply</a>' in pending
    assert f'name="next" value="/manage/venues/{venue}/calendar?date=2026-12-02"' in pending  # back here afterwards
    # One table per space with bookings, in the venue's order, each with its own headers.
    assert day.count("<table") == 3 and day.count('<th class="utrecht-table__header-cell" scope="col">Time</th>') == 3
    assert [h.split("</h3>")[0] for h in day.split('<h3 class="utrecht-heading-4">')[1:]] == [
        "Zaal",
        "Atelier",
        "Plekken",
        "Leeg",
    ]
    assert day.count("No bookings.") == 1
    assert "Wednesday 2 December" in day
    zaal, atelier, plekken = day.split('<h3 class="utrecht-heading-4">')[1:4]
    assert "10:00–12:00" in zaal and "Koor &lt;b&gt;" in zaal and "14:00" not in zaal  # cancelled: gone
    assert f'<a class="utrecht-link" href="/manage/bookings/{ids["titled"]}">{member.name}</a>' in zaal
    assert '<span class="status-badge status-badge--confirmed">Confirmed</span>' in zaal
    assert "calendar-table__row--pending" in atelier and "Waiting for approval" in atelier
    assert "calendar-table__row--pending" not in zaal + plekken
    assert plekken.index("09:00–10:00") < plekken.index("3 seats") < plekken.index("16:00–17:00")
    assert "The whole space" in plekken
    # Book for a member: one link per space, to that space's form at 09:00 that day.
    for space in ("room", "approval", "seats", "empty"):
        assert f'href="/spaces/{busy_day[space]}/book?start=2026-12-02T09:00"' in page


def test_venue_calendar_of_a_week(client, busy_day, login):
    login(busy_day["manager"])
    page = client.get(f"/manage/venues/{busy_day['venue']}/calendar?date=2026-12-02&view=week").get_data(as_text=True)
    days = _sections(page)
    assert len(days) == 7 and "Monday 30 November" in days[0] and "Today, Monday 30 November" in days[0]
    block = f'href="/manage/bookings/{busy_day["ids"]["block"]}">Blocked</a>'
    # The block from Thursday 20:00 until Friday 10:00 shows on both days, and nowhere else.
    assert [block in d for d in days] == [False, False, False, True, True, False, False]
    assert "20:00–10:00" in days[3] and days[3].count("<table") == 1


def test_venue_calendar_in_dutch(client, busy_day, make_user, login, app):
    from app.accounts.models import User

    with app.app_context():
        db.session.get(User, busy_day["manager"].id).language = "nl"
        db.session.commit()
    login(busy_day["manager"])
    page = client.get(f"/manage/venues/{busy_day['venue']}/calendar?date=2026-12-02").get_data(as_text=True)
    assert "woensdag 2 december" in page
    for text in ("Tijd", "Bevestigd", "Wacht op goedkeuring", "De hele ruimte", "Boek Leeg voor een lid"):
        assert text in page, text
    assert "Confirmed" not in page and "Time</th>" not in page


def test_kept_calendar_days_show_every_change(app, client, busy_day, member, login, monkeypatch):
    """With the cache of calendar days on (TESTING turns it off), an unchanged day is rendered
    once, and a booking, a cancellation, a renamed space or member shows on the next look."""
    from app.accounts.models import User
    from app.bookings import queries, services
    from app.cache import CACHES, BoundedCache
    from app.venues import services as venues

    monkeypatch.setitem(app.extensions, "cache.calendar_days", BoundedCache(8, *CACHES["calendar_days"][1:]))
    reads = []
    entries = queries.calendar_entries
    monkeypatch.setattr(queries, "calendar_entries", lambda *a, **kw: reads.append(kw) or entries(*a, **kw))
    login(busy_day["manager"])
    path = f"/manage/venues/{busy_day['venue']}/calendar?date=2026-12-02"

    def day() -> str:
        (found,) = _sections(client.get(path).get_data(as_text=True))
        return found.split('<section class="manager-tools"')[0]  # not the form's CSRF token (it has a time)

    first = day()
    assert day() == first
    assert [r for r in reads if "statuses" not in r] == [{}]  # the day's bookings read once, the pending each time
    with app.app_context():
        who = db.session.get(User, member.id)
        made = (
            services.create_booking(
                who, busy_day["empty"], _amsterdam("2026-12-02T11:00"), _amsterdam("2026-12-02T12:00")
            )
            .bookings[0]
            .id
        )
        db.session.commit()
    assert "No bookings." not in day()
    with app.app_context():
        manager = db.session.get(User, busy_day["manager"].id)
        services.cancel_booking(manager, made, "")
        db.session.commit()
    assert day() == first
    with app.app_context():
        manager = db.session.get(User, busy_day["manager"].id)
        venues.update_space(manager, venues.managed_space(manager, busy_day["empty"]), {"name": "Stilte"})
        db.session.get(User, member.id).name = "Anouk Nieuw"
        db.session.commit()
    changed = day()
    assert "Stilte" in changed and "Anouk Nieuw" in changed and "Leeg" not in changed
