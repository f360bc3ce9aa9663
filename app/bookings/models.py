"""Bookings (and blocks) of a space, with their history."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import UTCDateTime, now_utc
from app.extensions import db
from app.venues.models import Space

STATUSES = ("pending", "confirmed", "cancelled", "declined")
HOLDING = ("pending", "confirmed")  # statuses whose seats are taken


def new_uid() -> str:
    return f"{uuid.uuid4()}@dichtbij"


class Booking(db.Model):
    """Seats in a space for a stretch of time.

    A `block` is time a manager takes out without a member (maintenance, a walk-in group that
    pays at the door); it takes the whole space.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        sa.CheckConstraint('start < "end"', name="start_before_end"),
        sa.CheckConstraint("seats >= 1", name="seats"),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'cancelled', 'declined')", name="status"),
        sa.CheckConstraint("kind IN ('booking', 'block')", name="kind"),
        sa.Index("ix_bookings_space_time", "space_id", "start", "end"),
        # "What overlaps [a, b)?" walks the bookings that end after a: the future, which the
        # horizon bounds, rather than everything that started before b, which grows forever.
        sa.Index("ix_bookings_space_end", "space_id", "end", "start"),
        # The requests a venue's managers must answer: few, among thousands of bookings.
        sa.Index(
            "ix_bookings_pending",
            "space_id",
            "end",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(80), unique=True, default=new_uid)
    kind: Mapped[str] = mapped_column(sa.String(10), default="booking")
    space_id: Mapped[int] = mapped_column(sa.ForeignKey("spaces.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    seats: Mapped[int] = mapped_column(default=1)
    whole: Mapped[bool] = mapped_column(default=False)
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[str] = mapped_column(sa.String(10), default="confirmed")
    series_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")

    space: Mapped[Space] = relationship()
    member: Mapped[User | None] = relationship(foreign_keys=[member_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    events: Mapped[list[BookingEvent]] = relationship(
        back_populates="booking", cascade="all, delete-orphan", order_by="BookingEvent.id"
    )

    @property
    def holds_seats(self) -> bool:
        return self.status in HOLDING


class BookingEvent(db.Model):
    """One line of a booking's history: who did what, when."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    action: Mapped[str] = mapped_column(sa.String(20))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    booking: Mapped[Booking] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class IdempotencyKey(db.Model):
    """A client's `Idempotency-Key` for a booking request, with the first answer it got.

    Written in the same transaction as the bookings it made, so a retry after a lost answer
    returns that answer and books nothing more.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_id_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(200))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
