"""Versions: counters that move whenever what a user, venue or space shows changes.

Calendar apps poll every feed every hour, and most polls find nothing new. Instead of reading
every booking to find out, a feed compares counters: one row. The database keeps them with
triggers (migration 0009_versions), so every write path moves them, whichever code runs it:

| changes                                              | moves                                    |
| ---------------------------------------------------- | ---------------------------------------- |
| a booking (any kind, any status)                     | its space's and its member's `version`   |
| an opening window, closure or imported block         | its space's `version`                    |
| a space row; a space added, deleted or moved         | its own; its venue's; `versions.places`  |
| a venue row                                          | its own; `versions.places`               |
| a user row                                           | its own; `versions.people` (name, e-mail)|

`places` tells member feeds that a space or venue they may show was renamed or moved; `people`
tells venue and space feeds that a name or address they may show changed. Counters only grow
within one database; a restored backup starts from older values, so every key also holds
`epoch`, a random number that `flask --app wsgi versions renew` draws again after a restore.
Read them with Core statements, never from a loaded entity: the triggers move them behind the
ORM's back.
"""

from __future__ import annotations

import functools
import secrets

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from sqlalchemy.orm import Mapped, mapped_column

from app.database import plain_row
from app.extensions import db

PLACES = "places"
PEOPLE = "people"
EPOCH = "epoch"


class Version(db.Model):
    """A counter shared by many owners (see the module docstring)."""

    __tablename__ = "versions"

    name: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    version: Mapped[int] = mapped_column(default=0, server_default="0")


def shared(name: str) -> sa.ScalarSelect:
    """`versions.<name>` as a scalar subquery, to read with the owner's row in one statement."""
    return sa.select(Version.version).where(Version.name == name).scalar_subquery()


def of_venue_spaces() -> sa.ScalarSelect:
    """The sum of a venue's spaces' versions (correlated with `venues`). It moves with any change
    to any of them, as the set of spaces is fixed while the venue's own version stands still."""
    from app.venues.models import Space, Venue

    total = sa.func.coalesce(sa.func.sum(Space.version), 0)
    return sa.select(total).where(Space.venue_id == Venue.id).scalar_subquery()


def of_venue(venue_id: int) -> tuple[int, ...] | None:
    """Moves with every change a venue's calendars show: the venue, its spaces, their bookings,
    hours, closures and imported busy time, and the names of members. None: no such venue."""
    row = plain_row(_venue_stmt(), {"id": venue_id})
    return None if row is None else tuple(row)


@functools.cache
def _venue_stmt() -> sa.Select:
    from app.venues.models import Venue

    return sa.select(Venue.version, of_venue_spaces(), shared(PEOPLE), shared(EPOCH)).where(
        Venue.id == sa.bindparam("id")
    )


def renew_epoch() -> int:
    """A new epoch: every ETag and kept page changes once (after restoring a backup)."""
    epoch = secrets.randbelow(2**31 - 1) + 1
    db.session.execute(sa.update(Version).where(Version.name == EPOCH).values(version=epoch))
    return epoch


versions_cli = AppGroup("versions", help="The version counters behind ETags and kept pages.")


@versions_cli.command("renew")
def renew_command() -> None:
    """Run after restoring a backup: every calendar feed's ETag changes once, so no calendar app
    keeps a copy made from data the restore took back."""
    epoch = renew_epoch()
    db.session.commit()
    click.echo(f"New epoch {epoch}: every feed's ETag has changed.")
