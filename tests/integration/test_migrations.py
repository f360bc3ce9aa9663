"""Migrations build the schema on both databases, and agree with the models."""

from __future__ import annotations

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import create_app
from app.extensions import db
from config import TestingConfig
from tests.support.databases import empty_database


def schema_differences(app) -> list:
    from app import models  # noqa: F401  (every table on the metadata)

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_models_and_migrations_agree(database_kind, tmp_path):
    url = empty_database(database_kind, "dichtbij_migrations", tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
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
