"""HTML pages for a space's weekly opening hours and its closures (managers only)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, SelectField

from app.api.venues import closure_range
from app.availability import services as availability
from app.availability.forms import ClosureForm, WindowForm
from app.errors import DomainError
from app.extensions import db
from app.venues import pages
from app.venues import services as venues
from app.venues.views import actor, manager_required
from app.web import save

bp = Blueprint("availability", __name__)

ROWS_PER_DAY = 3  # opening windows shown per weekday; more appear when a day already has more
MAX_ROWS_PER_DAY = 12
ROW_NAME = re.compile(r"^day([0-6])-(\d{1,2})-(?:opens|closes)$")
ERROR_KEY = re.compile(r"^hours\[(\d+)\]\.(\w+)$")


class HoursPageForm(FlaskForm):
    """The CSRF token of the hours editor; the rows are WindowForms of their own."""


class CopyHoursForm(FlaskForm):
    source = SelectField(_l("Copy the opening hours of"), coerce=int)


class ClosurePageForm(ClosureForm):
    all_spaces = BooleanField(_l("Close all spaces of this venue"))


@dataclass
class HoursRow:
    weekday: int
    number: int
    form: WindowForm

    @property
    def errors(self) -> list[str]:
        return [*self.form.opens.errors, *self.form.closes.errors, *self.form.weekday.errors]


def hours_rows(space, formdata: MultiDict | None) -> list[list[HoursRow]]:
    """Rows per weekday: the saved windows (GET) or what was submitted (POST), padded to three."""
    rows: list[list[HoursRow]] = []
    for weekday in range(7):
        saved = [w for w in space.windows if w.weekday == weekday]
        if formdata is None:
            count = max(ROWS_PER_DAY, len(saved))
        else:
            numbers = [int(m[2]) for k in formdata if (m := ROW_NAME.match(k)) and int(m[1]) == weekday]
            count = min(MAX_ROWS_PER_DAY, max([ROWS_PER_DAY, *(n + 1 for n in numbers)]))
        day_rows = []
        for number in range(count):
            data = {"weekday": weekday}
            if formdata is None and number < len(saved):
                data.update(opens=saved[number].opens, closes=saved[number].closes)
            form = WindowForm(formdata=formdata, prefix=f"day{weekday}-{number}-", data=data)
            form.weekday.data = weekday  # the row says which day; never the browser
            day_rows.append(HoursRow(weekday, number, form))
        rows.append(day_rows)
    return rows


def is_empty(row: HoursRow) -> bool:
    return not (row.form.opens.raw_data and row.form.opens.raw_data[0]) and not (
        row.form.closes.raw_data and row.form.closes.raw_data[0]
    )


def render_hours(space, form, rows, copy_form, status=200):
    return (
        render_template("manage/hours.html", space=space, venue=space.venue, form=form, rows=rows, copy_form=copy_form),
        status,
    )


def copy_hours_form(space, formdata=None) -> CopyHoursForm | None:
    others = pages.other_managed_spaces(actor(), space)
    if not others:
        return None
    form = CopyHoursForm(formdata=formdata)
    form.source.choices = [(s.id, f"{s.venue.name} — {s.name}") for s in others]
    return form


@bp.route("/manage/spaces/<int:space_id>/hours", methods=["GET", "POST"])
@manager_required
def hours(space_id: int):
    space = venues.managed_space(actor(), space_id)
    form = HoursPageForm()
    if request.method == "GET":
        return render_hours(space, form, hours_rows(space, None), copy_hours_form(space))
    rows = hours_rows(space, request.form)
    filled = [row for day_rows in rows for row in day_rows if not is_empty(row)]
    shape_ok = form.validate_on_submit()
    for row in filled:  # check every row, so each shows its own message
        opens_ok = row.form.opens.validate(row.form)
        closes_ok = row.form.closes.validate(row.form)
        shape_ok = shape_ok and opens_ok and closes_ok
    if shape_ok:
        windows = [(row.weekday, row.form.opens.data, row.form.closes.data) for row in filled]
        try:
            availability.set_hours(actor(), space, windows)
        except DomainError as exc:
            db.session.rollback()
            place_errors(form, filled, exc)
        else:
            db.session.commit()
            flash(_("The opening hours of %(name)s are saved.", name=space.name), "success")
            return redirect(url_for("availability.hours", space_id=space.id))
    return render_hours(space, form, rows, copy_hours_form(space), 422)


def place_errors(form: FlaskForm, filled: list[HoursRow], exc: DomainError) -> None:
    """`hours[3].closes` is the fourth window sent: put its message on that row's field."""
    for key, messages in exc.errors.items():
        match = ERROR_KEY.match(key)
        if match and int(match[1]) < len(filled) and match[2] in ("opens", "closes", "weekday"):
            field = getattr(filled[int(match[1])].form, match[2])
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not exc.errors:
        form.form_errors.append(exc.detail)


@bp.post("/manage/spaces/<int:space_id>/hours/copy")
@manager_required
def copy_hours(space_id: int):
    space = venues.managed_space(actor(), space_id)
    copy_form = copy_hours_form(space, request.form)
    if copy_form is not None and copy_form.validate_on_submit():
        source = venues.managed_space(actor(), copy_form.source.data)
        if save(copy_form, lambda: availability.copy_hours(actor(), space, source)):
            flash(
                _("The opening hours of %(source)s are copied to %(name)s.", source=source.name, name=space.name),
                "success",
            )
            return redirect(url_for("availability.hours", space_id=space.id))
    return render_hours(space, HoursPageForm(formdata=None), hours_rows(space, None), copy_form, 422)


# -- closures --------------------------------------------------------------------------------

VARIANTS = ("days", "times")


def closure_forms(formdata=None, variant: str | None = None) -> dict[str, ClosurePageForm]:
    return {name: ClosurePageForm(formdata=formdata if name == variant else None, prefix=name) for name in VARIANTS}


@bp.route("/manage/spaces/<int:space_id>/closures", methods=["GET", "POST"])
@manager_required
def closures(space_id: int):
    space = venues.managed_space(actor(), space_id)
    variant = request.form.get("variant") if request.method == "POST" else None
    variant = variant if variant in VARIANTS else None
    forms = closure_forms(request.form if variant else None, variant)
    status = 200
    if request.method == "POST":
        status = 422
        form = forms.get(variant) or forms["days"]
        if variant and form.validate():

            def add() -> None:
                start, end = closure_range(form, space.venue.zone)
                reason = form.reason.data or ""
                if form.all_spaces.data:
                    availability.add_closure_to_spaces(actor(), space.venue.spaces, start, end, reason)
                else:
                    availability.add_closure(actor(), space, start, end, reason)

            if save(form, add):
                if form.all_spaces.data:
                    flash(_("The closure is added to every space of %(venue)s.", venue=space.venue.name), "success")
                else:
                    flash(_("The closure is added to %(name)s.", name=space.name), "success")
                return redirect(url_for("availability.closures", space_id=space.id))
        elif not variant:
            form.form_errors.append(_("Choose whole days or a time range, and try again."))
    return (
        render_template("manage/closures.html", space=space, venue=space.venue, forms=forms),
        status,
    )


@bp.post("/manage/closures/<int:closure_id>/delete")
@manager_required
def delete_closure(closure_id: int):
    closure = availability.managed_closure(actor(), closure_id)
    space_id = closure.space_id
    availability.delete_closure(actor(), closure)  # CSRFProtect has checked the token
    db.session.commit()
    flash(_("The closure is removed."), "success")
    return redirect(url_for("availability.closures", space_id=space_id))
