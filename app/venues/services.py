"""Venue and space rules: who may see and change what, and what a valid venue or space is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.accounts.services import user_by_email
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.venues.models import Space, Venue, venue_managers
from app.venues.vocabulary import AMENITIES, SPACE_MODES, VENUE_KINDS

VENUE_FIELDS = (
    "name",
    "kind",
    "address",
    "postcode",
    "city",
    "neighbourhood",
    "lat",
    "lon",
    "timezone",
    "description",
    "contact",
    "amenities",
    "published",
)
SPACE_FIELDS = (
    "name",
    "description",
    "capacity",
    "mode",
    "slot_minutes",
    "min_minutes",
    "max_minutes",
    "lead_minutes",
    "horizon_days",
    "buffer_minutes",
    "requires_approval",
    "cancel_hours",
    "price_per_hour_cents",
    "amenities",
)

SPACE_DEFAULTS: dict[str, Any] = {
    "description": "",
    "capacity": 1,
    "mode": "room",
    "slot_minutes": 30,
    "min_minutes": 30,
    "max_minutes": 480,
    "lead_minutes": 0,
    "horizon_days": 90,
    "buffer_minutes": 0,
    "requires_approval": False,
    "cancel_hours": 24,
    "price_per_hour_cents": 0,
    "amenities": [],
}


# -- access ----------------------------------------------------------------------------------


def visible_venue(actor: User | None, venue_id: int) -> Venue:
    """The venue, or NotFound when it does not exist or the actor may not know it does."""
    return _seen_venue(actor, venue_id)[0]


def managed_venue(actor: User, venue_id: int) -> Venue:
    venue, manages = _seen_venue(actor, venue_id)
    if not manages:
        raise Forbidden(detail=str(_l("Only the managers of this venue may change it.")))
    return venue


def visible_space(actor: User | None, space_id: int) -> Space:
    return _seen_space(actor, space_id)[0]


def managed_space(actor: User, space_id: int) -> Space:
    space, manages = _seen_space(actor, space_id)
    if not manages:
        raise Forbidden(detail=str(_l("Only the managers of this venue may change it.")))
    return space


def _seen_venue(actor: User | None, venue_id: int) -> tuple[Venue, bool]:
    venue, manages = venue_and_manages(actor, venue_id)
    if venue is None or not (venue.published or manages):  # Venue.can_see
        raise NotFound()
    return venue, manages


def _seen_space(actor: User | None, space_id: int) -> tuple[Space, bool]:
    space, manages = space_and_manages(actor, space_id)
    if space is None or not (space.venue.published or manages):  # Space.can_see
        raise NotFound()
    return space, manages


# Whether the actor is among the venue's managers, asked in the statement that reads the venue
# or space: every manager page (and every booking) checks it, and loading `Venue.managers` costs
# another statement.
_MANAGES = (
    sa.exists()
    .where(venue_managers.c.venue_id == Venue.id, venue_managers.c.user_id == sa.bindparam("actor_id"))
    .label("manages")
)
_VENUE = sa.select(Venue, _MANAGES).where(Venue.id == sa.bindparam("venue_id"))
_SPACE = (
    sa.select(Space, Venue, _MANAGES)
    .join(Venue, Venue.id == Space.venue_id)
    .where(Space.id == sa.bindparam("space_id"))
)
_SPACE_FRESH = _SPACE.execution_options(populate_existing=True)  # as it is now, whatever the session holds
_SPACE_LOCKED = _SPACE_FRESH.with_for_update(of=Space)  # PostgreSQL: and the space's row lock


def _actor_id(actor: User | None) -> int | None:
    return actor.id if actor is not None and actor.is_authenticated else None


def venue_and_manages(actor: User | None, venue_id: int) -> tuple[Venue | None, bool]:
    """The venue (None when there is none) and whether `actor` may manage it (Venue.can_manage)."""
    actor_id = _actor_id(actor)
    row = db.session.execute(_VENUE, {"venue_id": venue_id, "actor_id": actor_id}).first()
    if row is None:
        return None, False
    return row.Venue, actor_id is not None and (actor.is_admin or bool(row.manages))


def space_and_manages(
    actor: User | None, space_id: int, *, fresh: bool = False, lock: bool = False
) -> tuple[Space | None, bool]:
    """The space with its venue (None when there is none) and whether `actor` may manage it, in
    one statement. `fresh` reads past what the session holds; `lock` also takes the space's row
    lock (PostgreSQL's `SELECT … FOR UPDATE`)."""
    actor_id = _actor_id(actor)
    query = _SPACE_LOCKED if lock else _SPACE_FRESH if fresh else _SPACE
    row = db.session.execute(query, {"space_id": space_id, "actor_id": actor_id}).first()
    if row is None:
        return None, False
    # The session holds objects weakly: tie the venue to the space, or it is read again.
    set_committed_value(row.Space, "venue", row.Venue)
    return row.Space, actor_id is not None and (actor.is_admin or bool(row.manages))


def venues_managed_by(actor: User) -> list[Venue]:
    """With their spaces and the spaces' opening windows: the manager's overview shows both."""
    query = sa.select(Venue).options(selectinload(Venue.spaces).selectinload(Space.windows)).order_by(Venue.name)
    if not actor.is_admin:
        query = query.where(Venue.managers.any(User.id == actor.id))
    return list(db.session.scalars(query))


def managed_venue_ids(actor: User) -> set[int]:
    """One query, for lists that ask "may this actor manage it?" of many bookings."""
    return set(db.session.scalars(sa.select(venue_managers.c.venue_id).where(venue_managers.c.user_id == actor.id)))


def spaces_managed_by(actor: User) -> list[Space]:
    """Every space the actor manages, by venue name, each with its venue loaded."""
    query = (
        sa.select(Space).join(Space.venue).options(contains_eager(Space.venue)).order_by(Venue.name, Venue.id, Space.id)
    )
    if not actor.is_admin:
        query = query.where(Venue.managers.any(User.id == actor.id))
    return list(db.session.scalars(query))


# -- checks ----------------------------------------------------------------------------------


def _check_venue(values: Mapping[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if not str(values.get("name") or "").strip():
        errors["name"] = [str(_l("Enter a name."))]
    if values.get("kind") not in VENUE_KINDS:
        errors["kind"] = [str(_l("Choose a kind of venue."))]
    for field in ("address", "city"):
        if not str(values.get(field) or "").strip():
            errors[field] = [str(_l("This field is required."))]
    lat, lon = values.get("lat"), values.get("lon")
    if lat is None or not -90 <= lat <= 90:
        errors["lat"] = [str(_l("Latitude is a number between -90 and 90."))]
    if lon is None or not -180 <= lon <= 180:
        errors["lon"] = [str(_l("Longitude is a number between -180 and 180."))]
    if values.get("timezone") not in _zones():
        errors["timezone"] = [str(_l("Use a time zone name such as Europe/Amsterdam."))]
    _check_amenities(values.get("amenities") or [], errors)
    if errors:
        raise DomainError(errors)


def _check_space(values: Mapping[str, Any]) -> None:
    errors: dict[str, list[str]] = {}

    def need(field: str, ok: bool, message) -> None:
        if not ok:
            errors.setdefault(field, []).append(str(message))

    need("name", bool(str(values.get("name") or "").strip()), _l("Enter a name."))
    need("mode", values.get("mode") in SPACE_MODES, _l("Choose room, seats or both."))
    need("capacity", 1 <= values["capacity"] <= 10_000, _l("Between 1 and 10000."))
    slot = values["slot_minutes"]
    need(
        "slot_minutes",
        slot in (5, 10, 15, 20, 30, 60, 90, 120, 180, 240),
        _l("Choose a slot of 5, 10, 15, 20, 30, 60, 90, 120, 180 or 240 minutes."),
    )
    minimum, maximum = values["min_minutes"], values["max_minutes"]
    need(
        "min_minutes",
        minimum >= 1 and minimum % slot == 0 if slot else False,
        _l("A whole number of slots, at least one."),
    )
    need(
        "max_minutes",
        maximum >= minimum and maximum <= 7 * 24 * 60,
        _l("At least the minimum, and at most a week."),
    )
    need("max_minutes", maximum % slot == 0 if slot else False, _l("A whole number of slots."))
    need("lead_minutes", 0 <= values["lead_minutes"] <= 60 * 24 * 90, _l("Between 0 and 90 days."))
    need("horizon_days", 1 <= values["horizon_days"] <= 730, _l("Between 1 and 730 days."))
    need("buffer_minutes", 0 <= values["buffer_minutes"] <= 24 * 60, _l("Between 0 and 1440 minutes."))
    need("cancel_hours", 0 <= values["cancel_hours"] <= 24 * 90, _l("Between 0 and 2160 hours."))
    need(
        "price_per_hour_cents",
        0 <= values["price_per_hour_cents"] <= 10_000_000,
        _l("Between 0 and 100000 euros."),
    )
    _check_amenities(values.get("amenities") or [], errors)
    if errors:
        raise DomainError(errors)


def _check_amenities(amenities, errors: dict) -> None:
    unknown = [a for a in amenities if a not in AMENITIES]
    if unknown:
        errors["amenities"] = [str(_l("Unknown amenities: %(names)s.", names=", ".join(unknown)))]


def _zones() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones()
    return _ZONES


_ZONES: set[str] | None = None


def _clean(values: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    cleaned = {k: values[k] for k in fields if k in values}
    for key, value in cleaned.items():
        if isinstance(value, str):
            cleaned[key] = value.strip()
    if "amenities" in cleaned:
        cleaned["amenities"] = sorted(set(cleaned["amenities"] or []))
    return cleaned


def venue_values(venue: Venue) -> dict[str, Any]:
    return {field: getattr(venue, field) for field in VENUE_FIELDS}


def space_values(space: Space) -> dict[str, Any]:
    return {field: getattr(space, field) for field in SPACE_FIELDS}


# -- changes ---------------------------------------------------------------------------------


def create_venue(actor: User, values: Mapping[str, Any]) -> Venue:
    """The creator becomes the venue's first manager."""
    if not actor.is_manager:
        raise Forbidden(detail=str(_l("Only venue managers may add venues.")))
    values = {
        "timezone": "Europe/Amsterdam",
        "published": False,
        "amenities": [],
        **_clean(values, VENUE_FIELDS),
    }
    _check_venue(values)
    venue = Venue(**values)
    venue.managers.append(actor)
    db.session.add(venue)
    db.session.flush()
    return venue


def update_venue(actor: User, venue: Venue, values: Mapping[str, Any]) -> Venue:
    if not venue.can_manage(actor):
        raise Forbidden()
    merged = {**venue_values(venue), **_clean(values, VENUE_FIELDS)}
    _check_venue(merged)
    for key, value in merged.items():
        setattr(venue, key, value)
    db.session.flush()
    return venue


def delete_venue(actor: User, venue: Venue) -> None:
    if not venue.can_manage(actor):
        raise Forbidden()
    db.session.delete(venue)
    db.session.flush()


def add_manager(actor: User, venue: Venue, email: str) -> User:
    if not venue.can_manage(actor):
        raise Forbidden()
    user = user_by_email(email or "")
    if user is None:
        raise DomainError.on("email", _l("No account has this e-mail address."))
    if user not in venue.managers:
        venue.managers.append(user)
        if user.role == "member":
            user.role = "manager"  # managing a venue makes one a manager
    db.session.flush()
    return user


def create_space(actor: User, venue: Venue, values: Mapping[str, Any]) -> Space:
    if not venue.can_manage(actor):
        raise Forbidden()
    merged = {**SPACE_DEFAULTS, **_clean(values, SPACE_FIELDS)}
    _check_space(merged)
    space = Space(venue=venue, **merged)
    db.session.add(space)
    db.session.flush()
    return space


def update_space(actor: User, space: Space, values: Mapping[str, Any]) -> Space:
    if not space.can_manage(actor):
        raise Forbidden()
    merged = {**space_values(space), **_clean(values, SPACE_FIELDS)}
    _check_space(merged)
    for key, value in merged.items():
        setattr(space, key, value)
    db.session.flush()
    return space


def delete_space(actor: User, space: Space) -> None:
    if not space.can_manage(actor):
        raise Forbidden()
    db.session.delete(space)
    db.session.flush()


def venue_zone(venue: Venue) -> ZoneInfo:
    return ZoneInfo(venue.timezone)
