"""Pages cached under keys of row ids and counters (assessment.views): a test's rows reuse the
ids of the test before, so a test forgets what the one before cached, and a test of a page's
uncached path forgets it on purpose."""

from __future__ import annotations

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache

CACHED_PAGES = ("assessment:queue:", "assessment:marking:")


def forget_cached_pages() -> None:
    if not isinstance(cache, RedisCache):
        cache.clear()  # this process's own memory
        return
    # Redis also holds the broker's queues of the worker tests, so only these keys go.
    client = cache._cache.get_client(write=True)
    for prefix in CACHED_PAGES:
        keys = list(client.scan_iter(match=cache.make_key(prefix) + "*", count=1000))
        if keys:
            client.delete(*keys)
