"""uvicorn: `serve` in the foreground (with hot reload), or a background thread for socket tests."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from edgesim import heap
from edgesim.app import MAX_URI_AND_QUERY, EdgeApp
from edgesim.config import DistributionConfig
from edgesim.config_checks import config_warnings
from edgesim.errors import BadRequest, BodyBrokenOff, HttpVersionNotSupported, RequestTooLarge, ViewerError
from edgesim.function_associations import CloudFrontFunctionAssociation
from edgesim.geo_restriction import refusal as geo_refusal
from edgesim.lambda_edge.workers import interpreter_note, shared_aws_variables
from edgesim.reload import watch_and_reload
from edgesim.simulator import SYNTAX_NOTE, Simulator, lambda_syntax_problems


class _OneWritePerTurn:
    """A transport that sends what was written during one event-loop turn with a single send().

    uvicorn writes a response's status line and headers, then its body, each with its own send():
    two syscalls and two packets per response. Holding the writes to the end of the turn joins
    them: about a tenth less CPU per proxied request, and a tenth more throughput (benchmarks/,
    issue 6: 184 against 200 µs and 5,415 against 5,009 req/s, paired runs). Everything but
    write, close and is_closing is the real transport's.
    """

    __slots__ = ("_transport", "_loop", "_held")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()  # a response uvicorn ends with close (Connection: close) still goes out
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Cycle(RequestResponseCycle):
    """uvicorn's request/response cycle, but a response's header names go out as the response has
    them. uvicorn lowercases every name; CloudFront sends the origin's names as the origin wrote
    them (`ETag`, `x-amz-meta-…`), its own capitalised (`X-Cache`, `Via`), and a function's as the
    function gave them (spec §1.2, §2.2), which is what a developer compares in `curl -i`.

    Only the start of a response is written here; its body, and everything uvicorn does after it,
    stay uvicorn's, driven by the same state (chunked_encoding, expected_content_length, keep_alive).
    """

    async def send(self, message: Any) -> None:
        if self.response_started or message["type"] != "http.response.start" or self.disconnected \
                or self.flow.write_paused:
            await super().send(message)
            return
        self.response_started = True
        self.waiting_for_100_continue = False
        status = message["status"]
        head = [STATUS_LINE[status]]
        close = False
        for name, value in message.get("headers", ()):  # (uvicorn's default headers are off: _uvicorn_config)
            if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value):
                raise RuntimeError(f"invalid response header {name!r}")  # never reaches the viewer split
            lower = name.lower()
            if lower == b"content-length" and self.chunked_encoding is None:
                self.expected_content_length = int(value)
                self.chunked_encoding = False
            elif lower == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_content_length = 0
                self.chunked_encoding = True
            elif lower == b"connection" and b"close" in [t.strip().lower() for t in value.split(b",")]:
                self.keep_alive = False
                close = True
            head += (name, b": ", value, b"\r\n")
        if not self.keep_alive and not close:
            head.append(b"Connection: close\r\n")
        if self.chunked_encoding is None and self.scope["method"] != "HEAD" and status not in (204, 304):
            self.chunked_encoding = True
            head.append(b"Transfer-Encoding: chunked\r\n")
        head.append(b"\r\n")
        self.transport.write(b"".join(head))


# A request head (request line and headers) is refused once this much of it has arrived, before
# the parser buffers more: uvicorn would hold a head of any size in memory. CloudFront's own limits
# (8,192 for the URL, 20,480 for the headers: app.py checks both exactly) are well under it.
MAX_HEAD_BYTES = 64 * 1024
# A request head must arrive whole this many seconds after the connection opened or the head's
# first byte arrived, else the connection is closed: nginx's client_header_timeout default (the
# spec is silent on CloudFront's). Without it a viewer that connects and stalls, or sends one byte
# at a time (slowloris), holds a socket forever.
HEAD_TIMEOUT = 60.0


class _HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through a _OneWritePerTurn transport, each response's
    start by a _Cycle, answering what its parser refuses with CloudFront's error page (not
    uvicorn's plain-text 400), and bounding a request head in size and time."""

    head_timeout = HEAD_TIMEOUT  # a class attribute, so that a test can shorten it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_OneWritePerTurn(transport, self.loop))  # type: ignore[arg-type]
        self._head_bytes = 0  # of the head under way, as far as counted
        # A refused request's error, method and URI, answered once the requests before it are.
        self._refusal: tuple[ViewerError, str, str] | None = None
        # Armed once per connection (a viewer that connects and sends nothing), then only while a
        # head is incomplete at the end of a read: a head arriving whole, as nearly all do, costs none.
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def data_received(self, data: bytes) -> None:
        # uvicorn's data_received, with CloudFront's answers in place of uvicorn's.
        if self._refusal is not None:
            return  # a request was refused: nothing after it is read
        self._unset_keepalive_if_required()
        scope = self.scope  # uvicorn makes a new one when a request begins, and sets its method once the head is in
        body_pending = self.cycle is not None and self.cycle.more_body
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # An Upgrade (WebSocket, h2c) or a CONNECT. ws="none" makes the request an ordinary one
            # (edgesim proxies no WebSocket); the parser drops what follows it, so its answer closes.
            self._close_after_response()
        except httptools.HttpParserError as exc:
            if "HTTP version" in str(exc):
                self._refuse(HttpVersionNotSupported(f"request line: {exc}"))
            else:
                self._refuse(BadRequest(f"malformed request: {exc}"))
            return
        if self.scope is None or "method" in self.scope:  # no head under way: the common case
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            return
        if self.scope is scope:
            self._head_bytes += len(data)  # the head began before this chunk: all of it is head
        else:
            # The head began in this chunk: at its start, unless a request body was still arriving
            # (then the head is counted from the next chunk on). It is timed from now.
            self._head_bytes = 0 if body_pending else len(data)
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
        if self._head_bytes > MAX_HEAD_BYTES:
            # Over CloudFront's limits whatever follows: 414 while still in the URL, else 494, as
            # app.py answers heads under this size (spec §1.4, §1.6).
            in_url = not self.headers and len(self.url) >= MAX_URI_AND_QUERY
            self._refuse(RequestTooLarge(f"request head over {MAX_HEAD_BYTES} bytes", status=414 if in_url else 494))
        elif self._head_timer is None and not self.transport.is_closing():
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def eof_received(self) -> bool | None:  # type: ignore[override]  # asyncio.Protocol allows a bool
        # A viewer may half-close once its request is sent (shutdown(SHUT_WR), `nc -N`) and still
        # read the answer: keep the write side open for a request read whole, and close after it.
        if self.cycle is not None and not self.cycle.response_complete and not self.cycle.more_body:
            self.cycle.keep_alive = False
            return True
        # asyncio closes the transport itself, not through _OneWritePerTurn: a response finished in
        # this turn goes out first.
        self.transport.flush()  # type: ignore[attr-defined]
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if (self.scope is None or "method" not in self.scope) and not self.transport.is_closing():
            self.transport.close()  # nothing to answer: the viewer never finished asking

    def _close_after_response(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
        else:
            self.cycle.keep_alive = False

    def _refuse(self, err: ViewerError) -> None:
        """Answer a request that never reached the app with CloudFront's error page, and close:
        once the requests before it on this connection have their answers, in order."""
        scope = self.scope or {}
        uri = getattr(self, "url", b"")[:200].decode("latin-1")  # uvicorn sets url when a request begins
        self._refusal = (err, scope.get("method", ""), uri)
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        # Now when nothing is being answered, or when the refused request is the one whose body was
        # arriving (its app then sees the disconnect); else once the requests before it are answered.
        if self.cycle is None or self.cycle.response_complete or self.cycle.more_body:
            self._send_refusal()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._refusal is not None and self.cycle.response_complete and not self.transport.is_closing():
            self._send_refusal()  # the last request before the refused one is answered

    def _send_refusal(self) -> None:
        assert self._refusal is not None
        err, method, uri = self._refusal
        app: EdgeApp = self.config.app  # type: ignore[assignment]
        response = app.refuse(err, method=method, uri=uri)
        head = [STATUS_LINE[response.status]]
        head.extend(f"{name}: {value}\r\n".encode("latin-1") for name, value in response.headers
                    if name.lower() != "connection")  # names as CloudFront writes them, as _Cycle does
        self.transport.write(b"".join([*head, b"Connection: close\r\n\r\n", response.body]))
        self.transport.close()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if type(self.cycle) is RequestResponseCycle:  # the cycle just made (queued, if pipelined)
            self.cycle.__class__ = _Cycle


def _not_broken_off(record: logging.LogRecord) -> bool:
    """uvicorn logs an app's exception with its traceback; a streamed body the origin broke off is
    no bug of edgesim's, and app.py has logged it in one line already."""
    return not (record.exc_info and isinstance(record.exc_info[1], BodyBrokenOff))


def _not_cancelled(record: logging.LogRecord) -> bool:
    """A second Ctrl+C stops serve at once: the request tasks and the lifespan still running are
    cancelled, which uvicorn logs with a traceback each. Nothing went wrong; serve said it stops."""
    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def _uvicorn_config(app: EdgeApp, host: str, port: int) -> uvicorn.Config:
    config = _config(app, host, port)
    for quiet in (_not_broken_off, _not_cancelled):  # after Config set up uvicorn's logging
        logging.getLogger("uvicorn.error").addFilter(quiet)
    return config


class _Server(uvicorn.Server):
    """uvicorn's server, saying what a Ctrl+C waits for: uvicorn waits for the requests in flight
    (a handler may run for 30 s) and says so only at INFO, below the level serve logs at."""

    def __init__(self, config: uvicorn.Config, say: Callable[[str], None]) -> None:
        super().__init__(config)
        self._say = say
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: Any) -> None:
        stopping = self.should_exit
        super().handle_exit(sig, frame)
        if self._loop is not None and (not stopping or self.force_exit):
            # A signal handler: the line is written from the loop, not in the middle of another write.
            self._loop.call_soon_threadsafe(self._said_stopping, self.force_exit)

    def _said_stopping(self, now: bool) -> None:
        count = len(self.server_state.tasks)
        if not count:
            return
        requests = f"{count} request{'s' if count != 1 else ''} in flight"
        self._say(f"stopping now: {requests} cut off" if now
                  else f"stopping: waiting for {requests} (Ctrl+C again to stop now)")


def _config(app: EdgeApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http=_HttpProtocol,
        host=host,
        port=port,
        lifespan="on",
        log_level="warning",
        access_log=False,
        # The viewer is whoever holds the connection: uvicorn would otherwise take a loopback
        # viewer's own X-Forwarded-For as its address, and CloudFront appends, never trusts (spec §2.2).
        proxy_headers=False,
        server_header=False,  # CloudFront's own Server header is set by the pipeline where it applies
        date_header=False,  # app._send adds a Date only when the response has none: one Date, as CloudFront sends
        # Let oversized header blocks reach us, so the viewer gets CloudFront's 494, not uvicorn's 400.
        h11_max_incomplete_event_size=256 * 1024,
        # edgesim proxies no WebSocket: an Upgrade request is an ordinary request to the origin, not
        # a handshake the app would refuse with uvicorn's bare 500.
        ws="none",
    )


# Lines of a banner past which its URL (its second line) is said again at its end: about a terminal's height.
LONG_BANNER = 20


def banner(simulator: Simulator, url: str, syntax_problems: list[str] | None = None,
           inspecting: list[str] | None = None) -> str:
    """`inspecting`: the `--inspect` lines (Inspector.banner_lines), after the behaviors."""
    config = simulator.config
    lines = [f"edgesim serving distribution {config.distribution.id} ({config.source or 'config in code'})",
             f"  {url}", behaviors_text(config), *(inspecting or ())]
    for problem in simulator.load_problems:
        lines.append(f"  ! function failed to load (its requests get CloudFront's 503): {problem}")
    for problem in syntax_problems or ():
        lines.append(f"  ! {SYNTAX_NOTE}: {problem}")
    text = "\n".join(lines)
    if text.count("\n") >= LONG_BANNER:  # the URL, second, has scrolled off: said again where the eye is
        text += f"\n  ready on {url}"
    return text


def behaviors_text(config: DistributionConfig) -> str:
    """The banner's table of cache behaviors and their functions; printed again when a reload changed the config."""
    lines = ["  behaviors:"]
    for behavior in config.behaviors():
        lines.append(f"    {behavior.path_pattern:<20} -> origin {behavior.target_origin}"
                     f"  ({behavior.viewer_protocol_policy}, cache {behavior.cache_policy.name})")
        for event_type, assoc in behavior.functions.items():
            where = (str(assoc.cloudfront_function) if isinstance(assoc, CloudFrontFunctionAssociation)
                     else f"{assoc.path}:{assoc.function}")
            lines.append(f"        {event_type.value:<16} {assoc.kind:<19} {assoc.name}  [{assoc.runtime}] {where}")
    geo = config.geo_restriction
    if geo.restriction_type != "none":
        # The simulated viewer is in the US by default: say so when the list refuses it.
        served = geo_refusal(geo, config.viewer.country) is None
        lines.append(f"  geo restriction: {geo.restriction_type} {', '.join(geo.locations)}; the viewer "
                     f"([viewer] country {config.viewer.country}) is {'served' if served else 'refused (403)'}, "
                     "X-Edgesim-Viewer-Country: XX places one request elsewhere")
    runtimes = sorted({assoc.runtime for _, _, assoc in config.function_associations()
                       if not isinstance(assoc, CloudFrontFunctionAssociation)})
    if runtimes and config.distribution.lambda_aws_credentials:
        # A handler's SDK calls reach real AWS with the developer's own credentials: said, with the
        # variables' names (never their values), so a missing AWS_PROFILE is seen before a request.
        names = sorted(shared_aws_variables())
        lines.append("  note: Lambda@Edge handlers get this shell's AWS credentials (lambda_aws_credentials = true): "
                     + (", ".join(names) if names else "no AWS_* variables set, so the SDKs' files in ~/.aws"))
    if config.distribution.lambda_python_site_packages and any(r.startswith("python") for r in runtimes):
        # A handler importing what its package lacks works here and fails once deployed: said up front.
        lines.append("  note: Python Lambda@Edge handlers import any package edgesim's environment has "
                     "(lambda_python_site_packages = true); on Lambda@Edge only their own folder's, the standard "
                     "library's and the AWS SDK's")
    for note in filter(None, map(interpreter_note, runtimes)):
        lines.append(f"  note: {note}")
    for warning in config_warnings(config):
        lines.append(f"  ! warning: {warning}")
    return "\n".join(lines)


async def serve(simulator: Simulator, host: str, port: int, *, on_trace: Callable[..., None] | None = None,
                reload: bool = True, report: Callable[[str], None] | None = None) -> None:
    """Serve until interrupted; reload on edits to the config or any function file."""
    say = report or (lambda text: print(text, file=sys.stderr, flush=True))
    app = EdgeApp(simulator, on_trace=on_trace)
    server = _Server(_uvicorn_config(app, host, port), say)
    stop = asyncio.Event()

    async def announce() -> None:
        # Checked while the server starts: a few `node --check` runs, about 40 ms each, concurrently.
        syntax = asyncio.create_task(lambda_syntax_problems(simulator.config))
        while not server.started:
            if server.should_exit:
                syntax.cancel()
                return
            await asyncio.sleep(0.02)
        bound = server.servers[0].sockets[0].getsockname()
        shown_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        inspecting, inspector = None, getattr(simulator, "inspector", None)  # (a test's stand-in may have none)
        if inspector is not None:
            python = any(not isinstance(a, CloudFrontFunctionAssociation) and a.language == "python"
                         for _, _, a in simulator.config.function_associations())
            inspecting = await inspector.banner_lines(python)
        say(banner(simulator, f"http://{shown_host}:{bound[1]}/", await syntax, inspecting))
        heap.freeze()  # start-up is over: what it built stays out of the collector's full passes

    tasks = [asyncio.create_task(announce())]
    if reload:
        tasks.append(asyncio.create_task(watch_and_reload(simulator, say, stop, describe=behaviors_text)))
    try:
        await server.serve()
    finally:
        heap.thaw()
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def bind_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be served, in a line naming the fix, or None when it can.

    Tried before the server starts, so the developer reads what to do instead of uvicorn's errno.
    SO_REUSEADDR as the server's own socket has it: a port a closed server left in TIME_WAIT is free."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"--host {host}: cannot resolve it ({exc.strerror}); pass an address such as 127.0.0.1"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except PermissionError:
            return f"--port {port}: binding ports below 1024 needs privileges; pick another with --port"
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"{host}:{port} is already in use (another edgesim serve?); stop it, or pick another "
                        "port with --port")
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"--host {host}: not an address of this machine; pass 127.0.0.1 or 0.0.0.0"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def background_server(app: EdgeApp, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on a free port in a thread; yields its base URL. For socket tests."""
    port = free_port(host)
    server = uvicorn.Server(_uvicorn_config(app, host, port))
    thread = threading.Thread(target=server.run, name="edgesim-server", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("edgesim server failed to start")
            threading.Event().wait(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
