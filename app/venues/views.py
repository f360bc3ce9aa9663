"""HTML pages for venues and spaces: managing them, finding a free space, and the public pages.

Thin views: parse the form, call one service, commit once, redirect with a message. On a
DomainError the form is shown again with the messages on the right fields (422).
"""

from __future__ import annotations

from datetime import time, timedelta
from functools import wraps
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, TimeField
from wtforms.validators import DataRequired

from app.availability.forms import SearchForm
from app.db import now_utc
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.venues import pages
from app.venues import search as venue_search
from app.venues import services as venues
from app.venues.forms import ManagerForm, SpaceForm, VenueForm
from app.web import populate_errors, save, status_of

bp = Blueprint("venues", __name__)
pages.register(bp)


class ConfirmForm(FlaskForm):
    """An empty form: a delete button with its CSRF token."""


class FindForm(SearchForm):
    """The search form of the API, with the date and the times as a person enters them."""

    date = DateField(_l("Date"), validators=[DataRequired(message=_l("Enter a date."))])
    from_ = TimeField(_l("From"), name="from", validators=[DataRequired(message=_l("Enter a time like 09:00."))])
    until = TimeField(_l("Until"), validators=[DataRequired(message=_l("Enter a time like 12:00."))])


# build_query names the ISO fields; the page shows them as a date and two times.
FIND_FIELDS = {"free_from": "from_", "free_to": "until", "near": None}
FIND_LIMIT = venue_search.DEFAULT_LIMIT  # venues a page


def actor():
    """The signed-in user (not the proxy), or None for a visitor."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def manager_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_manager:
            raise Forbidden(detail=_("Only venue managers can manage venues."))
        return view(*args, **kwargs)

    return login_required(wrapped)


def form_values(form: FlaskForm) -> dict:
    return {k: v for k, v in form.data.items() if k != "csrf_token"}


# -- managing venues -------------------------------------------------------------------------


@bp.get("/manage/venues")
@manager_required
def my_venues():
    return render_template("manage/venues.html", venues=venues.venues_managed_by(actor()))


@bp.route("/manage/venues/new", methods=["GET", "POST"])
@manager_required
def new_venue():
    form = VenueForm()
    if form.validate_on_submit() and (saved := save(form, lambda: venues.create_venue(actor(), form_values(form)))):
        venue = saved.value
        flash(_("%(name)s is added. Now add its first space.", name=venue.name), "success")
        return redirect(url_for("venues.new_space", venue_id=venue.id))
    return render_template("manage/venue_form.html", form=form, venue=None), status_of(form)


@bp.route("/manage/venues/<int:venue_id>/edit", methods=["GET", "POST"])
@manager_required
def edit_venue(venue_id: int):
    venue = venues.managed_venue(actor(), venue_id)
    form = VenueForm(obj=venue)
    if form.validate_on_submit() and save(form, lambda: venues.update_venue(actor(), venue, form_values(form))):
        flash(_("%(name)s is saved.", name=venue.name), "success")
        return redirect(url_for("venues.my_venues"))
    manager_form = ManagerForm(formdata=None)
    return render_venue_form(venue, form, manager_form)


@bp.post("/manage/venues/<int:venue_id>/managers")
@manager_required
def add_manager(venue_id: int):
    venue = venues.managed_venue(actor(), venue_id)
    manager_form = ManagerForm()
    if manager_form.validate_on_submit() and (
        saved := save(manager_form, lambda: venues.add_manager(actor(), venue, manager_form.email.data))
    ):
        flash(_("%(name)s now manages %(venue)s too.", name=saved.value.name, venue=venue.name), "success")
        return redirect(url_for("venues.edit_venue", venue_id=venue.id))
    return render_venue_form(venue, VenueForm(formdata=None, obj=venue), manager_form)


def render_venue_form(venue, form: VenueForm, manager_form: ManagerForm):
    return (
        render_template("manage/venue_form.html", form=form, venue=venue, manager_form=manager_form),
        status_of(form, manager_form),
    )


@bp.route("/manage/venues/<int:venue_id>/delete", methods=["GET", "POST"])
@manager_required
def delete_venue(venue_id: int):
    venue = venues.managed_venue(actor(), venue_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = venue.name
        venues.delete_venue(actor(), venue)
        db.session.commit()
        flash(_("%(name)s is deleted.", name=name), "success")
        return redirect(url_for("venues.my_venues"))
    return render_template("manage/confirm_delete.html", form=form, venue=venue, space=None), status_of(form)


# -- managing spaces -------------------------------------------------------------------------


@bp.route("/manage/venues/<int:venue_id>/spaces/new", methods=["GET", "POST"])
@manager_required
def new_space(venue_id: int):
    venue = venues.managed_venue(actor(), venue_id)
    form = SpaceForm()
    if form.validate_on_submit() and (
        saved := save(form, lambda: venues.create_space(actor(), venue, form_values(form)))
    ):
        space = saved.value
        flash(_("%(name)s is added. Now set its opening hours.", name=space.name), "success")
        return redirect(url_for("availability.hours", space_id=space.id))
    return render_template("manage/space_form.html", form=form, venue=venue, space=None), status_of(form)


@bp.route("/manage/spaces/<int:space_id>/edit", methods=["GET", "POST"])
@manager_required
def edit_space(space_id: int):
    space = venues.managed_space(actor(), space_id)
    form = SpaceForm(obj=space)
    if form.validate_on_submit() and save(form, lambda: venues.update_space(actor(), space, form_values(form))):
        flash(_("%(name)s is saved.", name=space.name), "success")
        return redirect(url_for("venues.my_venues"))
    return (
        render_template("manage/space_form.html", form=form, venue=space.venue, space=space),
        status_of(form),
    )


@bp.route("/manage/spaces/<int:space_id>/delete", methods=["GET", "POST"])
@manager_required
def delete_space(space_id: int):
    space = venues.managed_space(actor(), space_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = space.name
        venues.delete_space(actor(), space)
        db.session.commit()
        flash(_("%(name)s is deleted.", name=name), "success")
        return redirect(url_for("venues.my_venues"))
    return (
        render_template("manage/confirm_delete.html", form=form, venue=space.venue, space=space),
        status_of(form),
    )


# -- finding a space -------------------------------------------------------------------------


@bp.get("/find")
def find():
    zone = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    tomorrow = now_utc().astimezone(zone).date() + timedelta(days=1)
    form = FindForm(request.args, data={"date": tomorrow, "from_": time(9), "until": time(12), "seats": 1})
    user = actor()
    home = (user.home_lat, user.home_lon) if user is not None and user.home_lat is not None else None
    hits = timelines = more_url = None
    later_page = False
    if form.validate() and not pages.within_reach(form.date.data, tomorrow):
        form.date.errors.append(_("Choose a date in the next two years."))
    elif not form.errors:
        day = form.date.data
        try:
            query = venue_search.build_query(
                near=None,
                radius_km=form.radius_km.data,
                kind=form.kind.data,
                amenities=form.amenity.data,
                seats=form.seats.data,
                free_from=f"{day.isoformat()}T{form.from_.data:%H:%M}",
                free_to=f"{day.isoformat()}T{form.until.data:%H:%M}",
                home=home,
                check_zone=zone,
                limit=FIND_LIMIT,
            )
        except DomainError as exc:
            errors = {FIND_FIELDS.get(k, k) or "": v for k, v in exc.errors.items()}
            populate_errors(form, DomainError(errors))
        else:
            # A cursor comes from our own "more" link; one that is not (edited by hand) starts over.
            query.after = venue_search.decode_cursor(request.args.get("cursor", ""))
            later_page = query.after is not None
            found = venue_search.search(user, query, now_utc())
            hits = found.hits
            timelines = pages.result_timelines(hits, day, query)
            if found.next_cursor:
                more_url = _find_url(form, cursor=found.next_cursor) + "#results-heading"
    page = render_template(
        "venues/find.html",
        form=form,
        hits=hits,
        timelines=timelines,
        home=home,
        more_url=more_url,
        later_page=later_page,
        find_url=lambda **changes: _find_url(form, **changes),
    )
    # htmx swaps in 2xx answers only; the form with its errors is the answer it should show.
    return page, 200 if request.headers.get("HX-Request") else status_of(form)


def _find_url(form: FindForm, **changes) -> str:
    """This search again with `changes` (a value of None drops the field): built from the form's
    own fields only, so a stray query key can neither reach `url_for` nor ride along."""
    known = {field.name for field in form} | {"cursor"}
    args = {key: values for key, values in request.args.lists() if key in known}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [value]
    query = urlencode(args, doseq=True)
    return url_for("venues.find") + (f"?{query}" if query else "")


# -- public pages ----------------------------------------------------------------------------


@bp.get("/venues/<int:venue_id>")
def venue(venue_id: int):
    venue = venues.visible_venue(actor(), venue_id)
    return render_template("venues/venue.html", venue=venue)


@bp.get("/spaces/<int:space_id>")
def space(space_id: int):
    space = venues.visible_space(actor(), space_id)
    now = now_utc()
    today = now.astimezone(space.venue.zone).date()
    monday = pages.parse_week(request.args.get("week"), today)
    this_monday = pages.monday_of(today)
    last_bookable = today + timedelta(days=space.horizon_days)
    return render_template(
        "venues/space.html",
        space=space,
        venue=space.venue,
        days=pages.week_slots(space, monday, now),
        today=today,
        monday=monday,
        previous_week=monday - timedelta(days=7) if monday > this_monday else None,
        next_week=monday + timedelta(days=7) if monday + timedelta(days=7) <= last_bookable else None,
    )
