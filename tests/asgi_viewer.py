"""A viewer driving one GET through edgesim's ASGI app by hand, for tests of streamed bodies: what
has been sent so far, and a switch to leave mid-body (test_streaming, test_directory_streaming,
test_request_collapsing)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, MutableMapping
from typing import Any


class Viewer:
    """`on_body(n)` runs after each body message, with how many non-empty ones have been sent."""

    def __init__(self, path: str = "/events", headers: list[tuple[bytes, bytes]] | None = None,
                 on_body: Callable[[int], Any] | None = None) -> None:
        self.scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                      "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                      "headers": [(b"host", b"d111111abcdef8.cloudfront.net"), *(headers or [])],
                      "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080)}
        self.messages: list[MutableMapping[str, Any]] = []
        self.on_body = on_body
        self.got_body = asyncio.Event()
        self.leave = asyncio.Event()
        self._asked = False

    async def receive(self) -> dict[str, Any]:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.leave.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            self.got_body.set()
            if self.on_body is not None:
                self.on_body(len(self.chunks))

    async def start(self, app: Any) -> asyncio.Task[None]:
        """The request running, once its first body bytes have been sent."""
        task = asyncio.create_task(app(self.scope, self.receive, self.send))
        await asyncio.wait_for(self.got_body.wait(), 30)
        return task

    async def run(self, app: Any, timeout: float = 20) -> Viewer:
        await asyncio.wait_for(app(self.scope, self.receive, self.send), timeout)
        return self

    @property
    def chunks(self) -> list[bytes]:
        return [m["body"] for m in self.messages if m["type"] == "http.response.body" and m.get("body")]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def headers(self) -> dict[bytes, bytes]:
        return {k.lower(): v for k, v in self.messages[0]["headers"]}
