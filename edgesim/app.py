"""The ASGI app over a Simulator: viewer requests in, CloudFront responses out.

The viewer path is a bare ASGI callable (every microsecond here is per request); Starlette serves
only the admin routes under `/__edgesim/`, which answer loopback clients only and which no function
ever sees. Requests CloudFront itself would refuse are refused here, before any function runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from edgesim.error_page import render_error
from edgesim.docs_links import cite
from edgesim.errors import (BadRequest, BodyBrokenOff, CachedObjectLost, GetWithBody, HttpVersionNotSupported,
                            RequestTooLarge, ViewerError)
from edgesim.forwarding import via_host
from edgesim.messages import VIEWER_KEYS, BodyStream, Headers, Request, Response, ViewerLeft
from edgesim.simulator import Simulator, new_request_id
from edgesim.trace import Trace
from edgesim.viewer_body import ViewerBody

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

ADMIN_PREFIX = "/__edgesim/"
# URI plus query string must stay under 8,192 characters (spec §1.4).
MAX_URI_AND_QUERY = 8192
# A request over 20,480 bytes, not counting its body, gets 494 (spec §1.6: 20 KB per the 2023 quotas page;
# UNCERTAIN against a 32 KB reading, we take the smaller, documented value). The path counts too:
# "The maximum length of a request, including the path, the query string (if any), and headers"
# (AD/RequestAndResponseBehaviorCustomOrigin, "Maximum length of a request").
MAX_HEADER_BYTES = 20480
LOOPBACK = ("127.", "::1", "localhost")
# A body on these is read whole before the pipeline, as an origin group may send the request again
# to its secondary (FAILOVER_METHODS in origin_side.py, less GET, which is refused with any body):
# a streamed body could not be replayed. Other methods' bodies go to the origin as they arrive.
_REPLAYED_METHODS = frozenset({"HEAD", "OPTIONS"})
log = logging.getLogger("edgesim")


class EdgeApp:
    """An ASGI app serving one Simulator; `on_trace` sees every finished request."""

    def __init__(self, simulator: Simulator, on_trace: Callable[[Trace], None] | None = None) -> None:
        self.simulator = simulator
        self.on_trace = on_trace
        self.admin = Starlette(routes=[
            Route(ADMIN_PREFIX + "status", self._status),
            Route(ADMIN_PREFIX + "invalidate", self._invalidate, methods=["POST"]),
        ])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if scope["path"].startswith(ADMIN_PREFIX):
                await self._admin(scope, receive, send)
                return
            await self._viewer(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _viewer(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "http.request":  # the viewer left before its body arrived whole
            return
        body: bytes = message.get("body", b"")
        upload: ViewerBody | None = None
        if message.get("more_body", False):  # else the whole body came at once (every body-less request)
            method = scope["method"]
            if method == "GET":
                # Refused if it has a byte (GetWithBody below): one is enough to know, the rest is
                # read and dropped, never held.
                probe = ViewerBody(receive, body, None)
                body = await probe.peek(1)
                if not await probe.finish():
                    return
            elif method in _REPLAYED_METHODS:
                whole = await _read_body(receive, body)
                if whole is None:
                    return
                body = whole
            else:
                upload = ViewerBody(receive, body, _declared_length(scope))
                body = b""
        try:
            request = to_request(scope, body)
        except ViewerError as err:
            response = self.refuse(err, method=scope.get("method", ""), uri=scope.get("path", ""))
            if upload is not None and not await upload.finish():
                return
            await _send(send, response, head=scope["method"] == "HEAD")
            return
        request.body_stream = upload
        try:
            response, trace = await self.simulator.handle(request)
        except ViewerLeft:  # mid-upload: the origin's connection was aborted (origin_upload.py)
            return
        if upload is not None and not await upload.finish():
            if response.stream is not None:
                await response.stream.aclose()
            return
        if response.stream is None:
            await _send(send, response, head=scope["method"] == "HEAD")
            if self.on_trace is not None:
                self.on_trace(trace)
            return
        # A streamed body may go on for minutes (an event stream): the request is logged as it starts.
        if self.on_trace is not None:
            self.on_trace(trace)
        try:
            await _send(send, response)
        except BaseException:
            # Closed whatever happens: requests collapsed into this one's origin fetch wait for its
            # end (request_collapsing.py), and the origin's connection must not be left open.
            await response.stream.aclose()
            raise
        try:
            await _send_stream(send, receive, response.stream)
        except BodyBrokenOff as err:
            log.warning("%s %s: %s", request.method, request.url_path_and_query, err)
            raise

    def refuse(self, err: ViewerError, *, method: str = "", uri: str = "") -> Response:
        """CloudFront's error page for a request refused before the pipeline, logged as any other.

        server.py calls it too, for requests its HTTP parser cannot read."""
        settings = self.simulator.config.distribution
        request_id = new_request_id()
        response = render_error(err, request_id, via=f"1.1 {via_host(settings)} (CloudFront)", pop=settings.pop)
        if isinstance(err, RequestTooLarge):
            # CloudFront answers an oversized request "and then terminates the TCP connection to the
            # viewer" (AD/RequestAndResponseBehaviorCustomOrigin, "Maximum Length of a Request").
            response.headers.set("Connection", "close")
        if self.on_trace is not None:
            self.on_trace(Trace(request_id, method=method, uri=uri, status=response.status, x_cache=err.x_cache,
                                error=f"{type(err).__name__}: {err.reason}"))
        return response

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = (scope.get("client") or ("",))[0] or ""
        if not client.startswith(LOOPBACK):
            await _send(send, Response(403, Headers([("Content-Type", "text/plain")]), b"admin routes answer loopback only\n"))
            return
        await self.admin(scope, receive, send)

    async def _status(self, request: StarletteRequest) -> JSONResponse:
        config = self.simulator.config
        return JSONResponse({
            "distribution": config.distribution.id,
            "config": str(config.source) if config.source else None,
            "behaviors": [b.path_pattern for b in config.behaviors()],
            "load_problems": self.simulator.load_problems,
        })

    async def _invalidate(self, request: StarletteRequest) -> JSONResponse:
        """POST {"paths": ["/images/*", ...]} -> {"invalidated": <objects removed>} (AD/Invalidation rules)."""
        try:
            payload = await request.json()
        except ValueError:
            payload = None
        paths = payload.get("paths") if isinstance(payload, dict) else None
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            return JSONResponse({"error": 'send a JSON body like {"paths": ["/images/*"]}'}, status_code=400)
        try:
            removed = self.simulator.invalidate(paths)
        except ValueError as exc:  # cache.InvalidationPathError
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"paths": paths, "invalidated": removed,
                             "cache": "off" if self.simulator.cache is None else "on"})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.simulator.start()
                except Exception as exc:  # noqa: BLE001 - uvicorn prints the message and exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.simulator.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


# uvicorn hands every name over lowercase, as HTTP/2 does: Host and User-Agent get CloudFront's keys.
_VIEWER_KEYS = {name.encode("latin-1"): key for name, key in VIEWER_KEYS.items()}


def to_request(scope: Scope, body: bytes) -> Request:
    """An ASGI scope as a viewer Request, refusing what CloudFront refuses (spec §1.4, §1.6)."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    target = raw_path.split(b"?", 1)[0]
    # Kept as received: UTF-8 where it is, escaped bytes where it is not (encoding.decode, spec §1.4;
    # inlined here and below, as a call per value is measurable on this path).
    path = target.decode("utf-8", "surrogateescape")
    if not path.startswith("/"):
        raise BadRequest(f"request target {path[:80]!r} is not an absolute path")
    if len(target) + (len(query) + 1 if query else 0) >= MAX_URI_AND_QUERY:
        raise RequestTooLarge(f"URI and query string are {len(target) + len(query) + 1} characters; "
                              f"CloudFront's limit is under {MAX_URI_AND_QUERY}", status=414)
    raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
    size = len(target) + len(query)
    hosts = 0
    for k, v in raw_headers:  # names arrive lowercase (uvicorn, ASGI)
        size += len(k) + len(v) + 4
        if k == b"host":
            hosts += 1
    if size > MAX_HEADER_BYTES:
        raise RequestTooLarge(f"request path, query string and headers are {size} bytes; CloudFront's limit "
                              f"is {MAX_HEADER_BYTES}", status=494)
    http_version: str = scope.get("http_version", "1.1")
    if http_version not in ("1.1", "1.0"):  # HTTP/0.9 (no version) or "HTTP/2.0" spelled in HTTP/1 syntax
        raise HttpVersionNotSupported(f"HTTP/{http_version} in an HTTP/1 request line")
    if hosts > 1 or (not hosts and http_version == "1.1"):
        # CloudFront routes a plain-HTTP request by its one Host (spec silent on a missing or
        # repeated one; our reading: 400, as RFC 9112 §3.2 asks of every HTTP/1.1 server).
        raise BadRequest(f"{hosts} Host headers; an HTTP/1.1 request has exactly one (RFC 9112 §3.2)")
    if body and scope["method"] == "GET":
        raise GetWithBody(f"a GET request with a body ({cite('RequestAndResponseBehaviorCustomOrigin')})")
    client = scope.get("client") or ("127.0.0.1", 0)
    return Request(
        method=scope["method"],
        uri=path,
        querystring=query.decode("utf-8", "surrogateescape"),
        headers=Headers((_VIEWER_KEYS.get(k) or k.decode("latin-1"), v.decode("utf-8", "surrogateescape"))
                        for k, v in raw_headers),
        body=body,
        client_ip=client[0],
        http_version=http_version,
        scheme=scope.get("scheme", "http"),
    )


async def _read_body(receive: Receive, first: bytes) -> bytes | None:
    """The whole request body, `first` the start of it, or None when the viewer disconnected
    before sending all of it.

    A body cut short is never forwarded as if complete: a PUT whose upload broke would otherwise
    store a truncated object at the origin."""
    chunks: list[bytes] = [first]
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _declared_length(scope: Scope) -> int | None:
    """The viewer's Content-Length (uvicorn has checked it), None for a chunked body."""
    length: int | None = None
    for name, value in scope["headers"]:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            length = int(value)
    return length


class _HttpDate:
    """The Date header's value, formatted once a second (as uvicorn does) rather than per response."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def __call__(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second, self._value = now, formatdate(now, usegmt=True).encode("ascii")
        return self._value


_http_date = _HttpDate()


async def _send(send: Send, response: Response, *, head: bool = False) -> None:
    # A value goes out as received, or as UTF-8 when a function or edgesim set it (spec §1.4).
    # encoding.encode, inlined (a call per header line is measurable here).
    # Names keep their case: server.py writes them as they are, as CloudFront does (spec §1.2).
    headers = [(k.encode("latin-1"), v.encode("utf-8", "surrogateescape")) for k, v in response.headers]
    # One Date, as CloudFront sends: the origin's (or the one on a response CloudFront generated),
    # else the time now. uvicorn's own Date is off (server.py), as it would make a second one.
    if "date" not in response.headers:
        headers.insert(0, (b"Date", _http_date()))
    # The reason phrase is the standard one, not a function's statusDescription nor the origin's.
    # UNCERTAIN: no capture of an HTTP/1.1 viewer shows which CloudFront writes (HTTP/2 and /3
    # have none; RFC 9112 §4 has clients ignore it).
    start: dict[str, Any] = {"type": "http.response.start", "status": response.status, "headers": headers}
    await send(start)
    if response.stream is None:
        await send({"type": "http.response.body", "body": b"" if head else response.body})


async def _send_stream(send: Send, receive: Receive, stream: BodyStream) -> None:
    """The rest of a response whose head `_send` sent: the origin's body as it arrives. The viewer
    leaving stops the origin's; the origin breaking off cuts the viewer's connection (BodyBrokenOff),
    as CloudFront can do nothing else once the response has begun (UNCERTAIN: the spec is silent on
    a body broken off mid-way; §2.8's 502 needs a status line not yet sent)."""

    async def stop_when_viewer_leaves() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        await stream.aclose()

    watcher = asyncio.ensure_future(stop_when_viewer_leaves())
    sent = 0
    try:
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent += len(chunk)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except ViewerError as err:
        who = "the edge cache" if isinstance(err, CachedObjectLost) else "the origin"
        raise BodyBrokenOff(f"{who} broke off the body after {sent:,} bytes ({err.reason}); "
                            "the viewer's connection was cut") from None
    finally:
        watcher.cancel()
        await stream.aclose()
