"""Forms for the administration pages. They check shape; the account services hold the rules."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

ROLE_LABELS = {
    "member": _l("Member"),
    "manager": _l("Venue manager"),
    "admin": _l("Administrator"),
}


class UserSearchForm(FlaskForm):
    """`GET /admin/users?q=...`: no CSRF token, nothing changes."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search by name or e-mail address"), validators=[Optional(), Length(max=100)])


class RoleForm(FlaskForm):
    """One per account on the list (the template gives each select its own id)."""

    # The choices are not validated here: an unknown role is the service's to refuse.
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(value, label) for value, label in ROLE_LABELS.items()],
        validate_choice=False,
        validators=[DataRequired()],
    )


class ActiveForm(FlaskForm):
    """Deactivate (after a confirmation) or reactivate: only the CSRF token."""
