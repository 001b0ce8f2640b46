"""Origin bodies streamed to the viewer as they arrive (origin_client.py, pipeline.py, app.py).

The origins here are real sockets that send a head, then hold the rest of the body until the test
says so: what the viewer has by then shows whether edgesim waited for the whole body.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgesim.config import CustomOrigin
from edgesim.errors import BodyBrokenOff
from edgesim.messages import Request
from edgesim.origin import OriginFetcher
from edgesim.testing import Distribution

from asgi_viewer import Viewer

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)

EVENT_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")


async def _origin(handler: Handler) -> tuple[asyncio.Server, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"GET /whole "):  # any origin here answers this one whole
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nwhole")
            await writer.drain()
            writer.close()
            return
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def _config(url: str, **behavior: Any) -> dict[str, Any]:
    return {"origins": [{"id": "app", "url": url}],
            "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled", **behavior}}


def _in_two_parts(pause: Callable[[], Awaitable[object]], fetches: list[int] | None = None) -> Handler:
    """An origin answering a cacheable 10-byte object: "first", then `pause()`, then "-last"."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if fetches is not None:
            fetches.append(1)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nCache-Control: max-age=60\r\n\r\nfirst")
        await writer.drain()
        await pause()
        writer.write(b"-last")
        await writer.drain()

    return handler


async def test_an_event_stream_reaches_the_viewer_before_the_origin_ends_it() -> None:
    release = asyncio.Event()

    async def events(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(EVENT_HEAD + chunk(b"data: first\n\n"))
        await writer.drain()
        await release.wait()
        writer.write(chunk(b"data: second\n\n") + b"0\r\n\r\n")
        await writer.drain()

    server, url = await _origin(events)
    async with Distribution(_config(url)) as d:
        assert d.app is not None
        viewer = Viewer()
        task = await viewer.start(d.app)
        assert viewer.body == b"data: first\n\n" and not task.done()
        assert viewer.headers[b"x-cache"] == b"Miss from cloudfront"
        assert b"content-length" not in viewer.headers  # length unknown: the server sends it chunked
        release.set()
        await asyncio.wait_for(task, 10)
    server.close()
    assert viewer.body == b"data: first\n\ndata: second\n\n"
    assert viewer.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_a_function_that_edits_headers_keeps_the_stream_and_one_that_replaces_the_body_drops_it(
        tmp_path: Path) -> None:
    release = asyncio.Event()
    origin_gone = asyncio.Event()

    async def events(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(EVENT_HEAD + chunk(b"data: first\n\n"))
        await writer.drain()
        await release.wait()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        if await reader.read() == b"":
            origin_gone.set()

    (tmp_path / "tag.py").write_text(
        "def handler(event, context):\n"
        "    response = event['Records'][0]['cf']['response']\n"
        "    response['headers']['x-tagged'] = [{'key': 'X-Tagged', 'value': 'yes'}]\n"
        "    return response\n")
    (tmp_path / "replace.js").write_text(
        "function handler(event) {\n"
        "  var response = event.response;\n"
        "  response.body = { encoding: 'text', data: 'replaced at the edge' };\n"
        "  return response;\n}\n")
    server, url = await _origin(events)
    tagged = _config(url, functions={"origin-response": {"lambda": "tag.py:handler", "runtime": "python3.12"}})
    async with Distribution(tagged, base_dir=tmp_path) as d:
        assert d.app is not None
        viewer = Viewer()
        task = await viewer.start(d.app)
        assert viewer.headers[b"x-tagged"] == b"yes" and not task.done()
        release.set()
        await asyncio.wait_for(task, 10)
        assert viewer.body == b"data: first\n\n"

    release.clear()
    replaced = _config(url, functions={"viewer-response": {"cloudfront_function": "replace.js",
                                                           "runtime": "cloudfront-js-2.0"}})
    async with Distribution(replaced, base_dir=tmp_path) as d:
        response = await asyncio.wait_for(d.get("/events"), 10)
        assert response.text == "replaced at the edge"
        assert response.headers["content-length"] == str(len("replaced at the edge"))
        # The origin's body nobody will send is not read on: its connection is closed.
        await asyncio.wait_for(origin_gone.wait(), 10)
    server.close()


async def test_the_viewer_leaving_closes_the_origins_connection() -> None:
    origin_gone = asyncio.Event()

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(EVENT_HEAD + chunk(b"data: first\n\n"))
        await writer.drain()
        if await reader.read() == b"":  # edgesim closed its side
            origin_gone.set()

    server, url = await _origin(endless)
    async with Distribution(_config(url)) as d:
        assert d.app is not None
        viewer = Viewer()
        task = await viewer.start(d.app)
        viewer.leave.set()
        await asyncio.wait_for(origin_gone.wait(), 10)
        await asyncio.wait_for(task, 10)
    server.close()


async def test_an_origin_that_goes_quiet_mid_body_is_cut_off_after_its_read_timeout() -> None:
    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(EVENT_HEAD + chunk(b"data: first\n\n"))
        await writer.drain()
        await reader.read()

    server, url = await _origin(stalls)
    config = _config(url)
    config["origins"][0]["read_timeout"] = 1
    async with Distribution(config) as d:
        assert d.app is not None
        viewer = Viewer()
        with pytest.raises(BodyBrokenOff, match=r"after 13 bytes \(origin 'app' .* did not answer in time"):
            await asyncio.wait_for(d.app(viewer.scope, viewer.receive, viewer.send), 10)
        assert viewer.body == b"data: first\n\n"
    server.close()


async def test_over_a_socket_a_body_the_origin_breaks_off_cuts_the_viewer_and_the_server_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    async def breaks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart-")
        await writer.drain()
        await asyncio.sleep(0.2)  # then the connection closes, 95 bytes short

    server, url = await _origin(breaks)
    caplog.set_level(logging.WARNING)
    async with Distribution(_config(url), socket=True) as d, httpx.AsyncClient(base_url=d.url) as client:
        received = b""
        with pytest.raises(httpx.RemoteProtocolError):
            async with client.stream("GET", "/big") as response:
                assert response.status_code == 200 and response.headers["content-length"] == "100"
                async for chunk in response.aiter_raw():
                    received += chunk
        assert received == b"part-"
        # The server goes on answering.
        assert (await client.get("/whole")).text == "whole"
    server.close()
    messages = [r.getMessage() for r in caplog.records]
    assert any("GET /big: the origin broke off the body after 5 bytes" in m for m in messages), messages
    assert not any("Exception in ASGI application" in m for m in messages)


async def test_a_cacheable_object_streams_to_its_first_viewer_and_is_stored_once_whole() -> None:
    release = asyncio.Event()
    server, url = await _origin(_in_two_parts(release.wait))
    async with Distribution(_config(url, cache_policy="CachingOptimized")) as d:
        assert d.app is not None
        viewer = Viewer("/obj")
        task = await viewer.start(d.app)
        assert viewer.body == b"first" and viewer.headers[b"x-cache"] == b"Miss from cloudfront"
        assert viewer.headers[b"content-length"] == b"10"
        release.set()
        await asyncio.wait_for(task, 10)
        assert viewer.body == b"first-last"
        second = await Viewer("/obj").run(d.app)  # the same cache key: no Accept-Encoding either
    server.close()
    assert (second.body, second.headers[b"x-cache"]) == (b"first-last", b"Hit from cloudfront")


async def test_an_object_whose_viewer_left_half_way_is_not_stored() -> None:
    fetches: list[int] = []
    server, url = await _origin(_in_two_parts(lambda: asyncio.sleep(0.2), fetches))
    async with Distribution(_config(url, cache_policy="CachingOptimized")) as d:
        assert d.app is not None
        viewer = Viewer("/obj")
        task = await viewer.start(d.app)
        viewer.leave.set()
        await asyncio.wait_for(task, 10)
        again = await Viewer("/obj").run(d.app)
    server.close()
    assert (again.body, again.headers[b"x-cache"], len(fetches)) == (b"first-last", b"Miss from cloudfront", 2)


async def test_a_body_a_viewer_trigger_replaces_is_still_stored_as_the_origin_sent_it(tmp_path: Path) -> None:
    (tmp_path / "maybe.js").write_text(
        "function handler(event) {\n"
        "  var response = event.response;\n"
        "  if (event.request.headers['x-replace']) { response.body = 'replaced'; }\n"
        "  return response;\n}\n")
    server, url = await _origin(_in_two_parts(lambda: asyncio.sleep(0.1)))
    config = _config(url, cache_policy="CachingOptimized",
                     functions={"viewer-response": {"cloudfront_function": "maybe.js", "runtime": "cloudfront-js-2.0"}})
    async with Distribution(config, base_dir=tmp_path) as d:
        first = await d.get("/obj", headers={"x-replace": "1"})
        second = await d.get("/obj")
    server.close()
    assert (first.text, first.headers["x-cache"]) == ("replaced", "Miss from cloudfront")
    assert (second.content, second.headers["x-cache"]) == (b"first-last", "Hit from cloudfront")


async def test_a_body_to_compress_is_read_whole_and_compressed() -> None:
    text = b"<p>compress me</p>" * 100

    async def slow_html(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nCache-Control: no-store\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(text))
        writer.write(text[:100])
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(text[100:])
        await writer.drain()

    server, url = await _origin(slow_html)
    # Not stored (no-store, MinTTL 0), so only compression needs the body whole.
    policy = {"min_ttl": 0, "default_ttl": 60, "max_ttl": 60, "enable_accept_encoding_gzip": True}
    async with Distribution(_config(url, compress=True, cache_policy=policy)) as d:
        response = await d.get("/page", headers={"Accept-Encoding": "gzip"})
    server.close()
    # httpx decodes the gzip it was sent.
    assert response.headers["content-encoding"] == "gzip" and response.content == text
    assert int(response.headers["content-length"]) < len(text)


async def test_a_viewer_slower_than_the_origin_pauses_reading_without_tripping_the_read_timeout() -> None:
    size, step = 24 << 20, 64 << 10
    written = 0

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal written
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        chunk = b"x" * step
        while written < size:
            writer.write(chunk)
            await writer.drain()
            written += step

    server, url = await _origin(big)
    # A read timeout under CloudFront's 1 s minimum (config refuses it): the pause below outlasts it.
    origin = CustomOrigin(id="app", url=url).model_copy(update={"read_timeout": 0.3})
    async with OriginFetcher() as fetcher:
        response = await fetcher.fetch(Request("GET", "/big"), origin, stream=True)
        assert response.stream is not None
        await asyncio.sleep(1.0)  # nobody reads: edgesim stops reading from the origin
        held_back = written
        received = sum([len(chunk) async for chunk in response.stream])
    server.close()
    assert held_back < size
    assert received == size


async def test_a_connection_whose_body_was_streamed_goes_back_to_the_pool_and_answers_the_next_request() -> None:
    size = 3 << 20
    connections = 0

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:  # one request after another on this connection (the first head is read already)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size)
            await writer.drain()
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return

    server, url = await _origin(keep_alive)
    origin = CustomOrigin(id="app", url=url).model_copy(update={"read_timeout": 2.0})
    async with OriginFetcher() as fetcher:
        for _ in range(2):
            response = await fetcher.fetch(Request("GET", "/big"), origin, stream=True)
            assert response.stream is not None
            received = 0
            async for chunk in response.stream:  # slowly enough that reading pauses above the high mark
                received += len(chunk)
                await asyncio.sleep(0.001)
            assert received == size
    server.close()
    assert connections == 1  # the second request reused the first's connection, and was answered
