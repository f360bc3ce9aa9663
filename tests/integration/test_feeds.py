"""Calendar feeds out: content checked with an independent parser (vobject), HTTP caching,
tokens, privacy, DST days, and the iCalendar lint (CRLF, folding, unique UIDs)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import vobject

from app.accounts.models import User
from app.bookings.models import Booking
from app.extensions import db
from tests.factories import make_space, make_venue

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    import app.bookings.services as services
    import app.feeds.feeds as feeds

    monkeypatch.setattr(services, "now_utc", lambda: NOW)
    monkeypatch.setattr(feeds, "now_utc", lambda: NOW)


@pytest.fixture
def world(app, make_user, make_token):
    manager = make_user("manager", name="Marja")
    anouk = make_user("member", email="anouk@example.org", name="Anouk de Vries", language="nl")
    samir = make_user("member", email="samir@example.org", name="Samir")
    venue = make_venue(app, manager.id)
    room = make_space(app, manager.id, venue, name="Zaal", hours="daily", horizon_days=400)
    tokens = {
        "manager": bearer(make_token(manager)),
        "anouk": bearer(make_token(anouk)),
        "samir": bearer(make_token(samir)),
    }
    return {"venue": venue, "room": room, "tokens": tokens, "anouk": anouk, "samir": samir, "manager": manager}


def book(client, headers, space, start, end, **extra):
    response = client.post(
        "/api/v1/bookings", json={"space_id": space, "start": start, "end": end, **extra}, headers=headers
    )
    assert response.status_code == 201, response.json
    return response.json


def feed_path(client, headers) -> str:
    url = client.get("/api/v1/me", headers=headers).json["feed_url"]
    return url.removeprefix("http://localhost")


def events(body: bytes) -> dict[str, vobject.base.Component]:
    cal = vobject.readOne(body.decode())
    return {e.uid.value: e for e in cal.vevent_list} if hasattr(cal, "vevent_list") else {}


def lint(body: bytes) -> None:
    """CRLF line endings, lines of at most 75 octets, unique UIDs, no METHOD, never floating."""
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    lines = body.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines), [line for line in lines if len(line) > 75][:2]
    unfolded = body.replace(b"\r\n ", b"").decode().split("\r\n")
    uids = [line for line in unfolded if line.startswith("UID:")]
    assert len(uids) == len(set(uids))
    assert not any(line.startswith("METHOD:") for line in unfolded)
    in_event = False
    for line in unfolded:
        in_event = (in_event or line == "BEGIN:VEVENT") and line != "END:VEVENT"
        if in_event and re.match(r"DT(START|END)[;:]", line):
            assert "TZID=" in line or line.endswith("Z"), line
    for tzid in set(re.findall(r"TZID=([^:;]+)", "\n".join(unfolded))):
        assert f"BEGIN:VTIMEZONE\r\nTZID:{tzid}" in body.decode()


def test_member_feed_matches_the_database(app, client, world):
    anouk = world["tokens"]["anouk"]
    a = book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00", title="Klant")
    b = book(client, anouk, world["room"], "2027-03-28T09:00", "2027-03-28T17:00")  # spring forward
    c = book(client, anouk, world["room"], "2027-10-31T09:00", "2027-10-31T17:00")  # fall back
    book(client, world["tokens"]["samir"], world["room"], "2026-12-02T09:00", "2026-12-02T10:00")
    response = client.get(feed_path(client, anouk))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"].startswith("private")
    body = response.data
    lint(body)
    unfolded = body.replace(b"\r\n ", b"").decode()
    for needle in (
        "X-WR-CALNAME:",
        "NAME:",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
        "VERSION:2.0",
        "PRODID:",
    ):
        assert needle in unfolded
    found = events(body)
    with app.app_context():
        rows = {
            r.uid: r for r in db.session.scalars(sa.select(Booking).where(Booking.id.in_([a["id"], b["id"], c["id"]])))
        }
    assert set(found) == set(rows)  # Samir's booking is not in Anouk's feed
    for uid, row in rows.items():
        event = found[uid]
        assert event.dtstart.value.astimezone(UTC) == row.start
        assert event.dtend.value.astimezone(UTC) == row.end
        assert int(event.sequence.value) == row.sequence
        assert event.status.value == "CONFIRMED"
        assert event.location.value == "Herderplein 8, 3554 AT Utrecht"
        assert event.url.value.endswith(f"/bookings/{row.id}")
    spring = found[rows[next(u for u, r in rows.items() if r.id == b["id"])].uid]
    assert (spring.dtend.value - spring.dtstart.value).total_seconds() == 8 * 3600
    assert spring.dtstart.value.utcoffset().total_seconds() == 7200
    assert "Zaal — Buurthuis De Pijler · Klant" in {e.summary.value for e in found.values()}
    assert "Samir" not in body.decode()


def test_pending_is_tentative_and_cancelled_leaves_the_feed(app, client, world):
    anouk = world["tokens"]["anouk"]
    approval = make_space(app, world["manager"].id, world["venue"], name="Atelier", requires_approval=True)
    pending = book(client, anouk, approval, "2026-12-01T13:00", "2026-12-01T15:00")
    gone = book(client, anouk, world["room"], "2026-12-03T09:00", "2026-12-03T10:00")
    path = feed_path(client, anouk)
    first = client.get(path)
    with app.app_context():
        uids = {b.id: b.uid for b in db.session.scalars(sa.select(Booking))}
    found = events(first.data)
    assert found[uids[pending["id"]]].status.value == "TENTATIVE"
    assert uids[gone["id"]] in found
    assert client.post(f"/api/v1/bookings/{gone['id']}/cancel", json={}, headers=anouk).status_code == 200
    second = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200  # the cancellation changed the feed
    assert second.headers["ETag"] != first.headers["ETag"]
    assert uids[gone["id"]] not in events(second.data)


def later(monkeypatch, seconds: int = 60) -> None:
    """The feeds' clock a little after the bookings were made."""
    import app.feeds.feeds as feeds

    monkeypatch.setattr(feeds, "now_utc", lambda: NOW + timedelta(seconds=seconds))


def test_unchanged_feed_is_byte_identical_and_answers_304(client, world, monkeypatch):
    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    later(monkeypatch)
    path = feed_path(client, anouk)
    one, two = client.get(path), client.get(path)
    assert one.data == two.data
    etag = one.headers["ETag"]
    assert etag == two.headers["ETag"] and etag.startswith('"') and not etag.startswith("W/")
    assert "Last-Modified" in one.headers
    not_modified = client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert client.get(path, headers={"If-Modified-Since": one.headers["Last-Modified"]}).status_code == 304
    head = client.head(path)
    assert head.status_code == 200 and head.headers["ETag"] == etag
    assert "Content-Encoding" not in one.headers


def test_304_does_not_build_the_calendar(client, world, monkeypatch):
    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    path = feed_path(client, anouk)
    etag = client.get(path).headers["ETag"]
    import app.feeds.feeds as feeds

    def boom(*args, **kwargs):
        raise AssertionError("built the calendar for a 304")

    monkeypatch.setattr(feeds, "build", boom)
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304


def test_renaming_the_space_changes_the_feed(client, world):
    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    path = feed_path(client, anouk)
    etag = client.get(path).headers["ETag"]
    client.patch(f"/api/v1/spaces/{world['room']}", json={"name": "Grote zaal"}, headers=world["tokens"]["manager"])
    response = client.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "Grote zaal" in response.data.decode()


def test_feed_tokens_unknown_and_rotated_are_404(client, world):
    anouk = world["tokens"]["anouk"]
    old = feed_path(client, anouk)
    assert len("http://localhost" + old) < 256  # Google refuses longer subscription URLs
    assert client.get(old[:-8] + "xxxx.ics").status_code == 404
    assert client.get(old.replace(f"/member/{world['anouk'].id}/", f"/member/{world['samir'].id}/")).status_code == 404
    response = client.post("/api/v1/me/feed-token", headers=anouk)
    assert response.status_code == 200
    new = response.json["feed_url"].removeprefix("http://localhost")
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_manager_feeds_and_public_busy_feed(app, client, world):
    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00", title="Geheim plan")
    mh = world["tokens"]["manager"]
    venue = client.get(f"/api/v1/venues/{world['venue']}", headers=mh).json
    space = client.get(f"/api/v1/spaces/{world['room']}", headers=mh).json
    as_member = client.get(f"/api/v1/spaces/{world['room']}", headers=anouk).json
    assert "feed_url" not in as_member and "busy_feed_url" in as_member
    assert "feed_url" not in client.get(f"/api/v1/venues/{world['venue']}", headers=anouk).json
    for url in (venue["feed_url"], space["feed_url"]):
        body = client.get(url.removeprefix("http://localhost")).data
        lint(body)
        assert "Anouk de Vries" in body.decode() and "Geheim plan" in body.replace(b"\r\n ", b"").decode()
    busy = client.get(as_member["busy_feed_url"].removeprefix("http://localhost"))
    assert busy.status_code == 200
    assert busy.headers["Cache-Control"].startswith("public")
    lint(busy.data)
    text = busy.data.decode()
    assert "Anouk" not in text and "anouk@" not in text and "Geheim" not in text and "ATTENDEE" not in text
    (event,) = events(busy.data).values()
    assert event.summary.value == "Bezet"
    assert (
        client.get(as_member["busy_feed_url"].removeprefix("http://localhost") + "?lang=en").data.count(
            b"SUMMARY:Booked"
        )
        == 1
    )


def test_injection_in_titles_cannot_add_properties(client, world):
    anouk = world["tokens"]["anouk"]
    book(
        client,
        anouk,
        world["room"],
        "2026-12-01T09:00",
        "2026-12-01T12:00",
        title="Hoi\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT\r\nBEGIN:VEVENT;x",
    )
    body = client.get(feed_path(client, anouk)).data
    lint(body)
    lines = body.replace(b"\r\n ", b"").decode().split("\r\n")
    assert lines.count("BEGIN:VEVENT") == 1
    attendees = [line for line in lines if line.startswith("ATTENDEE")]
    assert len(attendees) == 1 and "evil@example.org" not in attendees[0]
    (event,) = events(body).values()
    assert event.summary.value.endswith("Hoi\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT\r\nBEGIN:VEVENT;x") or (
        "ATTENDEE:mailto:evil@example.org" in event.summary.value
    )


def test_single_event_download(client, world, login, make_user):
    from tests.conftest import Account

    anouk = world["tokens"]["anouk"]
    booking = book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    assert client.get(f"/bookings/{booking['id']}/calendar.ics").status_code == 302  # log in first
    login(world["samir"])
    assert client.get(f"/bookings/{booking['id']}/calendar.ics").status_code == 404
    client.post("/logout", data={"csrf_token": __import__("tests.conftest", fromlist=["x"]).csrf_token(client, "/")})
    login(world["anouk"])
    response = client.get(f"/bookings/{booking['id']}/calendar.ics")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    cal = vobject.readOne(response.data.decode())
    assert cal.vevent.dtstart.value.astimezone(UTC) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    _ = Account


def test_calendar_page(client, world, login):
    login(world["anouk"])
    page = client.get("/calendar").get_data(as_text=True)
    assert "webcal://localhost/feeds/member/" in page
    assert "calendar.google.com" in page and "outlook.live.com" in page
    from tests.conftest import csrf_token

    before = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', page).group(1)
    response = client.post("/calendar", data={"csrf_token": csrf_token(client, "/calendar")})
    assert response.status_code == 302
    after = re.search(
        r'id="feed-url" type="text" readonly value="([^"]+)"', client.get("/calendar").get_data(as_text=True)
    ).group(1)
    assert after != before
    assert client.get(before.removeprefix("http://localhost")).status_code == 404
    with client.application.app_context():
        assert db.session.get(User, world["anouk"].id).feed_token in after


@pytest.fixture
def body_cache(app, monkeypatch):
    """The feed body cache, on (TESTING turns it off: rolled-back tests repeat ids and times)."""
    from app.cache import CACHES, BoundedCache

    cache = BoundedCache(4, *CACHES["feed_bodies"][1:])
    monkeypatch.setitem(app.extensions, "cache.feed_bodies", cache)
    return cache


@pytest.fixture
def builds(monkeypatch):
    """Counts the calendars built."""
    import app.feeds.feeds as feeds

    calls = []
    build = feeds.build

    def counting(*args, **kwargs):
        calls.append(args[0].kind)
        return build(*args, **kwargs)

    monkeypatch.setattr(feeds, "build", counting)
    return calls


def test_unchanged_feed_without_if_none_match_is_served_from_the_cache(client, world, body_cache, builds):
    """Google Calendar polls without If-None-Match: an unchanged feed is not built again."""
    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    gone = book(client, anouk, world["room"], "2026-12-03T09:00", "2026-12-03T10:00")
    path = feed_path(client, anouk)
    one, two = client.get(path), client.get(path)
    assert one.status_code == two.status_code == 200
    assert one.data == two.data and one.headers["ETag"] == two.headers["ETag"]
    assert builds == ["member"] and len(body_cache) == 1
    assert client.post(f"/api/v1/bookings/{gone['id']}/cancel", json={}, headers=anouk).status_code == 200
    three = client.get(path)
    assert three.headers["ETag"] != one.headers["ETag"] and three.data != one.data
    assert len(events(three.data)) == 1 and builds == ["member", "member"]
    assert client.get(path).data == three.data and len(builds) == 2
    head = client.head(path)
    assert head.status_code == 200 and head.headers["ETag"] == three.headers["ETag"] and len(builds) == 2


def test_the_cache_is_per_host(client, world, body_cache, builds):
    """The URL property carries the host the feed was asked on."""
    anouk = world["tokens"]["anouk"]
    booking = book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    path = feed_path(client, anouk)
    here = client.get(path).data
    there = client.get(path, base_url="https://agenda.example.org").data
    assert f"URL:http://localhost/bookings/{booking['id']}" in here.decode()
    assert f"URL:https://agenda.example.org/bookings/{booking['id']}" in there.decode()
    assert len(builds) == 2


def test_the_public_busy_feed_is_cached_once_whatever_the_host(client, world, body_cache, builds):
    """It has no URL property; made-up Host headers must not fill the cache with copies."""
    book(client, world["tokens"]["anouk"], world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    space = client.get(f"/api/v1/spaces/{world['room']}", headers=world["tokens"]["anouk"]).json
    path = space["busy_feed_url"].removeprefix("http://localhost")
    bodies = {client.get(path, base_url=f"http://h{i}.example.org").data for i in range(5)}
    assert len(bodies) == 1 and builds == ["busy"] and len(body_cache) == 1


def test_renaming_the_member_changes_the_member_feed(app, client, world, body_cache):
    """The member's own name and address are in the feed (ATTENDEE), so in its ETag."""
    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    path = feed_path(client, anouk)
    first = client.get(path)
    with app.app_context():
        db.session.get(User, world["anouk"].id).name = "Anouk Jansen"
        db.session.commit()
    second = client.get(path)
    assert second.headers["ETag"] != first.headers["ETag"]
    assert 'CN="Anouk Jansen"' in second.data.replace(b"\r\n ", b"").decode()


def test_renaming_the_member_changes_the_venue_and_space_feeds(app, client, world, body_cache):
    """Managers' feeds show the member's name and address: a rename must reach them too, also
    for a calendar app that polls without If-None-Match (served from the body cache)."""
    from app.accounts.services import update_profile

    book(client, world["tokens"]["anouk"], world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    mh = world["tokens"]["manager"]
    paths = [
        client.get(f"/api/v1/{kind}/{world[key]}", headers=mh).json["feed_url"].removeprefix("http://localhost")
        for kind, key in (("venues", "venue"), ("spaces", "room"))
    ]
    before = {path: client.get(path) for path in paths}
    with app.app_context():
        update_profile(db.session.get(User, world["anouk"].id), "Anouk Jansen", "nl")
        db.session.commit()
    for path in paths:
        after = client.get(path)
        assert after.headers["ETag"] != before[path].headers["ETag"]
        text = after.data.replace(b"\r\n ", b"").decode()
        assert "Anouk Jansen" in text and "Anouk de Vries" not in text
        revalidated = client.get(path, headers={"If-None-Match": before[path].headers["ETag"]})
        assert revalidated.status_code == 200


def test_if_modified_since_never_hides_a_change(client, world, monkeypatch):
    """Last-Modified has whole seconds: it is only sent once its second is over, and
    If-Modified-Since counts only as an exact match (the date goes back when bookings leave)."""
    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    path = feed_path(client, anouk)
    assert "Last-Modified" not in client.get(path).headers  # a change may still come this second
    later(monkeypatch)
    stamp = client.get(path).headers["Last-Modified"]
    assert client.get(path, headers={"If-Modified-Since": stamp}).status_code == 304
    assert client.get(path, headers={"If-Modified-Since": "Wed, 01 Dec 2027 00:00:00 GMT"}).status_code == 200
    import app.bookings.services as services

    monkeypatch.setattr(services, "now_utc", lambda: NOW + timedelta(seconds=30))
    book(client, anouk, world["room"], "2026-12-02T09:00", "2026-12-02T12:00")
    response = client.get(path, headers={"If-Modified-Since": stamp})
    assert response.status_code == 200 and len(events(response.data)) == 2


def test_a_304_reads_one_row_and_no_booking(app, client, world):
    """A poll that ends in 304 reads the owner's row and its counters: one statement, whatever
    the number of bookings (the counters move with every write: tests/integration/test_versions.py)."""
    from sqlalchemy import event

    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    venue_url = client.get(f"/api/v1/venues/{world['venue']}", headers=world["tokens"]["manager"]).json["feed_url"]
    statements = []
    with app.app_context():
        engine = db.engine

    def seen(conn, cursor, statement, parameters, context, executemany):
        if not re.match(r"\s*(BEGIN|SAVEPOINT|RELEASE|ROLLBACK|COMMIT)", statement, re.I):
            statements.append(statement)

    for path in (feed_path(client, anouk), venue_url.removeprefix("http://localhost")):
        etag = client.get(path).headers["ETag"]
        statements.clear()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert len(statements) == 1, statements
        assert not re.search(r"\bbookings\b", statements[0])


def test_venue_feed_holds_its_own_spaces_only(app, client, world, make_user, monkeypatch):
    anouk = world["tokens"]["anouk"]
    mine = book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    other_manager = make_user("manager", name="Piet")
    elsewhere = make_space(
        app, other_manager.id, make_venue(app, other_manager.id), name="Elders", hours="daily", horizon_days=400
    )
    other = book(client, anouk, elsewhere, "2026-12-01T13:00", "2026-12-01T14:00")
    blocked = client.post(
        f"/api/v1/spaces/{world['room']}/blocks",
        json={"start": "2026-12-02T09:00", "end": "2026-12-02T10:00", "title": "Onderhoud"},
        headers=world["tokens"]["manager"],
    )
    assert blocked.status_code == 201, blocked.json
    url = client.get(f"/api/v1/venues/{world['venue']}", headers=world["tokens"]["manager"]).json["feed_url"]
    response = client.get(url.removeprefix("http://localhost"))
    lint(response.data)
    with app.app_context():
        uids = {b.id: b.uid for b in db.session.scalars(sa.select(Booking))}
    found = events(response.data)
    assert uids[mine["id"]] in found and uids[other["id"]] not in found
    assert found[uids[blocked.json["id"]]].summary.value == "Zaal — Geblokkeerd · Onderhoud"
    later(monkeypatch)
    response = client.get(url.removeprefix("http://localhost"))
    assert "Last-Modified" in response.headers
    not_modified = client.get(
        url.removeprefix("http://localhost"), headers={"If-Modified-Since": response.headers["Last-Modified"]}
    )
    assert not_modified.status_code == 304


def test_memory_is_given_back_after_building_a_large_feed(client, world, monkeypatch):
    """After a large body is built the worker returns freed memory (glibc's malloc_trim); not
    after a 304 or a small body."""
    import app.feeds.views as views
    from app import memory

    assert memory._trim() is not None  # found on this (glibc) system
    calls = []
    monkeypatch.setattr(memory, "give_back", lambda: calls.append(1))
    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    path = feed_path(client, anouk)
    etag = client.get(path).headers["ETag"]
    assert calls == []  # small
    monkeypatch.setattr(views, "LARGE_BODY", 100)
    assert client.get(path).status_code == 200 and calls == [1]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304 and calls == [1]


def test_after_a_restore_a_new_epoch_changes_every_etag(app, client, runner, world):
    """A restored backup starts its counters from older values; `flask versions renew` makes
    sure no ETag a calendar app holds can match a feed again."""
    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    venue_url = client.get(f"/api/v1/venues/{world['venue']}", headers=world["tokens"]["manager"]).json["feed_url"]
    paths = [feed_path(client, anouk), venue_url.removeprefix("http://localhost")]
    before = {path: client.get(path) for path in paths}
    result = runner.invoke(args=["versions", "renew"])
    assert result.exit_code == 0 and "New epoch" in result.output, result.output
    for path in paths:
        after = client.get(path)
        assert after.data == before[path].data and after.headers["ETag"] != before[path].headers["ETag"]
        assert client.get(path, headers={"If-None-Match": before[path].headers["ETag"]}).status_code == 200


def test_a_deactivated_members_feed_is_gone(app, client, world, make_user):
    """Deactivating an account ends its feed too (as its log-in and API tokens), also for a poll
    that holds the last ETag; reactivating brings the same URL back."""
    from app.accounts.services import set_active

    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    path = feed_path(client, anouk)
    served = client.get(path)
    assert served.status_code == 200
    admin = make_user("admin", email="admin@example.org")
    with app.app_context():
        set_active(db.session.get(User, admin.id), world["anouk"].id, False)
        db.session.commit()
    assert client.get(path).status_code == 404
    assert client.get(path, headers={"If-None-Match": served.headers["ETag"]}).status_code == 404
    with app.app_context():
        set_active(db.session.get(User, admin.id), world["anouk"].id, True)
        db.session.commit()
    again = client.get(path)
    assert again.status_code == 200 and again.data == served.data


def test_a_release_that_changes_how_feeds_read_changes_every_etag(client, world, monkeypatch):
    """The ETag holds a fingerprint of the body's layout, the time zone rules and the
    translations: after an update of any of them calendar apps fetch the feed again."""
    import app.feeds.feeds as feeds

    anouk = world["tokens"]["anouk"]
    book(client, anouk, world["room"], "2026-12-01T09:00", "2026-12-01T12:00")
    path = feed_path(client, anouk)
    before = client.get(path)
    assert client.get(path, headers={"If-None-Match": before.headers["ETag"]}).status_code == 304
    tz_version = feeds.tz_version
    monkeypatch.setattr(feeds, "tz_version", lambda: "2099z")
    feeds.fingerprint.cache_clear()
    try:
        after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    finally:
        monkeypatch.setattr(feeds, "tz_version", tz_version)
        feeds.fingerprint.cache_clear()
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": before.headers["ETag"]}).status_code == 304
