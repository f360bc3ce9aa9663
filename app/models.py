"""Imports every package's models, so the metadata is complete (migrations, tests)."""

from app.accounts.models import ApiToken, ThrottleHit, User  # noqa: F401
