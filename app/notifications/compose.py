"""Composing booking mails: subject and body in the recipient's language, with the invitation.

Each message is multipart/mixed:
    multipart/alternative
        text/plain; charset=utf-8
        text/html; charset=utf-8
        text/calendar; method=REQUEST|CANCEL|PUBLISH; charset=utf-8
    invite.ics (application/ics, the same calendar)
Mail clients that understand invitations use the text/calendar part; the others show the
attachment. Every translatable string is here (the templates only lay them out), in English
inside gettext, so the catalogues pick them up. The bytes are written by `mime.py` (about 1 ms a
mail, where the email package's header parsing took 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime as rfc2822_date
from email.utils import make_msgid, parseaddr
from functools import lru_cache
from typing import NamedTuple

from babel import Locale
from babel.dates import format_date, format_datetime, format_interval, match_skeleton
from flask import current_app
from flask_babel import force_locale, get_translations, gettext

from app.accounts.models import User
from app.bookings.models import Booking
from app.db import now_utc
from app.feeds.ical import invitation, organizer_address
from app.notifications import mime

# event → calendar method. Members get REQUEST (add/update) or CANCEL (remove); managers get a
# PUBLISH copy of a request: for information, it is not theirs to accept.
METHODS = {
    "confirmed": "REQUEST",
    "pending": "REQUEST",
    "approved": "REQUEST",
    "updated": "REQUEST",
    "declined": "CANCEL",
    "cancelled": "CANCEL",
    "new_request": "PUBLISH",
}
SUBJECT_LENGTH = 300
DEFAULT_SENDER = "Dichtbij <noreply@dichtbij.local>"


class Recipient(NamedTuple):
    """Who a mail goes to, as the outbox keeps it: a `User` serves as well."""

    name: str
    email: str
    language: str


@dataclass
class Mail:
    recipient: str
    subject: str
    message: bytes  # the whole RFC 5322 message, CRLF line ends, 7-bit (see mime.py)


@dataclass
class Texts:
    """What the templates show, already translated."""

    language: str
    subject: str
    greeting: str
    intro: str
    details: list[tuple[str, str]] = field(default_factory=list)
    message_label: str = ""
    message: str = ""
    link: str = ""
    link_text: str = ""
    calendar_hint: str = ""
    footer: str = ""


def one_line(text: str) -> str:
    """Header values on one line: a name or title with a line break cannot add a header."""
    return " ".join(text.split())


def base_url() -> str:
    return (current_app.config.get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/")


def when(start: datetime, end: datetime, zone, language: str) -> str:
    """ "zondag 28 maart 2027, 09:00–17:00" in the venue's zone, spelled out in `language`."""
    start, end = start.astimezone(zone), end.astimezone(zone)
    day = format_date(start, "full", locale=language)
    if start.date() == end.date():
        return f"{day}, {format_interval(start, end, 'Hm', tzinfo=zone, locale=language)}"
    last_day = format_date(end, "full", locale=language)
    return f"{day} {clock(start, language)} – {last_day} {clock(end, language)}"


def clock(moment: datetime, language: str) -> str:
    return skeleton("Hm", moment, language)


@lru_cache(maxsize=64)
def _skeleton_pattern(name: str, language: str) -> str:
    skeletons = Locale.parse(language).datetime_skeletons
    return skeletons[name if name in skeletons else match_skeleton(name, skeletons)]


def skeleton(name: str, moment: datetime, language: str) -> str:
    """babel's format_skeleton, with the (slow) skeleton matching done once per language."""
    return format_datetime(moment, _skeleton_pattern(name, language), locale=language)


def status_label(status: str, gettext=gettext) -> str:
    return {
        "pending": gettext("Awaiting approval"),
        "confirmed": gettext("Confirmed"),
        "cancelled": gettext("Cancelled"),
        "declined": gettext("Declined"),
    }[status]


def cancelled_by_manager(booking: Booking) -> bool:
    return booking.cancelled_by_id is not None and booking.cancelled_by_id != booking.member_id


def _catalogue_gettext():
    """flask_babel's `gettext` for the current (forced) locale, with the catalogue looked up once
    instead of per string (a mail translates some twenty)."""
    translations = get_translations()

    def gettext(string: str, **variables) -> str:
        translated = translations.ugettext(string)
        return translated % variables if variables else translated

    return gettext


def texts_for(booking: Booking, event: str, recipient: User | Recipient, message: str) -> Texts:
    """Call inside force_locale(recipient.language)."""
    gettext = _catalogue_gettext()
    space, venue = booking.space, booking.space.venue
    zone = venue.zone
    language = recipient.language
    local_start = booking.start.astimezone(zone)
    names = {
        "space": space.name,
        "venue": venue.name,
        "date": f"{skeleton('MMMMEEEEd', local_start, language)} {clock(local_start, language)}",
    }
    member_name = booking.member.name if booking.member is not None else ""
    link = f"{base_url()}/bookings/{booking.id}"
    link_text = gettext("View your booking")
    message_label = ""
    if event == "confirmed":
        subject = gettext("Booking confirmed: %(space)s, %(date)s", **names)
        intro = gettext("Your booking at %(venue)s is confirmed.", **names)
    elif event == "pending":
        subject = gettext("Request received: %(space)s, %(date)s", **names)
        intro = gettext(
            "We have received your request to book %(space)s at %(venue)s. A manager will approve or "
            "decline it; you will get an e-mail either way.",
            **names,
        )
    elif event == "approved":
        subject = gettext("Booking approved: %(space)s, %(date)s", **names)
        intro = gettext("Your request for %(space)s at %(venue)s has been approved.", **names)
    elif event == "updated":
        subject = gettext("Booking changed: %(space)s, %(date)s", **names)
        intro = gettext("Your booking at %(venue)s has been changed. These are the new details.", **names)
    elif event == "declined":
        subject = gettext("Request declined: %(space)s, %(date)s", **names)
        intro = gettext("Your request for %(space)s at %(venue)s has been declined. The time is free again.", **names)
        message = message or booking.reason
        message_label = gettext("Message from the manager")
    elif event == "cancelled":
        subject = gettext("Booking cancelled: %(space)s, %(date)s", **names)
        if cancelled_by_manager(booking):
            intro = gettext("A manager of %(venue)s has cancelled your booking.", **names)
            message = message or booking.reason
            message_label = gettext("Reason")
        else:
            intro = gettext("Your booking at %(venue)s has been cancelled.", **names)
            message = ""
    elif event == "new_request":
        subject = gettext("Request to approve: %(space)s, %(date)s", **names)
        intro = gettext(
            "%(member)s asks to book %(space)s at %(venue)s. Please approve or decline the request.",
            member=member_name,
            **names,
        )
        link = f"{base_url()}/manage/bookings/{booking.id}"
        link_text = gettext("Approve or decline")
    else:
        raise ValueError(f"unknown booking event {event!r}")

    seats = str(booking.seats)
    if booking.whole:
        seats = gettext("%(seats)s (the whole space)", seats=booking.seats)
    details = [
        (gettext("When"), when(booking.start, booking.end, zone, language)),
        (gettext("Space"), space.name),
        (gettext("Where"), f"{venue.name}, {venue.full_address}"),
        (gettext("Seats"), seats),
    ]
    if booking.title:
        details.append((gettext("Title"), booking.title))
    if event == "new_request":
        details.append((gettext("Requested by"), member_name))
    details.append((gettext("Status"), status_label(booking.status, gettext)))

    method = METHODS[event]
    if method == "REQUEST":
        hint = gettext("Open the attached invitation to add the booking to your calendar.")
    elif method == "CANCEL":
        hint = gettext("Open the attached cancellation to remove the booking from your calendar.")
    else:
        hint = ""
    return Texts(
        language=language,
        subject=one_line(subject)[:SUBJECT_LENGTH],
        greeting=gettext("Hello %(name)s,", name=recipient.name),
        intro=intro,
        details=details,
        message_label=message_label if message else "",
        message=message,
        link=link,
        link_text=link_text,
        calendar_hint=hint,
        footer=gettext("You receive this e-mail because of a booking on Dichtbij."),
    )


def calendar_description(texts: Texts) -> str:
    """The invitation's DESCRIPTION: the same details as the mail, in the same language."""
    lines = [f"{label}: {value}" for label, value in texts.details]
    if texts.message:
        lines.append(f"{texts.message_label}: {texts.message}")
    lines.append(texts.link)
    return "\n".join(lines)


@lru_cache(maxsize=8)
def _sender(configured: str) -> tuple[str, str]:
    """The From header and the Message-ID domain for MAIL_DEFAULT_SENDER, worked out once."""
    sender_name, sender_address = parseaddr(configured)
    if not sender_address:
        sender_name, sender_address = parseaddr(DEFAULT_SENDER)
    domain = sender_address.rpartition("@")[2] or "dichtbij.local"
    return mime.header_address(one_line(sender_name), sender_address, "From"), domain


def compose_booking_mail(
    booking: Booking, event: str, recipient: User | Recipient, message: str = "", *, key: str | None = None
) -> Mail:
    """One complete message about `booking` to `recipient`, in the recipient's language. `key`
    makes the Message-ID (a mail composed again, by a sender that took over, keeps it)."""
    method = METHODS[event]
    with force_locale(recipient.language):
        texts = texts_for(booking, event, recipient, message)
        # The templates only lay out `texts`: no context processors or signals needed.
        templates = current_app.jinja_env
        text_body = templates.get_template("mail/booking.txt").render(texts=texts)
        html_body = templates.get_template("mail/booking.html").render(texts=texts)
    audience = "manager" if event == "new_request" else "member"
    ics = invitation(
        booking,
        method,
        audience=audience,
        organizer=organizer_address(),
        description=calendar_description(texts),
    )

    from_header, domain = _sender(current_app.config.get("MAIL_DEFAULT_SENDER") or DEFAULT_SENDER)
    headers = [
        ("From", from_header),
        ("To", mime.header_address(one_line(recipient.name), recipient.email)),
        ("Subject", mime.header_text("Subject", texts.subject)),
        ("Date", rfc2822_date(now_utc())),
        ("Message-ID", f"<{key}@{domain}>" if key else make_msgid(domain=domain)),
        ("Content-Language", recipient.language),
        ("Auto-Submitted", "auto-generated"),
    ]
    body = mime.booking_message(headers, text_body, html_body, ics, method)
    return Mail(recipient=recipient.email, subject=texts.subject, message=body)
