"""Test fixtures.

Every test that uses `app` runs once on SQLite and once on PostgreSQL (the test id says which).
The schema comes from the migrations. Each test runs inside one outer transaction that is
rolled back afterwards; the app's own commits become savepoints inside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from sqlalchemy import orm

from app import create_app
from app.extensions import db
from config import TestingConfig
from tests.support.databases import KINDS, empty_database, migrate

PASSWORD = "correct horse battery"


def pytest_addoption(parser):
    parser.addoption(
        "--databases",
        default=os.environ.get("TEST_DATABASES", ",".join(KINDS)),
        help="Comma-separated databases to run on: sqlite,postgresql (default: both).",
    )


def pytest_report_header(config):
    return f"databases: {config.getoption('--databases')}"


def pytest_generate_tests(metafunc):
    if "database_kind" in metafunc.fixturenames:
        kinds = [k.strip() for k in metafunc.config.getoption("--databases").split(",") if k.strip()]
        if metafunc.definition.get_closest_marker("one_database"):
            kinds = kinds[:1]  # what the browser renders does not depend on the database
        metafunc.parametrize("database_kind", kinds, scope="session")


@pytest.fixture(scope="session")
def database_url(database_kind, tmp_path_factory):
    return empty_database(database_kind, "dichtbij_test", tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def base_app(database_url, tmp_path_factory):
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        NODE_MODULES=TestingConfig.NODE_MODULES,
    )
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    migrate(app)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(base_app):
    """The app, with every database write of the test rolled back afterwards."""
    with base_app.app_context():
        engine = db.engine
    connection = engine.connect()
    outer = connection.begin()
    original = db.session
    # A plain Session: Flask-SQLAlchemy's own would ignore `bind` and take the engine.
    db.session = orm.scoped_session(orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
    try:
        yield base_app
    finally:
        db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class Account:
    id: int
    email: str
    password: str
    role: str
    name: str


@pytest.fixture
def make_user(app):
    """Create an account through the registration service."""
    from app.accounts.services import register_user

    counter = iter(range(1, 10_000))

    def make(
        role: str = "member",
        email: str | None = None,
        name: str | None = None,
        password: str = PASSWORD,
        language: str = "en",
    ) -> Account:
        n = next(counter)
        email = email or f"{role}{n}@example.org"
        with app.app_context():
            user = register_user(email, password, name or f"{role.title()} {n}", language, role)
            db.session.commit()
            return Account(user.id, user.email, password, user.role, user.name)

    return make


@pytest.fixture
def make_token(app):
    from app.accounts.services import create_api_token, user_by_email

    def make(account: Account, label: str = "test") -> str:
        with app.app_context():
            _token, plaintext = create_api_token(user_by_email(account.email), label)
            db.session.commit()
            return plaintext

    return make


@pytest.fixture
def member(make_user):
    return make_user("member")


@pytest.fixture
def login(client):
    """Log a browser-like client in through the real form, CSRF token included."""

    def do(account: Account, password: str | None = None):
        token = csrf_token(client, "/login")
        return client.post(
            "/login",
            data={"email": account.email, "password": password or account.password, "csrf_token": token},
        )

    return do


def csrf_token(client, path: str) -> str:
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)
