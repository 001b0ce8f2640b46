"""The testing API: a simulated distribution in a test, requests through it, and its traces.

`Distribution` builds a Simulator from a config file or a dict, with origins that may be stubbed
(edgesim.stubs), and hands out httpx clients that reach it in-process through ASGITransport (no
port) or, with `socket=True`, through a real uvicorn socket. Every response carries its Trace in
`response.extensions["edgesim.trace"]` (`trace_of(response)`). `SyncDistribution` (testing_sync.py)
runs one on a background event loop for synchronous tests; the pytest plugin builds on both.
"""

from __future__ import annotations

import contextlib
import difflib
import shutil
import tempfile
import threading
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import httpx

from edgesim.app import EdgeApp
from edgesim.clock import ManualClock
from edgesim.config import DefaultCacheBehavior, DistributionConfig, ViewerProfile, load_config, parse_config
from edgesim.direct import Event, FunctionTestResult, LambdaTestResult
from edgesim.errors import ConfigError
from edgesim.function_associations import CloudFrontFunctionAssociation
from edgesim.kvs_files import KvsFile
from edgesim.origin_config import CustomOrigin
from edgesim.routing import compile_pattern, first_match
from edgesim.runtime_pool import RuntimePool
# Re-exported for tests of restricted viewer access: sign a URL or make signed cookies with a test key.
from edgesim.signed_access import sign_url, signed_cookies  # noqa: F401
from edgesim.simulator import FunctionLoader, RuntimeLoader, Simulator
from edgesim.stubs import OriginSpec, StubbedOrigins, check_url_spec, make_stub
from edgesim.messages import EventType
from edgesim.trace import Trace, request_header_names
from edgesim.unstubbed_origins import UnstubbedOrigin, unstubbed_origins

TRACE_KEY = "edgesim.trace"
# The per-request viewer override headers the pipeline reads and strips before any function
# (edgesim.cloudfront_headers): X-Edgesim-Viewer-<Field>, the field kebab-cased.
VIEWER_HEADER_PREFIX = "X-Edgesim-Viewer-"
ConfigSource = DistributionConfig | Mapping[str, Any] | str | Path


class TraceBook:
    """Traces by request id. Thread-safe: with a real socket, the server thread adds them and the
    response can reach the client a moment before `on_trace` runs, so `get` waits briefly."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._by_id: dict[str, Trace] = {}
        self.traces: list[Trace] = []

    def add(self, trace: Trace) -> None:
        with self._cond:
            self._by_id[trace.request_id] = trace
            self.traces.append(trace)
            self._cond.notify_all()

    def get(self, request_id: str, timeout: float = 5.0) -> Trace | None:
        with self._cond:
            self._cond.wait_for(lambda: request_id in self._by_id, timeout=timeout)
            return self._by_id.get(request_id)

    def clear(self) -> None:
        with self._cond:
            self._by_id.clear()
            self.traces.clear()


def trace_of(response: httpx.Response) -> Trace:
    """The Trace of a response from a Distribution's client."""
    __tracebackhide__ = True  # a misuse fails at the test's line (pytest), not in here
    trace = response.extensions.get(TRACE_KEY)
    if not isinstance(trace, Trace):
        raise AssertionError("this response carries no edgesim trace; send it with a client from "
                             "Distribution.client() / the edge_client fixture")
    return trace


def attach_trace(response: httpx.Response, book: TraceBook, sent: httpx.Headers) -> None:
    request_id = response.headers.get("x-amz-cf-id")
    trace = book.get(request_id) if request_id else None
    if trace is not None:
        note_unforwarded(trace, sent)
        response.extensions[TRACE_KEY] = trace


# What an httpx client sends of itself, not the test: the test expects nothing of these at the origin.
_CLIENT_HEADERS = frozenset({"host", "accept", "accept-encoding", "connection", "user-agent", "content-length",
                             "transfer-encoding"})


def note_unforwarded(trace: Trace, sent: httpx.Headers) -> None:
    """A note on the trace naming the headers the test sent that the origin-request function did not
    get, a viewer-request function not having removed them: only what the cache policy or origin
    request policy forwards reaches origin-request (spec §4.2), and a handler checking Authorization
    under CachingDisabled otherwise fails with nothing in the trace to say why. Here, test-side,
    so that `edgesim serve` pays nothing for it."""
    from edgesim.lambda_edge.validation import is_disallowed

    record = trace.trigger(EventType.ORIGIN_REQUEST)
    got = request_header_names(record.event) if record is not None else None
    if record is None or got is None:
        return
    viewer_request = trace.trigger(EventType.VIEWER_REQUEST)
    passed_on = request_header_names(viewer_request.output) if viewer_request is not None else None
    dropped = [name for name in dict.fromkeys(key.lower() for key in sent.keys())
               if name not in got and name not in _CLIENT_HEADERS and not name.startswith(VIEWER_HEADER_PREFIX.lower())
               and not is_disallowed(name) and (passed_on is None or name in passed_on)]
    if dropped:
        trace.notes.append(f"the viewer's {', '.join(dropped)} did not reach origin-request ({record.function}): a "
                           f"header reaches it only when the cache policy or origin request policy forwards it")


class TracingTransport(httpx.AsyncBaseTransport):
    """Sends through `inner` and attaches the request's Trace to the response."""

    def __init__(self, inner: httpx.AsyncBaseTransport, book: TraceBook) -> None:
        self.inner = inner
        self.book = book

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        attach_trace(response, self.book, request.headers)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


# CloudFront tells the device from the User-Agent (CloudFront-Is-*-Viewer, spec §2.6); a typical one each.
DEVICE_USER_AGENTS = {
    "desktop": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.4 Mobile/15E148 Safari/604.1",
    "ios": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
           "Version/17.4 Mobile/15E148 Safari/604.1",
    "android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 "
               "Mobile Safari/537.36",
    "tablet": "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.4 Safari/604.1",
    "smarttv": "Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) "
               "SamsungBrowser/5.0 Chrome/94.0 TV Safari/537.36",
}


def viewer_headers(*, device: str | None = None, **fields: str) -> dict[str, str]:
    """Headers that set the viewer for one request: `viewer_headers(country="FR", ip="198.51.100.7",
    device="mobile")`. Field names are config.ViewerProfile's; `device` picks a User-Agent."""
    __tracebackhide__ = True
    known = ViewerProfile.model_fields
    unknown = sorted(set(fields) - set(known))
    if unknown:
        close = {name: m[0] for name in unknown if (m := difflib.get_close_matches(name, list(known), n=1))}
        hint = "".join(f"; did you mean {m!r} for {name!r}?" for name, m in close.items())
        raise ValueError(f"unknown viewer field(s) {unknown}{hint}; known: {sorted(known)} and device")
    headers = {VIEWER_HEADER_PREFIX + name.replace("_", "-").title(): str(value) for name, value in fields.items()}
    if device is not None:
        if device not in DEVICE_USER_AGENTS:
            raise ValueError(f"unknown device {device!r}; known: {sorted(DEVICE_USER_AGENTS)}")
        headers["User-Agent"] = DEVICE_USER_AGENTS[device]
    return headers


def resolve_config(source: ConfigSource, base_dir: Path | None = None) -> DistributionConfig:
    """A config from a DistributionConfig, a dict (paths relative to `base_dir`, default cwd) or a file."""
    if isinstance(source, DistributionConfig):
        return source
    if isinstance(source, Mapping):
        return parse_config(dict(source), base_dir=base_dir or Path.cwd())
    return load_config(Path(source))


class Distribution:
    """A simulated distribution for tests. An async context manager; one per test.

    origins: origin id -> a URL, an ASGI app, a function, canned responses or a transport;
        origins not named stay as configured (a directory origin keeps serving its folder).
    clock: the cache's clock (default a ManualClock: time moves only when you `advance`).
    runtimes: a RuntimePool that keeps warm functions across Distributions (the pytest plugin
        passes a session-wide one); default: this Distribution loads and closes its own.
    socket: serve through a real uvicorn socket on a free port instead of in-process.
    loader_factory: makes the function loader (a fake runtime at the EdgeFunction seam, say).
    function_time_limit_ms: the wall-clock kill for a runaway CloudFront Function, where the config
        does not set one itself (the pytest plugin raises it, so a loaded CI box or `-n auto` never
        kills a healthy function; CloudFront's own limit is on compute, which is still measured).
    """

    def __init__(self, config: ConfigSource, *, origins: Mapping[str, OriginSpec] | None = None,
                 base_dir: Path | None = None, clock: ManualClock | None = None,
                 runtimes: RuntimePool | None = None, socket: bool = False,
                 workdir: Path | None = None, loader_factory: Callable[[], FunctionLoader] | None = None,
                 function_time_limit_ms: float | None = None) -> None:
        self.source_config = resolve_config(config, base_dir)
        self.clock = clock or ManualClock()
        self.socket = socket
        self.book = TraceBook()
        self._runtimes = runtimes
        self._loader_factory = loader_factory
        self._time_limit_ms = function_time_limit_ms
        self._origin_specs = dict(origins or {})
        self._workdir = workdir
        self._own_workdir: Path | None = None
        self.origins = StubbedOrigins()
        self.kvs: dict[str, KvsFile] = {}
        self.config = self.source_config
        self.simulator: Simulator | None = None
        self.app: EdgeApp | None = None
        self._server: contextlib.AbstractContextManager[str] | None = None
        self.url = f"http://{self.source_config.distribution.domain_name}"

    async def __aenter__(self) -> Distribution:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- lifecycle ---------------------------------------------------------------------------

    def prepare(self) -> None:
        """Build the config this test runs (stub origins, private KVS copies); starts nothing."""
        config = self._with_origins(self.source_config)
        settings = config.distribution
        if self._time_limit_ms is not None and "function_time_limit_ms" not in settings.model_fields_set:
            settings = settings.model_copy(update={"function_time_limit_ms": self._time_limit_ms})
            config = config.model_copy(update={"distribution": settings})
        self.config = self._with_private_kvs(config)

    async def start(self) -> None:
        if self.simulator is not None:
            return
        self.prepare()
        loader_factory: Callable[[], FunctionLoader] = self._loader_factory or RuntimeLoader
        if self._runtimes is not None and not self.socket and self._loader_factory is None:
            loader_factory = self._runtimes.loader
        self.simulator = Simulator(self.config, transports=self.origins, loader_factory=loader_factory,
                                   clock=self.clock)
        self.app = EdgeApp(self.simulator, on_trace=self.book.add)
        if self.socket:
            # The server's own loop starts (lifespan) and closes the simulator.
            from edgesim.server import background_server

            self._server = background_server(self.app)
            self.url = self._server.__enter__()
        else:
            try:
                await self.simulator.start()
            except BaseException:
                await self.aclose()
                raise

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.__exit__(None, None, None)
            self._server = None
        elif self.simulator is not None:
            await self.simulator.aclose()
        self.simulator = None
        for stub in self.origins.values():
            await stub.aclose()
        if self._own_workdir is not None:
            shutil.rmtree(self._own_workdir, ignore_errors=True)
            self._own_workdir = None

    def _with_origins(self, config: DistributionConfig) -> DistributionConfig:
        known = {o.id for o in config.origins}
        self.origins.configured = sorted(known)
        unknown = sorted(set(self._origin_specs) - known)
        if unknown:
            close = {name: match[0] for name in unknown if (match := difflib.get_close_matches(name, known, n=1))}
            hints = [repr(m) if len(unknown) == 1 else f"{m!r} for {name!r}" for name, m in close.items()]
            hint = f"; did you mean {', '.join(hints)}?" if hints else ""
            error = ConfigError(f"origins {unknown} are not in the config; its origins are {sorted(known)}{hint}")
            error.field = "origins"  # the pytest plugin then names where the test's stubs came from
            raise error
        replaced = []
        for origin in config.origins:
            spec = self._origin_specs.get(origin.id)
            if spec is None:
                replaced.append(origin)
            elif isinstance(spec, str):  # a real HTTP origin at this URL
                replaced.append(CustomOrigin(id=origin.id, url=check_url_spec(origin.id, spec),
                                             custom_headers=origin.custom_headers))
            else:
                self.origins[origin.id] = make_stub(origin.id, spec)
                # A stubbed origin is reached as a custom (HTTP) origin whatever it was configured as.
                url = origin.url if isinstance(origin, CustomOrigin) else f"http://{origin.id.lower()}.origin.test"
                replaced.append(CustomOrigin(id=origin.id, url=url, custom_headers=origin.custom_headers))
        return config.model_copy(update={"origins": tuple(replaced)})

    def _with_private_kvs(self, config: DistributionConfig) -> DistributionConfig:
        """Each KeyValueStore file is copied to a private place, so edits in one test never reach
        the user's file or another test; the copy's path is stable per workdir, so warm functions
        stay reusable, and `reset` restores the original contents."""
        stores = {assoc.kvs for _, _, assoc in config.function_associations()
                  if isinstance(assoc, CloudFrontFunctionAssociation) and assoc.kvs is not None}
        if not stores:
            return config
        workdir = self._workdir
        if workdir is None:
            workdir = self._own_workdir = Path(tempfile.mkdtemp(prefix="edgesim-kvs-"))
        mapping: dict[Path, Path] = {}
        for original in sorted(stores):
            store = KvsFile.private_copy(original, workdir)
            self.kvs[original.stem] = store
            mapping[original] = store.path
        return _replace_kvs_paths(config, mapping)

    # --- requests ----------------------------------------------------------------------------

    def viewer_transport(self) -> httpx.AsyncBaseTransport:
        """A transport to the distribution as a viewer reaches it: ASGI in-process, or the socket."""
        if self.socket:
            return httpx.AsyncHTTPTransport()
        assert self.app is not None, "start the Distribution first (async with / await start())"
        return httpx.ASGITransport(app=self.app)

    def client(self, *, viewer: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx.AsyncClient through the distribution; `viewer` sets the viewer for its requests."""
        headers = self.client_headers(viewer, kwargs.pop("headers", None))
        return httpx.AsyncClient(transport=TracingTransport(self.viewer_transport(), self.book),
                                 base_url=self.url, headers=headers, **kwargs)

    def client_headers(self, viewer: Mapping[str, str] | None, headers: Any) -> httpx.Headers:
        """A client's default headers: the caller's, the viewer override, and the Host."""
        __tracebackhide__ = True
        out = httpx.Headers(headers)
        if self.socket:  # the same Host as in-process, so functions see the distribution's domain
            out.setdefault("Host", self.source_config.distribution.domain_name)
        if viewer:
            out.update(viewer_headers(**viewer))
        return out

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with self.client() as client:
            return await client.request(method, path, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    # --- what happened -----------------------------------------------------------------------

    @property
    def traces(self) -> list[Trace]:
        """Every finished request's trace, in order."""
        return list(self.book.traces)

    @property
    def last_trace(self) -> Trace:
        __tracebackhide__ = True
        if not self.book.traces:
            raise AssertionError("no request has reached the distribution yet")
        return self.book.traces[-1]

    def render_traces(self, limit: int = 20, shown: Collection[Trace] = ()) -> str:
        """The last `limit` requests' traces and any function that failed to load; the traces in
        `shown` (already in a failure message) are only counted. "" when nothing is left to say."""
        problems = [f"function failed to load (its requests get CloudFront's error): {p}"
                    for p in (self.simulator.load_problems if self.simulator is not None else [])]
        problems += [line for stub in self.origins.values() for line in stub.unrouted]
        problems += [hint for origin in self.unstubbed_origins() if (hint := origin.hint()) is not None]
        if not self.book.traces:
            return "\n".join(problems + ["(no requests reached the distribution)"])
        traces = self.book.traces[-limit:]
        rendered = [t.render(details=True) for t in traces if not any(t is s for s in shown)]
        if len(rendered) < len(traces):
            if not rendered and not problems:
                return ""
            rendered.append(f"({len(traces) - len(rendered)} more request(s) in the failure message above)")
        return "\n".join(problems + rendered)

    def unstubbed_origins(self) -> list[UnstubbedOrigin]:
        """The origins this distribution's requests reached for real though the test neither stubbed
        them nor gave their URL: a test that depends on the network without saying so."""
        meant = [origin_id for origin_id, spec in self._origin_specs.items() if isinstance(spec, str)]
        return unstubbed_origins(list(self.book.traces), self.config, self.origins, meant)

    # --- controls ----------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the cache's clock forward: cached objects age without sleeping."""
        __tracebackhide__ = True
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            # Else a TypeError from inside the clock comparing a str with 0.
            raise TypeError(f"advance(seconds): seconds is a number (30, 0.5), not {seconds!r} "
                            f"(a {type(seconds).__name__})")
        if seconds < 0:
            raise ValueError(f"advance(seconds): the clock only moves forward; got {seconds!r}")
        self.clock.advance(seconds)

    async def wait_for_refreshes(self) -> None:
        """Wait for the origin fetches started in the background for objects served within their
        stale-while-revalidate window, so the next request sees the refreshed object."""
        __tracebackhide__ = True
        if self.simulator is None:
            raise RuntimeError("the distribution is not started: use it as `async with Distribution(...)`")
        if self._server is not None:
            raise RuntimeError("wait_for_refreshes works in-process only, not with socket=True")
        await self.simulator.wait_for_refreshes()

    def invalidate(self, *paths: str) -> int:
        """Remove cached objects as a CloudFront invalidation would (`/images/*`, `/index.html`)."""
        __tracebackhide__ = True
        if self.simulator is None:
            raise RuntimeError("the distribution is not started: use it as `async with Distribution(...)`")
        return self.simulator.invalidate(list(paths))

    async def run_function(self, trigger: EventType | str, event: Event, *,
                           path: str = "/") -> FunctionTestResult | LambdaTestResult:
        """The function the config puts at `trigger` on the behavior `path` selects, run alone on
        `event` (a dict, or a JSON file's path from the working folder), as `edgesim.direct` runs one:
        its file, runtime, limits and KeyValueStore (this test's copy, so `store()` edits show) come
        from the config, so a test need not repeat them. A CloudFront Function gives what
        `aws cloudfront test-function` prints, a Lambda@Edge handler what `edgesim invoke --validate` does."""
        __tracebackhide__ = True
        from edgesim.direct import _trigger, invoke_lambda, run_cloudfront_function

        event_type = _trigger(trigger)
        behavior = self._behavior_config(path)
        assoc = behavior.functions.get(event_type)
        if assoc is None:
            has = sorted(e.value for e in behavior.functions) or "none"
            raise LookupError(f"the behavior {behavior.path_pattern!r} (for {path}) has no function at "
                              f"{event_type.value}; its functions are at: {has}")
        if isinstance(assoc, CloudFrontFunctionAssociation):
            return await run_cloudfront_function(assoc.cloudfront_function, event, runtime=assoc.runtime,
                                                 kvs=assoc.kvs)
        return await invoke_lambda(assoc, event, event_type=event_type,
                                   site_packages=self.config.distribution.lambda_python_site_packages)

    def _behavior_config(self, path: str) -> DefaultCacheBehavior:
        """The behavior CloudFront picks for `path`: the first pattern that matches, else the default (spec §4.1)."""
        ordered = [(compile_pattern(b.path_pattern), b) for b in self.config.cache_behaviors]
        behavior: DefaultCacheBehavior = first_match(ordered, self.config.default_cache_behavior,
                                                     path if path.startswith("/") else "/" + path)
        return behavior

    def store(self, name: str | None = None) -> KvsFile:
        """A KeyValueStore of this test, by its file's stem; the only one when `name` is omitted."""
        __tracebackhide__ = True
        if name is None:
            if len(self.kvs) != 1:
                raise KeyError(f"name the KeyValueStore; this distribution has {sorted(self.kvs) or 'none'}")
            return next(iter(self.kvs.values()))
        try:
            return self.kvs[name]
        except KeyError:
            raise KeyError(f"no KeyValueStore {name!r}; this distribution has {sorted(self.kvs) or 'none'}") from None

    def reset(self) -> None:
        """Forget requests, stub records and traces; restore every KeyValueStore (cache: a new
        Distribution is the fresh cache)."""
        self.book.clear()
        for stub in self.origins.values():
            stub.reset()
        for store in self.kvs.values():
            store.reset()


def _replace_kvs_paths(config: DistributionConfig, mapping: Mapping[Path, Path]) -> DistributionConfig:
    def behavior(b: Any) -> Any:
        functions = {}
        for event_type, assoc in b.functions.items():
            if isinstance(assoc, CloudFrontFunctionAssociation) and assoc.kvs is not None and assoc.kvs in mapping:
                assoc = assoc.model_copy(update={"kvs": mapping[assoc.kvs]})
            functions[event_type] = assoc
        return b.model_copy(update={"functions": functions})

    return config.model_copy(update={
        "default_cache_behavior": behavior(config.default_cache_behavior),
        "cache_behaviors": tuple(behavior(b) for b in config.cache_behaviors),
    })
