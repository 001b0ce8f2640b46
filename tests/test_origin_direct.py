"""The HTTP origin client (origin_client.py): exactly the pipeline's headers reach the origin, over a real socket."""

from __future__ import annotations

import asyncio

import pytest

from edgesim.config import CustomOrigin
from edgesim.errors import OriginConnectionError, OriginTimeout
from edgesim.messages import Headers, Request
from edgesim.origin import OriginFetcher


def _patient(origin: CustomOrigin, read_timeout: float) -> CustomOrigin:
    """`origin` with a read timeout under CloudFront's 1 s minimum, which config refuses: fast tests only."""
    return origin.model_copy(update={"read_timeout": read_timeout})


async def _origin(seen: list[bytes], answer: bytes) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answer)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def test_origin_gets_the_request_as_built_and_answers_raw() -> None:
    seen: list[bytes] = []
    server = await _origin(seen, b"HTTP/1.1 201 Made\r\nContent-Length: 2\r\nX-A: 1\r\nX-A: 2\r\n"
                                 b"Connection: close\r\n\r\nok")
    port = server.sockets[0].getsockname()[1]
    origin = CustomOrigin(id="app", url=f"http://127.0.0.1:{port}/base")
    request = Request("GET", "/a%20b/c", querystring="x=%2F&y", headers=Headers([("Host", "example.com"), ("X-Viewer", "v")]))
    async with OriginFetcher() as fetcher:
        response = await fetcher.fetch(request, origin)
    server.close()
    await server.wait_closed()
    head = seen[0].decode("latin-1").lower()
    assert head.startswith("get /base/a%20b/c?x=%2f&y http/1.1\r\n")  # not re-quoted
    assert "host: example.com\r\n" in head and "x-viewer: v\r\n" in head
    # The client adds none of its own defaults: CloudFront forwards only what policy says (spec §2.2).
    for added in ("accept:", "accept-encoding:", "user-agent:"):
        assert added not in head
    assert (response.status, response.body, response.status_description) == (201, b"ok", "Made")
    assert response.headers.get_all("x-a") == ["1", "2"]
    assert "connection" not in response.headers  # hop-by-hop stops here


async def test_refused_and_silent_origins_raise_cloudfront_errors() -> None:
    async def silent_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; returns when edgesim gives up and closes
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent_handler, "127.0.0.1", 0)
    silent = server.sockets[0].getsockname()[1]
    async with OriginFetcher() as fetcher:
        with pytest.raises(OriginTimeout):
            await fetcher.fetch(Request("GET", "/"), _patient(CustomOrigin(id="s", url=f"http://127.0.0.1:{silent}"), 0.2))
        server.close()
        await server.wait_closed()
        # The same port, nobody listening now: refused.
        with pytest.raises(OriginConnectionError):
            await fetcher.fetch(Request("GET", "/"), CustomOrigin(id="s", url=f"http://127.0.0.1:{silent}"))
