"""Administration pages: the association's coordinator finds accounts, changes their role,
and deactivates or reactivates them.

Thin views, like the rest: parse, call one account service with the acting user, commit once,
redirect with a message. A broken rule comes back as a message on the form (422).
"""

from __future__ import annotations

from functools import wraps
from math import ceil

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts import services
from app.accounts.models import User
from app.admin.forms import ActiveForm, RoleForm, UserSearchForm
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.web import populate_errors

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    """Visitors go to the log-in page; members and managers get a 403."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            raise Forbidden(detail=_("Only administrators may manage accounts."))
        return view(*args, **kwargs)

    return login_required(wrapped)


def actor() -> User:
    return current_user._get_current_object()


def list_state() -> dict:
    """The list's search and page, carried through the forms' actions and the redirects."""
    query = request.args.get("q", "").strip()[:100]
    page = request.args.get("page", 1, type=int) or 1
    return {"q": query or None, "page": page if page > 1 else None}


def changed_message(user: User) -> str:
    if user.role == "admin":
        return _("%(name)s is now an administrator.", name=user.name)
    if user.role == "manager":
        return _("%(name)s is now a venue manager.", name=user.name)
    return _("%(name)s is now a member.", name=user.name)


@bp.get("/")
@admin_required
def index():
    return redirect(url_for("admin.users"))


@bp.get("/users")
@admin_required
def users():
    return render_users()


def render_users(failed: tuple[int, RoleForm] | None = None):
    """The list of accounts; `failed` is a role form that came back with errors, shown on its row."""
    state = list_state()
    search = UserSearchForm(formdata=request.args)
    page = state["page"] or 1
    found, total = services.search_users(actor(), state["q"] or "", page, services.ADMIN_PAGE_SIZE)
    pages = max(1, ceil(total / services.ADMIN_PAGE_SIZE))
    role_forms = {user.id: RoleForm(formdata=None, data={"role": user.role}) for user in found}
    failed_user = None
    if failed is not None:
        failed_user = services.account_for_admin(actor(), failed[0])
        role_forms[failed_user.id] = failed[1]
        if failed_user not in found:
            found.insert(0, failed_user)
    page_html = render_template(
        "admin/users.html",
        users=found,
        total=total,
        page=page,
        pages=pages,
        state=state,
        search=search,
        role_forms=role_forms,
        failed_user=failed_user,
        created={user.id: format_date(user.created_at, "medium") for user in found},
    )
    return page_html, 422 if failed is not None else 200


@bp.post("/users/<int:user_id>/role")
@admin_required
def change_role(user_id: int):
    form = RoleForm()
    if form.validate_on_submit():
        try:
            user = services.set_role(actor(), user_id, form.role.data)
        except DomainError as exc:
            if exc.status != 422:
                raise
            db.session.rollback()
            populate_errors(form, exc)
        else:
            db.session.commit()
            flash(changed_message(user), "success")
            return redirect(url_for("admin.users", **list_state()))
    return render_users(failed=(user_id, form))


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@admin_required
def deactivate(user_id: int):
    user = services.account_for_admin(actor(), user_id)
    form = ActiveForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.set_active(actor(), user.id, False)
        except DomainError as exc:
            if exc.status != 422:
                raise
            db.session.rollback()
            populate_errors(form, exc)
        else:
            db.session.commit()
            flash(_("%(name)s is deactivated and can no longer log in.", name=user.name), "success")
            return redirect(url_for("admin.users", **list_state()))
    if form.errors or form.form_errors:
        status = 422
    return render_template("admin/deactivate.html", user=user, form=form, state=list_state()), status


@bp.post("/users/<int:user_id>/reactivate")
@admin_required
def reactivate(user_id: int):
    # Nothing to confirm when giving access back; CSRFProtect has checked the token.
    user = services.set_active(actor(), user_id, True)
    db.session.commit()
    flash(_("%(name)s can log in again.", name=user.name), "success")
    return redirect(url_for("admin.users", **list_state()))
