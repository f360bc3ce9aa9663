"""Migrations build the schema on both databases, and agree with the models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from app import create_app
from app.database import MIGRATIONS, enable_migrations
from app.extensions import db
from config import TestingConfig
from tests.support.databases import empty_database

ROOT = Path(__file__).resolve().parents[2]


def schema_differences(app) -> list:
    from app import models  # noqa: F401  (every table on the metadata)

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_models_and_migrations_agree(database_kind, tmp_path):
    url = empty_database(database_kind, "dichtbij_migrations", tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    enable_migrations(app)
    with app.app_context():
        flask_migrate.upgrade()
    assert schema_differences(app) == []
    # Down to nothing and up again: every revision can be undone.
    with app.app_context():
        flask_migrate.downgrade(revision="base")
        flask_migrate.upgrade()
    assert schema_differences(app) == []
    with app.app_context():
        db.engine.dispose()


def test_flask_db_builds_the_schema_through_the_cli(database_kind, tmp_path):
    """`flask db` is Flask-Migrate's group, loaded when it runs (create_app does not load it)."""
    url = empty_database(database_kind, "dichtbij_migrations_cli", tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["db", "--help"])
    assert listed.exit_code == 0, listed.output
    assert "upgrade" in listed.output and "downgrade" in listed.output
    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert schema_differences(app) == []
    with app.app_context():
        stamped = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        db.session.remove()
        db.engine.dispose()
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert heads == [stamped]


def test_serving_does_not_load_the_migration_tools(tmp_path):
    """Alembic, Mako and Pygments cost each gunicorn worker ~10 MB: the app a worker serves is
    built without them."""
    code = (
        "import sys\n"
        "from app import create_app\n"
        "create_app()\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'flask_migrate', 'mako', 'pygments'})\n"
        "print(','.join(loaded) or 'none')\n"
    )
    env = {
        **os.environ,
        "DICHTBIJ_CONFIG": "production",
        "SECRET_KEY": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serving.db'}",
        "DICHTBIJ_INSTANCE": str(tmp_path / "instance"),
    }
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"
