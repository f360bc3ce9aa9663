"""Security headers on every response; text no database can store is refused on the way in."""

from __future__ import annotations

import re
from collections.abc import Iterator

from flask import Flask, Response, abort, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# A NUL character (PostgreSQL refuses it) or a lone surrogate (not UTF-8 at all).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)"),
)


def storable(text: str) -> bool:
    """Such text would otherwise fail deep in a query or a mail, as a 500."""
    return _UNSTORABLE.search(text) is None


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _request_texts() -> Iterator[str]:
    yield request.path
    yield from request.headers.values()
    if request.query_string:
        for key, values in request.args.lists():
            yield key
            yield from values
    if request.method in ("GET", "HEAD") and not request.content_length:
        return  # no body to read
    if request.is_json:
        yield from _strings(request.get_json(silent=True))
    elif not request.path.startswith("/api/"):  # the API reads JSON only, and answers 415 to forms
        for key, values in request.form.lists():
            yield key
            yield from values
        for upload in request.files.values():
            yield upload.filename or ""


def register(app: Flask) -> None:
    @app.before_request
    def refuse_unstorable_text():
        """A 400 (problem+json under /api) for a path, header, query, form or JSON text with a
        NUL character or a lone surrogate, before any view reads it."""
        if not all(storable(text) for text in _request_texts()):
            abort(400)

    @app.after_request
    def security_headers(response: Response) -> Response:
        return add_headers(app, response)


def add_headers(app: Flask, response: Response) -> Response:
    """The security headers every response carries (also those answered before Flask:
    `app.feeds.polls`)."""
    headers = response.headers
    for name, value in _HEADERS:
        if name not in headers:
            headers[name] = value
    if app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
