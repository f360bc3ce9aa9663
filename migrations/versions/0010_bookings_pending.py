"""bookings: a partial index of pending requests, for the managers' calendar

Revision ID: 0010_bookings_pending
Revises: 0009_versions
Create Date: 2026-11-27 17:40:00

Every look at a venue's calendar lists the requests waiting for its managers over the year
ahead; through the (space_id, end, start) index that walks every future booking of the venue's
spaces (2,500 rows for a busy 50-space venue) to find a handful.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_bookings_pending"
down_revision = "0009_versions"
branch_labels = None
depends_on = None


def upgrade():
    pending = sa.text("status = 'pending'")
    op.create_index(
        "ix_bookings_pending", "bookings", ["space_id", "end"], sqlite_where=pending, postgresql_where=pending
    )


def downgrade():
    op.drop_index("ix_bookings_pending", table_name="bookings")
