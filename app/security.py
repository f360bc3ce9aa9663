"""Security headers on every response; text no database can store is refused on the way in."""

from __future__ import annotations

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


def storable(text: str) -> bool:
    """No NUL character (PostgreSQL refuses it) and no lone surrogate (not UTF-8 at all): such
    text would otherwise fail deep in a query or a mail, as a 500."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    for key, values in request.args.lists():
        yield key
        yield from values
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
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
