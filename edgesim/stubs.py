"""Origin stubs for tests: an ASGI app, a Python function or canned responses as an httpx transport.

The Simulator reaches each HTTP origin through an httpx transport chosen by origin id; a stub is
such a transport. Every stub records the requests its origin got, as `messages.Request` values
seen from the origin's side (after origin-request, with the headers CloudFront forwards).
"""

from __future__ import annotations

import difflib
import inspect
import json
import traceback
from pathlib import Path
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Union
from urllib.parse import urlsplit

import httpx

from edgesim.encoding import decode, encode
from edgesim.errors import OriginStubFailed, StubError
from edgesim.messages import Headers, Request, Response

# What a stub function or a canned entry may give back: a Response, a body, (status, body),
# (status, headers, body) or {"status": ..., "headers": ..., "body": ...}.
Canned = Union[Response, str, bytes, tuple[Any, ...], Mapping[str, Any]]
OriginFunction = Callable[[Request], Union[Canned, Awaitable[Canned]]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
# An origin in a test: a URL (a real HTTP origin), an ASGI app, a function, a dict of canned
# responses by path, or any httpx transport.
OriginSpec = Union[str, httpx.AsyncBaseTransport, OriginFunction, ASGIApp, Mapping[str, Canned]]

_RESPONSE_KEYS = {"status", "headers", "body"}


class OriginStub(httpx.AsyncBaseTransport):
    """An origin answered in-process; `requests` lists what it got, oldest first."""

    def __init__(self, origin_id: str, answer: Callable[[Request], Awaitable[Response]],
                 answer_name: str = "the stub") -> None:
        self.origin_id = origin_id
        self._answer_name = answer_name  # the user's function, for a message when it raises
        self.requests: list[Request] = []
        # Requests canned routes had no answer for (each got a 404), one line each: a failing test
        # shows them, since a 404 alone reads like a wrong URI rather than a missing route.
        self.unrouted: list[str] = []
        # Canned routes (stub_from_routes), and those a request was answered from: a route never
        # asked for is a test that checks less than it says (Miniflare's assertNoPendingInterceptors).
        self.routes: tuple[str, ...] = ()
        self._routes_used: set[str] = set()
        self._answer = answer

    def __repr__(self) -> str:
        return f"<OriginStub {self.origin_id!r}: {len(self.requests)} request(s)>"

    @property
    def count(self) -> int:
        return len(self.requests)

    @property
    def last(self) -> Request:
        __tracebackhide__ = True  # pytest: reported at the test's line, not in here
        if not self.requests:
            raise AssertionError(f"origin {self.origin_id!r} got no request")
        return self.requests[-1]

    @property
    def paths(self) -> list[str]:
        return [r.url_path_and_query for r in self.requests]

    @property
    def unused_routes(self) -> list[str]:
        """The canned routes no request was answered from yet, in the order given ([] for a function stub)."""
        return [route for route in self.routes if route not in self._routes_used]

    def reset(self) -> None:
        self.requests.clear()
        self.unrouted.clear()
        self._routes_used.clear()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        seen = await origin_view(request)
        self.requests.append(seen)
        try:
            response = await self._answer(seen.copy())
        except StubError as exc:  # a value that is no response: its message names the origin and function
            raise OriginStubFailed(str(exc)) from exc
        except httpx.HTTPError:  # a stub standing for an origin that cannot be reached, on purpose
            raise
        except Exception as exc:  # noqa: BLE001 - the test's own code: named, not called edgesim's bug
            raise stub_failed(self.origin_id, f"{self._answer_name}()", exc) from exc
        # Header values as bytes: a stub's text goes out as UTF-8 (encoding.py), not refused by httpx.
        return httpx.Response(response.status, headers=[(encode(k), encode(v)) for k, v in response.headers],
                              content=response.body,
                              extensions={"reason_phrase": (response.status_description or "").encode("latin-1")})


def stub_failed(origin_id: str, who: str, exc: Exception) -> OriginStubFailed:
    """The error for a stub's own exception, naming the stub and the innermost line of the test's
    code it came from (the viewer's page and the trace have no traceback)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return OriginStubFailed(f"origin stub {origin_id!r}: {who} raised {type(exc).__name__}: {exc}{where}")


class OriginHeaders(Headers):
    """The headers an origin stub got. Reading one it did not get says why it commonly is not there
    (spec §4.2): a test that sets a header, or adds one at viewer-request, expects the origin to see it."""

    def __getitem__(self, name: str) -> str:
        __tracebackhide__ = True  # pytest: the failure points at the test's line, not here
        try:
            return super().__getitem__(name)
        except KeyError as exc:
            why = (f"{exc.args[0]}; the origin gets a viewer's header, or one a viewer-request function added, only "
                   "when the behavior's cache policy or origin request policy forwards it (edge.last_trace shows "
                   "each trigger's event)")
        raise KeyError(why)  # outside `except`: one error in the report, not two


async def origin_view(request: httpx.Request) -> Request:
    """An httpx request as the origin sees it."""
    body = await request.aread()
    return Request(
        method=request.method,
        uri=decode(request.url.raw_path.split(b"?", 1)[0]),
        querystring=decode(request.url.query),
        headers=OriginHeaders((k.decode("latin-1"), decode(v)) for k, v in request.headers.raw),
        body=body,
    )


def to_response(value: Canned, where: str) -> Response:
    """A canned value as a Response; a StubError (a TypeError) names `where` when it is not one."""
    if isinstance(value, Response):
        return value
    if isinstance(value, (str, bytes)):
        return _response(200, {}, value)
    if isinstance(value, tuple) and len(value) in (2, 3) and isinstance(value[0], int):
        status, headers, body = (value[0], {}, value[1]) if len(value) == 2 else value
        return _response(status, headers, body)
    if isinstance(value, Mapping) and set(value) <= _RESPONSE_KEYS and value:
        return _response(int(value.get("status", 200)), value.get("headers") or {}, value.get("body", b""))
    raise StubError(f"{where}: {value!r} is not a response; give a body (str/bytes), (status, body), "
                    "(status, headers, body), {'status': ..., 'headers': ..., 'body': ...} or an "
                    "edgesim.messages.Response")


def _response(status: int, headers: Mapping[str, str] | Headers | Any, body: Any) -> Response:
    if isinstance(body, (dict, list)):
        payload = json.dumps(body).encode()
        default_type = "application/json"
    elif isinstance(body, str):
        payload, default_type = body.encode(), "text/plain; charset=utf-8"
    else:
        payload, default_type = bytes(body), "application/octet-stream"
    out = headers.copy() if isinstance(headers, Headers) else Headers(dict(headers).items())
    if payload:
        out.setdefault("Content-Type", default_type)
    return Response(status, out, payload)


def stub_from_function(origin_id: str, function: OriginFunction) -> OriginStub:
    name = getattr(function, "__name__", repr(function))

    async def answer(request: Request) -> Response:
        value = function(request)
        if inspect.isawaitable(value):
            value = await value
        return to_response(value, f"origin {origin_id!r}: {name}() returned")  # type: ignore[arg-type]

    return OriginStub(origin_id, answer, name)


def stub_from_routes(origin_id: str, routes: Mapping[str, Canned]) -> OriginStub:
    """Canned responses by path (`/a` or `/a?x=1` for an exact query); others get 404."""
    checked = {path: to_response(value, f"origin {origin_id!r} route {path!r}") for path, value in routes.items()}

    async def answer(request: Request) -> Response:
        route = request.url_path_and_query if request.url_path_and_query in checked else request.uri
        found = checked.get(route)
        if found is None:
            line = f"origin stub {origin_id!r} has no route for {request.url_path_and_query}; routes: {sorted(checked)}"
            stub.unrouted.append(line)
            return _response(404, {"Content-Type": "text/plain"}, line + "\n")
        stub._routes_used.add(route)
        return found.copy()

    stub = OriginStub(origin_id, answer)
    stub.routes = tuple(checked)
    return stub


class StubbedOrigins(dict[str, OriginStub]):
    """A test's origin stubs by origin id; asked for one that is not stubbed, it says which are, and
    whether the id is one of the config's origins left unstubbed, or a typo."""

    def __init__(self) -> None:
        super().__init__()
        self.configured: list[str] = []  # every origin id in the config

    def __missing__(self, origin_id: str) -> OriginStub:
        __tracebackhide__ = True
        stubbed = sorted(self)
        if origin_id in self.configured:
            why = (f"origin {origin_id!r} is not stubbed in this test, so no requests are recorded for it "
                   f"(they go to the origin the config names)")
        else:
            close = difflib.get_close_matches(str(origin_id), self.configured, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            why = f"no origin {origin_id!r} in the config (its origins: {self.configured}){hint}"
        raise KeyError(f"{why}; stubbed origins: {stubbed or 'none'}")


class RecordingTransport(OriginStub):
    """Any httpx transport (an ASGI app's included), recording what it is sent."""

    def __init__(self, origin_id: str, inner: httpx.AsyncBaseTransport) -> None:
        super().__init__(origin_id, self._unused)
        self.inner = inner

    async def _unused(self, request: Request) -> Response:  # pragma: no cover - never called
        raise NotImplementedError

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests.append(await origin_view(request))
        replay = httpx.Request(request.method, request.url, headers=request.headers.raw, content=body,
                               extensions=request.extensions)
        try:
            return await self.inner.handle_async_request(replay)
        except httpx.HTTPError:  # a transport standing for an unreachable origin, on purpose
            raise
        except Exception as exc:  # noqa: BLE001 - an ASGI app's own exception (ASGITransport re-raises it)
            raise stub_failed(self.origin_id, "the app", exc) from exc

    async def aclose(self) -> None:
        await self.inner.aclose()


def _is_asgi(obj: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 3


def _check_takes_a_request(origin_id: str, function: Callable[..., Any]) -> None:
    """A stub function is called with one Request: one that cannot take it is refused at start, where
    each request would fail with a TypeError raised in here rather than at the test's line."""
    try:
        inspect.signature(function).bind(None)
    except ValueError:  # no signature to read (a builtin): left to the call
        return
    except TypeError:
        params = inspect.signature(function).parameters.values()
        required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        name = getattr(function, "__name__", repr(function))
        raise StubError(f"origin {origin_id!r}: {name} takes {len(required)} arguments; a stub function takes one, the "
                        f"Request the origin got (lambda request: ...), an ASGI app three (scope, receive, send)") from None


def check_url_spec(origin_id: str, spec: str) -> str:
    """A string stub is a real origin's URL: one that is not (`"hello"`, meant as the answer's body)
    is told as a stub mistake, where it was pydantic's ValidationError from inside the distribution."""
    parts = urlsplit(spec)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StubError(f"origin {origin_id!r}: {spec!r} is not a URL; a string stub is the URL of a real origin "
                        f"(http://...); for a canned answer give routes by path, e.g. {{'/': {spec!r}}}")
    return spec


def make_stub(origin_id: str, spec: OriginSpec) -> OriginStub:
    """The transport for one origin spec (not a URL: URLs rewrite the config instead)."""
    if isinstance(spec, OriginStub):
        return spec
    if isinstance(spec, httpx.AsyncBaseTransport):
        return RecordingTransport(origin_id, spec)
    if isinstance(spec, Mapping):
        return stub_from_routes(origin_id, spec)
    if callable(spec):
        if _is_asgi(spec):
            return RecordingTransport(origin_id, httpx.ASGITransport(app=spec))  # type: ignore[arg-type]
        _check_takes_a_request(origin_id, spec)
        return stub_from_function(origin_id, spec)  # type: ignore[arg-type]
    raise StubError(f"origin {origin_id!r}: {spec!r} is not an origin; give a URL, an ASGI app, a function "
                    "Request -> response, a dict of canned responses by path, or an httpx transport")
