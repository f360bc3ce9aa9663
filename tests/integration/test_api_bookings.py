"""Booking through the API: rules (422), conflicts (409), capacity per mode, series,
changes, cancellation, approval, blocks, idempotency, access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.bookings.models import Booking, BookingEvent
from app.extensions import db
from tests.factories import make_space, make_venue

# Monday 2026-11-30, 08:00 UTC (09:00 in Amsterdam).
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    import app.bookings.services as services

    monkeypatch.setattr(services, "now_utc", lambda: NOW)
    return NOW


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture
def mh(manager, make_token):
    return bearer(make_token(manager))


@pytest.fixture
def anouk(make_user, make_token):
    return bearer(make_token(make_user("member", email="anouk@example.org", name="Anouk")))


@pytest.fixture
def samir(make_user, make_token):
    return bearer(make_token(make_user("member", email="samir@example.org", name="Samir")))


@pytest.fixture
def venue(app, manager):
    return make_venue(app, manager.id)


@pytest.fixture
def room(app, manager, venue):
    return make_space(app, manager.id, venue, name="Zaal", capacity=12, mode="room")


@pytest.fixture
def corner(app, manager, venue):
    return make_space(app, manager.id, venue, name="Hoek", capacity=8, mode="seats")


def book(client, headers, space_id, start, end, **extra):
    return client.post(
        "/api/v1/bookings", json={"space_id": space_id, "start": start, "end": end, **extra}, headers=headers
    )


def bookings_in_db(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Booking))


# -- single bookings ---------------------------------------------------------------------------


def test_book_a_room(app, client, anouk, room, venue):
    response = book(client, anouk, room, "2026-12-01T09:00", "2026-12-01T12:00", title="Klantgesprek")
    assert response.status_code == 201, response.json
    body = response.json
    assert {
        k: body[k] for k in ("space_id", "venue_id", "start", "end", "seats", "whole", "title", "status", "series_id")
    } == {
        "space_id": room,
        "venue_id": venue,
        "start": "2026-12-01T09:00:00+01:00",
        "end": "2026-12-01T12:00:00+01:00",
        "seats": 12,
        "whole": True,
        "title": "Klantgesprek",
        "status": "confirmed",
        "series_id": None,
    }
    assert "member" not in body  # members never see member data
    with app.app_context():
        booking = db.session.get(Booking, body["id"])
        assert booking.start == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
        assert [e.action for e in booking.events] == ["created"]


def test_back_to_back_is_fine_overlap_is_409_without_names(client, anouk, samir, room):
    assert book(client, anouk, room, "2026-12-01T09:00", "2026-12-01T12:00").status_code == 201
    assert book(client, samir, room, "2026-12-01T12:00", "2026-12-01T13:00").status_code == 201
    response = book(client, samir, room, "2026-12-01T11:30", "2026-12-01T12:30")
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert "11:30" in response.json["detail"] and "12:30" in response.json["detail"]
    assert "Anouk" not in response.get_data(as_text=True) and "anouk" not in response.get_data(as_text=True)


def test_seats_overlap_while_capacity_holds(client, anouk, samir, make_user, make_token, corner):
    kees = bearer(make_token(make_user()))
    assert book(client, anouk, corner, "2026-12-01T09:00", "2026-12-01T11:00", seats=3).status_code == 201
    assert book(client, samir, corner, "2026-12-01T10:00", "2026-12-01T12:00", seats=5).status_code == 201
    # 3 + 5 = 8 from 10 to 11: one more seat does not fit then, but fits from 11 on.
    assert book(client, kees, corner, "2026-12-01T10:30", "2026-12-01T11:30", seats=1).status_code == 409
    assert book(client, kees, corner, "2026-12-01T11:00", "2026-12-01T12:00", seats=3).status_code == 201
    # Not "the sum of every overlapping booking": 3 (9-11) and 3 (11-12) never meet.
    assert book(client, kees, corner, "2026-12-01T09:00", "2026-12-01T10:00", seats=5).status_code == 201


def test_both_mode_whole_takes_every_seat(app, client, manager, venue, anouk, samir):
    both = make_space(app, manager.id, venue, name="Studio", capacity=6, mode="both")
    assert book(client, anouk, both, "2026-12-01T09:00", "2026-12-01T10:00", seats=1).status_code == 201
    assert book(client, samir, both, "2026-12-01T09:00", "2026-12-01T10:00", whole=True).status_code == 409
    response = book(client, samir, both, "2026-12-01T10:00", "2026-12-01T11:00", whole=True)
    assert (response.status_code, response.json["seats"], response.json["whole"]) == (201, 6, True)
    assert book(client, anouk, both, "2026-12-01T10:30", "2026-12-01T11:00", seats=1).status_code == 409


@pytest.mark.parametrize(
    ("start", "end", "extra", "field"),
    [
        ("2026-12-01T12:00", "2026-12-01T09:00", {}, "end"),  # end before start
        ("2026-12-01T09:15", "2026-12-01T10:00", {}, "start"),  # off the 30-minute grid
        ("2026-12-01T09:00", "2026-12-01T09:00", {}, "end"),
        ("2026-12-01T07:00", "2026-12-01T09:00", {}, "start"),  # before opening
        ("2026-12-05T09:00", "2026-12-05T10:00", {}, "start"),  # Saturday: closed
        ("2026-11-30T08:00", "2026-11-30T08:30", {}, "start"),  # in the past
        ("2027-06-01T09:00", "2027-06-01T10:00", {}, "start"),  # past the 90-day horizon
        ("2026-12-01T09:00", "2026-12-01T18:00", {}, "end"),  # longer than 8 hours
        ("2026-12-01T09:00", "2026-12-01T10:00", {"seats": 13}, "seats"),
        ("2026-12-01T09:00", "2026-12-01T10:00", {"seats": 0}, "seats"),
        ("2026-12-01 9 uur", "2026-12-01T10:00", {}, "start"),
        ("9999-12-31T09:00", "9999-12-31T10:00", {}, "start"),
        ("0001-01-01T00:00:00+01:00", "2026-12-01T10:00", {}, "start"),
        ("2027-03-28T02:30", "2027-03-28T03:30", {}, "start"),  # does not exist
        ("2026-12-01T09:00", "2026-12-01T10:00", {"title": "x" * 201}, "title"),
        ("2026-12-01T09:00", "2026-12-01T10:00", {"seats": "2"}, "seats"),
        ("2026-12-01T09:00", "2026-12-01T10:00", {"repeat": {"freq": "monthly", "count": 3}}, "repeat.freq"),
        ("2026-12-01T09:00", "2026-12-01T10:00", {"repeat": {"freq": "weekly", "count": 60}}, "repeat.count"),
        ("2026-12-01T09:00", "2026-12-01T10:00", {"repeat": "weekly"}, "repeat"),
    ],
)
def test_rules_are_422_with_the_field(app, client, anouk, room, start, end, extra, field):
    response = book(client, anouk, room, start, end, **extra)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert bookings_in_db(app) == 0


def test_unknown_or_hidden_space_is_422(app, client, anouk, manager):
    hidden = make_space(app, manager.id, make_venue(app, manager.id, published=False))
    for space_id in (hidden, 999999):
        response = book(client, anouk, space_id, "2026-12-01T09:00", "2026-12-01T10:00")
        assert response.status_code == 422
        assert "space_id" in response.json["errors"]


def test_lead_time_and_closure(app, client, manager, venue, anouk, mh):
    space = make_space(app, manager.id, venue, lead_minutes=24 * 60)
    response = book(client, anouk, space, "2026-11-30T14:00", "2026-11-30T15:00")
    assert response.status_code == 422
    client.post(f"/api/v1/spaces/{space}/closures", json={"start": "2026-12-02", "end": "2026-12-02"}, headers=mh)
    assert book(client, anouk, space, "2026-12-02T10:00", "2026-12-02T11:00").status_code == 422
    assert book(client, anouk, space, "2026-12-03T10:00", "2026-12-03T11:00").status_code == 201


def test_buffer_between_bookings(app, client, manager, venue, anouk, samir):
    space = make_space(app, manager.id, venue, buffer_minutes=30)
    assert book(client, anouk, space, "2026-12-01T09:00", "2026-12-01T10:00").status_code == 201
    assert book(client, samir, space, "2026-12-01T10:00", "2026-12-01T11:00").status_code == 409
    assert book(client, samir, space, "2026-12-01T10:30", "2026-12-01T11:30").status_code == 201


def test_booking_across_a_dst_change(app, client, manager, venue, anouk, monkeypatch):
    import app.bookings.services as services

    monkeypatch.setattr(services, "now_utc", lambda: datetime(2027, 10, 1, tzinfo=UTC))
    space = make_space(app, manager.id, venue, hours="daily", max_minutes=24 * 60, horizon_days=60)
    from datetime import time

    from app.availability.services import set_hours
    from app.venues.services import managed_space

    with app.app_context():
        from app.accounts.models import User

        actor = db.session.get(User, manager.id)
        set_hours(actor, managed_space(actor, space), [(d, time(0), time(23, 59)) for d in range(7)])
        db.session.commit()
    # Sunday 2027-10-31 00:00-12:00 local spans the fall-back: 13 hours of real time.
    response = book(client, anouk, space, "2027-10-31T00:00", "2027-10-31T12:00")
    assert response.status_code == 201, response.json
    assert (response.json["start"], response.json["end"]) == ("2027-10-31T00:00:00+02:00", "2027-10-31T12:00:00+01:00")


# -- series ------------------------------------------------------------------------------------


def test_weekly_series_keeps_local_time(app, client, anouk, room):
    response = book(client, anouk, room, "2026-12-01T09:00", "2026-12-01T12:00", repeat={"freq": "weekly", "count": 4})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["series_id"] and body["skipped"] == []
    assert [b["start"] for b in body["bookings"]] == [
        "2026-12-01T09:00:00+01:00",
        "2026-12-08T09:00:00+01:00",
        "2026-12-15T09:00:00+01:00",
        "2026-12-22T09:00:00+01:00",
    ]
    assert {b["series_id"] for b in body["bookings"]} == {body["series_id"]}


def test_series_with_a_conflict_books_nothing_and_lists_every_clash(app, client, anouk, samir, room):
    book(client, samir, room, "2026-12-08T10:00", "2026-12-08T11:00")
    book(client, samir, room, "2026-12-22T09:00", "2026-12-22T09:30")
    response = book(client, anouk, room, "2026-12-01T09:00", "2026-12-01T12:00", repeat={"freq": "weekly", "count": 4})
    assert response.status_code == 409
    assert "8 dec" in response.json["detail"] and "22 dec" in response.json["detail"]
    assert bookings_in_db(app) == 2


def test_series_skip_conflicts_books_the_rest(app, client, anouk, samir, room):
    book(client, samir, room, "2026-12-08T10:00", "2026-12-08T11:00")
    response = book(
        client,
        anouk,
        room,
        "2026-12-01T09:00",
        "2026-12-01T12:00",
        repeat={"freq": "weekly", "count": 3, "skip_conflicts": True},
    )
    assert response.status_code == 201
    assert [b["start"][:10] for b in response.json["bookings"]] == ["2026-12-01", "2026-12-15"]
    assert [(s["start"], s["end"]) for s in response.json["skipped"]] == [
        ("2026-12-08T09:00:00+01:00", "2026-12-08T12:00:00+01:00")
    ]
    assert response.json["skipped"][0]["reason"]


def test_daily_series_over_a_weekend_with_closed_days(app, client, anouk, room):
    response = book(client, anouk, room, "2026-12-04T09:00", "2026-12-04T10:00", repeat={"freq": "daily", "count": 3})
    assert response.status_code == 422  # Saturday and Sunday are closed
    assert bookings_in_db(app) == 0


# -- change, cancel ----------------------------------------------------------------------------


def test_change_time_checked_like_a_new_booking(app, client, anouk, samir, room):
    mine = book(client, anouk, room, "2026-12-01T09:00", "2026-12-01T10:00").json
    book(client, samir, room, "2026-12-01T11:00", "2026-12-01T12:00")
    response = client.patch(f"/api/v1/bookings/{mine['id']}", json={"end": "2026-12-01T11:30"}, headers=anouk)
    assert response.status_code == 409
    after = client.get(f"/api/v1/bookings/{mine['id']}", headers=anouk).json
    assert after == mine  # refused: exactly as it was
    # Moving within its own time is fine (it does not clash with itself).
    response = client.patch(
        f"/api/v1/bookings/{mine['id']}",
        json={"start": "2026-12-01T09:30", "end": "2026-12-01T11:00", "title": "Later"},
        headers=anouk,
    )
    assert response.status_code == 200, response.json
    assert (response.json["start"], response.json["end"], response.json["title"]) == (
        "2026-12-01T09:30:00+01:00",
        "2026-12-01T11:00:00+01:00",
        "Later",
    )
    with app.app_context():
        assert db.session.get(Booking, mine["id"]).sequence == 1


def test_cancel_frees_the_slot_at_once(app, client, anouk, samir, room):
    mine = book(client, anouk, room, "2026-12-03T09:00", "2026-12-03T10:00").json
    assert book(client, samir, room, "2026-12-03T09:00", "2026-12-03T10:00").status_code == 409
    response = client.post(f"/api/v1/bookings/{mine['id']}/cancel", json={}, headers=anouk)
    assert (response.status_code, response.json["status"]) == (200, "cancelled")
    assert book(client, samir, room, "2026-12-03T09:00", "2026-12-03T10:00").status_code == 201
    with app.app_context():
        booking = db.session.get(Booking, mine["id"])
        assert booking.sequence == 1
        assert [e.action for e in booking.events] == ["created", "cancelled"]


def test_members_cancel_until_cancel_hours_before(app, client, anouk, mh, room):
    soon = book(client, anouk, room, "2026-11-30T14:00", "2026-11-30T15:00").json  # 5 hours ahead, 24 h rule
    response = client.post(f"/api/v1/bookings/{soon['id']}/cancel", json={}, headers=anouk)
    assert response.status_code == 422
    assert "24" in response.json["detail"]
    # A manager may, with a reason the member sees.
    response = client.post(f"/api/v1/bookings/{soon['id']}/cancel", json={"reason": "Lekkage"}, headers=mh)
    assert (response.status_code, response.json["status"]) == (200, "cancelled")


def test_cancel_rest_of_series(app, client, anouk, room):
    series = book(
        client, anouk, room, "2026-12-01T09:00", "2026-12-01T10:00", repeat={"freq": "weekly", "count": 4}
    ).json
    response = client.post(
        f"/api/v1/series/{series['series_id']}/cancel", json={"from": "2026-12-10T00:00:00+01:00"}, headers=anouk
    )
    assert response.status_code == 200
    assert [b["start"][:10] for b in response.json["bookings"]] == ["2026-12-15", "2026-12-22"]
    statuses = [
        b["status"]
        for b in client.get("/api/v1/bookings?from=2026-12-01&to=2026-12-31", headers=anouk).json["bookings"]
    ]
    assert statuses == ["confirmed", "confirmed", "cancelled", "cancelled"]


# -- approval ----------------------------------------------------------------------------------


def test_approval_flow(app, client, manager, venue, anouk, samir, mh):
    space = make_space(app, manager.id, venue, requires_approval=True)
    request = book(client, anouk, space, "2026-12-01T13:00", "2026-12-01T17:00").json
    assert request["status"] == "pending"
    # Pending holds its seats.
    assert book(client, samir, space, "2026-12-01T13:00", "2026-12-01T14:00").status_code == 409
    assert client.post(f"/api/v1/bookings/{request['id']}/approve", json={}, headers=anouk).status_code == 403
    response = client.post(f"/api/v1/bookings/{request['id']}/approve", json={"message": "Tot dan!"}, headers=mh)
    assert (response.status_code, response.json["status"]) == (200, "confirmed")
    assert client.post(f"/api/v1/bookings/{request['id']}/decline", json={}, headers=mh).status_code == 422


def test_decline_frees_the_seats(app, client, manager, venue, anouk, samir, mh):
    space = make_space(app, manager.id, venue, requires_approval=True)
    request = book(client, anouk, space, "2026-12-01T13:00", "2026-12-01T17:00").json
    response = client.post(
        f"/api/v1/bookings/{request['id']}/decline", json={"reason": "Dicht voor onderhoud"}, headers=mh
    )
    assert (response.status_code, response.json["status"]) == (200, "declined")
    assert book(client, samir, space, "2026-12-01T13:00", "2026-12-01T14:00").json["status"] == "pending"


# -- managers ----------------------------------------------------------------------------------


def test_manager_books_on_behalf_and_blocks(app, client, manager, anouk, mh, room, make_user, make_token):
    walk_in = make_user("member", email="walkin@example.org")
    response = book(client, mh, room, "2026-12-01T09:00", "2026-12-01T10:00", member_email="walkin@example.org")
    assert response.status_code == 201
    assert response.json["member"] == {"name": walk_in.name, "email": "walkin@example.org"}
    own = client.get("/api/v1/bookings?from=2026-12-01&to=2026-12-01", headers=bearer(make_token(walk_in))).json
    assert [b["id"] for b in own["bookings"]] == [response.json["id"]]
    # Members cannot book for others.
    response = book(client, anouk, room, "2026-12-01T11:00", "2026-12-01T12:00", member_email="walkin@example.org")
    assert response.status_code == 403
    block = client.post(
        f"/api/v1/spaces/{room}/blocks",
        json={"start": "2026-12-01T13:00", "end": "2026-12-01T17:00", "title": "Schoonmaak"},
        headers=mh,
    )
    assert block.status_code == 201
    assert (block.json["kind"], block.json["member"]) == ("block", None)
    assert book(client, anouk, room, "2026-12-01T14:00", "2026-12-01T15:00").status_code == 409
    assert (
        client.post(
            f"/api/v1/spaces/{room}/blocks",
            json={"start": "2026-12-01T13:00", "end": "2026-12-01T14:00"},
            headers=anouk,
        ).status_code
        == 403
    )


def test_manager_lists_a_space_and_members_see_only_their_own(app, client, anouk, samir, mh, room):
    book(client, anouk, room, "2026-12-01T09:00", "2026-12-01T10:00")
    book(client, samir, room, "2026-12-01T10:00", "2026-12-01T11:00")
    listed = client.get(f"/api/v1/bookings?space_id={room}&from=2026-12-01&to=2026-12-01", headers=mh).json["bookings"]
    assert [b["member"]["email"] for b in listed] == ["anouk@example.org", "samir@example.org"]
    mine = client.get("/api/v1/bookings?from=2026-12-01&to=2026-12-01", headers=anouk).json["bookings"]
    assert len(mine) == 1
    assert client.get(f"/api/v1/bookings?space_id={room}", headers=anouk).status_code == 403
    assert client.get(f"/api/v1/bookings/{listed[1]['id']}", headers=anouk).status_code == 404
    assert client.post(f"/api/v1/bookings/{listed[1]['id']}/cancel", json={}, headers=anouk).status_code == 404


def test_list_window_semantics(client, anouk, room):
    book(client, anouk, room, "2026-12-01T09:00", "2026-12-01T10:00")
    book(client, anouk, room, "2026-12-02T16:00", "2026-12-02T17:00")

    def starts(query):
        response = client.get(f"/api/v1/bookings?{query}", headers=anouk)
        assert response.status_code == 200, response.json
        return [b["start"][:16] for b in response.json["bookings"]]

    assert starts("from=2026-12-01&to=2026-12-01") == ["2026-12-01T09:00"]  # whole local days, inclusive
    assert starts("from=2026-12-01&to=2026-12-02") == ["2026-12-01T09:00", "2026-12-02T16:00"]
    assert starts("from=2026-12-01T09:30&to=2026-12-02T16:00") == ["2026-12-01T09:00"]  # half-open, overlapping
    for bad in (
        "from=2026-12-02&to=2026-12-01",
        "from=2026-01-01&to=2027-06-01",
        "from=gisteren",
        "status=maybe",
        "space_id=abc",
    ):
        assert client.get(f"/api/v1/bookings?{bad}", headers=anouk).status_code == 422, bad


# -- idempotency -------------------------------------------------------------------------------


def test_idempotency_key(app, client, anouk, room):
    headers = {**anouk, "Idempotency-Key": "abc-123"}
    first = book(client, headers, room, "2026-12-01T09:00", "2026-12-01T10:00")
    again = book(client, headers, room, "2026-12-01T09:00", "2026-12-01T10:00")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    assert bookings_in_db(app) == 1
    other = book(client, headers, room, "2026-12-01T11:00", "2026-12-01T12:00")
    assert other.status_code == 422
    assert bookings_in_db(app) == 1


def test_history_is_kept(app, client, anouk, mh, room):
    b = book(client, anouk, room, "2026-12-02T09:00", "2026-12-02T10:00").json
    client.patch(f"/api/v1/bookings/{b['id']}", json={"title": "Nieuw"}, headers=mh)
    client.post(f"/api/v1/bookings/{b['id']}/cancel", json={"reason": "Storing"}, headers=mh)
    with app.app_context():
        events = db.session.scalars(
            sa.select(BookingEvent).where(BookingEvent.booking_id == b["id"]).order_by(BookingEvent.id)
        ).all()
        assert [e.action for e in events] == ["created", "changed", "cancelled"]
        assert events[2].details["reason"] == "Storing"


# -- what a booking costs the database ---------------------------------------------------------------


def statements_during(app, action) -> list[str]:
    from sqlalchemy import event

    with app.app_context():
        engine = db.session.get_bind().engine
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


@pytest.mark.parametrize("key", [None, "key-1"])
def test_the_answer_is_rendered_without_reading_after_the_commit(app, client, anouk, room, key):
    headers = {**anouk, **({"Idempotency-Key": key} if key else {})}
    responses = []
    seen = statements_during(
        app, lambda: responses.append(book(client, headers, room, "2026-12-01T09:00", "2026-12-01T10:00"))
    )
    assert responses[0].status_code == 201
    # The app's commit is a savepoint release here; nothing is read again to render the answer.
    last_commit = max(i for i, s in enumerate(seen) if s.startswith("RELEASE SAVEPOINT"))
    assert seen[last_commit + 1 :] == []
    assert any(s.startswith("INSERT INTO outbox_messages") for s in seen[:last_commit])
    with app.app_context():
        booking = db.session.get(Booking, responses[0].json["id"])
        assert responses[0].json["updated_at"] == booking.updated_at.astimezone(booking.space.venue.zone).isoformat()
    if key:
        again = book(client, headers, room, "2026-12-01T09:00", "2026-12-01T10:00")
        assert again.json == responses[0].json


@pytest.fixture
def fresh_app(database_kind, tmp_path):
    """An app on a database of its own, with real transactions (BEGIN … COMMIT, no savepoints)."""
    from app import create_app
    from config import TestingConfig
    from tests.support.databases import empty_database, migrate

    built = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database(database_kind, "dichtbij_api", tmp_path))
    built.instance_path = str(tmp_path / "instance")
    migrate(built)
    yield built
    with built.app_context():
        db.engine.dispose()


def people(app) -> tuple[int, int, str]:
    """A manager and a member with an API token (the member's), on an app of its own."""
    from app.accounts.services import create_api_token, register_user

    with app.app_context():
        manager = register_user("beheer@example.org", "long enough pw", "Marja", "nl", "manager")
        member = register_user("anne@example.org", "long enough pw", "Anne", "en")
        _token, plaintext = create_api_token(member, "test")
        db.session.commit()
        return manager.id, member.id, plaintext


def test_a_booking_reads_first_and_notes_the_tokens_use(fresh_app):
    """Before the write transaction the request only reads (on SQLite: BEGIN DEFERRED); a token
    whose last use is due is still recorded, in a write transaction of its own."""
    from app.accounts.models import ApiToken

    manager_id, _member_id, plaintext = people(fresh_app)
    venue = make_venue(fresh_app, manager_id)
    space = make_space(fresh_app, manager_id, venue, capacity=4, mode="seats")
    client = fresh_app.test_client()
    headers = bearer(plaintext)

    seen = statements_during(fresh_app, lambda: book(client, headers, space, "2026-12-01T09:00", "2026-12-01T10:00"))
    with fresh_app.app_context():
        used = db.session.scalar(sa.select(ApiToken.last_used_at))
    assert used is not None
    if fresh_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        begins = [s for s in seen if s.startswith("BEGIN")]
        # read (token), token's use noted, read again (space), the booking
        assert begins == ["BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN DEFERRED", "BEGIN IMMEDIATE"]

    seen = statements_during(fresh_app, lambda: book(client, headers, space, "2026-12-01T10:00", "2026-12-01T11:00"))
    with fresh_app.app_context():
        assert db.session.scalar(sa.select(ApiToken.last_used_at)) == used  # noted every few minutes
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 2
    if fresh_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN DEFERRED", "BEGIN IMMEDIATE"]
    assert seen[-1].startswith("INSERT INTO outbox_messages")  # written at the commit; nothing read after it

    bad = book(client, bearer("not-a-token"), space, "2026-12-01T11:00", "2026-12-01T12:00")
    assert bad.status_code == 401


def test_a_booking_on_postgresql_is_one_transaction(fresh_app):
    """PostgreSQL: the booking is written in the request's transaction (READ COMMITTED; the
    space's row lock orders the checks), so a booking costs one BEGIN and one COMMIT, not a
    second pair and the pool's second ping. SQLite ends its deferred read first."""
    from sqlalchemy import event

    manager_id, _member_id, plaintext = people(fresh_app)
    with fresh_app.app_context():
        engine = db.engine
    venue = make_venue(fresh_app, manager_id)
    space = make_space(fresh_app, manager_id, venue, capacity=1, mode="seats")
    client, headers = fresh_app.test_client(), bearer(plaintext)
    assert book(client, headers, space, "2026-12-01T11:00", "2026-12-01T12:00").status_code == 201  # token noted

    ends: list[str] = []
    listeners = {"commit": lambda _conn: ends.append("commit"), "rollback": lambda _conn: ends.append("rollback")}
    for name, listener in listeners.items():
        event.listen(engine, name, listener)
    try:
        assert book(client, headers, space, "2026-12-01T09:00", "2026-12-01T10:00").status_code == 201
        written = list(ends)
        ends.clear()
        assert book(client, headers, space, "2026-12-01T09:30", "2026-12-01T10:30").status_code == 409
        refused = list(ends)
    finally:
        for name, listener in listeners.items():
            event.remove(engine, name, listener)
    postgresql = engine.dialect.name == "postgresql"
    assert [e for e in written if e == "commit"] == (["commit"] if postgresql else ["commit", "commit"])
    # Refused: rolled back whole, nothing committed on its behalf on PostgreSQL.
    assert "commit" not in refused if postgresql else refused.count("commit") == 1
    with fresh_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 2


def test_an_approval_never_revives_a_request_cancelled_meanwhile(fresh_app):
    """The manager's page read the request as pending; the member cancelled it before the
    manager pressed approve. The approval is refused and the booking stays cancelled (on
    PostgreSQL the write goes on in the request's transaction: it must still read afresh)."""
    from app.bookings import services
    from app.bookings.transaction import begin_reading
    from app.errors import DomainError

    manager_id, member_id, _plaintext = people(fresh_app)
    venue = make_venue(fresh_app, manager_id)
    space = make_space(fresh_app, manager_id, venue, requires_approval=True)
    with fresh_app.app_context():
        start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        member = db.session.get(User, member_id)
        booking_id = services.create_booking(member, space, start, start + timedelta(hours=1)).bookings[0].id

    with fresh_app.app_context():  # the manager's request
        begin_reading()
        manager = db.session.get(User, manager_id)
        seen = db.session.get(Booking, booking_id)  # held, as the view holds what it shows
        assert seen.status == "pending"
        with fresh_app.app_context():  # meanwhile, the member's request
            services.cancel_booking(db.session.get(User, member_id), booking_id)
        with pytest.raises(DomainError):
            services.approve_booking(manager, booking_id)
        assert seen.status == "cancelled"
    with fresh_app.app_context():
        assert db.session.get(Booking, booking_id).status == "cancelled"


def test_a_refused_change_keeps_the_tokens_noted_use(fresh_app):
    """A request that notes its token's use and then has its write refused keeps the note: what
    the request changed before the write is committed first, even when a query already flushed it."""
    from app.accounts.models import ApiToken

    manager_id, _member_id, plaintext = people(fresh_app)
    venue = make_venue(fresh_app, manager_id)
    space = make_space(fresh_app, manager_id, venue, capacity=1, mode="seats")
    client, headers = fresh_app.test_client(), bearer(plaintext)
    first = book(client, headers, space, "2026-12-01T09:00", "2026-12-01T10:00").json["id"]
    assert book(client, headers, space, "2026-12-01T10:00", "2026-12-01T11:00").status_code == 201
    with fresh_app.app_context():
        db.session.execute(sa.update(ApiToken).values(last_used_at=None))  # its use is due again
        db.session.commit()

    moved = client.patch(f"/api/v1/bookings/{first}", json={"end": "2026-12-01T10:30"}, headers=headers)
    assert moved.status_code == 409, moved.json  # the next booking holds 10:00
    with fresh_app.app_context():
        assert db.session.scalar(sa.select(ApiToken.last_used_at)) is not None


def test_sqlite_writers_take_turns(fresh_app):
    """Booking transactions queue for their turn (threads on a lock, processes on a file lock
    next to the database) instead of polling SQLite's busy handler."""
    import threading
    import time
    from pathlib import Path

    from app.bookings.transaction import writer_turn

    with fresh_app.app_context():
        url = db.engine.url
    sqlite = url.get_backend_name() == "sqlite"
    order: list[str] = []
    inside, release = threading.Event(), threading.Event()

    def first():
        with fresh_app.app_context(), writer_turn():
            order.append("first in")
            inside.set()
            release.wait(10)
            order.append("first out")

    def second():
        inside.wait(10)
        with fresh_app.app_context(), writer_turn():
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inside.wait(10)
    time.sleep(0.2)
    if not sqlite:  # PostgreSQL writers lock the space's row instead: no turns to take
        assert order == ["first in", "second in"]
        release.set()
        for thread in threads:
            thread.join(10)
        return
    assert order == ["first in"]
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first in", "first out", "second in"]
    assert Path(f"{url.database}-writers").exists()


def test_a_writer_waits_for_another_process_at_most_the_busy_timeout(tmp_path, monkeypatch):
    """`flock` cannot time out by itself: a process that holds the turn too long gets the next
    writer a 503 after BUSY_WAIT, not a hang. (SQLite only: PostgreSQL writers take no turns.)"""
    import fcntl
    import os

    from app import create_app
    from app.bookings import transaction
    from app.bookings.transaction import Unavailable, writer_turn
    from config import TestingConfig

    path = tmp_path / "turns.db"
    own = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    monkeypatch.setattr(transaction, "BUSY_WAIT", 0.3)
    other = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT)  # another process's hold
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        with own.app_context(), pytest.raises(Unavailable), writer_turn():
            pass
        fcntl.flock(other, fcntl.LOCK_UN)
        with own.app_context(), writer_turn():  # and the turn is free again
            entered = True
        assert entered
    finally:
        os.close(other)
        with own.app_context():
            db.engine.dispose()
