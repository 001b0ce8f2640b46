"""A directory origin's files are read as the viewer takes them, never whole because they are large
(s3_origin.py): bounded memory under `edgesim serve`, a HEAD and a Range that read no byte they do
not need, an ETag read in chunks off the loop, a file that changes mid-stream cutting the viewer's
connection, and every consumer of a body (compression, functions, error pages, the cache) still
getting the right bytes.

How much a request reads is taken from the kernel: /proc/self/io `rchar` counts every byte the
process's read() / pread() calls returned, whoever made them.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import edgesim
from edgesim import s3_origin
from edgesim.config import S3Origin
from edgesim.errors import BodyBrokenOff
from edgesim.messages import Headers, Request
from edgesim.origin import OriginFetcher
from edgesim.server import free_port
from edgesim.testing import Distribution

from asgi_viewer import Viewer

MB = 1 << 20


def rchar() -> int:
    """Bytes this process has read so far through read-like system calls (proc(5), /proc/pid/io)."""
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))


def write_file(path: Path, size: int, seed: bytes = b"") -> bytes:
    """A file of `size` bytes whose every 64 KiB block differs (so a misplaced byte shows); returns its MD5."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("wb") as f:
        for block in range(0, size, 1 << 16):
            unit = seed + block.to_bytes(8, "big")
            data = (unit * ((1 << 16) // len(unit) + 1))[:min(1 << 16, size - block)]
            f.write(data)
            digest.update(data)
    return digest.digest()


def s3(root: Path) -> S3Origin:
    return S3Origin.model_validate({"id": "site", "directory": str(root)}, context={"base_dir": "/"})


def site_config(root: Path, **behavior: Any) -> dict[str, Any]:
    return {"origins": [{"id": "site", "directory": str(root)}],
            "default_cache_behavior": {"target_origin": "site", "cache_policy": "CachingDisabled", **behavior}}


def descriptors_on(path: Path) -> int:
    """How many of this process's open file descriptors point at `path`."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:
            pass
    return count


# --- through `edgesim serve`: memory ------------------------------------------------------------


def peak_rss(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


@contextmanager
def serve_site(folder: Path, cache_policy: str,
               env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`edgesim serve` as a process over `folder`/site (a directory origin with `cache_policy`),
    started and answering: the process and its URL."""
    (folder / "edgesim.toml").write_text('[[origins]]\nid = "site"\ndirectory = "site"\n'
                                         '[default_cache_behavior]\ntarget_origin = "site"\n'
                                         f'cache_policy = "{cache_policy}"\n')
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgesim", "serve", "--no-reload", "--port", str(port)], cwd=folder,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {}),
             "PYTHONPATH": os.pathsep.join([str(Path(edgesim.__file__).resolve().parent.parent),
                                            os.environ.get("PYTHONPATH", "")])})
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "edgesim serve did not start"
            try:
                httpx.get(url + "/__edgesim/status", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def served_big_file(tmp_path: Path) -> Iterator[tuple[str, Path, int, bytes]]:
    """`edgesim serve` as a process over a folder holding a 200 MB file (cache off, so only the
    request's own reads count)."""
    (tmp_path / "site").mkdir()
    md5 = write_file(tmp_path / "site" / "video.mp4", 200 * MB)
    (tmp_path / "site" / "small.txt").write_text("small")
    with serve_site(tmp_path, "CachingDisabled") as (proc, url):
        yield url, tmp_path / "site" / "video.mp4", proc.pid, md5


def test_a_200_mb_file_streams_through_edgesim_serve_without_the_server_holding_it(
        served_big_file: tuple[str, Path, int, bytes]) -> None:
    base, path, pid, md5 = served_big_file
    size = path.stat().st_size
    with httpx.Client(base_url=base, timeout=60) as client:
        assert client.get("/small.txt").text == "small"  # warm: every module loaded
        before = peak_rss(pid)
        digest, received = hashlib.md5(usedforsecurity=False), 0
        with client.stream("GET", "/video.mp4") as response:
            assert response.status_code == 200 and response.headers["content-length"] == str(size)
            assert response.headers["etag"] == f'"{md5.hex()}"'
            for piece in response.iter_raw():
                digest.update(piece)
                received += len(piece)
        grown = peak_rss(pid) - before
        # A Range from the middle, and HEAD, through the same socket.
        part = client.get("/video.mp4", headers={"Range": "bytes=100000000-100000009"})
        head = client.head("/video.mp4")
    assert (received, digest.digest()) == (size, md5)
    # The old origin held the file twice over (its MD5, then its body): 400 MB. A few chunks now.
    assert grown < 40 * MB, f"the server's peak RSS grew by {grown / MB:.0f} MB serving a {size // MB} MB file"
    assert part.status_code == 206 and part.headers["content-range"] == f"bytes 100000000-100000009/{size}"
    with path.open("rb") as f:
        f.seek(100000000)
        assert part.content == f.read(10)
    assert head.status_code == 200 and head.headers["content-length"] == str(size) and head.content == b""


# --- what a request reads -------------------------------------------------------------------------


async def test_a_head_reads_no_byte_of_the_body_and_a_range_only_its_own(tmp_path: Path) -> None:
    size = 24 * MB
    write_file(tmp_path / "big.bin", size)
    fetcher, origin = OriginFetcher(), s3(tmp_path)
    first = rchar()
    head = await fetcher.fetch(Request("HEAD", "/big.bin"), origin)
    hashed = rchar() - first  # the first request of a file reads it once, for its ETag (its MD5)
    start = rchar()
    again = await fetcher.fetch(Request("HEAD", "/big.bin"), origin)
    head_read = rchar() - start
    start = rchar()
    small = await fetcher.fetch(Request("GET", "/big.bin", headers=Headers([("Range", "bytes=5000000-5000099")])), origin)
    small_read = rchar() - start
    start = rchar()
    large = await fetcher.fetch(Request("GET", "/big.bin", headers=Headers([("Range", "bytes=-3000000")])), origin,
                                stream=True)
    assert large.stream is not None
    body = b"".join([chunk async for chunk in large.stream])
    large_read = rchar() - start
    assert head.status == again.status == 200 and head.body == again.body == b""
    assert head.headers["content-length"] == again.headers["content-length"] == str(size)
    assert size <= hashed < size + MB
    assert head_read < 64 << 10, f"a HEAD read {head_read:,} bytes"
    assert (small.status, small.headers["content-range"], len(small.body)) == (206, f"bytes 5000000-5000099/{size}", 100)
    assert small_read < 64 << 10, f"a 100-byte Range read {small_read:,} bytes"
    assert (large.status, len(body)) == (206, 3000000)
    assert 3000000 <= large_read < 3000000 + MB, f"a 3 MB Range read {large_read:,} bytes"
    assert body == (tmp_path / "big.bin").read_bytes()[-3000000:]


async def test_the_etag_of_a_large_file_is_its_md5_read_in_chunks_in_a_thread_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md5 = write_file(tmp_path / "big.bin", 40 * MB)
    threads: list[int] = []
    real_md5 = s3_origin._md5

    def spy(fd: int, stat: os.stat_result) -> str:
        threads.append(threading.get_ident())
        return real_md5(fd, stat)

    monkeypatch.setattr(s3_origin, "_md5", spy)
    fetcher, origin = OriginFetcher(), s3(tmp_path)
    tracemalloc.start()
    try:
        # Three requests at once wait for one hash.
        answers = await asyncio.gather(*(fetcher.fetch(Request("HEAD", "/big.bin"), origin) for _ in range(3)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert {r.headers["etag"] for r in answers} == {f'"{md5.hex()}"'}
    assert peak < 4 * MB, f"{peak / MB:.1f} MB allocated at the peak to hash a 40 MB file"
    assert len(threads) == 1 and threads[0] != threading.get_ident()


# --- streamed to the viewer -----------------------------------------------------------------------


async def test_a_large_file_reaches_the_viewer_in_chunks_and_a_small_one_whole(tmp_path: Path) -> None:
    write_file(tmp_path / "big.bin", 3 * MB)
    (tmp_path / "small.txt").write_bytes(b"s" * 1000)
    async with Distribution(site_config(tmp_path)) as d:
        assert d.app is not None
        big = await Viewer("/big.bin").run(d.app)
        small = await Viewer("/small.txt").run(d.app)
    assert b"".join(big.chunks) == (tmp_path / "big.bin").read_bytes()
    assert big.headers[b"content-length"] == str(3 * MB).encode()
    assert len(big.chunks) == 3 * MB // s3_origin.CHUNK and max(map(len, big.chunks)) == s3_origin.CHUNK
    assert small.chunks == [b"s" * 1000]


async def test_a_file_rewritten_in_place_while_it_streams_cuts_the_viewer_off(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    write_file(path, 3 * MB)

    def rewrite(sent: int) -> None:
        if sent == 1:  # an editor saving over it: same size, other bytes, a new mtime
            stat = path.stat()
            write_file(path, 3 * MB, seed=b"new")
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    async with Distribution(site_config(tmp_path)) as d:
        assert d.app is not None
        viewer = Viewer("/big.bin", on_body=rewrite)
        with pytest.raises(BodyBrokenOff, match=r"broke off the body after 262,144 bytes .*changed while it was being read"):
            await viewer.run(d.app)
        assert len(viewer.chunks) == 1
        # The next viewer gets the new file whole, with its own ETag.
        after = await d.get("/big.bin")
    assert after.content == path.read_bytes()
    assert after.headers["etag"] == f'"{hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()}"'


async def test_a_file_deleted_while_it_streams_still_reaches_the_viewer_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    write_file(path, 3 * MB)
    original = path.read_bytes()
    async with Distribution(site_config(tmp_path)) as d:
        assert d.app is not None
        viewer = await Viewer("/big.bin", on_body=lambda sent: path.unlink() if sent == 1 else None).run(d.app)
        gone = await d.get("/big.bin")
    assert len(viewer.chunks) > 1 and b"".join(viewer.chunks) == original
    assert gone.status_code == 403


async def test_over_a_socket_a_file_truncated_mid_stream_cuts_the_viewer_short_of_its_content_length(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "big.bin"
    size = 64 * MB
    write_file(path, size)
    caplog.set_level(logging.WARNING)
    async with Distribution(site_config(tmp_path), socket=True) as d, httpx.AsyncClient(base_url=d.url) as client:
        received = 0
        with pytest.raises(httpx.RemoteProtocolError):
            async with client.stream("GET", "/big.bin") as response:
                assert response.headers["content-length"] == str(size)
                async for part in response.aiter_raw():
                    if received == 0:
                        os.truncate(path, 1000)
                    received += len(part)
        assert 0 < received < size
        (tmp_path / "small.txt").write_text("still here")
        assert (await client.get("/small.txt")).text == "still here"  # the server goes on
    messages = [r.getMessage() for r in caplog.records]
    assert any("GET /big.bin: the origin broke off the body after" in m for m in messages), messages


# --- what consumes the body -----------------------------------------------------------------------


async def test_a_large_file_is_stored_once_whole_and_served_from_the_cache_range_included(tmp_path: Path) -> None:
    write_file(tmp_path / "big.bin", 3 * MB)
    data = (tmp_path / "big.bin").read_bytes()
    async with Distribution(site_config(tmp_path, cache_policy="CachingOptimized")) as d:
        assert d.app is not None
        first = await Viewer("/big.bin").run(d.app)
        start = rchar()
        hit = await Viewer("/big.bin").run(d.app)  # the same cache key: no Accept-Encoding either
        part = await Viewer("/big.bin", headers=[(b"range", b"bytes=10-19")]).run(d.app)
        read_by_hits = rchar() - start
    assert len(first.chunks) > 1 and first.headers[b"x-cache"] == b"Miss from cloudfront"
    assert (hit.headers[b"x-cache"], b"".join(hit.chunks)) == (b"Hit from cloudfront", data)
    assert (part.messages[0]["status"], part.chunks, part.headers[b"x-cache"]) == (206, [data[10:20]], b"Hit from cloudfront")
    assert read_by_hits < MB


async def test_a_large_text_file_is_read_whole_and_compressed_at_the_edge(tmp_path: Path) -> None:
    text = b"".join(b"<p>line %d</p>\n" % i for i in range(200_000))  # ~3 MB, under CloudFront's 10 MB
    (tmp_path / "page.html").write_bytes(text)
    policy = {"min_ttl": 0, "default_ttl": 0, "max_ttl": 0, "enable_accept_encoding_gzip": True}
    async with Distribution(site_config(tmp_path, compress=True, cache_policy=policy)) as d:
        assert d.app is not None
        viewer = await Viewer("/page.html", headers=[(b"accept-encoding", b"gzip")]).run(d.app)
    assert viewer.headers[b"content-encoding"] == b"gzip"
    assert gzip.decompress(b"".join(viewer.chunks)) == text
    assert viewer.headers[b"content-length"] == str(len(b"".join(viewer.chunks))).encode()


async def test_functions_that_edit_a_large_files_headers_keep_it_streamed_and_no_descriptor_is_left_open(
        tmp_path: Path) -> None:
    write_file(tmp_path / "site.bin", 3 * MB)
    (tmp_path / "oresp.py").write_text(
        "def handler(event, context):\n"
        "    response = event['Records'][0]['cf']['response']\n"
        "    response['headers']['x-origin-response'] = [{'key': 'X-Origin-Response', 'value': 'yes'}]\n"
        "    return response\n")
    (tmp_path / "vresp.js").write_text(
        "function handler(event) {\n"
        "  var response = event.response;\n"
        "  response.headers['x-viewer-response'] = {value: 'yes'};\n"
        "  if (event.request.headers['x-replace']) { response.body = 'replaced'; }\n"
        "  return response;\n}\n")
    config = {"origins": [{"id": "site", "directory": "."}],
              "default_cache_behavior": {"target_origin": "site", "cache_policy": "CachingDisabled", "functions": {
                  "origin-response": {"lambda": "oresp.py:handler"},
                  "viewer-response": {"cloudfront_function": "vresp.js", "runtime": "cloudfront-js-2.0"}}}}
    async with Distribution(config, base_dir=tmp_path) as d:
        assert d.app is not None
        viewer = await Viewer("/site.bin").run(d.app)
        replaced = await Viewer("/site.bin", headers=[(b"x-replace", b"1")]).run(d.app)
        left = Viewer("/site.bin")
        left.on_body = lambda sent: left.leave.set()  # gone after the first chunk
        await left.run(d.app)
        open_after = descriptors_on((tmp_path / "site.bin").resolve())
    assert viewer.headers[b"x-origin-response"] == b"yes" and viewer.headers[b"x-viewer-response"] == b"yes"
    assert len(viewer.chunks) > 1 and b"".join(viewer.chunks) == (tmp_path / "site.bin").read_bytes()
    assert replaced.chunks == [b"replaced"]
    assert 1 <= len(left.chunks) < 12
    assert open_after == 0


async def test_a_large_custom_error_page_from_a_directory_origin_is_served_whole(tmp_path: Path) -> None:
    (tmp_path / "errors").mkdir()
    page = b"".join(b"<p>not here %d</p>\n" % i for i in range(100_000))  # ~2 MB
    (tmp_path / "errors" / "403.html").write_bytes(page)
    config = {**site_config(tmp_path), "custom_error_responses": [
        {"error_code": 403, "response_code": 404, "response_page_path": "/errors/403.html"}]}
    async with Distribution(config) as d:
        missing = await d.get("/nope.html")
    assert (missing.status_code, missing.content) == (404, page)
    assert missing.headers["content-length"] == str(len(page))


# --- security -----------------------------------------------------------------------------------


async def test_a_fifo_is_refused_without_hanging_and_a_link_swapped_in_after_the_check_is_not_followed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    root = tmp_path / "site"
    root.mkdir()
    os.mkfifo(root / "pipe")
    (root / "page.html").write_text("page")
    fetcher, origin = OriginFetcher(), s3(root)
    fifo = await asyncio.wait_for(fetcher.fetch(Request("GET", "/pipe"), origin, stream=True), 5)
    # The check passes for page.html, then a link to outside the root takes its place before the open.
    checked = s3_origin._safe_path

    def then_swapped(root_dir: Path, uri: str) -> str | None:
        found = checked(root_dir, uri)
        (root / "page.html").unlink()
        os.symlink(tmp_path / "secret.txt", root / "page.html")
        return found

    monkeypatch.setattr(s3_origin, "_safe_path", then_swapped)
    swapped = await fetcher.fetch(Request("GET", "/page.html"), origin, stream=True)
    assert fifo.status == 403 and b"AccessDenied" in fifo.body
    assert swapped.status == 403 and b"TOP SECRET" not in swapped.body
