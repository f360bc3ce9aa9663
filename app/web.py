"""Small helpers for HTML views: a form's write as one transaction, domain errors onto forms,
safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from flask_wtf import FlaskForm

from app.errors import DomainError
from app.extensions import db


class Saved(NamedTuple):
    """A form's write that went through (true even when the service returned None)."""

    value: Any


def save(form: FlaskForm, write: Callable[[], Any]) -> Saved | None:
    """Run a submitted form's write (one service call) as the request's one transaction.

    Committed when the service accepts it; when it raises a DomainError, rolled back, with its
    messages on the form's fields, and None: the view shows the form again (`status_of`: 422).
    Other errors propagate (the request's transaction is rolled back by the error handler).
    """
    try:
        value = write()
    except DomainError as exc:
        db.session.rollback()
        populate_errors(form, exc)
        return None
    db.session.commit()
    return Saved(value)


def status_of(*forms: FlaskForm) -> int:
    """422 when a form shown again carries errors (so tests and clients see the refusal)."""
    return 422 if any(f.errors for f in forms) else 200


def populate_errors(form: FlaskForm, error: DomainError) -> None:
    """Put a service's field messages on the form; the rest become form-level errors."""
    for field_name, messages in error.errors.items():
        field = getattr(form, field_name, None) if field_name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not any(error.errors.values()):  # a refusal always shows, so the form is never "fine"
        form.form_errors.append(error.detail)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: an open redirect would make our log-in page a phishing tool."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target
