"""The home page, the health check and the language switch."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from app.accounts.forms import LanguageForm
from app.accounts.services import set_language
from app.extensions import db
from app.web import safe_next

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    return render_template("home/index.html")


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok"})


@bp.post("/language")
def language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["language"] = form.language.data
        if current_user.is_authenticated:
            set_language(current_user, form.language.data)
            db.session.commit()
    target = form.next.data if form.next.data else request.referrer
    return redirect(safe_next(_path_only(target), url_for("home.index")))


def _path_only(target: str | None) -> str | None:
    """Referrer URLs are absolute; keep only the path and query of our own pages."""
    if not target:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")
