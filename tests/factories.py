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


def make_space(app, manager_id: int, venue_id: int, hours: str | None = "weekdays", **overrides) -> int:
    """A space; by default open Monday–Friday 09:00–17:00."""
    values = {"name": "Zaal 1", "capacity": 12, "mode": "room", "amenities": ["screen"]}
    values.update(overrides)
    with app.app_context():
        actor = db.session.get(User, manager_id)
        space = venues.create_space(actor, venues.managed_venue(actor, venue_id), values)
        if hours == "weekdays":
            availability.set_hours(actor, space, [(d, time(9), time(17)) for d in range(5)])
        elif hours == "daily":
            availability.set_hours(actor, space, [(d, time(8), time(22)) for d in range(7)])
        db.session.commit()
        return space.id
