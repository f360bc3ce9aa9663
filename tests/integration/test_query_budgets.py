"""Query budgets: the number of SQL statements a page or list sends does not grow with its results.

Each case builds its data through the services users hit, asks for the page with a few
results (SMALL) and again after adding more (LARGE), as the user who would look at it, and
checks that the answer shows the results with exactly as many statements as before, under a
ceiling. Each size is asked twice: the first request and a repeated one are compared
separately, so a cache (the feeds') cannot hide or fake growth. A failure names the
statements that were sent more often: the N+1.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.accounts.models import User
from app.accounts.services import create_api_token
from app.availability import services as availability
from app.bookings import services as bookings
from app.db import now_utc
from app.extensions import db
from app.feeds import imports
from app.venues.models import Space, Venue
from tests.conftest import Account
from tests.factories import LOMBOK, make_space, make_venue
from tests.support.queries import Statements, count_statements, growth

SMALL, LARGE = 2, 8
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MARKER = re.compile(r"QB\d{3}")


def mark(i: int) -> str:
    """The tag every result number i carries in its name, title or label."""
    return f"QB{i:03d}"


# -- the world a case builds on ---------------------------------------------------------------


@dataclass
class World:
    app: object
    make_user: Callable[..., Account]
    manager: Account
    member: Account
    admin: Account
    day: date  # a day a week ahead, in Amsterdam
    state: dict = field(default_factory=dict)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), AMSTERDAM)

    def venue(self, i: int | None = None, **overrides) -> int:
        name = f"Buurthuis {mark(i)}" if i is not None else "Buurthuis De Pijler"
        offset = (i or 0) * 0.0004
        return make_venue(
            self.app, self.manager.id, name=name, lat=LOMBOK[0] + offset, lon=LOMBOK[1] + offset, **overrides
        )

    def space(self, venue_id: int, i: int | None = None, **overrides) -> int:
        overrides.setdefault("name", f"Zaal {mark(i)}" if i is not None else "Grote zaal")
        overrides.setdefault("hours", "daily")
        return make_space(self.app, self.manager.id, venue_id, **overrides)

    def person(self, i: int) -> Account:
        return self.make_user("member", email=f"lid{i}@example.org", name=f"Lid {mark(i)}")

    def book(self, who: Account, space_id: int, start: datetime, end: datetime, title: str = "", **extra) -> int:
        """A booking through the booking service; one in the past is made as if booked the day before."""
        with self.app.app_context():
            result = bookings.create_booking(
                db.session.get(User, who.id),
                space_id,
                start.astimezone(UTC),
                end.astimezone(UTC),
                title=title,
                now=min(now_utc(), start.astimezone(UTC) - timedelta(days=1)),
                **extra,
            )
            db.session.commit()
            return result.bookings[0].id

    def read(self, model, id_: int, attribute: str):
        with self.app.app_context():
            return getattr(db.session.get(model, id_), attribute)


# -- what each case adds: result number i ---------------------------------------------------------


def add_venue_with_space(w: World, i: int) -> None:
    w.space(w.venue(i), i)


def add_searchable_venue(w: World, i: int) -> None:
    """A venue free in the searched window, its space busy later that day."""
    space = w.space(w.venue(i), i)
    w.book(w.member, space, w.at(w.day, 15), w.at(w.day, 16))


def one_venue(w: World) -> None:
    w.state["venue"] = w.venue()


def one_space(w: World) -> None:
    one_venue(w)
    w.state["space"] = w.space(w.state["venue"])


def add_space_to_venue(w: World, i: int) -> None:
    w.space(w.state["venue"], i)


def add_window(w: World, i: int) -> None:
    windows = w.state.setdefault("windows", [])
    windows.append((i % 7, time(8 + 2 * (i // 7)), time(9 + 2 * (i // 7))))
    with w.app.app_context():
        actor = db.session.get(User, w.manager.id)
        availability.set_hours(actor, db.session.get(Space, w.state["space"]), windows)
        db.session.commit()


def add_closure(w: World, i: int) -> None:
    day = w.day + timedelta(days=i)
    with w.app.app_context():
        actor = db.session.get(User, w.manager.id)
        space = db.session.get(Space, w.state["space"])
        availability.add_closure(actor, space, w.at(day, 12), w.at(day, 13), f"Schoonmaak {mark(i)}")
        db.session.commit()


def add_short_booking(w: World, i: int) -> None:
    """Half an hour taken every hour: one more free interval per booking."""
    w.book(w.person(i), w.state["space"], w.at(w.day, 8 + i), w.at(w.day, 8 + i, 30), mark(i))


def add_own_booking(w: World, i: int) -> None:
    """The member's booking number i, in a venue of its own; the odd ones in the past."""
    space = w.space(w.venue(i), i)
    day = w.day if i % 2 == 0 else now_utc().astimezone(AMSTERDAM).date() - timedelta(days=10)
    w.book(w.member, space, w.at(day, 10), w.at(day, 11), mark(i))


def add_booked_space(w: World, i: int) -> None:
    """A space of the venue, booked on the day by member i (only the member carries the marker:
    the calendar also lists the venue's spaces in its forms)."""
    space = w.space(w.state["venue"], name=f"Ruimte {i}")
    w.book(w.person(i), space, w.at(w.day, 10), w.at(w.day, 11), mark(i))


def add_request(w: World, i: int) -> None:
    """A space of the venue that needs approval, and member i's request for it."""
    space = w.space(w.state["venue"], name=f"Ruimte {i}", requires_approval=True)
    w.book(w.person(i), space, w.at(w.day + timedelta(days=i % 5), 10), w.at(w.day + timedelta(days=i % 5), 11))


def add_user(w: World, i: int) -> None:
    w.person(i)


def add_token(w: World, i: int) -> None:
    with w.app.app_context():
        create_api_token(db.session.get(User, w.member.id), f"Laptop {mark(i)}")
        db.session.commit()


def add_import(w: World, i: int) -> None:
    """An uploaded calendar whose one event clashes with a booking."""
    day = w.day + timedelta(days=i)
    w.book(w.person(i), w.state["space"], w.at(day, 19), w.at(day, 20))
    start = w.at(day, 19).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    end = w.at(day, 20).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Dichtbij//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:qb{i}@example.org\r\nDTSTAMP:20261127T100000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        "SUMMARY:Koor\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    with w.app.app_context():
        actor = db.session.get(User, w.manager.id)
        imports.import_upload(actor, db.session.get(Space, w.state["space"]), f"{mark(i)}.ics", ics)
        db.session.commit()


def add_other_managed_space(w: World, i: int) -> None:
    """Another space the manager runs: one more choice in "copy the hours of"."""
    w.space(w.venue(i), i)


def add_to_series(w: World, i: int) -> None:
    """The member's weekly series of SMALL, then (a series is made in one go) one of LARGE."""
    count = i + 1
    if count in (SMALL, LARGE):
        space = w.space(w.venue(count), count)
        first = w.book(
            w.member, space, w.at(w.day, 10), w.at(w.day, 11), "Koor", repeat=bookings.Repeat("weekly", count, False)
        )
        w.state["booking"] = first


# -- how a case counts the results an answer shows -------------------------------------------------


def listed(key: str) -> Callable:
    return lambda response, w: len(response.json[key])


def marked(response, w: World) -> int:
    """Results named with their marker (each result counted once, however often it shows)."""
    return len(set(MARKER.findall(response.get_data(as_text=True))))


def events(response, w: World) -> int:
    return response.get_data(as_text=True).count("BEGIN:VEVENT")


def taken_slots(response, w: World) -> int:
    """Half-hour slots of the day (open 08:00–22:00) that the week grid no longer offers."""
    page = response.get_data(as_text=True)
    day = re.search(rf'id="day-{w.day.isoformat()}">(.*?)</section>', page, re.S)
    assert day, "the week grid has no column for the day"
    return 28 - day.group(1).count('class="slot"')


def series_rows(response, w: World) -> int:
    """The occurrences listed under "This booking repeats"."""
    listing = re.search(r"<ul class=\"utrecht-unordered-list\">(.*?)</ul>", response.get_data(as_text=True), re.S)
    return listing.group(1).count("<li") if listing else 0


def iso(day: date) -> str:
    return day.isoformat()


# -- the cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    user: str | None  # "member", "manager", "admin"; None: a visitor
    api: bool
    url: Callable[[World], str]
    add: Callable[[World, int], None]
    found: Callable  # (response, world) → the number of results the answer shows
    ceiling: int  # today's count with a little headroom; the real budget is "no growth"
    prepare: Callable[[World], None] = lambda w: None


def feed(kind: str, model, key: str, attribute: str = "feed_token") -> Callable[[World], str]:
    def url(w: World) -> str:
        owner = w.state[key] if key != "member" else w.member.id
        return f"/feeds/{kind}/{owner}/{w.read(model, owner, attribute)}.ics"

    return url


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


SEARCH_WINDOW = "free_from={d}T10:00&free_to={d}T12:00"

CASES = [
    # -- search
    Case(
        "api search near, free window",
        "member",
        True,
        lambda w: f"/api/v1/venues?near={LOMBOK[0]},{LOMBOK[1]}&" + SEARCH_WINDOW.format(d=iso(w.day)),
        add_searchable_venue,
        listed("venues"),
        9,
    ),
    Case("api venues", "member", True, lambda w: "/api/v1/venues", add_venue_with_space, listed("venues"), 6),
    Case(
        "find page",
        "member",
        False,
        lambda w: f"/find?date={iso(w.day)}&from=10:00&until=12:00",
        add_searchable_venue,
        marked,
        12,
    ),
    # -- venues and spaces
    Case(
        "venue page", "member", False, lambda w: f"/venues/{w.state['venue']}", add_space_to_venue, marked, 8, one_venue
    ),
    Case(
        "venue page, visitor",
        None,
        False,
        lambda w: f"/venues/{w.state['venue']}",
        add_space_to_venue,
        marked,
        6,
        one_venue,
    ),
    Case(
        "api venue with its spaces",
        "member",
        True,
        lambda w: f"/api/v1/venues/{w.state['venue']}",
        add_space_to_venue,
        listed("spaces"),
        6,
        one_venue,
    ),
    Case(
        "space page, booked week",
        "member",
        False,
        lambda w: f"/spaces/{w.state['space']}?week={iso(week_of(w.day))}",
        add_short_booking,
        taken_slots,
        9,
        one_space,
    ),
    Case(
        "api space hours",
        "member",
        True,
        lambda w: f"/api/v1/spaces/{w.state['space']}/hours",
        add_window,
        listed("hours"),
        6,
        one_space,
    ),
    Case(
        "api space closures",
        "member",
        True,
        lambda w: f"/api/v1/spaces/{w.state['space']}/closures",
        add_closure,
        listed("closures"),
        6,
        one_space,
    ),
    Case(
        "api space availability",
        "member",
        True,
        lambda w: f"/api/v1/spaces/{w.state['space']}/availability?from={iso(w.day)}&to={iso(w.day)}",
        add_short_booking,
        listed("free"),
        10,
        one_space,
    ),
    # -- a member's bookings
    Case("my bookings", "member", False, lambda w: "/bookings", add_own_booking, marked, 5),
    Case(
        "booking page, its series",
        "member",
        False,
        lambda w: f"/bookings/{w.state['booking']}",
        add_to_series,
        series_rows,
        8,
    ),
    Case("api my bookings", "member", True, lambda w: "/api/v1/bookings", add_own_booking, listed("bookings"), 6),
    # -- managers
    Case(
        "calendar, day",
        "manager",
        False,
        lambda w: f"/manage/venues/{w.state['venue']}/calendar?date={iso(w.day)}",
        add_booked_space,
        marked,
        8,
        one_venue,
    ),
    Case(
        "calendar, week",
        "manager",
        False,
        lambda w: f"/manage/venues/{w.state['venue']}/calendar?date={iso(w.day)}&view=week",
        add_booked_space,
        marked,
        8,
        one_venue,
    ),
    Case(
        "calendar, booking requests",
        "manager",
        False,
        lambda w: f"/manage/venues/{w.state['venue']}/calendar?date={iso(now_utc().date())}",
        add_request,
        marked,
        8,
        one_venue,
    ),
    Case(
        "api venue bookings",
        "manager",
        True,
        lambda w: f"/api/v1/bookings?venue_id={w.state['venue']}",
        add_booked_space,
        listed("bookings"),
        6,
        one_venue,
    ),
    Case(
        "api space bookings",
        "manager",
        True,
        lambda w: f"/api/v1/bookings?space_id={w.state['space']}&from={iso(w.day)}&to={iso(w.day)}",
        add_short_booking,
        listed("bookings"),
        6,
        one_space,
    ),
    Case(
        "api booking requests",
        "manager",
        True,
        lambda w: f"/api/v1/bookings?venue_id={w.state['venue']}&status=pending",
        add_request,
        listed("bookings"),
        6,
        one_venue,
    ),
    Case("manage venues", "manager", False, lambda w: "/manage/venues", add_venue_with_space, marked, 7),
    Case(
        "hours page, copy from",
        "manager",
        False,
        lambda w: f"/manage/spaces/{w.state['space']}/hours",
        add_other_managed_space,
        marked,
        11,
        one_space,
    ),
    Case(
        "closures page",
        "manager",
        False,
        lambda w: f"/manage/spaces/{w.state['space']}/closures",
        add_closure,
        marked,
        8,
        one_space,
    ),
    Case(
        "imports page",
        "manager",
        False,
        lambda w: f"/manage/spaces/{w.state['space']}/calendars",
        add_import,
        marked,
        11,
        one_space,
    ),
    Case(
        "api imports",
        "manager",
        True,
        lambda w: f"/api/v1/spaces/{w.state['space']}/imports",
        add_import,
        listed("imports"),
        9,
        one_space,
    ),
    # -- accounts
    Case("admin users", "admin", False, lambda w: "/admin/users", add_user, marked, 5),
    Case("api users", "admin", True, lambda w: "/api/v1/users", add_user, listed("users"), 4),
    Case("tokens page", "member", False, lambda w: "/account/tokens", add_token, marked, 4),
    # -- calendar feeds
    Case("member feed", None, False, feed("member", User, "member"), add_own_booking, events, 6),
    Case("venue feed", None, False, feed("venue", Venue, "venue"), add_booked_space, events, 6, one_venue),
    Case("space feed", None, False, feed("space", Space, "space"), add_short_booking, events, 7, one_space),
    Case("busy feed", None, False, feed("busy", Space, "space", "busy_token"), add_short_booking, events, 7, one_space),
]


@pytest.fixture
def world(app, make_user):
    return World(
        app,
        make_user,
        manager=make_user("manager", email="beheer@example.org", name="Marja"),
        member=make_user("member", email="anouk@example.org", name="Anouk"),
        admin=make_user("admin", email="coordinator@example.org", name="Coördinator"),
        day=now_utc().astimezone(AMSTERDAM).date() + timedelta(days=7),
    )


@pytest.mark.parametrize("case", CASES, ids=[re.sub(r"\W+", "-", c.name) for c in CASES])
def test_statements_do_not_grow_with_the_results(app, client, world, login, make_token, case):
    case.prepare(world)
    for i in range(SMALL):
        case.add(world, i)
    headers = {}
    if case.user is not None:
        account = getattr(world, case.user)
        if case.api:
            headers = {"Authorization": f"Bearer {make_token(account)}"}
        else:
            assert login(account).status_code == 302
    with app.app_context():
        engine = db.engine

    def fetch() -> tuple[object, Statements]:
        url = case.url(world)
        with count_statements(engine) as statements:
            response = client.get(url, headers=headers)
        assert response.status_code == 200, f"{url}: {response.status_code}\n{response.get_data(as_text=True)[:2000]}"
        return response, statements

    def measure(n: int) -> tuple[Statements, Statements]:
        """The first request (nothing cached) and a second one (whatever the app caches, cached)."""
        first, cold = fetch()
        second, warm = fetch()
        for response in (first, second):
            assert case.found(response, world) >= n, f"{case.name}: the answer shows too few results for {n}"
        return cold, warm

    client.get("/", headers=headers)  # the first request after logging in settles the session; not counted
    small = measure(SMALL)
    for i in range(SMALL, LARGE):
        case.add(world, i)
    large = measure(LARGE)

    for kind, few, many in zip(("first", "repeated"), small, large, strict=True):
        assert len(many) == len(few), (
            f"{case.name} ({kind} request): {len(few)} statements for {SMALL} results, {len(many)} for {LARGE}\n"
            f"{growth(few, many)}\n{many.report(f'statements for {LARGE} results')}"
        )
        assert len(many) <= case.ceiling, many.report(f"{case.name}: over the ceiling of {case.ceiling}")
