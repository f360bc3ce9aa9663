"""RFC 9457 problem documents for every API error."""

from __future__ import annotations

from flask import Response, json, request
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    detail: str | None = None,
    errors: dict[str, list[str]] | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra,
) -> Response:
    body = {
        "type": "about:blank",
        "title": title or HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail or HTTP_STATUS_CODES.get(status, "Error"),
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_problem() -> bool:
    """API paths always answer in problem+json, whatever the Accept header says."""
    return request.path == "/api/v1" or request.path.startswith("/api/")
