"""The edge's clock: wall time when serving, a hand-moved one in tests.

One clock drives the Simulator, the pipeline and the edge cache, so a test moves time for all three
at once (expiry, stale windows) without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    """Wall-clock seconds since the epoch."""

    def now(self) -> float:
        return time.time()

    def __call__(self) -> float:
        return time.time()


class CallableClock:
    """Adapts a plain `() -> float` (the simulator's clock) to Clock."""

    def __init__(self, fn: Callable[[], float]) -> None:
        self._fn = fn

    def now(self) -> float:
        return self._fn()


class ManualClock:
    """A clock tests move by hand, so expiry is tested without sleeping."""

    def __init__(self, start: float | None = None) -> None:
        # Starts at the real time, so an origin's Expires date means what it says; frozen after.
        self._now = time.time() if start is None else start

    def now(self) -> float:
        return self._now

    def __call__(self) -> float:
        """Callable too, so one ManualClock can drive the Simulator, the pipeline and the cache."""
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        self._now += seconds
