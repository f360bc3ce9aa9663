"""The outbox: mails written inside a booking's transaction, waiting to be delivered."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, now_utc
from app.extensions import db


class OutboxMessage(db.Model):
    """One e-mail to one recipient, stored whole once composed: a retry sends the same bytes.
    A mail announcing a new booking is composed by its first delivery attempt (`message` empty
    until then), from what the row keeps of its recipient (`recipient_name`, `language`) and
    `note`; see `outbox` for when it is dropped instead.

    Due when `sent_at` is empty and `next_attempt_at` has passed. A sender claims a row by
    setting `claimed_until` (only if nobody else holds it), so two senders never send it twice.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (sa.Index("ix_outbox_messages_due", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Kept when the booking goes: a cancellation mail must still go out.
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id", ondelete="SET NULL"), index=True)
    event: Mapped[str] = mapped_column(sa.String(20))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    recipient_name: Mapped[str] = mapped_column(sa.String(100), default="")
    language: Mapped[str] = mapped_column(sa.String(2), default="nl")
    note: Mapped[str] = mapped_column(sa.Text, default="")  # the manager's message or reason
    subject: Mapped[str] = mapped_column(sa.String(300))
    # The full RFC 5322 message, CRLF line endings, as it goes over SMTP (None: not composed yet).
    message: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        state = "sent" if self.sent_at else f"queued, {self.attempts} attempts"
        return f"<OutboxMessage {self.id} {self.event} to {self.recipient} ({state})>"
