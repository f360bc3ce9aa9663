"""Forms for booking: shape only. The engine and the services hold the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, FormField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.db import MAX_ID


class RepeatForm(Form):
    freq = SelectField(
        _l("Repeat"),
        choices=[SelectChoice("daily", _l("Every day")), SelectChoice("weekly", _l("Every week"))],
        validators=[Optional()],
    )
    count = IntegerField(_l("Number of times"), validators=[Optional(), NumberRange(2, 52)])
    skip_conflicts = BooleanField(_l("Skip dates that are taken and book the rest"))


class BookingForm(FlaskForm):
    """`{"space_id", "start", "end", "seats", "whole", "title", "repeat"}`; times in ISO 8601,
    without an offset meaning the venue's local time."""

    # Every field has a label: an unlabelled field asks Flask-WTF for a default label when the
    # form is built, and that loads WTForms' message catalogue from disk, once per request.
    space_id = IntegerField(_l("Space"), validators=[InputRequired(), NumberRange(1, MAX_ID)])
    start = StringField(_l("From"), validators=[DataRequired(), Length(max=40)])
    end = StringField(_l("Until"), validators=[DataRequired(), Length(max=40)])
    seats = IntegerField(_l("Seats"), default=1, validators=[Optional(), NumberRange(1, 10_000)])
    whole = BooleanField(_l("The whole space"))
    title = StringField(
        _l("What for (optional)"),
        validators=[Optional(), Length(max=200)],
        description=_l("Shown to you and the venue's managers, never to other members."),
    )
    repeat = FormField(RepeatForm, _l("Repeat"))
    member_email = StringField(_l("Book for (e-mail address of the member)"), validators=[Optional(), Length(max=254)])


class ChangeForm(FlaskForm):
    start = StringField(_l("From"), validators=[Optional(), Length(max=40)])
    end = StringField(_l("Until"), validators=[Optional(), Length(max=40)])
    seats = IntegerField(_l("Seats"), validators=[Optional(), NumberRange(1, 10_000)])
    whole = BooleanField(_l("The whole space"))
    title = StringField(_l("What for (optional)"), validators=[Optional(), Length(max=200)])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])


class MessageForm(FlaskForm):
    message = TextAreaField(_l("Message to the member (optional)"), validators=[Optional(), Length(max=500)])


class SeriesCancelForm(FlaskForm):
    from_ = StringField(_l("From"), name="from", validators=[Optional(), Length(max=40)])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])


class BlockForm(FlaskForm):
    start = StringField(_l("From"), validators=[DataRequired(), Length(max=40)])
    end = StringField(_l("Until"), validators=[DataRequired(), Length(max=40)])
    title = StringField(_l("Why (shown to managers)"), validators=[Optional(), Length(max=200)])


class ListForm(FlaskForm):
    """`GET /bookings?from=&to=&space_id=&status=`."""

    class Meta:
        csrf = False

    from_ = StringField(name="from", validators=[Optional(), Length(max=40)])
    to = StringField(validators=[Optional(), Length(max=40)])
    space_id = IntegerField(validators=[Optional(), NumberRange(1, MAX_ID)])
    venue_id = IntegerField(validators=[Optional(), NumberRange(1, MAX_ID)])
    status = SelectField(
        choices=[SelectChoice(""), *(SelectChoice(s) for s in ("pending", "confirmed", "cancelled", "declined"))],
        validators=[Optional()],
        default="",
    )


class VenueBlockForm(BlockForm):
    """Blocking time from a venue's calendar page: the space is chosen in the form."""

    space_id = IntegerField(_l("Space"), validators=[InputRequired(), NumberRange(1, MAX_ID)])
