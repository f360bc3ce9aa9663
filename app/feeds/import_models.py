"""External calendars imported into a space, and the busy blocks their events became."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.accounts.models import User
from app.db import UTCDateTime, now_utc
from app.extensions import db
from app.venues.models import Space


class CalendarImport(db.Model):
    """A calendar kept elsewhere (Google, Outlook, a file) whose events make a space busy.

    `url` is None for an uploaded file (`filename`). `content` is the last good feed, so a
    304 or an upload can be expanded again as the window of days moves forward.
    `last_synced_at` is the last GOOD sync; `last_error` says why the latest attempt failed.
    """

    __tablename__ = "calendar_imports"
    __table_args__ = (sa.CheckConstraint("url IS NOT NULL OR filename IS NOT NULL", name="source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    content: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    etag: Mapped[str | None] = mapped_column(sa.String(500))
    last_modified: Mapped[str | None] = mapped_column(sa.String(100))
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    space: Mapped[Space] = relationship()
    created_by: Mapped[User | None] = relationship()
    blocks: Mapped[list[ImportedBlock]] = relationship(
        back_populates="import_", cascade="all, delete-orphan", passive_deletes=True, order_by="ImportedBlock.start"
    )


class ImportedBlock(db.Model):
    """One occurrence of an imported event: the space is busy from `start` to `end`.

    Keyed by the event's UID and, for an occurrence of a series, its original start in UTC
    (`recurrence_key`, "" for a single event), so a sync updates blocks in place.
    `summary` is for the space's managers only; never show it in public places.
    """

    __tablename__ = "imported_blocks"
    __table_args__ = (
        sa.UniqueConstraint("import_id", "uid", "recurrence_key", name="uq_imported_blocks_import_uid_recurrence"),
        sa.CheckConstraint('start < "end"', name="start_before_end"),
        sa.Index("ix_imported_blocks_space_time", "space_id", "start", "end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("calendar_imports.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(sa.ForeignKey("spaces.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(sa.String(255))
    recurrence_key: Mapped[str] = mapped_column(sa.String(40), default="")
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(sa.String(200), default="")

    import_: Mapped[CalendarImport] = relationship(back_populates="blocks")
