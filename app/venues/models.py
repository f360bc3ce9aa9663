"""Venues and the spaces inside them, with who may manage them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import UTCDateTime, new_feed_token, now_utc
from app.extensions import db

if TYPE_CHECKING:
    from app.availability.models import Closure, OpeningWindow

venue_managers = sa.Table(
    "venue_managers",
    db.metadata,
    sa.Column("venue_id", sa.ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Venue(db.Model):
    __tablename__ = "venues"
    __table_args__ = (
        sa.CheckConstraint("lat BETWEEN -90 AND 90", name="lat"),
        sa.CheckConstraint("lon BETWEEN -180 AND 180", name="lon"),
        sa.Index("ix_venues_lat_lon", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(20))
    address: Mapped[str] = mapped_column(sa.String(200))
    postcode: Mapped[str] = mapped_column(sa.String(12), default="")
    city: Mapped[str] = mapped_column(sa.String(80))
    neighbourhood: Mapped[str] = mapped_column(sa.String(80), default="")
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Amsterdam")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    contact: Mapped[str] = mapped_column(sa.String(200), default="")
    amenities: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Changes here change what calendar feeds show (names, addresses): part of their ETag.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    # Moved by the database on every change this row's feeds show (app/versions.py); read it
    # with a statement, not from a loaded entity.
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Secret of the managers' feed of all the venue's bookings.
    feed_token: Mapped[str] = mapped_column(sa.String(64), default=new_feed_token)

    managers: Mapped[list[User]] = relationship(secondary=venue_managers, order_by=User.id)
    spaces: Mapped[list[Space]] = relationship(
        back_populates="venue", cascade="all, delete-orphan", order_by="Space.id"
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def can_manage(self, user: User | None) -> bool:
        if user is None or not user.is_authenticated:
            return False
        return user.is_admin or any(m.id == user.id for m in self.managers)

    def can_see(self, user: User | None) -> bool:
        """Unpublished venues are visible only to their managers and admins."""
        return self.published or self.can_manage(user)

    @property
    def full_address(self) -> str:
        return ", ".join(p for p in (self.address, f"{self.postcode} {self.city}".strip()) if p)


class Space(db.Model):
    """A room or a group of seats. Every booking takes seats; a whole booking takes all of them."""

    __tablename__ = "spaces"
    __table_args__ = (
        sa.CheckConstraint("capacity >= 1", name="capacity"),
        sa.CheckConstraint("mode IN ('room', 'seats', 'both')", name="mode"),
        sa.CheckConstraint("slot_minutes >= 5", name="slot_minutes"),
        sa.CheckConstraint("min_minutes <= max_minutes", name="min_max"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venues.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    capacity: Mapped[int] = mapped_column(default=1)
    mode: Mapped[str] = mapped_column(sa.String(10), default="room")
    slot_minutes: Mapped[int] = mapped_column(default=30)
    min_minutes: Mapped[int] = mapped_column(default=30)
    max_minutes: Mapped[int] = mapped_column(default=480)
    lead_minutes: Mapped[int] = mapped_column(default=0)
    horizon_days: Mapped[int] = mapped_column(default=90)
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    requires_approval: Mapped[bool] = mapped_column(default=False)
    cancel_hours: Mapped[int] = mapped_column(default=24)
    price_per_hour_cents: Mapped[int] = mapped_column(default=0)
    amenities: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    # Moved by the database on every change this row's feeds show (app/versions.py); read it
    # with a statement, not from a loaded entity.
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Secrets of the managers' feed of this space and of its public busy feed.
    feed_token: Mapped[str] = mapped_column(sa.String(64), default=new_feed_token)
    busy_token: Mapped[str] = mapped_column(sa.String(64), default=new_feed_token)

    venue: Mapped[Venue] = relationship(back_populates="spaces")
    windows: Mapped[list[OpeningWindow]] = relationship(
        back_populates="space",
        cascade="all, delete-orphan",
        order_by="[OpeningWindow.weekday, OpeningWindow.opens]",
    )
    closures: Mapped[list[Closure]] = relationship(
        back_populates="space", cascade="all, delete-orphan", order_by="Closure.start"
    )

    def can_manage(self, user: User | None) -> bool:
        return self.venue.can_manage(user)

    def can_see(self, user: User | None) -> bool:
        return self.venue.can_see(user)

    @property
    def all_amenities(self) -> list[str]:
        """What a member finds here: the venue's amenities and the space's own."""
        return sorted(set(self.venue.amenities or []) | set(self.amenities or []))
