"""feeds: secret tokens for calendar feeds, updated_at on venues and spaces

Revision ID: 0005_feeds
Revises: 0004_outbox
Create Date: 2026-11-27 12:00:00

Existing rows get fresh random tokens and their created_at as updated_at; then the columns
become NOT NULL.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005_feeds"
down_revision = "0004_outbox"
branch_labels = None
depends_on = None

TOKENS = {"users": ["feed_token"], "venues": ["feed_token"], "spaces": ["feed_token", "busy_token"]}


def upgrade():
    bind = op.get_bind()
    for table, columns in TOKENS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.add_column(sa.Column(column, sa.String(length=64), nullable=True))
            if table != "users":
                batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        ids = [row[0] for row in bind.execute(sa.text(f"SELECT id FROM {table}"))]
        for row_id in ids:
            values = {column: secrets.token_urlsafe(24) for column in columns}
            assignments = ", ".join(f"{column} = :{column}" for column in columns)
            bind.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {**values, "id": row_id})
        if table != "users":
            bind.execute(sa.text(f"UPDATE {table} SET updated_at = created_at"))
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=sa.String(length=64), nullable=False)
            if table != "users":
                batch_op.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    for table, columns in TOKENS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.drop_column(column)
            if table != "users":
                batch_op.drop_column("updated_at")
