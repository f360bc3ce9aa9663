"""JSON shapes of the API's objects. Times carry the venue's UTC offset."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from app.accounts.models import User
from app.availability.models import Closure, OpeningWindow
from app.feeds.views import busy_feed_url, space_feed_url, venue_feed_url
from app.venues.models import Space, Venue


def instant(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).isoformat()


def venue_json(venue: Venue, actor: User | None = None, *, manages: bool | None = None) -> dict:
    """`manages`: whether the actor may manage the venue, when the caller knows it already."""
    body = {
        "id": venue.id,
        "name": venue.name,
        "kind": venue.kind,
        "address": venue.address,
        "postcode": venue.postcode,
        "city": venue.city,
        "neighbourhood": venue.neighbourhood,
        "lat": venue.lat,
        "lon": venue.lon,
        "timezone": venue.timezone,
        "description": venue.description,
        "contact": venue.contact,
        "amenities": list(venue.amenities or []),
        "published": venue.published,
    }
    if venue.can_manage(actor) if manages is None else manages:
        body["feed_url"] = venue_feed_url(venue)
    return body


def busy_feed_link() -> Callable[[Space], str]:
    """`busy_feed_url` for many spaces: `url_for` once, then only the id and secret change."""
    sample = busy_feed_url(_SAMPLE_SPACE)
    head, sep, tail = sample.rpartition(f"/{_SAMPLE_SPACE.id}/{_SAMPLE_SPACE.busy_token}")
    if not sep:
        return busy_feed_url

    def link(space: Space) -> str:
        if not _URL_SAFE.fullmatch(space.busy_token):  # would need quoting: let url_for do it
            return busy_feed_url(space)
        return f"{head}/{space.id}/{space.busy_token}{tail}"

    return link


_SAMPLE_SPACE = SimpleNamespace(id=0, busy_token="SECRET")
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def space_json(
    space: Space,
    actor: User | None = None,
    *,
    busy_url: Callable[[Space], str] | None = None,
    manages: bool | None = None,
) -> dict:
    """`busy_url` builds the busy feed's URL (see busy_feed_link); `manages` as for venue_json."""
    body = {
        "id": space.id,
        "venue_id": space.venue_id,
        "name": space.name,
        "description": space.description,
        "capacity": space.capacity,
        "mode": space.mode,
        "slot_minutes": space.slot_minutes,
        "min_minutes": space.min_minutes,
        "max_minutes": space.max_minutes,
        "lead_minutes": space.lead_minutes,
        "horizon_days": space.horizon_days,
        "buffer_minutes": space.buffer_minutes,
        "requires_approval": space.requires_approval,
        "cancel_hours": space.cancel_hours,
        "price_per_hour_cents": space.price_per_hour_cents,
        "amenities": list(space.amenities or []),
        "busy_feed_url": (busy_url or busy_feed_url)(space),
    }
    if space.can_manage(actor) if manages is None else manages:
        body["feed_url"] = space_feed_url(space)
    return body


def window_json(window: OpeningWindow) -> dict:
    return {
        "weekday": window.weekday,
        "opens": window.opens.strftime("%H:%M"),
        "closes": window.closes.strftime("%H:%M"),
    }


def closure_json(closure: Closure) -> dict:
    zone = closure.space.venue.zone
    return {
        "id": closure.id,
        "start": instant(closure.start, zone),
        "end": instant(closure.end, zone),
        "reason": closure.reason,
    }
