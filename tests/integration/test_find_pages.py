"""Finding a space: the search page with its timelines, the space's week, and the timeline itself."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from app.accounts.models import User
from app.accounts.services import set_home
from app.availability import rules
from app.availability.timeline import day_timeline, hour_span
from app.bookings.models import Booking
from app.extensions import db
from app.venues.search import distance_km, walking_minutes
from tests.integration.test_venue_pages import make_space, make_venue

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 20, 10, 0, tzinfo=UTC)  # Saturday
HOME = (52.0905, 5.1010)
EVERY_DAY_9_TO_17 = [(d, time(9), time(17)) for d in range(7)]
TUESDAY = "2027-03-23"


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    monkeypatch.setattr("app.venues.views.now_utc", lambda: NOW)


@pytest.fixture
def manager(make_user):
    return make_user("manager", email="kees@example.org")


@pytest.fixture
def anouk(app, make_user):
    account = make_user("member", email="anouk@example.org", name="Anouk de Vries")
    with app.app_context():
        set_home(db.session.get(User, account.id), "Thuis", *HOME)
        db.session.commit()
    return account


def results(page: str) -> list[str]:
    """Venue names in the order the result list shows them."""
    return re.findall(r'<h3 class="utrecht-heading-3 venue-card__name" id="venue-\d+"><a [^>]*>([^<]+)</a>', page)


def timeline_texts(page: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", item).strip()
        for block in re.findall(r'<ul class="timeline__text visually-hidden"[^>]*>(.*?)</ul>', page, re.S)
        for item in re.findall(r"<li>(.*?)</li>", block, re.S)
    ]


def add_booking(app, space_id: int, member_id: int, start: datetime, end: datetime, seats: int, whole: bool = False):
    with app.app_context():
        db.session.add(
            Booking(
                space_id=space_id,
                member_id=member_id,
                start=start,
                end=end,
                seats=seats,
                whole=whole,
                status="confirmed",
            )
        )
        db.session.commit()


def test_results_are_sorted_by_walking_time_with_a_timeline(app, client, manager, anouk, login):
    far = make_venue(app, manager, name="Café Ver Weg", kind="cafe", lat=52.1040, lon=5.1180)
    near = make_venue(app, manager, name="Buurthuis Dichtbij", lat=52.0912, lon=5.0977)
    make_space(app, manager, far, name="Hoek", capacity=8, mode="seats", hours=EVERY_DAY_9_TO_17)
    room = make_space(app, manager, near, name="Zaal", capacity=4, mode="room", hours=EVERY_DAY_9_TO_17)
    # Someone booked the room on Tuesday 13:00–14:00 (local); nobody else learns who.
    add_booking(
        app, room, anouk.id, datetime(2027, 3, 23, 12, 0, tzinfo=UTC), datetime(2027, 3, 23, 13, 0, tzinfo=UTC), 4, True
    )
    login(anouk)
    response = client.get(f"/find?date={TUESDAY}&from=09:00&until=12:00&seats=1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert results(page) == ["Buurthuis Dichtbij", "Café Ver Weg"]
    near_walk = walking_minutes(distance_km(HOME, (52.0912, 5.0977)))
    far_walk = walking_minutes(distance_km(HOME, (52.1040, 5.1180)))
    assert near_walk < far_walk
    assert f"{near_walk} min walk" in page and f"{far_walk} min walk" in page
    assert timeline_texts(page) == [
        "Free 09:00–13:00",
        "Booked 13:00–14:00",
        "Free 14:00–17:00",
        "Free 09:00–17:00, 8 seats",
    ]
    assert "Anouk" not in page.split('id="results"')[1]  # no member's name in the results
    assert f'href="/spaces/{room}/book?start=2027-03-23T09:00&amp;end=2027-03-23T12:00"' in page
    assert "Tuesday 23 March, 09:00–12:00" in page


def test_the_timeline_draws_closed_busy_and_free_with_svg_attributes(app, client, manager, anouk, login):
    venue = make_venue(app, manager)
    space = make_space(
        app, manager, venue, capacity=2, mode="room", hours=[(1, time(9), time(12)), (1, time(13), time(17))]
    )
    add_booking(
        app,
        space,
        anouk.id,
        datetime(2027, 3, 23, 14, 0, tzinfo=UTC),
        datetime(2027, 3, 23, 15, 0, tzinfo=UTC),
        2,
        True,
    )
    login(anouk)
    page = client.get(f"/find?date={TUESDAY}&from=09:00&until=11:00").get_data(as_text=True)
    rects = re.findall(r'timeline__segment--(\w+)" x="([\d.]+%)" y="4" width="([\d.]+%)"', page)
    # 07:00–22:00 is 15 hours: one hour is 6.667% of the bar.
    assert rects == [
        ("closed", "0.000%", "13.333%"),
        ("free", "13.333%", "20.000%"),
        ("closed", "33.333%", "6.667%"),
        ("free", "40.000%", "13.333%"),
        ("busy", "53.333%", "6.667%"),
        ("free", "60.000%", "6.667%"),
        ("closed", "66.667%", "33.333%"),
    ]
    assert 'class="timeline__window" x="13.333%" y="1" width="13.333%"' in page
    assert "style=" not in page.split('id="results"')[1]
    assert timeline_texts(page) == [
        "Free 09:00–12:00",
        "Closed 12:00–13:00",
        "Free 13:00–15:00",
        "Booked 15:00–16:00",
        "Free 16:00–17:00",
    ]


def test_the_timeline_reads_in_dutch(app, client, manager, make_user, login):
    make_space(app, manager, make_venue(app, manager), capacity=6, mode="seats", hours=EVERY_DAY_9_TO_17)
    login(make_user("member", language="nl"))
    page = client.get(f"/find?date={TUESDAY}&from=09:00&until=12:00").get_data(as_text=True)
    assert timeline_texts(page) == ["Vrij 09:00–17:00, 6 plekken"]
    assert "dinsdag 23 maart, 09:00–12:00" in page


def test_default_search_is_tomorrow_morning_in_amsterdam(app, client, monkeypatch, manager, anouk, login):
    # 23:30 UTC on Saturday is already Sunday in Amsterdam, so "tomorrow" is Monday.
    monkeypatch.setattr("app.venues.views.now_utc", lambda: datetime(2027, 3, 20, 23, 30, tzinfo=UTC))
    make_space(app, manager, make_venue(app, manager), hours=[(0, time(9), time(12))])
    login(anouk)
    page = client.get("/find").get_data(as_text=True)
    assert re.search(r'id="date"[^>]*value="2027-03-22"', page)
    assert re.search(r'id="from"[^>]*value="09:00"', page) and re.search(r'id="until"[^>]*value="12:00"', page)
    assert results(page) == ["Buurthuis De Boog"]
    assert "Monday 22 March, 09:00–12:00" in page


def test_unpublished_venues_are_found_by_their_managers_only(app, client, manager, anouk, login):
    hidden = make_venue(app, manager, name="Nog Geheim", published=False)
    make_space(app, manager, hidden, hours=EVERY_DAY_9_TO_17)
    make_space(app, manager, make_venue(app, manager, name="Open Huis"), hours=EVERY_DAY_9_TO_17)
    login(anouk)
    assert results(client.get(f"/find?date={TUESDAY}").get_data(as_text=True)) == ["Open Huis"]
    client.post(
        "/logout",
        data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(
                1
            )
        },
    )
    assert results(client.get(f"/find?date={TUESDAY}", headers={"Accept-Language": "en"}).get_data(as_text=True)) == [
        "Open Huis"
    ]
    login(manager)
    assert sorted(results(client.get(f"/find?date={TUESDAY}").get_data(as_text=True))) == ["Nog Geheim", "Open Huis"]


def test_filters_seats_amenities_kind_and_radius(app, client, manager, anouk, login):
    quiet = make_venue(app, manager, name="Stil", kind="library", amenities=["quiet", "wifi"])
    make_space(app, manager, quiet, capacity=4, mode="seats", hours=EVERY_DAY_9_TO_17)
    far = make_venue(app, manager, name="Amersfoort", lat=52.156, lon=5.387, amenities=["quiet"])
    make_space(app, manager, far, capacity=20, mode="seats", hours=EVERY_DAY_9_TO_17)
    login(anouk)

    def found(query: str) -> list[str]:
        return results(client.get(f"/find?date={TUESDAY}&from=09:00&until=12:00&{query}").get_data(as_text=True))

    assert found("seats=1") == ["Stil"]  # Amersfoort is beyond the default 5 km
    assert found("seats=1&radius_km=50") == ["Stil", "Amersfoort"]
    assert found("seats=5&radius_km=50") == ["Amersfoort"]
    assert found("amenity=wifi&radius_km=50") == ["Stil"]
    assert found("kind=cafe&radius_km=50") == []


def test_nothing_free_shows_the_empty_state(app, client, manager, anouk, login):
    make_space(app, manager, make_venue(app, manager), hours=[(0, time(9), time(12))])  # Mondays only
    login(anouk)
    response = client.get(f"/find?date={TUESDAY}&from=09:00&until=12:00&radius_km=2")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert results(page) == []
    assert "No free space found — try a wider radius or another time." in page
    assert "radius_km=4" in page  # a link to search twice as far


def test_a_long_list_comes_a_page_at_a_time_with_a_plain_link_to_more(app, client, manager, anouk, login):
    from app.venues.search import DEFAULT_LIMIT

    for i in range(DEFAULT_LIMIT + 2):
        venue = make_venue(app, manager, name=f"Plek {i:02d}", lat=HOME[0] + 0.0005 * (i + 1), lon=HOME[1])
        make_space(app, manager, venue, hours=EVERY_DAY_9_TO_17)
    login(anouk)
    first = client.get(f"/find?date={TUESDAY}&from=09:00&until=12:00")
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert results(page) == [f"Plek {i:02d}" for i in range(DEFAULT_LIMIT)]
    assert f"The first {DEFAULT_LIMIT} places free" in page
    assert "Back to the first places" not in page
    more = re.search(r'<a class="utrecht-link" rel="next" href="([^"]+)">Show more places</a>', page)
    assert more, "no link to more results"
    href = more.group(1).replace("&amp;", "&")
    assert "cursor=" in href and f"date={TUESDAY}" in href and href.endswith("#results-heading")

    second = client.get(href.split("#")[0])
    assert second.status_code == 200
    page = second.get_data(as_text=True)
    assert results(page) == [f"Plek {i:02d}" for i in range(DEFAULT_LIMIT, DEFAULT_LIMIT + 2)]
    assert "2 more places free" in page
    assert 'rel="next"' not in page
    back = re.search(r'<a class="utrecht-link" href="([^"]+)">Back to the first places</a>', page)
    assert back and "cursor" not in back.group(1)

    # A cursor that is not ours starts from the beginning.
    again = client.get(f"/find?date={TUESDAY}&from=09:00&until=12:00&cursor=nonsense")
    assert again.status_code == 200
    assert results(again.get_data(as_text=True))[0] == "Plek 00"

    # Query keys that are not the form's (some are url_for's own arguments) are left out of the
    # links, never a 500; on the second page too, where both links are built.
    stray = "&endpoint=x&_anchor=y&_scheme=javascript&_method=POST&_external=1&values=z"
    for url in (f"/find?date={TUESDAY}&from=09:00&until=12:00", href.split("#")[0]):
        response = client.get(url + stray)
        assert response.status_code == 200
        links = re.findall(r'href="(/find[^"]*)"', response.get_data(as_text=True))
        assert links and not any("endpoint" in link or "_anchor" in link or "values" in link for link in links)


def test_more_places_reads_in_dutch(app, client, manager, make_user, login):
    from app.venues.search import DEFAULT_LIMIT

    for i in range(DEFAULT_LIMIT + 1):
        venue = make_venue(app, manager, name=f"Plek {i:02d}", lat=HOME[0] + 0.0005 * (i + 1), lon=HOME[1])
        make_space(app, manager, venue, hours=EVERY_DAY_9_TO_17)
    login(make_user("member", language="nl"))
    page = client.get(f"/find?date={TUESDAY}&from=09:00&until=12:00").get_data(as_text=True)
    assert f"De eerste {DEFAULT_LIMIT} vrije plekken" in page
    assert "Toon meer plekken" in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("date=2027-03-23&from=12:00&until=09:00", "until", "The end must be after the start."),
        ("date=2027-03-23&from=09:00&until=12:00&seats=0", "seats", "Number must be between 1 and 10000."),
        ("date=23-03-2027&from=09:00&until=12:00", "date", "Enter a date."),
        ("date=2027-03-23&from=nine&until=12:00", "from", "Enter a time like 09:00."),
        ("date=2027-03-23&from=09:00&until=12:00&radius_km=500", "radius_km", "A distance between 0 and 100 km."),
        ("date=2027-03-28&from=02:30&until=04:00", "from", "Use a date and time like"),
        ("date=9999-12-31&from=09:00&until=12:00", "date", "Choose a date in the next two years."),
    ],
)
def test_bad_search_input_shows_errors_on_the_form_with_422(client, anouk, login, query, field, message):
    login(anouk)
    response = client.get(f"/find?{query}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error">(.*?)</div>', page, re.S)
    assert error and message in error.group(1)
    assert 'id="results"' not in page


def test_without_a_home_location_the_page_says_where_to_set_it(app, client, manager, member, login):
    make_space(app, manager, make_venue(app, manager), hours=EVERY_DAY_9_TO_17)
    login(member)
    page = client.get(f"/find?date={TUESDAY}").get_data(as_text=True)
    assert 'href="/account#home"' in page
    assert results(page) == ["Buurthuis De Boog"]
    assert "min walk" not in page


# -- the space's week ------------------------------------------------------------------------


def day_section(page: str, day: str) -> str:
    match = re.search(rf'aria-labelledby="day-{day}">(.*?)</section>', page, re.S)
    assert match, day
    return match.group(1)


def test_week_grid_shows_local_slots_across_the_spring_clock_change(app, client, manager, member, login):
    space = make_space(
        app,
        manager,
        make_venue(app, manager),
        hours=[(d, time(9), time(11)) for d in range(7)],
        slot_minutes=60,
        min_minutes=60,
    )
    login(member)
    page = client.get(f"/spaces/{space}?week=2027-03-24").get_data(as_text=True)  # any day → its week
    assert "Week of Monday 22 March" in page
    for day in ("2027-03-22", "2027-03-27", "2027-03-28"):  # before and after the change on the 28th
        section = day_section(page, day)
        assert re.findall(r'<span class="slot__time">([\d:]+)</span>', section) == ["09:00", "10:00"], day
        assert f'href="/spaces/{space}/book?start={day}T09:00"' in section
    assert "Sunday 28 March" in page
    assert f'href="/spaces/{space}?week=2027-03-29"' in page  # next week
    assert f'href="/spaces/{space}?week=2027-03-15"' in page  # the week before, still this week or later


def test_week_grid_starts_at_this_week_and_leaves_out_the_past(app, client, manager, member, login):
    space = make_space(
        app,
        manager,
        make_venue(app, manager),
        hours=[(d, time(9), time(11)) for d in range(7)],
        slot_minutes=60,
        min_minutes=60,
    )
    login(member)
    for week in ("not-a-date", "9999-12-31", "0001-01-01"):
        page = client.get(f"/spaces/{space}?week={week}").get_data(as_text=True)
        assert "Week of Monday 15 March" in page, week  # NOW is Saturday 20 March
    assert "Previous week" not in page
    # Saturday 10:00 UTC is 11:00 in Amsterdam: that day's slots are over.
    assert re.findall(r'<span class="slot__time">([\d:]+)</span>', day_section(page, "2027-03-20")) == []
    assert re.findall(r'<span class="slot__time">([\d:]+)</span>', day_section(page, "2027-03-21")) == [
        "09:00",
        "10:00",
    ]


def test_seats_slots_say_how_many_seats_are_free(app, client, manager, anouk, login):
    space = make_space(
        app,
        manager,
        make_venue(app, manager),
        capacity=8,
        mode="seats",
        hours=[(1, time(9), time(11))],
        slot_minutes=60,
        min_minutes=60,
    )
    add_booking(
        app, space, anouk.id, datetime(2027, 3, 23, 8, 0, tzinfo=UTC), datetime(2027, 3, 23, 9, 0, tzinfo=UTC), 3
    )
    login(anouk)
    section = day_section(client.get(f"/spaces/{space}?week={TUESDAY}").get_data(as_text=True), TUESDAY)
    assert re.findall(r'<span class="slot__seats">([^<]+)</span>', section) == ["5 seats", "8 seats"]


def test_space_page_of_an_unpublished_venue_is_404(app, client, manager, member, login):
    space = make_space(app, manager, make_venue(app, manager, published=False))
    login(member)
    assert client.get(f"/spaces/{space}").status_code == 404
    assert client.get(f"/spaces/{space + 1000}").status_code == 404


# -- the timeline without a database ---------------------------------------------------------


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


def test_timeline_widens_to_the_open_hours_and_merges_touching_free_time():
    day = date(2027, 3, 23)
    opened = [rules.Interval(local(day, 6, 30), local(day, 23, 0))]
    free = [rules.Free(local(day, 6, 30), local(day, 12), 3), rules.Free(local(day, 12), local(day, 23), 3)]
    assert hour_span(day, AMSTERDAM, opened) == (6, 23)
    line = day_timeline(day, AMSTERDAM, opened, free, hours=(6, 23))
    assert [(s.state, s.start.strftime("%H:%M"), s.end.strftime("%H:%M"), s.seats) for s in line.segments] == [
        ("closed", "06:00", "06:30", None),
        ("free", "06:30", "23:00", 3),
    ]
    assert [t.label for t in line.ticks] == ["09:00", "12:00", "15:00", "18:00", "21:00"]


def test_timeline_of_a_closed_day_says_so():
    day = date(2027, 3, 28)
    line = day_timeline(day, AMSTERDAM, [], [])
    assert line.closed_all_day and line.told == []
    # 07:00–22:00 on the day the clocks go forward is still 15 real hours (the gap is at 02:00).
    assert (line.end - line.start).total_seconds() == 15 * 3600
