"""Warm functions shared by many Distributions in one event loop (a test session).

Loading a function costs a V8 isolate or a worker process; a suite of hundreds of tests should pay
that once per function, not once per test. A function is shared only where sharing cannot leak
state between tests:
- CloudFront Functions: the runtime gives each invocation a fresh top level (as CloudFront's njs
  does, a cloned VM per request), so a warm isolate carries nothing from one request to the next.
  Its KeyValueStore is a file the testing API resets per test.
- Lambda@Edge: a warm worker keeps module globals between invocations (as real Lambda does), so a
  test could see what the previous one left. Workers are per Distribution unless `share_lambda`;
  to keep that fast, the pool starts the next tests' workers in the background ("spares": loaded
  and started, never invoked), so a test takes a ready worker instead of waiting for a process to
  start. The first invocation in a test is then a warm one (TriggerTrace.cold_start is False).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from edgesim.config import DistributionSettings
from edgesim.function_associations import CloudFrontFunctionAssociation, LambdaFunctionAssociation
from edgesim.messages import EventType
from edgesim.runtime import EdgeFunction, FunctionKind, TriggerCall, TriggerResult
from edgesim.simulator import FunctionLoader, RuntimeLoader

Association = CloudFrontFunctionAssociation | LambdaFunctionAssociation
Key = tuple[Association, EventType, DistributionSettings, int]
Spare = tuple[FunctionLoader, EdgeFunction]


class Borrowed:
    """A shared function lent to one Simulator: closing it returns it to the pool, not to dust."""

    def __init__(self, function: EdgeFunction) -> None:
        self.function = function
        self.name: str = function.name
        self.kind: FunctionKind = function.kind

    async def invoke(self, call: TriggerCall) -> TriggerResult:
        return await self.function.invoke(call)

    async def aclose(self) -> None:
        return None


class RuntimePool:
    """Keeps loaded functions for the life of one event loop; `aclose` closes them all."""

    def __init__(self, loader_factory: Callable[[], FunctionLoader] = RuntimeLoader, *,
                 share_lambda: bool = False, spares: int = 2) -> None:
        self._shared_loader = loader_factory()
        self._loader_factory = loader_factory
        self._share_lambda = share_lambda
        self._functions: dict[Key, EdgeFunction] = {}
        self._spare_count = spares
        self._spares: dict[Key, deque[asyncio.Task[Spare]]] = {}
        self.loads = 0  # how many functions were really loaded, for tests and benchmarks

    def shares(self, assoc: Association) -> bool:
        return isinstance(assoc, CloudFrontFunctionAssociation) or self._share_lambda

    def loader(self) -> FunctionLoader:
        """A loader for one Simulator: shared functions from the pool, the rest its own."""
        return _PoolLoader(self)

    async def load_shared(self, assoc: Association, event_type: EventType,
                          settings: DistributionSettings) -> EdgeFunction:
        key = (assoc, event_type, settings, _mtime(assoc))
        function = self._functions.get(key)
        if function is None:
            function = await self._shared_loader.load(assoc, event_type, settings)
            self.loads += 1
            self._functions[key] = function
        return Borrowed(function)

    async def take_fresh(self, assoc: Association, event_type: EventType, settings: DistributionSettings) -> Spare:
        """A never-invoked function with a loader of its own (the caller closes both); from the
        spares when one is ready, and the spares are topped up in the background."""
        key = (assoc, event_type, settings, _mtime(assoc))
        queue = self._spares.setdefault(key, deque())
        task = queue.popleft() if queue else asyncio.create_task(self._spare(assoc, event_type, settings))
        while len(queue) < self._spare_count:
            queue.append(asyncio.create_task(self._spare(assoc, event_type, settings)))
        return await task

    async def _spare(self, assoc: Association, event_type: EventType, settings: DistributionSettings) -> Spare:
        loader = self._loader_factory()
        function = await loader.load(assoc, event_type, settings)
        self.loads += 1
        warm = getattr(function, "warm", None)  # start its worker now (Lambda@Edge)
        if warm is not None:
            # A handler that cannot start fails on its first invocation instead, with the same
            # error and logs it would give without a spare.
            with contextlib.suppress(Exception):
                await warm()
        return loader, function

    async def aclose(self) -> None:
        tasks = [task for queue in self._spares.values() for task in queue]
        self._spares = {}
        # Let spares finish starting rather than cancel them: a worker cancelled mid-start could
        # leave its process behind. Then close each like any other function.
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, tuple):
                await outcome[1].aclose()
                await outcome[0].aclose()
        functions, self._functions = list(self._functions.values()), {}
        for function in functions:
            await function.aclose()
        await self._shared_loader.aclose()


class _PoolLoader:
    def __init__(self, pool: RuntimePool) -> None:
        self._pool = pool
        self._own: list[FunctionLoader] = []

    async def load(self, assoc: Association, event_type: EventType, settings: DistributionSettings) -> EdgeFunction:
        if self._pool.shares(assoc):
            return await self._pool.load_shared(assoc, event_type, settings)
        loader, function = await self._pool.take_fresh(assoc, event_type, settings)
        self._own.append(loader)
        return function

    async def aclose(self) -> None:
        for loader in self._own:
            await loader.aclose()


def _mtime(assoc: Association) -> int:
    """An edited function file is a new function."""
    path = assoc.cloudfront_function if isinstance(assoc, CloudFrontFunctionAssociation) else assoc.path
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0
