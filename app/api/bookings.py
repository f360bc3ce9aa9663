"""API handlers for bookings, series, approvals and blocks."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Response, g, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from app.accounts.services import user_by_email
from app.api import bp
from app.api.auth import token_required
from app.api.parsing import form_from_json, json_body
from app.api.schemas import instant
from app.availability.localtime import BadTime, day_range, parse_date, parse_instant
from app.availability.spans import read_span
from app.bookings import services as bookings
from app.bookings.forms import BlockForm, BookingForm, ChangeForm, ListForm, MessageForm, ReasonForm, SeriesCancelForm
from app.bookings.models import Booking, IdempotencyKey
from app.database import plain_row
from app.db import now_utc
from app.errors import DomainError
from app.extensions import db
from app.forms import form_errors
from app.venues import services as venues
from app.venues.models import Space, Venue, venue_managers

IDEMPOTENCY_TTL = timedelta(hours=24)


def booking_json(booking: Booking, manages: bool | None = None) -> dict:
    """`manages`: whether the actor manages the booking's venue, when the caller knows already."""
    zone = booking.space.venue.zone
    body = {
        "id": booking.id,
        "space_id": booking.space_id,
        "venue_id": booking.space.venue_id,
        "start": instant(booking.start, zone),
        "end": instant(booking.end, zone),
        "seats": booking.seats,
        "whole": booking.whole,
        "title": booking.title,
        "status": booking.status,
        "series_id": booking.series_id,
        "created_at": instant(booking.created_at, zone),
        "updated_at": instant(booking.updated_at, zone),
        "kind": booking.kind,
    }
    if manages is None:
        manages = booking.space.can_manage(g.actor)
    if manages:
        body["member"] = {"name": booking.member.name, "email": booking.member.email} if booking.member else None
    return body


def times(form, space: Space) -> tuple[datetime, datetime]:
    """Start and end in the space's zone; a local time that does not exist is a 422."""
    return read_span({"start": form.start.data, "end": form.end.data}, space.venue.zone)


_SPACE_ZONE = None


def _space_zone(space_id: int) -> ZoneInfo:
    """The zone of a space the actor may see (before the write transaction, which reads the space
    again under its lock): one statement of plain values, built once per process."""
    global _SPACE_ZONE
    if _SPACE_ZONE is None:
        manages = sa.exists().where(
            venue_managers.c.venue_id == Venue.id, venue_managers.c.user_id == sa.bindparam("actor_id")
        )
        _SPACE_ZONE = (
            sa.select(Venue.timezone, Venue.published, manages.label("manages"))
            .join(Space, Space.venue_id == Venue.id)
            .where(Space.id == sa.bindparam("space_id"))
        )
    row = plain_row(_SPACE_ZONE, {"space_id": space_id, "actor_id": g.actor.id})
    if row is None or not (row.published or g.actor.is_admin or row.manages):  # Space.can_see
        raise DomainError.on("space_id", _l("This space does not exist."))
    return ZoneInfo(row.timezone)


def _request_hash(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path} {canonical}".encode()).hexdigest()


def _replay(key: str, digest: str) -> Response | None:
    since = now_utc() - IDEMPOTENCY_TTL
    stored = db.session.scalar(
        sa.select(IdempotencyKey).where(
            IdempotencyKey.user_id == g.actor.id, IdempotencyKey.key == key, IdempotencyKey.created_at > since
        )
    )
    if stored is None:
        return None
    if stored.request_hash != digest:
        raise DomainError.on("Idempotency-Key", _l("This key was used for another request."))
    return Response(stored.body, status=stored.status, mimetype="application/json")


@bp.post("/bookings")
@token_required(read_first=True)
def create_booking():
    """Everything before `bookings.create_booking` only reads (on SQLite in a deferred transaction,
    so other bookings' write transactions go on meanwhile); the booking, its mail and the
    idempotency record are written in one write transaction; the answer is rendered from what
    that transaction left loaded, so no statement runs after the commit."""
    body = json_body()
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        raise DomainError.on("Idempotency-Key", _l("Use at most %(n)s characters.", n=200))
    digest = _request_hash(body)
    if key and (replayed := _replay(key, digest)):
        return replayed
    if body.get("repeat") is None:
        body.pop("repeat", None)
    form, present = form_from_json(BookingForm, body)
    zone = _space_zone(form.space_id.data)
    start, end = read_span({"start": form.start.data, "end": form.end.data}, zone)
    repeat = None
    if "repeat" in present:
        if not form.repeat.freq.data or not form.repeat.count.data:
            raise DomainError.on("repeat", _l("Give freq (daily or weekly) and count (2 to 52)."))
        repeat = bookings.Repeat(form.repeat.freq.data, form.repeat.count.data, form.repeat.skip_conflicts.data)
    member = None
    if form.member_email.data:
        member = user_by_email(form.member_email.data)
        if member is None:
            raise DomainError.on("member_email", _l("No account has this e-mail address."))

    def render(result: bookings.BookingResult) -> tuple[dict, int]:
        if repeat is None:
            return booking_json(result.bookings[0], result.manages), 201
        return {
            "series_id": result.series_id,
            "bookings": [booking_json(b, result.manages) for b in result.bookings],
            "skipped": [
                {"start": instant(s.start, zone), "end": instant(s.end, zone), "reason": s.reason}
                for s in result.skipped
            ],
        }, 201

    rendered: list[tuple[dict, int]] = []

    def remember(result: bookings.BookingResult) -> None:
        if key:
            payload, status = render(result)
            rendered[:] = [(payload, status)]
            db.session.add(
                IdempotencyKey(
                    user_id=g.actor.id, key=key, request_hash=digest, status=status, body=json.dumps(payload)
                )
            )
            db.session.flush()

    try:
        result = bookings.create_booking(
            g.actor,
            form.space_id.data,
            start,
            end,
            seats=form.seats.data or 1,
            whole=form.whole.data,
            title=form.title.data or "",
            repeat=repeat,
            member=member,
            and_then=remember,
        )
    except IntegrityError:
        # The same key raced in from another request; its answer is now stored.
        db.session.rollback()
        if key and (replayed := _replay(key, digest)):
            return replayed
        raise
    payload, status = rendered[0] if rendered else render(result)
    return jsonify(payload), status


def _list_range(form: ListForm, zone) -> tuple[datetime, datetime]:
    """Dates are whole local days (both inclusive); date-times a half-open window."""
    now = now_utc()
    errors, bounds = {}, []
    for name, field, default in (
        ("from", form.from_, now - timedelta(days=30)),
        ("to", form.to, now + timedelta(days=90)),
    ):
        text = (field.data or "").strip()
        try:
            if not text:
                bounds.append(default)
            elif len(text) == 10:
                day = parse_date(text)
                bounds.append(day_range(day, day, zone)[0 if name == "from" else 1])
            else:
                bounds.append(parse_instant(text, zone))
        except BadTime:
            errors[name] = [str(_l("Use a date (2026-12-01) or a date and time (2026-12-01T09:00)."))]
    if errors:
        raise DomainError(errors)
    if bounds[1] <= bounds[0]:
        raise DomainError.on("to", _l("The end must be after the start."))
    if bounds[1] - bounds[0] > timedelta(days=bookings.MAX_LIST_DAYS + 1):
        raise DomainError.on("to", _l("Ask for at most %(n)s days at a time.", n=bookings.MAX_LIST_DAYS))
    return bounds[0].astimezone(UTC), bounds[1].astimezone(UTC)


@bp.get("/bookings")
@token_required
def list_bookings():
    from zoneinfo import ZoneInfo

    from flask import current_app

    form = ListForm(request.args)
    if not form.validate():
        raise DomainError(form_errors(form))
    zone = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    if form.space_id.data:
        space = db.session.get(Space, form.space_id.data)
        if space is not None:
            zone = space.venue.zone
    start, end = _list_range(form, zone)
    found = bookings.list_bookings(
        g.actor, start, end, space_id=form.space_id.data, venue_id=form.venue_id.data, status=form.status.data or None
    )
    managed = venues.managed_venue_ids(g.actor)
    return jsonify({"bookings": [booking_json(b, g.actor.is_admin or b.space.venue_id in managed) for b in found]})


@bp.get("/bookings/<int:booking_id>")
@token_required
def get_booking(booking_id: int):
    return jsonify(booking_json(bookings.visible_booking(g.actor, booking_id)))


@bp.patch("/bookings/<int:booking_id>")
@token_required
def change_booking(booking_id: int):
    booking = bookings.visible_booking(g.actor, booking_id)
    form, present = form_from_json(ChangeForm)
    start = end = None
    if "start" in present or "end" in present:
        zone = booking.space.venue.zone
        current = {"start": instant(booking.start, zone), "end": instant(booking.end, zone)}
        form.start.data = form.start.data or current["start"]
        form.end.data = form.end.data or current["end"]
        start, end = times(form, booking.space)
    changed = bookings.change_booking(
        g.actor,
        booking_id,
        start=start,
        end=end,
        seats=form.seats.data if "seats" in present else None,
        whole=form.whole.data if "whole" in present else None,
        title=form.title.data if "title" in present else None,
    )
    return jsonify(booking_json(changed))


@bp.post("/bookings/<int:booking_id>/cancel")
@token_required
def cancel_booking(booking_id: int):
    form, _ = form_from_json(ReasonForm)
    return jsonify(booking_json(bookings.cancel_booking(g.actor, booking_id, form.reason.data or "")))


@bp.post("/series/<series_id>/cancel")
@token_required
def cancel_series(series_id: str):
    form, _ = form_from_json(SeriesCancelForm)
    from_ = None
    if form.from_.data:
        try:
            from_ = parse_instant(form.from_.data, UTC)
        except BadTime:
            raise DomainError.on("from", _l("Use a date and time with an offset, like 2026-12-01T09:00:00+01:00."))
    cancelled = bookings.cancel_series(g.actor, series_id[:40], from_, form.reason.data or "")
    return jsonify({"series_id": series_id, "bookings": [booking_json(b) for b in cancelled]})


@bp.post("/bookings/<int:booking_id>/approve")
@token_required
def approve_booking(booking_id: int):
    form, _ = form_from_json(MessageForm)
    return jsonify(booking_json(bookings.approve_booking(g.actor, booking_id, form.message.data or "")))


@bp.post("/bookings/<int:booking_id>/decline")
@token_required
def decline_booking(booking_id: int):
    form, _ = form_from_json(ReasonForm)
    return jsonify(booking_json(bookings.decline_booking(g.actor, booking_id, form.reason.data or "")))


@bp.post("/spaces/<int:space_id>/blocks")
@token_required
def create_block(space_id: int):
    from app.venues.services import managed_space

    space = managed_space(g.actor, space_id)
    form, _ = form_from_json(BlockForm)
    start, end = times(form, space)
    block = bookings.create_block(g.actor, space.id, start, end, form.title.data or "")
    return jsonify(booking_json(block)), 201
