"""API handlers for venues, spaces, opening hours, closures, availability and search."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.api import bp
from app.api.auth import token_required
from app.api.parsing import form_from_json, json_body, refuse_empty_numbers
from app.api.schemas import busy_feed_link, closure_json, instant, space_json, venue_json, window_json
from app.availability import services as availability
from app.availability.forms import ClosureForm, HoursForm, RangeForm, SearchForm
from app.availability.localtime import BadTime, parse_date
from app.availability.spans import read_span
from app.db import now_utc
from app.errors import DomainError
from app.extensions import db
from app.forms import form_errors
from app.venues import search as venue_search
from app.venues import services as venues
from app.venues.forms import ManagerForm, SpaceForm, VenueForm


def _form_values(form) -> dict:
    return {k: v for k, v in form.data.items() if k != "csrf_token"}


# -- venues ----------------------------------------------------------------------------------


@bp.get("/venues")
@token_required
def list_venues():
    refuse_empty_numbers(request.args, {"seats": 10_000, "limit": venue_search.MAX_LIMIT})
    form = SearchForm(request.args)
    if not form.validate():
        raise DomainError(form_errors(form))
    actor = g.actor
    home = (actor.home_lat, actor.home_lon) if actor.home_lat is not None else None
    query = venue_search.build_query(
        near=form.near.data,
        radius_km=form.radius_km.data,
        kind=form.kind.data,
        amenities=form.amenity.data,
        seats=form.seats.data,
        free_from=form.free_from.data,
        free_to=form.free_to.data,
        home=home,
        check_zone=ZoneInfo(current_app.config["DEFAULT_TIMEZONE"]),
        limit=request.args.get("limit"),
        cursor=request.args.get("cursor"),
    )
    found = venue_search.search(actor, query, now_utc(), as_rows=True)
    busy_url = busy_feed_link()
    result = []
    for hit in found.hits:
        item = venue_json(hit.venue, actor, manages=hit.manages)
        item["distance_km"] = round(hit.distance_km, 2) if hit.distance_km is not None else None
        item["walking_minutes"] = hit.walking_minutes
        item["spaces"] = [space_json(s.space, actor, busy_url=busy_url, manages=hit.manages) for s in hit.spaces]
        result.append(item)
    return jsonify({"venues": result, "next_cursor": found.next_cursor})


@bp.post("/venues")
@token_required
def create_venue():
    form, _ = form_from_json(VenueForm)
    venue = venues.create_venue(g.actor, _form_values(form))
    db.session.commit()
    return jsonify(venue_json(venue, g.actor)), 201


@bp.get("/venues/<int:venue_id>")
@token_required
def get_venue(venue_id: int):
    venue = venues.visible_venue(g.actor, venue_id)
    body = venue_json(venue, g.actor)
    body["spaces"] = [space_json(s, g.actor) for s in venue.spaces]
    return jsonify(body)


@bp.patch("/venues/<int:venue_id>")
@token_required
def patch_venue(venue_id: int):
    venue = venues.managed_venue(g.actor, venue_id)
    current = venues.venue_values(venue)
    form, _ = form_from_json(VenueForm, {**current, **json_body()})
    venues.update_venue(g.actor, venue, _form_values(form))
    db.session.commit()
    return jsonify(venue_json(venue, g.actor))


@bp.delete("/venues/<int:venue_id>")
@token_required
def delete_venue(venue_id: int):
    venue = venues.managed_venue(g.actor, venue_id)
    venues.delete_venue(g.actor, venue)
    db.session.commit()
    return "", 204


@bp.post("/venues/<int:venue_id>/managers")
@token_required
def add_manager(venue_id: int):
    venue = venues.managed_venue(g.actor, venue_id)
    form, _ = form_from_json(ManagerForm)
    user = venues.add_manager(g.actor, venue, form.email.data)
    db.session.commit()
    return jsonify({"venue_id": venue.id, "user_id": user.id, "email": user.email}), 201


# -- spaces ----------------------------------------------------------------------------------


@bp.post("/venues/<int:venue_id>/spaces")
@token_required
def create_space(venue_id: int):
    venue = venues.managed_venue(g.actor, venue_id)
    body = dict(venues.SPACE_DEFAULTS.items())
    body.update(json_body())
    form, _ = form_from_json(SpaceForm, body)
    space = venues.create_space(g.actor, venue, _form_values(form))
    db.session.commit()
    return jsonify(space_json(space, g.actor)), 201


@bp.get("/spaces/<int:space_id>")
@token_required
def get_space(space_id: int):
    space = venues.visible_space(g.actor, space_id)
    return jsonify(space_json(space, g.actor))


@bp.patch("/spaces/<int:space_id>")
@token_required
def patch_space(space_id: int):
    space = venues.managed_space(g.actor, space_id)
    current = venues.space_values(space)
    form, _ = form_from_json(SpaceForm, {**current, **json_body()})
    venues.update_space(g.actor, space, _form_values(form))
    db.session.commit()
    return jsonify(space_json(space, g.actor))


@bp.delete("/spaces/<int:space_id>")
@token_required
def delete_space(space_id: int):
    space = venues.managed_space(g.actor, space_id)
    venues.delete_space(g.actor, space)
    db.session.commit()
    return "", 204


# -- opening hours and closures --------------------------------------------------------------


@bp.get("/spaces/<int:space_id>/hours")
@token_required
def get_hours(space_id: int):
    space = venues.visible_space(g.actor, space_id)
    return jsonify(
        {
            "space_id": space.id,
            "timezone": space.venue.timezone,
            "hours": [window_json(w) for w in space.windows],
        }
    )


@bp.put("/spaces/<int:space_id>/hours")
@token_required
def put_hours(space_id: int):
    space = venues.managed_space(g.actor, space_id)
    body = json_body()
    if "hours" not in body:
        raise DomainError.on("hours", _l("Send the week's hours as a list (it may be empty)."))
    form, _ = form_from_json(HoursForm, body)
    windows = [(e.weekday.data, e.opens.data, e.closes.data) for e in form.hours]
    availability.set_hours(g.actor, space, windows)
    db.session.commit()
    return get_hours(space_id)


def closure_range(form: ClosureForm, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A date means the whole local day (the end date included); a date-time is used as is."""
    return read_span({"start": form.start.data, "end": form.end.data}, zone, dates=True)


@bp.get("/spaces/<int:space_id>/closures")
@token_required
def list_closures(space_id: int):
    space = venues.visible_space(g.actor, space_id)
    return jsonify({"closures": [closure_json(c) for c in space.closures]})


@bp.post("/spaces/<int:space_id>/closures")
@token_required
def create_closure(space_id: int):
    space = venues.managed_space(g.actor, space_id)
    form, _ = form_from_json(ClosureForm)
    start, end = closure_range(form, space.venue.zone)
    closure = availability.add_closure(g.actor, space, start, end, form.reason.data or "")
    db.session.commit()
    return jsonify(closure_json(closure)), 201


@bp.delete("/closures/<int:closure_id>")
@token_required
def delete_closure(closure_id: int):
    closure = availability.managed_closure(g.actor, closure_id)
    availability.delete_closure(g.actor, closure)
    db.session.commit()
    return "", 204


# -- availability ----------------------------------------------------------------------------


def parse_range(form: RangeForm) -> tuple[date, date]:
    if not form.validate():
        raise DomainError(form_errors(form))
    errors, days = {}, []
    for name, field in (("from", form.from_), ("to", form.to)):
        try:
            days.append(parse_date(field.data))
        except BadTime:
            errors[name] = [str(_l("Use a date like 2026-12-01."))]
    if errors:
        raise DomainError(errors)
    availability.check_range(days[0], days[1])
    return days[0], days[1]


@bp.get("/spaces/<int:space_id>/availability")
@token_required
def space_availability(space_id: int):
    space = availability.visible_space_limits(g.actor, space_id)  # one plain row, no entities
    first, last = parse_range(RangeForm(request.args))
    zone = space.zone
    free = availability.free_time([(space, first, last)], now_utc())[space.id]
    return jsonify(
        {
            "space_id": space.id,
            "timezone": zone.key,
            "free": [{"start": instant(f.start, zone), "end": instant(f.end, zone), "seats": f.seats} for f in free],
        }
    )
