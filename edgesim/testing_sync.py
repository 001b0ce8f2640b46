"""A Distribution for synchronous code: it lives on a background event loop.

Warm functions (V8 isolates, worker pipes) belong to the event loop that loaded them, so a whole
test session keeps one loop in a thread (`EdgeLoop`) and every test's Distribution runs there. The
sync client crosses into that loop per request; so does the async client, which therefore works
from any test's own loop (pytest-asyncio's per-test loops included).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Collection, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from edgesim.direct import Event, FunctionTestResult, LambdaTestResult
from edgesim.errors import UserError
from edgesim.event_loop import new_event_loop
from edgesim.kvs_files import KvsFile
from edgesim.messages import EventType
from edgesim.stubs import OriginStub
from edgesim.testing import Distribution, attach_trace
from edgesim.trace import Trace
from edgesim.unstubbed_origins import UnstubbedOrigin

if TYPE_CHECKING:
    from edgesim.direct import FunctionTestResult, LambdaTestResult

T = TypeVar("T")


def init_v8_here() -> None:
    """Initialise V8 on the calling (main) thread before the loop thread makes isolates.

    Found by test: when py_mini_racer is first initialised on another thread and an isolate there is
    alive, creating one later on the main thread (a pytest-asyncio test, `asyncio.run`) segfaults;
    initialised on the main thread first, both threads work. The CloudFront Functions runtime owns
    py_mini_racer; this only calls its initialiser early with the same flags.
    """
    try:
        from py_mini_racer import init_mini_racer

        from edgesim.cloudfront_functions.isolate import V8_FLAGS
    except ImportError:  # no CloudFront Functions runtime: nothing to initialise
        return
    init_mini_racer(flags=V8_FLAGS, ignore_duplicate_init=True)


class EdgeLoop:
    """An event loop in a daemon thread; `run` executes a coroutine there and waits for it."""

    def __init__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            init_v8_here()
        # The kind of loop `edgesim serve` runs on (uvloop when installed): tests exercise what serve
        # runs, and a request costs less CPU.
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="edgesim-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        __tracebackhide__ = True
        if self.in_loop():
            coro.close()
            raise RuntimeError("EdgeLoop.run called from inside its own loop; await the coroutine instead")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except UserError as exc:
            # The user's mistake (a function file that is not there, a config CloudFront refuses) names
            # its file in its message; its traceback would run through this loop's thread and edgesim's
            # loaders, so it is raised afresh here and the test's report ends at the test's own line.
            raise exc.with_traceback(None) from None

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on this loop from another running loop: asyncio's, or trio's (anyio's pytest
        plugin runs an `@pytest.mark.anyio` test under every backend installed, trio included)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not asyncio: trio cannot await an asyncio future, so a trio thread waits
            import trio  # type: ignore[import-untyped]  # anyio's only other backend; installed, since it runs

            result: T = await trio.to_thread.run_sync(future.result)
            return result
        return await asyncio.wrap_future(future)

    def in_loop(self) -> bool:
        return threading.current_thread() is self._thread

    def close(self) -> None:
        if self.loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.loop.shutdown_asyncgens(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


async def _send(transport: httpx.AsyncBaseTransport, method: str, url: httpx.URL,
                headers: list[tuple[bytes, bytes]], body: bytes, extensions: dict[str, Any]) -> httpx.Response:
    """One request through `transport` (then closed), fully read, as a plain Response another loop can hold."""
    request = httpx.Request(method, url, headers=headers, content=body, extensions=extensions)
    try:
        response = await transport.handle_async_request(request)
        try:
            # The bytes as sent: the Response built below decodes a Content-Encoding (gzip) itself,
            # so content decoded here would be decoded twice.
            content = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
    finally:
        await transport.aclose()  # a socket transport per request; ASGITransport's is a no-op
    return httpx.Response(response.status_code, headers=response.headers.raw, content=content,
                          extensions={k: v for k, v in response.extensions.items() if k != "network_stream"})


class _LoopTransport(httpx.BaseTransport):
    """A sync transport: each request runs through an async transport on the EdgeLoop."""

    def __init__(self, edge: SyncDistribution) -> None:
        self.edge = edge

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        d = self.edge.distribution
        response = self.edge.loop.run(_send(d.viewer_transport(), request.method, request.url, request.headers.raw,
                                            body, dict(request.extensions)))
        attach_trace(response, d.book, request.headers)
        return response


class _LoopAsyncTransport(httpx.AsyncBaseTransport):
    """An async transport for any event loop: hops onto the EdgeLoop for each request."""

    def __init__(self, edge: SyncDistribution) -> None:
        self.edge = edge

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        d = self.edge.distribution
        response = await self.edge.loop.arun(_send(d.viewer_transport(), request.method, request.url,
                                                   request.headers.raw, body, dict(request.extensions)))
        attach_trace(response, d.book, request.headers)
        return response


class SyncDistribution:
    """A Distribution driven from synchronous code. A context manager.

    Takes the same arguments as Distribution, plus `loop` (an EdgeLoop to share; default its own).
    """

    def __init__(self, *args: Any, loop: EdgeLoop | None = None, **kwargs: Any) -> None:
        self._own_loop = loop is None
        self.loop = loop or EdgeLoop()
        self.distribution = Distribution(*args, **kwargs)
        self._clients: list[httpx.Client] = []

    def __enter__(self) -> SyncDistribution:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        try:
            self.loop.run(self.distribution.start())
        except BaseException:
            self.close()  # nothing half-started outlives a failed start
            raise

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        try:
            self.loop.run(self.distribution.aclose())
        finally:
            if self._own_loop:
                self.loop.close()

    def client(self, *, viewer: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx.Client through the distribution (closed with it)."""
        __tracebackhide__ = True  # a misuse fails at the test's line (pytest), not in here
        headers = self.distribution.client_headers(viewer, kwargs.pop("headers", None))
        client = httpx.Client(transport=_LoopTransport(self), base_url=self.distribution.url,
                              headers=headers, **kwargs)
        self._clients.append(client)
        return client

    def async_client(self, *, viewer: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx.AsyncClient usable from any event loop."""
        __tracebackhide__ = True
        headers = self.distribution.client_headers(viewer, kwargs.pop("headers", None))
        return httpx.AsyncClient(transport=_LoopAsyncTransport(self), base_url=self.distribution.url,
                                 headers=headers, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request through the distribution, as Distribution.request (a client of its own each time)."""
        __tracebackhide__ = True
        with self.client() as client:
            return client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        __tracebackhide__ = True
        return self.request("GET", path, **kwargs)

    # The Distribution's state and controls, for sync callers.
    @property
    def config(self) -> Any:
        return self.distribution.config

    @property
    def origins(self) -> dict[str, OriginStub]:
        return self.distribution.origins

    @property
    def traces(self) -> list[Trace]:
        return self.distribution.traces

    @property
    def last_trace(self) -> Trace:
        __tracebackhide__ = True
        return self.distribution.last_trace

    def render_traces(self, limit: int = 20, shown: Collection[Trace] = ()) -> str:
        return self.distribution.render_traces(limit, shown)

    def unstubbed_origins(self) -> list[UnstubbedOrigin]:
        return self.distribution.unstubbed_origins()

    def advance(self, seconds: float) -> None:
        __tracebackhide__ = True
        self.distribution.advance(seconds)

    def wait_for_refreshes(self) -> None:
        """Block until the stale-while-revalidate background refreshes have finished."""
        self.loop.run(self.distribution.wait_for_refreshes())

    def invalidate(self, *paths: str) -> int:
        __tracebackhide__ = True
        return self.distribution.invalidate(*paths)

    def run_function(self, trigger: EventType | str, event: Event, *,
                     path: str = "/") -> FunctionTestResult | LambdaTestResult:
        """Distribution.run_function: the configured function at `trigger` for `path`, alone on `event`."""
        __tracebackhide__ = True
        return self.loop.run(self.distribution.run_function(trigger, event, path=path))

    def store(self, name: str | None = None) -> KvsFile:
        __tracebackhide__ = True
        return self.distribution.store(name)

    def reset(self) -> None:
        self.distribution.reset()


class FunctionRunner:
    """edgesim.direct for synchronous tests: one function on one event, run on the EdgeLoop.
    Relative paths are relative to `base_dir` (the plugin passes the test file's folder)."""

    def __init__(self, loop: EdgeLoop, base_dir: Path) -> None:
        self.loop = loop
        self.base_dir = base_dir

    def cloudfront_function(self, path: str | Path, event: dict[str, Any] | str | Path,
                            **kwargs: Any) -> FunctionTestResult:
        """What `aws cloudfront test-function` prints, as a dict with `.output`, `.error`, `.logs`
        (see direct.run_cloudfront_function)."""
        __tracebackhide__ = True
        from edgesim.direct import run_cloudfront_function

        return self.loop.run(run_cloudfront_function(path, event, base_dir=self.base_dir, **kwargs))

    def lambda_handler(self, handler: str, event: dict[str, Any] | str | Path, **kwargs: Any) -> LambdaTestResult:
        """The handler's result, logs and validation outcome (see direct.invoke_lambda)."""
        __tracebackhide__ = True
        from edgesim.direct import invoke_lambda

        return self.loop.run(invoke_lambda(handler, event, base_dir=self.base_dir, **kwargs))
