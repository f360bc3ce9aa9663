"""Language choice: the account's language, else the session's, else Accept-Language."""

from __future__ import annotations

from flask import Flask, g, has_request_context, session
from flask import request as flask_request
from flask_login import current_user

LANGUAGES = ("nl", "en")


def N_(message: str) -> str:
    """Mark a string for translation where it must stay a plain string (translated later)."""
    return message


def select_locale() -> str:
    if not has_request_context():  # CLI, mail workers: the caller passes a language
        return "nl"
    if current_user and current_user.is_authenticated:
        return current_user.language
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return chosen
    return flask_request.accept_languages.best_match(LANGUAGES, default="nl")


def register(app: Flask) -> None:
    @app.context_processor
    def inject_language():
        from flask_babel import get_locale

        locale = get_locale()
        g.language = str(locale.language) if locale else "nl"
        return {"language": g.language, "languages": LANGUAGES}
