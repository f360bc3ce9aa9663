"""API handlers for the caller's own account and tokens, and the OpenAPI document."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import current_app, g, jsonify, request

from app.accounts import services as accounts
from app.accounts.forms import ApiLoginForm
from app.accounts.models import User
from app.api import bp
from app.api.auth import Unauthorized, token_required
from app.api.parsing import form_from_json
from app.errors import DomainError, Throttled
from app.extensions import db
from app.feeds.views import member_feed_url

OPENAPI_PATH = Path(__file__).with_name("openapi.json")


def user_json(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "language": user.language,
    }


@cache
def openapi_document() -> dict:
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/me")
@token_required
def me():
    return jsonify({**user_json(g.actor), "feed_url": member_feed_url(g.actor)})


@bp.post("/me/feed-token")
@token_required
def rotate_feed_token():
    """A new calendar-feed URL; the old one is 404 from now on."""
    accounts.rotate_feed_token(g.actor)
    db.session.commit()
    return jsonify({"feed_url": member_feed_url(g.actor)})


@bp.post("/tokens")
def create_token():
    """Trade an e-mail address and password for a new token (throttled like the log-in)."""
    form, _ = form_from_json(ApiLoginForm)
    try:
        user = accounts.authenticate(
            form.email.data,
            form.password.data,
            request.remote_addr or "",
            current_app.extensions["dichtbij.throttle"],
            scope="token",
        )
    except Throttled:
        raise
    except DomainError as exc:
        db.session.commit()  # keep the counted failure
        raise Unauthorized(exc.errors) from exc
    token, plaintext = accounts.create_api_token(user, form.label.data or "API")
    db.session.commit()
    return jsonify({"id": token.id, "token": plaintext, "label": token.label}), 201


@bp.get("/users")
@token_required
def list_users():
    """Admins see every account (the coordinator admits members and venues)."""
    users = accounts.list_users(g.actor)
    return jsonify({"users": [user_json(u) for u in users]})
