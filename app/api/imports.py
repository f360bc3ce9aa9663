"""API handlers for calendars imported into a space (Google, Outlook, any iCalendar URL).

A sync downloads a feed, which can take seconds: the handlers commit before the download so
no transaction (nor SQLite's write lock) is held meanwhile, then load the objects again.
"""

from __future__ import annotations

from flask import g, jsonify

from app.api import bp
from app.api.auth import token_required
from app.api.parsing import form_from_json
from app.api.schemas import instant
from app.extensions import db
from app.feeds import imports
from app.feeds.forms import ImportForm
from app.feeds.import_models import CalendarImport
from app.venues import services as venues


def import_json(import_: CalendarImport, conflicts: list | None = None) -> dict:
    """For the space's managers only. Conflicts name the booking and its time, never the member.
    `conflicts` from `imports.conflicts_by_import` when listing many."""
    zone = import_.space.venue.zone
    if conflicts is None:
        conflicts = imports.conflicting_bookings(import_)
    return {
        "id": import_.id,
        "space_id": import_.space_id,
        "url": import_.url,
        "filename": import_.filename,
        "last_synced_at": instant(import_.last_synced_at, zone) if import_.last_synced_at else None,
        "last_attempt_at": instant(import_.last_attempt_at, zone) if import_.last_attempt_at else None,
        "last_error": import_.last_error,
        "conflicts": [
            {"booking_id": b.id, "start": instant(b.start, zone), "end": instant(b.end, zone)} for b in conflicts
        ],
    }


@bp.get("/spaces/<int:space_id>/imports")
@token_required
def list_imports(space_id: int):
    space = venues.managed_space(g.actor, space_id)
    found = imports.imports_of(g.actor, space)
    conflicts = imports.conflicts_by_import(found)
    return jsonify({"imports": [import_json(i, conflicts[i.id]) for i in found]})


@bp.post("/spaces/<int:space_id>/imports")
@token_required
def create_import(space_id: int):
    space = venues.managed_space(g.actor, space_id)
    form, _ = form_from_json(ImportForm)
    request = imports.check_url(space, form.url.data)
    db.session.commit()
    fetched = imports.download(request)
    space = venues.managed_space(g.actor, space_id)
    import_ = imports.create_import(g.actor, space, request, fetched)
    db.session.commit()
    return jsonify(import_json(import_)), 201


@bp.post("/imports/<int:import_id>/sync")
@token_required
def sync_import(import_id: int):
    request = imports.feed_request(imports.managed_import(g.actor, import_id))
    db.session.commit()
    fetched = imports.download(request)
    import_ = imports.managed_import(g.actor, import_id)
    imports.apply_download(import_, fetched)
    db.session.commit()
    return jsonify(import_json(import_))


@bp.delete("/imports/<int:import_id>")
@token_required
def delete_import(import_id: int):
    imports.delete_import(g.actor, imports.managed_import(g.actor, import_id))
    db.session.commit()
    return "", 204
