"""Forms for venues and spaces: shape only. The rules are in `services.py`.

The same classes parse the JSON API bodies (`app.api.parsing.form_from_json`).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.forms import CheckboxesField
from app.venues.vocabulary import AMENITIES, SPACE_MODES, VENUE_KINDS


def choices(vocabulary: dict) -> list[SelectChoice]:
    return [SelectChoice(key, label) for key, label in vocabulary.items()]


class VenueForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("Kind of venue"), choices=choices(VENUE_KINDS), validators=[DataRequired()])
    address = StringField(_l("Street and number"), validators=[DataRequired(), Length(max=200)])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=12)])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=80)])
    neighbourhood = StringField(_l("Neighbourhood"), validators=[Optional(), Length(max=80)])
    lat = FloatField(
        _l("Latitude"),
        validators=[InputRequired(), NumberRange(-90, 90)],
        description=_l("For example 52.0894 (find it on a map)."),
    )
    lon = FloatField(
        _l("Longitude"),
        validators=[InputRequired(), NumberRange(-180, 180)],
        description=_l("For example 5.0936."),
    )
    timezone = StringField(_l("Time zone"), default="Europe/Amsterdam", validators=[DataRequired(), Length(max=64)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    contact = StringField(
        _l("Contact"),
        validators=[Optional(), Length(max=200)],
        description=_l("A phone number or e-mail address for questions."),
    )
    amenities = CheckboxesField(_l("Amenities of the whole venue"), choices=choices(AMENITIES))
    published = BooleanField(_l("Published: members can find this venue"))


class SpaceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    mode = SelectField(_l("How it is booked"), choices=choices(SPACE_MODES), default="room")
    capacity = IntegerField(
        _l("Capacity (people or seats)"), default=1, validators=[InputRequired(), NumberRange(1, 10_000)]
    )
    slot_minutes = IntegerField(
        _l("Time grid in minutes"), default=30, validators=[InputRequired(), NumberRange(5, 240)]
    )
    min_minutes = IntegerField(
        _l("Shortest booking in minutes"), default=30, validators=[InputRequired(), NumberRange(1, 10_080)]
    )
    max_minutes = IntegerField(
        _l("Longest booking in minutes"), default=480, validators=[InputRequired(), NumberRange(1, 10_080)]
    )
    lead_minutes = IntegerField(
        _l("Notice needed in minutes"), default=0, validators=[InputRequired(), NumberRange(0, 129_600)]
    )
    horizon_days = IntegerField(
        _l("Bookable up to this many days ahead"),
        default=90,
        validators=[InputRequired(), NumberRange(1, 730)],
    )
    buffer_minutes = IntegerField(
        _l("Changeover time between bookings in minutes"),
        default=0,
        validators=[InputRequired(), NumberRange(0, 1440)],
    )
    requires_approval = BooleanField(_l("Requests need approval by a manager"))
    cancel_hours = IntegerField(
        _l("Free cancellation until this many hours before"),
        default=24,
        validators=[InputRequired(), NumberRange(0, 2160)],
    )
    price_per_hour_cents = IntegerField(
        _l("Price per hour in cents (0 = free)"),
        default=0,
        validators=[InputRequired(), NumberRange(0, 10_000_000)],
    )
    amenities = CheckboxesField(_l("Amenities of this space"), choices=choices(AMENITIES))


class ManagerForm(FlaskForm):
    email = StringField(_l("E-mail address of the new manager"), validators=[DataRequired(), Length(max=254)])
