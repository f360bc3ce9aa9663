"""Find a space near home: distance, walking time, filters, and free time — in a fixed
number of queries however many venues there are, and a page at a time.

A search first reads the candidate venues and their spaces as plain rows (one query), sorts them
by distance (then name, then id), and only then works out free time, in at most three rounds, until
a page of venues with a free space is found. Only the venues of that page are loaded (as entities,
or as plain column values for the API).
A page ends with a cursor: the sort key of its last venue; the next page starts after it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.availability import rules
from app.availability.localtime import BadTime, localize
from app.availability.models import OpeningWindow
from app.availability.services import SpaceLimits, free_time
from app.database import dialect_name, one_of, plain_rows
from app.extensions import db
from app.venues.access import actor_params, can_manage_sql, can_see_sql, who
from app.venues.models import Space, Venue

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = 111.2
# People walk about 4.8 km/h, and streets are about a quarter longer than the straight line.
WALKING_KMH = 4.8
DETOUR_FACTOR = 1.25
DEFAULT_RADIUS_KM = 5.0
MAX_WINDOW = timedelta(days=14)
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 1000
# Free time is worked out for this many candidate venues per venue a page needs, first; when too
# few of them are free, for as many more as the share of free ones seen suggests (times this
# factor again), and then, if still too few, for all the others.
FIRST_ROUND_FACTOR = 1.5

SortKey = tuple[float, str, int]  # (distance or 0, name, id): a total order, so pages never overlap


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
    limit: int = DEFAULT_LIMIT
    after: SortKey | None = None  # the sort key of the last venue of the page before


@dataclass
class SpaceHit:
    space: Space
    free: list[rules.Free] | None = None  # the free intervals over the window's local days


@dataclass
class VenueHit:
    venue: Venue
    distance_km: float | None
    walking_minutes: int | None
    spaces: list[SpaceHit]
    manages: bool = False  # whether the searching user may manage the venue (venue.can_manage)


@dataclass
class Results:
    hits: list[VenueHit]
    next_cursor: str | None  # where the next page starts; None on the last page


@dataclass
class _Candidate:
    """A venue read as a plain row, with the spaces that fit the query."""

    key: SortKey
    venue_id: int
    distance_km: float | None
    zone: ZoneInfo
    spaces: list[tuple[SpaceLimits, int]] = field(default_factory=list)  # (rules, seats needed)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def walking_minutes(km: float) -> int:
    return max(1, math.ceil(km * DETOUR_FACTOR / WALKING_KMH * 60))


def _window_in_zone(zone: ZoneInfo, query: SearchQuery) -> tuple[datetime, datetime] | None:
    try:
        start = query.free_from if query.free_from.tzinfo else localize(query.free_from, zone)
        end = query.free_to if query.free_to.tzinfo else localize(query.free_to, zone)
    except BadTime:
        return None
    return start, end


def window_in(venue: Venue, query: SearchQuery) -> tuple[datetime, datetime] | None:
    """The search window as instants for this venue; None when the local time does not exist."""
    return _window_in_zone(venue.zone, query)


def space_fits(space: Space, query: SearchQuery) -> bool:
    if space.capacity < query.seats:
        return False
    return not query.amenities or set(query.amenities) <= set(space.all_amenities)


def seats_needed(space: Space, query: SearchQuery) -> int:
    """A room is only free when nobody is in it; seats need as many seats as people."""
    return _seats_needed(space.mode, space.capacity, query)


def _seats_needed(mode: str, capacity: int, query: SearchQuery) -> int:
    return capacity if mode == "room" else query.seats


# -- cursors ---------------------------------------------------------------------------------


def encode_cursor(key: SortKey) -> str:
    text = json.dumps(list(key), ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode("ascii")


def decode_cursor(text: str) -> SortKey | None:
    """The sort key a cursor carries, or None when it is not one `encode_cursor` could have made."""
    if not text or len(text) > MAX_CURSOR_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeError, RecursionError, binascii.Error):
        return None
    if not isinstance(value, list) or len(value) != 3:
        return None
    distance, name, venue_id = value
    if isinstance(distance, bool) or not isinstance(distance, int | float) or not math.isfinite(distance):
        return None
    if not isinstance(name, str) or isinstance(venue_id, bool) or not isinstance(venue_id, int):
        return None
    if distance < 0 or not 0 <= venue_id < 2**63:
        return None
    return float(distance), name, venue_id


# -- the search ------------------------------------------------------------------------------


def search(actor: User | None, query: SearchQuery, now: datetime, *, as_rows: bool = False) -> Results:
    """One page of venues with spaces that fit, nearest first (by name without a point).

    With `as_rows` the hits carry plain column values (`venue.name`, `space.capacity`, …) instead
    of entities, cheaper to read: for answers that only show columns, such as the API's JSON.
    """
    candidates = _candidates(actor, query)
    if query.after is not None:
        candidates = [c for c in candidates if c.key > query.after]
    need = query.limit + 1  # one more than the page: whether there is a next page
    found: list[tuple[_Candidate, dict[int, list[rules.Free]] | None]] = []
    if query.free_from is None or query.free_to is None:
        found = [(c, None) for c in candidates[:need]]
    else:
        # At most three rounds (each a fixed number of statements): a guess, a guess from the
        # share of free venues seen so far, and then whatever is left.
        position = 0
        for round_ in range(3):
            if position >= len(candidates) or len(found) >= need:
                break
            if round_ == 0:
                size = math.ceil(need * FIRST_ROUND_FACTOR)
            elif round_ == 1 and found:
                size = math.ceil((need - len(found)) * position / len(found) * FIRST_ROUND_FACTOR)
            else:
                size = len(candidates) - position
            found.extend(_free_in(candidates[position : position + size], query, now))
            position += size
    page = found[: query.limit]
    next_cursor = encode_cursor(page[-1][0].key) if len(found) > query.limit else None
    return Results((_rows if as_rows else _load)(actor, page), next_cursor)


@functools.cache
def _candidates_stmt(who_: str, near: bool, kind: bool, window: bool, amenities: bool, dialect: str):
    columns = [
        Venue.id,
        Venue.name,
        Venue.lat,
        Venue.lon,
        Venue.timezone,
        Space.id,
        Space.capacity,
        Space.mode,
        Space.lead_minutes,
        Space.horizon_days,
        Space.buffer_minutes,
    ]
    if amenities:
        columns += [Venue.amenities, Space.amenities]
    stmt = (
        sa.select(*columns)
        .join(Space, Space.venue_id == Venue.id)
        .where(Space.capacity >= sa.bindparam("seats"), can_see_sql(who_))
    )
    if near:
        stmt = stmt.where(
            Venue.lat.between(sa.bindparam("lat_lo"), sa.bindparam("lat_hi")),
            Venue.lon.between(sa.bindparam("lon_lo"), sa.bindparam("lon_hi")),
        )
    if kind:
        stmt = stmt.where(Venue.kind == sa.bindparam("kind"))
    if window:
        # Never open on a day the window touches: never free in it.
        open_then = sa.select(OpeningWindow.id).where(
            OpeningWindow.space_id == Space.id, one_of(OpeningWindow.weekday, "weekdays", dialect)
        )
        stmt = stmt.where(open_then.exists())
    return stmt


def _candidates(actor: User | None, query: SearchQuery) -> list[_Candidate]:
    """Visible venues within reach with the spaces that fit, as plain rows, in sort order."""
    weekdays = _weekdays(query)
    params = {"seats": query.seats, **actor_params(actor)}
    if query.near is not None:
        lat, lon = query.near
        dlat = query.radius_km / KM_PER_DEGREE_LAT
        dlon = query.radius_km / (KM_PER_DEGREE_LAT * max(0.01, math.cos(math.radians(lat))))
        params.update(lat_lo=lat - dlat, lat_hi=lat + dlat, lon_lo=lon - dlon, lon_hi=lon + dlon)
    if query.kind:
        params["kind"] = query.kind
    if weekdays is not None:
        params["weekdays"] = sorted(weekdays)
    stmt = _candidates_stmt(
        who(actor),
        query.near is not None,
        bool(query.kind),
        weekdays is not None,
        bool(query.amenities),
        dialect_name(),
    )
    wanted = set(query.amenities)
    by_venue: dict[int, _Candidate | None] = {}
    zones: dict[str, ZoneInfo] = {}
    for row in plain_rows(stmt, params):
        venue_id = row[0]
        candidate = by_venue.get(venue_id, False)
        if candidate is None:  # out of reach
            continue
        if candidate is False:
            distance = distance_km(query.near, (row[2], row[3])) if query.near is not None else None
            if distance is not None and distance > query.radius_km:
                by_venue[venue_id] = None
                continue
            zone = zones.get(row[4]) or zones.setdefault(row[4], ZoneInfo(row[4]))
            candidate = by_venue[venue_id] = _Candidate((distance or 0.0, row[1], venue_id), venue_id, distance, zone)
        if wanted and not wanted <= set(row[11] or []) | set(row[12] or []):
            continue
        space_id, capacity, mode, lead, horizon, buffer = row[5:11]
        space = SpaceLimits(space_id, capacity, lead, horizon, buffer, candidate.zone)
        candidate.spaces.append((space, _seats_needed(mode, capacity, query)))
    candidates = [c for c in by_venue.values() if c is not None and c.spaces]
    for candidate in candidates:
        candidate.spaces.sort(key=lambda s: s[0].id)
    candidates.sort(key=lambda c: c.key)
    return candidates


def _weekdays(query: SearchQuery) -> set[int] | None:
    """The weekdays of the local days the window touches in any zone; None without a window."""
    if query.free_from is None or query.free_to is None:
        return None
    start, end = query.free_from, query.free_to - timedelta(microseconds=1)
    if start.tzinfo is not None:  # an instant: local dates lie within a day of its UTC dates
        start, end = start.astimezone(UTC) - timedelta(days=1), end.astimezone(UTC) + timedelta(days=1)
    days = (end.date() - start.date()).days + 1
    return {(start.date() + timedelta(days=i)).weekday() for i in range(min(days, 7))}


def _free_in(
    candidates: list[_Candidate], query: SearchQuery, now: datetime
) -> list[tuple[_Candidate, dict[int, list[rules.Free]]]]:
    """The candidates with a space free throughout the window, with those spaces' free time.

    Free time is worked out only for the local days the window touches in each venue's zone."""
    windows: dict[int, tuple[datetime, datetime]] = {}
    in_zone: dict[ZoneInfo, tuple[tuple[datetime, datetime], date, date] | None] = {}
    wanted = []
    for candidate in candidates:
        if candidate.zone not in in_zone:
            window = _window_in_zone(candidate.zone, query)
            if window is None:  # the wall time does not exist there (spring gap)
                in_zone[candidate.zone] = None
            else:
                first = window[0].astimezone(candidate.zone).date()
                # Half-open: a window ending at midnight does not touch the next day.
                last = (window[1] - timedelta(microseconds=1)).astimezone(candidate.zone).date()
                in_zone[candidate.zone] = window, first, last
        local = in_zone[candidate.zone]
        if local is None:
            continue
        windows[candidate.venue_id], first, last = local
        wanted.extend((space, first, last) for space, _seats in candidate.spaces)
    free = free_time(wanted, now)
    kept = []
    for candidate in candidates:
        window = windows.get(candidate.venue_id)
        if window is None:
            continue
        spaces = {
            space.id: free[space.id]
            for space, seats in candidate.spaces
            if rules.seats_free_throughout(free[space.id], *window) >= seats
        }
        if spaces:
            kept.append((candidate, spaces))
    return kept


@functools.cache
def _load_stmt(who_: str, dialect: str):
    return (
        sa.select(Venue, can_manage_sql(who_))
        .where(one_of(Venue.id, "venue_ids", dialect))
        .options(joinedload(Venue.spaces))
    )


def _load(
    actor: User | None,
    page: list[tuple[_Candidate, dict[int, list[rules.Free]] | None]],
) -> list[VenueHit]:
    """The page's venues and spaces as entities, and whether the actor manages each, in one query."""
    if not page:
        return []
    params = {"venue_ids": [c.venue_id for c, _ in page], **actor_params(actor)}
    stmt = _load_stmt(who(actor), dialect_name())
    venues = {v.id: (v, bool(m)) for v, m in db.session.execute(stmt, params).unique()}
    hits = []
    for candidate, free in page:
        venue, manages = venues.get(candidate.venue_id, (None, False))
        if venue is None:  # deleted since the first query
            continue
        chosen = {space.id for space, _ in candidate.spaces} if free is None else free.keys()
        spaces = [SpaceHit(s, free[s.id] if free is not None else None) for s in venue.spaces if s.id in chosen]
        if spaces:
            distance = candidate.distance_km
            walk = walking_minutes(distance) if distance is not None else None
            hits.append(VenueHit(venue, distance, walk, spaces, manages))
    return hits


_UNSHOWN = {"created_at", "updated_at"}  # columns no answer shows: not read


@functools.cache
def _rows_stmt(who_: str, dialect: str):
    venue_columns = [c for c in Venue.__table__.columns if c.key not in _UNSHOWN]
    space_columns = [c for c in Space.__table__.columns if c.key not in _UNSHOWN]
    stmt = (
        sa.select(
            *(c.label(f"venue_{c.key}") for c in venue_columns),
            *space_columns,
            can_manage_sql(who_).label("venue_managed"),
        )
        .select_from(Space.__table__.join(Venue.__table__))
        .where(one_of(Space.__table__.c.id, "space_ids", dialect))
        .order_by(Space.__table__.c.id)
    )
    return stmt, [c.key for c in venue_columns], [c.key for c in space_columns]


def _rows(
    actor: User | None,
    page: list[tuple[_Candidate, dict[int, list[rules.Free]] | None]],
) -> list[VenueHit]:
    """The page's venues and spaces as plain values (`SimpleNamespace`s of their columns), and
    whether the actor manages each venue, in one query."""
    if not page:
        return []
    space_ids = [
        space.id for candidate, free in page for space, _seats in candidate.spaces if free is None or space.id in free
    ]
    stmt, venue_names, space_names = _rows_stmt(who(actor), dialect_name())
    venues: dict[int, tuple[SimpleNamespace, bool]] = {}
    spaces: dict[int, list[SimpleNamespace]] = {}
    split = len(venue_names)
    for row in plain_rows(stmt, {"space_ids": space_ids, **actor_params(actor)}):
        venue_id = row[0]
        if venue_id not in venues:
            venues[venue_id] = (SimpleNamespace(**dict(zip(venue_names, row[:split], strict=True))), bool(row[-1]))
        space = SimpleNamespace(**dict(zip(space_names, row[split:-1], strict=True)))
        spaces.setdefault(venue_id, []).append(space)
    hits = []
    for candidate, free in page:
        if candidate.venue_id not in venues:  # deleted since the first query
            continue
        venue, manages = venues[candidate.venue_id]
        space_hits = [SpaceHit(s, free[s.id] if free is not None else None) for s in spaces[candidate.venue_id]]
        distance = candidate.distance_km
        walk = walking_minutes(distance) if distance is not None else None
        hits.append(VenueHit(venue, distance, walk, space_hits, manages))
    return hits


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
    limit: str | int | None = None,
    cursor: str | None = None,
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
    if limit not in (None, ""):
        try:
            query.limit = int(limit)
            if not 1 <= query.limit <= MAX_LIMIT:
                raise ValueError
        except ValueError:
            errors["limit"] = [str(_l("A whole number from 1 to %(n)s.", n=MAX_LIMIT))]
    if cursor:
        query.after = decode_cursor(cursor)
        if query.after is None:
            errors["cursor"] = [str(_l("Use the next_cursor of an earlier answer, unchanged."))]
    if errors:
        raise DomainError(errors)
    return query
