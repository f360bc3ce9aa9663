"""Forms for accounts. Each checks shape only; the services hold the rules.

The same form classes parse the JSON API bodies (see `app.api.parsing`).
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

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
