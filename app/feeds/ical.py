"""iCalendar for bookings: one VEVENT per booking, as an invitation or a single download.

Pure functions: no request, no database. `booking_event` builds the VEVENT with the icalendar
library, which escapes text (so a title with a line break, ";" or "," can never add a property)
and folds lines at 75 octets with CRLF endings. Feeds, with thousands of events, and `invitation`,
in every booking mail, write the same properties with `app.feeds.writer` instead (see
`feeds.render`); tests/unit/test_feed_writer.py and test_ical_invite.py keep them equal.

The booking's `uid` never changes; `sequence` is bumped by the booking services on every change
(and before a cancellation), so calendar clients replace or remove the event they already hold.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parseaddr
from functools import lru_cache

import icalendar

from app.feeds import writer

PRODID = "-//Dichtbij//Dichtbij//NL"
DEFAULT_ORGANIZER = "noreply@dichtbij.local"
AUDIENCES = ("member", "manager", "public")
METHODS = ("REQUEST", "CANCEL", "PUBLISH")

# Booking status → VEVENT STATUS and the member's participation status.
EVENT_STATUS = {"confirmed": "CONFIRMED", "pending": "TENTATIVE", "cancelled": "CANCELLED", "declined": "CANCELLED"}
PARTSTAT = {"confirmed": "ACCEPTED", "pending": "TENTATIVE", "cancelled": "DECLINED", "declined": "DECLINED"}


def utc(value: datetime) -> datetime:
    """An aware instant in UTC, so the library writes `...Z` and never a floating time."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime refused: bookings are stored as UTC instants")
    return value.astimezone(UTC)


def booking_summary(booking) -> str:
    """ "Zaal 1 — Buurthuis De Pijler · Buurtlunch": space, venue, and the title when there is one."""
    space = booking.space
    summary = f"{space.name} — {space.venue.name}"
    if booking.title:
        summary += f" · {booking.title}"
    return summary


def booking_event(
    booking,
    *,
    audience: str,
    organizer: str = DEFAULT_ORGANIZER,
    summary: str | None = None,
    description: str | None = None,
    cancelled: bool = False,
) -> icalendar.Event:
    """The booking as a VEVENT.

    audience "member" and "manager" get the full event with ORGANIZER and the member as ATTENDEE;
    "public" (an open availability feed) gets only the time, the place and `summary`
    ("Bezet"/"Booked"): no title, no description, no people.
    `description` overrides the default (seats and status), e.g. with translated text.
    `cancelled` marks the event CANCELLED whatever the booking's status (a METHOD:CANCEL mail).
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    venue = booking.space.venue
    status = "cancelled" if cancelled else booking.status
    event = icalendar.Event()
    event.add("uid", booking.uid)
    event.add("sequence", booking.sequence or 0)
    event.add("dtstamp", utc(booking.updated_at))
    event.add("created", utc(booking.created_at))
    event.add("last-modified", utc(booking.updated_at))
    event.add("dtstart", utc(booking.start))
    event.add("dtend", utc(booking.end))
    event.add("location", venue.full_address)
    event.add("geo", (venue.lat, venue.lon))
    event.add("status", EVENT_STATUS[status])
    event.add("transp", "OPAQUE")
    if audience == "public":
        event.add("summary", summary or "Booked")
        return event
    event.add("summary", summary or booking_summary(booking))
    if description is None:
        description = f"Seats: {booking.seats}\nStatus: {status}"
    event.add("description", description)
    organizer_address = icalendar.vCalAddress(f"mailto:{organizer}")
    organizer_address.params["cn"] = venue.name or "Dichtbij"
    event.add("organizer", organizer_address)
    member = booking.member
    if member is not None:
        attendee = icalendar.vCalAddress(f"mailto:{member.email}")
        attendee.params["cn"] = member.name
        attendee.params["role"] = "REQ-PARTICIPANT"
        attendee.params["partstat"] = PARTSTAT[status]
        attendee.params["rsvp"] = "FALSE"  # the booking is already decided; replies go nowhere
        event.add("attendee", attendee)
    return event


def calendar(method: str | None, events: list[icalendar.Event]) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    for event in events:
        cal.add_component(event)
    return cal


def organizer_address() -> str:
    """The address calendar invitations come from: MAIL_DEFAULT_SENDER, when an app is running."""
    from flask import current_app, has_app_context

    if has_app_context():
        address = _address(current_app.config.get("MAIL_DEFAULT_SENDER") or "")
        if address:
            return address
    return DEFAULT_ORGANIZER


@lru_cache(maxsize=8)
def _address(configured: str) -> str:
    return parseaddr(configured)[1]


def invitation(
    booking,
    method: str,
    *,
    audience: str = "member",
    organizer: str | None = None,
    description: str | None = None,
) -> bytes:
    """A VCALENDAR with METHOD and one VEVENT: what a mail carries as text/calendar and invite.ics.

    REQUEST adds or updates the event in the member's calendar; CANCEL (same UID, the bumped
    SEQUENCE) removes it; PUBLISH is a copy for information (the managers' new-request mail).

    The lines of `calendar(method, [booking_event(...)])`, written with `app.feeds.writer` (every
    booking mail carries one: icalendar took ~0.6 ms to build and serialise it);
    tests/unit/test_ical_invite.py keeps the two equal.
    """
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    venue = booking.space.venue
    status = "cancelled" if method == "CANCEL" else booking.status
    text, line, stamp = writer.text, writer.line, writer.utc_stamp
    public = audience == "public"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        line("SUMMARY", text("Booked" if public else booking_summary(booking))),
        f"DTSTART:{stamp(booking.start)}",
        f"DTEND:{stamp(booking.end)}",
        f"DTSTAMP:{stamp(booking.updated_at)}",
        line("UID", text(booking.uid)),
        f"SEQUENCE:{int(booking.sequence or 0)}",
    ]
    member = None if public else booking.member
    if member is not None:
        params = f"CN={writer.param(member.name)};PARTSTAT={PARTSTAT[status]};ROLE=REQ-PARTICIPANT;RSVP=FALSE"
        lines.append(line("ATTENDEE", writer.uri(f"mailto:{member.email}"), params))
    lines.append(f"CREATED:{stamp(booking.created_at)}")
    if not public:
        if description is None:
            description = f"Seats: {booking.seats}\nStatus: {status}"
        lines.append(line("DESCRIPTION", text(description)))
    lines += [
        f"GEO:{float(venue.lat)};{float(venue.lon)}",
        f"LAST-MODIFIED:{stamp(booking.updated_at)}",
        line("LOCATION", text(venue.full_address)),
    ]
    if not public:
        address = writer.uri(f"mailto:{organizer or organizer_address()}")
        lines.append(line("ORGANIZER", address, f"CN={writer.param(venue.name or 'Dichtbij')}"))
    lines += [f"STATUS:{EVENT_STATUS[status]}", "TRANSP:OPAQUE", "END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines).encode()
