"""Read-only questions about bookings: what other packages ask, and what the managers' calendar shows."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from app.accounts.models import User
from app.availability import rules
from app.bookings.models import HOLDING, Booking
from app.database import dialect_name, one_of, plain_rows
from app.feeds.import_models import ImportedBlock
from app.venues.models import Space


def busy_for_spaces(space_ids: Sequence[int], start: datetime, end: datetime) -> dict[int, list[rules.Busy]]:
    """Seats held per space between start and end: bookings and imported busy time, one statement.

    Pending bookings hold their seats until declined; blocks, whole bookings and imported busy
    time (a venue's own calendar) take them all.
    """
    if not space_ids:
        return {}
    busy: dict[int, list[rules.Busy]] = defaultdict(list)
    rows = plain_rows(_busy_stmt(dialect_name()), {"space_ids": list(space_ids), "start": start, "end": end})
    for space_id, b_start, b_end, seats, whole, capacity in rows:
        busy[space_id].append(rules.Busy(b_start, b_end, capacity if whole else seats))
    return busy


@functools.cache
def _busy_stmt(dialect: str) -> sa.CompoundSelect:
    """Built once and reused with bound values: building it cost more than running it."""
    start, end = sa.bindparam("start"), sa.bindparam("end")
    bookings = (
        sa.select(
            Booking.space_id,
            Booking.start,
            Booking.end,
            Booking.seats,
            sa.or_(Booking.whole, Booking.kind == "block").label("whole"),
            Space.capacity,
        )
        .join(Space, Space.id == Booking.space_id)
        .where(
            one_of(Booking.space_id, "space_ids", dialect),
            Booking.status.in_(HOLDING),
            Booking.start < end,
            Booking.end > start,
        )
    )
    imported = (
        sa.select(
            ImportedBlock.space_id, ImportedBlock.start, ImportedBlock.end, Space.capacity, sa.true(), Space.capacity
        )
        .join(Space, Space.id == ImportedBlock.space_id)
        .where(
            one_of(ImportedBlock.space_id, "space_ids", dialect),
            ImportedBlock.start < end,
            ImportedBlock.end > start,
        )
    )
    return sa.union_all(bookings, imported)


class CalendarEntry(NamedTuple):
    """A booking as a venue's calendar shows it."""

    id: int
    space_id: int
    start: datetime
    end: datetime
    seats: int
    whole: bool
    kind: str
    status: str
    title: str
    member_name: str | None  # None for a manager's block


class SpaceName(NamedTuple):
    id: int
    name: str


def space_names(venue_id: int) -> list[SpaceName]:
    """The venue's spaces as its calendar lists them (in `Venue.spaces` order), without loading
    whole `Space` objects."""
    rows = plain_rows(sa.select(Space.id, Space.name).where(Space.venue_id == venue_id).order_by(Space.id))
    return [SpaceName(*row) for row in rows]


def calendar_entries(
    space_ids: Sequence[int], start: datetime, end: datetime, statuses: Sequence[str] = HOLDING
) -> list[CalendarEntry]:
    """The bookings of these spaces overlapping [start, end) in one of these statuses, by start,
    in one query, as plain tuples with the member's name: what a venue's calendar shows.

    Who may see them is the caller's question (`venues.services.managed_venue`).
    """
    if not space_ids:
        return []
    params = {"space_ids": list(space_ids), "start": start, "end": end}
    if tuple(statuses) == ("pending",):
        rows = plain_rows(_entries_stmt(None, dialect_name()), params)
    else:
        rows = plain_rows(_entries_stmt(tuple(statuses), dialect_name()), params)
    return [CalendarEntry(*row) for row in rows]


@functools.cache
def _entries_stmt(statuses: tuple[str, ...] | None, dialect: str) -> sa.Select:
    """None: the pending requests, by the status written out, so the partial index of pending
    bookings (`ix_bookings_pending`) serves them however many bookings a venue holds."""
    status = Booking.status == sa.literal_column("'pending'") if statuses is None else Booking.status.in_(statuses)
    return (
        sa.select(
            Booking.id,
            Booking.space_id,
            Booking.start,
            Booking.end,
            Booking.seats,
            Booking.whole,
            Booking.kind,
            Booking.status,
            Booking.title,
            User.name,
        )
        .outerjoin(User, User.id == Booking.member_id)
        .where(
            one_of(Booking.space_id, "space_ids", dialect),
            status,
            Booking.start < sa.bindparam("end"),
            Booking.end > sa.bindparam("start"),
        )
        .order_by(Booking.start, Booking.id)
    )
