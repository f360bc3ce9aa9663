"""Forms for accounts. Each checks shape only; the services hold the rules.

The same form classes parse the JSON API bodies (see `app.api.parsing`).
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, FloatField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

LANGUAGE_CHOICES = [
    SelectChoice("nl", "Nederlands", {"lang": "nl"}),
    SelectChoice("en", "English", {"lang": "en"}),
]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=10, max=200)],
        description=_l("At least 10 characters."),
    )
    language = RadioField(_l("Language"), choices=LANGUAGE_CHOICES, default="nl")


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    language = RadioField(_l("Language"), choices=LANGUAGE_CHOICES)


class HomeForm(FlaskForm):
    """Where the member walks from: a neighbourhood, or coordinates. Only the member sees it."""

    neighbourhood = SelectField(_l("Neighbourhood"), choices=[], validate_choice=True, validators=[Optional()])
    home_label = StringField(
        _l("Name for this place"),
        validators=[Optional(), Length(max=100)],
        description=_l("Only you see it, for example “Home” or “Studio”."),
    )
    home_lat = FloatField(
        _l("Latitude"),
        validators=[Optional(), NumberRange(-90, 90)],
        description=_l("For example 52.0894."),
    )
    home_lon = FloatField(
        _l("Longitude"),
        validators=[Optional(), NumberRange(-180, 180)],
        description=_l("For example 5.0936."),
    )

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.neighbourhood.data and self.home_lat.data is None and self.home_lon.data is None:
            # Without neighbourhoods to choose from the page shows only the coordinates.
            field = self.neighbourhood if len(self.neighbourhood.choices or []) > 1 else self.home_lat
            field.errors.append(_l("Choose a neighbourhood, or enter latitude and longitude."))
            return False
        return True


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=10, max=200)],
        description=_l("At least 10 characters."),
    )


class TokenForm(FlaskForm):
    label = StringField(
        _l("Label"),
        validators=[Optional(), Length(max=100)],
        description=_l("What the token is for, e.g. “my script”."),
    )


class ApiLoginForm(FlaskForm):
    """`POST /api/v1/tokens`: trade an e-mail address and password for a token."""

    email = StringField(validators=[DataRequired(), Length(max=254)])
    password = StringField(validators=[DataRequired(), Length(max=200)])
    label = StringField(validators=[Optional(), Length(max=100)])


class LanguageForm(FlaskForm):
    language = RadioField(choices=LANGUAGE_CHOICES, validators=[DataRequired()])
    next = StringField(validators=[Optional(), Length(max=500)])
