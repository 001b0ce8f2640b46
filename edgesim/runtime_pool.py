"""Warm functions shared by many Distributions in one event loop (a test session).

Loading a function costs a V8 isolate or a worker process; a suite of hundreds of tests should pay
that once per function, not once per test. A function is shared only where sharing cannot leak
state between tests:
- CloudFront Functions: the runtime gives each invocation a fresh top level (as CloudFront's njs
  does, a cloned VM per request), so a warm isolate carries nothing from one request to the next.
  Its KeyValueStore is a file the testing API resets per test.
- Lambda@Edge: a warm worker keeps module globals between invocations (as real Lambda does), so a
  test could see what the previous one left. Workers are per Distribution unless `share_lambda`.
"""

from __future__ import annotations

from collections.abc import Callable

from edgesim.config import CloudFrontFunctionAssociation, DistributionSettings, LambdaFunctionAssociation
from edgesim.messages import EventType
from edgesim.runtime import EdgeFunction, FunctionKind, TriggerCall, TriggerResult
from edgesim.simulator import FunctionLoader, RuntimeLoader

Association = CloudFrontFunctionAssociation | LambdaFunctionAssociation
Key = tuple[Association, EventType, DistributionSettings, int]


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
                 share_lambda: bool = False) -> None:
        self._shared_loader = loader_factory()
        self._loader_factory = loader_factory
        self._share_lambda = share_lambda
        self._functions: dict[Key, EdgeFunction] = {}
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

    async def aclose(self) -> None:
        functions, self._functions = list(self._functions.values()), {}
        for function in functions:
            await function.aclose()
        await self._shared_loader.aclose()


class _PoolLoader:
    def __init__(self, pool: RuntimePool) -> None:
        self._pool = pool
        self._own: FunctionLoader | None = None

    async def load(self, assoc: Association, event_type: EventType, settings: DistributionSettings) -> EdgeFunction:
        if self._pool.shares(assoc):
            return await self._pool.load_shared(assoc, event_type, settings)
        if self._own is None:
            self._own = self._pool._loader_factory()
        self._pool.loads += 1
        return await self._own.load(assoc, event_type, settings)

    async def aclose(self) -> None:
        if self._own is not None:
            await self._own.aclose()


def _mtime(assoc: Association) -> int:
    """An edited function file is a new function."""
    path = assoc.cloudfront_function if isinstance(assoc, CloudFrontFunctionAssociation) else assoc.path
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0
