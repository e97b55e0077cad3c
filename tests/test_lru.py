"""leo_app/lru.py: the shared least-recently-used cache of computed grids."""

import pytest

from leo_app.lru import LRU


def test_keeps_the_newest_and_recomputes_only_what_it_dropped():
    calls = []
    cache = LRU(2)

    def compute(k):
        return lambda: calls.append(k) or k * 10

    assert cache.get_or_compute("a", compute(1)) == 10
    assert cache.get_or_compute("b", compute(2)) == 20
    assert cache.get_or_compute("a", compute(9)) == 10  # a hit: no compute, "a" becomes the newest
    cache.get_or_compute("c", compute(3))  # evicts "b", the least recently used
    assert cache.has("a") and cache.has("c") and not cache.has("b")
    assert calls == [1, 2, 3]
    with pytest.raises(ValueError):
        LRU(0)
