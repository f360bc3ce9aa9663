"""Managers' pages for venues, spaces, opening hours and closures; the home location on the profile."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.availability import services as availability
from app.availability.models import Closure, OpeningWindow
from app.extensions import db
from app.venues import services as venues
from app.venues.models import Space, Venue
from tests.conftest import csrf_token

VENUE = {
    "name": "Buurthuis De Boog",
    "kind": "community_centre",
    "address": "Kanaalstraat 1",
    "postcode": "3531 AA",
    "city": "Utrecht",
    "neighbourhood": "Lombok",
    "lat": 52.0912,
    "lon": 5.0977,
    "timezone": "Europe/Amsterdam",
    "amenities": ["wifi"],
    "published": True,
}


# -- factories: the same services the pages call -------------------------------------------------


def make_venue(app, manager, **values) -> int:
    with app.app_context():
        venue = venues.create_venue(db.session.get(User, manager.id), {**VENUE, **values})
        db.session.commit()
        return venue.id


def make_space(app, manager, venue_id: int, hours=(), **values) -> int:
    with app.app_context():
        actor = db.session.get(User, manager.id)
        space = venues.create_space(actor, db.session.get(Venue, venue_id), {"name": "Zaal", "capacity": 10, **values})
        if hours:
            availability.set_hours(actor, space, list(hours))
        db.session.commit()
        return space.id


def windows_of(app, space_id: int) -> list[tuple[int, time, time]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(OpeningWindow)
            .where(OpeningWindow.space_id == space_id)
            .order_by(OpeningWindow.weekday, OpeningWindow.opens)
        )
        return [(w.weekday, w.opens, w.closes) for w in rows]


def closures_of(app, space_id: int) -> list[tuple[datetime, datetime, str]]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Closure).where(Closure.space_id == space_id).order_by(Closure.start))
        return [(c.start, c.end, c.reason) for c in rows]


def post(client, path: str, data: dict, page: str | None = None, token_name: str = "csrf_token"):
    return client.post(path, data={**data, token_name: csrf_token(client, page or path)})


VENUE_FORM = {
    "name": "Bibliotheek Lombok",
    "kind": "library",
    "address": "Kanaalstraat 2",
    "postcode": "3531 AB",
    "city": "Utrecht",
    "neighbourhood": "Lombok",
    "lat": "52.0915",
    "lon": "5.0981",
    "timezone": "Europe/Amsterdam",
    "description": "Stille werkplekken.",
    "contact": "030 000 00 00",
    "amenities": ["wifi", "quiet"],
}
SPACE_FORM = {
    "name": "Leeszaal",
    "description": "",
    "mode": "seats",
    "capacity": "8",
    "slot_minutes": "30",
    "min_minutes": "60",
    "max_minutes": "240",
    "lead_minutes": "0",
    "horizon_days": "60",
    "buffer_minutes": "0",
    "cancel_hours": "24",
    "price_per_hour_cents": "250",
    "amenities": ["power_sockets"],
}


@pytest.fixture
def manager(make_user):
    return make_user("manager", email="marja@example.org", name="Marja")


# -- venues and spaces -----------------------------------------------------------------------


def test_manager_creates_a_venue_and_a_space_through_the_forms(app, client, manager, login):
    login(manager)
    response = post(client, "/manage/venues/new", VENUE_FORM)
    assert response.status_code == 302
    with app.app_context():
        venue = db.session.scalar(sa.select(Venue))
        assert (venue.name, venue.kind, venue.lat, venue.lon) == ("Bibliotheek Lombok", "library", 52.0915, 5.0981)
        assert venue.amenities == ["quiet", "wifi"]
        assert venue.published is False
        assert [m.email for m in venue.managers] == ["marja@example.org"]
        venue_id = venue.id
    assert response.headers["Location"] == f"/manage/venues/{venue_id}/spaces/new"

    response = post(client, f"/manage/venues/{venue_id}/spaces/new", SPACE_FORM)
    assert response.status_code == 302
    with app.app_context():
        space = db.session.scalar(sa.select(Space))
        assert (space.name, space.mode, space.capacity, space.min_minutes, space.price_per_hour_cents) == (
            "Leeszaal",
            "seats",
            8,
            60,
            250,
        )
        assert space.venue_id == venue_id
        space_id = space.id
    assert response.headers["Location"] == f"/manage/spaces/{space_id}/hours"

    page = client.get("/manage/venues").get_data(as_text=True)
    assert "Bibliotheek Lombok" in page and "Leeszaal" in page
    assert "Not published" in page
    assert "no opening hours yet" in page


def test_manager_edits_and_publishes_a_venue(app, client, manager, login):
    venue_id = make_venue(app, manager, published=False)
    login(manager)
    page = client.get(f"/manage/venues/{venue_id}/edit").get_data(as_text=True)
    assert 'value="Buurthuis De Boog"' in page
    response = post(client, f"/manage/venues/{venue_id}/edit", {**VENUE_FORM, "name": "De Boog", "published": "y"})
    assert response.status_code == 302
    with app.app_context():
        venue = db.session.get(Venue, venue_id)
        assert (venue.name, venue.published, venue.kind) == ("De Boog", True, "library")
    # An unticked box is a "no": the venue is hidden again.
    post(client, f"/manage/venues/{venue_id}/edit", {**VENUE_FORM, "name": "De Boog"})
    with app.app_context():
        assert db.session.get(Venue, venue_id).published is False


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"lat": "91"}, "lat", "Number must be between -90 and 90."),
        ({"kind": "castle"}, "kind", "Not a valid choice."),
        ({"timezone": "Mars/Olympus"}, "timezone", "Use a time zone name such as Europe/Amsterdam."),
        ({"amenities": ["wifi", "jacuzzi"]}, "amenities", "is not a valid choice for this field."),
    ],
)
def test_bad_venue_input_re_renders_with_422_and_changes_nothing(
    app, client, manager, login, fields, field_id, message
):
    venue_id = make_venue(app, manager)
    login(manager)
    response = post(client, f"/manage/venues/{venue_id}/edit", {**VENUE_FORM, **fields})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="error-summary"' in page
    error = re.search(rf'id="{field_id}-error">(.*?)</div>', page, re.S) if field_id != "amenities" else None
    assert message in (error.group(1) if error else page)
    with app.app_context():
        venue = db.session.get(Venue, venue_id)
        assert (venue.name, venue.kind, venue.timezone, venue.lat) == (
            "Buurthuis De Boog",
            "community_centre",
            "Europe/Amsterdam",
            52.0912,
        )
    response = post(client, "/manage/venues/new", {**VENUE_FORM, **fields})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Venue)) == 1


def test_space_rules_from_the_service_show_on_their_fields(app, client, manager, login):
    venue_id = make_venue(app, manager)
    space_id = make_space(app, manager, venue_id, capacity=4)
    login(manager)
    response = post(client, f"/manage/spaces/{space_id}/edit", {**SPACE_FORM, "slot_minutes": "7"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'id="slot_minutes-error">(.*?)</div>', page, re.S).group(1)
    assert "Choose a slot of 5, 10, 15, 20, 30, 60, 90, 120, 180 or 240 minutes." in error
    assert 'id="slot_minutes" aria-invalid="true"' in page or re.search(
        r'<input[^>]*aria-invalid="true"[^>]*id="slot_minutes"', page
    )
    with app.app_context():
        space = db.session.get(Space, space_id)
        assert (space.capacity, space.slot_minutes, space.name) == (4, 30, "Zaal")


def test_deleting_a_venue_asks_first(app, client, manager, login):
    venue_id = make_venue(app, manager)
    make_space(app, manager, venue_id)
    login(manager)
    confirm = client.get(f"/manage/venues/{venue_id}/delete")
    assert confirm.status_code == 200
    assert "Yes, delete" in confirm.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Venue, venue_id) is not None
    response = post(client, f"/manage/venues/{venue_id}/delete", {})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Venue, venue_id) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Space)) == 0


def test_deleting_a_space_asks_first(app, client, manager, login):
    venue_id = make_venue(app, manager)
    keep = make_space(app, manager, venue_id, name="Blijft")
    gone = make_space(app, manager, venue_id, name="Weg")
    login(manager)
    assert "Weg" in client.get(f"/manage/spaces/{gone}/delete").get_data(as_text=True)
    assert post(client, f"/manage/spaces/{gone}/delete", {}).status_code == 302
    with app.app_context():
        assert [s.id for s in db.session.scalars(sa.select(Space))] == [keep]


def test_add_a_manager_by_email(app, client, manager, make_user, login):
    venue_id = make_venue(app, manager)
    kees = make_user("member", email="kees@example.org", name="Kees")
    login(manager)
    response = post(
        client, f"/manage/venues/{venue_id}/managers", {"email": "nobody@example.org"}, page="/manage/venues"
    )
    assert response.status_code == 422
    assert "No account has this e-mail address." in response.get_data(as_text=True)
    response = post(client, f"/manage/venues/{venue_id}/managers", {"email": "kees@example.org"}, page="/manage/venues")
    assert response.status_code == 302
    with app.app_context():
        venue = db.session.get(Venue, venue_id)
        assert [m.email for m in venue.managers] == ["marja@example.org", "kees@example.org"]
        assert db.session.get(User, kees.id).role == "manager"


# -- who may do what -------------------------------------------------------------------------


def test_someone_elses_venue_is_404_while_hidden_and_403_once_published(app, client, manager, make_user, login):
    venue_id = make_venue(app, manager, published=False)
    space_id = make_space(app, manager, venue_id, hours=[(0, time(9), time(17))])
    other = make_user("manager", email="kees@example.org")
    login(other)
    paths = [
        f"/manage/venues/{venue_id}/edit",
        f"/manage/venues/{venue_id}/delete",
        f"/manage/venues/{venue_id}/spaces/new",
        f"/manage/spaces/{space_id}/edit",
        f"/manage/spaces/{space_id}/hours",
        f"/manage/spaces/{space_id}/closures",
        f"/venues/{venue_id}",
        f"/spaces/{space_id}",
    ]
    assert [client.get(p).status_code for p in paths] == [404] * len(paths)

    with app.app_context():
        actor = db.session.get(User, manager.id)
        venues.update_venue(actor, db.session.get(Venue, venue_id), {"published": True})
        db.session.commit()
    assert [client.get(p).status_code for p in paths[:-2]] == [403] * (len(paths) - 2)
    assert [client.get(p).status_code for p in paths[-2:]] == [200, 200]
    # Writing is refused too, and changes nothing.
    assert post(client, f"/manage/venues/{venue_id}/delete", {}, page="/manage/venues").status_code == 403
    response = post(
        client,
        f"/manage/spaces/{space_id}/hours",
        {"day1-0-opens": "08:00", "day1-0-closes": "09:00"},
        page="/manage/venues",
    )
    assert response.status_code == 403
    assert windows_of(app, space_id) == [(0, time(9), time(17))]
    with app.app_context():
        assert db.session.get(Venue, venue_id) is not None


def test_members_cannot_reach_the_manage_pages(client, member, login):
    assert client.get("/manage/venues").status_code == 302  # not logged in: to the log-in page
    login(member)
    assert client.get("/manage/venues").status_code == 403
    assert client.get("/manage/venues/new").status_code == 403
    assert post(client, "/manage/venues/new", VENUE_FORM, page="/account").status_code == 403


def test_navigation_follows_the_role(client, member, manager, login):
    login(member)
    page = client.get("/").get_data(as_text=True)
    assert "Find a space" in page and "My venues" not in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(manager)
    page = client.get("/").get_data(as_text=True)
    assert "Find a space" in page and 'href="/manage/venues"' in page


# -- opening hours ---------------------------------------------------------------------------


def test_hours_editor_saves_filled_rows_and_ignores_empty_ones(app, client, manager, login):
    venue_id = make_venue(app, manager)
    space_id = make_space(app, manager, venue_id, hours=[(6, time(10), time(11))])
    login(manager)
    response = post(
        client,
        f"/manage/spaces/{space_id}/hours",
        {
            "day0-0-opens": "09:00",
            "day0-0-closes": "12:00",
            "day0-1-opens": "13:00",
            "day0-1-closes": "17:00",
            "day0-2-opens": "",
            "day0-2-closes": "",
            "day4-0-opens": "08:30",
            "day4-0-closes": "12:00",
        },
    )
    assert response.status_code == 302
    assert windows_of(app, space_id) == [
        (0, time(9), time(12)),
        (0, time(13), time(17)),
        (4, time(8, 30), time(12)),
    ]
    page = client.get(f"/manage/spaces/{space_id}/hours").get_data(as_text=True)
    assert re.search(r'id="day0-1-opens"[^>]*value="13:00"', page)
    assert re.search(r'id="day4-0-closes"[^>]*value="12:00"', page)
    assert re.search(r'id="day6-0-opens"[^>]*value=""', page)


def test_hours_errors_show_next_to_the_right_row_and_nothing_changes(app, client, manager, login):
    venue_id = make_venue(app, manager)
    space_id = make_space(app, manager, venue_id, hours=[(0, time(9), time(17))])
    login(manager)
    response = post(
        client,
        f"/manage/spaces/{space_id}/hours",
        {
            "day0-0-opens": "09:00",
            "day0-0-closes": "12:00",
            "day1-0-opens": "09:00",
            "day1-0-closes": "12:00",
            "day1-1-opens": "11:00",  # overlaps the first window of Tuesday
            "day1-1-closes": "13:00",
            "day2-1-opens": "14:00",  # closes before it opens
            "day2-1-closes": "10:00",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = dict(re.findall(r'id="(day\d-\d-\w+)-error"><p>([^<]*)</p>', page))
    assert errors == {
        "day1-1-opens": "Overlaps another window on the same day.",
        "day2-1-closes": "Closing time must be after opening time.",
    }
    assert re.search(r'aria-invalid="true"[^>]*id="day2-1-closes"', page) or re.search(
        r'id="day2-1-closes"[^>]*aria-invalid="true"', page
    )
    assert 'href="#day2-1-closes"' in page  # the error summary links to the row
    assert re.search(r'id="day2-1-opens"[^>]*value="14:00"', page)  # what was typed stays
    assert windows_of(app, space_id) == [(0, time(9), time(17))]


def test_hours_with_one_time_missing_or_unreadable_are_refused(app, client, manager, login):
    venue_id = make_venue(app, manager)
    space_id = make_space(app, manager, venue_id)
    login(manager)
    response = post(
        client,
        f"/manage/spaces/{space_id}/hours",
        {"day3-0-opens": "09:00", "day3-0-closes": "", "day5-2-opens": "25:99", "day5-2-closes": "26:00"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="day3-0-closes-error"' in page
    assert 'id="day5-2-opens-error"' in page and 'id="day5-2-closes-error"' in page
    assert windows_of(app, space_id) == []


def test_copy_hours_from_another_space(app, client, manager, make_user, login):
    venue_id = make_venue(app, manager)
    source = make_space(
        app, manager, venue_id, name="Bron", hours=[(1, time(8, 30), time(12)), (3, time(13), time(16))]
    )
    target = make_space(app, manager, venue_id, name="Doel", hours=[(5, time(9), time(10))])
    other = make_user("manager")
    foreign = make_space(app, other, make_venue(app, other, name="Elders"), hours=[(2, time(7), time(8))])
    login(manager)
    page = client.get(f"/manage/spaces/{target}/hours").get_data(as_text=True)
    assert f'<option value="{source}">Buurthuis De Boog — Bron</option>' in page
    assert f'value="{foreign}"' not in page
    response = post(
        client, f"/manage/spaces/{target}/hours/copy", {"source": str(foreign)}, page=f"/manage/spaces/{target}/hours"
    )
    assert response.status_code == 422
    assert windows_of(app, target) == [(5, time(9), time(10))]
    response = post(
        client, f"/manage/spaces/{target}/hours/copy", {"source": str(source)}, page=f"/manage/spaces/{target}/hours"
    )
    assert response.status_code == 302
    assert windows_of(app, target) == [(1, time(8, 30), time(12)), (3, time(13), time(16))]


# -- closures --------------------------------------------------------------------------------


def closure_post(client, space_id: int, variant: str, **fields):
    data = {"variant": variant, **{f"{variant}-{k}": v for k, v in fields.items()}}
    path = f"/manage/spaces/{space_id}/closures"
    return post(client, path, data, token_name=f"{variant}-csrf_token")


def test_closure_of_whole_days_includes_the_last_day(app, client, manager, login):
    venue_id = make_venue(app, manager)
    space_id = make_space(app, manager, venue_id)
    other_space = make_space(app, manager, venue_id, name="Andere")
    login(manager)
    response = closure_post(client, space_id, "days", start="2027-12-24", end="2027-12-26", reason="Kerst")
    assert response.status_code == 302
    # Local midnight to local midnight after the last day, Amsterdam in winter is UTC+1.
    assert closures_of(app, space_id) == [
        (datetime(2027, 12, 23, 23, 0, tzinfo=UTC), datetime(2027, 12, 26, 23, 0, tzinfo=UTC), "Kerst")
    ]
    assert closures_of(app, other_space) == []
    page = client.get(f"/manage/spaces/{space_id}/closures").get_data(as_text=True)
    assert "Friday 24 December to Sunday 26 December, whole days" in page
    assert "Kerst" in page


def test_closure_time_range_for_all_spaces_of_the_venue(app, client, manager, login):
    venue_id = make_venue(app, manager)
    first = make_space(app, manager, venue_id)
    second = make_space(app, manager, venue_id, name="Andere")
    login(manager)
    response = closure_post(
        client, first, "times", start="2027-06-01T13:00", end="2027-06-01T17:30", reason="Onderhoud", all_spaces="y"
    )
    assert response.status_code == 302
    expected = [(datetime(2027, 6, 1, 11, 0, tzinfo=UTC), datetime(2027, 6, 1, 15, 30, tzinfo=UTC), "Onderhoud")]
    assert closures_of(app, first) == expected
    assert closures_of(app, second) == expected
    page = client.get(f"/manage/spaces/{second}/closures").get_data(as_text=True)
    assert "Tuesday 1 June, 13:00–17:30" in page


@pytest.mark.parametrize(
    ("variant", "start", "end", "field", "message"),
    [
        ("days", "2027-12-26", "2027-12-24", "end", "The end must be after the start."),
        ("times", "2027-06-01T13:00", "2027-06-01T12:00", "end", "The end must be after the start."),
        ("times", "2027-03-28T02:30", "2027-03-28T05:00", "start", "This local time does not exist"),
        ("days", "24-12-2027", "2027-12-26", "start", "Use a date (2026-12-24) or a date and time"),
        ("days", "", "2027-12-26", "start", "This field is required."),
    ],
)
def test_bad_closures_re_render_with_422_and_add_nothing(
    app, client, manager, login, variant, start, end, field, message
):
    venue_id = make_venue(app, manager)
    space_id = make_space(app, manager, venue_id)
    login(manager)
    response = closure_post(client, space_id, variant, start=start, end=end, reason="x")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'id="{variant}-{field}-error">(.*?)</div>', page, re.S)
    assert error and message in error.group(1)
    assert closures_of(app, space_id) == []


def test_remove_a_closure(app, client, manager, make_user, login):
    venue_id = make_venue(app, manager)
    space_id = make_space(app, manager, venue_id)
    login(manager)
    closure_post(client, space_id, "days", start="2027-12-24", end="2027-12-24")
    with app.app_context():
        closure_id = db.session.scalar(sa.select(Closure.id))
    page = client.get(f"/manage/spaces/{space_id}/closures").get_data(as_text=True)
    assert "Friday 24 December, the whole day" in page
    # Another manager may not remove it.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(make_user("manager"))
    assert post(client, f"/manage/closures/{closure_id}/delete", {}, page="/").status_code == 403
    assert len(closures_of(app, space_id)) == 1
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(manager)
    response = post(client, f"/manage/closures/{closure_id}/delete", {}, page="/")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/manage/spaces/{space_id}/closures"
    assert closures_of(app, space_id) == []


# -- the public venue page -------------------------------------------------------------------


def test_venue_page_shows_address_spaces_and_prices(app, client, manager, member, login):
    venue_id = make_venue(app, manager, description="Een buurthuis.", contact="030 123 45 67")
    make_space(app, manager, venue_id, name="Grote zaal", capacity=12, mode="room", price_per_hour_cents=1250)
    make_space(app, manager, venue_id, name="Werkplekken", capacity=6, mode="seats", hours=[(0, time(9), time(12))])
    page = client.get(f"/venues/{venue_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)  # visitors too
    assert "Kanaalstraat 1" in page and "3531 AA Utrecht" in page
    assert "030 123 45 67" in page and "Een buurthuis." in page
    assert "12 people" in page and "6 seats" in page
    assert "€12.50 an hour" in page
    assert "Free of charge" in page, re.findall(r"<dd>[^<]*</dd>", page)
    assert "09:00–12:00" in page  # Monday's opening hours of the seats
    assert "Wi-Fi" in page
    login(member)
    assert "Edit venue" not in client.get(f"/venues/{venue_id}").get_data(as_text=True)


def _hours_tables(page: str) -> dict[str, list[tuple[str, str]]]:
    """{space name: [(weekday, hours), ...]} from the venue page's opening-hours tables."""
    cards = re.findall(r'<section class="space-card".*?</section>', page, re.S)
    return {
        re.search(r'<a class="utrecht-link" href="[^"]+">([^<]+)</a></h3>', card).group(1): re.findall(
            r'scope="row">([^<]+)</th><td class="utrecht-table__cell">([^<]+)</td>', card
        )
        for card in cards
    }


def test_venue_page_shows_each_spaces_own_opening_hours(app, client, manager):
    venue_id = make_venue(app, manager, amenities=["wifi", "step_free"])
    split = [(0, time(13), time(17)), (0, time(9), time(12)), (4, time(18), time(22))]
    make_space(app, manager, venue_id, name="Zaal", hours=split, amenities=["screen"], requires_approval=True)
    make_space(app, manager, venue_id, name="Kantine", hours=[(6, time(10), time(16))], mode="seats")
    make_space(app, manager, venue_id, name="Kelder")  # no hours at all
    page = client.get(f"/venues/{venue_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    closed = ("Tuesday", "Closed"), ("Wednesday", "Closed"), ("Thursday", "Closed")
    assert _hours_tables(page) == {
        "Zaal": [
            ("Monday", "09:00–12:00, 13:00–17:00"),
            *closed,
            ("Friday", "18:00–22:00"),
            ("Saturday", "Closed"),
            ("Sunday", "Closed"),
        ],
        "Kantine": [
            ("Monday", "Closed"),
            *closed,
            ("Friday", "Closed"),
            ("Saturday", "Closed"),
            ("Sunday", "10:00–16:00"),
        ],
        "Kelder": [
            (day, "Closed") for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        ],
    }
    assert page.count('href="/spaces/') == 6  # the name and "See free times" of each space
    assert "Whole room: one booking at a time; a manager approves each request" in page
    assert "Seats: bookings share the space" in page
    assert "<dd>Screen</dd>" in page and '<li class="tag">Step-free access</li>' in page
    dutch = _hours_tables(client.get(f"/venues/{venue_id}", headers={"Accept-Language": "nl"}).get_data(as_text=True))
    assert dutch["Zaal"][:2] == [("Maandag", "09:00–12:00, 13:00–17:00"), ("Dinsdag", "Gesloten")]


def test_without_neighbourhoods_the_coordinates_carry_the_message(client, member, login):
    login(member)
    response = post(client, "/account/home", {"home_label": "Thuis"}, page="/account")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="neighbourhood"' not in page
    error = re.search(r'id="home_lat-error">(.*?)</div>', page, re.S)
    assert error and "Choose a neighbourhood, or enter latitude and longitude." in error.group(1)


def test_unpublished_venue_is_hidden_from_members_and_visitors(app, client, manager, member, login):
    venue_id = make_venue(app, manager, published=False)
    assert client.get(f"/venues/{venue_id}").status_code == 404
    login(member)
    assert client.get(f"/venues/{venue_id}").status_code == 404


# -- the home location on the profile --------------------------------------------------------


def test_home_location_from_a_neighbourhood_or_coordinates(app, client, manager, member, login):
    make_venue(app, manager, neighbourhood="Lombok", lat=52.09, lon=5.10)
    make_venue(app, manager, name="Ander", neighbourhood="Lombok", lat=52.10, lon=5.12)
    login(member)
    page = client.get("/account").get_data(as_text=True)
    assert '<option value="Lombok">Lombok</option>' in page

    response = post(client, "/account/home", {"neighbourhood": "Lombok"}, page="/account")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, member.id)
        assert user.home_label == "Lombok"
        assert user.home_lat == pytest.approx(52.095) and user.home_lon == pytest.approx(5.11)

    response = post(
        client, "/account/home", {"home_lat": "52.08", "home_lon": "5.09", "home_label": "Studio"}, page="/account"
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, member.id)
        assert (user.home_label, user.home_lat, user.home_lon) == ("Studio", 52.08, 5.09)

    response = post(client, "/account/home", {"clear": "1"}, page="/account")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, member.id)
        assert (user.home_label, user.home_lat, user.home_lon) == ("", None, None)


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"home_lat": "52.08"}, "home_lon", "Give both latitude and longitude."),
        ({"home_lat": "95", "home_lon": "5"}, "home_lat", "Number must be between -90 and 90."),
        ({}, "neighbourhood", "Choose a neighbourhood, or enter latitude and longitude."),
        ({"neighbourhood": "Atlantis"}, "neighbourhood", "Not a valid choice."),
    ],
)
def test_bad_home_location_is_refused_with_422(app, client, manager, member, login, fields, field_id, message):
    make_venue(app, manager)
    login(member)
    response = post(client, "/account/home", fields, page="/account")
    assert response.status_code == 422
    error = re.search(rf'id="{field_id}-error">(.*?)</div>', response.get_data(as_text=True), re.S)
    assert error and message in error.group(1)
    with app.app_context():
        assert db.session.get(User, member.id).home_lat is None
