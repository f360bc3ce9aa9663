"""bookings: an index by space and end, for overlap queries that must not walk the history

Revision ID: 0008_bookings_space_end
Revises: 0007_users_updated_at
Create Date: 2026-11-27 15:10:00

"Which bookings of these spaces overlap [a, b)?" (availability, search, the booking engine)
through (space_id, start, end) walks every booking that started before b: the whole history.
Through (space_id, end, start) it walks the bookings that end after a: at most the horizon.
"""

from alembic import op

revision = "0008_bookings_space_end"
down_revision = "0007_users_updated_at"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_bookings_space_end", "bookings", ["space_id", "end", "start"])


def downgrade():
    op.drop_index("ix_bookings_space_end", table_name="bookings")
