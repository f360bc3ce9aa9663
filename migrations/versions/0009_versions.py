"""versions: a counter on users, venues and spaces that moves whenever what they show changes

Revision ID: 0009_versions
Revises: 0008_bookings_space_end
Create Date: 2026-11-27 17:10:00

A calendar app polls every feed every hour or so; "has it changed?" used to be an aggregate over
every booking in the feed (2,000 or 5,000 rows a poll). Now it is one row: the owner's `version`.
The database keeps the counters itself, with triggers, so no write path (service, import,
seed script, a hand-run UPDATE) can forget one (see app/versions.py for what moves what):

- a booking (any kind or status), opening window, closure or imported block inserted, updated
  or deleted: its space's version, and a booking's member's version;
- a space, venue or user row changed (not by the counter itself): its own version; a space's
  insert, delete or move: its venue's version;
- a space or venue changed: `versions.places` (member feeds show their names and addresses);
  a user's name or e-mail changed: `versions.people` (venue and space feeds show them).

Locks are taken child before parent (booking → space, booking → member), as the booking engine
already locks its space, and bookings never lock the venue row: concurrent bookings in one
venue do not queue behind each other. On PostgreSQL, edits of spaces and venues (rare) queue
on the one `places` row, and renames of members on `people`, until they commit; opening hours,
closures and calendar syncs take their space's row, as a booking does.

SQLite drops a table's triggers when `batch_alter_table` rebuilds it, and refuses to rename a
table that other tables' triggers name: a later migration that rebuilds bookings, spaces,
venues, users or their children must drop every trigger below first (`SQLITE_TRIGGERS`) and
create them again afterwards (`tests/integration/test_versions.py` fails when one is missing).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_versions"
down_revision = "0008_bookings_space_end"
branch_labels = None
depends_on = None

OWNERS = ("users", "venues", "spaces")
SPACE_CHILDREN = ("bookings", "opening_windows", "closures", "imported_blocks")

MEMBER_INSERT = "UPDATE users SET version = version + 1 WHERE id = NEW.member_id;"
MEMBER_UPDATE = "UPDATE users SET version = version + 1 WHERE id IN (NEW.member_id, OLD.member_id);"
MEMBER_DELETE = "UPDATE users SET version = version + 1 WHERE id = OLD.member_id;"

SQLITE = [
    # Rows that belong to a space (and a booking's member).
    *(
        f"""
        CREATE TRIGGER {table}_version_insert AFTER INSERT ON {table} BEGIN
            UPDATE spaces SET version = version + 1 WHERE id = NEW.space_id;
            {MEMBER_INSERT if table == "bookings" else ""}
        END
        """
        for table in SPACE_CHILDREN
    ),
    *(
        f"""
        CREATE TRIGGER {table}_version_update AFTER UPDATE ON {table} BEGIN
            UPDATE spaces SET version = version + 1 WHERE id IN (NEW.space_id, OLD.space_id);
            {MEMBER_UPDATE if table == "bookings" else ""}
        END
        """
        for table in SPACE_CHILDREN
    ),
    *(
        f"""
        CREATE TRIGGER {table}_version_delete AFTER DELETE ON {table} BEGIN
            UPDATE spaces SET version = version + 1 WHERE id = OLD.space_id;
            {MEMBER_DELETE if table == "bookings" else ""}
        END
        """
        for table in SPACE_CHILDREN
    ),
    # The owners' own rows. `NEW.version = OLD.version`: a change other than a counter's bump
    # (SQLite does not run a trigger again from its own UPDATE).
    """
    CREATE TRIGGER spaces_version_change AFTER UPDATE ON spaces WHEN NEW.version = OLD.version BEGIN
        UPDATE spaces SET version = version + 1 WHERE id = NEW.id;
        UPDATE venues SET version = version + 1
            WHERE id IN (NEW.venue_id, OLD.venue_id) AND NEW.venue_id IS NOT OLD.venue_id;
        UPDATE versions SET version = version + 1 WHERE name = 'places';
    END
    """,
    """
    CREATE TRIGGER spaces_version_insert AFTER INSERT ON spaces BEGIN
        UPDATE venues SET version = version + 1 WHERE id = NEW.venue_id;
    END
    """,
    """
    CREATE TRIGGER spaces_version_delete AFTER DELETE ON spaces BEGIN
        UPDATE venues SET version = version + 1 WHERE id = OLD.venue_id;
    END
    """,
    """
    CREATE TRIGGER venues_version_change AFTER UPDATE ON venues WHEN NEW.version = OLD.version BEGIN
        UPDATE venues SET version = version + 1 WHERE id = NEW.id;
        UPDATE versions SET version = version + 1 WHERE name = 'places';
    END
    """,
    """
    CREATE TRIGGER users_version_change AFTER UPDATE ON users WHEN NEW.version = OLD.version BEGIN
        UPDATE users SET version = version + 1 WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER users_version_people AFTER UPDATE OF name, email ON users
    WHEN NEW.name IS NOT OLD.name OR NEW.email IS NOT OLD.email BEGIN
        UPDATE versions SET version = version + 1 WHERE name = 'people';
    END
    """,
]


def _owner_of_row(function: str, owners: str, column: str) -> str:
    """A trigger function moving the version of the row's owner (`owners` by `column`): the old
    owner on update and delete, the new one on insert and on a move."""
    return f"""
    CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            UPDATE {owners} SET version = version + 1 WHERE id = OLD.{column};
        END IF;
        IF TG_OP = 'INSERT' THEN
            UPDATE {owners} SET version = version + 1 WHERE id = NEW.{column};
        ELSIF TG_OP = 'UPDATE' THEN
            IF NEW.{column} IS DISTINCT FROM OLD.{column} THEN
                UPDATE {owners} SET version = version + 1 WHERE id = NEW.{column};
            END IF;
        END IF;
        RETURN NULL;
    END $$
    """


POSTGRESQL = [
    _owner_of_row("version_space_of_row", "spaces", "space_id"),
    _owner_of_row("version_member_of_booking", "users", "member_id"),
    *(
        f"""
        CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION version_space_of_row()
        """
        for table in SPACE_CHILDREN
    ),
    """
    CREATE TRIGGER bookings_version_member AFTER INSERT OR UPDATE OR DELETE ON bookings
    FOR EACH ROW EXECUTE FUNCTION version_member_of_booking()
    """,
    # The owners' own rows: a change other than a counter's bump moves the counter in place.
    """
    CREATE FUNCTION version_space_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.version = OLD.version THEN
            NEW.version := OLD.version + 1;
            IF NEW.venue_id IS DISTINCT FROM OLD.venue_id THEN
                UPDATE venues SET version = version + 1 WHERE id IN (NEW.venue_id, OLD.venue_id);
            END IF;
            UPDATE versions SET version = version + 1 WHERE name = 'places';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE FUNCTION version_venue_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.version = OLD.version THEN
            NEW.version := OLD.version + 1;
            UPDATE versions SET version = version + 1 WHERE name = 'places';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE FUNCTION version_user_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.version = OLD.version THEN
            NEW.version := OLD.version + 1;
            IF NEW.name IS DISTINCT FROM OLD.name OR NEW.email IS DISTINCT FROM OLD.email THEN
                UPDATE versions SET version = version + 1 WHERE name = 'people';
            END IF;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE FUNCTION version_venue_of_space() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE venues SET version = version + 1 WHERE id = NEW.venue_id;
        ELSE
            UPDATE venues SET version = version + 1 WHERE id = OLD.venue_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER spaces_version_change BEFORE UPDATE ON spaces FOR EACH ROW EXECUTE FUNCTION version_space_change()",
    "CREATE TRIGGER venues_version_change BEFORE UPDATE ON venues FOR EACH ROW EXECUTE FUNCTION version_venue_change()",
    "CREATE TRIGGER users_version_change BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION version_user_change()",
    """
    CREATE TRIGGER spaces_version_venue AFTER INSERT OR DELETE ON spaces
    FOR EACH ROW EXECUTE FUNCTION version_venue_of_space()
    """,
]

POSTGRESQL_DOWN = [
    *(f"DROP TRIGGER {table}_version ON {table}" for table in SPACE_CHILDREN),
    "DROP TRIGGER bookings_version_member ON bookings",
    "DROP TRIGGER spaces_version_change ON spaces",
    "DROP TRIGGER venues_version_change ON venues",
    "DROP TRIGGER users_version_change ON users",
    "DROP TRIGGER spaces_version_venue ON spaces",
    *(
        f"DROP FUNCTION {name}()"
        for name in (
            "version_space_of_row",
            "version_member_of_booking",
            "version_space_change",
            "version_venue_change",
            "version_user_change",
            "version_venue_of_space",
        )
    ),
]

SQLITE_TRIGGERS = [
    *(f"{table}_version_{op_}" for table in SPACE_CHILDREN for op_ in ("insert", "update", "delete")),
    "spaces_version_change",
    "spaces_version_insert",
    "spaces_version_delete",
    "venues_version_change",
    "users_version_change",
    "users_version_people",
]


def upgrade():
    for table in OWNERS:
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    versions = op.create_table(
        "versions",
        sa.Column("name", sa.String(20), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
    )
    op.bulk_insert(versions, [{"name": "places", "version": 0}, {"name": "people", "version": 0}])
    statements = POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_DOWN:
            op.execute(statement)
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("versions")
    for table in OWNERS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("version")
