"""users: updated_at, so feeds that show a member's name change when the member does

Revision ID: 0007_users_updated_at
Revises: 0006_imports
Create Date: 2026-11-27 15:00:00

Existing rows get their created_at; then the column becomes NOT NULL. Indexed: the feeds ask
for the latest.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_users_updated_at"
down_revision = "0006_imports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET updated_at = created_at")
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index("ix_users_updated_at", "users", ["updated_at"])


def downgrade():
    op.drop_index("ix_users_updated_at", table_name="users")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("updated_at")
