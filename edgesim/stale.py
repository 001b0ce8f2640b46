"""Serving an expired object: the origin's `stale-while-revalidate` and `stale-if-error` directives.

CloudFront honours both Cache-Control directives from the origin since May 2023 (spec §4.3; AWS
What's New 2023-05-17 "Amazon CloudFront supports stale-while-revalidate and stale-if-error cache
control directives"; DG/Expiration, "Using stale-while-revalidate and stale-if-error"):
- `stale-while-revalidate=N`: for N seconds after an object expires, the viewer gets the expired
  object at once while CloudFront asks the origin in the background;
- `stale-if-error=N`: for N seconds after it expires, an origin 5xx or an unreachable origin gets the
  viewer the expired object instead of the error.
Past both windows the ordinary rules apply (edge_cache_flow.py `_miss`). This module holds the windows
and the background refreshes; edge_cache_flow.py decides when to use them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from edgesim.cache import CacheControl, CacheEntry
from edgesim.cache_key import CacheKey

log = logging.getLogger("edgesim")

# UNCERTAIN: the docs do not name the X-Cache of an object served within stale-while-revalidate.
# Third-party reports (OBS: Stack Overflow 76861544 on X-Cache values) describe RefreshHit as "serves a
# stale object from the cache while fetching a new copy from the origin"; we follow them.
STALE_WHILE_REVALIDATE_X_CACHE = "RefreshHit from cloudfront"

# UNCERTAIN: whether the cache policy's MaxTTL also caps the stale windows. MaxTTL caps every
# header-driven duration CloudFront keeps an object for (spec §4.3), so we read it as capping each
# window too; False keeps the origin's values as sent.
CLAMP_WINDOWS_TO_MAX_TTL = True


@dataclass(frozen=True)
class StaleWindows:
    """Absolute times (the cache's clock) until which an expired object may still be served."""

    revalidate_until: float
    # None: the origin sent no stale-if-error, so the older rule applies unbounded: an expired object
    # is served rather than an origin 5xx (AD/HTTPStatusCodes).
    if_error_until: float | None


def windows(entry: CacheEntry, max_ttl: float) -> StaleWindows:
    """The stale windows of an expired `entry`, counted from when it first expired.

    Worked out on the first stale lookup only and kept on the entry, so a plain hit or miss never
    parses the directives, and a later `EdgeCache.extend` does not move the windows."""
    found = entry.stale_windows
    if found is not None:
        return found
    expired_at = entry.expires_at()
    directives = CacheControl.parse(entry.response.headers)
    swr: float = directives.stale_while_revalidate or 0
    sie: float | None = directives.stale_if_error
    if CLAMP_WINDOWS_TO_MAX_TTL:
        swr = min(swr, max_ttl)
        sie = None if sie is None else min(sie, max_ttl)
    found = StaleWindows(expired_at + swr, None if sie is None else expired_at + sie)
    entry.stale_windows = found
    return found


class BackgroundRefreshes:
    """The origin fetches started for objects served within stale-while-revalidate.

    One refresh per cache key at a time (later viewers in the window get the stale object without
    asking the origin again). Owned by one Pipeline; `aclose` cancels what is still running, so no
    task outlives the simulator. A refresh never fails a viewer: its errors are logged."""

    def __init__(self) -> None:
        self._tasks: dict[CacheKey, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, key: CacheKey, refresh: Callable[[], Coroutine[Any, Any, object]]) -> bool:
        """Run `refresh()` in the background unless one for `key` is running; True if started."""
        if key in self._tasks:
            return False
        task = asyncio.get_running_loop().create_task(self._run(key, refresh))
        self._tasks[key] = task
        return True

    async def _run(self, key: CacheKey, refresh: Callable[[], Coroutine[Any, Any, object]]) -> None:
        try:
            await refresh()
        except Exception as exc:  # noqa: BLE001 - the viewer already has its answer
            log.warning("background refresh of %s failed: %s: %s", key.uri, type(exc).__name__, exc)
        finally:
            self._tasks.pop(key, None)

    async def wait(self) -> None:
        """Until every refresh running now (and any they start) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
