"""bookings: bookings and their history

Revision ID: 0003_bookings
Revises: 0002_venues
Create Date: 2026-11-27 11:33:41.805020

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0003_bookings"
down_revision = "0002_venues"
branch_labels = None
depends_on = None


# Second guard behind the booking engine (which locks the space row): on PostgreSQL, two
# whole-space bookings or blocks that hold the space can never overlap, whatever the code does.
EXCLUDE_WHOLE_OVERLAP = """
ALTER TABLE bookings ADD CONSTRAINT ex_bookings_whole_overlap
EXCLUDE USING gist (space_id WITH =, tstzrange(start, "end", '[)') WITH &&)
WHERE (whole AND status IN ('pending', 'confirmed'))
"""


def upgrade():

    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("whole", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("series_id", sa.String(length=40), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.CheckConstraint("kind IN ('booking', 'block')", name=op.f("ck_bookings_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'cancelled', 'declined')", name=op.f("ck_bookings_status")
        ),
        sa.CheckConstraint("seats >= 1", name=op.f("ck_bookings_seats")),
        sa.CheckConstraint('start < "end"', name=op.f("ck_bookings_start_before_end")),
        sa.ForeignKeyConstraint(
            ["cancelled_by_id"],
            ["users.id"],
            name=op.f("fk_bookings_cancelled_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_bookings_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_bookings_member_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], name=op.f("fk_bookings_space_id_spaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("uid", name=op.f("uq_bookings_uid")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bookings_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bookings_series_id"), ["series_id"], unique=False)
        batch_op.create_index("ix_bookings_space_time", ["space_id", "start", "end"], unique=False)

    op.create_table(
        "booking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_booking_events_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_events_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_events")),
    )
    with op.batch_alter_table("booking_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_events_booking_id"), ["booking_id"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_id_key"),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(EXCLUDE_WHOLE_OVERLAP)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ex_bookings_whole_overlap")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))
    op.drop_table("idempotency_keys")

    with op.batch_alter_table("booking_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_events_booking_id"))

    op.drop_table("booking_events")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_space_time")
        batch_op.drop_index(batch_op.f("ix_bookings_series_id"))
        batch_op.drop_index(batch_op.f("ix_bookings_member_id"))

    op.drop_table("bookings")
