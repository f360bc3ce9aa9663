"""The outbox: booking mails written in the booking's transaction, delivered after the commit.

Writing the mail into the same transaction as the booking means a booking never exists without
its mail, and a rolled-back booking sends none. A mail that announces a new booking (`ANNOUNCEMENTS`)
is composed by its first delivery attempt, outside the booking's write transaction: composing was
most of a booking's time under the write lock, where on SQLite every other booking waits. When the
booking is gone or no longer in the state announced by then (cancelled, or approved or declined
before "request received" went), the mail is dropped: what replaced it follows. A mail about a
change is composed with the change, so it still goes out when the booking is deleted afterwards.
Once composed, a message is stored with the attempt's outcome and sent as stored from then on;
a sender that dies before storing it leaves it to be composed again, with the same Message-ID.
Delivery happens outside any booking transaction:
right after the commit by the process's one sender thread (short SMTP timeout, so a slow server
never delays a response; what is committed while it sends goes in its next batch), and from
`flask mail send` on a timer for everything that failed. A failure only schedules a retry, with
exponential back-off.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, joinedload

from app.accounts.models import User
from app.bookings.models import Booking
from app.bookings.transaction import begin_reading, writer_turn
from app.database import dialect_name
from app.db import now_utc
from app.extensions import db
from app.notifications.compose import METHODS, Mail, Recipient, compose_booking_mail
from app.notifications.models import OutboxMessage
from app.notifications.smtp import DeliveryError, describe, envelope_sender, transport_from_config
from app.venues.models import Space

log = logging.getLogger(__name__)

EVENTS = tuple(METHODS)
# Composed by their first delivery attempt (see above), and only while the booking is still in
# the state they announce.
ANNOUNCEMENTS = frozenset({"confirmed", "pending", "new_request"})
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=6)
# How long a sender may hold a message before another may take it over (a sender that died).
CLAIM = timedelta(minutes=10)
BATCH = 50  # messages claimed, sent and settled together
AFTER_COMMIT_TIMEOUT = 5.0  # seconds: the background try gives up quickly; the timer retries
EXTENSION = "dichtbij.outbox"
_NEW_IDS = "dichtbij.outbox.new_ids"  # session.info: outbox rows inserted in this transaction
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
    """Write the mails for a booking event into the outbox, in the current session's transaction:
    inserted at once, never committed here. The rows come back as transient objects carrying
    their ids (they are not in the session). event is one of:
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
    `message` is the manager's optional message/reason, shown in the mail. The first three
    (`ANNOUNCEMENTS`) are composed when they are first sent; the others now.
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
        if not user.email.isascii():  # an address from before they were normalised: plain SMTP cannot carry it
            log.warning("no %s mail for booking %s: %r is not an ASCII address", event, booking.id, user.email)
            continue
        values = {
            "booking_id": booking.id,
            "event": event,
            "recipient": user.email,
            "recipient_name": user.name,
            "language": user.language,
            "note": message,
            "subject": "",
            "message": None,
            "created_at": now,
            "next_attempt_at": now,
            "attempts": 0,
            "last_error": "",
        }
        if event not in ANNOUNCEMENTS:
            mail = compose_booking_mail(booking, event, user, message)
            values.update(subject=mail.subject, message=mail.message)
        queued.append(OutboxMessage(id=_insert(values), **values))
    return queued


_INSERT = sa.insert(OutboxMessage.__table__)  # Core: no ORM bulk machinery


def _insert(values: dict) -> int:
    """Insert one outbox row now, in the session's transaction, and note it for delivery after the
    commit. A plain INSERT: the unit of work's flush at commit cost a booking ~0.3 ms more, inside
    the write lock."""
    session = db.session()
    message_id = session.execute(_INSERT, values).inserted_primary_key[0]
    session.info.setdefault(_NEW_IDS, []).append(message_id)
    return message_id


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
    """Start a write transaction (inside `writer_turn`). On SQLite take the write lock first
    (BEGIN IMMEDIATE): a transaction that read before writing fails at once when another writer
    got in between."""
    db.session.commit()
    if dialect_name() == "sqlite":
        db.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


_CLAIMED = (
    OutboxMessage.id,
    OutboxMessage.recipient,
    OutboxMessage.message,
    OutboxMessage.created_at,
    OutboxMessage.attempts,
    # what composing an announcement needs
    OutboxMessage.booking_id,
    OutboxMessage.event,
    OutboxMessage.recipient_name,
    OutboxMessage.language,
    OutboxMessage.note,
)


def _claim_many(ids: list[int], now: datetime) -> list[sa.Row]:
    """Take these messages for sending, in one short write transaction: those that are due and
    that no other sender holds. Returns what sending needs (in the order of `ids`), so nothing
    is read afterwards.

    The claim is one UPDATE … WHERE due: on SQLite under the write lock, on PostgreSQL under the
    rows' locks (a second sender's UPDATE waits, then finds the rows no longer due), so two
    senders never both get a message.
    """
    with writer_turn():
        _begin_write()
        claim = (
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), _due(now))
            .values(claimed_until=now + CLAIM)
            .execution_options(synchronize_session=False)
        )
        if db.session.get_bind().dialect.update_returning:
            rows = db.session.execute(claim.returning(*_CLAIMED)).all()
        else:  # SQLite before 3.35: one row at a time, still in this one transaction
            taken = [
                message_id
                for message_id in ids
                if db.session.execute(claim.where(OutboxMessage.id == message_id)).rowcount == 1
            ]
            rows = db.session.execute(sa.select(*_CLAIMED).where(OutboxMessage.id.in_(taken))).all() if taken else []
        db.session.commit()
    order = {message_id: n for n, message_id in enumerate(ids)}
    return sorted(rows, key=lambda row: order[row.id])


def _claim(message_id: int, now: datetime) -> sa.Row | None:
    """Take one message for sending: None if it is not due or another sender holds it."""
    rows = _claim_many([message_id], now)
    return rows[0] if rows else None


_TABLE = OutboxMessage.__table__
# Each only touches a row this sender still holds (`held`: the claimed_until it set), so a sender
# whose claim ran out never overwrites what the sender that took the row over recorded.
_HELD = sa.and_(_TABLE.c.id == sa.bindparam("m_id"), _TABLE.c.claimed_until == sa.bindparam("held"))
# A message composed by this sender is stored with the outcome (None: keep the stored one).
_COMPOSED = {
    "subject": sa.func.coalesce(sa.bindparam("subject", type_=sa.String), _TABLE.c.subject),
    "message": sa.func.coalesce(sa.bindparam("message", type_=sa.LargeBinary), _TABLE.c.message),
}
_SETTLE_SENT = (
    sa.update(_TABLE)
    .where(_HELD)
    .values(claimed_until=None, sent_at=sa.bindparam("sent_at"), last_error="", **_COMPOSED)
)
_SETTLE_FAILED = (
    sa.update(_TABLE)
    .where(_HELD)
    .values(
        claimed_until=None,
        attempts=sa.bindparam("attempts"),
        next_attempt_at=sa.bindparam("next_attempt_at"),
        last_error=sa.bindparam("last_error"),
        **_COMPOSED,
    )
)
_RELEASE = sa.update(_TABLE).where(_HELD).values(claimed_until=None)
_DROP = sa.delete(_TABLE).where(_HELD)  # an announcement with nothing left to announce
SETTLE_ATTEMPTS = 5


def _settle_many(sent: list[dict], failed: list[dict], released: list[dict] = (), dropped: list[dict] = ()) -> None:
    """Record what became of claimed messages (sent, rescheduled, given back unsent, or dropped),
    in one write transaction. Tried again on failure: the mails are out, and a claim left
    standing would send them again when it runs out."""
    if not (sent or failed or released or dropped):
        return
    kept = {"subject": None, "message": None}  # what the row holds, unless this sender composed it
    sent, failed = [{**kept, **row} for row in sent], [{**kept, **row} for row in failed]
    for attempt in range(SETTLE_ATTEMPTS):
        try:
            with writer_turn():
                _begin_write()
                settled = ((_SETTLE_SENT, sent), (_SETTLE_FAILED, failed), (_RELEASE, released), (_DROP, dropped))
                for statement, rows in settled:
                    if rows:
                        db.session.execute(statement, list(rows))
                db.session.commit()
            return
        except Exception:
            db.session.rollback()
            if attempt == SETTLE_ATTEMPTS - 1:
                raise
            log.warning("recording sent mail failed (attempt %s); trying again", attempt + 1, exc_info=True)
            time.sleep(0.5 * (attempt + 1))


def deliver_pending(limit: int = 100, now: datetime | None = None) -> tuple[int, int]:
    """Send what is due (next_attempt_at <= now), oldest first; on failure bump attempts and set
    next_attempt_at with exponential back-off (1 min, 2, 4 ... capped at 6 h), keep last_error.
    Returns (sent, failed). Safe to run from several processes at once: each message is claimed
    (an UPDATE that only succeeds while nobody holds it) before it is sent.
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

    No transaction is open while the mail server is talked to. Messages go in batches of at most
    BATCH: the batch is claimed in one short write transaction, sent, and settled (each message
    sent, or rescheduled with back-off) in one more; two write transactions per batch, not per
    message. The settling is retried (the mails are out), and a batch that takes longer than half
    of CLAIM gives its unsent rest back, so no claim runs out while its sender still works: only a
    sender that dies between sending and settling leaves its batch claimed for CLAIM, after which
    that batch is sent again.
    """
    ids = list(dict.fromkeys(ids))
    if not ids:
        return 0, 0
    app = current_app._get_current_object()
    transport = transport_from_config(app.config, app.instance_path, timeout=timeout)
    sender = envelope_sender(app.config)
    sent = failed = 0
    try:
        for first in range(0, len(ids), BATCH):
            moment = now or now_utc()
            held = moment + CLAIM
            done, broken, released, dropped = [], [], [], []
            started = time.monotonic()
            claimed_rows = _claim_many(ids[first : first + BATCH], moment)
            composed = _compose_announcements([row for row in claimed_rows if row.message is None])
            for claimed in claimed_rows:
                if time.monotonic() - started > CLAIM.total_seconds() / 2:
                    # A slow mail server: give the rest back before the claim runs out and
                    # another sender takes them while this one still might send them.
                    released.append({"m_id": claimed.id, "held": held})
                    continue
                message, error = claimed.message, None
                stored = {}  # what this sender composed, kept with the outcome
                if message is None:
                    mail = composed.get(claimed.id)
                    if mail is None:  # the booking is gone or no longer as announced
                        dropped.append({"m_id": claimed.id, "held": held})
                        continue
                    if isinstance(mail, Exception):
                        error = describe(mail)
                    else:
                        message, stored = mail.message, {"subject": mail.subject, "message": mail.message}
                if error is None:
                    name = f"{claimed.created_at:%Y%m%dT%H%M%SZ}-{claimed.id}"
                    try:
                        transport.send(sender, claimed.recipient, message, name)
                    except DeliveryError as exc:
                        error = str(exc)
                    except Exception as exc:
                        log.exception("unexpected error sending mail %s", claimed.id)
                        error = describe(exc)
                if error is None:
                    done.append({"m_id": claimed.id, "held": held, "sent_at": now_utc(), **stored})
                    sent += 1
                    continue
                attempts = claimed.attempts + 1
                next_attempt_at = moment + retry_delay(attempts)
                broken.append(
                    {
                        "m_id": claimed.id,
                        "held": held,
                        "attempts": attempts,
                        "next_attempt_at": next_attempt_at,
                        "last_error": error[:500],
                        **stored,
                    }
                )
                failed += 1
                log.warning(
                    "mail %s to %s not sent (attempt %s, next at %s): %s",
                    claimed.id,
                    claimed.recipient,
                    attempts,
                    next_attempt_at.isoformat(),
                    error,
                )
            _settle_many(done, broken, released, dropped)
    finally:
        transport.close()
    return sent, failed


def _compose_announcements(rows: list[sa.Row]) -> dict[int, Mail | Exception | None]:
    """Compose the claimed announcements from their bookings as they are now: a Mail each, None
    when the booking is gone or no longer as announced (`_still_news`), the exception when
    composing failed (the row is retried with back-off, like a refused delivery). The bookings
    are read in one statement, in a reading transaction (on SQLite it takes no write lock), which
    ends before anything is sent."""
    if not rows:
        return {}
    found: dict[int, Mail | Exception | None] = {}
    begin_reading()
    try:
        booking_ids = {row.booking_id for row in rows if row.booking_id is not None}
        bookings = {
            booking.id: booking
            for booking in db.session.scalars(
                sa.select(Booking)
                .where(Booking.id.in_(booking_ids))
                .options(joinedload(Booking.space).joinedload(Space.venue), joinedload(Booking.member))
            )
        }
        for row in rows:
            booking = bookings.get(row.booking_id)
            if booking is None or not _still_news(booking, row.event):
                found[row.id] = None
                continue
            try:
                recipient = Recipient(row.recipient_name, row.recipient, row.language)
                key = f"dichtbij.{row.id}.{row.created_at:%Y%m%d%H%M%S}"
                found[row.id] = compose_booking_mail(booking, row.event, recipient, row.note, key=key)
            except Exception as exc:  # a bug: the others still go, this one is retried
                log.exception("composing mail %s failed", row.id)
                found[row.id] = exc
    finally:
        db.session.rollback()  # nothing was written: end the reading transaction
    return found


def _still_news(booking: Booking, event: str) -> bool:
    """Whether the booking is still as the announcement says: confirmed for "confirmed", waiting
    for "pending" and for the managers' "new_request" (an approval or a decline has its own mail)."""
    return booking.status == ("confirmed" if event == "confirmed" else "pending")


def queued_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.sent_at.is_(None))) or 0


# -- delivery right after the commit ---------------------------------------------------------------


class AfterCommitDelivery:
    """One sender thread per process, fed with the outbox rows that requests (and CLI commands)
    committed.

    A batch is what was committed within LINGER of its first mail, or while the one before was
    being sent: under load two write transactions (claim, settle) serve many bookings, and no
    thread is started per request. The thread ends after IDLE seconds without work and is started again by
    the next commit, so a CLI command or a stopping worker waits at most that long for it. It is
    not a daemon: a stopping process finishes the batch it is sending (bounded by the short SMTP
    timeout) rather than being cut off between sending and bookkeeping. Whatever it cannot send
    stays queued for `flask mail send`.
    """

    IDLE = 1.0  # seconds without work before the thread ends
    LINGER = 0.1  # seconds a batch waits for more mail after the first (a mail is not urgent)

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._pending: list[int] = []
        self._busy = False
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        # Off under TESTING by default: tests share one connection that a thread must not use.
        return bool(self.app.config.get("MAIL_DELIVER_AFTER_COMMIT", not self.app.testing))

    def start(self, ids: list[int]) -> None:
        """Queue committed outbox rows for the sender, starting it when it is not running."""
        if self._pid != os.getpid():  # a forked worker: the parent's thread and lock are not ours
            self._reset()
        with self._cond:
            self._pending.extend(ids)
            if self._thread is None:
                thread = threading.Thread(target=self._guarded_run, name="outbox-sender", daemon=False)
                try:
                    thread.start()
                except RuntimeError:  # no thread to be had (interpreter shutting down): the timer sends it
                    log.exception("could not start the mail sender; the mail stays queued")
                    return
                self._thread = thread
            else:
                self._cond.notify()

    def _guarded_run(self) -> None:
        """`_run`, and whatever ends it, the next commit starts a new sender."""
        try:
            self._run()
        finally:
            with self._cond:
                if self._thread is threading.current_thread():
                    self._thread = None
                self._busy = False
                self._cond.notify_all()

    def _run(self) -> None:
        timeout = float(self.app.config.get("MAIL_TIMEOUT_AFTER_COMMIT", AFTER_COMMIT_TIMEOUT))
        while True:
            with self._cond:
                self._busy = False
                if not self._pending:
                    self._cond.notify_all()  # join(): all sent
                    self._cond.wait(self.IDLE)
                if not self._pending:
                    self._thread = None  # the next start() begins a new one
                    return
                # Let what other requests commit in the next moment join this batch.
                self._cond.wait_for(lambda: len(self._pending) >= BATCH, self.LINGER)
                ids, self._pending = self._pending, []
                self._busy = True
            try:
                with self.app.app_context():
                    deliver(ids, timeout=timeout)
            except Exception:  # the timer will try again; a booking never fails because of mail
                log.exception("delivering mail after commit failed; it stays queued")

    def join(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far has been tried (tests, a graceful shutdown).
        False when `timeout` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)


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
