"""outbox: a mail announcing a new booking is composed when it is sent

Revision ID: 0012_outbox_composed_late
Revises: 0011_versions_epoch
Create Date: 2026-11-27 20:10:00

Composing a mail (texts, HTML, invitation, MIME) was most of a booking's time inside the write
transaction, where on SQLite every other booking waits. The row now keeps what composing needs
(the recipient's name and language, the manager's note) and `message` stays empty until the
first delivery attempt composes and stores it. Rows written before keep their messages.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_outbox_composed_late"
down_revision = "0011_versions_epoch"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient_name", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("language", sa.String(length=2), nullable=False, server_default="nl"))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
        batch_op.alter_column("message", existing_type=sa.LargeBinary(), nullable=True)


def downgrade():
    # A row not composed yet cannot go back: an older release would have nothing to send.
    op.execute("DELETE FROM outbox_messages WHERE message IS NULL")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("message", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("note")
        batch_op.drop_column("language")
        batch_op.drop_column("recipient_name")
