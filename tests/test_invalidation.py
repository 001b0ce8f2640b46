"""A viewer's own origin fetch that an invalidation overtakes (invalidation.py): answered, not stored.

UNCERTAIN reading (invalidation.py): a fetch whose origin request left before an invalidation
covering it stores nothing it brings back, a viewer's miss or revalidation as a background refresh
(test_stale_directives.py); the viewer waiting for it still gets it, and the next request asks the
origin after the invalidation, as CloudFront's "the next time a viewer requests the file, CloudFront
returns to the origin" (AD/Invalidation) says. Each race is made deterministic by an origin that
holds its answer until the invalidation is made.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgesim.messages import Request
from edgesim.testing import Distribution
from test_cache_files import MB, asgi_origin, bodies_in, cache_tmp  # noqa: F401 - cache_tmp is a fixture

APP = {"origins": [{"id": "app", "url": "http://app.example.com"}],
       "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingOptimized"}}


class HeldOrigin:
    """Answers 200 with `body` (max-age=60); the requests for the paths in `hold` wait for `release`,
    `asked` set once all of them have arrived."""

    def __init__(self, body: bytes, hold: set[str]) -> None:
        self.body = body
        self.hold = set(hold)
        self.asked = asyncio.Event()
        self.release = asyncio.Event()
        self.requests: list[str] = []

    async def __call__(self, request: Request) -> Any:
        self.requests.append(request.uri)
        body = self.body  # what the origin has when the request arrives: before the deploy
        if request.uri in self.hold:
            self.hold.discard(request.uri)
            if not self.hold:
                self.asked.set()
            await self.release.wait()
        return (200, {"cache-control": "max-age=60", "content-type": "application/octet-stream"}, body)


@pytest.mark.parametrize("size", [2, 9 * MB], ids=["in memory", "in a file"])
async def test_a_miss_overtaken_by_an_invalidation_is_served_but_not_stored(cache_tmp: Path, size: int) -> None:  # noqa: F811
    origin = HeldOrigin(b"v1" * (size // 2), hold={"/a", "/b"})
    async with Distribution(APP, origins={"app": origin}) as dist:
        misses = [asyncio.create_task(dist.get(path)) for path in ("/a", "/b")]
        await origin.asked.wait()
        origin.body = b"v2" * (size // 2)  # the deploy the invalidation is made for
        assert dist.invalidate("/a") == 0  # nothing cached yet: the fetch under way is what it covers
        origin.release.set()
        a, b = await asyncio.gather(*misses)
        files = bodies_in(cache_tmp)
        a_again, b_again = await dist.get("/a"), await dist.get("/b")
    # The waiting viewer gets the answer it waited for...
    assert (a.status_code, a.headers["x-cache"], a.content[:2]) == (200, "Miss from cloudfront", b"v1")
    # ...but it is not cached: the next request asks the origin after the invalidation.
    assert (a_again.headers["x-cache"], a_again.content[:2]) == ("Miss from cloudfront", b"v2")
    # /b, which the invalidation does not cover, was stored as any miss is.
    assert (b.headers["x-cache"], b_again.headers["x-cache"], b_again.content[:2]) == \
        ("Miss from cloudfront", "Hit from cloudfront", b"v1")
    assert origin.requests == ["/a", "/b", "/a"]
    assert len(files) == (1 if size > 2 else 0)  # /b's file only


class StreamingOrigin:
    """A custom origin over a real socket: a 1 MiB body in 64 KiB chunks (no Content-Length, so it
    streams through edgesim), pausing after the first chunk until `release` (a thread's event: the
    server runs on a loop of its own); `sent_first` set once that chunk is out."""

    def __init__(self) -> None:
        self.version = b"1"
        self.sent_first = threading.Event()
        self.release = threading.Event()
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        version = self.version
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"cache-control", b"max-age=60"), (b"content-type", b"application/octet-stream")]})
        chunk = version * (64 << 10)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        self.sent_first.set()
        while not self.release.is_set():
            await asyncio.sleep(0.005)
        for _ in range(15):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def streaming_origin() -> Iterator[tuple[str, StreamingOrigin]]:
    app = StreamingOrigin()
    try:
        with asgi_origin(app) as url:
            yield url, app
    finally:
        app.release.set()  # a request still held lets the server stop


async def test_a_streamed_miss_overtaken_while_its_body_arrives_is_not_stored(
        streaming_origin: tuple[str, StreamingOrigin]) -> None:
    """The object is stored once whole, so an invalidation while its body still streams is one made
    during its fetch: the viewer gets every byte, the cache none of them."""
    url, origin = streaming_origin
    config = {**APP, "origins": [{"id": "app", "url": url}]}
    async with Distribution(config) as dist:
        miss = asyncio.create_task(dist.get("/video"))
        while not origin.sent_first.is_set():
            await asyncio.sleep(0.005)
        origin.version = b"2"
        dist.invalidate("/video*")
        origin.release.set()
        first = await miss
        again = await dist.get("/video")
        hit = await dist.get("/video")
        assert dist.simulator is not None and dist.simulator.cache is not None
        watched = len(dist.simulator.cache._watches)  # no fetch is left watched once its body ended
    assert (first.headers["x-cache"], len(first.content), first.content[:1]) == ("Miss from cloudfront", 1 << 20, b"1")
    assert (again.headers["x-cache"], again.content[:1]) == ("Miss from cloudfront", b"2")
    assert (hit.headers["x-cache"], hit.content[:1]) == ("Hit from cloudfront", b"2")  # one fetched since is kept
    assert origin.requests == 2 and watched == 0


async def test_a_viewer_leaving_mid_body_leaves_its_fetch_unwatched(
        streaming_origin: tuple[str, StreamingOrigin]) -> None:
    from asgi_viewer import Viewer

    url, origin = streaming_origin
    async with Distribution({**APP, "origins": [{"id": "app", "url": url}]}) as dist:
        assert dist.app is not None and dist.simulator is not None and dist.simulator.cache is not None
        viewer = Viewer("/video")
        task = await viewer.start(dist.app)
        await viewer.got_body.wait()
        watched_while_streaming = len(dist.simulator.cache._watches)
        viewer.leave.set()
        await asyncio.wait_for(task, 10)
        origin.release.set()
        watched_after = len(dist.simulator.cache._watches)
    assert (watched_while_streaming, watched_after) == (1, 0)
