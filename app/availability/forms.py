"""Forms for opening hours, closures, availability queries and the search."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, IntegerField, SelectField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.forms import CheckboxesField
from app.venues.forms import choices
from app.venues.vocabulary import AMENITIES, VENUE_KINDS


class WindowForm(Form):
    """One opening window: `{"weekday": 0, "opens": "09:00", "closes": "17:00"}`."""

    weekday = IntegerField(_l("Day"), validators=[InputRequired(), NumberRange(0, 6)])
    opens = TimeField(_l("Opens"), validators=[InputRequired()])
    closes = TimeField(_l("Closes"), validators=[InputRequired()])


class HoursForm(FlaskForm):
    hours = FieldList(FormField(WindowForm), max_entries=100)


class ClosureForm(FlaskForm):
    """Start and end as ISO 8601: a date (whole days, end inclusive) or a date-time.

    Without an offset a time is the venue's local time; `<input type="datetime-local">` and
    `<input type="date">` submit exactly these forms.
    """

    start = StringField(_l("From"), validators=[DataRequired(), Length(max=40)])
    end = StringField(_l("Until"), validators=[DataRequired(), Length(max=40)])
    reason = StringField(
        _l("Reason"),
        validators=[Optional(), Length(max=200)],
        description=_l("For example “Christmas” or “maintenance”."),
    )


class RangeForm(FlaskForm):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` (both inclusive)."""

    class Meta:
        csrf = False

    from_ = StringField(_l("From"), name="from", validators=[DataRequired(), Length(max=10)])
    to = StringField(_l("Until"), validators=[DataRequired(), Length(max=10)])


class SearchForm(FlaskForm):
    """Find a space: where, when, for how many, with what. Also the API's query string."""

    class Meta:
        csrf = False

    near = StringField(_l("Near (latitude,longitude)"), validators=[Optional(), Length(max=60)])
    radius_km = StringField(_l("Within (km)"), validators=[Optional(), Length(max=10)])
    kind = SelectField(
        _l("Kind of venue"),
        choices=[SelectChoice("", _l("Any kind")), *choices(VENUE_KINDS)],
        validators=[Optional()],
        default="",
    )
    amenity = CheckboxesField(_l("Must have"), choices=choices(AMENITIES))
    seats = IntegerField(_l("People or seats"), validators=[Optional(), NumberRange(1, 10_000)])
    free_from = StringField(_l("Free from"), validators=[Optional(), Length(max=40)])
    free_to = StringField(_l("Free until"), validators=[Optional(), Length(max=40)])
