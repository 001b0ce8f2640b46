"""The edge cache's memory budget and its large objects kept in files (cache.py, cache_files.py):
least recently used bodies evicted past `distribution.cache_memory_limit_mb`, a body over the
threshold spooled to a file as it streams to the viewer and served from it on hits (Range, HEAD,
conditional GET, Age), the file following the entry through revalidation, stale serving,
invalidation and close, and `edgesim serve` caching a 200 MB object without holding it.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from edgesim.cache import EdgeCache
from edgesim.cache_key import CacheKey
from edgesim.messages import Headers, Request, Response
from edgesim.server import free_port
from edgesim.testing import Distribution

from test_directory_streaming import descriptors_on, peak_rss, rchar, serve_site, write_file

MB = 1 << 20


@pytest.fixture
def cache_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the cache's private directory goes in this test."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


def bodies_in(where: Path) -> list[Path]:
    return sorted(where.glob("edgesim-cache-*/*.body"))


def site(root: Path, mb: int | None = None, **behavior: Any) -> dict[str, Any]:
    settings = {} if mb is None else {"cache_memory_limit_mb": mb}
    return {"distribution": settings, "origins": [{"id": "site", "directory": str(root)}],
            "default_cache_behavior": {"target_origin": "site", "cache_policy": "CachingOptimized", **behavior}}


# --- the memory budget -------------------------------------------------------------------------


async def test_the_memory_budget_evicts_the_least_recently_used_bodies(tmp_path: Path) -> None:
    for name in "abc":
        (tmp_path / f"{name}.bin").write_bytes(name.encode() * 400_000)
    async with Distribution(site(tmp_path, mb=1), socket=True) as d:
        assert d.simulator is not None and d.simulator.cache is not None
        cache = d.simulator.cache
        assert cache.max_memory == MB
        for path in ("/a.bin", "/b.bin", "/a.bin", "/c.bin"):  # a used again: b is the least recent
            await d.get(path)
        # 1.2 MB of bodies do not fit in 1 MiB: b went, a and c stayed.
        xcache = {p: (await d.get(p)).headers["x-cache"] for p in ("/a.bin", "/c.bin", "/b.bin")}
        assert cache.memory_used <= MB
    assert xcache == {"/a.bin": "Hit from cloudfront", "/c.bin": "Hit from cloudfront",
                      "/b.bin": "Miss from cloudfront"}


def test_the_memory_limit_is_a_distribution_setting_validated_at_load() -> None:
    from edgesim.config import parse_config
    from edgesim.errors import ConfigError

    base = {"origins": [{"id": "o", "url": "http://127.0.0.1:9"}], "default_cache_behavior": {"target_origin": "o"}}
    assert parse_config(base, base_dir=Path("/")).distribution.cache_memory_limit_mb == 256
    with pytest.raises(ConfigError, match="cache_memory_limit_mb"):
        parse_config({**base, "distribution": {"cache_memory_limit_mb": 0}}, base_dir=Path("/"))


def test_a_body_over_the_threshold_or_the_budget_goes_to_a_file_and_eviction_removes_it(cache_tmp: Path) -> None:
    from edgesim.cache_files import FILE_THRESHOLD

    cache = EdgeCache(max_entries=2, max_memory=MB)
    big = Response(200, Headers([("Content-Type", "video/mp4")]), b"v" * (2 * MB))
    entry = cache.store(CacheKey("h", "GET", "/big"), big, 60)
    assert entry is not None and entry.body_file is not None and entry.response.body == b""
    assert cache.memory_used == 0 and [p.stat().st_size for p in bodies_in(cache_tmp)] == [2 * MB]
    assert cache.serve_whole(entry).body == big.body  # a custom error page's way: whole
    cache.store(CacheKey("h", "GET", "/1"), Response(200, body=b"1"), 60)
    cache.store(CacheKey("h", "GET", "/2"), Response(200, body=b"2"), 60)  # past 2 entries: /big goes
    assert bodies_in(cache_tmp) == [] and cache.memory_used == 2
    assert FILE_THRESHOLD == 8 * MB and EdgeCache().max_memory == 256 * MB


# --- a large object in a file, through a real socket --------------------------------------------


async def test_a_large_object_is_spooled_to_a_file_as_it_streams_and_hits_read_it_from_there(
        tmp_path: Path, cache_tmp: Path) -> None:
    (tmp_path / "site").mkdir()
    write_file(tmp_path / "site" / "big.bin", 3 * MB)
    data = (tmp_path / "site" / "big.bin").read_bytes()
    async with Distribution(site(tmp_path / "site", mb=1), socket=True) as d:
        assert d.simulator is not None and d.simulator.cache is not None
        async with httpx.AsyncClient(base_url=d.url, timeout=30) as client:
            miss = await client.get("/big.bin")
            files = bodies_in(cache_tmp)
            sizes = [f.stat().st_size for f in files]
            d.advance(5)
            start = rchar()
            hit = await client.get("/big.bin")
            read_by_hit = rchar() - start
            start = rchar()
            part = await client.get("/big.bin", headers={"Range": "bytes=1000000-1000009"})
            read_by_range = rchar() - start
            multi = await client.get("/big.bin", headers={"Range": "bytes=0-4,2000000-2000004"})
            head = await client.head("/big.bin")
            unchanged = await client.get("/big.bin", headers={"If-None-Match": miss.headers["etag"]})
            beyond = await client.get("/big.bin", headers={"Range": "bytes=9000000-"})
        memory_used = d.simulator.cache.memory_used
        open_on_files = sum(descriptors_on(f) for f in files)
    assert (miss.headers["x-cache"], miss.content) == ("Miss from cloudfront", data)
    # Kept in a file of its own (3 MB over a 1 MiB budget), not in memory.
    assert sizes == [3 * MB] and memory_used == 0
    assert (hit.headers["x-cache"], hit.headers["age"], hit.headers["content-length"]) == \
        ("Hit from cloudfront", "5", str(3 * MB))
    assert hit.content == data and read_by_hit >= 3 * MB  # read from the file, not memory
    assert (part.status_code, part.headers["content-range"], part.content) == \
        (206, f"bytes 1000000-1000009/{3 * MB}", data[1000000:1000010])
    assert read_by_range < MB  # only the range's bytes
    boundary = multi.headers["content-type"].split("boundary=")[1]
    assert multi.status_code == 206 and multi.content == (
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-4/{3 * MB}\r\n\r\n".encode()
        + data[:5] + f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Range: bytes 2000000-2000004/{3 * MB}\r\n\r\n".encode() + data[2000000:2000005]
        + f"\r\n--{boundary}--\r\n".encode())
    assert int(multi.headers["content-length"]) == len(multi.content)
    assert (head.status_code, head.headers["content-length"], head.content) == (200, str(3 * MB), b"")
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert (beyond.status_code, beyond.headers["content-range"]) == (416, f"bytes */{3 * MB}")
    assert open_on_files == 0  # every descriptor a hit opened was closed
    assert list(cache_tmp.iterdir()) == []  # closing the distribution removed the directory


async def test_invalidation_and_eviction_remove_the_file_and_a_viewer_leaving_mid_miss_leaves_none(
        tmp_path: Path, cache_tmp: Path) -> None:
    from asgi_viewer import Viewer

    (tmp_path / "site").mkdir()
    for name in ("a", "b"):
        write_file(tmp_path / "site" / f"{name}.bin", 3 * MB, seed=name.encode())
    async with Distribution(site(tmp_path / "site", mb=1)) as d:
        assert d.app is not None
        await Viewer("/a.bin").run(d.app)
        kept = bodies_in(cache_tmp)
        assert d.invalidate("/a.bin") == 1
        after_invalidation = bodies_in(cache_tmp)
        # A viewer that leaves mid-body: nothing whole to keep, its partial file removed.
        viewer = Viewer("/b.bin")
        task = await viewer.start(d.app)
        viewer.leave.set()
        await asyncio.wait_for(task, 10)
        after_leaving = bodies_in(cache_tmp)
        refetched = await Viewer("/a.bin").run(d.app)
    assert len(kept) == 1 and after_invalidation == [] and after_leaving == []
    assert refetched.headers[b"x-cache"] == b"Miss from cloudfront"


# --- revalidation and stale serving of a file-backed object, over a real origin socket -----------


class BigOrigin:
    """A custom origin over a real socket: /big.bin in 64 KiB chunks with an ETag and max-age=10;
    a conditional GET gets a 304 and `fail` makes it answer 500."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.fail = False
        self.conditional: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        if self.fail:
            await send({"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        etag = b'"v1"'
        common = [(b"etag", etag), (b"cache-control", b"max-age=10")]
        if headers.get(b"if-none-match") == etag:
            self.conditional.append(etag.decode())
            await send({"type": "http.response.start", "status": 304, "headers": common})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*common, (b"content-type", b"application/octet-stream")]})  # chunked
        for i in range(0, len(self.body), 1 << 16):
            await send({"type": "http.response.body", "body": self.body[i:i + (1 << 16)], "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def asgi_origin(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free port of 127.0.0.1, in a thread of its own: its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def big_origin() -> Iterator[tuple[str, BigOrigin]]:
    body = hashlib.sha256(b"x").digest() * (12 * MB // 32)  # over the 8 MiB threshold
    app = BigOrigin(body)
    with asgi_origin(app) as url:
        yield url, app


async def test_a_file_backed_object_is_revalidated_with_a_304_and_served_stale_through_a_5xx(
        big_origin: tuple[str, BigOrigin], cache_tmp: Path) -> None:
    url, origin = big_origin
    config = {"origins": [{"id": "app", "url": url}],
              "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingOptimized"}}
    async with Distribution(config, socket=True) as d:
        assert d.simulator is not None and d.simulator.cache is not None
        async with httpx.AsyncClient(base_url=d.url, timeout=30) as client:
            miss = await client.get("/big.bin")
            files = bodies_in(cache_tmp)
            sizes = [f.stat().st_size for f in files]
            d.advance(11)
            refreshed = await client.get("/big.bin")
            files_after_refresh = bodies_in(cache_tmp)
            d.advance(11)
            origin.fail = True
            held = await client.get("/big.bin")
            part = await client.get("/big.bin", headers={"Range": "bytes=5-9"})
        memory_used = d.simulator.cache.memory_used
    assert (miss.headers["x-cache"], miss.content) == ("Miss from cloudfront", origin.body)
    assert sizes == [len(origin.body)] and memory_used == 0
    assert origin.conditional == ['"v1"']
    assert (refreshed.headers["x-cache"], refreshed.headers["age"]) == ("RefreshHit from cloudfront", "0")
    assert refreshed.content == origin.body and files_after_refresh == files  # the same file, kept
    assert (held.status_code, held.headers["x-cache"], held.content) == (200, "Hit from cloudfront", origin.body)
    assert (part.status_code, part.content) == (206, origin.body[5:10])


async def test_an_invalidation_during_a_revalidation_serves_the_304_its_body_and_stores_nothing(
        cache_tmp: Path) -> None:
    """A viewer's revalidation that an invalidation overtakes: the viewer still gets the object its
    304 refreshed, from the file kept for it (pinned), but the 304 does not bring the invalidated
    object back; the next request asks the origin again. UNCERTAIN (invalidation.py): a fetch that
    left before an invalidation stores nothing, a viewer's as a background refresh's."""
    body = b"z" * (9 * MB)
    holder: list[Distribution] = []
    asked: list[str | None] = []

    def origin(request: Request) -> Response:
        headers = Headers([("ETag", '"v1"'), ("Cache-Control", "max-age=10")])
        asked.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v1"':
            holder[0].invalidate("/*")  # the object leaves the cache while its origin answers
            return Response(304, headers)
        return Response(200, headers, body)

    config = {"origins": [{"id": "app", "url": "http://app.invalid"}],
              "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingOptimized"}}
    async with Distribution(config, origins={"app": origin}) as d:
        holder.append(d)
        await d.get("/o")
        kept = bodies_in(cache_tmp)
        d.advance(11)
        refreshed = await d.get("/o")
        after = bodies_in(cache_tmp)
        hit = await d.get("/o")
    assert len(kept) == 1
    assert (refreshed.headers["x-cache"], refreshed.content) == ("RefreshHit from cloudfront", body)
    # Not stored again: its file went once the viewer had it, and the next request is a Miss.
    assert after == [] and (hit.headers["x-cache"], hit.content) == ("Miss from cloudfront", body)
    assert asked == [None, '"v1"', None]


# --- `edgesim serve`: a 200 MB object cached and served again without being held --------------


def test_edgesim_serve_caches_a_200_mb_object_on_disk_and_serves_it_again_without_holding_it(
        tmp_path: Path) -> None:
    size = 200 * MB
    (tmp_path / "site").mkdir()
    (tmp_path / "tmp").mkdir()
    md5 = write_file(tmp_path / "site" / "video.mp4", size)
    (tmp_path / "site" / "small.txt").write_text("small")
    results: list[tuple[str, int, bytes]] = []
    with serve_site(tmp_path, "CachingOptimized", env={"TMPDIR": str(tmp_path / "tmp")}) as (proc, url):
        with httpx.Client(base_url=url, timeout=120) as client:
            assert client.get("/small.txt").text == "small"  # warm: every module loaded
            before = peak_rss(proc.pid)
            for _ in range(2):
                digest, received = hashlib.md5(usedforsecurity=False), 0
                with client.stream("GET", "/video.mp4") as response:
                    for piece in response.iter_raw():
                        digest.update(piece)
                        received += len(piece)
                results.append((response.headers["x-cache"], received, digest.digest()))
            grown = peak_rss(proc.pid) - before
            part = client.get("/video.mp4", headers={"Range": "bytes=150000000-150000009"})
        on_disk = [p.stat().st_size for p in bodies_in(tmp_path / "tmp")]  # while the server runs
    assert results == [("Miss from cloudfront", size, md5), ("Hit from cloudfront", size, md5)]
    # Before, the cache held the whole object in memory (and joined it once more): 200-400 MB.
    assert grown < 40 * MB, f"the server's peak RSS grew by {grown / MB:.0f} MB caching a {size // MB} MB object"
    assert on_disk == [size]
    with (tmp_path / "site" / "video.mp4").open("rb") as f:
        f.seek(150000000)
        assert (part.headers["x-cache"], part.content) == ("Hit from cloudfront", f.read(10))
    assert list((tmp_path / "tmp").iterdir()) == []  # the cache's directory went with the server


# --- a large body already whole in memory: written to its file off the event loop ----------------


async def small_while_written(d: Distribution, fetch: asyncio.Task[httpx.Response], cache_tmp: Path,
                               size: int) -> httpx.Response | None:
    """/small, asked while `fetch`'s body of `size` bytes is part written to its file: None when the
    loop never ran in that time (the file was written on it)."""
    answer = None
    while not fetch.done():
        await asyncio.sleep(0)
        sizes = []
        for file in bodies_in(cache_tmp):
            try:
                sizes.append(file.stat().st_size)
            except FileNotFoundError:
                pass
        if answer is None and sizes and sizes[0] < size:  # its file part written
            answer = await d.get("/small")
    return answer


async def test_a_large_whole_body_is_written_to_its_file_while_the_loop_serves_other_requests(
        cache_tmp: Path) -> None:
    body = b"w" * (64 * MB)  # a stub origin's body, whole in memory: not spooled as it streams

    def origin(request: Request) -> Response:
        return Response(200, Headers([("Cache-Control", "max-age=60")]), body if request.uri == "/big" else b"small")

    config = {"origins": [{"id": "app", "url": "http://app.invalid"}],
              "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingOptimized"}}
    async with Distribution(config, origins={"app": origin}) as d:
        await d.get("/small")
        big = asyncio.create_task(d.get("/big"))
        hit_while_writing = await small_while_written(d, big, cache_tmp, len(body))
        miss = await big
        hit = await d.get("/big")
    assert hit_while_writing is not None, "the loop did not run while the large body was written"
    assert hit_while_writing.headers["x-cache"] == "Hit from cloudfront"
    assert (miss.headers["x-cache"], len(miss.content)) == ("Miss from cloudfront", len(body))
    assert (hit.headers["x-cache"], hit.content == body) == ("Hit from cloudfront", True)


async def test_a_large_custom_error_page_is_written_off_the_loop_cached_and_served_again(cache_tmp: Path) -> None:
    """A custom error page over the same size as any object goes to a file of its own, written while
    the loop serves other requests (as `test_a_large_whole_body_...` for a normal object), and later
    errors are answered with it from the cache, the page not fetched again."""
    page = b"<p>not here</p>" * (4 * MB)  # 60 MiB, whole from a stub origin
    asked: list[str] = []

    def origin(request: Request) -> Response:
        asked.append(request.uri)
        if request.uri == "/404.html":
            return Response(200, Headers([("Cache-Control", "max-age=60"), ("Content-Type", "text/html")]), page)
        if request.uri == "/small":
            return Response(200, Headers([("Cache-Control", "max-age=60")]), b"small")
        return Response(404, Headers(), b"")

    config = {"origins": [{"id": "app", "url": "http://app.invalid"}],
              "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingOptimized"},
              "custom_error_responses": [{"error_code": 404, "response_page_path": "/404.html",
                                          "response_code": 404}]}
    async with Distribution(config, origins={"app": origin}) as d:
        await d.get("/small")
        missing = asyncio.create_task(d.get("/missing-1"))
        hit_while_writing = await small_while_written(d, missing, cache_tmp, len(page))
        first = await missing
        sizes_after = [f.stat().st_size for f in bodies_in(cache_tmp)]
        second = await d.get("/missing-2")
    assert hit_while_writing is not None, "the loop did not run while the large page was written"
    assert hit_while_writing.headers["x-cache"] == "Hit from cloudfront"
    assert (first.status_code, first.content == page) == (404, True)
    assert (second.status_code, second.content == page) == (404, True)
    # The page at /404.html, and the error answered with it, cached for /missing-1 (the error caching TTL).
    assert sizes_after == [len(page)] * 2
    assert asked == ["/small", "/missing-1", "/404.html", "/missing-2"]  # the page fetched once
