"""Builds runtimes, origins and the pipeline from a config; owns their lifetimes; handle(request).

Only this module knows the concrete runtime classes, and it imports them lazily, so importing the
pipeline never loads V8. A reload builds a whole new set of live objects, swaps it in, then closes
the old one: a broken edit keeps the last good distribution serving.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx

from edgesim import forwarding
from edgesim.cache import EdgeCache
from edgesim.config import DistributionConfig, DistributionSettings, load_config
from edgesim.error_page import render_error
from edgesim.errors import (
    FunctionExecutionError,
    LambdaExecutionError,
    SimulatorError,
    UserError,
    ViewerError,
)
from edgesim.function_associations import CloudFrontFunctionAssociation, LambdaFunctionAssociation
from edgesim.messages import EventType, Request, Response, ViewerLeft
from edgesim.origin import OriginFetcher
from edgesim.pipeline import Behavior, Pipeline
from edgesim.runtime import EdgeFunction, FunctionKind, TriggerCall, TriggerResult
from edgesim.trace import Trace

if TYPE_CHECKING:
    from edgesim.lambda_edge.inspector import Inspector

Association = CloudFrontFunctionAssociation | LambdaFunctionAssociation
log = logging.getLogger("edgesim")


class FunctionLoader(Protocol):
    """Makes a live EdgeFunction for one association on one trigger point."""

    async def load(self, assoc: Association, event_type: EventType, settings: DistributionSettings) -> EdgeFunction: ...

    async def aclose(self) -> None: ...


class RuntimeLoader:
    """The real runtimes: CloudFront Functions in V8, Lambda@Edge in warm subprocesses."""

    def __init__(self, inspector: Inspector | None = None) -> None:
        self._lambda: object | None = None
        self._inspector = inspector  # `serve --inspect`: Lambda@Edge workers a debugger attaches to

    async def load(self, assoc: Association, event_type: EventType, settings: DistributionSettings) -> EdgeFunction:
        if isinstance(assoc, CloudFrontFunctionAssociation):
            from edgesim.cloudfront_functions import load_cloudfront_function

            return await load_cloudfront_function(assoc, settings)
        from edgesim.lambda_edge import LambdaEdgeRuntime

        if self._lambda is None:
            self._lambda = LambdaEdgeRuntime(settings, inspector=self._inspector)
        assert isinstance(self._lambda, LambdaEdgeRuntime)
        return self._lambda.function(assoc, event_type)

    async def aclose(self) -> None:
        if self._lambda is not None:
            await self._lambda.aclose()  # type: ignore[attr-defined]
            self._lambda = None


class SourceCheck(Protocol):
    """Whether the files a distribution was loaded from changed, and a reload for them (reload.py)."""

    def stale(self) -> bool: ...

    async def reload_now(self) -> None: ...


def check_functions(config: DistributionConfig) -> list[str]:
    """Load-time problems of every function the config names, for `edgesim check`."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    behaviors = [*((f"cache_behaviors[{i}]", b) for i, b in enumerate(config.cache_behaviors)),
                 ("default_cache_behavior", config.default_cache_behavior)]
    for name, behavior in behaviors:
        for event_type, assoc in behavior.functions.items():
            where = assoc.cloudfront_function if isinstance(assoc, CloudFrontFunctionAssociation) else assoc.handler
            key = (str(where), assoc.kind)
            if key in seen:
                continue
            seen.add(key)
            if isinstance(assoc, CloudFrontFunctionAssociation):
                from edgesim.cloudfront_functions import check_cloudfront_function

                problems.extend(check_cloudfront_function(assoc))
            else:
                from edgesim.lambda_edge import check_lambda

                problems.extend(check_lambda(assoc, f"{name}.functions.{event_type.value}.lambda",
                                             site_packages=config.distribution.lambda_python_site_packages))
    return problems


# How serve introduces each of them.
SYNTAX_NOTE = "Lambda@Edge handler does not compile (Lambda reports it at the first invocation, which gets CloudFront's 503)"


async def lambda_syntax_problems(config: DistributionConfig) -> list[str]:
    """The config's Lambda@Edge handlers that do not compile, found without running them, one line
    each (`file:line: SyntaxError: ...`), for `edgesim serve` to say at start and after a reload.
    Their requests still fail only when they come, as on Lambda (lambda_edge/syntax.py)."""
    handlers = [a for _, _, a in config.function_associations() if isinstance(a, LambdaFunctionAssociation)]
    if not handlers:
        return []
    from edgesim.lambda_edge.syntax import syntax_problems

    return await syntax_problems(handlers)


@dataclass
class BrokenFunction:
    """Stands in for a function that failed to load: CloudFront answers such requests with the
    execution error of its kind (spec §1.9, §2.8), and the log says why."""

    name: str
    kind: FunctionKind
    problem: str

    async def invoke(self, call: TriggerCall) -> TriggerResult:
        error = FunctionExecutionError if self.kind == "cloudfront-function" else LambdaExecutionError
        raise error(f"{self.name} could not load: {self.problem}")

    async def aclose(self) -> None:
        return None


@dataclass
class _Live:
    """One loaded distribution: its config, pipeline and the objects that need closing."""

    config: DistributionConfig
    pipeline: Pipeline
    loader: FunctionLoader
    functions: list[EdgeFunction] = field(default_factory=list)
    load_problems: list[str] = field(default_factory=list)
    inflight: int = 0

    async def retire(self, grace: float = 30.0) -> None:
        """Close once the requests still running on this version finish (or after `grace` s)."""
        deadline = time.monotonic() + grace
        while self.inflight and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await self.aclose()

    async def aclose(self) -> None:
        # Background refreshes first: they may still run this version's origin triggers.
        await self.pipeline.aclose()
        for function in self.functions:
            await function.aclose()
        await self.loader.aclose()


def new_request_id() -> str:
    """An id shaped like CloudFront's X-Amz-Cf-Id: 56 characters of base64url ending in `==`."""
    return base64.urlsafe_b64encode(os.urandom(40)).decode()


class Simulator:
    """A running distribution. An async context manager; `handle` never raises for a request."""

    def __init__(
        self,
        config: DistributionConfig,
        *,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        loader_factory: Callable[[], FunctionLoader] = RuntimeLoader,
        clock: Callable[[], float] = time.time,
        cache: bool | EdgeCache = True,
        inspector: Inspector | None = None,
    ) -> None:
        """`cache=False` turns the edge cache off (`serve --no-cache`); an EdgeCache instance is used as is.
        `inspector` (`serve --inspect`, lambda_edge/inspector.py) starts every Lambda@Edge worker
        with a debugger port, kept across reloads, and lifts their time limits."""
        self._initial = config
        self.inspector = inspector
        if inspector is not None and loader_factory is RuntimeLoader:
            loader_factory = functools.partial(RuntimeLoader, inspector)
        self._loader_factory = loader_factory
        self.clock = clock
        # The cache outlives reloads (CloudFront keeps its cache across a deployment) unless
        # distribution.clear_cache_on_reload says otherwise.
        self.cache: EdgeCache | None = (
            cache if isinstance(cache, EdgeCache)
            else EdgeCache(clock, max_memory=config.distribution.cache_memory_limit_mb << 20,
                           max_disk=config.distribution.cache_disk_limit_mb << 20) if cache else None
        )
        # A cache made here is closed here (its files' directory removed); one given is the giver's.
        self._owns_cache = cache is True
        self.fetcher = OriginFetcher(transports)
        self._live: _Live | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        # Set while `reload` builds the new version: requests wait for it, so that an edit takes
        # effect on the very next request (as with `wrangler dev`), not on one a moment later.
        self._reloading: asyncio.Future[None] | None = None
        # Under `serve`, reload.py's check of the config's files, made before a request is handled.
        self.sources: SourceCheck | None = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        if self._live is None:
            self._live = await self._build(self._initial)

    async def aclose(self) -> None:
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        if self._live is not None:
            await self._live.aclose()
            self._live = None
        await self.fetcher.aclose()
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    @property
    def config(self) -> DistributionConfig:
        return self._live.config if self._live else self._initial

    @property
    def load_problems(self) -> list[str]:
        """Functions that failed to load; their requests get the execution error page."""
        return list(self._live.load_problems) if self._live else []

    async def reload(self, source: Path | DistributionConfig) -> None:
        """Swap in a new config; raises UserError (and keeps serving the old one) when it is broken.

        Requests that arrive meanwhile wait for it, then run on whichever version it leaves."""
        done = self._reloading = asyncio.get_running_loop().create_future()
        try:
            live = await self._build(load_config(source) if isinstance(source, Path) else source)
        finally:
            if self._reloading is done:
                self._reloading = None
            done.set_result(None)
        old, self._live = self._live, live
        if self.cache is not None and live.config.distribution.clear_cache_on_reload:
            self.cache.clear()
        if self._owns_cache and self.cache is not None:
            self.cache.limit_memory(live.config.distribution.cache_memory_limit_mb << 20)
            self.cache.limit_disk(live.config.distribution.cache_disk_limit_mb << 20)
        if old is not None:
            # Requests already running finish on the version they started with.
            task = asyncio.create_task(old.retire())
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def wait_for_refreshes(self) -> None:
        """Until the background origin fetches that stale-while-revalidate started have finished
        (edge_cache_flow.py, stale.py): a test awaits this to see the refreshed object."""
        if self._live is not None:
            await self._live.pipeline.refreshes.wait()

    def invalidate(self, paths: list[str]) -> int:
        """Remove cached objects with CloudFront's invalidation path rules; returns how many went.

        Raises cache.InvalidationPathError (a ValueError) for a path CloudFront would refuse."""
        return self.cache.invalidate(paths) if self.cache is not None else 0

    async def _build(self, config: DistributionConfig) -> _Live:
        loader = self._loader_factory()
        live_functions: list[EdgeFunction] = []
        problems: list[str] = []
        behaviors: list[Behavior] = []
        for behavior in config.behaviors():
            functions: dict[EventType, EdgeFunction] = {}
            for event_type, assoc in behavior.functions.items():
                try:
                    function = await loader.load(assoc, event_type, config.distribution)
                    live_functions.append(function)
                    functions[event_type] = function
                except UserError as exc:
                    problems.append(str(exc))
                    functions[event_type] = BrokenFunction(assoc.name, assoc.kind, getattr(exc, "reason", str(exc)))
            behaviors.append(Behavior(behavior, functions))
        if self.inspector is not None:
            # Started now, not at their first request: a debugger can attach before any request, and
            # after a reload the new workers take their ports over from the old ones.
            await self.inspector.warm(live_functions)
        pipeline = Pipeline(config, behaviors, self.fetcher, clock=self.clock, cache=self.cache)
        return _Live(config, pipeline, loader, live_functions, problems)

    async def handle(self, request: Request) -> tuple[Response, Trace]:
        """Run one viewer request through the distribution. Every request gets an answer."""
        if self._reloading is not None:
            await asyncio.shield(self._reloading)
        elif self.sources is not None and self.sources.stale():
            await self.sources.reload_now()
        await self.start()
        assert self._live is not None
        live = self._live
        request_id = new_request_id()
        trace = Trace(request_id, method=request.method, uri=request.url_path_and_query)
        started = time.perf_counter()
        live.inflight += 1
        try:
            response = await live.pipeline.handle(request, request_id, trace)
        except ViewerError as err:
            response = self._error_response(err, request_id, live, trace)
        except ViewerLeft:  # mid-upload (app.py): nobody to answer
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in edgesim must not cost the viewer an answer
            log.exception("edgesim failed on %s %s", request.method, request.uri)
            failure = SimulatorError(f"edgesim failed: {type(exc).__name__}: {exc}")
            response = self._error_response(failure, request_id, live, trace)
        finally:
            live.inflight -= 1
        trace.duration_ms = (time.perf_counter() - started) * 1000
        return response, trace

    @staticmethod
    def _error_response(err: ViewerError, request_id: str, live: _Live, trace: Trace) -> Response:
        trace.error = f"{type(err).__name__}: {err.reason}"
        settings = live.config.distribution
        response = render_error(err, request_id, via=f"1.1 {forwarding.via_host(settings)} (CloudFront)",
                                pop=settings.pop)
        trace.status, trace.x_cache = response.status, err.x_cache
        return response

