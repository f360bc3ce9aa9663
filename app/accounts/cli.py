"""`flask users ...`: create accounts and API tokens from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.accounts import services
from app.accounts.models import ROLES
from app.errors import DomainError
from app.extensions import db

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--name", default=None, help="Display name (defaults to the part before @).")
@click.option("--language", type=click.Choice(["nl", "en"]), default="nl", show_default=True)
def create_user(email: str, password: str, role: str, name: str | None, language: str) -> None:
    """Create an account."""
    try:
        user = services.register_user(email, password, name or email.split("@")[0], language=language, role=role)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.detail) from exc
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@users_cli.command("token")
@click.argument("email")
@click.option("--label", default="CLI", show_default=True)
def create_token(email: str, label: str) -> None:
    """Make a new API token; it is printed once, as the last line."""
    user = services.user_by_email(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    _token, plaintext = services.create_api_token(user, label)
    db.session.commit()
    click.echo(f"New API token for {user.email} ({label}):")
    click.echo(plaintext)
