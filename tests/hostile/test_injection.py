"""Script and calendar injection: every text a person can type (venue name, description,
address, city, neighbourhood, contact; space name and description; booking and block titles;
cancel, decline and approval messages; closure reasons; user names) carries
`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>` and a CRLF followed by iCalendar
lines. It must come out as text everywhere: in every HTML page that shows it, in the HTML part of
every mail, in every feed and invitation (no extra property, event or attendee), in no mail header.
"""

from __future__ import annotations

import email
import re
from email import policy
from html.parser import HTMLParser

import icalendar
import pytest
import sqlalchemy as sa

from app.bookings.models import HOLDING, Booking
from app.extensions import db
from app.notifications.models import OutboxMessage
from tests.conftest import csrf_token
from tests.hostile.conftest import bearer, feed_path, log_in

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
ICAL = "\r\nX-EVIL:1\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT\r\nBEGIN:VEVENT"


def evil(marker: str, limit: int) -> str:
    """The marker (to find the text again), both script payloads, and calendar lines if they fit."""
    text = f"{marker}{SCRIPT}{IMG}{ICAL}"
    return text if len(text) <= limit else f"{marker}{SCRIPT}{IMG}"[:limit]


class Tags(HTMLParser):
    """What a browser would run: inline scripts, event-handler attributes, injected images."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("an inline <script>")
        if any(name.startswith("on") for name in names):
            self.found.append(f"<{tag}> with an on* attribute")
        if tag == "img" and ("src", "x") in attrs:
            self.found.append("the injected <img>")
        if any(name in {"x-evil", "alert(1)"} for name in names):
            self.found.append(f"<{tag}> with an injected attribute")


def injected(html: str) -> list[str]:
    parser = Tags()
    parser.feed(html)
    return parser.found


@pytest.fixture
def evil_world(app, client, make_user, make_token):
    """A venue, spaces, people and bookings whose every text field is hostile, made through the API."""
    manager = make_user("manager", email="evilmanager@example.org", name=evil("MN", 100))
    member = make_user("member", email="evilmember@example.org", name=evil("UN", 100))
    admin = make_user("admin", email="evil-admin@example.org", name="Beheer")
    mh, uh = bearer(make_token(manager)), bearer(make_token(member))

    def ok(response, status=201):
        assert response.status_code == status, response.get_data(as_text=True)
        return response.json

    venue = ok(
        client.post(
            "/api/v1/venues",
            json={
                "name": evil("VN", 120),
                "kind": "library",
                "address": evil("VA", 200),
                "postcode": "3554 AT",
                "city": evil("CI", 80),
                "neighbourhood": evil("NB", 80),
                "lat": 52.0937,
                "lon": 5.1006,
                "description": evil("VD", 5000),
                "contact": evil("CT", 200),
                "published": True,
            },
            headers=mh,
        )
    )
    space_body = {"name": evil("SN", 120), "description": evil("SD", 5000), "capacity": 10, "mode": "room"}
    space = ok(client.post(f"/api/v1/venues/{venue['id']}/spaces", json=space_body, headers=mh))
    approval = ok(
        client.post(
            f"/api/v1/venues/{venue['id']}/spaces",
            json={**space_body, "name": evil("SA", 120), "requires_approval": True},
            headers=mh,
        )
    )
    hours = {"hours": [{"weekday": d, "opens": "08:00", "closes": "22:00"} for d in range(7)]}
    for s in (space, approval):
        ok(client.put(f"/api/v1/spaces/{s['id']}/hours", json=hours, headers=mh), 200)
    ok(
        client.post(
            f"/api/v1/spaces/{space['id']}/closures",
            json={"start": "2026-12-24", "end": "2026-12-24", "reason": evil("CR", 200)},
            headers=mh,
        )
    )

    def book(space_id, day, title="", headers=uh):
        return ok(
            client.post(
                "/api/v1/bookings",
                json={"space_id": space_id, "start": f"{day}T09:00", "end": f"{day}T10:00", "title": title},
                headers=headers,
            )
        )["id"]

    ids = {
        "venue": venue["id"],
        "space": space["id"],
        "approval": approval["id"],
        "titled": book(space["id"], "2026-12-01", evil("BT", 200)),
        "cancelled_by_manager": book(space["id"], "2026-12-02"),
        "cancelled_by_member": book(space["id"], "2026-12-03"),
        "declined": book(approval["id"], "2026-12-01", evil("B2", 200)),
        "approved": book(approval["id"], "2026-12-02"),
        "pending": book(approval["id"], "2026-12-03", evil("B3", 200)),
    }
    ok(
        client.post(
            f"/api/v1/bookings/{ids['cancelled_by_manager']}/cancel", json={"reason": evil("CX", 500)}, headers=mh
        ),
        200,
    )
    ok(
        client.post(
            f"/api/v1/bookings/{ids['cancelled_by_member']}/cancel", json={"reason": evil("MC", 500)}, headers=uh
        ),
        200,
    )
    ok(client.post(f"/api/v1/bookings/{ids['declined']}/decline", json={"reason": evil("DR", 500)}, headers=mh), 200)
    ok(client.post(f"/api/v1/bookings/{ids['approved']}/approve", json={"message": evil("AM", 500)}, headers=mh), 200)
    ids["block"] = ok(
        client.post(
            f"/api/v1/spaces/{space['id']}/blocks",
            json={"start": "2026-12-01T13:00", "end": "2026-12-01T14:00", "title": evil("BL", 200)},
            headers=mh,
        )
    )["id"]
    ok(
        client.post(
            f"/api/v1/spaces/{space['id']}/imports",
            json={"url": f'https://calendar.example.org/IU{SCRIPT}"><svg/onload=alert(1)>.ics'},
            headers=mh,
        )
    )
    feeds = {
        "member": feed_path(client.get("/api/v1/me", headers=uh).json["feed_url"]),
        "venue": feed_path(client.get(f"/api/v1/venues/{venue['id']}", headers=mh).json["feed_url"]),
        "space": feed_path(space["feed_url"]),
        "busy": feed_path(space["busy_feed_url"]),
    }
    return {"ids": ids, "manager": manager, "member": member, "admin": admin, "feeds": feeds}


# (who looks, path, markers the page must show as text)
PAGES = [
    ("visitor", "/venues/{venue}", ["VN", "VD", "VA", "CI", "NB", "CT", "SN", "SD"]),
    ("visitor", "/spaces/{space}", ["VN", "SN"]),
    ("visitor", "/find?date=2026-12-01&from=11:00&until=12:00", ["VN", "SN"]),
    ("member", "/find?date=2026-12-01&from=11:00&until=12:00", ["VN", "SN"]),
    ("member", "/bookings", ["VN", "SN", "BT"]),
    ("member", "/bookings/{titled}", ["VN", "SN", "BT"]),
    ("member", "/bookings/{titled}/cancel", ["SN"]),
    ("member", "/bookings/{cancelled_by_manager}", ["SN", "CX"]),
    ("member", "/bookings/{declined}", ["SA", "B2", "DR"]),
    ("member", "/bookings/{approved}", ["SA", "AM"]),
    ("member", "/spaces/{space}/book?start=2026-12-05T09:00", ["VN", "SN"]),
    ("member", "/account", ["UN"]),
    ("manager", "/manage/venues", ["VN", "SN"]),
    ("manager", "/manage/venues/{venue}/edit", ["VN", "VD", "VA", "CI", "NB", "CT"]),
    ("manager", "/manage/spaces/{space}/edit", ["SN", "SD"]),
    ("manager", "/manage/spaces/{space}/hours", ["SN"]),
    ("manager", "/manage/spaces/{space}/closures", ["SN", "CR"]),
    ("manager", "/manage/spaces/{space}/calendars", ["SN"]),
    ("manager", "/manage/venues/{venue}/calendar?date=2026-12-01", ["VN", "SN", "UN", "BT", "BL"]),
    ("manager", "/manage/venues/{venue}/calendar?date=2026-12-01&view=week", ["VN", "UN", "BT"]),
    ("manager", "/manage/bookings/{titled}", ["SN", "UN", "BT"]),
    ("manager", "/manage/bookings/{pending}", ["SA", "UN", "B3"]),
    ("manager", "/bookings/{declined}", ["SA", "B2", "DR"]),
    ("admin", "/admin/users?q=evil", ["UN", "MN"]),
]


def escaped(marker: str) -> str:
    """How the marker's text shows up in correctly escaped HTML."""
    return f"{marker}&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.mark.parametrize("who", ["visitor", "member", "manager", "admin"])
def test_html_pages_show_hostile_text_as_text(app, evil_world, who):
    client = app.test_client() if who == "visitor" else log_in(app, evil_world[who])
    problems = {}
    for viewer, template, markers in PAGES:
        if viewer != who:
            continue
        path = template.format(**evil_world["ids"])
        response = client.get(path)
        html = response.get_data(as_text=True)
        found = injected(html)
        if response.status_code != 200:
            found.append(f"status {response.status_code}")
        found += [f"{m} not shown" for m in markers if escaped(m) not in html]
        found += [f"{m} unescaped" for m in markers if f"{m}{SCRIPT}" in html]
        if found:
            problems[path] = found
    assert problems == {}


def test_a_refused_booking_form_shows_the_title_as_text(app, evil_world):
    """The form comes back with what was typed in its value attributes: still no markup."""
    client = log_in(app, evil_world["member"])
    space = evil_world["ids"]["space"]
    response = client.post(
        f"/spaces/{space}/book",
        data={
            "csrf_token": csrf_token(client, f"/spaces/{space}/book"),
            "start": f"2026-12-05T09:15{IMG}",
            "end": "2026-12-05T10:00",
            "seats": "1",
            "title": evil("FT", 200),
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert injected(html) == []
    assert 'value="FT&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;' in html


def mails(app, monkeypatch, tmp_path) -> list[email.message.EmailMessage]:
    """What delivery sends (into files: no mail server), composing the announcements as it does."""
    from app.notifications.outbox import deliver_pending

    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    with app.app_context():
        sent, failed = deliver_pending(limit=1000)
        assert failed == 0
        assert db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.sent_at.is_(None))) == 0
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == sent
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]


def test_mail_shows_hostile_text_as_text(app, evil_world, monkeypatch, tmp_path):
    messages = mails(app, monkeypatch, tmp_path)
    # Sent: the titled booking's confirmation, the request still waiting (to its member and to
    # the manager), 2 cancelled, 1 declined, 1 approved. The other announcements were overtaken
    # before delivery (cancelled, declined, approved): the mail that replaced them went instead.
    assert len(messages) == 7
    html_parts = []
    for message in messages:
        assert set(message.keys()) <= {
            "Content-Type",
            "MIME-Version",
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "Content-Language",
            "Auto-Submitted",
        }, message.keys()
        for name in ("Subject", "To"):
            assert "\n" not in str(message[name]) and "\r" not in str(message[name])
        html = message.get_body(preferencelist=("html",)).get_content()
        assert injected(html) == [], message["Subject"]
        html_parts.append(html)
        for part in message.walk():
            if part.get_content_type() in ("text/calendar", "application/ics"):
                check_calendar(part.get_payload(decode=True), expected_events=1)
    everything = "\n".join(html_parts)
    for marker in ("VN", "VA", "SN", "SA", "BT", "B2", "B3", "UN", "MN", "CX", "DR", "AM"):
        assert escaped(marker) in everything, marker


def check_calendar(body: bytes, expected_events: int) -> icalendar.Calendar:
    """No line a payload added; exactly the events and attendees there should be."""
    assert b"\n" not in body.replace(b"\r\n", b""), "a bare line feed"
    lines = body.replace(b"\r\n ", b"").replace(b"\r\n\t", b"").decode().split("\r\n")
    assert not [line for line in lines if line.startswith("X-EVIL")]
    assert lines.count("BEGIN:VEVENT") == expected_events == lines.count("END:VEVENT")
    attendees = [line for line in lines if line.startswith("ATTENDEE")]
    assert len(attendees) <= expected_events
    assert not [line for line in attendees if "evil@example.org" in line]
    calendar = icalendar.Calendar.from_ical(body)
    events = calendar.walk("VEVENT")
    assert len(events) == expected_events
    for event in events:
        assert "X-EVIL" not in event
        attendees = event.get("ATTENDEE")
        assert not isinstance(attendees, list) or len(attendees) <= 1
    return calendar


def holding(app, **where) -> int:
    with app.app_context():
        query = sa.select(sa.func.count()).select_from(Booking).where(Booking.status.in_(HOLDING))
        for name, value in where.items():
            query = query.where(getattr(Booking, name) == value)
        return db.session.scalar(query)


def test_feeds_and_invitations_cannot_be_given_lines(app, client, evil_world):
    ids, feeds = evil_world["ids"], evil_world["feeds"]
    member_id = evil_world["member"].id
    expected = {
        "member": holding(app, member_id=member_id, kind="booking"),
        "venue": holding(app),
        "space": holding(app, space_id=ids["space"]),
        "busy": holding(app, space_id=ids["space"]),
    }
    assert expected == {"member": 3, "venue": 4, "space": 2, "busy": 2}
    summaries = []
    for name, path in feeds.items():
        response = client.get(path)
        assert response.status_code == 200, name
        calendar = check_calendar(response.data, expected[name])
        summaries += [str(event["SUMMARY"]) for event in calendar.walk("VEVENT")]
    # The hostile text is there, as one property's text, with its line breaks kept as text.
    titled = [s for s in summaries if "BT<script>" in s]
    assert titled and all(ICAL.replace("\r", "") in s for s in titled)
    assert not [s for s in summaries if "BL<script>" in s and "Bezet" in s]
    busy = client.get(feeds["busy"]).get_data(as_text=True)
    for private in ("BT<script>", "UN<script>", "BL<script>", "B3<script>"):  # titles and names stay private
        assert private not in busy
    download = log_in(app, evil_world["member"]).get(f"/bookings/{ids['titled']}/calendar.ics")
    assert download.status_code == 200
    check_calendar(download.data, 1)


def test_feed_names_with_line_breaks_stay_one_property(app, client, evil_world):
    """X-WR-CALNAME and NAME carry the venue's and space's names."""
    for name in ("venue", "space", "busy"):
        body = client.get(evil_world["feeds"][name]).data
        lines = body.replace(b"\r\n ", b"").decode().split("\r\n")
        calnames = [line for line in lines if line.startswith(("X-WR-CALNAME", "NAME"))]
        assert len(calnames) == 2, calnames
        assert all(re.search(r"VN<script>", line) for line in calnames)
