"""The HTTP/1.1 client edgesim reaches custom origins with: keep-alive connections, httptools' parser.

Why not aiohttp or httpx here: the origin fetch is on every cache miss, and aiohttp's client cost
about 140 µs of CPU per fetch on the benchmark machine against about 40 µs for this protocol on
httptools (the parser uvicorn already uses; `python -m benchmarks.origin_fetch`), the largest
single share of edgesim's pass-through cost (issue 6). What CloudFront does with an origin is narrow: one request at a time
per connection, the whole response read before it moves on (it caches it), redirects passed
through, nothing decoded. That is all this module does. Origins given an httpx transport (tests:
MockTransport, ASGITransport) still go through httpx in origin.py.

A body can also be handed on as it arrives (`stream=True`; the spec is silent on streaming, and this is
our reading of how an edge proxies a body it does not need whole): the response is returned at the end of
the first read that completed its head, its body as a BodyStream, so an origin's event stream or
large download reaches the viewer without waiting for the end. A body that came with its head in one
read (most do) is returned whole as before. The origin is read no faster than the viewer takes it.

A viewer's body still arriving (`Request.body_stream`) is sent after the head as it comes, no
faster than the origin takes it (origin_upload.py).

CloudFront's origin settings it honours (spec §2.3, §1.7 origin timeouts): `connect_timeout` per attempt
and `connection_attempts` attempts; `read_timeout` as the longest wait for the next bytes of the
response, a GET or HEAD asked again up to `connection_attempts` times when it runs out
(_RETRIED_ON_TIMEOUT); `keepalive_timeout` as how long an idle connection is kept for reuse.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import cast

import httptools

from edgesim.docs_links import cite
from edgesim.errors import OriginConnectionError, OriginTimeout
from edgesim.forwarding import HOP_BY_HOP
from edgesim.messages import BodyStream, Headers, Request, Response
from edgesim.origin_config import CustomOrigin
from edgesim.origin_upload import Upload

# Methods whose request carries a body by definition: they get a Content-Length even when empty.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# A request that never reached the origin's handler may be sent again on a fresh connection; only
# these, since for the others a retry could repeat a side effect (RFC 9110 §9.2.2).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# An origin that does not answer within the response timeout is asked again, up to the connection
# attempts, for these methods only: "GET and HEAD requests - ... CloudFront tries again to get a
# complete response ... DELETE, OPTIONS, PATCH, PUT, and POST requests - ... doesn't try again"
# (DG/RequestAndResponseBehaviorCustomOrigin, "Origin response timeout"; the API's ConnectionAttempts:
# "also specifies the number of times that CloudFront attempts to get a response from the origin").
_RETRIED_ON_TIMEOUT = frozenset({"GET", "HEAD"})
_MAX_IDLE_PER_ORIGIN = 64
_DROPPED_REQUEST_HEADERS = HOP_BY_HOP | {"content-length"}  # framing is ours: the body may have changed
# A streamed body waiting for the viewer: reading from the origin pauses above the high mark and
# resumes below the low one, so a slow viewer does not make edgesim hold a large download in memory.
_STREAM_HIGH_WATER = 1 << 20
_STREAM_LOW_WATER = 256 << 10
# "Maximum length of a request or an origin response, including headers and query strings, but not
# including the body content" (DG/cloudfront-limits; spec §1.6's table): 20,480 bytes in one copy of
# the page, 32,768 in another. UNCERTAIN which holds now; the smaller is taken, so that an origin
# whose answer passes here passes on CloudFront too. Counted as the status line and header lines
# with their CRLFs (the head without its closing blank line).
MAX_ORIGIN_HEAD_BYTES = 20_480


def head_too_large(reason: bytes, headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why an origin's response head is more than CloudFront takes, or None when it is not."""
    size = len(b"HTTP/1.1 200 \r\n") + len(reason) + sum(len(name) + len(value) + 4 for name, value in headers)
    if size <= MAX_ORIGIN_HEAD_BYTES:
        return None
    return _too_large(f"{size:,}")


def _too_large(size: str) -> str:
    return (f"the origin's response headers are over CloudFront's {MAX_ORIGIN_HEAD_BYTES:,} bytes ({size} bytes); "
            f"CloudFront answers 502 for such a response ({cite('cloudfront-limits')})")


class _HeadTooLarge(ValueError):
    """Raised from a parser callback: the origin's head is over MAX_ORIGIN_HEAD_BYTES."""


def transfer_encoding(raw: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    """The origin's Transfer-Encoding line, for origin-response functions (messages.Response)."""
    for name, value in raw:
        if len(name) == 17 and name.lower() == b"transfer-encoding":
            return name.decode("latin-1"), value.decode("latin-1")
    return None


class _Stale(Exception):
    """A reused keep-alive connection closed before any byte of the answer: try a fresh one."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection to an origin; one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser: httptools.HttpResponseParser | None = None
        self._waiter: asyncio.Future[Response] | None = None
        self._head = False
        self._status = 0
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._got_bytes = False
        self._continued = False  # a 100 Continue came in this exchange
        self._headers_done = False
        self._head_seen = 0  # bytes received while the head was still incomplete (a size guard)
        self._fed = 0  # bytes received in this exchange: a head within them is not counted again
        self._last_data = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._may_stream = False
        self._streaming: _OriginBody | None = None  # the body being handed on, once the head is out
        self._paused = False
        self.keep_alive = False
        # A viewer's body being sent as it arrives (origin_upload.py): its task, whether all of it
        # is written, and a future the task waits on while the origin is not reading.
        self._sender: asyncio.Task[None] | None = None
        self._upload_sent = True
        self._writable: asyncio.Future[None] | None = None

    # --- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, but is one

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        self._fed += len(data)
        self._last_data = self._loop.time()
        if self._parser is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            cause = exc.__context__ or exc  # a callback's own error (a status out of range) says more
            if isinstance(cause, _HeadTooLarge):
                self._fail(ConnectionError(str(cause)))
            else:
                self._fail(ConnectionError(f"the origin's response is not valid HTTP/1.1 ({cause})"))
            self.close()
            return
        except httptools.HttpParserUpgrade:
            # Not an HttpParserError: left to propagate, the event loop logged a traceback. The
            # request carried no Upgrade (hop-by-hop; edgesim proxies no WebSocket), so a 101 is
            # no answer to pass on: a 502, as for any response CloudFront cannot use (spec §2.8).
            self._fail(ConnectionError("the origin switched protocols (101) for a request that asked for no "
                                       "upgrade; edgesim proxies no WebSocket"))
            self.close()
            return
        if not self._headers_done:
            # httptools holds a header line until it ends: an origin sending an endless one would
            # grow it without bound, so the head is refused once its bytes so far are over the limit.
            self._head_seen += len(data)
            if self._head_seen > MAX_ORIGIN_HEAD_BYTES:
                self._fail(ConnectionError(_too_large(f"more than {self._head_seen:,}")))
                self.close()
                return
        if self._may_stream and self._headers_done and self._streaming is None and self._status >= 200:
            # The head is in and the body is not complete after this read: hand the body on as it comes.
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                self._streaming = _OriginBody(self, self._body)
                waiter.set_result(self._response(b"", self._streaming))

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        streaming = self._streaming is not None and not self._streaming.ended
        if not streaming and (waiter is None or waiter.done()):
            return
        if self._headers_done and self._parser is not None and self._reads_until_close():
            self._finish()  # no Content-Length, not chunked: the body ends with the connection
        elif not self._got_bytes and waiter is not None:
            waiter.set_exception(_Stale())
        else:
            self._fail(ConnectionError("the origin closed the connection in the middle of its response"))

    # --- httptools callbacks -----------------------------------------------------------------

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        self._status = self._parser.get_status_code()
        if not 100 <= self._status <= 599:
            # No HTTP status (RFC 9110 §15): a response CloudFront cannot read, so 502 as for any
            # other (spec §2.8's origin errors). Passed on, it has no status line to go out with.
            raise ValueError(f"status {self._status} is not an HTTP status (100-599)")
        if self._fed > MAX_ORIGIN_HEAD_BYTES:  # else the head is smaller still: not counted, per fetch
            too_large = head_too_large(self._reason, self._headers)
            if too_large is not None:
                raise _HeadTooLarge(too_large)
        self._headers_done = True
        if self._head and self._status >= 200:
            self._finish()  # a HEAD answer has no body, whatever its Content-Length says

    def on_body(self, body: bytes) -> None:
        if self._streaming is not None:
            self._streaming.push(body)
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:
            if self._status == 100:
                if self._continued:
                    # "Your origin cannot send more than one 100-Continue response to CloudFront ...
                    # CloudFront will return an error" (AD/RequestAndResponseBehaviorCustomOrigin).
                    raise ValueError("the origin sent a second 100 Continue; CloudFront accepts one, then the answer")
                self._continued = True
            self._reset_message()  # an interim answer (100 Continue, 103): the real one follows
            return
        self._finish()

    # --- the exchange ------------------------------------------------------------------------

    async def exchange(self, data: bytes, *, head: bool, read_timeout: float, stream: bool = False,
                       upload: Upload | None = None) -> Response:
        """Send one request and read its response; raises _Stale, ConnectionError or TimeoutError.

        With `stream`, a body still arriving after the head comes as the response's stream; the
        exchange then ends with that body (`_end_exchange`)."""
        assert self.transport is not None
        self._head = head
        self._got_bytes = False
        self._fed = 0
        self._continued = False
        self._may_stream = stream and not head
        self._streaming = None
        # A fresh parser per exchange: one that ended a HEAD answer at its headers still expects a body.
        self._parser = httptools.HttpResponseParser(self)
        self._reset_message()
        waiter = self._waiter = self._loop.create_future()
        self._last_data = self._loop.time()
        self._timer = self._loop.call_at(self._last_data + read_timeout, self._check_idle, read_timeout)
        self.transport.write(data)
        if upload is not None:
            self._upload_sent = False
            self._sender = upload.start(self)
        try:
            response = await waiter
        except BaseException:
            self.close()  # mid-exchange: the connection's state is unknown, never reuse it
            self._end_exchange()
            raise
        self._waiter = None
        if self._streaming is None:
            self._end_exchange()
        return response

    def _end_exchange(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None and not sender.done():
            # The answer is complete before the body was (the origin answered early): the rest
            # is not sent, and the connection, left mid-request, is not reused.
            sender.cancel()
            if not self._upload_sent:
                self.keep_alive = False
                self.close()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._waiter = None
        self._parser = None

    def _reset_message(self) -> None:
        self._status = 0
        self._reason = b""
        self._headers = []
        self._body = []
        self._headers_done = False
        self._head_seen = 0

    def _reads_until_close(self) -> bool:
        names = {name.lower() for name, _ in self._headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def _check_idle(self, read_timeout: float) -> None:
        """CloudFront's response timeout: the longest wait for the answer's next bytes (spec §2.3),
        between a streamed body's bytes too; not while edgesim itself stopped reading for a slow viewer."""
        streaming = self._streaming is not None and not self._streaming.ended
        if not streaming and (self._waiter is None or self._waiter.done()):
            return
        now = self._loop.time()
        uploading = self._sender is not None and not self._upload_sent
        if uploading and self._writable is not None:
            pass  # the origin is not taking the body: its wait counts, whatever else waits on it
        elif self._paused or uploading:
            # Not the origin's wait: edgesim stopped reading for a slow viewer, or the viewer's
            # body is still arriving (the origin's answer is due once it has all of it).
            self._last_data = now
        idle_until = self._last_data + read_timeout
        if now < idle_until:
            self._timer = self._loop.call_at(idle_until, self._check_idle, read_timeout)
            return
        self._fail(TimeoutError(f"no response bytes for {read_timeout:g} s"))
        self.close()

    # --- a streamed request body (origin_upload.py) ------------------------------------------

    def write_body(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise ConnectionError("the origin's connection closed")
        self.transport.write(data)

    async def drained(self) -> None:
        """Back once the origin took what was written (asyncio's write-buffer high-water mark)."""
        if self._writable is not None:
            await self._writable
        if self.closed:
            raise ConnectionError("the origin's connection closed")
        self._last_data = self._loop.time()

    def upload_sent(self) -> None:
        self._upload_sent = True

    def abort(self, exc: BaseException) -> None:
        """The viewer broke off its body: the origin gets a reset, never a short body as if whole."""
        self._fail(exc)
        self.closed = True
        if self.transport is not None:
            sock = self.transport.get_extra_info("socket")
            try:  # linger 0: the close is a TCP reset, not an orderly end the origin might take for the body's
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except (AttributeError, OSError):
                pass  # no socket to set (a test transport): abort still drops the connection
            self.transport.abort()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    def pause_reading(self) -> None:
        if not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._paused and self.transport is not None:
            self._paused = False
            self._last_data = self._loop.time()
            self.transport.resume_reading()

    def _finish(self) -> None:
        streaming = self._streaming
        if streaming is not None:
            if not streaming.ended:
                assert self._parser is not None
                self.keep_alive = self._parser.should_keep_alive()
                self._end_exchange()
                self.resume_reading()  # paused for a slow viewer, it must not go back to the pool so
                streaming.end()
            return
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        assert self._parser is not None
        self.keep_alive = self._parser.should_keep_alive()
        waiter.set_result(self._response(b"".join(self._body), None))

    def _response(self, body: bytes, stream: BodyStream | None) -> Response:
        # Values kept as received (encoding.decode, inlined: it runs per header line of every fetch).
        headers = Headers((k.decode("latin-1"), v.decode("utf-8", "surrogateescape")) for k, v in self._headers
                          if k.decode("latin-1").lower() not in HOP_BY_HOP)
        return Response(self._status, headers, body, self._reason.decode("latin-1") or None, stream,
                        transfer_encoding(self._headers))

    def _fail(self, exc: BaseException) -> None:
        if self._streaming is not None and not self._streaming.ended:
            self._end_exchange()
            self._streaming.fail(exc)
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        self.resume_writing()  # a sender waiting to write finds the connection closed
        if self.transport is not None:
            self.transport.close()


class _OriginBody(BodyStream):
    """The rest of an origin's body, read as the viewer takes it (see the module's docstring)."""

    def __init__(self, connection: _Connection, received: list[bytes]) -> None:
        self._connection = connection
        self._chunks: deque[bytes] = deque(chunk for chunk in received if chunk)
        self._size = sum(len(chunk) for chunk in self._chunks)
        self._error: BaseException | None = None
        self._wake: asyncio.Future[None] | None = None
        self.ended = False
        # Set by OriginClient.fetch: how a failure is worded; what to do with the connection at the end.
        self.describe_error: Callable[[BaseException], BaseException] = lambda exc: exc
        self.on_end: Callable[[], None] | None = None

    def push(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size > _STREAM_HIGH_WATER:
            self._connection.pause_reading()
        self._wake_reader()

    def end(self) -> None:
        self.ended = True
        self._wake_reader()
        if self.on_end is not None:
            self.on_end()

    def fail(self, exc: BaseException) -> None:
        self.ended = True
        self._error = exc
        self._wake_reader()

    def _wake_reader(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        while not self._chunks:
            if self._error is not None:
                raise self.describe_error(self._error)
            if self.ended:
                raise StopAsyncIteration
            self._wake = asyncio.get_running_loop().create_future()
            await self._wake
        chunk = self._chunks.popleft()
        self._size -= len(chunk)
        if self._size < _STREAM_LOW_WATER:
            self._connection.resume_reading()
        return chunk

    async def aclose(self) -> None:
        self._chunks.clear()
        if not self.ended:  # given up half-read: the connection is mid-answer, never reused
            self.ended = True
            self._connection._end_exchange()
            self._connection.close()
            self._wake_reader()


class OriginClient:
    """Keep-alive HTTP/1.1 connections to custom origins, pooled per scheme, host and port."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None
        self._bases: dict[str, str] = {}  # origin url -> origin path, parsed once

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def fetch(self, request: Request, origin: CustomOrigin, *, stream: bool = False) -> Response:
        """The origin's response; with `stream`, its body may come as a BodyStream (module docstring)."""
        data = self._serialize(request, origin)
        key = (origin.protocol, origin.domain_name, origin.port)
        head = request.method == "HEAD"
        # A viewer's body still arriving is sent as it comes, after `data` (the head).
        upload = Upload(request.body_stream) if request.body_stream is not None else None
        connection, reused = await self._connection(key, origin)
        timeouts = 0
        while True:
            try:
                response = await connection.exchange(data, head=head, read_timeout=origin.read_timeout, stream=stream,
                                                     upload=upload)
            except _Stale:
                connection.close()
                if reused and request.method in _IDEMPOTENT and (upload is None or upload.rewind()):
                    # The origin had closed it while idle, so the request never arrived: send it
                    # again, on a new connection (another idle one may be just as stale).
                    connection, reused = await self._connect(origin), False
                    continue
                raise OriginConnectionError(f"cannot connect to origin {origin.id!r} ({origin.url}): "
                                            "the origin closed the connection without answering") from None
            except TimeoutError as exc:
                # The head (or, not streaming, the whole answer) did not come in time; a body already
                # handed on cannot be asked for again, so a timeout later in it is not retried.
                timeouts += 1
                if (timeouts < origin.connection_attempts and request.method in _RETRIED_ON_TIMEOUT
                        and (upload is None or upload.rewind())):
                    connection, reused = await self._connect(origin), False
                    continue
                attempts = f" ({timeouts} attempts)" if timeouts > 1 else ""
                raise _origin_error(origin, TimeoutError(f"{exc}{attempts}")) from None
            except ConnectionError as exc:
                raise _origin_error(origin, exc) from None
            if isinstance(response.stream, _OriginBody):
                body, done = response.stream, connection
                body.describe_error = lambda exc: _origin_error(origin, exc)
                if body.ended:  # it ended before this task resumed: nothing left to wait for
                    self._settle(key, done)
                else:
                    body.on_end = lambda: self._settle(key, done)
            else:
                self._settle(key, connection)
            return response

    def _settle(self, key: tuple[str, str, int], connection: _Connection) -> None:
        """An exchange is over: the connection goes back to the pool, or is closed."""
        if connection.keep_alive and not connection.closed:
            self._release(key, connection)
        else:
            connection.close()

    def _serialize(self, request: Request, origin: CustomOrigin) -> bytes:
        path = self._bases.get(origin.url)
        if path is None:  # CustomOrigin's properties parse its URL on every access
            path = self._bases[origin.url] = origin.path
        target = path + request.uri
        if request.querystring:
            target += "?" + request.querystring
        lines = [f"{request.method} {target} HTTP/1.1"]
        has_host = False
        for name, value in request.headers:
            lower = name.lower()
            if lower in _DROPPED_REQUEST_HEADERS:
                continue
            if lower == "host":
                has_host = True
            lines.append(f"{name}: {value}")
        # "CloudFront replaces this header with Connection: Keep-Alive" (AD/RequestAndResponseBehaviorCustomOrigin,
        # headers table): the viewer's went with the hop-by-hop headers above.
        lines.append("Connection: Keep-Alive")
        if not has_host:
            default_port = 443 if origin.protocol == "https" else 80
            lines.append(f"Host: {origin.domain_name}" + ("" if origin.port == default_port else f":{origin.port}"))
        body = request.body
        if request.body_stream is not None:  # sent after the head as it arrives (origin_upload.py)
            length = request.body_stream.length
            lines.append("Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}")
        elif body or request.method in _BODY_METHODS:
            lines.append(f"Content-Length: {len(body)}")
        text = "\r\n".join(lines)
        if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
            # A line break inside a name or value would split it into a second header or request.
            raise OriginConnectionError(f"cannot send the request to origin {origin.id!r}: a header name or "
                                        "value contains a line break")
        try:
            # What came in unchanged goes out as received, what a function set as UTF-8, a URI or
            # query string as much as a header (encoding.py, spec §1.4). A URI a function set with
            # non-ASCII characters goes as raw UTF-8, not percent-encoded: our reading of §1.4
            # ("forwards the UTF-8 encoded values"; AWS recommends functions percent-encode).
            head = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate set from Python code (functions' text is cleaned)
            raise OriginConnectionError(f"cannot send the request to origin {origin.id!r}: a header name or "
                                        "value is not encodable text") from None
        return head + b"\r\n\r\n" + body

    async def _connection(self, key: tuple[str, str, int], origin: CustomOrigin) -> tuple[_Connection, bool]:
        idle = self._idle.get(key)
        if idle:
            loop = asyncio.get_running_loop()
            now = loop.time()
            while idle:
                connection = idle.pop()
                if not connection.closed and now - connection.idle_since < origin.keepalive_timeout:
                    return connection, True
                connection.close()  # CloudFront's keep-alive timeout ran out, or the origin closed it
        return await self._connect(origin), False

    async def _connect(self, origin: CustomOrigin) -> _Connection:
        loop = asyncio.get_running_loop()

        def factory() -> _Connection:
            return _Connection(loop)

        tls = self._tls_context() if origin.protocol == "https" else None
        problem = ""
        timed_out = False
        for _ in range(origin.connection_attempts):  # CloudFront's connection attempts (spec §2.3)
            try:
                _, protocol = await asyncio.wait_for(
                    loop.create_connection(factory, origin.domain_name, origin.port, ssl=tls,
                                           server_hostname=origin.domain_name if tls else None),
                    origin.connect_timeout)
                return protocol
            except asyncio.TimeoutError:
                timed_out, problem = True, f"no connection within {origin.connect_timeout:g} s"
            except ssl.SSLCertVerificationError as exc:
                # No point in more attempts: the certificate will not change.
                raise OriginConnectionError(
                    f"cannot connect to origin {origin.id!r} ({origin.url}): certificate verify failed: {exc.verify_message or exc} "
                    "(CloudFront only talks to origins whose certificate a public CA vouches for; to trust "
                    "a local CA, point SSL_CERT_FILE at its certificate)") from None
            except OSError as exc:  # ssl.SSLError included
                timed_out, problem = False, (str(exc) or type(exc).__name__).splitlines()[0]
        if timed_out:
            raise OriginTimeout(f"origin {origin.id!r} ({origin.url}) did not answer in time: {problem}")
        raise OriginConnectionError(f"cannot connect to origin {origin.id!r} ({origin.url}): {problem}")

    def _release(self, key: tuple[str, str, int], connection: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) >= _MAX_IDLE_PER_ORIGIN:
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        idle.append(connection)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            # CloudFront checks the origin's certificate; so does edgesim (the system's trust store).
            self._tls = ssl.create_default_context()
        return self._tls


def _origin_error(origin: CustomOrigin, exc: BaseException) -> OriginTimeout | OriginConnectionError:
    """A failed read as CloudFront words it: 504 for a timeout, else 502 (spec §2.8)."""
    if isinstance(exc, TimeoutError):
        return OriginTimeout(f"origin {origin.id!r} ({origin.url}) did not answer in time: {exc}")
    return OriginConnectionError(f"cannot connect to origin {origin.id!r} ({origin.url}): {exc}")
