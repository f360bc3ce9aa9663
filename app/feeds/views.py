"""Feed URLs for calendar apps, the member's Calendar page, and single-event downloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from app import memory
from app.accounts.models import User
from app.accounts.services import rotate_feed_token
from app.bookings.services import visible_booking
from app.cache import cache
from app.errors import DomainError, NotFound
from app.extensions import db
from app.feeds import feeds, polls
from app.feeds import imports as calendar_imports
from app.feeds.forms import ImportForm, UploadForm
from app.feeds.ical import invitation
from app.venues import services as venues
from app.venues.models import Space, Venue
from app.web import populate_errors

bp = Blueprint("feeds", __name__)


LARGE_BODY = 256 * 1024  # a feed this large took many times its size to build: give it back

FEEDS = {  # kind: (owner entity, what its feed shows)
    "member": (User, lambda user, _language: feeds.member_feed(user)),
    "venue": (Venue, feeds.venue_feed),
    "space": (Space, feeds.space_feed),
    "busy": (Space, feeds.busy_feed),
}


def _serve(kind: str, owner_id: int, secret: str) -> Response:
    """One poll. The owner's row decides a 304; the body is taken from the cache or built only
    when the client lacks it.

    The ETag is read before the body: the body may be newer than its ETag (a change committed in
    between), never older, so a client holding that ETag asks again and gets the change.
    """
    model, make_feed = FEEDS[kind]
    now = feeds.now_utc()  # one window for the ETag and the body it keys
    poll = polls.check(kind, owner_id, secret, _language(), now)
    if poll is None:
        abort(404)
    etag, headers = poll.etag, poll.headers
    if request.if_none_match.contains_weak(etag):  # If-None-Match compares weakly (RFC 9110 13.1.2)
        return Response(status=304, headers=headers)
    base_url = request.host_url.rstrip("/")
    # The URL property holds the host the feed was asked on: part of the key, not of the ETag.
    # The public busy feed has no URL property: keyed without the host, so requests with made-up
    # Host headers cannot crowd the other feeds out of the cache.
    key = (etag, None if kind == "busy" else base_url)
    cached = cache("feed_bodies").get(key)
    if cached is not None:
        body, modified = cached
    else:
        owner = db.session.get(model, owner_id)
        if owner is None:  # deleted since its row was read
            abort(404)
        feed = make_feed(owner, poll.owner.language)
        body, modified = None, feeds.last_modified(feed, now)
    # Last-Modified only for a second that is over (a change later in the same second would get
    # the same date), and If-Modified-Since only as an exact match: the date can go backwards
    # when bookings leave the feed (a space deleted), so "not after" would hide a change.
    if modified is not None and modified <= now - timedelta(seconds=1):
        headers["Last-Modified"] = modified.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    if _not_modified_since(modified, now):
        return Response(status=304, headers=headers)
    if body is None:
        body = feeds.build(feed, base_url, now)
        cache("feed_bodies").put(key, (body, modified))
        if len(body) > LARGE_BODY:
            memory.give_back()
    response = Response(body, status=200, mimetype="text/calendar", headers=headers)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    return response


def _not_modified_since(modified: datetime | None, now: datetime) -> bool:
    """If-Modified-Since alone (If-None-Match wins when both are sent), as an exact match."""
    if request.if_none_match or request.if_modified_since is None or modified is None:
        return False
    return modified <= now - timedelta(seconds=1) and request.if_modified_since == modified.replace(microsecond=0)


@bp.get("/feeds/member/<int:user_id>/<secret>.ics")
def member(user_id: int, secret: str):
    return _serve("member", user_id, secret)


@bp.get("/feeds/venue/<int:venue_id>/<secret>.ics")
def venue(venue_id: int, secret: str):
    return _serve("venue", venue_id, secret)


@bp.get("/feeds/space/<int:space_id>/<secret>.ics")
def space(space_id: int, secret: str):
    return _serve("space", space_id, secret)


@bp.get("/feeds/busy/<int:space_id>/<secret>.ics")
def busy(space_id: int, secret: str):
    return _serve("busy", space_id, secret)


def _language() -> str:
    """Feeds without an owner's language: `?lang=en`, else Dutch."""
    return polls.language_of(request.args.get("lang"))


def member_feed_url(user: User) -> str:
    return url_for("feeds.member", user_id=user.id, secret=user.feed_token, _external=True)


def venue_feed_url(venue: Venue) -> str:
    return url_for("feeds.venue", venue_id=venue.id, secret=venue.feed_token, _external=True)


def space_feed_url(space: Space) -> str:
    return url_for("feeds.space", space_id=space.id, secret=space.feed_token, _external=True)


def busy_feed_url(space: Space) -> str:
    return url_for("feeds.busy", space_id=space.id, secret=space.busy_token, _external=True)


# -- pages -----------------------------------------------------------------------------------


class RotateForm(FlaskForm):
    """Only the CSRF token: "make a new link"."""


@bp.route("/calendar", methods=["GET", "POST"])
@login_required
def calendar():
    form = RotateForm()
    if form.validate_on_submit():
        rotate_feed_token(current_user)
        db.session.commit()
        flash(
            _("You have a new calendar link. The old one no longer works: subscribe again with the new one."), "success"
        )
        return redirect(url_for("feeds.calendar"))
    url = member_feed_url(current_user)
    webcal = "webcal://" + url.split("://", 1)[1]
    return render_template("feeds/calendar.html", form=form, feed_url=url, webcal_url=webcal)


@bp.get("/bookings/<int:booking_id>/calendar.ics")
@login_required
def booking_ics(booking_id: int):
    try:
        booking = visible_booking(current_user, booking_id)
    except NotFound:
        abort(404)
    body = invitation(booking, "PUBLISH", audience="member")
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": f'attachment; filename="dichtbij-{booking.id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )


# -- calendars a venue keeps elsewhere --------------------------------------------------------


@bp.route("/manage/spaces/<int:space_id>/calendars", methods=["GET", "POST"])
@login_required
def imports_page(space_id: int):
    """Attach a Google/Outlook calendar by its address, or upload an .ics file; its events
    then block the space. Sync now, see errors and bookings that clash."""
    space = venues.managed_space(current_user, space_id)
    url_form, upload_form = ImportForm(prefix="link"), UploadForm(prefix="upload")
    status = 200
    if request.method == "POST":
        try:
            if request.form.get("kind") == "url":
                if not url_form.validate_on_submit():
                    raise DomainError({k: v for k, v in url_form.errors.items() if k})
                feed = calendar_imports.check_url(space, url_form.url.data)
                db.session.commit()
                fetched = calendar_imports.download(feed)  # no transaction open while we wait
                space = venues.managed_space(current_user, space_id)
                made = calendar_imports.create_import(current_user, space, feed, fetched)
                db.session.commit()
                _flash_result(made)
            else:
                if not upload_form.validate_on_submit():
                    raise DomainError({k: v for k, v in upload_form.errors.items() if k})
                upload = upload_form.file.data
                made = calendar_imports.import_upload(current_user, space, upload.filename or "", upload.read())
                db.session.commit()
                _flash_result(made)
            return redirect(url_for("feeds.imports_page", space_id=space_id))
        except DomainError as exc:
            db.session.rollback()
            populate_errors(url_form if request.form.get("kind") == "url" else upload_form, exc)
            status = exc.status if exc.status in (403, 404) else 422
    space = venues.managed_space(current_user, space_id)
    found = calendar_imports.imports_of(current_user, space)
    conflicts, counts = calendar_imports.conflicts_by_import(found), calendar_imports.block_counts(found)
    rows = [(i, conflicts[i.id], counts[i.id]) for i in found]
    return render_template(
        "feeds/imports.html", space=space, venue=space.venue, rows=rows, url_form=url_form, upload_form=upload_form
    ), status


def _flash_result(made) -> None:
    if made.last_error:
        flash(_("The calendar is added, but could not be read yet: %(error)s", error=made.last_error), "error")
    else:
        flash(_("The calendar is added. Its events now block this space."), "success")


@bp.post("/manage/calendars/<int:import_id>/sync")
@login_required
def sync_now(import_id: int):
    feed = calendar_imports.feed_request(calendar_imports.managed_import(current_user, import_id))
    db.session.commit()
    fetched = calendar_imports.download(feed)
    import_ = calendar_imports.managed_import(current_user, import_id)
    calendar_imports.apply_download(import_, fetched)
    db.session.commit()
    if import_.last_error:
        flash(
            _("Could not sync: %(error)s. The last good copy still blocks the space.", error=import_.last_error),
            "error",
        )
    else:
        flash(_("Synced."), "success")
    return redirect(url_for("feeds.imports_page", space_id=import_.space_id))


@bp.post("/manage/calendars/<int:import_id>/delete")
@login_required
def delete_import(import_id: int):
    import_ = calendar_imports.managed_import(current_user, import_id)
    space_id = import_.space_id
    calendar_imports.delete_import(current_user, import_)
    db.session.commit()
    flash(_("The calendar is removed; its events no longer block the space."), "success")
    return redirect(url_for("feeds.imports_page", space_id=space_id))
