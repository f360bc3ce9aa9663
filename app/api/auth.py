"""Bearer-token authentication for the API. The session cookie is never used here, so the
API needs no CSRF token and a browser tab cannot be tricked into calling it."""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l

from app.accounts.models import User
from app.accounts.services import user_for_token
from app.errors import DomainError, Throttled
from app.extensions import db


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_request() -> User:
    token = _bearer_token()
    if token is None:
        raise Unauthorized(detail=str(_l("Send an API token: Authorization: Bearer <token>.")))
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    user = user_for_token(token, record_use=writes) if len(token) <= 200 else None
    if user is None:
        # Only failures are counted and checked, so a good token costs no extra query.
        throttle = current_app.extensions["dichtbij.throttle"]
        key = f"token:address:{request.remote_addr or ''}"
        if throttle.blocked(key):
            raise Throttled(
                str(_l("Too many failed attempts. Wait a quarter of an hour and try again.")),
                retry_after=throttle.window,
            )
        throttle.hit(key)
        db.session.commit()  # the failure must count even though this request fails
        raise Unauthorized(detail=str(_l("This API token is unknown or revoked.")))
    return user


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        g.actor = authenticate_request()
        return view(*args, **kwargs)

    return wrapped
