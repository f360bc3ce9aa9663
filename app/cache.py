"""Small process-local caches of things built from the database and keyed by its versions.

A key that holds the versions of everything the value shows (app/versions.py) makes an entry
correct for as long as it is found: old entries are never stale, they simply fall out. Used for
feed bodies (Google Calendar polls without If-None-Match) and for the managers' calendar day.

Off under TESTING unless the app's config says otherwise (`caches`): tests roll the database
back, so ids, versions and frozen times repeat, and one key could mean two values.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app


class BoundedCache:
    """Least recently used, thread-safe, bounded in entries and in bytes (gunicorn workers should
    stay near 120 MB); a value larger than half the budget is not kept."""

    def __init__(self, max_entries: int = 16, max_bytes: int = 8 * 1024 * 1024, size: Callable[[Any], int] = len):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        size = self.size(value)
        if self.max_entries <= 0 or size > self.max_bytes // 2:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._used -= self.size(old)
            self._items[key] = value
            self._used += size
            while len(self._items) > self.max_entries or self._used > self.max_bytes:
                _key, dropped = self._items.popitem(last=False)
                self._used -= self.size(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._used = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


# name: (entries, bytes, size of a value) in production
CACHES: dict[str, tuple[int, int, Callable[[Any], int]]] = {
    # 8 MB: two 5,000-event venue feeds of 3.2 MB and a few member feeds; value (body, modified)
    "feed_bodies": (16, 8 * 1024 * 1024, lambda entry: len(entry[0])),
    # a 50-space venue's week is ~400 KB of HTML
    "calendar_days": (64, 4 * 1024 * 1024, len),
}


def cache(name: str) -> BoundedCache:
    """The app's cache `name`; its entries from config `CACHE_ENTRIES[name]` (0 under TESTING)."""
    found = current_app.extensions.get(f"cache.{name}")
    if found is None:
        entries, max_bytes, size = CACHES[name]
        if current_app.testing:
            entries = 0
        entries = current_app.config.get("CACHE_ENTRIES", {}).get(name, entries)
        found = current_app.extensions.setdefault(f"cache.{name}", BoundedCache(entries, max_bytes, size))
    return found
