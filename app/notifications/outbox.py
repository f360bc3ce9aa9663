"""The outbox: booking mails written in the booking's transaction, delivered after the commit.

Writing the mail into the same transaction as the booking means a booking never exists without
its mail, and a rolled-back booking sends none. Delivery happens outside any booking transaction:
right after the commit in a background thread (short SMTP timeout, so a slow server never delays
a response), and from `flask mail send` on a timer for everything that failed. A failure only
schedules a retry, with exponential back-off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.bookings.models import Booking
from app.db import now_utc
from app.extensions import db
from app.notifications.compose import METHODS, compose_booking_mail
from app.notifications.models import OutboxMessage
from app.notifications.smtp import DeliveryError, describe, envelope_sender, transport_from_config

log = logging.getLogger(__name__)

EVENTS = tuple(METHODS)
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=6)
# How long a sender may hold a message before another may take it over (a sender that died).
CLAIM = timedelta(minutes=10)
AFTER_COMMIT_TIMEOUT = 5.0  # seconds: the background try gives up quickly; the timer retries
EXTENSION = "dichtbij.outbox"
_NEW_IDS = "dichtbij.outbox.new_ids"  # session.info: outbox rows flushed in this transaction
_COMMITTED_IDS = "_dichtbij_outbox_committed"  # g: outbox rows committed in this app context


# -- queueing ------------------------------------------------------------------------------------


def recipients(booking: Booking, event: str) -> list[User]:
    """Who hears of `event`: the member, or every (active) manager of the venue for a request."""
    if event == "new_request":
        return [manager for manager in booking.space.venue.managers if manager.active]
    if booking.kind == "block" or booking.member is None:
        return []
    return [booking.member]


def queue_booking_mail(booking: Booking, event: str, message: str = "") -> list[OutboxMessage]:
    """Write the mails for a booking event into the outbox, in the current session (flush only,
    never commit). event is one of:
      "confirmed"  -> to the member: booking confirmed, invite METHOD:REQUEST
      "pending"    -> to the member: request received, awaiting approval (invite METHOD:REQUEST
                      with STATUS:TENTATIVE)
      "new_request"-> to every manager of the venue (each in their own language): a request to
                      approve, with a link (invite METHOD:PUBLISH, for information)
      "approved"   -> to the member: METHOD:REQUEST, STATUS:CONFIRMED
      "declined"   -> to the member: METHOD:CANCEL, with the manager's message
      "cancelled"  -> to the member: METHOD:CANCEL, with the reason when a manager cancelled
      "updated"    -> to the member: METHOD:REQUEST with the new times
    A block (booking.kind == "block", booking.member is None) gets no member mail.
    `message` is the manager's optional message/reason, shown in the mail.
    """
    if event not in METHODS:
        raise ValueError(f"unknown booking event {event!r}; expected one of {', '.join(EVENTS)}")
    if booking.id is None:
        db.session.flush()  # the mail links to the booking
    now = now_utc()
    queued: list[OutboxMessage] = []
    seen: set[str] = set()
    for user in recipients(booking, event):
        if user.email in seen:
            continue
        seen.add(user.email)
        mail = compose_booking_mail(booking, event, user, message)
        row = OutboxMessage(
            booking_id=booking.id,
            event=event,
            recipient=mail.recipient,
            subject=mail.subject,
            message=mail.message,
            created_at=now,
            next_attempt_at=now,
        )
        db.session.add(row)
        queued.append(row)
    if queued:
        db.session.flush()
    return queued


# -- delivery ------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """1 minute after the first failure, then 2, 4, 8 ... never more than 6 hours."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), LAST_RETRY)


def _due(now: datetime):
    return sa.and_(
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def _begin_write() -> None:
    """Start a write transaction. On SQLite take the write lock first (BEGIN IMMEDIATE): a
    transaction that read before writing fails at once when another writer got in between."""
    db.session.commit()
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def _update(message_id: int, *conditions, **values):
    return db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _claim(message_id: int, now: datetime) -> sa.Row | None:
    """Take one message for sending, in its own short transaction: None if it is not due or
    another sender holds it. Returns what sending needs, so nothing is read afterwards."""
    _begin_write()
    if _update(message_id, _due(now), claimed_until=now + CLAIM).rowcount != 1:
        db.session.commit()
        return None
    claimed = db.session.execute(
        sa.select(
            OutboxMessage.id,
            OutboxMessage.recipient,
            OutboxMessage.message,
            OutboxMessage.created_at,
            OutboxMessage.attempts,
        ).where(OutboxMessage.id == message_id)
    ).one()
    db.session.commit()
    return claimed


def _settle(message_id: int, **values) -> None:
    _begin_write()
    _update(message_id, claimed_until=None, **values)
    db.session.commit()


def deliver_pending(limit: int = 100, now: datetime | None = None) -> tuple[int, int]:
    """Send what is due (next_attempt_at <= now), oldest first; on failure bump attempts and set
    next_attempt_at with exponential back-off (1 min, 2, 4 ... capped at 6 h), keep last_error.
    Commit per message. Returns (sent, failed). Safe to run from several processes at once: each
    message is claimed (an UPDATE that only succeeds while nobody holds it) before it is sent.
    """
    moment = now or now_utc()
    ids = list(
        db.session.scalars(
            sa.select(OutboxMessage.id)
            .where(_due(moment))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
        )
    )
    db.session.commit()  # hold no transaction while talking to the mail server
    return deliver(ids, now=now)


def deliver(ids: Iterable[int], *, now: datetime | None = None, timeout: float | None = None) -> tuple[int, int]:
    """Send these outbox messages if they are due and nobody else is sending them.

    No transaction is open while the mail server is talked to; each message is claimed, sent,
    and settled (sent, or rescheduled) in short write transactions of its own.
    """
    ids = list(ids)
    if not ids:
        return 0, 0
    app = current_app._get_current_object()
    transport = transport_from_config(app.config, app.instance_path, timeout=timeout)
    sender = envelope_sender(app.config)
    sent = failed = 0
    try:
        for message_id in ids:
            moment = now or now_utc()
            claimed = _claim(message_id, moment)
            if claimed is None:
                continue
            name = f"{claimed.created_at:%Y%m%dT%H%M%SZ}-{claimed.id}"
            try:
                transport.send(sender, claimed.recipient, claimed.message, name)
            except Exception as exc:
                if isinstance(exc, DeliveryError):
                    error = str(exc)
                else:
                    log.exception("unexpected error sending mail %s", message_id)
                    error = describe(exc)
                attempts = claimed.attempts + 1
                next_attempt_at = moment + retry_delay(attempts)
                _settle(message_id, attempts=attempts, next_attempt_at=next_attempt_at, last_error=error[:500])
                failed += 1
                log.warning(
                    "mail %s to %s not sent (attempt %s, next at %s): %s",
                    message_id,
                    claimed.recipient,
                    attempts,
                    next_attempt_at.isoformat(),
                    error,
                )
            else:
                _settle(message_id, sent_at=now_utc(), last_error="")
                sent += 1
    finally:
        transport.close()
    return sent, failed


def queued_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.sent_at.is_(None))) or 0


# -- delivery right after the commit ---------------------------------------------------------------


class AfterCommitDelivery:
    """Starts one background delivery per app context (request, CLI command) that committed mail."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        # Off under TESTING by default: tests share one connection that a thread must not use.
        return bool(self.app.config.get("MAIL_DELIVER_AFTER_COMMIT", not self.app.testing))

    def start(self, ids: list[int]) -> threading.Thread:
        # Not a daemon: a CLI command or a stopping worker finishes the sending it started
        # (bounded by the short timeout) rather than being cut off between send and bookkeeping.
        thread = threading.Thread(target=self._run, args=(ids,), name="outbox-delivery", daemon=False)
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)
        thread.start()
        return thread

    def _run(self, ids: list[int]) -> None:
        timeout = float(self.app.config.get("MAIL_TIMEOUT_AFTER_COMMIT", AFTER_COMMIT_TIMEOUT))
        try:
            with self.app.app_context():
                deliver(ids, timeout=timeout)
        except Exception:  # the timer will try again; a booking never fails because of mail
            log.exception("delivering mail after commit failed; it stays queued")

    def join(self, timeout: float | None = None) -> None:
        """Wait for running deliveries (tests, a graceful shutdown)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)


def _remember_new_messages(session: Session, _flush_context) -> None:
    ids = [obj.id for obj in session.new if isinstance(obj, OutboxMessage)]
    if ids:
        session.info.setdefault(_NEW_IDS, []).extend(ids)


def _note_committed(session: Session) -> None:
    ids = session.info.pop(_NEW_IDS, None)
    if not ids or not has_app_context():
        return
    delivery = current_app.extensions.get(EXTENSION)
    if delivery is not None and delivery.enabled:
        g.setdefault(_COMMITTED_IDS, []).extend(ids)


def _forget_rolled_back(session: Session, _previous_transaction) -> None:
    if not session.in_transaction():  # the whole transaction is gone, its mails with it
        session.info.pop(_NEW_IDS, None)


def _deliver_committed(_exc: BaseException | None) -> None:
    ids = g.pop(_COMMITTED_IDS, None)
    delivery = current_app.extensions.get(EXTENSION)
    if ids and delivery is not None:
        delivery.start(ids)


def after_commit_delivery(app: Flask) -> None:
    """Hook to register once in create_app: after a request (or CLI command) whose transaction
    committed outbox rows, try to deliver them in a background thread (short SMTP timeout), so a
    slow or dead mail server never delays the response. Failures stay queued.

    Off by default when TESTING; MAIL_DELIVER_AFTER_COMMIT turns it on or off explicitly.
    """
    app.extensions[EXTENSION] = AfterCommitDelivery(app)
    for name, listener in (
        ("after_flush", _remember_new_messages),
        ("after_commit", _note_committed),
        ("after_soft_rollback", _forget_rolled_back),
    ):
        if not sa_event.contains(Session, name, listener):
            sa_event.listen(Session, name, listener)
    app.teardown_appcontext(_deliver_committed)
