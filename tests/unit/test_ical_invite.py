"""Calendar invitations for bookings: RFC 5545/5546 shape, UTC instants, escaping.

Models are built in memory (no database). Every invitation is read back twice: with icalendar
and with vobject, an independent parser.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

import app.models  # noqa: F401  (every mapper configured)
from app.accounts.models import User
from app.bookings.models import Booking
from app.feeds.ical import booking_event, calendar, invitation
from app.venues.models import Space, Venue

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CREATED = datetime(2027, 1, 10, 8, 30, tzinfo=UTC)
UPDATED = datetime(2027, 1, 12, 14, 5, 9, tzinfo=UTC)


def make_booking(
    start: datetime = datetime(2027, 3, 29, 9, tzinfo=AMSTERDAM),
    end: datetime = datetime(2027, 3, 29, 12, tzinfo=AMSTERDAM),
    **overrides,
) -> Booking:
    venue = Venue(
        name="Buurthuis De Pijler",
        kind="community_centre",
        address="Herderplein 8",
        postcode="3554 AT",
        city="Utrecht",
        lat=52.0937,
        lon=5.1006,
        timezone="Europe/Amsterdam",
    )
    space = Space(name="Zaal 1", capacity=12, venue=venue)
    member = User(email="anne@example.org", name="Anne de Vries", language="nl", role="member")
    values = {
        "uid": "0d6c9f1e-7d1f-4a4e-9a55-3f4e3a1e2b7c@dichtbij",
        "kind": "booking",
        "space": space,
        "member": member,
        "start": start.astimezone(UTC),
        "end": end.astimezone(UTC),
        "seats": 4,
        "whole": False,
        "title": "Buurtlunch",
        "status": "confirmed",
        "sequence": 2,
        "created_at": CREATED,
        "updated_at": UPDATED,
    }
    values.update(overrides)
    return Booking(**values)


def parse(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(data)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    return cal, events[0]


def unfolded_lines(data: bytes) -> list[str]:
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")[:-1]


def property_names(data: bytes) -> list[str]:
    """The name of every content line, read by hand (not by a library that might be lenient)."""
    names = []
    for line in unfolded_lines(data):
        name = line.split(":", 1)[0].split(";", 1)[0]
        names.append(name)
    return names


def test_request_invitation():
    booking = make_booking()
    data = invitation(booking, "REQUEST", organizer="noreply@dichtbij.example")
    cal, event = parse(data)
    assert cal["METHOD"] == "REQUEST"
    assert cal["PRODID"] == "-//Dichtbij//Dichtbij//NL"
    assert cal["VERSION"] == "2.0"
    assert str(event["UID"]) == booking.uid
    assert event["SEQUENCE"] == 2
    assert event["STATUS"] == "CONFIRMED"
    assert event["TRANSP"] == "OPAQUE"
    assert str(event["SUMMARY"]) == "Zaal 1 — Buurthuis De Pijler · Buurtlunch"
    assert str(event["LOCATION"]) == "Herderplein 8, 3554 AT Utrecht"
    assert (event["GEO"].latitude, event["GEO"].longitude) == (52.0937, 5.1006)
    assert "Seats: 4" in str(event["DESCRIPTION"])
    assert event.decoded("DTSTAMP") == UPDATED
    assert event.decoded("LAST-MODIFIED") == UPDATED
    assert event.decoded("CREATED") == CREATED
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:noreply@dichtbij.example"
    assert organizer.params["CN"] == "Buurthuis De Pijler"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:anne@example.org"
    assert attendee.params["CN"] == "Anne de Vries"
    assert attendee.params["PARTSTAT"] == "ACCEPTED"
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    lines = unfolded_lines(data)
    assert "DTSTART:20270329T070000Z" in lines
    assert "DTEND:20270329T100000Z" in lines


@pytest.mark.parametrize(
    ("day", "utc_start", "utc_end"),
    [
        # Summer time starts at 02:00 that night: 09:00 is UTC+2.
        (datetime(2027, 3, 28), "20270328T070000Z", "20270328T150000Z"),
        # Summer time ends at 03:00 that night: 09:00 is UTC+1.
        (datetime(2027, 10, 31), "20271031T080000Z", "20271031T160000Z"),
        # The day before each change, for contrast.
        (datetime(2027, 3, 27), "20270327T080000Z", "20270327T160000Z"),
        (datetime(2027, 10, 30), "20271030T070000Z", "20271030T150000Z"),
    ],
)
def test_times_are_utc_instants_across_summer_time(day, utc_start, utc_end):
    start = day.replace(hour=9, tzinfo=AMSTERDAM)
    end = day.replace(hour=17, tzinfo=AMSTERDAM)
    booking = make_booking(start, end)
    data = invitation(booking, "REQUEST")
    lines = unfolded_lines(data)
    assert f"DTSTART:{utc_start}" in lines
    assert f"DTEND:{utc_end}" in lines
    assert not any(line.startswith(("DTSTART;", "DTEND;")) for line in lines)  # no TZID, never floating
    _cal, event = parse(data)
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == end
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=8)
    # vobject reads the same instants.
    vcal = vobject.readOne(data.decode("utf-8"))
    assert vcal.vevent.dtstart.value == start
    assert vcal.vevent.dtend.value == end
    assert vcal.vevent.dtstart.value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("status", "method", "expected", "partstat"),
    [
        ("confirmed", "REQUEST", "CONFIRMED", "ACCEPTED"),
        ("pending", "REQUEST", "TENTATIVE", "TENTATIVE"),
        ("cancelled", "CANCEL", "CANCELLED", "DECLINED"),
        ("declined", "CANCEL", "CANCELLED", "DECLINED"),
        # A cancellation is a cancellation, whatever the row says.
        ("confirmed", "CANCEL", "CANCELLED", "DECLINED"),
    ],
)
def test_status_per_booking_status(status, method, expected, partstat):
    data = invitation(make_booking(status=status), method)
    cal, event = parse(data)
    assert cal["METHOD"] == method
    assert event["STATUS"] == expected
    assert event["ATTENDEE"].params["PARTSTAT"] == partstat
    vcal = vobject.readOne(data.decode("utf-8"))
    assert vcal.method.value == method
    assert vcal.vevent.status.value == expected


def test_cancel_keeps_uid_and_carries_the_sequence():
    booking = make_booking()
    request = vobject.readOne(invitation(booking, "REQUEST").decode())
    booking.status, booking.sequence = "cancelled", 3
    cancel = vobject.readOne(invitation(booking, "CANCEL").decode())
    assert cancel.vevent.uid.value == request.vevent.uid.value == booking.uid
    assert int(cancel.vevent.sequence.value) == 3 > int(request.vevent.sequence.value)
    assert cancel.method.value == "CANCEL"


def test_crlf_line_endings_and_folding():
    booking = make_booking(title="Jaarvergadering van de bewonerscommissie Lombok-Oost, met koffie en taart " * 2)
    data = invitation(booking, "REQUEST")
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    physical = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in physical) <= 75
    assert any(line.startswith(b" ") for line in physical)  # the long SUMMARY was folded
    _cal, event = parse(data)
    assert str(event["SUMMARY"]).endswith(booking.title)


def test_a_title_cannot_inject_properties():
    title = 'Lunch\r\nATTENDEE:mailto:evil@x\r\nMETHOD:PUBLISH;x="y",z; a, b'
    booking = make_booking(title=title)
    data = invitation(booking, "REQUEST")
    names = property_names(data)
    assert names.count("ATTENDEE") == 1
    assert names.count("METHOD") == 1
    assert names.count("SUMMARY") == 1
    cal, event = parse(data)
    assert cal["METHOD"] == "REQUEST"
    assert str(event["ATTENDEE"]) == "mailto:anne@example.org"
    assert isinstance(event["ATTENDEE"], icalendar.vCalAddress)  # one attendee, not a list
    assert str(event["SUMMARY"]) == f"Zaal 1 — Buurthuis De Pijler · {title.replace(chr(13), '')}"
    vcal = vobject.readOne(data.decode("utf-8"))
    assert [a.value for a in vcal.vevent.attendee_list] == ["mailto:anne@example.org"]
    assert vcal.vevent.summary.value.endswith('x="y",z; a, b')
    assert "evil@x" in vcal.vevent.summary.value


def test_names_with_separators_are_quoted():
    booking = make_booking()
    booking.member.name = 'Anne; "de" Vries, jr.'
    booking.space.venue.name = "Café: De Pijler"
    data = invitation(booking, "REQUEST")
    _cal, event = parse(data)
    assert property_names(data).count("ATTENDEE") == 1
    assert event["ORGANIZER"].params["CN"] == "Café: De Pijler"
    assert str(event["ATTENDEE"]) == "mailto:anne@example.org"
    vcal = vobject.readOne(data.decode("utf-8"))
    assert vcal.vevent.attendee.value == "mailto:anne@example.org"


def test_public_event_carries_no_personal_data():
    booking = make_booking(title="Afscheid van Anne")
    event = booking_event(booking, audience="public", summary="Bezet")
    data = calendar(None, [event]).to_ical()
    names = set(property_names(data))
    assert {"ATTENDEE", "ORGANIZER", "DESCRIPTION"}.isdisjoint(names)
    assert b"Afscheid" not in data
    assert b"anne@example.org" not in data
    assert b"Anne" not in data
    assert str(event["SUMMARY"]) == "Bezet"
    assert str(event["UID"]) == booking.uid
    assert event.decoded("DTSTART") == booking.start


def test_a_block_has_no_attendee():
    booking = make_booking(kind="block", member=None, whole=True, seats=12, title="")
    data = invitation(booking, "REQUEST")
    _cal, event = parse(data)
    assert "ATTENDEE" not in event
    assert str(event["SUMMARY"]) == "Zaal 1 — Buurthuis De Pijler"


def test_naive_times_are_refused():
    booking = make_booking()
    booking.start = datetime(2027, 3, 29, 9)
    with pytest.raises(ValueError, match="naive"):
        invitation(booking, "REQUEST")


def test_unknown_method_and_audience():
    booking = make_booking()
    with pytest.raises(ValueError):
        invitation(booking, "REPLY")
    with pytest.raises(ValueError):
        booking_event(booking, audience="everyone")


def reference_invitation(booking, method: str, *, audience: str = "member", **kwargs) -> bytes:
    """What icalendar writes for the same invitation: `invitation` writes its lines by hand."""
    event = booking_event(booking, audience=audience, cancelled=method == "CANCEL", **kwargs)
    return calendar(method, [event]).to_ical()


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL", "PUBLISH"])
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"status": "pending", "sequence": 0, "title": ""},
        {"title": "Jaarvergadering van de bewonerscommissie Lombok-Oost, met koffie en taart; " * 3},
        {"title": "Ééntje: «koffie» ☕ en taart, " * 6 + "\\;,"},
        {"title": 'Lunch\r\nATTENDEE:mailto:evil@x\r\nMETHOD:PUBLISH;x="y",z; a, b'},
        {"kind": "block", "member": None, "whole": True, "seats": 12, "title": ""},
    ],
)
def test_invitation_is_what_icalendar_writes(method, overrides):
    booking = make_booking(**overrides)
    if booking.member is not None:
        booking.member.name = 'Anne; "de" Vries, jr. ^ ’t'
    booking.space.venue.name = "Café: De Pijler, Lombok ; West"
    description = "Wanneer: maandag 29 maart 2027, 09:00–12:00\nPlaats: Zaal 1; taart, koffie\\thee\n" * 3
    for kwargs in ({}, {"description": description}):
        expected = reference_invitation(booking, method, organizer="noreply@dichtbij.example", **kwargs)
        assert invitation(booking, method, organizer="noreply@dichtbij.example", **kwargs) == expected
    public = reference_invitation(booking, method, audience="public", summary="Booked")
    assert invitation(booking, method, audience="public") == public
