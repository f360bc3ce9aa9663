"""A small process-local cache of feed bodies, keyed by ETag.

Google Calendar polls without If-None-Match, so most "cold" feed requests are for a feed that
has not changed: with the body kept by its ETag they cost the owner's row only. The ETag
changes whenever the body would (see `feeds.owner`), so an entry is never stale; old entries
simply fall out. Bounded in entries and bytes: gunicorn workers should stay near 120 MB, so
8 MB a process (two 5,000-event venue feeds of 3.2 MB and a few member feeds).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime

Entry = tuple[bytes, datetime | None]  # the body and its Last-Modified


class BodyCache:
    """Least recently used, thread-safe; a body larger than half the budget is not kept."""

    def __init__(self, max_entries: int = 16, max_bytes: int = 8 * 1024 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, Entry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Entry | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: Entry) -> None:
        body = entry[0]
        if self.max_entries <= 0 or len(body) > self.max_bytes // 2:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old[0])
            self._items[key] = entry
            self._size += len(body)
            while len(self._items) > self.max_entries or self._size > self.max_bytes:
                _key, dropped = self._items.popitem(last=False)
                self._size -= len(dropped[0])

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
