"""HTML pages for booking: the booking form, a booking's page, My bookings, cancelling, and
the managers' calendar of a venue with approve, decline, cancel, book-for and block."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from app import versions
from app.accounts.services import user_by_email
from app.availability.localtime import BadTime, day_range, parse_date
from app.availability.spans import read_span
from app.bookings import queries, services
from app.bookings.forms import BookingForm, MessageForm, ReasonForm, VenueBlockForm
from app.bookings.models import Booking
from app.cache import cache
from app.db import now_utc
from app.errors import DomainError, NotFound
from app.extensions import db
from app.venues import services as venues
from app.venues.pages import link_parts
from app.web import populate_errors, safe_next

bp = Blueprint("bookings", __name__)


def _times(form, space) -> tuple[datetime, datetime]:
    return read_span({"start": form.start.data, "end": form.end.data}, space.venue.zone)


def _default_end(space, start_text: str) -> str:
    try:
        start = datetime.fromisoformat(start_text)
    except ValueError:
        return ""
    return (start + timedelta(minutes=max(space.min_minutes, space.slot_minutes))).strftime("%Y-%m-%dT%H:%M")


# -- member ------------------------------------------------------------------------------------


@bp.route("/spaces/<int:space_id>/book", methods=["GET", "POST"])
@login_required
def book(space_id: int):
    try:
        space = venues.visible_space(current_user, space_id)
    except NotFound:
        abort(404)
    form = BookingForm()
    form.space_id.data = space.id
    if request.method == "GET":
        form.start.data = request.args.get("start", "")[:16]
        form.end.data = request.args.get("end", "")[:16] or _default_end(space, form.start.data)
        form.seats.data = 1
    status = 200
    if form.validate_on_submit():
        try:
            start, end = _times(form, space)
            repeat = None
            if form.repeat.freq.data and form.repeat.count.data:
                repeat = services.Repeat(form.repeat.freq.data, form.repeat.count.data, form.repeat.skip_conflicts.data)
            member = None
            if form.member_email.data and space.can_manage(current_user):
                member = user_by_email(form.member_email.data)
                if member is None:
                    raise DomainError.on("member_email", _("No account has this e-mail address."))
            result = services.create_booking(
                current_user,
                space.id,
                start,
                end,
                seats=form.seats.data or 1,
                whole=form.whole.data,
                title=form.title.data or "",
                repeat=repeat,
                member=member,
            )
        except DomainError as exc:
            db.session.rollback()
            populate_errors(form, exc)
            status = exc.status if exc.status in (409, 422) else 422
        else:
            first = result.bookings[0]
            if result.skipped:
                flash(
                    _(
                        "Booked %(n)s times; %(m)s dates were taken and skipped.",
                        n=len(result.bookings),
                        m=len(result.skipped),
                    ),
                    "info",
                )
            elif first.status == "pending":
                flash(_("Your request is sent. The venue will let you know."), "success")
            else:
                flash(_("Booked. It is in your calendar feed."), "success")
            return redirect(url_for("bookings.detail", booking_id=first.id))
    elif form.errors:
        status = 422
    return render_template("bookings/book.html", form=form, space=space, venue=space.venue), status


@bp.get("/bookings/<int:booking_id>")
@login_required
def detail(booking_id: int):
    booking = _visible(booking_id)
    series = []
    if booking.series_id:
        series = list(
            db.session.scalars(db.select(Booking).where(Booking.series_id == booking.series_id).order_by(Booking.start))
        )
    return render_template(
        "bookings/detail.html",
        booking=booking,
        series=series,
        now=now_utc(),
        manager=booking.space.can_manage(current_user),
    )


@bp.get("/bookings")
@login_required
def mine():
    now = now_utc()
    upcoming = services.list_bookings(current_user, now, now + timedelta(days=366))
    earlier = services.list_bookings(current_user, now - timedelta(days=180), now)
    past = [b for b in reversed(earlier) if b.end <= now][:50]
    return render_template("bookings/mine.html", upcoming=upcoming, past=past)


@bp.route("/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(booking_id: int):
    booking = _visible(booking_id)
    form = ReasonForm()
    status = 200
    if form.validate_on_submit():
        try:
            if request.form.get("scope") == "series" and booking.series_id:
                done = services.cancel_series(current_user, booking.series_id, booking.start, form.reason.data or "")
                flash(_("%(n)s bookings are cancelled.", n=len(done)), "success")
            else:
                services.cancel_booking(current_user, booking.id, form.reason.data or "")
                flash(_("Your booking is cancelled. The time is free again."), "success")
        except DomainError as exc:
            db.session.rollback()
            populate_errors(form, exc)
            status = 422
        else:
            return redirect(url_for("bookings.detail", booking_id=booking.id))
    elif form.errors:
        status = 422
    return render_template(
        "bookings/cancel.html", booking=booking, form=form, manager=booking.space.can_manage(current_user)
    ), status


def _visible(booking_id: int) -> Booking:
    try:
        return services.visible_booking(current_user, booking_id)
    except NotFound:
        abort(404)


# -- managers ------------------------------------------------------------------------------------


@bp.get("/manage/venues/<int:venue_id>/calendar")
@login_required
def calendar(venue_id: int):
    # The key of the kept days first: what they show is read after it (newer, never older).
    stamp = versions.of_venue(venue_id)
    venue = venues.managed_venue(current_user, venue_id)
    zone = venue.zone
    now = now_utc()
    today = now.astimezone(zone).date()
    try:
        day = parse_date(request.args["date"]) if request.args.get("date") else today
    except BadTime:
        day = today
    view = "week" if request.args.get("view") == "week" else "day"
    first = day - timedelta(days=day.weekday()) if view == "week" else day
    last = first + timedelta(days=6) if view == "week" else day
    # Plain rows, a fixed number of queries whatever the number of spaces and bookings; the days
    # themselves are rendered once per version of the venue and kept.
    spaces = queries.space_names(venue.id)
    space_ids = [s.id for s in spaces]
    pending = queries.calendar_entries(space_ids, now, now + timedelta(days=366), statuses=("pending",))
    step = timedelta(days=7 if view == "week" else 1)
    # Labels are translated and links built once per page (the template adds the ids), not once
    # per booking: a venue's day can hold hundreds of them.
    manage_link = link_parts("bookings.manage", "booking_id")
    return render_template(
        "bookings/calendar.html",
        venue=venue,
        zone=zone,
        spaces=spaces,
        space_names={s.id: s.name for s in spaces},
        view=view,
        day=day,
        days_html=_days_html(stamp, venue.id, spaces, first, last, today, zone, manage_link),
        pending=pending,
        seat_labels=_seat_labels(pending),
        book_label=_("Book %(space)s for a member"),
        manage_link=manage_link,
        book_link=link_parts("bookings.book", "space_id", start=day.isoformat() + "T09:00"),
        today=today,
        previous=first - step,
        next=first + step,
    )


def _days_html(
    stamp: tuple[int, ...] | None, venue_id: int, spaces, first: date, last: date, today: date, zone: ZoneInfo, link
) -> Markup:
    """The calendar's days, kept by the venue's versions (`stamp`): a manager's day is looked at
    again and again, and changes only when something in it does.

    `stamp` was read before the venue, its spaces and bookings: the kept days may be newer than
    their key (a change committed in between), never older, and a newer key never finds them.
    """
    key = (venue_id, first, last, today, str(get_locale()), request.script_root, stamp)
    days_html = cache("calendar_days").get(key) if stamp is not None else None
    if days_html is None:
        start, end = day_range(first, last, zone)
        found = queries.calendar_entries([s.id for s in spaces], start.astimezone(UTC), end.astimezone(UTC))
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        days_html = Markup(
            render_template(
                "bookings/_calendar_days.html",
                zone=zone,
                today=today,
                day_columns=_day_columns(found, days, spaces, zone),
                seat_labels=_seat_labels(found),
                manage_link=link,
            )
        )
        if stamp is not None:
            cache("calendar_days").put(key, days_html)
    return days_html


def _seat_labels(entries: list[queries.CalendarEntry]) -> dict[int, str]:
    return {n: ngettext("%(num)d seat", "%(num)d seats", n) for n in {b.seats for b in entries}}


def _day_columns(
    found: list[queries.CalendarEntry], days: list[date], spaces: list[queries.SpaceName], zone: ZoneInfo
) -> list[tuple[date, list[tuple[queries.SpaceName, Sequence[queries.CalendarEntry]]]]]:
    """[(day, [(space, its bookings that day), ...]), ...], grouped in one pass: a booking is on
    every local day it touches."""
    by_day: dict[date, dict[int, list[queries.CalendarEntry]]] = {d: {} for d in days}
    one_day = timedelta(days=1)
    for b in found:
        d = max(b.start.astimezone(zone).date(), days[0])
        last = min((b.end - timedelta(seconds=1)).astimezone(zone).date(), days[-1])
        while d <= last:
            by_day[d].setdefault(b.space_id, []).append(b)
            d += one_day
    return [(d, [(s, on_day.get(s.id, ())) for s in spaces]) for d, on_day in by_day.items()]


@bp.route("/manage/bookings/<int:booking_id>", methods=["GET", "POST"])
@login_required
def manage(booking_id: int):
    booking = _visible(booking_id)
    if not booking.space.can_manage(current_user):
        abort(403)
    message_form, reason_form = MessageForm(), ReasonForm()
    status = 200
    action = request.form.get("action")
    if request.method == "POST":
        form = message_form if action == "approve" else reason_form
        if form.validate_on_submit():
            try:
                if action == "approve":
                    services.approve_booking(current_user, booking.id, message_form.message.data or "")
                    flash(_("Approved. The member gets an e-mail."), "success")
                elif action == "decline":
                    services.decline_booking(current_user, booking.id, reason_form.reason.data or "")
                    flash(_("Declined. The member gets an e-mail."), "success")
                elif action == "cancel":
                    services.cancel_booking(current_user, booking.id, reason_form.reason.data or "")
                    flash(_("Cancelled. The member gets an e-mail."), "success")
                else:
                    abort(400)
            except DomainError as exc:
                db.session.rollback()
                populate_errors(form, exc)
                status = 422
            else:
                return redirect(safe_next(request.form.get("next"), url_for("bookings.manage", booking_id=booking.id)))
        else:
            status = 422
    return render_template(
        "bookings/manage.html", booking=booking, message_form=message_form, reason_form=reason_form
    ), status


@bp.post("/manage/venues/<int:venue_id>/blocks")
@login_required
def block(venue_id: int):
    venue = venues.managed_venue(current_user, venue_id)
    form = VenueBlockForm()
    if form.validate_on_submit():
        space = next((s for s in venue.spaces if s.id == form.space_id.data), None)
        if space is None:
            abort(404)
        try:
            start, end = _times(form, space)
            services.create_block(current_user, space.id, start, end, form.title.data or "")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.detail, "error")
        else:
            flash(_("The time is blocked."), "success")
    else:
        flash(_("Give a start and an end."), "error")
    return redirect(url_for("bookings.calendar", venue_id=venue.id, date=(form.start.data or "")[:10] or None))
