"""`edgesim serve`'s heap and Python's garbage collector: what start-up built is frozen out of it.

By the first request the process holds some 52,000 objects the collector tracks (modules, classes,
pydantic's schemas, the loaded distribution), and they live as long as the server. The collector's
full pass, which a busy server makes every 2,000 to 3,000 requests, walked all of them each time:
25-40 ms of CPU a pass, 7-12 µs per pass-through request and 9-18 µs per request with two
CloudFront Functions, some 2-5% of either (benchmarks/, issue 6: the passes timed by gc.callbacks
under wrk, 16 connections, three runs each). Frozen (gc.freeze), they are left out: a full pass
then walks the 1,500 or so objects requests keep, 0.1-0.2 µs per request.

A frozen object is never collected, so a reload freezes anew: the distribution it replaced is
thawed first, and its reference cycles are collected then (`freeze`).
"""

from __future__ import annotations

import gc


def freeze() -> None:
    """Collect, then freeze everything alive. Anything an earlier freeze kept is looked at again
    first: what has become garbage since (a reload's old distribution) is freed, not kept for ever."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def is_frozen() -> bool:
    return gc.get_freeze_count() > 0


def thaw() -> None:
    """Give the frozen objects back to the collector (the server stopped)."""
    gc.unfreeze()
