"""The JSON API under /api/v1: thin handlers over the same services as the HTML pages."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import bookings, imports, venues, views  # noqa: E402,F401  (routes register themselves on bp)
