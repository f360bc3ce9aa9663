"""When a space is open: weekly opening windows in local time, and closures."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, now_utc
from app.extensions import db
from app.venues.models import Space


class OpeningWindow(db.Model):
    """A weekly window in the venue's wall-clock time; expanded per day by `rules.py`."""

    __tablename__ = "opening_windows"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        sa.CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column()
    opens: Mapped[time] = mapped_column(sa.Time)
    closes: Mapped[time] = mapped_column(sa.Time)

    space: Mapped[Space] = relationship(back_populates="windows")


class Closure(db.Model):
    """A stretch of time the space is closed (holiday, maintenance). Stored as UTC instants."""

    __tablename__ = "closures"
    __table_args__ = (sa.CheckConstraint('start < "end"', name="start_before_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    space: Mapped[Space] = relationship(back_populates="closures")
