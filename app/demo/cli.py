"""`flask demo load`: fill an empty database with a living neighbourhood."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.demo.data import load_demo
from app.extensions import db

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only when the database has no accounts yet.")
def load(if_empty: bool) -> None:
    """Load the demo neighbourhood. Safe to run twice: what exists is left alone."""
    report = load_demo(only_if_empty=if_empty)
    db.session.commit()
    click.echo(report)
