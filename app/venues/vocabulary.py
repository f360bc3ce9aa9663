"""The shared words for venues and spaces: kinds, modes, amenities — each with its label."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

VENUE_KINDS = {
    "community_centre": _l("Community centre"),
    "library": _l("Library"),
    "cafe": _l("Café"),
    "sports_hall": _l("Sports hall"),
    "studio": _l("Studio"),
    "hall": _l("Church or school hall"),
    "office": _l("Office"),
    "other": _l("Other"),
}

SPACE_MODES = {
    "room": _l("Whole room: one booking at a time"),
    "seats": _l("Seats: bookings share the space"),
    "both": _l("Seats, or the whole room"),
}

AMENITIES = {
    "wifi": _l("Wi-Fi"),
    "power_sockets": _l("Power sockets"),
    "quiet": _l("Quiet"),
    "calls_ok": _l("Calls allowed"),
    "projector": _l("Projector"),
    "screen": _l("Screen"),
    "whiteboard": _l("Whiteboard"),
    "coffee": _l("Coffee"),
    "kitchen": _l("Kitchen"),
    "step_free": _l("Step-free access"),
    "accessible_toilet": _l("Accessible toilet"),
    "hearing_loop": _l("Hearing loop"),
    "bike_parking": _l("Bike parking"),
    "parking": _l("Parking"),
    "daylight": _l("Daylight"),
    "lockable": _l("Lockable"),
}

WEEKDAYS = [
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
]
