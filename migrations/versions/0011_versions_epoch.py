"""versions: an epoch, renewed after a backup is restored

Revision ID: 0011_versions_epoch
Revises: 0010_bookings_pending
Create Date: 2026-11-27 18:20:00

Feed ETags are hashes of version counters. A restored backup starts its counters from older
values, which later climb back to numbers calendar apps already hold for other contents: a
wrong 304. Every ETag also holds `versions.epoch`, a random number; `flask --app wsgi versions
renew` (run after a restore) draws a new one, and every ETag changes once.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011_versions_epoch"
down_revision = "0010_bookings_pending"
branch_labels = None
depends_on = None


def upgrade():
    versions = sa.table("versions", sa.column("name", sa.String), sa.column("version", sa.Integer))
    op.bulk_insert(versions, [{"name": "epoch", "version": secrets.randbelow(2**31 - 1) + 1}])


def downgrade():
    op.execute("DELETE FROM versions WHERE name = 'epoch'")
