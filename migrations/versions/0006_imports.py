"""imports: external calendars (URL or file) and the busy blocks their events became

Revision ID: 0006_imports
Revises: 0005_feeds
Create Date: 2026-11-27 12:00:15.145905

Two new tables, nothing else changes. Blocks are keyed by (import, UID, original start) so a
sync updates them in place; (space_id, start, end) serves the availability queries.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006_imports"
down_revision = "0005_feeds"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("url IS NOT NULL OR filename IS NOT NULL", name=op.f("ck_calendar_imports_source")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_calendar_imports_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_calendar_imports_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_imports")),
    )
    with op.batch_alter_table("calendar_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_imports_space_id"), ["space_id"], unique=False)

    op.create_table(
        "imported_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("recurrence_key", sa.String(length=40), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.CheckConstraint('start < "end"', name=op.f("ck_imported_blocks_start_before_end")),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["calendar_imports.id"],
            name=op.f("fk_imported_blocks_import_id_calendar_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_imported_blocks_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_blocks")),
        sa.UniqueConstraint("import_id", "uid", "recurrence_key", name="uq_imported_blocks_import_uid_recurrence"),
    )
    with op.batch_alter_table("imported_blocks", schema=None) as batch_op:
        batch_op.create_index("ix_imported_blocks_space_time", ["space_id", "start", "end"], unique=False)


def downgrade():
    with op.batch_alter_table("imported_blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_imported_blocks_space_time")

    op.drop_table("imported_blocks")
    with op.batch_alter_table("calendar_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_imports_space_id"))

    op.drop_table("calendar_imports")
