"""Find a space near home: distance, walking time, filters, and free time — in a fixed
number of queries however many venues there are."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.availability import rules
from app.availability.localtime import BadTime, localize
from app.availability.services import free_for_spaces
from app.extensions import db
from app.venues.models import Space, Venue

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = 111.2
# People walk about 4.8 km/h, and streets are about a quarter longer than the straight line.
WALKING_KMH = 4.8
DETOUR_FACTOR = 1.25
DEFAULT_RADIUS_KM = 5.0
MAX_WINDOW = timedelta(days=14)


@dataclass
class SearchQuery:
    near: tuple[float, float] | None = None
    radius_km: float = DEFAULT_RADIUS_KM
    kind: str | None = None
    amenities: list[str] = field(default_factory=list)
    seats: int = 1
    # Aware instants, or naive wall-clock times meaning each venue's own local time.
    free_from: datetime | None = None
    free_to: datetime | None = None


@dataclass
class SpaceHit:
    space: Space
    free: list[rules.Free] | None = None  # the free intervals over the window's days


@dataclass
class VenueHit:
    venue: Venue
    distance_km: float | None
    walking_minutes: int | None
    spaces: list[SpaceHit]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def walking_minutes(km: float) -> int:
    return max(1, math.ceil(km * DETOUR_FACTOR / WALKING_KMH * 60))


def visible_venues_query(actor: User | None):
    query = sa.select(Venue)
    if actor is None or not actor.is_authenticated:
        return query.where(Venue.published)
    if actor.is_admin:
        return query
    return query.where(sa.or_(Venue.published, Venue.managers.any(User.id == actor.id)))


def window_in(venue: Venue, query: SearchQuery) -> tuple[datetime, datetime] | None:
    """The search window as instants for this venue; None when the local time does not exist."""
    try:
        start = query.free_from if query.free_from.tzinfo else localize(query.free_from, venue.zone)
        end = query.free_to if query.free_to.tzinfo else localize(query.free_to, venue.zone)
    except BadTime:
        return None
    return start, end


def space_fits(space: Space, query: SearchQuery) -> bool:
    if space.capacity < query.seats:
        return False
    return not query.amenities or set(query.amenities) <= set(space.all_amenities)


def seats_needed(space: Space, query: SearchQuery) -> int:
    """A room is only free when nobody is in it; seats need as many seats as people."""
    return space.capacity if space.mode == "room" else query.seats


def search(actor: User | None, query: SearchQuery, now: datetime) -> list[VenueHit]:
    # One query for venues and their spaces, whatever their number (selectin would batch by 500).
    stmt = visible_venues_query(actor).options(joinedload(Venue.spaces), joinedload(Venue.managers))
    if query.near is not None:
        lat, lon = query.near
        dlat = query.radius_km / KM_PER_DEGREE_LAT
        dlon = query.radius_km / (KM_PER_DEGREE_LAT * max(0.01, math.cos(math.radians(lat))))
        stmt = stmt.where(Venue.lat.between(lat - dlat, lat + dlat), Venue.lon.between(lon - dlon, lon + dlon))
    if query.kind:
        stmt = stmt.where(Venue.kind == query.kind)
    hits: list[VenueHit] = []
    for venue in db.session.scalars(stmt).unique():
        distance = distance_km(query.near, (venue.lat, venue.lon)) if query.near else None
        if distance is not None and distance > query.radius_km:
            continue
        spaces = [SpaceHit(s) for s in venue.spaces if space_fits(s, query)]
        if spaces:
            hits.append(VenueHit(venue, distance, walking_minutes(distance) if distance is not None else None, spaces))
    if query.free_from is not None and query.free_to is not None:
        hits = _only_free(hits, query, now)
    hits.sort(key=lambda h: (h.distance_km if h.distance_km is not None else 0.0, h.venue.name))
    return hits


def _only_free(hits: list[VenueHit], query: SearchQuery, now: datetime) -> list[VenueHit]:
    windows = {h.venue.id: window_in(h.venue, query) for h in hits}
    spaces = [s.space for h in hits if windows[h.venue.id] for s in h.spaces]
    if not spaces:
        return []
    days = [d for w in windows.values() if w for d in (w[0].date(), w[1].date())]
    # Local dates of the window in every zone lie within a day of its UTC dates.
    free = free_for_spaces(spaces, min(days) - timedelta(days=1), max(days) + timedelta(days=1), now)
    kept = []
    for hit in hits:
        window = windows[hit.venue.id]
        if window is None:
            continue
        for space_hit in hit.spaces:
            space_hit.free = free[space_hit.space.id]
        hit.spaces = [
            s for s in hit.spaces if rules.seats_free_throughout(s.free, *window) >= seats_needed(s.space, query)
        ]
        if hit.spaces:
            kept.append(hit)
    return kept


def build_query(
    *,
    near: str | None,
    radius_km: str | None,
    kind: str | None,
    amenities: list[str],
    seats: int | None,
    free_from: str | None,
    free_to: str | None,
    home: tuple[float, float] | None,
    check_zone,
) -> SearchQuery:
    """Turn the search form's strings into a query, or raise DomainError naming the field.

    `check_zone` is the zone a time without an offset must exist in (the default zone);
    each venue then reads it in its own zone.
    """
    from flask_babel import lazy_gettext as _l

    from app.errors import DomainError

    errors: dict[str, list[str]] = {}
    query = SearchQuery(kind=kind or None, amenities=list(amenities or []), seats=seats or 1)
    if near:
        try:
            lat_text, lon_text = near.split(",")
            lat, lon = float(lat_text), float(lon_text)
            if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
                raise ValueError
            query.near = (lat, lon)
        except ValueError:
            errors["near"] = [str(_l("Give a latitude and longitude, e.g. 52.09,5.10."))]
    else:
        query.near = home
    if radius_km:
        try:
            query.radius_km = float(radius_km)
            if not 0 < query.radius_km <= 100:
                raise ValueError
        except ValueError:
            errors["radius_km"] = [str(_l("A distance between 0 and 100 km."))]
    if bool(free_from) != bool(free_to):
        errors["free_to" if free_from else "free_from"] = [str(_l("Give both the start and the end."))]
    elif free_from and free_to:
        from app.availability.localtime import parse_instant

        parsed = {}
        for name, text in (("free_from", free_from), ("free_to", free_to)):
            try:
                value = datetime.fromisoformat(text.strip().replace("z", "Z"))
                parse_instant(text, check_zone)  # refuses the spring-forward gap and absurd years
                parsed[name] = value
            except (ValueError, BadTime):
                errors[name] = [str(_l("Use a date and time like 2026-12-01T09:00, in local time or with an offset."))]
        if len(parsed) == 2:
            start, end = parsed["free_from"], parsed["free_to"]
            if (start.tzinfo is None) != (end.tzinfo is None):
                errors["free_to"] = [str(_l("Give both times with an offset, or both without."))]
            elif end <= start:
                errors["free_to"] = [str(_l("The end must be after the start."))]
            elif end - start > MAX_WINDOW:
                errors["free_to"] = [str(_l("Search at most 14 days at a time."))]
            else:
                query.free_from, query.free_to = start, end
    if errors:
        raise DomainError(errors)
    return query
