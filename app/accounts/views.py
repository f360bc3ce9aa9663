"""HTML pages for accounts: register, log in/out, profile, password, API tokens."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.accounts import services
from app.accounts.forms import HomeForm, LoginForm, PasswordForm, ProfileForm, RegisterForm, TokenForm
from app.errors import DomainError, Throttled
from app.extensions import db
from app.web import populate_errors, safe_next, save, status_of

bp = Blueprint("accounts", __name__)


def throttle():
    return current_app.extensions["dichtbij.throttle"]


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = RegisterForm()
    if request.method == "GET":
        form.language.data = request.accept_languages.best_match(("nl", "en"), default="nl")
    if form.validate_on_submit() and (
        saved := save(
            form,
            lambda: services.register_user(form.email.data, form.password.data, form.name.data, form.language.data),
        )
    ):
        login_user(saved.value)
        flash(_("Welcome to Dichtbij, %(name)s.", name=saved.value.name), "success")
        return redirect(url_for("home.index"))
    return render_template("accounts/register.html", form=form), status_of(form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, request.remote_addr or "", throttle())
        except Throttled as exc:
            db.session.rollback()
            response = render_template("errors/429.html", detail=exc.detail)
            return response, 429, {"Retry-After": str(exc.retry_after)}
        except DomainError as exc:
            db.session.commit()  # keep the counted failure
            populate_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            login_user(user)
            flash(_("You are logged in."), "success")
            return redirect(safe_next(request.args.get("next"), url_for("home.index")))
    elif form.errors:
        status = 422
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "POST":
        logout_user()  # CSRFProtect has checked the token
        flash(_("You are logged out."), "success")
        return redirect(url_for("home.index"))
    if not current_user.is_authenticated:
        return redirect(url_for("home.index"))
    return render_template("accounts/logout.html")


@bp.route("/account", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit() and save(
        form, lambda: services.update_profile(current_user, form.name.data, form.language.data)
    ):
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_profile(form, home_form(None)), status_of(form)


def home_form(formdata) -> HomeForm:
    """The home-location form, its neighbourhoods fed by the venues that are published."""
    user = current_user
    form = HomeForm(
        formdata=formdata,
        data={"home_label": user.home_label, "home_lat": user.home_lat, "home_lon": user.home_lon},
    )
    form.neighbourhood.choices = [("", _("Choose a neighbourhood"))] + [
        (name, name) for name, _lat, _lon in services.neighbourhoods()
    ]
    return form


def render_profile(form: ProfileForm, home: HomeForm) -> str:
    return render_template("accounts/profile.html", form=form, home_form=home)


@bp.post("/account/home")
@login_required
def home():
    if request.form.get("clear"):
        services.set_home(current_user, "", None, None)
        db.session.commit()
        flash(_("Your home location is removed."), "success")
        return redirect(url_for("accounts.profile"))
    form = home_form(request.form)
    if form.validate():
        lat, lon, label = form.home_lat.data, form.home_lon.data, form.home_label.data or ""
        if form.neighbourhood.data:
            centres = {name: (n_lat, n_lon) for name, n_lat, n_lon in services.neighbourhoods()}
            lat, lon = centres[form.neighbourhood.data]
            label = label or form.neighbourhood.data
        if save(form, lambda: services.set_home(current_user, label, lat, lon)):
            flash(_("Your home location is saved."), "success")
            return redirect(url_for("accounts.profile") + "#home")
    return render_profile(ProfileForm(formdata=None, obj=current_user), form), 422


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit() and save(
        form, lambda: services.change_password(current_user, form.current_password.data, form.new_password.data)
    ):
        flash(_("Your password is changed."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/password.html", form=form), status_of(form)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = TokenForm()
    new_token = None
    status = 200
    if form.validate_on_submit():
        _token, new_token = services.create_api_token(current_user, form.label.data or "")
        db.session.commit()
        form = TokenForm(formdata=None)
    elif form.errors:
        status = 422
    return (
        render_template("accounts/tokens.html", form=form, new_token=new_token, tokens=current_user.tokens),
        status,
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    services.revoke_api_token(current_user, token_id)
    db.session.commit()
    flash(_("The token is revoked."), "success")
    return redirect(url_for("accounts.tokens"))
