"""Bearer-token authentication for the API. The session cookie is never used here, so the
API needs no CSRF token and a browser tab cannot be tricked into calling it."""

from __future__ import annotations

from functools import partial, wraps

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l

from app.accounts.models import User
from app.accounts.services import user_for_token
from app.bookings.transaction import begin_reading, write_pending_now
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


def authenticate_request(*, read_first: bool = False) -> User:
    """The token's user. `read_first`: the handler writes only through `run_write`, so the
    request's own transaction begins as a reader (on SQLite no write lock until `run_write`)."""
    token = _bearer_token()
    if token is None:
        raise Unauthorized(detail=str(_l("Send an API token: Authorization: Bearer <token>.")))
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    if read_first:
        begin_reading()
    user = user_for_token(token, record_use=writes) if len(token) <= 200 else None
    if read_first:
        if user is None:
            db.session.rollback()  # the failure is counted below, in a transaction that may write
        else:
            write_pending_now()  # the token's last use, every few minutes
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


def token_required(view=None, *, read_first: bool = False):
    """`@token_required`, or `@token_required(read_first=True)` for a handler whose every write
    goes through `run_write` (see `authenticate_request`)."""
    if view is None:
        return partial(token_required, read_first=read_first)

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.actor = authenticate_request(read_first=read_first)
        return view(*args, **kwargs)

    return wrapped
