"""Forms for calendars a venue keeps elsewhere: by URL (API and page) or by upload (page)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import InputRequired, Length


class ImportForm(FlaskForm):
    url = StringField(
        _l("Calendar address (iCal)"),
        validators=[InputRequired(), Length(max=2000)],
        description=_l(
            "In Google Calendar: Settings → your calendar → “Secret address in iCal format”. "
            "In Outlook: Settings → Shared calendars → Publish a calendar → ICS link."
        ),
    )


class UploadForm(FlaskForm):
    file = FileField(
        _l("Calendar file (.ics)"),
        validators=[FileRequired()],
        description=_l("A one-time copy: upload it again when your calendar changes."),
    )
