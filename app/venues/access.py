"""Who may see and manage a venue, as SQL: `Venue.can_see` and `Venue.can_manage` for queries
that answer for many venues at once (search, availability).

Statements are built once per shape and reused with bound values: building and keying a
statement costs more than running a small one. Who is asking decides the shape of the access
rules; the actor's id is a bound parameter (`actor_id`, from `actor_params`).
"""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import User
from app.venues.models import Venue, venue_managers


def _manages(actor_id):
    """Whether the actor is one of the venue's managers, in SQL (cheaper than
    `Venue.managers.any(...)`, which joins the users too)."""
    return sa.exists().where(venue_managers.c.venue_id == Venue.id, venue_managers.c.user_id == actor_id)


VISITOR, ADMIN, USER = "visitor", "admin", "user"


def who(actor: User | None) -> str:
    if actor is None or not actor.is_authenticated:
        return VISITOR
    return ADMIN if actor.is_admin else USER


def actor_params(actor: User | None) -> dict:
    return {"actor_id": actor.id} if who(actor) == USER else {}


def can_manage_sql(who_: str):
    """`Venue.can_manage(actor)` as an SQL expression over `venues` (the actor's id bound as
    `actor_id`)."""
    if who_ == VISITOR:
        return sa.false()
    return sa.true() if who_ == ADMIN else _manages(sa.bindparam("actor_id"))


def can_see_sql(who_: str):
    """`Venue.can_see(actor)` as an SQL expression over `venues` (the actor's id bound as
    `actor_id`)."""
    if who_ == VISITOR:
        return Venue.published
    return sa.true() if who_ == ADMIN else sa.or_(Venue.published, _manages(sa.bindparam("actor_id")))
