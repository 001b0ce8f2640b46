"""Viewer request bodies forwarded to a custom origin as they arrive (app.py, viewer_body.py,
origin_upload.py, origin_client.py).

The viewer is driven by hand through the ASGI app (its `receive()` hands out the body a piece at a
time and says how much has been taken); the origins are real sockets that record what they got.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from edgesim import origin_client
from edgesim.testing import Distribution

PIECE = 64 << 10
HOST = (b"host", b"d111111abcdef8.cloudfront.net")


def _config(url: str, **behavior: Any) -> dict[str, Any]:
    return {"origins": [{"id": "app", "url": url}],
            "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled",
                                       "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                                       **behavior}}


class Uploader:
    """A viewer sending `total` bytes in PIECE-sized ASGI messages, pausing before piece `hold_at`
    until `resume` is set, or disconnecting there when `leave`."""

    def __init__(self, total: int, *, method: str = "PUT", chunked: bool = False, hold_at: int | None = None,
                 leave: bool = False) -> None:
        length = [] if chunked else [(b"content-length", str(total).encode())]
        te = [(b"transfer-encoding", b"chunked")] if chunked else []
        self.scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                      "scheme": "http", "path": "/upload", "raw_path": b"/upload", "query_string": b"",
                      "headers": [HOST, *length, *te], "client": ("127.0.0.1", 50000),
                      "server": ("127.0.0.1", 8080)}
        self.total = total
        self.pulled = 0  # body bytes edgesim has taken from this viewer
        self.hold_at = hold_at
        self.leave = leave
        self.held = asyncio.Event()
        self.resume = asyncio.Event()
        self.messages: list[dict[str, Any]] = []
        self._filler = bytes(range(256)) * (PIECE // 256)

    async def receive(self) -> dict[str, Any]:
        if self.pulled >= self.total and self.total:
            await asyncio.Event().wait()  # a viewer with nothing more to say: no disconnect either
        if self.hold_at is not None and self.pulled >= self.hold_at * PIECE:
            self.held.set()
            if self.leave:
                return {"type": "http.disconnect"}
            await self.resume.wait()
        size = min(PIECE, self.total - self.pulled)
        self.pulled += size
        return {"type": "http.request", "body": self._filler[:size], "more_body": self.pulled < self.total}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int | None:
        return self.messages[0]["status"] if self.messages else None

    def expected(self) -> bytes:
        whole, rest = divmod(self.total, PIECE)
        return self._filler * whole + self._filler[:rest]


class Origin:
    """An origin that reads a request head and then its body (Content-Length or chunked), answering
    200 with what it got: `received` counts body bytes as they come."""

    def __init__(self, *, read_gate: asyncio.Event | None = None, read_first: int = 0) -> None:
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.received = 0
        self.first_bytes = asyncio.Event()
        self.ended: list[str] = []  # per request: "complete", "reset" or "eof"
        self._gate = read_gate  # once `read_first` bytes are in, reading waits for it
        self._read_first = read_first
        self._served = Served(self._handle)
        self.url = ""

    async def __aenter__(self) -> Origin:
        await self._served.__aenter__()
        self.url = self._served.url
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._served.__aexit__()

    async def _read(self, reader: asyncio.StreamReader, n: int) -> bytes:
        if self._gate is not None and self.received >= self._read_first:
            await self._gate.wait()
        data = await reader.read(min(n, PIECE))
        if not data:
            raise asyncio.IncompleteReadError(b"", n)
        self.received += len(data)
        self.first_bytes.set()
        return data

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        lines = {k.lower(): v for k, _, v in (line.partition(b": ") for line in head.split(b"\r\n")[1:])}
        parts: list[bytes] = []
        try:
            if b"content-length" in lines:
                left = int(lines[b"content-length"])
                while left:
                    data = await self._read(reader, left)
                    parts.append(data)
                    left -= len(data)
            else:
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    left = size
                    while left:
                        data = await self._read(reader, left)
                        parts.append(data)
                        left -= len(data)
                    await reader.readexactly(2)
                    if not size:
                        break
        except ConnectionResetError:
            self.ended.append("reset")
            return
        except asyncio.IncompleteReadError:
            self.ended.append("eof")
            return
        self.ended.append("complete")
        body = b"".join(parts)
        self.bodies.append(body)
        answer = json.dumps({"length": len(body)}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(answer), answer))
        await writer.drain()


class Served:
    """An asyncio server whose connections all end with the test: each handler is waited for and
    its socket closed, so none is left for the garbage collector (a ResourceWarning in a later test)."""

    def __init__(self, handler: Any) -> None:
        self._handler = handler
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> Served:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)


async def _run(app: Any, viewer: Uploader) -> asyncio.Task[None]:
    return asyncio.create_task(app(viewer.scope, viewer.receive, viewer.send))


async def test_the_origin_gets_the_first_part_of_an_upload_before_the_viewer_sent_the_rest() -> None:
    viewer = Uploader(4 * 1024 * 1024, hold_at=8)
    async with Origin() as origin, Distribution(_config(origin.url)) as d:
        task = await _run(d.app, viewer)
        await asyncio.wait_for(viewer.held.wait(), 10)
        await asyncio.wait_for(origin.first_bytes.wait(), 10)  # before the viewer sent piece 8 of 64
        assert viewer.pulled == 8 * PIECE and not origin.bodies
        viewer.resume.set()
        await asyncio.wait_for(task, 10)
    assert viewer.status == 200
    assert origin.bodies == [viewer.expected()]
    assert b"\r\nContent-Length: 4194304\r\n" in origin.heads[0]  # the viewer's length, kept
    assert b"transfer-encoding" not in origin.heads[0].lower()


async def test_a_chunked_upload_goes_chunked() -> None:
    viewer = Uploader(300_000, chunked=True, method="POST")
    async with Origin() as origin, Distribution(_config(origin.url)) as d:
        await asyncio.wait_for(await _run(d.app, viewer), 10)
    assert viewer.status == 200
    assert b"\r\nTransfer-Encoding: chunked\r\n" in origin.heads[0]
    assert b"content-length" not in origin.heads[0].lower()
    assert origin.bodies == [viewer.expected()]


async def test_a_slow_origin_holds_the_viewer_back_instead_of_filling_edgesims_memory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # What edgesim's side holds: the origin connection's write buffer (asyncio's, measured after
    # every write) and the viewer's piece in hand. The kernel's socket buffers between are not ours.
    largest = 0
    write_body = origin_client._Connection.write_body

    def recording(self: origin_client._Connection, data: bytes) -> None:
        nonlocal largest
        write_body(self, data)
        assert self.transport is not None
        largest = max(largest, self.transport.get_write_buffer_size())

    monkeypatch.setattr(origin_client._Connection, "write_body", recording)
    total = 50 * 1024 * 1024
    gate = asyncio.Event()
    viewer = Uploader(total)
    async with Origin(read_gate=gate, read_first=1024 * 1024) as origin, Distribution(_config(origin.url)) as d:
        task = await _run(d.app, viewer)
        # The origin took 1 MB and stopped reading: wait until edgesim stops taking the viewer's body.
        seen = -1
        while seen != viewer.pulled:
            seen = viewer.pulled
            for _ in range(20):
                await asyncio.sleep(0.01)
        # 1 MB at the origin, a few in the kernel's socket buffers, and edgesim's (below): far from 50 MB.
        assert viewer.pulled < 16 * 1024 * 1024
        gate.set()
        await asyncio.wait_for(task, 60)
    assert viewer.status == 200
    assert largest <= 2 * PIECE + 16  # asyncio's 64 KiB high-water mark and one piece (chunk framing)
    assert len(origin.bodies[0]) == total and origin.bodies[0] == viewer.expected()


LAMBDA = '''
import base64, json

def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    body = request["body"]
    seen = {"truncated": body["inputTruncated"], "length": len(base64.b64decode(body["data"]))}
    name = "x-seen-" + event["Records"][0]["cf"]["config"]["eventType"]
    request["headers"][name] = [{"key": name, "value": json.dumps(seen)}]
    if request["uri"] == "/upload" and "replace" in request["querystring"]:
        request["body"] = {"action": "replace", "encoding": "text", "data": "replaced"}
    return request
'''


def _seen(head: bytes, event_type: str) -> dict[str, Any]:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b": ")
        if name.lower() == f"x-seen-{event_type}".encode():
            return dict(json.loads(value))
    raise AssertionError(f"no x-seen-{event_type} in {head!r}")


def _with_body_functions(url: str, tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "seen.py").write_text(LAMBDA)
    function = {"lambda": "seen.py:handler", "runtime": "python3.12", "include_body": True}
    return _config(url, origin_request_policy="AllViewer",  # the viewer-request function's header reaches the origin
                   functions={"viewer-request": function, "origin-request": function})


async def test_include_body_sees_its_truncated_part_and_the_origin_still_gets_the_whole_body(tmp_path: Path) -> None:
    viewer = Uploader(3 * 1024 * 1024 + 5, method="POST")
    async with Origin() as origin, Distribution(_with_body_functions(origin.url, tmp_path), base_dir=tmp_path) as d:
        await asyncio.wait_for(await _run(d.app, viewer), 30)
    assert viewer.status == 200
    # 40 KB at viewer-request, 1 MB at origin-request, inputTruncated (spec §2.4) ...
    assert _seen(origin.heads[0], "viewer-request") == {"truncated": True, "length": 40 * 1024}
    assert _seen(origin.heads[0], "origin-request") == {"truncated": True, "length": 1024 * 1024}
    # ... and the read-only body goes to the origin whole, the part read for the functions first.
    assert origin.bodies == [viewer.expected()]


async def test_include_body_of_a_short_streamed_body_is_not_truncated(tmp_path: Path) -> None:
    viewer = Uploader(PIECE + 10, method="PUT")
    async with Origin() as origin, Distribution(_with_body_functions(origin.url, tmp_path), base_dir=tmp_path) as d:
        await asyncio.wait_for(await _run(d.app, viewer), 30)
    assert _seen(origin.heads[0], "viewer-request") == {"truncated": True, "length": 40 * 1024}
    assert _seen(origin.heads[0], "origin-request") == {"truncated": False, "length": PIECE + 10}
    assert origin.bodies == [viewer.expected()]


async def test_a_replaced_body_goes_instead_and_the_viewers_is_still_read(tmp_path: Path) -> None:
    viewer = Uploader(2 * 1024 * 1024, method="POST")
    viewer.scope["query_string"] = b"replace=1"
    async with Origin() as origin, Distribution(_with_body_functions(origin.url, tmp_path), base_dir=tmp_path) as d:
        await asyncio.wait_for(await _run(d.app, viewer), 30)
    assert viewer.status == 200
    assert origin.bodies == [b"replaced"]
    assert b"\r\nContent-Length: 8\r\n" in origin.heads[0]
    assert viewer.pulled == viewer.total  # the answer followed the viewer's whole body, as before


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_viewer_that_leaves_mid_upload_makes_edgesim_abort_the_origins_connection(chunked: bool) -> None:
    viewer = Uploader(4 * 1024 * 1024, chunked=chunked, hold_at=6, leave=True)
    async with Origin() as origin, Distribution(_config(origin.url)) as d:
        await asyncio.wait_for(await _run(d.app, viewer), 10)
        for _ in range(500):
            if origin.ended:
                break
            await asyncio.sleep(0.01)
    assert viewer.messages == []  # nobody left to answer
    assert origin.ended == ["reset"] and origin.bodies == []  # a TCP reset: never a short body as if whole
    assert origin.received <= 6 * PIECE


async def test_a_get_with_a_streamed_body_is_still_refused_and_not_forwarded() -> None:
    viewer = Uploader(1024 * 1024, method="GET")
    async with Origin() as origin, Distribution(_config(origin.url)) as d:
        await asyncio.wait_for(await _run(d.app, viewer), 10)
    assert viewer.status == 403 and origin.heads == []
    assert viewer.pulled == viewer.total  # read and dropped, then answered


async def test_an_options_body_in_pieces_is_read_whole_first() -> None:
    # Origin groups fail over for GET, HEAD and OPTIONS, which may send the request twice: those
    # bodies are never streamed (app.py _REPLAYED_METHODS).
    viewer = Uploader(3 * PIECE, method="OPTIONS", hold_at=2)
    async with Origin() as origin, Distribution(_config(origin.url)) as d:
        task = await _run(d.app, viewer)
        await asyncio.wait_for(viewer.held.wait(), 10)
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert origin.heads == []
        viewer.resume.set()
        await asyncio.wait_for(task, 10)
    assert viewer.status == 200 and origin.bodies == [viewer.expected()]
    assert b"\r\nContent-Length: 196608\r\n" in origin.heads[0]


async def test_through_serve_the_origin_gets_the_start_of_an_upload_while_the_viewer_still_sends(
        tmp_path: Path) -> None:
    # uvicorn between a real viewer socket and a real origin: the same, with uvicorn's own flow control.
    from edgesim.app import EdgeApp
    from edgesim.config import parse_config
    from edgesim.server import background_server
    from edgesim.simulator import Simulator

    total = 8 * 1024 * 1024
    async with Origin() as origin:
        simulator = Simulator(parse_config(_config(origin.url), base_dir=tmp_path))
        with background_server(EdgeApp(simulator)) as base:
            host, port = base.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % total)
            writer.write(b"a" * (1024 * 1024))
            await writer.drain()
            await asyncio.wait_for(origin.first_bytes.wait(), 10)  # 1 MB of 8 sent so far
            assert not origin.bodies
            for _ in range(7):
                writer.write(b"a" * (1024 * 1024))
                await writer.drain()
            answer = await asyncio.wait_for(reader.readuntil(b"}"), 10)
            writer.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"length": 8388608}')
    assert origin.bodies == [b"a" * total]


async def test_a_stale_keep_alive_connection_is_retried_with_what_was_kept_of_the_body() -> None:
    # The first connection answers one request and keeps the connection, then closes it unanswered
    # when the next arrives: edgesim sends that PUT again, its body included, on a fresh connection.
    heads: list[bytes] = []
    bodies: list[bytes] = []
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        served += 1
        first_connection = served == 1
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if first_connection and heads:
                return  # stale: closed without an answer
            heads.append(head)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            bodies.append(await reader.readexactly(length))
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()

    async with Served(handle) as served_origin, Distribution(_config(served_origin.url)) as d:
        first = Uploader(10, method="PUT")
        await asyncio.wait_for(await _run(d.app, first), 10)
        second = Uploader(PIECE // 2 + 7, method="PUT")
        # Two messages: the body is streamed, and small enough to be kept for a second try.
        piece = 20_000
        sent = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            size = min(piece, second.total - sent)
            sent += size
            return {"type": "http.request", "body": second.expected()[sent - size:sent], "more_body": sent < second.total}

        app: Any = d.app
        await asyncio.wait_for(app(second.scope, receive, second.send), 10)
    assert first.status == 204 and second.status == 204
    assert served == 2 and bodies == [first.expected(), second.expected()]


async def test_an_origin_that_answers_before_the_body_ends_gets_no_more_of_it() -> None:
    # An origin refusing an upload early (413) and reading on to the end of its connection: its
    # answer goes to the viewer once the viewer's body was read (and dropped), and the connection,
    # left mid-request, is not reused.
    read_after_answer = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal read_after_answer
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig")
        await writer.drain()
        while data := await reader.read(PIECE):
            read_after_answer += len(data)

    viewer = Uploader(32 * 1024 * 1024, method="POST")
    async with Served(handle) as origin, Distribution(_config(origin.url)) as d:
        await asyncio.wait_for(await _run(d.app, viewer), 30)
    assert viewer.status == 413 and viewer.pulled == viewer.total
    assert read_after_answer < 16 * 1024 * 1024  # the upload stopped at the answer, not at 32 MB


async def test_a_slow_viewer_upload_is_not_the_origins_response_timeout() -> None:
    # read_timeout is how long the origin may take to answer once it has the request (spec §2.3):
    # a viewer taking longer than that to send its body is not the origin's delay.
    viewer = Uploader(4 * PIECE, hold_at=2)
    async with Origin() as origin:
        config = _config(origin.url)
        config["origins"][0]["read_timeout"] = 1
        async with Distribution(config) as d:
            task = await _run(d.app, viewer)
            await asyncio.wait_for(viewer.held.wait(), 10)
            await asyncio.sleep(1.5)  # the viewer pauses mid-body, longer than read_timeout
            viewer.resume.set()
            await asyncio.wait_for(task, 10)
    assert viewer.status == 200 and origin.bodies == [viewer.expected()]
