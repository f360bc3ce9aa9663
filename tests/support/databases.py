"""Fresh, migrated databases for tests, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

KINDS = ("sqlite", "postgresql")


def postgresql_admin_url() -> str:
    url = os.environ.get("TEST_POSTGRESQL_URL")
    if not url:
        raise RuntimeError(
            "TEST_POSTGRESQL_URL is not set: run the suite with `make test` (it starts a throwaway "
            "PostgreSQL), or choose SQLite only with `pytest --databases sqlite`."
        )
    return url


def empty_database(kind: str, name: str, tmp_dir: Path) -> str:
    """An empty database named `name`; returns its SQLAlchemy URL."""
    if kind == "sqlite":
        path = tmp_dir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = make_url(postgresql_admin_url())
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def migrate(app) -> None:
    """Build the schema the way production does: by running every migration."""
    import flask_migrate

    from app.database import enable_migrations

    enable_migrations(app)
    with app.app_context():
        flask_migrate.upgrade()
