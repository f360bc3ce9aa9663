"""The feeds' hand-written iCalendar writer, proven against icalendar and vobject.

Feeds are written line by line (`app.feeds.writer`, `feeds.render`) instead of through an
icalendar tree. These tests check, without a database:
- for ordinary values the body is byte for byte what the icalendar-based builder wrote;
- for any text (backslash, ";", ",", line breaks, CR, control characters, emoji, long multi-byte
  text that must be folded, injection attempts) and any instant (both DST change days,
  several zones) both parsers read back exactly the values put in, and no text adds a property
  or an event;
- the lint: CRLF, at most 75 octets a line, no fold inside a UTF-8 sequence or an escape.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import app.models  # noqa: F401  (every mapper configured)
from app.accounts.models import User
from app.bookings.models import Booking
from app.feeds import feeds, writer
from app.feeds.ical import booking_event, booking_summary
from app.venues.models import Space, Venue

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FIRST = date(2026, 9, 2)  # the window's first day: VTIMEZONEs cover 2026-2029
BASE = "https://dichtbij.example"
CREATED = datetime(2026, 8, 10, 8, 30, 12, 345678, tzinfo=UTC)
UPDATED = datetime(2026, 8, 12, 14, 5, 9, tzinfo=UTC)
SPRING = datetime(2027, 3, 28, tzinfo=UTC)  # Europe/Amsterdam 02:00 -> 03:00
AUTUMN = datetime(2027, 10, 31, tzinfo=UTC)  # Europe/Amsterdam 03:00 -> 02:00
INJECTION = "\r\nX-EVIL:1\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT\r\nBEGIN:VEVENT;x"
DROPPED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters but TAB and LF


# -- building blocks: in-memory models and rows as `feeds.build` selects them -------------------


def make_space(space_id=7, name="Zaal 1", venue_name="Buurthuis De Pijler", zone="Europe/Amsterdam") -> Space:
    venue = Venue(
        id=space_id * 10,
        name=venue_name,
        kind="community_centre",
        address="Herderplein 8",
        postcode="3554 AT",
        city="Utrecht",
        lat=52.0937,
        lon=5.1006,
        timezone=zone,
    )
    return Space(id=space_id, name=name, capacity=12, venue=venue)


def make_booking(space: Space, n: int, start: datetime, end: datetime, **overrides) -> Booking:
    member = overrides.pop("member", User(email="anne@example.org", name="Anne de Vries", language="nl"))
    values = {
        "id": 1000 + n,
        "uid": f"0d6c9f1e-7d1f-4a4e-9a55-{n:012d}@dichtbij",
        "kind": "booking" if member else "block",
        "space": space,
        "space_id": space.id,
        "member": member,
        "start": start,
        "end": end,
        "seats": 4,
        "title": "Buurtlunch",
        "status": "confirmed",
        "sequence": n % 5,
        "created_at": CREATED,
        "updated_at": UPDATED + timedelta(minutes=n),
    }
    values.update(overrides)
    return Booking(**values)


def as_row(booking: Booking) -> SimpleNamespace:
    member = booking.member
    return SimpleNamespace(
        **{
            name: getattr(booking, name)
            for name in (
                "id",
                "uid",
                "sequence",
                "created_at",
                "updated_at",
                "start",
                "end",
                "status",
                "seats",
                "title",
                "space_id",
            )
        },
        member_name=member.name if member else None,
        member_email=member.email if member else None,
    )


def feed_of(kind: str, name: str = "Dichtbij — mijn boekingen") -> feeds.Feed:
    return feeds.Feed(kind, 1, name, "nl", AMSTERDAM)


def render(feed: feeds.Feed, bookings: list[Booking]) -> bytes:
    spaces = {b.space.id: b.space for b in bookings}
    return feeds.render(feed, [as_row(b) for b in bookings], spaces, BASE, FIRST)


def icalendar_body(feed: feeds.Feed, bookings: list[Booking]) -> bytes:
    """What `feeds.build` wrote before the writer: an icalendar tree (FORMAT_VERSION 1)."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Dichtbij//Dichtbij//NL")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", feed.name)
    cal.add("name", feed.name)
    cal.add("x-wr-timezone", str(feed.zone.key))
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for booking in bookings:
        zone = booking.space.venue.zone
        if feed.kind == "busy":
            event = booking_event(booking, audience="public", summary="Booked")
        else:
            status = {"confirmed": "confirmed", "pending": "waiting for approval"}[booking.status]
            description = f"Seats: {booking.seats}\nStatus: {status}"
            summary = booking_summary(booking)
            if feed.kind in ("venue", "space"):
                who = booking.member.name if booking.member else "Blocked"
                summary = f"{booking.space.name} — {who}" + (f" · {booking.title}" if booking.title else "")
            audience = "member" if feed.kind == "member" else "manager"
            event = booking_event(booking, audience=audience, summary=summary, description=description)
            event.add("url", f"{BASE}/bookings/{booking.id}")
        for name, value in (("dtstart", booking.start), ("dtend", booking.end)):
            del event[name]
            event.add(name, value.astimezone(zone))
        cal.add_component(event)
    cal.add_missing_timezones(first_date=date(FIRST.year, 1, 1), last_date=date(FIRST.year + 4, 1, 1))
    # The one intended change: one RDATE line per transition (vobject reads only a list's first).
    return re.sub(
        rb"RDATE:([^\r]*)", lambda m: b"\r\n".join(b"RDATE:" + v for v in m.group(1).split(b",")), cal.to_ical()
    )


# -- checks --------------------------------------------------------------------------------------


def lint(body: bytes) -> None:
    """CRLF only; at most 75 octets a line; every line valid UTF-8 by itself (no split sequence);
    no fold between an escape character and what it escapes."""
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"") and b"\r" not in body.replace(b"\r\n", b"")
    physical = body.split(b"\r\n")[:-1]
    for raw in physical:
        assert len(raw) <= 75, raw
        raw.decode()
    logical: list[list[bytes]] = []
    for raw in physical:
        if raw.startswith(b" "):
            logical[-1].append(raw[1:])
        else:
            logical.append([raw])
    for pieces in logical:
        whole = b"".join(pieces)
        value_at = _value_start(whole)
        offset = 0
        for piece in pieces[:-1]:
            offset += len(piece)
            escape, floor = (b"\\", value_at) if offset > value_at else (b"^", 0)
            run = len(whole[floor:offset]) - len(whole[floor:offset].rstrip(escape))
            assert run % 2 == 0, (whole, offset)


def _value_start(line: bytes) -> int:
    quoted = False
    for i, c in enumerate(line):
        if c == ord('"'):
            quoted = not quoted
        elif c == ord(":") and not quoted:
            return i + 1
    raise AssertionError(line)


def norm(value: str) -> str:
    """What a TEXT or parameter value can carry: line breaks as LF, no other control characters."""
    return DROPPED.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def rfc6868(value: str) -> str:
    """vobject does not decode RFC 6868 parameter escapes: decode ^^, ^n and ^' here."""
    return re.sub(r"\^(.)", lambda m: {"^": "^", "n": "\n", "'": '"'}.get(m.group(1), m.group(0)), value)


def expected_events(feed: feeds.Feed, bookings: list[Booking]) -> dict[str, dict]:
    found = {}
    for b in bookings:
        space, venue, member = b.space, b.space.venue, b.member
        if feed.kind == "busy":
            summary = "Booked"
        elif feed.kind == "member":
            summary = f"{space.name} — {venue.name}" + (f" · {b.title}" if b.title else "")
        else:
            summary = f"{space.name} — {member.name if member else 'Blocked'}" + (f" · {b.title}" if b.title else "")
        event = {
            "SUMMARY": norm(summary),
            "DTSTART": b.start,
            "DTEND": b.end,
            "DTSTAMP": b.updated_at.replace(microsecond=0),
            "LAST-MODIFIED": b.updated_at.replace(microsecond=0),
            "CREATED": b.created_at.replace(microsecond=0),
            "SEQUENCE": b.sequence,
            "LOCATION": norm(venue.full_address),
            "STATUS": {"confirmed": "CONFIRMED", "pending": "TENTATIVE"}[b.status],
            "TRANSP": "OPAQUE",
            "GEO": "52.0937;5.1006",
        }
        if feed.kind != "busy":
            status = {"confirmed": "confirmed", "pending": "waiting for approval"}[b.status]
            event["DESCRIPTION"] = f"Seats: {b.seats}\nStatus: {status}"
            event["ORGANIZER"] = ("mailto:noreply@dichtbij.local", norm(venue.name or "Dichtbij"))
            event["URL"] = f"{BASE}/bookings/{b.id}"
            if member is not None:
                event["ATTENDEE"] = (f"mailto:{member.email}", norm(member.name))
        found[b.uid] = event
    return found


def read_with_icalendar(body: bytes) -> tuple[str, dict[str, dict]]:
    """icalendar's parser drops backslashes in parameter values (it reads "\\;" there as an
    escape): names are compared without them; vobject checks them."""
    cal = icalendar.Calendar.from_ical(body)
    found = {}
    for e in cal.walk("VEVENT"):
        names = [name for name, _value in e.property_items(recursive=False)][1:]  # without BEGIN
        assert len(names) == len(set(names)), names  # no property twice (no second ATTENDEE)
        event = {
            "SUMMARY": str(e["SUMMARY"]),
            "DTSTART": e.decoded("DTSTART").astimezone(UTC),
            "DTEND": e.decoded("DTEND").astimezone(UTC),
            "DTSTAMP": e.decoded("DTSTAMP"),
            "LAST-MODIFIED": e.decoded("LAST-MODIFIED"),
            "CREATED": e.decoded("CREATED"),
            "SEQUENCE": int(e["SEQUENCE"]),
            "LOCATION": str(e["LOCATION"]),
            "STATUS": str(e["STATUS"]),
            "TRANSP": str(e["TRANSP"]),
            "GEO": e["GEO"].to_ical(),
        }
        for name in ("DESCRIPTION", "URL"):
            if name in e:
                event[name] = str(e[name])
        for name in ("ORGANIZER", "ATTENDEE"):
            if name in e:
                event[name] = (str(e[name]), e[name].params.get("CN").replace("\\", ""))
                if name == "ATTENDEE":
                    assert e[name].params["ROLE"] == "REQ-PARTICIPANT" and e[name].params["RSVP"] == "FALSE"
        assert set(e) - {"UID"} == set(event), set(e) ^ set(event)
        found[str(e["UID"])] = event
    # icalendar reads X-WR-CALNAME as an unknown property, verbatim: undo the TEXT escapes here.
    name = re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), str(cal["X-WR-CALNAME"]))
    return name, found


def read_with_vobject(body: bytes) -> tuple[str, dict[str, dict]]:
    cal = vobject.readOne(body.decode())
    found = {}
    for e in cal.vevent_list if hasattr(cal, "vevent_list") else []:
        names = [c.name for c in e.getChildren()]
        assert len(names) == len(set(names)), names
        event = {
            "SUMMARY": e.summary.value,
            "DTSTART": e.dtstart.value.astimezone(UTC),
            "DTEND": e.dtend.value.astimezone(UTC),
            "DTSTAMP": e.dtstamp.value,
            "LAST-MODIFIED": e.last_modified.value,
            "CREATED": e.created.value,
            "SEQUENCE": int(e.sequence.value),
            "LOCATION": e.location.value,
            "STATUS": e.status.value,
            "TRANSP": e.transp.value,
            "GEO": e.geo.value,
        }
        if "DESCRIPTION" in names:
            event["DESCRIPTION"] = e.description.value
            event["URL"] = e.url.value
        for name in ("ORGANIZER", "ATTENDEE"):
            if name in names:
                line = e.contents[name.lower()][0]
                event[name] = (line.value, rfc6868(line.params.get("CN", [""])[0]))
        assert set(names) - {"UID"} == set(event), set(names) ^ set(event)
        found[e.uid.value] = event
    return cal.contents["x-wr-calname"][0].value, found


def check(feed: feeds.Feed, bookings: list[Booking]) -> bytes:
    body = render(feed, bookings)
    lint(body)
    expected = expected_events(feed, bookings)
    for reader in (read_with_vobject, read_with_icalendar):
        name, found = reader(body)
        assert name == norm(feed.name), reader.__name__
        if reader is read_with_icalendar:
            expected = {
                uid: {k: (v[0], v[1].replace("\\", "")) if k in ("ORGANIZER", "ATTENDEE") else v for k, v in e.items()}
                for uid, e in expected.items()
            }
        assert found.keys() == expected.keys(), reader.__name__
        for uid, event in expected.items():
            wrong = {k: (found[uid].get(k), v) for k, v in event.items() if found[uid].get(k) != v}
            assert not wrong, (reader.__name__, wrong)
    lines = body.replace(b"\r\n ", b"").split(b"\r\n")
    assert lines.count(b"BEGIN:VEVENT") == len(bookings) == lines.count(b"END:VEVENT")
    assert not [line for line in lines if line.startswith(b"X-EVIL")]
    return body


# -- strategies ----------------------------------------------------------------------------------

SPECIAL = [*"\\;,:\"'^N\n\r\t\x0b\x85\u2028’ ", "\r\n", "\\N", "\\n", "😀", "👩\u200d👩\u200d👧", "é", "€", "中"]
texts = st.lists(
    st.one_of(st.sampled_from(SPECIAL), st.characters(codec="utf-8", exclude_categories=("Cs",))), max_size=100
).map("".join)
long_multibyte = st.text(alphabet=st.sampled_from(["é", "中", "😀", "\\", ",", "a", "^"]), min_size=60, max_size=200)
titles = st.one_of(texts, long_multibyte, texts.map(lambda t: t + INJECTION), st.just(""))
names = st.one_of(texts, long_multibyte).map(lambda t: t[:100])
zones = st.sampled_from(["Europe/Amsterdam", "Europe/Amsterdam", "America/New_York", "UTC", "Australia/Lord_Howe"])


@st.composite
def instants(draw) -> tuple[datetime, datetime]:
    day = draw(
        st.one_of(
            st.sampled_from([SPRING, AUTUMN, SPRING - timedelta(days=1), AUTUMN - timedelta(days=1)]),
            st.integers(0, 3 * 365).map(lambda n: datetime(2026, 9, 2, tzinfo=UTC) + timedelta(days=n)),
        )
    )
    start = day + timedelta(minutes=15 * draw(st.integers(0, 95)))
    return start, start + timedelta(minutes=15 * draw(st.integers(1, 40)))


@st.composite
def feeds_with_bookings(draw, kinds=("member", "venue", "space", "busy")) -> tuple[feeds.Feed, list[Booking]]:
    kind = draw(st.sampled_from(kinds))
    spaces = [make_space(i + 1, draw(names), draw(names), draw(zones)) for i in range(draw(st.integers(1, 2)))]
    bookings = []
    for n in range(draw(st.integers(0, 4))):
        start, end = draw(instants())
        member = None
        if kind == "member" or draw(st.booleans()):
            member = User(email=f"m{n}@example.org", name=draw(names), language="nl")
        status = draw(st.sampled_from(["confirmed", "pending"]))
        title, space = draw(titles), draw(st.sampled_from(spaces))
        bookings.append(make_booking(space, n, start, end, member=member, title=title[:200], status=status))
    bookings.sort(key=lambda b: (b.start, b.id))
    return feed_of(kind, f"Dichtbij — {draw(names)}"), bookings


# -- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["member", "venue", "space", "busy"])
def test_ordinary_feed_is_byte_identical_to_what_icalendar_wrote(kind):
    space, other = make_space(7), make_space(8, "Keuken 2", "Wijkcentrum Amsterdam 138, Oost")
    bookings = [
        make_booking(space, 1, datetime(2026, 12, 1, 8, tzinfo=UTC), datetime(2026, 12, 1, 11, tzinfo=UTC)),
        make_booking(other, 2, SPRING + timedelta(hours=7), SPRING + timedelta(hours=15), title=""),
        make_booking(space, 3, AUTUMN + timedelta(hours=8), AUTUMN + timedelta(hours=16), status="pending"),
        make_booking(
            space,
            4,
            datetime(2027, 1, 5, 9, tzinfo=UTC),
            datetime(2027, 1, 5, 10, tzinfo=UTC),
            title="Een hele lange titel; met komma's, puntkomma's en een regel\nerbij, ‘quotes’ en émoji 😀 " * 2,
            member=User(email="s@example.org", name='Samir "de Smid", Jr.', language="nl"),
        ),
        make_booking(other, 5, datetime(2027, 2, 1, 9, tzinfo=UTC), datetime(2027, 2, 1, 10, tzinfo=UTC), member=None),
    ]
    if kind == "member":
        bookings = [b for b in bookings if b.member is not None]
    # icalendar 7.3 wrote NAME and X-WR-CALNAME verbatim (no TEXT escapes, and a crash on a line
    # break); the writer escapes them as the TEXT they are (RFC 7986): the same for this name.
    feed = feed_of(kind, "Dichtbij — Zaal 1 van Buurthuis ‘De Pijler’ 😀")
    assert render(feed, bookings) == icalendar_body(feed, bookings)
    check(feed, bookings)
    assert writer.line("NAME", writer.text("Zaal 1, achter; \\ 2\nB")) == "NAME:Zaal 1\\, achter\\; \\\\ 2\\nB"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(feeds_with_bookings())
def test_both_parsers_read_back_what_went_in(case):
    check(*case)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from([";", ",", ":", "\n", "'", '"', " ", "😀", "é"]), st.characters(categories=["L"])
        ),
        max_size=120,
    ),
    instants(),
)
def test_same_bytes_as_icalendar_for_any_text_without_escapes_at_a_fold(title, times):
    """icalendar differs only where it is wrong or lossy (a fold inside "\\\\", "\\N" as a line
    break, control characters, the repeated hour): without those the bytes are the same."""
    start, end = times
    assume(not start.astimezone(AMSTERDAM).fold and not end.astimezone(AMSTERDAM).fold)
    space = make_space(7, name=title[:40] or "Zaal")
    booking = make_booking(space, 1, start, end, title=title)
    feed = feed_of("venue", "Dichtbij — De Pijler")
    assert render(feed, [booking]) == icalendar_body(feed, [booking])


def test_both_dst_days_and_the_repeated_hour():
    space = make_space(7)
    cases = [
        (SPRING + timedelta(minutes=30), SPRING + timedelta(hours=1, minutes=30)),  # 01:30 CET -> 03:30 CEST
        (AUTUMN + timedelta(minutes=30), AUTUMN + timedelta(hours=1, minutes=30)),  # 02:30 CEST -> 02:30 CET
        (AUTUMN + timedelta(hours=1), AUTUMN + timedelta(hours=2)),  # 02:00 CET (second pass) -> 03:00
    ]
    bookings = [make_booking(space, n, start, end) for n, (start, end) in enumerate(cases)]
    body = check(feed_of("member"), bookings).decode()
    assert "DTSTART;TZID=Europe/Amsterdam:20270328T013000" in body
    assert "DTEND;TZID=Europe/Amsterdam:20270328T033000" in body
    assert "DTSTART;TZID=Europe/Amsterdam:20271031T023000" in body  # the first 02:30
    assert "DTEND:20271031T013000Z" in body  # the second 02:30: only UTC says which
    assert "DTSTART:20271031T010000Z" in body


def test_injection_cannot_add_a_property_or_an_event():
    space = make_space(7, name="Zaal" + INJECTION, venue_name="Pijler" + INJECTION)
    evil = User(email="anne@example.org", name="Anne" + INJECTION, language="nl")
    booking = make_booking(space, 1, datetime(2026, 12, 1, 8, tzinfo=UTC), datetime(2026, 12, 1, 9, tzinfo=UTC))
    booking.member, booking.title = evil, "Hoi" + INJECTION
    for kind in ("member", "venue", "busy"):
        body = check(feed_of(kind, "Dichtbij" + INJECTION), [booking])
        lines = body.replace(b"\r\n ", b"").decode().split("\r\n")
        assert len([line for line in lines if line.startswith("ATTENDEE")]) == (kind != "busy")


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("a\\b;c,d", "a\\\\b\\;c\\,d"),
        ("one\r\ntwo\nthree\rfour", "one\\ntwo\\nthree\\nfour"),
        ("\\N stays text", "\\\\N stays text"),
        ("bell\x07 and tab\t", "bell and tab\t"),
    ],
)
def test_text_escaping(value, escaped):
    assert writer.text(value) == escaped


@pytest.mark.parametrize(
    ("value", "written"),
    [("Anne", "Anne"), ("Anne de Vries", '"Anne de Vries"'), ('Sa"m^', "Sa^'m^^"), ("a\r\nb:c", '"a^nb:c"')],
)
def test_parameter_values(value, written):
    assert writer.param(value) == written


def test_folding_keeps_escapes_and_characters_whole():
    head = "SUMMARY:"
    for filler in range(60, 80):
        for tail in ("\\,x", "\\\\x", "😀x", "é\\;"):
            line = writer.line("SUMMARY", "a" * (filler - len(head)) + tail * 5)
            lint((line + "\r\n").encode())
            assert line.replace("\r\n ", "") == "SUMMARY:" + "a" * (filler - len(head)) + tail * 5


def test_uri_values_cannot_break_the_line():
    assert writer.uri("mailto:a@b.c\r\nX-EVIL:1") == "mailto:a@b.c%0D%0AX-EVIL:1"


def test_every_summer_in_the_vtimezone_is_read_right():
    """Each DST period of the four years the VTIMEZONE covers, in three zones, by both parsers."""
    for zone in ("Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe"):
        space = make_space(1, zone=zone)
        days = [datetime(2026, 9, 2, 12, tzinfo=UTC) + timedelta(days=61 * n) for n in range(20)]
        check(feed_of("space"), [make_booking(space, n, d, d + timedelta(hours=1)) for n, d in enumerate(days)])


def test_vtimezone_is_built_once_per_zone_and_year():
    writer.vtimezone.cache_clear()
    first = writer.vtimezone("Europe/Amsterdam", 2026)
    assert writer.vtimezone("Europe/Amsterdam", 2026) is first
    assert writer.vtimezone.cache_info().hits == 1
    assert first.startswith("BEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam\r\n") and first.endswith("END:VTIMEZONE\r\n")
    assert writer.vtimezone("Not/A_Zone", 2026) == ""
