"""Imports every package's models, so the metadata is complete (migrations, tests)."""

from app.accounts.models import ApiToken, ThrottleHit, User  # noqa: F401
from app.availability.models import Closure, OpeningWindow  # noqa: F401
from app.bookings.models import Booking, BookingEvent, IdempotencyKey  # noqa: F401
from app.feeds.import_models import CalendarImport, ImportedBlock  # noqa: F401
from app.notifications.models import OutboxMessage  # noqa: F401
from app.venues.models import Space, Venue, venue_managers  # noqa: F401
from app.versions import Version  # noqa: F401
