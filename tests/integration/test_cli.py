"""Command-line tools: users, tokens, demo data."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db


def test_users_create_and_token(app, runner, client):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Marja@Example.org",
            "--password",
            "long enough pw",
            "--role",
            "manager",
            "--name",
            "Marja",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "marja@example.org"))
        assert (user.role, user.name) == ("manager", "Marja")
    result = runner.invoke(args=["users", "token", "marja@example.org", "--label", "outlook"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json["email"] == "marja@example.org"


def test_users_create_refuses_bad_input(app, runner):
    result = runner.invoke(args=["users", "create", "not-an-email", "--password", "long enough pw"])
    assert result.exit_code != 0
    result = runner.invoke(args=["users", "create", "a@example.org", "--password", "short"])
    assert result.exit_code != 0
    result = runner.invoke(args=["users", "create", "a@example.org", "--password", "long enough", "--role", "boss"])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_token_for_unknown_user_fails(runner):
    result = runner.invoke(args=["users", "token", "nobody@example.org"])
    assert result.exit_code != 0


def test_demo_load_is_idempotent_and_demo_logins_work(app, runner, client):
    from app.demo.data import DEMO_PASSWORD, DEMO_USERS

    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.app_context():
        first = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == first == len(DEMO_USERS)
    roles = {role for _, _, role, _ in DEMO_USERS}
    assert roles == {"member", "manager", "admin"}
    response = client.post("/api/v1/tokens", json={"email": DEMO_USERS[0][0], "password": DEMO_PASSWORD})
    assert response.status_code == 201


def test_demo_load_if_empty_leaves_a_used_database_alone(app, runner, make_user):
    make_user()
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
