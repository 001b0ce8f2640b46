"""A viewer's request body read from ASGI as it arrives, for origin_upload.py to forward.

ASGI's `receive()` is pulled: a message is read only when the origin connection took the one before
(origin_upload.py waits for its write buffer to drain), and uvicorn stops reading the viewer's
socket while a message waits. So edgesim holds about one message of an upload at a time, however
large, except what a Lambda@Edge include_body asks for: `peek` keeps up to 40 KB + 1 / 1 MB + 1
bytes (spec §2.4), which then go to the origin first.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from edgesim.messages import RequestBody, ViewerLeft

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class ViewerBody(RequestBody):
    """The rest of a viewer's body after the first ASGI message (`first`), which said more follows."""

    def __init__(self, receive: Receive, first: bytes, length: int | None) -> None:
        self._receive = receive
        self._kept: deque[bytes] = deque([first] if first else [])  # read, not yet handed on
        self._kept_size = len(first)
        self._more = True
        self.left = False
        self.length = length

    async def _next_message(self) -> bytes:
        message = await self._receive()
        if message["type"] != "http.request":
            self._more, self.left = False, True
            raise ViewerLeft("the viewer disconnected before the end of its request body")
        self._more = bool(message.get("more_body", False))
        return message.get("body", b"")

    async def peek(self, size: int) -> bytes:
        while self._more and self._kept_size < size:
            chunk = await self._next_message()
            if chunk:
                self._kept.append(chunk)
                self._kept_size += len(chunk)
        return b"".join(self._kept)[:size]

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self._kept:
            chunk = self._kept.popleft()
            self._kept_size -= len(chunk)
            return chunk
        while self._more:
            chunk = await self._next_message()
            if chunk:
                return chunk
        raise StopAsyncIteration

    async def finish(self) -> bool:
        """Read and drop whatever no origin took (a function answered, the origin answered early,
        a Lambda@Edge replaced the body), so that the viewer's answer still follows its whole body,
        as when edgesim read bodies whole first. False when the viewer left before its last byte."""
        sender = self.sender
        if sender is not None and not sender.done():
            await asyncio.wait({sender})  # one reader at a time: bytes must never interleave
        if self.left:
            return False
        self._kept.clear()
        self._kept_size = 0
        try:
            while self._more:
                await self._next_message()
        except ViewerLeft:
            return False
        return True
