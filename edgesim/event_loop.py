"""Which asyncio event loop edgesim runs on: uvloop when installed, else asyncio's own.

uvloop costs about a quarter less CPU per proxied request (benchmarks/, issue 6). `edgesim serve`
runs on it (server.py: uvicorn picks uvloop itself only when it owns the loop, and serve owns it),
and so does the loop the testing API keeps in a thread for synchronous tests (testing_sync.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory (uvicorn[standard] brings uvloop), or None for asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def new_event_loop() -> asyncio.AbstractEventLoop:
    factory = event_loop_factory()
    return factory() if factory is not None else asyncio.new_event_loop()


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to its end on a new loop of edgesim's kind."""
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        return runner.run(main)
