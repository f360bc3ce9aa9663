"""One place that turns every error into an answer: problem+json under /api, a page elsewhere."""

from __future__ import annotations

import contextlib

from flask import Flask, render_template, request
from flask_babel import force_locale
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from app.api.problems import problem, wants_problem
from app.errors import DomainError, Throttled
from app.extensions import db

HTML_PAGES = {400, 403, 404, 405, 413, 422, 429}


def _rollback() -> None:
    with contextlib.suppress(Exception):  # the database may be the thing that failed
        db.session.rollback()


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        _rollback()
        headers = {}
        if isinstance(exc, Throttled):
            headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="dichtbij"'
        if wants_problem():
            return problem(exc.status, exc.detail, exc.errors or None, title=exc.title, headers=headers)
        template = f"errors/{exc.status}.html" if exc.status in HTML_PAGES else "errors/400.html"
        return render_template(template, detail=exc.detail), exc.status, headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        _rollback()
        status = exc.code or 500
        headers = {}
        if status == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        if wants_problem():
            detail = exc.description if status != 500 else None
            return problem(status, detail, headers=headers)
        template = f"errors/{status}.html" if status in HTML_PAGES else "errors/400.html"
        if status >= 500:
            template = "errors/500.html"
        return render_template(template, detail=None), status, headers

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    def database_unavailable(exc: Exception):
        """The database went away (restart, failover): a clean 503, never a 500."""
        _rollback()
        app.logger.warning("Database unavailable: %s", exc)
        headers = {"Retry-After": "5"}
        if wants_problem():
            return problem(503, "The database is not available right now. Try again in a moment.", headers=headers)
        language = request.accept_languages.best_match(("nl", "en"), default="nl")
        with force_locale(language):  # the usual choice would ask the database for the account
            return render_template("errors/503.html", language=language), 503, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        _rollback()
        app.logger.exception("Unhandled error", exc_info=exc)
        if wants_problem():
            return problem(500, "Something went wrong on our side. It has been logged.")
        try:
            return render_template("errors/500.html"), 500
        except Exception:
            return InternalServerError().get_response()
