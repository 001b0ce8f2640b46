"""A cached object whose file was removed or cut short from outside (a temp cleaner, the user) is
not cached any more (cache_files.py, edge_cache_flow.py): the request goes to the origin as a Miss
and the object is stored anew, as CloudFront refetches an object an edge lost. A hit, a Range hit,
a HEAD, an expired object being revalidated, a custom error page; a file cut short while a hit
streams it (the viewer gets what there was, edgesim goes on), and the cache's whole directory removed.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import httpx
import pytest

from edgesim.errors import BodyBrokenOff
from edgesim.messages import Headers, Request, Response
from edgesim.testing import Distribution

from test_cache_files import bodies_in, cache_tmp, site  # noqa: F401 - cache_tmp is a fixture
from test_directory_streaming import write_file

MB = 1 << 20


@pytest.fixture
def big(tmp_path: Path) -> tuple[Path, bytes]:
    """A folder origin with /big.bin, 3 MB: in a file of the cache's own under a 1 MiB memory budget."""
    root = tmp_path / "site"
    root.mkdir()
    write_file(root / "big.bin", 3 * MB)
    return root, (root / "big.bin").read_bytes()


def lose(file: Path, how: str) -> None:
    if how == "removed":
        file.unlink()
    else:
        os.truncate(file, 1000)


@pytest.mark.parametrize("how", ["removed", "cut short"])
async def test_a_hit_on_an_object_whose_file_was_lost_is_a_miss_and_stored_again(
        big: tuple[Path, bytes], cache_tmp: Path, how: str) -> None:  # noqa: F811
    root, data = big
    async with Distribution(site(root, mb=1)) as d:
        await d.get("/big.bin")
        [file] = bodies_in(cache_tmp)
        lose(file, how)
        refetched = await d.get("/big.bin")
        note = d.last_trace.notes
        sizes = [f.stat().st_size for f in bodies_in(cache_tmp)]
        hit = await d.get("/big.bin")
    assert (refetched.status_code, refetched.headers["x-cache"]) == (200, "Miss from cloudfront")
    assert refetched.content == data
    assert any("removed or cut short from outside; fetched from the origin again" in n for n in note), note
    assert sizes == [3 * MB]  # stored anew, whole
    assert (hit.headers["x-cache"], hit.content) == ("Hit from cloudfront", data)


@pytest.mark.parametrize("how", ["removed", "cut short"])
async def test_a_range_and_a_head_on_a_lost_file_go_to_the_origin(
        big: tuple[Path, bytes], cache_tmp: Path, how: str) -> None:  # noqa: F811
    root, data = big
    async with Distribution(site(root, mb=1)) as d:
        await d.get("/big.bin")
        lose(bodies_in(cache_tmp)[0], how)
        part = await d.get("/big.bin", headers={"Range": "bytes=2000000-2000009"})
        await d.get("/big.bin")  # stored again
        lose(bodies_in(cache_tmp)[0], how)
        head = await d.request("HEAD", "/big.bin")
        after_head = await d.get("/big.bin")
    assert (part.status_code, part.headers["x-cache"], part.content) == \
        (206, "Miss from cloudfront", data[2000000:2000010])
    # A HEAD reads no byte, yet must not give the Content-Length of a file that is not there.
    assert (head.status_code, head.headers["x-cache"], head.headers["content-length"]) == \
        (200, "Miss from cloudfront", str(3 * MB))
    assert (after_head.headers["x-cache"], after_head.content) == ("Miss from cloudfront", data)


async def test_an_expired_object_whose_file_was_lost_is_fetched_whole_not_revalidated(
        cache_tmp: Path) -> None:  # noqa: F811
    body = b"z" * (9 * MB)  # over the 8 MiB threshold
    seen: list[str | None] = []

    def origin(request: Request) -> Response:
        seen.append(request.headers.get("if-none-match"))
        headers = Headers([("ETag", '"v1"'), ("Cache-Control", "max-age=10")])
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304, headers)  # a 304 would leave nothing to serve
        return Response(200, headers, body)

    config = {"origins": [{"id": "app", "url": "http://app.invalid"}],
              "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingOptimized"}}
    async with Distribution(config, origins={"app": origin}) as d:
        await d.get("/o")
        bodies_in(cache_tmp)[0].unlink()
        d.advance(11)
        again = await d.get("/o")
        hit = await d.get("/o")
    assert seen == [None, None]  # asked unconditionally: there is no body to revalidate
    assert (again.headers["x-cache"], again.content) == ("Miss from cloudfront", body)
    assert (hit.headers["x-cache"], hit.content) == ("Hit from cloudfront", body)


async def test_a_custom_error_page_whose_file_was_lost_is_fetched_again(
        tmp_path: Path, cache_tmp: Path) -> None:  # noqa: F811
    page = b"<p>gone</p>" * (300_000)  # 3.3 MB, over a 1 MiB memory budget
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "404.html").write_bytes(page)
    config = {"distribution": {"cache_memory_limit_mb": 1},
              "origins": [{"id": "pages", "directory": str(tmp_path / "pages")}],
              "default_cache_behavior": {"target_origin": "pages", "cache_policy": "CachingOptimized"},
              "custom_error_responses": [{"error_code": 403, "response_page_path": "/404.html",
                                          "response_code": 404}]}
    async with Distribution(config) as d:
        first = await d.get("/missing-1")
        for file in bodies_in(cache_tmp):
            file.unlink()
        second = await d.get("/missing-2")
    assert (first.status_code, first.content) == (404, page)
    assert (second.status_code, second.content) == (404, page)


async def test_a_file_cut_short_while_a_hit_streams_it_breaks_that_body_off_and_the_next_request_refetches(
        big: tuple[Path, bytes], cache_tmp: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    from asgi_viewer import Viewer

    root, data = big
    async with Distribution(site(root, mb=1)) as d:
        assert d.app is not None
        await Viewer("/big.bin").run(d.app)
        [file] = bodies_in(cache_tmp)
        # Cut to 1,000 bytes once the viewer has had its first 256 KiB chunk: the next read finds nothing.
        viewer = Viewer("/big.bin", on_body=lambda n: os.truncate(file, 1000) if n == 1 else None)
        with caplog.at_level(logging.WARNING, logger="edgesim"), pytest.raises(BodyBrokenOff) as broken:
            await viewer.run(d.app)
        again = await Viewer("/big.bin").run(d.app)
        hit = await Viewer("/big.bin").run(d.app)
    assert viewer.headers[b"x-cache"] == b"Hit from cloudfront"
    assert viewer.body == data[:256 << 10]  # what there was, then the connection cut
    assert "the edge cache broke off the body after 262,144 bytes" in str(broken.value)
    assert "cut short from outside" in str(broken.value)
    assert (again.headers[b"x-cache"], again.body) == (b"Miss from cloudfront", data)
    assert (hit.headers[b"x-cache"], hit.body) == (b"Hit from cloudfront", data)


async def test_over_a_socket_a_file_removed_or_cut_short_mid_hit_leaves_edgesim_serving(
        tmp_path: Path, cache_tmp: Path) -> None:  # noqa: F811
    root = tmp_path / "site"
    root.mkdir()
    size = 24 * MB  # more than loopback's socket buffers hold: the cut comes before the file is all read
    write_file(root / "big.bin", size)
    data = (root / "big.bin").read_bytes()
    outcomes: list[tuple[str, int, str]] = []
    async with Distribution(site(root, mb=1), socket=True) as d:
        async with httpx.AsyncClient(base_url=d.url, timeout=30) as client:
            await client.get("/big.bin")
            for how in ("removed", "cut short"):
                [file] = bodies_in(cache_tmp)
                received, error = 0, ""
                try:
                    async with client.stream("GET", "/big.bin") as response:
                        async for chunk in response.aiter_raw():
                            if not received:
                                lose(file, how)
                            received += len(chunk)
                except httpx.TransportError as err:
                    error = type(err).__name__
                outcomes.append((response.headers["x-cache"], received, error))
                again = await client.get("/big.bin")
                outcomes.append((again.headers["x-cache"], len(again.content), ""))
                assert again.content == data
            hit = await client.get("/big.bin")
    assert outcomes[:2] == [
        ("Hit from cloudfront", size, ""),   # removed: the hit goes on from its open descriptor
        ("Miss from cloudfront", size, ""),  # ... and the next request refetches
    ]
    cut, refetched = outcomes[2], outcomes[3]
    assert cut[0] == "Hit from cloudfront" and cut[1] < size and cut[2] == "RemoteProtocolError"
    assert refetched == ("Miss from cloudfront", size, "")
    assert (hit.headers["x-cache"], len(hit.content)) == ("Hit from cloudfront", size)


async def test_the_cache_directory_removed_from_outside_is_made_again(
        tmp_path: Path, cache_tmp: Path) -> None:  # noqa: F811
    root = tmp_path / "site"
    root.mkdir()
    for name in ("a", "b"):
        write_file(root / f"{name}.bin", 3 * MB, seed=name.encode())
    async with Distribution(site(root, mb=1)) as d:
        await d.get("/a.bin")
        [directory] = list(cache_tmp.iterdir())
        shutil.rmtree(directory)  # a temp cleaner
        a_again = await d.get("/a.bin")
        b = await d.get("/b.bin")
        b_hit = await d.get("/b.bin")
        files = bodies_in(cache_tmp)
    assert a_again.headers["x-cache"] == "Miss from cloudfront"
    assert (b.status_code, b.headers["x-cache"]) == (200, "Miss from cloudfront")
    assert b_hit.headers["x-cache"] == "Hit from cloudfront" and len(b_hit.content) == 3 * MB
    assert len(files) == 2
