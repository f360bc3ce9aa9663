"""Reading a start and an end that a person or a program typed, in a venue's zone.

One place for the messages, so the booking form, the block form, the closure form and the
API all answer the same way.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from app.availability.localtime import BadTime, day_range, parse_date, parse_instant
from app.errors import DomainError


def _message(exc: BadTime, dates: bool):
    if str(exc) == "nonexistent":
        return _l("This local time does not exist (the clocks skip it).")
    if dates:
        return _l("Use a date (2026-12-24) or a date and time (2026-12-24T13:00).")
    return _l("Use a date and time like 2026-12-01T09:00.")


def read_span(
    values: dict[str, str | None], zone: ZoneInfo, names: tuple[str, str] = ("start", "end"), dates: bool = False
) -> tuple[datetime, datetime]:
    """Two ISO 8601 texts → two aware instants; without an offset they are local to `zone`.

    With `dates`, a plain date means the whole local day: the start of the first, the end of
    the last (so "2026-12-24".."2026-12-26" closes three days).
    """
    errors: dict[str, list[str]] = {}
    bounds: list[datetime] = []
    for position, name in enumerate(names):
        text = (values.get(name) or "").strip()
        try:
            if dates and len(text) == 10:
                day = parse_date(text)
                bounds.append(day_range(day, day, zone)[position])
            else:
                bounds.append(parse_instant(text, zone))
        except BadTime as exc:
            errors[name] = [str(_message(exc, dates))]
    if errors:
        raise DomainError(errors)
    return bounds[0], bounds[1]
