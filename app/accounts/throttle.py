"""Counting failed attempts across every worker and server.

A per-process memory counter would let an attacker spread guesses over the gunicorn
workers, so the count lives in shared storage: the database by default, Redis when
`REDIS_URL` is set. Both keep a moving window of individual hits.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa

from app.accounts.models import ThrottleHit
from app.db import now_utc
from app.extensions import db


class Throttle(Protocol):
    limit: int
    window: int

    def blocked(self, *keys: str) -> bool:
        """True when any key already has `limit` hits inside the window."""

    def hit(self, *keys: str) -> None:
        """Count one failed attempt under each key."""

    def reset(self, key: str) -> None:
        """Forget a key's hits (after a successful log-in)."""


class DatabaseThrottle:
    """Hits are rows in the request's session: they are kept when the view commits."""

    def __init__(self, limit: int, window: int) -> None:
        self.limit = limit
        self.window = window

    def _since(self):
        return now_utc() - timedelta(seconds=self.window)

    def blocked(self, *keys: str) -> bool:
        counts = db.session.execute(
            sa.select(ThrottleHit.key, sa.func.count())
            .where(ThrottleHit.key.in_(keys), ThrottleHit.at > self._since())
            .group_by(ThrottleHit.key)
        ).all()
        return any(count >= self.limit for _, count in counts)

    def hit(self, *keys: str) -> None:
        db.session.execute(sa.delete(ThrottleHit).where(ThrottleHit.at <= self._since()))
        db.session.add_all(ThrottleHit(key=key) for key in keys)
        db.session.flush()

    def reset(self, key: str) -> None:
        db.session.execute(sa.delete(ThrottleHit).where(ThrottleHit.key == key))


class RedisThrottle:
    """A sorted set per key, scored by time; old members are trimmed on every call."""

    def __init__(self, client, limit: int, window: int, prefix: str = "dichtbij:throttle:") -> None:
        self.client = client
        self.limit = limit
        self.window = window
        self.prefix = prefix

    def blocked(self, *keys: str) -> bool:
        now = time.time()
        pipe = self.client.pipeline()
        for key in keys:
            pipe.zremrangebyscore(self.prefix + key, 0, now - self.window)
            pipe.zcard(self.prefix + key)
        results = pipe.execute()
        return any(count >= self.limit for count in results[1::2])

    def hit(self, *keys: str) -> None:
        now = time.time()
        pipe = self.client.pipeline()
        for key in keys:
            pipe.zadd(self.prefix + key, {uuid.uuid4().hex: now})
            pipe.expire(self.prefix + key, self.window)
        pipe.execute()

    def reset(self, key: str) -> None:
        self.client.delete(self.prefix + key)


def throttle_from_config(config) -> Throttle:
    limit, window = config["THROTTLE_LIMIT"], config["THROTTLE_WINDOW_SECONDS"]
    if config.get("REDIS_URL"):
        import redis

        return RedisThrottle(redis.Redis.from_url(config["REDIS_URL"]), limit, window)
    return DatabaseThrottle(limit, window)
