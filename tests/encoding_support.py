"""Helpers for the tests of values outside ASCII (spec §1.4): a socket origin and an ASGI origin that
record the bytes they got, and a GET through the ASGI app with exactly the bytes given."""

from __future__ import annotations

import asyncio
from typing import Any

from edgesim.app import EdgeApp

JAPANESE = "日本語"
LATIN1_CAFE = b"caf\xe9"  # ISO-8859-1: not UTF-8
VIEWER_HEADERS = [(b"x-raw", LATIN1_CAFE), (b"x-utf8", JAPANESE.encode()), (b"x-untouched", b"na\xefve")]
ORIGIN_HEADERS = [(b"content-type", b"text/plain"), (b"x-origin-latin", b"\xe9t\xe9"),
                  (b"x-origin-utf8", "über".encode()), (b"cache-control", b"max-age=60")]


class RawOrigin:
    """A socket origin that records each request's bytes and answers 200 with ORIGIN_HEADERS."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> RawOrigin:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                self.requests.append(await reader.readuntil(b"\r\n\r\n"))
                head = b"".join(k + b": " + v + b"\r\n" for k, v in ORIGIN_HEADERS)
                writer.write(b"HTTP/1.1 200 OK\r\n" + head + b"Content-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the test ended
        finally:
            writer.close()


def recording_app(seen: list[dict[str, Any]]) -> Any:
    """An ASGI origin recording the raw path, query and header bytes it got."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        seen.append({"raw_path": scope["raw_path"], "query": scope["query_string"], "headers": scope["headers"]})
        cookie = [(b"set-cookie", b"n=caf\xe9; Path=/")] if scope["path"] == "/cookie" else []
        await send({"type": "http.response.start", "status": 200, "headers": ORIGIN_HEADERS + cookie})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def header(lines: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((v for k, v in lines if k.lower() == name), None)


def head_lines(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A recorded request head: its request line and its (name, value) lines, as bytes."""
    first, *rest = raw.rstrip(b"\r\n").split(b"\r\n")
    return first, [(k.strip(), v.strip()) for k, _, v in (line.partition(b":") for line in rest)]


async def asgi_get(app: EdgeApp, raw_path: bytes, query: bytes = b"",
                   headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, list[tuple[bytes, bytes]]]:
    """One GET straight through the ASGI app with exactly these bytes (httpx would percent-encode a path)."""
    scope = {"type": "http", "method": "GET", "path": raw_path.decode("latin-1"), "raw_path": raw_path,
             "query_string": query, "headers": [(b"host", b"d111111abcdef8.cloudfront.net"), *(headers or [])],
             "http_version": "1.1", "scheme": "http", "client": ("127.0.0.1", 1234), "server": ("127.0.0.1", 80)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], sent[0]["headers"]
