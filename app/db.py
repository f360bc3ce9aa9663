"""Database foundations shared by every package: the declarative base, a UTC column type."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


# Ids are 32-bit integers on PostgreSQL (64-bit on SQLite). A larger one in a URL finds nothing (404)
# and in a form is refused (422), before it reaches a query, where it would overflow into a 500.
MAX_ID = 2**31 - 1


def new_feed_token() -> str:
    """A secret for a calendar-feed URL: 192 bits, 32 URL-safe characters."""
    return secrets.token_urlsafe(24)


def now_utc() -> datetime:
    """The current instant, timezone-aware in UTC. Use as a callable default."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """An instant stored in UTC. Refuses naive datetimes so local time never sneaks in.

    SQLite has no time zones, so values are stored naive-UTC and made aware again on load;
    PostgreSQL stores `timestamptz`.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: pass an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
