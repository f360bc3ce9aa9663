"""Build venues, spaces, hours and closures through the same services users hit."""

from __future__ import annotations

from datetime import time

from app.accounts.models import User
from app.availability import services as availability
from app.extensions import db
from app.venues import services as venues

LOMBOK = (52.0937, 5.1006)


def venue_values(**overrides) -> dict:
    values = {
        "name": "Buurthuis De Pijler",
        "kind": "community_centre",
        "address": "Herderplein 8",
        "postcode": "3554 AT",
        "city": "Utrecht",
        "neighbourhood": "Lombok",
        "lat": LOMBOK[0],
        "lon": LOMBOK[1],
        "amenities": ["wifi", "coffee"],
        "published": True,
    }
    values.update(overrides)
    return values


def make_venue(app, manager_id: int, **overrides) -> int:
    with app.app_context():
        venue = venues.create_venue(db.session.get(User, manager_id), venue_values(**overrides))
        db.session.commit()
        return venue.id


HOURS = {
    "weekdays": [(d, time(9), time(17)) for d in range(5)],
    "daily": [(d, time(8), time(22)) for d in range(7)],
    None: None,
}


def make_space(app, manager_id: int, venue_id: int, hours: str | None = "weekdays", **overrides) -> int:
    """A space; by default open Monday–Friday 09:00–17:00."""
    with app.app_context():
        actor = db.session.get(User, manager_id)
        space = _space(actor, venues.managed_venue(actor, venue_id), hours, overrides)
        db.session.commit()
        return space.id


def make_venues_with_a_space(app, manager_id: int, venues_: list[tuple[dict, str | None]]) -> list[int]:
    """Many venues, each with one space (venue values, the space's hours), through the same
    services in one transaction: a search test needs hundreds, and a commit each costs more
    than the venue."""
    with app.app_context():
        actor = db.session.get(User, manager_id)
        ids = []
        for overrides, hours in venues_:
            venue = venues.create_venue(actor, venue_values(**overrides))
            ids.append(_space(actor, venue, hours, {}).venue_id)
        db.session.commit()
        return ids


def _space(actor: User, venue, hours: str | None, overrides: dict):
    values = {"name": "Zaal 1", "capacity": 12, "mode": "room", "amenities": ["screen"], **overrides}
    space = venues.create_space(actor, venue, values)
    if HOURS[hours] is not None:
        availability.set_hours(actor, space, HOURS[hours])
    return space
