"""Small helpers for HTML views: domain errors onto forms, safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm

from app.errors import DomainError


def populate_errors(form: FlaskForm, error: DomainError) -> None:
    """Put a service's field messages on the form; the rest become form-level errors."""
    for field_name, messages in error.errors.items():
        field = getattr(form, field_name, None) if field_name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)
    if not error.errors:
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
