"""Read-only questions about bookings that other packages ask."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from app.availability import rules
from app.bookings.models import HOLDING, Booking
from app.extensions import db
from app.feeds.imports import imported_busy
from app.venues.models import Space


def busy_for_spaces(space_ids: Sequence[int], start: datetime, end: datetime) -> dict[int, list[rules.Busy]]:
    """Seats held per space between start and end, in two queries (bookings, imported blocks).

    Pending bookings hold their seats until declined; blocks, whole bookings and imported busy
    time take them all.
    """
    if not space_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            Booking.space_id,
            Booking.start,
            Booking.end,
            Booking.seats,
            Booking.whole,
            Booking.kind,
            Space.capacity,
        )
        .join(Space, Space.id == Booking.space_id)
        .where(
            Booking.space_id.in_(space_ids),
            Booking.status.in_(HOLDING),
            Booking.start < end,
            Booking.end > start,
        )
    )
    busy: dict[int, list[rules.Busy]] = defaultdict(list)
    capacities: dict[int, int] = {}
    for space_id, b_start, b_end, seats, whole, kind, capacity in rows:
        taken = capacity if whole or kind == "block" else seats
        busy[space_id].append(rules.Busy(b_start, b_end, taken))
        capacities[space_id] = capacity
    # Time taken in a venue's own calendar (imported feeds) takes the whole space.
    imported = imported_busy(space_ids, start, end)
    if imported:
        missing = [i for i in imported if i not in capacities]
        if missing:
            capacities.update(
                db.session.execute(sa.select(Space.id, Space.capacity).where(Space.id.in_(missing))).all()
            )
        for space_id, spans in imported.items():
            busy[space_id].extend(rules.Busy(b_start, b_end, capacities[space_id]) for b_start, b_end in spans)
    return busy
