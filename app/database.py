"""Engine settings per database: SQLite pragmas and transaction control, PostgreSQL options;
the migrations (`flask db …`)."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, has_request_context, request
from sqlalchemy import Executable, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row, make_url

from app.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def plain_rows(statement: Executable, params: dict | None = None) -> list[Row]:
    """All rows of a statement of plain columns, in the session's transaction, without the ORM's
    result layer (made for entities: it costs about a microsecond a row more, and a search reads
    hundreds) and fetched at once rather than row by row."""
    return db.session.connection().execute(statement, params).all()


def plain_row(statement: Executable, params: dict | None = None) -> Row | None:
    """The first row of such a statement (one asked for by its key), or None."""
    rows = plain_rows(statement, params)
    return rows[0] if rows else None


def dialect_name() -> str:
    """The session's database: "sqlite" or "postgresql" (statements built once per kind)."""
    return db.session.get_bind().dialect.name


def one_of(column, name: str, dialect: str) -> sa.ColumnElement[bool]:
    """`column` is one of the list bound as `name` when the statement runs.

    On PostgreSQL `column = ANY(:name)`: one array parameter, so the statement's text is the same
    however long the list, and PostgreSQL plans it once per connection (psycopg prepares what
    it sees often). An IN list is a statement of its own for every length — a search's lists
    vary, more lengths than psycopg keeps prepared — and binds every id on its own. SQLite has
    no arrays: an expanding IN there."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(name, expanding=True))


def configure_engine_options(app: Flask) -> None:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.get_backend_name() == "sqlite":
        # A file does not go away like a server: pinging it before every checkout is pure cost.
        options.pop("pool_pre_ping", None)
        # We issue BEGIN ourselves (see below), so pysqlite must not.
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("isolation_level", None)
        connect_args.setdefault("timeout", app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
        options["connect_args"] = connect_args
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    elif url.get_backend_name() == "postgresql":
        # What `bookings.transaction` is written for, whatever the server's default or the
        # configuration says: every statement reads what is committed; the space's row lock
        # orders the checks. (Under REPEATABLE READ a check could miss a booking just made.)
        options["isolation_level"] = "READ COMMITTED"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def register_engine_events(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        # pysqlite's own transaction handling would defer BEGIN past SELECTs and break
        # SAVEPOINTs; we begin explicitly. A deferred transaction that reads and then writes
        # fails at once with "database is locked" when another writer got in between (the
        # busy timeout does not apply to that upgrade), so requests that may write (POST,
        # PUT, PATCH, DELETE) take the write lock up front with BEGIN IMMEDIATE and wait
        # their turn; so do jobs outside a request (mail delivery, CLI). Only reading
        # requests (GET, HEAD) begin deferred and run side by side.
        mode = connection.get_execution_options().get("sqlite_begin")
        if mode is None:
            reading = has_request_context() and request.method in SAFE_METHODS
            mode = "DEFERRED" if reading else "IMMEDIATE"
        connection.exec_driver_sql(f"BEGIN {mode}")


# -- migrations ------------------------------------------------------------------------------------

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def enable_migrations(app: Flask) -> None:
    """Flask-Migrate (Alembic) on `app`: for `flask db …` and for code that migrates (the tests,
    the benchmark's seeding). Not at start-up: Alembic, Mako and Pygments cost each gunicorn
    worker ~10 MB that serving never uses."""
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True, compare_type=True)


def register_migrations(app: Flask) -> None:
    app.cli.add_command(_Migrations(app))


class _Migrations(click.Group):
    """`flask db`, standing in for Flask-Migrate's command group until a command runs: then that
    group, with its options and commands, takes over."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="Perform database migrations (Flask-Migrate).")
        self._app = app

    def _real(self) -> click.Group:
        enable_migrations(self._app)
        from flask_migrate.cli import db as group

        return group

    def make_context(self, info_name, args, parent=None, **extra):
        return self._real().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx, cmd_name):
        return self._real().get_command(ctx, cmd_name)
