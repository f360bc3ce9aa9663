"""Booking mail: composed into the outbox, delivered to a real SMTP server on loopback.

The server is aiosmtpd in a thread; the tests read what it received. Bookings are rows written
directly here (the booking services call `queue_booking_mail` the same way).
"""

from __future__ import annotations

import email
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app import create_app
from app.accounts.models import User
from app.bookings.models import Booking, new_uid
from app.db import now_utc
from app.extensions import db
from app.notifications import outbox as outbox_module
from app.notifications.models import OutboxMessage
from app.notifications.outbox import _claim, deliver, deliver_pending, queue_booking_mail, retry_delay
from app.venues import services as venues
from app.venues.models import Space, Venue
from config import TestingConfig
from tests.factories import make_space, make_venue
from tests.support.databases import empty_database, migrate

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# Monday 29 March 2027, 09:00–12:00 in Utrecht (summer time: UTC+2).
START = datetime(2027, 3, 29, 9, tzinfo=AMSTERDAM)
END = datetime(2027, 3, 29, 12, tzinfo=AMSTERDAM)


# -- a real SMTP server ------------------------------------------------------------------------------


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Collector:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        raw = envelope.original_content
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A loopback port nobody listens on (connecting to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpServer:
    port: int
    collector: Collector

    @property
    def received(self) -> list[Received]:
        return self.collector.received

    def to(self, address: str) -> EmailMessage:
        found = [r.message for r in self.received if r.recipients == [address]]
        assert len(found) == 1, f"{len(found)} messages to {address}"
        return found[0]


@pytest.fixture
def smtp_server():
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(controller.port, collector)
    finally:
        controller.stop()


@pytest.fixture
def mail_to(app, monkeypatch):
    """Point the app's mail settings at a server (or at a closed port)."""

    def point(port: int) -> None:
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", port)
        monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 5)

    monkeypatch.setitem(app.config, "BASE_URL", "https://dichtbij.example/")
    monkeypatch.setitem(app.config, "MAIL_DEFAULT_SENDER", "Dichtbij <noreply@dichtbij.example>")
    return point


# -- a venue, its people and bookings ----------------------------------------------------------------


@dataclass
class Scene:
    manager_id: int
    venue_id: int
    space_id: int


@pytest.fixture
def scene(app, make_user) -> Scene:
    manager = make_user("manager", email="beheer@pijler.example", name="Marja", language="nl")
    venue_id = make_venue(app, manager.id)
    space_id = make_space(app, manager.id, venue_id)
    return Scene(manager.id, venue_id, space_id)


def add_booking(app, scene: Scene, member_id: int | None, **values) -> int:
    row = {
        "uid": new_uid(),
        "kind": "booking",
        "space_id": scene.space_id,
        "member_id": member_id,
        "created_by_id": member_id,
        "start": START.astimezone(UTC),
        "end": END.astimezone(UTC),
        "seats": 4,
        "title": "Buurtlunch",
        "status": "confirmed",
        "sequence": 0,
    }
    row.update(values)
    with app.app_context():
        booking = Booking(**row)
        db.session.add(booking)
        db.session.commit()
        return booking.id


def queue(app, booking_id: int, event: str, message: str = "") -> list[int]:
    with app.app_context():
        rows = queue_booking_mail(db.session.get(Booking, booking_id), event, message)
        db.session.commit()
        return [row.id for row in rows]


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def parts(message: EmailMessage) -> tuple[EmailMessage, list[EmailMessage], EmailMessage]:
    """multipart/mixed → (the alternative, its three parts, the attachment)."""
    assert message.get_content_type() == "multipart/mixed"
    outer = list(message.iter_parts())
    assert [p.get_content_type() for p in outer] == ["multipart/alternative", "application/ics"]
    alternative, attachment = outer
    inner = list(alternative.iter_parts())
    assert [p.get_content_type() for p in inner] == ["text/plain", "text/html", "text/calendar"]
    return alternative, inner, attachment


def calendar_lines(part: EmailMessage) -> list[str]:
    """The unfolded content lines of a text/calendar or .ics part."""
    raw = part.get_payload(decode=True)
    return raw.decode("utf-8").replace("\r\n ", "").replace("\n ", "").splitlines()


# -- tests ---------------------------------------------------------------------------------------------


def test_confirmed_mail_in_each_members_language(app, make_user, scene, smtp_server, mail_to):
    mail_to(smtp_server.port)
    anne = make_user(email="anne@example.org", name="Anne", language="nl")
    bob = make_user(email="bob@example.org", name="Bob", language="en")
    anne_booking = add_booking(app, scene, anne.id)
    later = {"start": (START + timedelta(hours=4)).astimezone(UTC), "end": (END + timedelta(hours=4)).astimezone(UTC)}
    bob_booking = add_booking(app, scene, bob.id, **later)
    queue(app, anne_booking, "confirmed")
    queue(app, bob_booking, "confirmed")

    with app.app_context():
        assert deliver_pending() == (2, 0)

    assert len(smtp_server.received) == 2
    assert all(r.sender == "noreply@dichtbij.example" for r in smtp_server.received)
    dutch, english = smtp_server.to("anne@example.org"), smtp_server.to("bob@example.org")
    assert dutch["To"] == "Anne <anne@example.org>"
    assert dutch["From"] == "Dichtbij <noreply@dichtbij.example>"
    # The date is spelled out in the recipient's language, in the venue's zone.
    assert dutch["Subject"] == "Boeking bevestigd: Zaal 1, ma 29 maart 09:00"
    assert english["Subject"] == "Booking confirmed: Zaal 1, Mon, March 29 13:00"
    assert dutch["Content-Language"] == "nl"

    _alternative, (text, html, ics), attachment = parts(dutch)
    body = text.get_content()
    assert "maandag 29 maart 2027, 09:00–12:00" in body
    assert "Zaal 1" in body
    assert "Buurthuis De Pijler, Herderplein 8, 3554 AT Utrecht" in body
    assert "Buurtlunch" in body
    assert f"https://dichtbij.example/bookings/{anne_booking}" in body
    assert f'href="https://dichtbij.example/bookings/{anne_booking}"' in html.get_content()
    assert "Monday, March 29, 2027" in parts(english)[1][0].get_content()

    assert dict(ics.get_params()[1:]) == {"charset": "utf-8", "method": "REQUEST"}
    lines = calendar_lines(ics)
    with app.app_context():
        booking = db.session.get(Booking, anne_booking)
        assert f"UID:{booking.uid}" in lines
    assert "METHOD:REQUEST" in lines
    assert "SEQUENCE:0" in lines
    assert "DTSTART:20270329T070000Z" in lines
    assert "STATUS:CONFIRMED" in lines
    assert any(line.startswith("ATTENDEE;") and line.endswith(":mailto:anne@example.org") for line in lines)
    assert any(line.startswith("ORGANIZER;") and line.endswith(":mailto:noreply@dichtbij.example") for line in lines)
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_payload(decode=True) == ics.get_payload(decode=True)
    assert ics.get_payload(decode=True).count(b"\r\n") == ics.get_payload(decode=True).count(b"\n")

    rows = outbox(app)
    assert [(r.recipient, r.attempts, r.sent_at is not None) for r in rows] == [
        ("anne@example.org", 0, True),
        ("bob@example.org", 0, True),
    ]
    with app.app_context():
        assert deliver_pending() == (0, 0)  # nothing twice
    assert len(smtp_server.received) == 2


@pytest.mark.parametrize(
    ("event", "status", "method", "ical_status"),
    [
        ("confirmed", "confirmed", "REQUEST", "CONFIRMED"),
        ("pending", "pending", "REQUEST", "TENTATIVE"),
        ("approved", "confirmed", "REQUEST", "CONFIRMED"),
        ("updated", "confirmed", "REQUEST", "CONFIRMED"),
        ("declined", "declined", "CANCEL", "CANCELLED"),
        ("cancelled", "cancelled", "CANCEL", "CANCELLED"),
    ],
)
def test_each_member_event(app, make_user, scene, smtp_server, mail_to, event, status, method, ical_status):
    mail_to(smtp_server.port)
    member = make_user(email="anne@example.org", name="Anne", language="en")
    booking_id = add_booking(app, scene, member.id, status=status, sequence=1)
    assert len(queue(app, booking_id, event)) == 1
    with app.app_context():
        assert deliver_pending() == (1, 0)
    message = smtp_server.to("anne@example.org")
    _alternative, (_text, _html, ics), _attachment = parts(message)
    assert ics.get_param("method") == method
    lines = calendar_lines(ics)
    assert f"METHOD:{method}" in lines
    assert f"STATUS:{ical_status}" in lines
    assert "SEQUENCE:1" in lines


def test_cancel_by_a_manager_carries_the_reason(app, make_user, scene, smtp_server, mail_to):
    mail_to(smtp_server.port)
    member = make_user(email="anne@example.org", name="Anne", language="en")
    booking_id = add_booking(app, scene, member.id)
    with app.app_context():
        uid = db.session.get(Booking, booking_id).uid
    # What the cancel service does: status, who, why, and a higher sequence.
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        booking.status, booking.cancelled_by_id, booking.sequence = "cancelled", scene.manager_id, 3
        booking.reason = "Water damage in the hall"
        db.session.commit()
    queue(app, booking_id, "cancelled")
    with app.app_context():
        assert deliver_pending() == (1, 0)
    message = smtp_server.to("anne@example.org")
    assert message["Subject"].startswith("Booking cancelled: Zaal 1")
    _alternative, (text, html, ics), attachment = parts(message)
    assert "Water damage in the hall" in text.get_content()
    assert "Water damage in the hall" in html.get_content()
    lines = calendar_lines(ics)
    assert "METHOD:CANCEL" in lines
    assert f"UID:{uid}" in lines
    assert "SEQUENCE:3" in lines
    assert "STATUS:CANCELLED" in lines
    assert "METHOD:CANCEL" in calendar_lines(attachment)


def test_declined_shows_the_managers_message(app, make_user, scene, smtp_server, mail_to):
    mail_to(smtp_server.port)
    member = make_user(email="anne@example.org", name="Anne", language="en")
    booking_id = add_booking(app, scene, member.id, status="declined", sequence=1)
    queue(app, booking_id, "declined", "Sorry, we have a <b>wedding</b> then.")
    with app.app_context():
        deliver_pending()
    _alternative, (text, html, _ics), _attachment = parts(smtp_server.to("anne@example.org"))
    assert "Sorry, we have a <b>wedding</b> then." in text.get_content()
    assert "Sorry, we have a &lt;b&gt;wedding&lt;/b&gt; then." in html.get_content()


def test_html_part_escapes_user_input(app, make_user, scene, smtp_server, mail_to):
    mail_to(smtp_server.port)
    member = make_user(email="anne@example.org", name='Anne <img src=x onerror="alert(1)">', language="en")
    booking_id = add_booking(app, scene, member.id, title='<script>alert("x")</script> & co')
    queue(app, booking_id, "confirmed")
    with app.app_context():
        deliver_pending()
    _alternative, (text, html, ics), _attachment = parts(smtp_server.to("anne@example.org"))
    page = html.get_content()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page
    assert "<img" not in page
    assert '<script>alert("x")</script> & co' in text.get_content()  # plain text stays plain
    assert any(line.startswith("SUMMARY:") and "<script>" in line for line in calendar_lines(ics))


def test_line_breaks_in_names_cannot_add_headers(app, make_user, scene, smtp_server, mail_to):
    mail_to(smtp_server.port)
    with app.app_context():
        space = db.session.get(Space, scene.space_id)
        space.name = "Zaal 1\r\nBcc: evil@example.org"
        db.session.commit()
    member = make_user(email="anne@example.org", name="Anne\r\nBcc: evil@example.org", language="en")
    queue(app, add_booking(app, scene, member.id), "confirmed")
    with app.app_context():
        assert deliver_pending() == (1, 0)
    [received] = smtp_server.received
    assert received.recipients == ["anne@example.org"]
    assert received.message["Bcc"] is None
    assert received.message["Subject"].startswith("Booking confirmed: Zaal 1 Bcc: evil@example.org, ")
    assert received.message["To"].addresses[0].addr_spec == "anne@example.org"


def test_text_beyond_ascii_and_long_lines_survive_the_trip(app, make_user, scene, smtp_server, mail_to):
    """Headers in RFC 2047 words, folded; every line 7-bit and short; everything reads back as typed."""
    mail_to(smtp_server.port)
    long_name = "Zaal één — " + "Ångström, " * 10 + "=?utf-8?q?not_a_word?="
    with app.app_context():
        space = db.session.get(Space, scene.space_id)
        space.name = long_name[:120]
        db.session.commit()
    member = make_user(email="zoe@example.org", name='Zoë "Z" Ölçer, née Ünal' + " x" * 30, language="en")
    title = "Café-avond ☕ " + "lang " * 60
    queue(app, add_booking(app, scene, member.id, title=title[:200]), "confirmed")
    with app.app_context():
        assert deliver_pending() == (1, 0)
        [row] = db.session.scalars(sa.select(OutboxMessage)).all()
        raw = row.message  # as composed when sent, and kept
    assert raw.isascii()
    assert all(len(line) <= 78 for line in raw.split(b"\r\n")[:40] if not line.startswith(b"Message-ID"))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    message = smtp_server.to("zoe@example.org")
    # (Python's address parser keeps the folding space between two encoded words of a name, which
    # RFC 2047 says to drop; mail clients drop it.)
    assert " ".join(message["To"].addresses[0].display_name.split()) == member.name
    assert message["To"].addresses[0].addr_spec == "zoe@example.org"
    assert message["Subject"] == f"Booking confirmed: {long_name[:120]}, Mon, March 29 09:00"
    _alternative, (text, html, ics), attachment = parts(message)
    assert title[:200].strip() in text.get_content()
    assert "Café-avond ☕" in html.get_content()
    assert any(line.startswith("SUMMARY:") and "☕" in line for line in calendar_lines(ics))
    assert attachment.get_payload(decode=True) == ics.get_payload(decode=True)


def test_new_request_goes_to_every_manager_in_their_language(app, make_user, scene, smtp_server, mail_to):
    mail_to(smtp_server.port)
    second = make_user("manager", email="tom@pijler.example", name="Tom", language="en")
    with app.app_context():
        actor = db.session.get(User, scene.manager_id)
        venues.add_manager(actor, db.session.get(Venue, scene.venue_id), "tom@pijler.example")
        db.session.commit()
    member = make_user(email="anne@example.org", name="Anne", language="nl")
    booking_id = add_booking(app, scene, member.id, status="pending")

    assert len(queue(app, booking_id, "new_request")) == 2
    with app.app_context():
        assert deliver_pending() == (2, 0)

    assert sorted(r.recipients[0] for r in smtp_server.received) == ["beheer@pijler.example", second.email]
    dutch, english = smtp_server.to("beheer@pijler.example"), smtp_server.to("tom@pijler.example")
    assert dutch["Subject"] == "Aanvraag om goed te keuren: Zaal 1, ma 29 maart 09:00"
    assert english["Subject"] == "Request to approve: Zaal 1, Mon, March 29 09:00"
    for message in (dutch, english):
        _alternative, (text, html, ics), _attachment = parts(message)
        assert f"https://dichtbij.example/manage/bookings/{booking_id}" in text.get_content()
        assert f'href="https://dichtbij.example/manage/bookings/{booking_id}"' in html.get_content()
        assert "Anne" in text.get_content()
        assert ics.get_param("method") == "PUBLISH"
        assert "STATUS:TENTATIVE" in calendar_lines(ics)


def test_a_block_gets_no_member_mail(app, scene):
    booking_id = add_booking(app, scene, None, kind="block", whole=True, seats=12, title="Onderhoud")
    assert queue(app, booking_id, "cancelled") == []
    assert outbox(app) == []


def test_mail_is_part_of_the_bookings_transaction(app, make_user, scene):
    member = make_user(language="en")
    booking_id = add_booking(app, scene, member.id)
    with app.app_context():
        queue_booking_mail(db.session.get(Booking, booking_id), "confirmed")
        db.session.rollback()
    assert outbox(app) == []


def test_an_announcement_is_composed_when_it_is_sent_and_kept(app, make_user, scene, smtp_server, mail_to):
    """A new booking's mail is written uncomposed (composing is not done under the write lock);
    the first attempt composes it and stores it, and a retry after a failure sends the same bytes."""
    member = make_user(email="anne@example.org", language="en")
    queue(app, add_booking(app, scene, member.id), "confirmed")
    [row] = outbox(app)
    assert (row.message, row.subject, row.recipient_name, row.language) == (None, "", member.name, "en")
    mail_to(free_port())  # the first attempt fails: what it composed is kept
    t0 = now_utc()
    with app.app_context():
        assert deliver_pending(now=t0) == (0, 1)
    [row] = outbox(app)
    assert row.message is not None and row.subject.startswith("Booking confirmed: Zaal 1")
    assert row.attempts == 1 and row.sent_at is None
    composed = row.message
    mail_to(smtp_server.port)
    with app.app_context():
        assert deliver_pending(now=t0 + timedelta(minutes=2)) == (1, 0)
    [received] = smtp_server.received
    assert received.raw == composed  # the same message, Message-ID and all
    [row] = outbox(app)
    assert row.message == composed and row.sent_at is not None


def test_an_announcement_composed_again_keeps_its_message_id(app, make_user, scene):
    """A sender that dies after sending but before storing what it composed leaves the row to be
    composed again when its claim runs out: the Message-ID stays, so the receiver sees one mail."""
    [message_id] = queue(app, add_booking(app, scene, make_user(language="en").id), "confirmed")
    now = now_utc()
    ids = set()
    with app.app_context():
        for moment in (now, now + outbox_module.CLAIM + timedelta(seconds=1)):
            rows = outbox_module._claim_many([message_id], moment)
            mail = outbox_module._compose_announcements(rows)[message_id]
            ids.add(email.message_from_bytes(mail.message, policy=policy.default)["Message-ID"])
    [only] = ids
    assert only.startswith(f"<dichtbij.{message_id}.") and only.endswith("@dichtbij.local>")


def test_claiming_without_update_returning(app, make_user, scene, smtp_server, mail_to, monkeypatch):
    """SQLite before 3.35 has no UPDATE … RETURNING: the claim takes the rows one by one and
    reads them back, with everything composing needs."""
    mail_to(smtp_server.port)
    member = make_user(email="anne@example.org", language="en")
    queue(app, add_booking(app, scene, member.id), "confirmed")
    with app.app_context():
        monkeypatch.setattr(db.engine.dialect, "update_returning", False)
        assert deliver_pending() == (1, 0)
    assert smtp_server.to("anne@example.org")["Subject"].startswith("Booking confirmed: Zaal 1")


def test_a_change_is_composed_with_the_change(app, make_user, scene):
    """Mails about a change are composed in its transaction: they still go when the booking is
    deleted afterwards (a cancellation must reach the member's calendar)."""
    member = make_user(email="anne@example.org", language="en")
    booking_id = add_booking(app, scene, member.id, status="cancelled")
    queue(app, booking_id, "cancelled")
    [row] = outbox(app)
    assert row.message is not None and row.subject.startswith("Booking cancelled")


def test_an_announcement_of_what_no_longer_holds_is_not_sent(app, make_user, scene, smtp_server, mail_to):
    """A booking cancelled or deleted before its announcement went has nothing to announce: only
    the cancellation goes; a request approved before "request received" went sends neither that
    nor the managers' "to approve" (its approval mail says what happened)."""
    mail_to(smtp_server.port)
    anne = make_user(email="anne@example.org", language="en")
    bob = make_user(email="bob@example.org", language="en")
    cancelled = add_booking(app, scene, anne.id)
    queue(app, cancelled, "confirmed")
    deleted = add_booking(app, scene, bob.id)
    queue(app, deleted, "confirmed")
    next_day = {"start": START + timedelta(days=1), "end": END + timedelta(days=1)}
    approved = add_booking(app, scene, bob.id, status="pending", **next_day)
    queue(app, approved, "pending")
    queue(app, approved, "new_request")
    with app.app_context():
        booking = db.session.get(Booking, cancelled)
        booking.status = "cancelled"
        queue_booking_mail(booking, "cancelled")
        db.session.delete(db.session.get(Booking, deleted))
        db.session.get(Booking, approved).status = "confirmed"
        db.session.commit()
        assert deliver_pending() == (1, 0)
    [received] = smtp_server.received
    assert received.recipients == ["anne@example.org"]
    assert received.message["Subject"].startswith("Booking cancelled")
    assert [(row.event, row.sent_at is not None) for row in outbox(app)] == [("cancelled", True)]


def test_unknown_event_is_refused(app, make_user, scene):
    booking_id = add_booking(app, scene, make_user().id)
    with app.app_context(), pytest.raises(ValueError, match="unknown booking event"):
        queue_booking_mail(db.session.get(Booking, booking_id), "rescheduled")


def test_server_down_keeps_mail_queued_and_retries_with_back_off(app, make_user, scene, smtp_server, mail_to):
    member = make_user(email="anne@example.org", language="en")
    booking_id = add_booking(app, scene, member.id)
    [message_id] = queue(app, booking_id, "confirmed")
    mail_to(free_port())  # nobody listens there
    t0 = now_utc()

    with app.app_context():
        assert deliver_pending(now=t0) == (0, 1)
    [row] = outbox(app)
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.next_attempt_at == t0 + timedelta(minutes=1)
    assert "cannot reach 127.0.0.1" in row.last_error
    assert row.claimed_until is None

    mail_to(smtp_server.port)  # the server is back
    with app.app_context():
        assert deliver_pending(now=t0 + timedelta(seconds=30)) == (0, 0)  # not due yet
    assert smtp_server.received == []
    with app.app_context():
        assert deliver_pending(now=t0 + timedelta(seconds=61)) == (1, 0)
        assert deliver_pending(now=t0 + timedelta(hours=1)) == (0, 0)
    assert len(smtp_server.received) == 1
    [row] = outbox(app)
    assert (row.id, row.attempts, row.last_error) == (message_id, 1, "")
    assert row.sent_at is not None


def test_back_off_doubles_up_to_six_hours(app, make_user, scene, mail_to):
    member = make_user(language="en")
    queue(app, add_booking(app, scene, member.id), "confirmed")
    mail_to(free_port())
    moment = now_utc()
    delays = []
    for _ in range(11):
        with app.app_context():
            assert deliver_pending(now=moment) == (0, 1)
        [row] = outbox(app)
        delays.append(row.next_attempt_at - moment)
        moment = row.next_attempt_at
    assert [d.total_seconds() / 60 for d in delays] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]
    assert row.attempts == 11
    assert retry_delay(1000) == timedelta(hours=6)


def test_a_claimed_message_is_not_sent_twice(app, make_user, scene, smtp_server, mail_to):
    mail_to(smtp_server.port)
    [message_id] = queue(app, add_booking(app, scene, make_user(language="en").id), "confirmed")
    now = now_utc()
    with app.app_context():
        assert _claim(message_id, now) is not None  # another sender took it
        assert _claim(message_id, now) is None
        assert deliver_pending(now=now) == (0, 0)
        assert deliver([message_id], now=now) == (0, 0)
    assert smtp_server.received == []
    with app.app_context():  # that sender died: its claim runs out and the message goes
        assert deliver_pending(now=now + timedelta(minutes=11)) == (1, 0)
    assert len(smtp_server.received) == 1


def test_a_batch_sends_what_nobody_else_holds_and_settles_each(app, make_user, scene, smtp_server, mail_to):
    mail_to(smtp_server.port)
    ids = [
        queue(app, add_booking(app, scene, make_user(email=f"m{n}@example.org", language="en").id), "confirmed")[0]
        for n in range(3)
    ]
    now = now_utc()
    with app.app_context():
        assert _claim(ids[1], now) is not None  # another sender is sending this one
        assert deliver(ids, now=now) == (2, 0)
        assert deliver(ids, now=now) == (0, 0)  # nothing twice
    assert sorted(r.recipients[0] for r in smtp_server.received) == ["m0@example.org", "m2@example.org"]
    rows = outbox(app)
    assert [(r.sent_at is not None, r.claimed_until is None) for r in rows] == [
        (True, True),
        (False, False),
        (True, True),
    ]

    mail_to(free_port())  # down: every message of the batch is rescheduled on its own
    queue(app, add_booking(app, scene, make_user(email="m3@example.org", language="en").id), "confirmed")
    queue(app, add_booking(app, scene, make_user(email="m4@example.org", language="en").id), "confirmed")
    later = now_utc()
    with app.app_context():
        assert deliver_pending(now=later) == (0, 2)
    failed = [r for r in outbox(app) if r.attempts]
    assert [(r.recipient, r.attempts, r.claimed_until) for r in failed] == [
        ("m3@example.org", 1, None),
        ("m4@example.org", 1, None),
    ]
    assert all(r.next_attempt_at == later + timedelta(minutes=1) for r in failed)


def test_a_sender_whose_claim_ran_out_leaves_the_new_holder_alone(app, make_user, scene, smtp_server, mail_to):
    """Settling touches only rows this sender still holds: when its claim ran out and another
    sender took the row, what the other one records stands."""
    mail_to(smtp_server.port)
    [message_id] = queue(app, add_booking(app, scene, make_user(language="en").id), "confirmed")
    now = now_utc()
    with app.app_context():
        assert _claim(message_id, now) is not None  # the first sender, which stalls
        later = now + timedelta(minutes=11)
        assert _claim(message_id, later) is not None  # its claim ran out; a second sender took it
        outbox_module._settle_many([{"m_id": message_id, "held": now + outbox_module.CLAIM, "sent_at": now}], [])
    [row] = outbox(app)
    assert row.sent_at is None and row.claimed_until == later + outbox_module.CLAIM


def test_a_slow_mail_server_gives_the_rest_of_the_batch_back(app, make_user, scene, monkeypatch):
    """A batch that takes longer than half its claim stops and releases what it has not sent,
    so no claim runs out while its sender might still send it."""
    import time as time_module

    ids = [
        queue(app, add_booking(app, scene, make_user(email=f"s{n}@example.org", language="en").id), "confirmed")[0]
        for n in range(3)
    ]
    sent: list[str] = []

    class Slow:
        def send(self, sender, recipient, message, name):
            time_module.sleep(0.3)
            sent.append(recipient)

        def close(self):
            pass

    monkeypatch.setattr(outbox_module, "transport_from_config", lambda *a, **k: Slow())
    monkeypatch.setattr(outbox_module, "CLAIM", timedelta(seconds=0.4))
    with app.app_context():
        assert deliver(ids) == (1, 0)
    rows = outbox(app)
    assert sent == ["s0@example.org"]
    assert [(r.sent_at is not None, r.claimed_until is None, r.attempts) for r in rows] == [
        (True, True, 0),
        (False, True, 0),  # given back, not counted as a failed attempt: due again at once
        (False, True, 0),
    ]


def test_settling_is_tried_again_when_the_database_is_busy(app, make_user, scene, smtp_server, mail_to, monkeypatch):
    """The mail is out: a failed bookkeeping transaction must not leave the claim to run out
    (which would send it again)."""
    from sqlalchemy.exc import OperationalError

    mail_to(smtp_server.port)
    [message_id] = queue(app, add_booking(app, scene, make_user(language="en").id), "confirmed")
    begin = outbox_module._begin_write
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 2:  # the first is the claim, the second the settling
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        begin()

    monkeypatch.setattr(outbox_module, "_begin_write", flaky)
    monkeypatch.setattr(outbox_module.time, "sleep", lambda seconds: None)
    with app.app_context():
        assert deliver([message_id]) == (1, 0)
    [row] = outbox(app)
    assert row.sent_at is not None and row.claimed_until is None and len(calls) == 3
    assert len(smtp_server.received) == 1


def test_an_address_plain_smtp_cannot_carry_gets_no_mail_and_the_booking_stands(app, make_user, scene):
    """An address stored before addresses were normalised (a non-ASCII mailbox) is skipped with
    a warning instead of failing the booking's transaction."""
    member = make_user(language="en")
    with app.app_context():
        db.session.get(User, member.id).email = "jürgen@example.org"
        db.session.commit()
    booking_id = add_booking(app, scene, member.id)
    assert queue(app, booking_id, "confirmed") == []
    assert queue(app, booking_id, "new_request")  # the managers still hear of it


def test_without_a_mail_server_messages_become_files(app, make_user, scene, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    member = make_user(email="anne@example.org", language="en")
    queue(app, add_booking(app, scene, member.id), "confirmed")
    with app.app_context():
        assert deliver_pending() == (1, 0)
    [path] = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "anne@example.org"
    assert message["Subject"].startswith("Booking confirmed: Zaal 1")
    parts(message)
    assert list((tmp_path / "outbox").glob("*.part")) == []
    [row] = outbox(app)
    assert row.sent_at is not None


def test_cli_mail_send(app, make_user, scene, smtp_server, mail_to):
    mail_to(smtp_server.port)
    for n in range(3):
        member = make_user(email=f"member{n}@example.org", language="en")
        queue(app, add_booking(app, scene, member.id), "confirmed")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "send", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "Sent 2, failed 0; 1 queued." in result.output
    result = runner.invoke(args=["mail", "send"])
    assert "Sent 1, failed 0; 0 queued." in result.output
    assert sorted(r.recipients[0] for r in smtp_server.received) == [f"member{n}@example.org" for n in range(3)]


# -- delivery right after the commit, on an app of its own (threads need their own connection) ----


@pytest.fixture
def own_app(database_kind, tmp_path):
    def build(**config):
        url = empty_database(database_kind, "dichtbij_mail", tmp_path)
        built = create_app(
            TestingConfig,
            SQLALCHEMY_DATABASE_URI=url,
            MAIL_DELIVER_AFTER_COMMIT=True,
            MAIL_SERVER="127.0.0.1",
            **config,
        )
        built.instance_path = str(tmp_path / "instance")
        migrate(built)
        apps.append(built)
        return built

    apps = []
    yield build
    for built in apps:
        built.extensions["dichtbij.outbox"].join(30)
        with built.app_context():
            db.engine.dispose()


def prepare(own) -> int:
    from app.accounts.services import register_user

    with own.app_context():
        manager = register_user("beheer@pijler.example", "long enough pw", "Marja", "nl", "manager")
        member = register_user("anne@example.org", "long enough pw", "Anne", "en")
        db.session.commit()
        manager_id, member_id = manager.id, member.id
    venue_id = make_venue(own, manager_id)
    space_id = make_space(own, manager_id, venue_id)
    return add_booking(own, Scene(manager_id, venue_id, space_id), member_id)


def test_after_commit_delivery_sends_in_the_background(own_app, smtp_server):
    own = own_app(MAIL_PORT=smtp_server.port)
    booking_id = prepare(own)
    with own.test_request_context("/bookings", method="POST"):
        queue_booking_mail(db.session.get(Booking, booking_id), "confirmed")
        db.session.commit()
        assert smtp_server.received == []  # nothing is sent inside the request
    own.extensions["dichtbij.outbox"].join(30)
    assert [r.recipients for r in smtp_server.received] == [["anne@example.org"]]
    [row] = outbox(own)
    assert row.sent_at is not None


def test_one_sender_takes_several_commits_as_one_batch(own_app, smtp_server, monkeypatch):
    from app.notifications import outbox as outbox_module

    own = own_app(MAIL_PORT=smtp_server.port)
    booking_id = prepare(own)
    sender = own.extensions["dichtbij.outbox"]
    monkeypatch.setattr(sender, "LINGER", 5.0)  # time enough for three commits to join
    monkeypatch.setattr(outbox_module, "BATCH", 3)  # and no need to wait longer once they have
    batches = []
    real_deliver = outbox_module.deliver

    def counting(ids, **kwargs):
        batches.append(list(ids))
        return real_deliver(ids, **kwargs)

    monkeypatch.setattr(outbox_module, "deliver", counting)
    for _ in range(3):
        with own.test_request_context("/bookings", method="POST"):
            queue_booking_mail(db.session.get(Booking, booking_id), "confirmed")
            db.session.commit()
    assert sender.join(30)
    assert [len(batch) for batch in batches] == [3]
    assert len(smtp_server.received) == 3
    assert all(row.sent_at is not None for row in outbox(own))


def test_after_commit_delivery_with_the_server_down(own_app):
    own = own_app(MAIL_PORT=free_port())
    booking_id = prepare(own)
    with own.test_request_context("/bookings", method="POST"):
        queue_booking_mail(db.session.get(Booking, booking_id), "confirmed")
        db.session.commit()
    own.extensions["dichtbij.outbox"].join(30)
    [row] = outbox(own)
    assert (row.sent_at, row.attempts) == (None, 1)
    assert row.next_attempt_at > now_utc()


def test_a_rolled_back_request_delivers_nothing(own_app, smtp_server):
    own = own_app(MAIL_PORT=smtp_server.port)
    booking_id = prepare(own)
    with own.test_request_context("/bookings", method="POST"):
        queue_booking_mail(db.session.get(Booking, booking_id), "confirmed")
        db.session.rollback()
        db.session.commit()
    own.extensions["dichtbij.outbox"].join(30)
    assert smtp_server.received == []
    assert outbox(own) == []


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "Booking confirmed: Zaal 1, maandag 29 maart 09:00",
        "two  spaces, a\ttab and a trailing space ",
        " a leading space",
        "x" * 68,  # "Subject: " + 69 characters is the widest line left as it is
        "x" * 69,
        "x" * 70,
        "word " * 20,
        "looks like =?utf-8?q?an_encoded_word?=",
        "Aanvraag ontvangen: Zaal één, maandag 29 maart 09:00",
    ],
)
def test_subject_header_is_what_the_email_package_writes(subject):
    from email.header import Header

    from app.notifications.mime import CRLF, HEADER_WIDTH, header_text

    charset = "us-ascii" if subject.isascii() and "=?" not in subject else "utf-8"
    expected = Header(subject, charset, maxlinelen=HEADER_WIDTH, header_name="Subject").encode(linesep=CRLF)
    assert header_text("Subject", subject) == expected
