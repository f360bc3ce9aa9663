"""Reading times people and programs give us, in a venue's zone.

A time with an offset (or Z) is an instant. A time without one is the venue's wall-clock
time: it must exist (not in the spring-forward gap); in the autumn overlap the first
occurrence is meant, as people expect.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class BadTime(ValueError):
    """The text is not a usable time; the message says why, for a person."""


# Times far outside this range are typing errors, and would overflow date arithmetic.
FIRST_YEAR, LAST_YEAR = 1971, 2099


def _in_range(value):
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise BadTime("format")
    return value


def exists(local: datetime) -> bool:
    """False for wall-clock times skipped by a DST change (02:30 on the spring-forward night)."""
    tz = local.tzinfo
    round_trip = local.astimezone(UTC).astimezone(tz)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    local = naive.replace(tzinfo=tz, fold=0)
    if not exists(local):
        raise BadTime("nonexistent")
    return local


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601 date-time → aware datetime in `tz`."""
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except (ValueError, AttributeError) as exc:
        raise BadTime("format") from exc
    _in_range(value)
    if value.tzinfo is None:
        value = localize(value, tz)
    return value.astimezone(tz)


def parse_date(text: str) -> date:
    try:
        return _in_range(date.fromisoformat(text.strip()))
    except (ValueError, AttributeError) as exc:
        raise BadTime("format") from exc


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight as an instant (midnight always exists in the zones we serve)."""
    local = datetime.combine(day, time(0), tzinfo=tz)
    if not exists(local):  # a zone that skips midnight: the day starts at the transition
        local = (local.astimezone(UTC) + timedelta(hours=1)).astimezone(tz)
    return local


def day_range(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Whole local days first..last as a half-open instant range."""
    return start_of_day(first, tz), start_of_day(last + timedelta(days=1), tz)
