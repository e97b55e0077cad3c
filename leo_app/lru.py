"""A small thread-safe least-recently-used cache of computed values, shared by all sessions (a page keeps one
in ``st.cache_resource``; the Landscape page's grids)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

__all__ = ["LRU"]

V = TypeVar("V")


class LRU:
    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self._size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def has(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value of ``key``, or ``compute()`` kept as the newest (the lock is not held while computing)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value
