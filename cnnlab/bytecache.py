"""A least-recently-used cache bounded by bytes (and by age), shared by every session.

Streamlit serves every browser session from one process, so what a page caches stays in
that process's memory after the session closes. ``st.cache_data(max_entries=...)``
bounds the count of entries, not their size: 15 uploads of 6300x6300 PNGs held 2 GB.
This cache counts each entry's bytes (as the caller measures them) and drops the least
recently used entries until the total is under ``max_bytes``; entries unused for
``ttl_s`` seconds are dropped at the next access.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ByteLRU(Generic[T]):
    """``get_or_make(key, make)``: ``make()``'s value, kept while it fits in ``max_bytes``."""

    def __init__(self, max_bytes: int, size_of: Callable[[T], int], ttl_s: float = 900.0) -> None:
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self._size_of = size_of
        self._entries: OrderedDict[str, tuple[T, int, float]] = OrderedDict()  # value, bytes, used
        self._lock = threading.Lock()

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(size for _, size, _ in self._entries.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get_or_make(self, key: str, make: Callable[[], T]) -> T:
        """The cached value of ``key``, or ``make()`` (not under the lock: decoding is slow).

        A value larger than ``max_bytes`` on its own is returned but not kept.
        """
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            entry = self._entries.get(key)
            if entry is not None:
                self._entries[key] = (entry[0], entry[1], now)
                self._entries.move_to_end(key)
                return entry[0]
        value = make()
        size = self._size_of(value)
        if size <= self.max_bytes:
            with self._lock:
                self._entries[key] = (value, size, now)
                self._entries.move_to_end(key)
                self._evict()
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _expire(self, now: float) -> None:
        for key in [k for k, (_, _, used) in self._entries.items() if now - used > self.ttl_s]:
            del self._entries[key]

    def _evict(self) -> None:
        total = sum(size for _, size, _ in self._entries.values())
        while total > self.max_bytes and self._entries:
            _, (_, size, _) = self._entries.popitem(last=False)
            total -= size
