"""The origin's stale-while-revalidate and stale-if-error (stale.py), through edgesim.testing.

The clock is a ManualClock (`dist.advance`), the origin a counting stub whose answer a test changes;
background refreshes are awaited with `dist.wait_for_refreshes()`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import FakeFunction, FakeLoader
from edgesim.messages import Request
from edgesim.testing import Distribution

from test_cache_files import bodies_in, cache_tmp  # noqa: F401 - cache_tmp is a fixture

# CachingOptimized: MinTTL 1, MaxTTL one year, so the origin's max-age decides.
API = {"origins": [{"id": "api", "url": "http://api.example.com"}],
       "default_cache_behavior": {"target_origin": "api", "cache_policy": "CachingOptimized"}}


class Origin:
    """Answers with `body` and `cache_control`, or `status`, or refuses connections; counts requests."""

    def __init__(self, cache_control: str) -> None:
        self.cache_control = cache_control
        self.body = "v1"
        self.status = 200
        self.down = False
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Any:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused")
        if self.status != 200:
            return (self.status, {"cache-control": "max-age=0"}, "origin error")
        return (200, {"cache-control": self.cache_control}, self.body)


async def test_stale_served_within_swr_and_origin_asked_once_in_the_background() -> None:
    origin = Origin("max-age=10, stale-while-revalidate=30")
    async with Distribution(API, origins={"api": origin}) as dist:
        assert (await dist.get("/a")).headers["x-cache"] == "Miss from cloudfront"
        dist.advance(15)  # expired 5 s ago, within the 30 s window
        origin.body = "v2"
        stale = await dist.get("/a")
        again = await dist.get("/a")  # the refresh is still running: no second origin request
        assert (stale.status_code, stale.text, again.text) == (200, "v1", "v1")
        assert stale.headers["x-cache"] == "RefreshHit from cloudfront"
        assert stale.headers["age"] == "15"
        await dist.wait_for_refreshes()
        assert len(origin.requests) == 2
        fresh = await dist.get("/a")
        assert (fresh.text, fresh.headers["x-cache"]) == ("v2", "Hit from cloudfront")
        assert len(origin.requests) == 2


async def test_past_the_swr_window_a_normal_miss() -> None:
    origin = Origin("max-age=10, stale-while-revalidate=30")
    async with Distribution(API, origins={"api": origin}) as dist:
        await dist.get("/a")
        dist.advance(41)  # 31 s past expiry
        origin.body = "v2"
        late = await dist.get("/a")
        assert (late.text, late.headers["x-cache"]) == ("v2", "Miss from cloudfront")
        await dist.wait_for_refreshes()
        assert len(origin.requests) == 2


async def test_without_the_directive_an_expired_object_is_fetched_in_the_foreground() -> None:
    origin = Origin("max-age=10")
    async with Distribution(API, origins={"api": origin}) as dist:
        await dist.get("/a")
        dist.advance(11)
        origin.body = "v2"
        assert (await dist.get("/a")).text == "v2"


async def test_background_refresh_runs_the_origin_triggers(fn_dir: Path) -> None:
    origin = Origin("max-age=10, stale-while-revalidate=30")
    fakes: dict[str, FakeFunction] = {}
    functions = {"origin-request": {"lambda": str(fn_dir / "oreq.py") + ":handler"},
                 "origin-response": {"lambda": str(fn_dir / "oresp.py") + ":handler"}}
    config = {**API, "default_cache_behavior": {**API["default_cache_behavior"], "functions": functions}}
    async with Distribution(config, origins={"api": origin}, loader_factory=lambda: FakeLoader(fakes)) as dist:
        await dist.get("/a")
        dist.advance(15)
        origin.body = "v2"
        await dist.get("/a")
        await dist.wait_for_refreshes()
        assert [len(f.calls) for f in fakes.values()] == [2, 2]
        assert (await dist.get("/a")).text == "v2"


async def test_stale_if_error_on_a_5xx_then_the_error_past_the_window() -> None:
    origin = Origin("max-age=10, stale-if-error=60")
    async with Distribution(API, origins={"api": origin}) as dist:
        await dist.get("/a")
        dist.advance(20)
        origin.status = 503
        stale = await dist.get("/a")
        assert (stale.status_code, stale.text, stale.headers["x-cache"]) == (200, "v1", "Hit from cloudfront")
        dist.advance(60)  # 70 s past expiry: outside the window
        late = await dist.get("/a")
        assert (late.status_code, late.headers["x-cache"]) == (503, "Error from cloudfront")


async def test_stale_if_error_on_an_unreachable_origin_then_the_error_past_the_window() -> None:
    origin = Origin("max-age=10, stale-if-error=60")
    async with Distribution(API, origins={"api": origin}) as dist:
        await dist.get("/a")
        dist.advance(20)
        origin.down = True
        stale = await dist.get("/a")
        assert (stale.status_code, stale.text) == (200, "v1")
        dist.advance(60)
        late = await dist.get("/a")
        assert (late.status_code, late.headers["x-cache"]) == (502, "Error from cloudfront")


async def test_stale_if_error_window_also_bounds_the_hold_after_an_error() -> None:
    # The expired object is held for the error caching minimum TTL (10 s) after a 5xx, but not past
    # the stale-if-error window: at 5 s before its end the hold is 5 s, then the origin is asked.
    origin = Origin("max-age=10, stale-if-error=20")
    async with Distribution(API, origins={"api": origin}) as dist:
        await dist.get("/a")
        dist.advance(25)
        origin.status = 500
        assert (await dist.get("/a")).text == "v1"
        dist.advance(4)
        assert (await dist.get("/a")).text == "v1"
        assert len(origin.requests) == 2  # held, not asked
        dist.advance(2)
        assert (await dist.get("/a")).status_code == 500


async def test_swr_refresh_failing_never_fails_the_viewer() -> None:
    origin = Origin("max-age=10, stale-while-revalidate=30, stale-if-error=0")
    async with Distribution(API, origins={"api": origin}) as dist:
        await dist.get("/a")
        dist.advance(15)
        origin.down = True
        stale = await dist.get("/a")
        assert (stale.status_code, stale.text) == (200, "v1")
        await dist.wait_for_refreshes()  # the refresh got CloudFront's 502, logged, not raised
        assert len(origin.requests) == 2


async def test_nothing_left_running_after_aclose() -> None:
    gate = asyncio.Event()
    state = {"n": 0}

    async def slow(request: Request) -> Any:
        state["n"] += 1
        if state["n"] > 1:
            await gate.wait()  # the background refresh never gets its answer
        return (200, {"cache-control": "max-age=10, stale-while-revalidate=30"}, "v1")

    dist = Distribution(API, origins={"api": slow})
    await dist.start()
    await dist.get("/a")
    dist.advance(15)
    assert (await dist.get("/a")).headers["x-cache"] == "RefreshHit from cloudfront"
    await asyncio.sleep(0)
    assert dist.simulator is not None
    pipeline = dist.simulator._live.pipeline  # type: ignore[union-attr]
    assert len(pipeline.refreshes) == 1
    before = {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
    await dist.aclose()
    assert len(pipeline.refreshes) == 0
    assert all(t.done() for t in before)


def test_sync_distribution_waits_for_refreshes() -> None:
    from edgesim.testing_sync import SyncDistribution

    origin = Origin("max-age=10, stale-while-revalidate=30")
    with SyncDistribution(API, origins={"api": origin}) as dist, dist.client() as client:
        client.get("/a")
        dist.advance(15)
        origin.body = "v2"
        assert client.get("/a").text == "v1"
        dist.wait_for_refreshes()
        assert client.get("/a").text == "v2"


async def test_a_head_within_swr_refreshes_the_object() -> None:
    origin = Origin("max-age=10, stale-while-revalidate=30")
    async with Distribution(API, origins={"api": origin}) as dist:
        await dist.get("/a")
        dist.advance(15)
        origin.body = "v2"
        head = await dist.request("HEAD", "/a")
        assert (head.status_code, head.headers["x-cache"]) == (200, "RefreshHit from cloudfront")
        await dist.wait_for_refreshes()
        assert origin.requests[-1].method == "GET"
        assert (await dist.get("/a")).text == "v2"


# --- a background refresh that an invalidation overtakes (invalidation.py) -----------------------


class GatedOrigin:
    """An origin whose answer to the background refresh (its second request) waits for `release`,
    `asked` set once that request has arrived: the race with an invalidation made deterministic.
    With `not_modified`, a conditional request gets a 304; `body` is what a 200 carries."""

    def __init__(self, body: bytes, *, not_modified: bool) -> None:
        self.body = body
        self.not_modified = not_modified
        self.asked = asyncio.Event()
        self.release = asyncio.Event()
        self.requests: list[Request] = []

    async def __call__(self, request: Request) -> Any:
        self.requests.append(request)
        body = self.body  # what the origin has when the request arrives
        if len(self.requests) == 2:
            self.asked.set()
            await self.release.wait()
        headers = {"cache-control": "max-age=10, stale-while-revalidate=60", "etag": '"v1"'}
        if self.not_modified and request.headers.get("if-none-match") == '"v1"':
            return (304, headers, b"")
        if not self.not_modified:
            headers["etag"] = f'"{len(self.requests)}"'
        return (200, headers, body)


async def _refresh_overtaken(origin: GatedOrigin, dist: Distribution) -> None:
    """/a cached, expired within its window; a viewer's stale hit starts the refresh, /a is
    invalidated while the origin holds its answer, then answered with `origin.body`."""
    first = await dist.get("/a")
    assert first.headers["x-cache"] == "Miss from cloudfront"
    dist.advance(15)
    origin.body = b"v2" * (len(origin.body) // 2)  # the deploy the invalidation is made for
    stale = await dist.get("/a")
    assert stale.headers["x-cache"] == "RefreshHit from cloudfront"
    await origin.asked.wait()
    assert dist.invalidate("/a") == 1
    origin.release.set()
    await dist.wait_for_refreshes()


@pytest.mark.parametrize("size", [2, 9 << 20], ids=["in memory", "in a file"])
@pytest.mark.parametrize("not_modified", [True, False], ids=["304", "200"])
async def test_a_refresh_overtaken_by_an_invalidation_stores_nothing(
        cache_tmp: Path, not_modified: bool, size: int) -> None:  # noqa: F811
    origin = GatedOrigin(b"v1" * (size // 2), not_modified=not_modified)
    async with Distribution(API, origins={"api": origin}) as dist:
        await _refresh_overtaken(origin, dist)
        files_after_refresh = bodies_in(cache_tmp)
        after = await dist.get("/a")
    # Neither the invalidated object (a 304 would refresh it) nor the refresh's 200 (asked for before
    # the invalidation) is stored: the next request asks the origin after the invalidation.
    assert files_after_refresh == []
    assert (after.headers["x-cache"], after.content[:2]) == ("Miss from cloudfront", b"v2")
    assert len(origin.requests) == 3 and "if-none-match" not in origin.requests[2].headers


@pytest.mark.parametrize("not_modified", [True, False], ids=["304", "200"])
async def test_a_refresh_overtaken_by_an_invalidation_leaves_the_object_fetched_since(not_modified: bool) -> None:
    origin = GatedOrigin(b"v1", not_modified=not_modified)
    async with Distribution(API, origins={"api": origin}) as dist:
        await dist.get("/a")
        dist.advance(15)
        await dist.get("/a")  # the refresh starts
        await origin.asked.wait()
        dist.invalidate("/*")
        origin.body = b"v3"
        fetched_since = await dist.get("/a")  # a Miss, after the invalidation
        origin.release.set()
        await dist.wait_for_refreshes()
        after = await dist.get("/a")
    assert (fetched_since.headers["x-cache"], fetched_since.content) == ("Miss from cloudfront", b"v3")
    assert (after.headers["x-cache"], after.content) == ("Hit from cloudfront", b"v3")


async def test_an_invalidation_stops_only_the_refreshes_it_covers() -> None:
    released = asyncio.Event()
    waiting: list[str] = []
    both_asked = asyncio.Event()
    bodies = {"/a": b"a1", "/b": b"b1"}

    async def origin(request: Request) -> Any:
        body = bodies[request.uri]
        if body.endswith(b"2"):  # a refresh: held until both are under way and /b is invalidated
            waiting.append(request.uri)
            if len(waiting) == 2:
                both_asked.set()
            await released.wait()
        return (200, {"cache-control": "max-age=10, stale-while-revalidate=60"}, body)

    async with Distribution(API, origins={"api": origin}) as dist:
        for path in ("/a", "/b"):
            await dist.get(path)
        dist.advance(15)
        bodies.update({"/a": b"a2", "/b": b"b2"})
        for path in ("/a", "/b"):
            assert (await dist.get(path)).headers["x-cache"] == "RefreshHit from cloudfront"
        await both_asked.wait()
        assert dist.invalidate("/b*") == 1
        released.set()
        await dist.wait_for_refreshes()
        a, b = await dist.get("/a"), await dist.get("/b")
    assert (a.headers["x-cache"], a.content) == ("Hit from cloudfront", b"a2")  # /a's refresh stored
    assert (b.headers["x-cache"], b.content) == ("Miss from cloudfront", b"b2")  # /b's did not
