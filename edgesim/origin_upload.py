"""A viewer's request body sent on to a custom origin as it arrives (origin_client.py's side of it).

Framing: a body the viewer sent with a Content-Length goes with that Content-Length; a chunked one
goes chunked, as its length is known only at its end. UNCERTAIN: CloudFront documents no framing of
its own for request bodies; its headers table drops the viewer's Transfer-Encoding as hop-by-hop
(forwarding.HOP_BY_HOP), and chunked is how HTTP/1.1 carries a body of unknown length (RFC 9112 §7.1).

Flow control: the next piece is read from the viewer only once the origin connection's write buffer
drained (asyncio's pause_writing / resume_writing), so an upload is held in memory a piece at a time.

A viewer that disconnects mid-body (ViewerLeft) makes the origin connection abort (a TCP reset,
nothing buffered flushed): the origin never gets a short body as if it were whole.

A reused keep-alive connection found stale (origin_client._Stale) may have taken part of the body
already; the request is sent again only if what was sent is still held: up to REPLAY_LIMIT bytes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol

from edgesim.messages import RequestBody, ViewerLeft

# What is kept of a body already sent, to send it again on a fresh connection if the first was stale.
REPLAY_LIMIT = 64 << 10


class _Writer(Protocol):
    """What origin_client._Connection offers the upload."""

    def write_body(self, data: bytes) -> None: ...

    async def drained(self) -> None: ...

    def upload_sent(self) -> None: ...

    def abort(self, exc: BaseException) -> None: ...


class Upload:
    """One request's streamed body, sendable again from its start while what was sent is held."""

    def __init__(self, body: RequestBody) -> None:
        self.body = body
        self._source: AsyncIterator[bytes] = body.__aiter__()
        self._sent: list[bytes] | None = []  # None once past REPLAY_LIMIT
        self._sent_size = 0
        self._replay: deque[bytes] = deque()

    def rewind(self) -> bool:
        """Start over for a fresh connection; False when part of what was sent is no longer held."""
        if self._sent is None:
            return False
        self._replay = deque(self._sent)
        return True

    def start(self, connection: _Writer) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._send(connection))
        self.body.sender = task
        return task

    async def _pieces(self) -> AsyncIterator[bytes]:
        while self._replay:
            yield self._replay.popleft()
        async for chunk in self._source:
            if self._sent is not None:
                self._sent_size += len(chunk)
                if self._sent_size <= REPLAY_LIMIT:
                    self._sent.append(chunk)
                else:
                    self._sent = None
            yield chunk

    async def _send(self, connection: _Writer) -> None:
        chunked = self.body.length is None
        try:
            async for chunk in self._pieces():
                connection.write_body(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                await connection.drained()
            if chunked:
                connection.write_body(b"0\r\n\r\n")
            connection.upload_sent()
        except ViewerLeft as exc:
            connection.abort(exc)
        except ConnectionError:
            pass  # the origin's connection went: the exchange fails on its own (connection_lost)
