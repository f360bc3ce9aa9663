"""What the HTML pages need besides the services: read-only queries, links and display helpers.

Nothing here changes data; the rules stay in `services.py`, `search.py` and the availability
services. Template filters registered here format times in the venue's own zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, request, url_for
from flask_babel import format_currency, format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.availability import rules, timeline
from app.availability import services as availability
from app.availability.models import OpeningWindow
from app.database import plain_rows
from app.extensions import db
from app.venues import search as venue_search
from app.venues import services as venues
from app.venues.models import Space
from app.venues.vocabulary import AMENITIES, SPACE_MODES, VENUE_KINDS, WEEKDAYS

# The booking form lives in app/bookings; a free slot links to it by this fixed pattern.
BOOK_PATH = "/spaces/{space_id}/book"


def book_url(space_id: int, start: datetime, end: datetime | None = None) -> str:
    """The link behind a free slot: local wall-clock ISO times, as a person would type them."""
    params = {"start": local_iso(start)}
    if end is not None:
        params["end"] = local_iso(end)
    return request.script_root + BOOK_PATH.format(space_id=space_id) + "?" + urlencode(params, safe=":")


_ID = 918273645  # stands in for the id in a link built once and completed per row


def link_parts(endpoint: str, key: str, **values) -> tuple[str, str]:
    """One `url_for` for a page with many rows: the link's text before and after the id."""
    head, _sep, tail = url_for(endpoint, **{key: _ID}, **values).partition(str(_ID))
    return head, tail


def translated(labels: Mapping[str, object]) -> dict[str, str]:
    """A vocabulary's lazy labels (`VENUE_KINDS`, `AMENITIES`, ...) translated once, for a page
    that shows them many times."""
    return {key: str(label) for key, label in labels.items()}


def local_iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


# -- queries -----------------------------------------------------------------------------------


def other_managed_spaces(actor: User, space: Space) -> list[Space]:
    """Spaces the actor manages besides this one: the sources for 'copy opening hours'."""
    return [s for s in venues.spaces_managed_by(actor) if s.id != space.id]


def load_hours(spaces: Sequence[Space]) -> None:
    """Load the opening windows and closures of many spaces in two queries, not two per space."""
    ids = [s.id for s in spaces]
    if ids:
        db.session.scalars(
            sa.select(Space).where(Space.id.in_(ids)).options(selectinload(Space.windows), selectinload(Space.closures))
        ).all()


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


REACH = timedelta(days=2 * 366)  # how far from today a page looks: beyond it is a typing error


def within_reach(day: date, today: date) -> bool:
    return abs(day - today) <= REACH


def parse_week(text: str | None, today: date) -> date:
    """`?week=YYYY-MM-DD` (any day of the week) → its Monday; this week when absent, unreadable
    or years away."""
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        day = today
    return monday_of(day if within_reach(day, today) else today)


def week_slots(space: Space, monday: date, now: datetime) -> list[tuple[date, list[rules.Free]]]:
    """Bookable slots of each day Monday..Sunday, in the venue's local time."""
    sunday = monday + timedelta(days=6)
    free = availability.free_for_space(space, monday, sunday, now)
    by_day: dict[date, list[rules.Free]] = {monday + timedelta(days=i): [] for i in range(7)}
    for slot in rules.slots(free, space.slot_minutes, space.venue.zone):
        day = slot.start.astimezone(space.venue.zone).date()
        if day in by_day:
            by_day[day].append(slot)
    return list(by_day.items())


def result_timelines(
    hits: Sequence[venue_search.VenueHit], day: date, query: venue_search.SearchQuery
) -> dict[int, timeline.Timeline]:
    """A timeline of `day` for every space in the search results, all drawn over the same hours."""
    spaces = [s.space for h in hits for s in h.spaces]
    load_hours(spaces)
    opened = {s.id: availability.open_for_space(s, day, day) for s in spaces}
    spans = [timeline.hour_span(day, s.venue.zone, opened[s.id]) for s in spaces]
    first = min((a for a, _ in spans), default=timeline.FIRST_HOUR)
    hours = (first, max((b for _, b in spans), default=timeline.LAST_HOUR))
    result = {}
    for hit in hits:
        window = venue_search.window_in(hit.venue, query) if query.free_from else None
        for space_hit in hit.spaces:
            space = space_hit.space
            result[space.id] = timeline.day_timeline(
                day, hit.venue.zone, opened[space.id], space_hit.free or [], hours=hours, window=window
            )
    return result


def whole_days(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[date, date] | None:
    """(first, last) local day when a closure covers whole days exactly, else None."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.time().hour or local_start.time().minute or local_end.time().hour or local_end.time().minute:
        return None
    return local_start.date(), local_end.date() - timedelta(days=1)


# -- display -----------------------------------------------------------------------------------


def long_date(day: date) -> str:
    """'dinsdag 1 december' / 'Tuesday 1 December'."""
    return format_date(day, "EEEE d MMMM")


def short_date(day: date) -> str:
    return format_date(day, "EEE d MMM")


def local_time(value: datetime, zone: ZoneInfo | None = None) -> str:
    return (value.astimezone(zone) if zone else value).strftime("%H:%M")


def euros(cents: int) -> str:
    # Never call this filter on a literal in a template ({{ 0|euros }}): Jinja folds constant
    # expressions when it compiles the template, baking in the language of the first request.
    return _("Free of charge") if not cents else format_currency(cents / 100, "EUR")


def distance(km: float | None) -> str:
    if km is None:
        return ""
    if km < 1:
        return _("%(metres)s m", metres=max(10, round(km * 100) * 10))
    return _("%(km)s km", km=format_decimal(round(km, 1)))


def week_hours(spaces: Sequence[Space]) -> dict[int, list[tuple[str, str]]]:
    """Opening hours per weekday as text for each space of a venue page, in one query:
    {space_id: [('Monday', '09:00–12:00, 13:00–17:00'), ..., ('Sunday', 'Closed')]}.

    Plain rows, not `space.windows` per space; the weekday names and "Closed" are translated once.
    """
    texts: dict[int, list[list[str]]] = {s.id: [[] for _day in WEEKDAYS] for s in spaces}
    if texts:
        rows = plain_rows(
            sa.select(OpeningWindow.space_id, OpeningWindow.weekday, OpeningWindow.opens, OpeningWindow.closes)
            .where(OpeningWindow.space_id.in_(list(texts)))
            .order_by(OpeningWindow.weekday, OpeningWindow.opens)
        )
        for space_id, weekday, opens, closes in rows:
            texts[space_id][weekday].append(f"{opens:%H:%M}–{closes:%H:%M}")
    labels, closed = [str(label) for label in WEEKDAYS], _("Closed")
    return {
        space_id: [(label, ", ".join(spans) if spans else closed) for label, spans in zip(labels, days, strict=True)]
        for space_id, days in texts.items()
    }


def register(bp: Blueprint) -> None:
    """Filters and names every page template may use."""
    bp.add_app_template_filter(long_date, "long_date")
    bp.add_app_template_filter(short_date, "short_date")
    bp.add_app_template_filter(local_time, "local_time")
    bp.add_app_template_filter(local_iso, "local_iso")
    bp.add_app_template_filter(euros, "euros")
    bp.add_app_template_filter(distance, "distance")

    @bp.app_context_processor
    def vocabulary():
        return {
            "AMENITIES": AMENITIES,
            "VENUE_KINDS": VENUE_KINDS,
            "SPACE_MODES": SPACE_MODES,
            "WEEKDAYS": WEEKDAYS,
            "book_url": book_url,
            "whole_days": whole_days,
            "week_hours": week_hours,
            "link_parts": link_parts,
            "translated": translated,
        }
