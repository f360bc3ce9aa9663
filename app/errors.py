"""Domain errors: raised by services, turned into HTTP answers at the edge.

A service never knows whether it serves an HTML form or the JSON API. It raises one of
these with `(field, message)` pairs; the HTML view puts the messages on the form, the API
turns them into an RFC 9457 problem document with the matching status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """A rule was broken. `errors` maps a field name (or "" for the whole request) to messages."""

    status = 422
    title = "Unprocessable Content"

    def __init__(
        self,
        errors: Mapping[str, Sequence[str]] | None = None,
        detail: str | None = None,
    ) -> None:
        self.errors = {field: [str(m) for m in msgs] for field, msgs in (errors or {}).items()}
        if detail is None and self.errors:
            detail = "; ".join(m for msgs in self.errors.values() for m in msgs)
        self.detail = str(detail) if detail is not None else self.title
        super().__init__(self.detail)

    @classmethod
    def on(cls, field: str, message: str) -> DomainError:
        return cls({field: [message]})


class NotFound(DomainError):
    """The object does not exist, or the actor may not know that it does."""

    status = 404
    title = "Not Found"


class Forbidden(DomainError):
    """The actor may see the object but not change it."""

    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    """The request clashes with the current state (time already taken, ...)."""

    status = 409
    title = "Conflict"


class Throttled(DomainError):
    """Too many attempts in a short time."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str | None = None, retry_after: int = 60) -> None:
        super().__init__(detail=detail)
        self.retry_after = retry_after
