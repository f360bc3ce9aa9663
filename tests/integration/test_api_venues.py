"""The venues API: venues, spaces, hours, closures, availability, search, access rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.availability.models import Closure, OpeningWindow
from app.extensions import db
from app.venues.models import Space, Venue
from tests.factories import LOMBOK, make_space, make_venue, make_venues_with_a_space, venue_values


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture
def mh(manager, make_token):
    """Headers of the manager."""
    return bearer(make_token(manager))


@pytest.fixture
def frozen_now(monkeypatch):
    """Freeze the clock the API uses: Monday 2026-11-30 08:00 UTC."""
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    import app.api.venues as api_venues

    monkeypatch.setattr(api_venues, "now_utc", lambda: now)
    return now


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# -- venues ------------------------------------------------------------------------------------


def test_manager_creates_venue_and_becomes_its_manager(app, client, manager, mh):
    response = client.post("/api/v1/venues", json=venue_values(amenities=["wifi", "coffee", "wifi"]), headers=mh)
    assert response.status_code == 201
    body = response.json
    assert body["name"] == "Buurthuis De Pijler"
    assert body["timezone"] == "Europe/Amsterdam"
    assert body["amenities"] == ["coffee", "wifi"]
    assert set(body) == {
        "id",
        "name",
        "kind",
        "address",
        "postcode",
        "city",
        "neighbourhood",
        "lat",
        "lon",
        "timezone",
        "description",
        "contact",
        "amenities",
        "published",
        "feed_url",
    }
    with app.app_context():
        venue = db.session.get(Venue, body["id"])
        assert [m.id for m in venue.managers] == [manager.id]


def test_member_may_not_create_venues(app, client, member, make_token):
    response = client.post("/api/v1/venues", json=venue_values(), headers=bearer(make_token(member)))
    assert response.status_code == 403
    assert count(app, Venue) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "castle"),
        ("lat", 91),
        ("lon", -181),
        ("timezone", "Mars/Olympus"),
        ("amenities", ["sauna"]),
        ("name", ""),
        ("name", "x" * 121),
        ("lat", "52.1"),
        ("published", "yes"),
        ("amenities", "wifi"),
        ("city", None),
    ],
)
def test_bad_venue_fields_are_422_naming_the_field(app, client, mh, field, value):
    body = venue_values(**{field: value})
    if value is None:
        del body[field]
    response = client.post("/api/v1/venues", json=body, headers=mh)
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert count(app, Venue) == 0


def test_patch_venue_changes_only_what_is_given(app, client, mh):
    vid = client.post("/api/v1/venues", json=venue_values(), headers=mh).json["id"]
    response = client.patch(f"/api/v1/venues/{vid}", json={"name": "De Pijler", "published": False}, headers=mh)
    assert response.status_code == 200
    assert (response.json["name"], response.json["published"], response.json["city"]) == ("De Pijler", False, "Utrecht")
    response = client.patch(f"/api/v1/venues/{vid}", json={"lat": 100}, headers=mh)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Venue, vid).lat == LOMBOK[0]


def test_visibility_404_and_403(app, client, make_user, make_token, manager, mh):
    public = client.post("/api/v1/venues", json=venue_values(), headers=mh).json["id"]
    hidden = client.post("/api/v1/venues", json=venue_values(name="Nog dicht", published=False), headers=mh).json["id"]
    other = bearer(make_token(make_user("manager")))
    member = bearer(make_token(make_user("member")))
    admin = bearer(make_token(make_user("admin")))
    assert client.get(f"/api/v1/venues/{public}", headers=member).status_code == 200
    assert client.get(f"/api/v1/venues/{hidden}", headers=member).status_code == 404
    assert client.get(f"/api/v1/venues/{hidden}", headers=other).status_code == 404
    assert client.get(f"/api/v1/venues/{hidden}", headers=admin).status_code == 200
    assert client.patch(f"/api/v1/venues/{public}", json={"name": "X"}, headers=other).status_code == 403
    assert client.patch(f"/api/v1/venues/{hidden}", json={"name": "X"}, headers=other).status_code == 404
    assert client.delete(f"/api/v1/venues/{public}", headers=member).status_code == 403
    assert client.patch(f"/api/v1/venues/{public}", json={"name": "Door admin"}, headers=admin).status_code == 200
    assert client.get("/api/v1/venues/999999", headers=member).status_code == 404


def test_add_manager_and_delete_venue(app, client, make_user, make_token, mh):
    vid = client.post("/api/v1/venues", json=venue_values(published=False), headers=mh).json["id"]
    marja = make_user("member", email="marja@example.org")
    response = client.post(f"/api/v1/venues/{vid}/managers", json={"email": "MARJA@example.org"}, headers=mh)
    assert response.status_code == 201
    assert response.json["user_id"] == marja.id
    marja_headers = bearer(make_token(marja))
    assert client.get(f"/api/v1/venues/{vid}", headers=marja_headers).status_code == 200
    response = client.post(f"/api/v1/venues/{vid}/managers", json={"email": "nobody@example.org"}, headers=mh)
    assert response.status_code == 422
    assert "email" in response.json["errors"]
    assert client.delete(f"/api/v1/venues/{vid}", headers=marja_headers).status_code == 204
    assert count(app, Venue) == 0


# -- spaces, hours, closures -------------------------------------------------------------------


def test_space_lifecycle(app, client, mh):
    vid = client.post("/api/v1/venues", json=venue_values(), headers=mh).json["id"]
    response = client.post(
        f"/api/v1/venues/{vid}/spaces", json={"name": "Achterhoek", "capacity": 8, "mode": "seats"}, headers=mh
    )
    assert response.status_code == 201
    space = response.json
    assert (space["venue_id"], space["capacity"], space["mode"], space["slot_minutes"]) == (vid, 8, "seats", 30)
    assert set(space) == {
        "id",
        "venue_id",
        "name",
        "description",
        "capacity",
        "mode",
        "slot_minutes",
        "min_minutes",
        "max_minutes",
        "lead_minutes",
        "horizon_days",
        "buffer_minutes",
        "requires_approval",
        "cancel_hours",
        "price_per_hour_cents",
        "amenities",
        "busy_feed_url",
        "feed_url",
    }
    sid = space["id"]
    response = client.patch(
        f"/api/v1/spaces/{sid}", json={"requires_approval": True, "price_per_hour_cents": 1250}, headers=mh
    )
    assert (response.json["requires_approval"], response.json["price_per_hour_cents"]) == (True, 1250)
    assert response.json["capacity"] == 8
    assert client.get(f"/api/v1/spaces/{sid}", headers=mh).json["name"] == "Achterhoek"
    assert client.delete(f"/api/v1/spaces/{sid}", headers=mh).status_code == 204
    assert client.get(f"/api/v1/spaces/{sid}", headers=mh).status_code == 404


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"mode": "tent"}, "mode"),
        ({"slot_minutes": 7}, "slot_minutes"),
        ({"min_minutes": 45}, "min_minutes"),
        ({"min_minutes": 120, "max_minutes": 60}, "max_minutes"),
        ({"capacity": 2.5}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"horizon_days": 0}, "horizon_days"),
    ],
)
def test_bad_space_fields(app, client, mh, fields, error_field):
    vid = client.post("/api/v1/venues", json=venue_values(), headers=mh).json["id"]
    response = client.post(f"/api/v1/venues/{vid}/spaces", json={"name": "Zaal", **fields}, headers=mh)
    assert response.status_code == 422, response.json
    assert error_field in response.json["errors"]
    assert count(app, Space) == 0


def test_hours_put_and_get(app, client, manager, mh):
    vid = make_venue(app, manager.id)
    sid = make_space(app, manager.id, vid, hours=None)
    hours = [
        {"weekday": 0, "opens": "09:00", "closes": "12:00"},
        {"weekday": 0, "opens": "13:00", "closes": "17:00"},
        {"weekday": 4, "opens": "08:30", "closes": "12:00"},
    ]
    response = client.put(f"/api/v1/spaces/{sid}/hours", json={"hours": hours}, headers=mh)
    assert response.status_code == 200
    assert response.json == {"space_id": sid, "timezone": "Europe/Amsterdam", "hours": hours}
    assert client.get(f"/api/v1/spaces/{sid}/hours", headers=mh).json["hours"] == hours


@pytest.mark.parametrize(
    ("hours", "error_field"),
    [
        ([{"weekday": 7, "opens": "09:00", "closes": "17:00"}], "hours[0].weekday"),
        ([{"weekday": 0, "opens": "17:00", "closes": "09:00"}], "hours[0].closes"),
        (
            [{"weekday": 0, "opens": "09:00", "closes": "13:00"}, {"weekday": 0, "opens": "12:00", "closes": "17:00"}],
            "hours[1].opens",
        ),
        ([{"weekday": 0, "opens": "9 uur", "closes": "17:00"}], "hours[0].opens"),
        ([{"weekday": "0", "opens": "09:00", "closes": "17:00"}], "hours[0].weekday"),
        ([{"weekday": 0, "opens": "09:00"}], "hours[0].closes"),
        (["09:00-17:00"], "hours[0]"),
        ("09:00-17:00", "hours"),
    ],
)
def test_bad_hours_change_nothing(app, client, manager, mh, hours, error_field):
    vid = make_venue(app, manager.id)
    sid = make_space(app, manager.id, vid)
    response = client.put(f"/api/v1/spaces/{sid}/hours", json={"hours": hours}, headers=mh)
    assert response.status_code == 422, response.json
    assert error_field in response.json["errors"]
    assert count(app, OpeningWindow) == 5


def test_closures_whole_days_and_times(app, client, manager, mh):
    vid = make_venue(app, manager.id)
    sid = make_space(app, manager.id, vid)
    response = client.post(
        f"/api/v1/spaces/{sid}/closures",
        json={"start": "2026-12-24", "end": "2026-12-26", "reason": "Kerst"},
        headers=mh,
    )
    assert response.status_code == 201
    assert response.json["start"] == "2026-12-24T00:00:00+01:00"
    assert response.json["end"] == "2026-12-27T00:00:00+01:00"
    response = client.post(
        f"/api/v1/spaces/{sid}/closures", json={"start": "2027-03-28T10:00:00Z", "end": "2027-03-28T14:00"}, headers=mh
    )
    assert response.status_code == 201
    # An instant given in UTC, a local time without offset: both shown with the summer offset.
    assert (response.json["start"], response.json["end"]) == ("2027-03-28T12:00:00+02:00", "2027-03-28T14:00:00+02:00")
    listed = client.get(f"/api/v1/spaces/{sid}/closures", headers=mh).json["closures"]
    assert [c["reason"] for c in listed] == ["Kerst", ""]
    assert client.delete(f"/api/v1/closures/{listed[0]['id']}", headers=mh).status_code == 204
    assert count(app, Closure) == 1


@pytest.mark.parametrize(
    ("body", "error_field"),
    [
        ({"start": "2027-03-28T02:30", "end": "2027-03-28T05:00"}, "start"),  # in the DST gap
        ({"start": "2026-12-24T10:00", "end": "2026-12-24T09:00"}, "end"),
        ({"start": "kerst", "end": "2026-12-26"}, "start"),
        ({"start": "2026-12-24"}, "end"),
        ({"start": "2026-12-24", "end": "2026-12-25", "reason": "x" * 201}, "reason"),
    ],
)
def test_bad_closures(app, client, manager, mh, body, error_field):
    vid = make_venue(app, manager.id)
    sid = make_space(app, manager.id, vid)
    response = client.post(f"/api/v1/spaces/{sid}/closures", json=body, headers=mh)
    assert response.status_code == 422
    assert error_field in response.json["errors"]
    assert count(app, Closure) == 0


def test_other_managers_cannot_touch_hours_or_closures(app, client, manager, make_user, make_token):
    vid = make_venue(app, manager.id)
    sid = make_space(app, manager.id, vid)
    other = bearer(make_token(make_user("manager")))
    assert client.put(f"/api/v1/spaces/{sid}/hours", json={"hours": []}, headers=other).status_code == 403
    assert (
        client.post(
            f"/api/v1/spaces/{sid}/closures", json={"start": "2026-12-24", "end": "2026-12-24"}, headers=other
        ).status_code
        == 403
    )
    assert count(app, OpeningWindow) == 5


# -- availability --------------------------------------------------------------------------------


def test_availability_in_local_time_with_closure(app, client, manager, mh, frozen_now):
    vid = make_venue(app, manager.id)
    sid = make_space(app, manager.id, vid)
    client.post(
        f"/api/v1/spaces/{sid}/closures", json={"start": "2026-12-02T12:00", "end": "2026-12-02T14:00"}, headers=mh
    )
    response = client.get(f"/api/v1/spaces/{sid}/availability?from=2026-12-01&to=2026-12-02", headers=mh)
    assert response.status_code == 200
    assert response.json == {
        "space_id": sid,
        "timezone": "Europe/Amsterdam",
        "free": [
            {"start": "2026-12-01T09:00:00+01:00", "end": "2026-12-01T17:00:00+01:00", "seats": 12},
            {"start": "2026-12-02T09:00:00+01:00", "end": "2026-12-02T12:00:00+01:00", "seats": 12},
            {"start": "2026-12-02T14:00:00+01:00", "end": "2026-12-02T17:00:00+01:00", "seats": 12},
        ],
    }


def test_availability_on_dst_days(app, client, manager, mh, monkeypatch):
    import app.api.venues as api_venues

    monkeypatch.setattr(api_venues, "now_utc", lambda: datetime(2027, 3, 1, tzinfo=UTC))
    vid = make_venue(app, manager.id)
    sid = make_space(app, manager.id, vid, hours="daily", horizon_days=730)
    client.put(
        f"/api/v1/spaces/{sid}/hours", json={"hours": [{"weekday": 6, "opens": "09:00", "closes": "17:00"}]}, headers=mh
    )
    free = client.get(f"/api/v1/spaces/{sid}/availability?from=2027-03-28&to=2027-03-28", headers=mh).json["free"]
    assert free == [{"start": "2027-03-28T09:00:00+02:00", "end": "2027-03-28T17:00:00+02:00", "seats": 12}]
    free = client.get(f"/api/v1/spaces/{sid}/availability?from=2027-10-31&to=2027-10-31", headers=mh).json["free"]
    assert free == [{"start": "2027-10-31T09:00:00+01:00", "end": "2027-10-31T17:00:00+01:00", "seats": 12}]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "from=2026-12-01",
        "from=2026-12-01&to=2027-03-01",
        "from=2026-12-05&to=2026-12-01",
        "from=1-12-2026&to=2026-12-02",
        "from=2026-02-30&to=2026-03-01",
        "from=9999-12-31&to=9999-12-31",
        "from=0001-01-01&to=0001-01-02",
    ],
)
def test_availability_bad_ranges(app, client, manager, mh, query):
    vid = make_venue(app, manager.id)
    sid = make_space(app, manager.id, vid)
    response = client.get(f"/api/v1/spaces/{sid}/availability?{query}", headers=mh)
    assert response.status_code == 422
    assert response.json["errors"]


# -- search --------------------------------------------------------------------------------------


def test_search_sorted_by_distance_with_walking_time(app, client, manager, member, make_token, frozen_now):
    near = make_venue(app, manager.id, name="Dichtbij", lat=52.0940, lon=5.1010)
    far = make_venue(app, manager.id, name="Verder weg", lat=52.1100, lon=5.1300, kind="library")
    amsterdam = make_venue(app, manager.id, name="Amsterdam", lat=52.37, lon=4.89)
    make_venue(app, manager.id, name="Zonder ruimtes", lat=52.0941, lon=5.1011)  # nothing to book: not listed
    for vid in (near, far, amsterdam):
        make_space(app, manager.id, vid)
    headers = bearer(make_token(member))
    response = client.get(f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}", headers=headers)
    assert response.status_code == 200
    found = response.json["venues"]
    assert [v["name"] for v in found] == ["Dichtbij", "Verder weg"]
    assert found[0]["distance_km"] < found[1]["distance_km"] < 5
    assert found[0]["walking_minutes"] == 1
    assert 35 <= found[1]["walking_minutes"] <= 50  # 2.7 km, 1.25 detour, 4.8 km/h
    assert len(found[0]["spaces"]) == 1
    response = client.get(f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}&kind=library", headers=headers)
    assert [v["name"] for v in response.json["venues"]] == ["Verder weg"]
    response = client.get(f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}&radius_km=50", headers=headers)
    assert [v["name"] for v in response.json["venues"]] == ["Dichtbij", "Verder weg", "Amsterdam"]


def test_search_uses_home_location(app, client, manager, member, make_token):
    make_space(app, manager.id, make_venue(app, manager.id, name="Om de hoek"))
    from app.accounts.models import User
    from app.accounts.services import set_home

    with app.app_context():
        set_home(db.session.get(User, member.id), "Lombok", *LOMBOK)
        db.session.commit()
    found = client.get("/api/v1/venues", headers=bearer(make_token(member))).json["venues"]
    assert [(v["name"], v["walking_minutes"]) for v in found] == [("Om de hoek", 1)]


def test_search_filters_amenities_seats_and_free_window(app, client, manager, member, make_token, frozen_now):
    cafe = make_venue(app, manager.id, name="Café", kind="cafe", amenities=["wifi", "coffee"])
    hall = make_venue(app, manager.id, name="Zaal", amenities=[])
    make_space(app, manager.id, cafe, name="Hoek", capacity=8, mode="seats", amenities=["quiet"])
    hall_space = make_space(app, manager.id, hall, name="Grote zaal", capacity=30, amenities=["projector"])
    headers = bearer(make_token(member))
    base = f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}"

    def names(query):
        response = client.get(base + query, headers=headers)
        assert response.status_code == 200, response.json
        return [v["name"] for v in response.json["venues"]]

    assert names("&amenity=wifi&amenity=quiet") == ["Café"]  # venue wifi + space quiet
    assert names("&amenity=projector") == ["Zaal"]
    assert names("&seats=12") == ["Zaal"]
    # Tuesday 09:00-12:00 local: both open.
    assert sorted(names("&free_from=2026-12-01T09:00&free_to=2026-12-01T12:00")) == ["Café", "Zaal"]
    # Saturday: both closed.
    assert names("&free_from=2026-12-05T09:00&free_to=2026-12-05T12:00") == []
    # Same window with an offset.
    assert sorted(names("&free_from=2026-12-01T08:00:00Z&free_to=2026-12-01T11:00:00Z")) == ["Café", "Zaal"]
    # The hall closes 12:00-13:00 that day: not free for 11-14, the café still is.
    mh = bearer(make_token(manager))
    client.post(
        f"/api/v1/spaces/{hall_space}/closures",
        json={"start": "2026-12-01T12:00", "end": "2026-12-01T13:00"},
        headers=mh,
    )
    assert names("&free_from=2026-12-01T11:00&free_to=2026-12-01T14:00") == ["Café"]
    # Until 17:30 is past closing time.
    assert names("&free_from=2026-12-01T15:00&free_to=2026-12-01T17:30") == []


@pytest.mark.parametrize(
    ("query", "error_field"),
    [
        ("near=52.1", "near"),
        ("near=abc,def", "near"),
        ("near=91,5", "near"),
        ("radius_km=-1", "radius_km"),
        ("radius_km=1000", "radius_km"),
        ("seats=0", "seats"),
        ("seats=veel", "seats"),
        ("kind=castle", "kind"),
        ("amenity=sauna", "amenity"),
        ("free_from=2026-12-01T09:00", "free_to"),
        ("free_from=2026-12-01T12:00&free_to=2026-12-01T09:00", "free_to"),
        ("free_from=2026-12-01T09:00&free_to=2026-12-31T09:00", "free_to"),
        ("free_from=2027-03-28T02:30&free_to=2027-03-28T05:00", "free_from"),
        ("free_from=morgen&free_to=2026-12-01T09:00", "free_from"),
        ("free_from=9999-12-31T09:00&free_to=9999-12-31T12:00", "free_from"),
        ("free_from=0001-01-01T09:00:00%2B01:00&free_to=0001-01-01T12:00:00%2B01:00", "free_from"),
    ],
)
def test_search_bad_input(client, member, make_token, query, error_field):
    response = client.get(f"/api/v1/venues?{query}", headers=bearer(make_token(member)))
    assert response.status_code == 422
    assert error_field in response.json["errors"]


def test_search_hides_unpublished_venues_from_members(app, client, manager, mh, member, make_token):
    make_space(app, manager.id, make_venue(app, manager.id, name="Open"))
    make_space(app, manager.id, make_venue(app, manager.id, name="Dicht", published=False))
    query = f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}"
    assert [v["name"] for v in client.get(query, headers=bearer(make_token(member))).json["venues"]] == ["Open"]
    assert sorted(v["name"] for v in client.get(query, headers=mh).json["venues"]) == ["Dicht", "Open"]


def statements_of(app, send) -> tuple[object, list[str]]:
    """The response of send() and the SQL statements it sent (transaction control left out)."""
    from sqlalchemy import event

    statements = []

    def count_statement(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count_statement)
    try:
        response = send()
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
    return response, statements


def brief(statements) -> str:
    return "\n".join(s.split("\n")[0][:100] for s in statements)


def analyse(app) -> None:
    """After a bulk of new rows, PostgreSQL's statistics, as autovacuum would bring them up to
    date: this test's rows are uncommitted, and statistics left by earlier tests' rolled-back
    rows once made a prepared search's generic plan take minutes."""
    with app.app_context():
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE venues, spaces, opening_windows, closures, bookings, imported_blocks"))
            db.session.commit()  # a savepoint released: the statistics stay for the test's requests


def test_search_over_many_venues_uses_a_fixed_number_of_queries(app, client, manager, member, make_token, frozen_now):
    make_venues_with_a_space(
        app,
        manager.id,
        [
            (
                {"name": f"Venue {i:04d}", "lat": LOMBOK[0] + (i % 40) * 0.0005, "lon": LOMBOK[1] + (i // 40) * 0.0005},
                "weekdays" if i % 2 else None,
            )
            for i in range(1000)
        ],
    )
    analyse(app)
    headers = bearer(make_token(member))
    base = f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}&free_from=2026-12-01T09:00&free_to=2026-12-01T12:00"

    response, statements = statements_of(app, lambda: client.get(base, headers=headers))
    assert response.status_code == 200
    assert len(response.json["venues"]) == 25  # a page
    assert response.json["next_cursor"]
    assert len(statements) <= 8, brief(statements)

    # Every venue with opening hours, page after page, nearest first, each once.
    names, cursor, pages = [], None, 0
    while True:
        url = base + "&limit=100" + (f"&cursor={cursor}" if cursor else "")
        response, statements = statements_of(app, lambda url=url: client.get(url, headers=headers))
        assert response.status_code == 200, response.json
        assert len(statements) <= 8, brief(statements)
        names += [v["name"] for v in response.json["venues"]]
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert len(names) == len(set(names)) == 500  # the half with opening hours
    assert all(int(name[-4:]) % 2 for name in names)
    everything = client.get(base.replace("free_from", "radius_km=100&free_from") + "&limit=100", headers=headers)
    assert [v["name"] for v in everything.json["venues"]] == names[:100]

    # Open, but nothing free in the window (after closing time): every venue is looked at, in a
    # second round, and still a fixed number of statements.
    late = base.replace("T09:00", "T16:00").replace("T12:00", "T18:00")
    response, statements = statements_of(app, lambda: client.get(late, headers=headers))
    assert response.json == {"venues": [], "next_cursor": None}
    assert len(statements) <= 11, brief(statements)


def test_search_with_few_free_venues_takes_three_rounds(app, client, manager, member, make_token, frozen_now):
    """Free venues thin out with distance: a first guess, a second from the share seen, then the rest."""
    free = [i for i in range(400) if (i < 100 and i % 10 == 0) or (i >= 100 and i % 50 == 0)]
    # Open every day until 22:00, or on weekdays until 17:00 (so not at 16:00-18:00).
    make_venues_with_a_space(
        app,
        manager.id,
        [
            (
                {"name": f"Venue {i:04d}", "lat": LOMBOK[0] + i * 0.0001, "lon": LOMBOK[1]},
                "daily" if i in free else "weekdays",
            )
            for i in range(400)
        ],
    )
    analyse(app)
    headers = bearer(make_token(member))
    url = f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}&free_from=2026-12-01T16:00&free_to=2026-12-01T18:00"
    response, statements = statements_of(app, lambda: client.get(url, headers=headers))
    assert [v["name"] for v in response.json["venues"]] == [f"Venue {i:04d}" for i in free]
    assert response.json["next_cursor"] is None
    assert sum("FROM bookings" in s for s in statements) == 3  # three rounds
    assert len(statements) <= 12, brief(statements)


def test_search_pages_follow_each_other_without_gaps(app, client, manager, member, make_token, frozen_now):
    for i in range(12):
        # Two venues share a spot and a name: the id decides between them, on any page.
        vid = make_venue(app, manager.id, name=f"Plek {i // 2:02d}", lat=LOMBOK[0] + (i // 2) * 0.001, lon=LOMBOK[1])
        make_space(app, manager.id, vid, hours="weekdays" if i != 5 else None)
    headers = bearer(make_token(member))
    for window in ("", "&free_from=2026-12-01T09:00&free_to=2026-12-01T12:00"):
        base = f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}{window}"
        whole = client.get(base, headers=headers).json
        assert whole["next_cursor"] is None
        expected = [(v["name"], v["id"]) for v in whole["venues"]]
        assert len(expected) == (12 if not window else 11)
        assert expected == sorted(expected, key=lambda nv: (nv[0], nv[1]))
        seen, cursor = [], None
        while True:
            answer = client.get(base + "&limit=4" + (f"&cursor={cursor}" if cursor else ""), headers=headers).json
            assert 1 <= len(answer["venues"]) <= 4
            seen += [(v["name"], v["id"]) for v in answer["venues"]]
            cursor = answer["next_cursor"]
            if cursor is None:
                break
        assert seen == expected


@pytest.mark.parametrize(
    ("query", "error_field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=veel", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=" + "A" * 2000, "cursor"),
        ("cursor=WzEsMiwzXQ", "cursor"),  # [1,2,3]: a name must be text
        ("cursor=WyJOYU4iLCJhIiwxXQ", "cursor"),
        ("cursor=W051bGwsImEiLDFd", "cursor"),
    ],
)
def test_search_bad_page_input(client, member, make_token, query, error_field):
    response = client.get(f"/api/v1/venues?{query}", headers=bearer(make_token(member)))
    assert response.status_code == 422
    assert error_field in response.json["errors"]


def test_search_cursor_round_trips_any_name():
    from app.venues.search import decode_cursor, encode_cursor

    for key in ((0.0, "", 1), (1.23456789012345, "Café “De Hoek” ☕ / é", 2**62), (4.999999999, "a" * 120, 7)):
        assert decode_cursor(encode_cursor(key)) == key


def test_search_tells_managers_their_feeds_and_links_busy_feeds(app, client, manager, mh, make_user, make_token):
    mine = make_venue(app, manager.id, name="Van mij")
    make_space(app, manager.id, mine)
    other_manager = make_user("manager")
    theirs = make_venue(app, other_manager.id, name="Van een ander")
    space = make_space(app, other_manager.id, theirs)
    found = {
        v["name"]: v for v in client.get(f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}", headers=mh).json["venues"]
    }
    assert "feed_url" in found["Van mij"] and "feed_url" in found["Van mij"]["spaces"][0]
    assert "feed_url" not in found["Van een ander"] and "feed_url" not in found["Van een ander"]["spaces"][0]
    one = client.get(f"/api/v1/spaces/{space}", headers=mh).json
    assert found["Van een ander"]["spaces"][0]["busy_feed_url"] == one["busy_feed_url"]


def test_search_reads_the_window_in_each_venues_zone(app, client, manager, mh, member, make_token, monkeypatch):
    """Free time is worked out for the local days the window touches there, not the UTC days."""
    import app.api.venues as api_venues

    monkeypatch.setattr(api_venues, "now_utc", lambda: datetime(2027, 3, 1, tzinfo=UTC))
    night = make_venue(app, manager.id, name="Nachtcafé")
    night_space = make_space(app, manager.id, night, hours=None, horizon_days=730)
    # Wednesday 00:00-06:00 and Sunday 08:00-22:00, Amsterdam time.
    hours = [{"weekday": 2, "opens": "00:00", "closes": "06:00"}, {"weekday": 6, "opens": "08:00", "closes": "22:00"}]
    assert client.put(f"/api/v1/spaces/{night_space}/hours", json={"hours": hours}, headers=mh).status_code == 200
    london = make_venue(app, manager.id, name="Londen", timezone="Europe/London")
    make_space(app, manager.id, london, horizon_days=730)
    headers = bearer(make_token(member))
    base = f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}"

    def names(window):
        response = client.get(base + window, headers=headers)
        assert response.status_code == 200, response.json
        return [v["name"] for v in response.json["venues"]]

    # Tuesday 23:30 UTC is Wednesday 00:30 in Amsterdam: open there; in London still Tuesday night.
    assert names("&free_from=2027-03-02T23:30:00Z&free_to=2027-03-03T01:00:00Z") == ["Nachtcafé"]
    # Wall-clock times are each venue's own: 09:30 in London is open, in Amsterdam not on a Wednesday.
    assert names("&free_from=2027-03-03T09:30&free_to=2027-03-03T10:30") == ["Londen"]
    # 09:30 UTC: 10:30 in Amsterdam (closed on Wednesday), 09:30 in London (open).
    assert names("&free_from=2027-03-03T09:30:00Z&free_to=2027-03-03T10:30:00Z") == ["Londen"]
    # The spring clock change (Sunday 28 March): 08:00-22:00 CEST is open, 21:00-23:00 is not.
    assert names("&free_from=2027-03-28T08:00&free_to=2027-03-28T12:00") == ["Nachtcafé"]
    assert names("&free_from=2027-03-28T06:00:00Z&free_to=2027-03-28T10:00:00Z") == ["Nachtcafé"]
    assert names("&free_from=2027-03-28T05:30:00Z&free_to=2027-03-28T10:00:00Z") == []  # 07:30 CEST
    assert names("&free_from=2027-03-28T21:00&free_to=2027-03-28T23:00") == []
    # The autumn change (Sunday 31 October): 08:00 local is 07:00 UTC again.
    assert names("&free_from=2027-10-31T07:00:00Z&free_to=2027-10-31T09:00:00Z") == ["Nachtcafé"]
    assert names("&free_from=2027-10-31T06:30:00Z&free_to=2027-10-31T09:00:00Z") == []


def test_search_sees_bookings_and_buffers_from_the_day_before(app, client, manager, mh, member, make_token, frozen_now):
    from app.accounts.models import User
    from app.bookings import services as bookings

    vid = make_venue(app, manager.id, name="Buurthuis")
    sid = make_space(app, manager.id, vid, hours="daily", buffer_minutes=30, slot_minutes=15)
    mh_put = {"hours": [{"weekday": d, "opens": "00:00", "closes": "23:59"} for d in range(7)]}
    assert client.put(f"/api/v1/spaces/{sid}/hours", json=mh_put, headers=mh).status_code == 200
    with app.app_context():
        bookings.create_booking(
            db.session.get(User, member.id),
            sid,
            datetime(2026, 12, 1, 22, 0, tzinfo=UTC),  # Tuesday 23:00-23:45 in Amsterdam
            datetime(2026, 12, 1, 22, 45, tzinfo=UTC),
            now=frozen_now,
        )
        db.session.commit()
    headers = bearer(make_token(member))

    def names(window):
        return [v["name"] for v in client.get(f"/api/v1/venues?{window}", headers=headers).json["venues"]]

    # Wednesday 00:00-00:15 is the booking's changeover time; 00:15 on is free.
    assert names("free_from=2026-12-02T00:00&free_to=2026-12-02T01:00") == []
    assert names("free_from=2026-12-02T00:15&free_to=2026-12-02T01:00") == ["Buurthuis"]


# -- availability: statements ----------------------------------------------------------------------


def test_availability_uses_few_statements(app, client, manager, mh, member, make_token, frozen_now):
    vid = make_venue(app, manager.id)
    sid = make_space(app, manager.id, vid)
    client.post(f"/api/v1/spaces/{sid}/closures", json={"start": "2026-12-02", "end": "2026-12-02"}, headers=mh)
    headers = bearer(make_token(member))
    url = f"/api/v1/spaces/{sid}/availability?from=2026-12-01&to=2026-12-07"
    response, statements = statements_of(app, lambda: client.get(url, headers=headers))
    assert response.status_code == 200
    assert [f["start"][:10] for f in response.json["free"]] == ["2026-12-01", "2026-12-03", "2026-12-04", "2026-12-07"]
    # The token with its user, the space with its venue, hours with closures, bookings, imports.
    assert len(statements) <= 5, brief(statements)
