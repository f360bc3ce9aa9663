"""Fixtures for the load and fault tests: a seeded database and gunicorn serving it."""

from __future__ import annotations

import pytest

from app import create_app
from app.accounts.services import create_api_token, register_user
from app.availability.services import set_hours
from app.extensions import db
from app.venues import services as venues
from config import TestingConfig
from tests.support.databases import empty_database, migrate
from tests.support.servers import gunicorn

CLIENTS = 24


@pytest.fixture
def seeded(database_kind, tmp_path):
    """A fresh database with a room (one booking at a time) and a corner of 5 seats."""
    from datetime import time as wall

    url = empty_database(database_kind, "dichtbij_concurrency", tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    migrate(app)
    with app.app_context():
        manager = register_user("manager@example.org", "long enough pw", "Manager", role="manager")
        venue = venues.create_venue(
            manager,
            {
                "name": "Buurthuis",
                "kind": "community_centre",
                "address": "Plein 1",
                "city": "Utrecht",
                "lat": 52.09,
                "lon": 5.10,
                "published": True,
            },
        )
        room = venues.create_space(
            manager, venue, {"name": "Zaal", "capacity": 10, "mode": "room", "slot_minutes": 30, "horizon_days": 60}
        )
        corner = venues.create_space(
            manager, venue, {"name": "Hoek", "capacity": 5, "mode": "seats", "slot_minutes": 30, "horizon_days": 60}
        )
        for space in (room, corner):
            set_hours(manager, space, [(d, wall(8), wall(20)) for d in range(7)])
        tokens = []
        for i in range(CLIENTS):
            member = register_user(f"member{i}@example.org", "long enough pw", f"Member {i}")
            tokens.append(create_api_token(member, "load")[1])
        db.session.commit()
        ids = {"room": room.id, "corner": corner.id}
    yield app, url, ids, tokens
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def server(seeded, tmp_path):
    app, url, ids, tokens = seeded
    with gunicorn(url, tmp_path / "instance") as (base, proc):
        yield base, app, ids, tokens, proc
