"""Range GETs: S3's answers from a directory origin, and the edge's from its cache (DG/RangeGETs)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from edgesim.config import S3Origin
from edgesim.messages import Headers, Request, Response
from edgesim.origin import OriginFetcher
from edgesim.ranges import parse_range
from edgesim.testing import Distribution, trace_of

DATA = b"0123456789abcdefghij"  # 20 bytes
SINGLE_RANGES = [  # (Range, body, Content-Range) for each byte-range form
    ("bytes=0-4", b"01234", "bytes 0-4/20"),
    ("bytes=15-", b"fghij", "bytes 15-19/20"),
    ("bytes=-3", b"hij", "bytes 17-19/20"),
    ("bytes=5-100", DATA[5:], "bytes 5-19/20"),  # a last byte past the end stops at the end
    ("bytes=-50", DATA, "bytes 0-19/20"),  # a suffix longer than the object is all of it
    ("bytes=19-19", b"j", "bytes 19-19/20"),
]
UNSATISFIABLE = ["bytes=20-", "bytes=100-200", "bytes=-0"]
# Several ranges (S3 supports one only), and headers that are not a valid bytes range set.
S3_IGNORES = ["bytes=0-1,5-6", "bytes=5-2", "items=0-1", "bytes=abc", "bytes=-", "bytes=1-x"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "clip.bin").write_bytes(DATA)
    (root / "empty.bin").write_bytes(b"")
    return root


async def s3_get(root: Path, uri: str, method: str = "GET", **headers: str) -> Response:
    origin = S3Origin.model_validate({"id": "site", "directory": str(root)}, context={"base_dir": "/"})
    sent = Headers((name.replace("_", "-"), value) for name, value in headers.items())
    return await OriginFetcher().fetch(Request(method, uri, headers=sent), origin)


# --- the directory origin, as S3 answers -------------------------------------------------------


@pytest.mark.parametrize(("wanted", "body", "content_range"), SINGLE_RANGES)
async def test_s3_answers_a_single_range_with_206(site: Path, wanted: str, body: bytes, content_range: str) -> None:
    r = await s3_get(site, "/clip.bin", Range=wanted)
    assert (r.status, r.body) == (206, body)
    assert r.headers.get("content-range") == content_range
    assert r.headers.get("content-length") == str(len(body))
    assert r.headers.get("accept-ranges") == "bytes" and r.headers.get("etag")
    assert r.headers.get("content-type") == "application/octet-stream"


@pytest.mark.parametrize("wanted", UNSATISFIABLE)
async def test_s3_answers_an_unsatisfiable_range_with_invalid_range(site: Path, wanted: str) -> None:
    r = await s3_get(site, "/clip.bin", Range=wanted)
    assert r.status == 416
    assert r.headers.get("content-type") == "application/xml"
    assert b"<Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message>" in r.body
    assert f"<RangeRequested>{wanted}</RangeRequested><ActualObjectSize>20</ActualObjectSize>".encode() in r.body


async def test_any_range_of_an_empty_object_is_unsatisfiable(site: Path) -> None:
    assert (await s3_get(site, "/empty.bin", Range="bytes=0-")).status == 416


@pytest.mark.parametrize("wanted", S3_IGNORES)
async def test_s3_sends_the_whole_object_for_what_it_ignores(site: Path, wanted: str) -> None:
    r = await s3_get(site, "/clip.bin", Range=wanted)
    assert (r.status, r.body) == (200, DATA)
    assert "content-range" not in r.headers


async def test_s3_head_with_a_range(site: Path) -> None:
    r = await s3_get(site, "/clip.bin", "HEAD", Range="bytes=2-5")
    assert (r.status, r.body) == (206, b"")
    assert (r.headers.get("content-length"), r.headers.get("content-range")) == ("4", "bytes 2-5/20")
    assert (await s3_get(site, "/clip.bin", "HEAD", Range="bytes=99-")).status == 416


async def test_s3_if_range(site: Path) -> None:
    full = await s3_get(site, "/clip.bin")
    etag, modified = full.headers["etag"], full.headers["last-modified"]
    assert (await s3_get(site, "/clip.bin", Range="bytes=0-1", If_Range=etag)).status == 206
    assert (await s3_get(site, "/clip.bin", Range="bytes=0-1", If_Range=modified)).status == 206
    for stale in ('"0000"', "W/" + etag, "Thu, 01 Jan 1970 00:00:00 GMT", "garbage"):
        r = await s3_get(site, "/clip.bin", Range="bytes=0-1", If_Range=stale)
        assert (r.status, r.body) == (200, DATA), stale


async def test_s3_conditional_get_comes_before_the_range(site: Path) -> None:
    etag = (await s3_get(site, "/clip.bin")).headers["etag"]
    assert (await s3_get(site, "/clip.bin", Range="bytes=0-1", If_None_Match=etag)).status == 304


def test_parse_range() -> None:
    assert parse_range("bytes=0-4, 10-, -3") == [(0, 4), (10, None), (None, 3)]
    assert parse_range("BYTES=1-2") == [(1, 2)]
    for invalid in ("bytes=", "bytes=4-1", "bytes 0-1", "bytes=٠-١", "bytes=0-1,x"):
        assert parse_range(invalid) is None, invalid


# --- the edge, over the directory origin -------------------------------------------------------


def site_config(root: Path) -> dict[str, Any]:
    return {"origins": [{"id": "site", "directory": str(root)}], "default_cache_behavior": {"target_origin": "site"}}


def origin_calls(response: Any) -> int:
    return len(trace_of(response).origin_requests)


async def test_a_range_miss_goes_to_the_origin_and_its_part_is_kept_apart(site: Path) -> None:
    async with Distribution(site_config(site)) as dist, dist.client() as client:
        part = await client.get("/clip.bin", headers={"Range": "bytes=0-4"})
        again = await client.get("/clip.bin", headers={"Range": "bytes=0-4"})
        whole = await client.get("/clip.bin")
    # DG/RangeGETs: the origin (S3) answers the range, CloudFront serves it and caches it.
    assert (part.status_code, part.content, part.headers["content-range"]) == (206, b"01234", "bytes 0-4/20")
    assert part.headers["x-cache"] == "Miss from cloudfront" and origin_calls(part) == 1
    assert (again.status_code, again.content, again.headers["x-cache"]) == (206, b"01234", "Hit from cloudfront")
    assert origin_calls(again) == 0
    # ... and a request without a Range never gets the part: the whole object, from the origin.
    assert (whole.status_code, whole.content, whole.headers["x-cache"]) == (200, DATA, "Miss from cloudfront")
    assert "content-range" not in whole.headers


@pytest.mark.parametrize(("wanted", "body", "content_range"), SINGLE_RANGES)
async def test_a_hit_serves_the_range_from_the_cached_object(site: Path, wanted: str, body: bytes,
                                                              content_range: str) -> None:
    async with Distribution(site_config(site)) as dist, dist.client() as client:
        miss = await client.get("/clip.bin")
        hit = await client.get("/clip.bin", headers={"Range": wanted})
    assert (miss.status_code, miss.headers["x-cache"]) == (200, "Miss from cloudfront")
    assert (hit.status_code, hit.content) == (206, body)
    assert hit.headers["content-range"] == content_range
    assert hit.headers["content-length"] == str(len(body))
    assert hit.headers["x-cache"] == "Hit from cloudfront" and "age" in hit.headers
    assert hit.headers["etag"] == miss.headers["etag"] and origin_calls(hit) == 0


async def test_an_unsatisfiable_range_of_a_cached_object_is_416(site: Path) -> None:
    async with Distribution(site_config(site)) as dist, dist.client() as client:
        await client.get("/clip.bin")
        r = await client.get("/clip.bin", headers={"Range": "bytes=50-"})
    assert (r.status_code, r.content, r.headers["content-range"]) == (416, b"", "bytes */20")
    assert r.headers["x-cache"] == "Error from cloudfront" and origin_calls(r) == 0


async def test_several_ranges_from_the_cache_and_through_s3(site: Path) -> None:
    async with Distribution(site_config(site)) as dist, dist.client() as client:
        # S3 supports one range only: it sends the whole object, which CloudFront serves and keeps.
        miss = await client.get("/clip.bin", headers={"Range": "bytes=0-1,5-6"})
        hit = await client.get("/clip.bin", headers={"Range": "bytes=0-1,5-6"})
        disordered = await client.get("/clip.bin", headers={"Range": "bytes=5-6,0-1"})
        overlapping = await client.get("/clip.bin", headers={"Range": "bytes=0-5,3-8"})
        one_left = await client.get("/clip.bin", headers={"Range": "bytes=2-3,90-99"})
    assert (miss.status_code, miss.content, miss.headers["x-cache"]) == (200, DATA, "Miss from cloudfront")
    assert hit.status_code == 206 and hit.headers["x-cache"] == "Hit from cloudfront"
    match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", hit.headers["content-type"])
    assert match is not None
    boundary = match.group(1)
    assert hit.content == (
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/20\r\n\r\n01\r\n"
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 5-6/20\r\n\r\n56\r\n"
        f"--{boundary}--\r\n").encode()
    # DG/RangeGETs: ranges out of order or overlapping get the whole object with 200.
    for whole in (disordered, overlapping):
        assert (whole.status_code, whole.content) == (200, DATA)
    assert (one_left.status_code, one_left.content, one_left.headers["content-range"]) == (206, b"23", "bytes 2-3/20")


async def test_head_with_a_range(site: Path) -> None:
    async with Distribution(site_config(site)) as dist, dist.client() as client:
        miss = await client.head("/clip.bin", headers={"Range": "bytes=2-5"})
        await client.get("/clip.bin")
        hit = await client.head("/clip.bin", headers={"Range": "bytes=2-5"})
    for r in (miss, hit):
        assert (r.status_code, r.content) == (206, b"")
        assert (r.headers["content-length"], r.headers["content-range"]) == ("4", "bytes 2-5/20")
    assert (miss.headers["x-cache"], hit.headers["x-cache"]) == ("Miss from cloudfront", "Hit from cloudfront")


async def test_if_range_against_the_cached_object(site: Path) -> None:
    async with Distribution(site_config(site)) as dist, dist.client() as client:
        etag = (await client.get("/clip.bin")).headers["etag"]
        same = await client.get("/clip.bin", headers={"Range": "bytes=0-1", "If-Range": etag})
        changed = await client.get("/clip.bin", headers={"Range": "bytes=0-1", "If-Range": '"other"'})
    assert (same.status_code, same.content) == (206, b"01")
    assert (changed.status_code, changed.content) == (200, DATA)




# --- the edge, over a custom origin ------------------------------------------------------------

API = {"origins": [{"id": "api", "url": "http://api.example.com"}], "default_cache_behavior": {"target_origin": "api"}}


def ranging_origin(seen: list[str | None], *, supports_ranges: bool = True) -> Any:
    """A custom origin that answers a single `bytes=a-b` itself with 206, or ignores Range."""
    def answer(request: Request) -> Any:
        wanted = request.headers.get("range")
        seen.append(wanted)
        headers = {"Content-Type": "video/mp4", "ETag": '"v1"', "Cache-Control": "max-age=60"}
        if wanted and supports_ranges:
            first, last = (int(n) for n in wanted.removeprefix("bytes=").split("-"))
            return 206, {**headers, "Content-Range": f"bytes {first}-{last}/20"}, DATA[first:last + 1]
        return 200, headers, DATA
    return answer


async def test_a_range_of_a_cached_error_is_the_error() -> None:
    origin = {"/gone": (404, {"Cache-Control": "max-age=60"}, "not here")}
    async with Distribution(API, origins={"api": origin}) as dist, dist.client() as client:
        await client.get("/gone")
        r = await client.get("/gone", headers={"Range": "bytes=0-1"})
    assert (r.status_code, r.text, r.headers["x-cache"]) == (404, "not here", "Error from cloudfront")
    assert "content-range" not in r.headers and origin_calls(r) == 0


async def test_a_custom_origin_that_answers_206_itself() -> None:
    seen: list[str | None] = []
    async with Distribution(API, origins={"api": ranging_origin(seen)}) as dist, dist.client() as client:
        miss = await client.get("/v.mp4", headers={"Range": "bytes=4-7"})
        hit = await client.get("/v.mp4", headers={"Range": "bytes=4-7"})
        other = await client.get("/v.mp4", headers={"Range": "bytes=0-1"})
        whole = await client.get("/v.mp4")
        from_whole = await client.get("/v.mp4", headers={"Range": "bytes=8-9"})
    # The Range reaches the origin (AD/RequestAndResponseBehaviorCustomOrigin), its 206 reaches the viewer.
    assert seen == ["bytes=4-7", "bytes=0-1", None]
    assert (miss.status_code, miss.content, miss.headers["content-range"]) == (206, b"4567", "bytes 4-7/20")
    assert (hit.status_code, hit.content, hit.headers["x-cache"]) == (206, b"4567", "Hit from cloudfront")
    assert (other.status_code, other.content, other.headers["x-cache"]) == (206, b"01", "Miss from cloudfront")
    assert (whole.status_code, whole.content, whole.headers["x-cache"]) == (200, DATA, "Miss from cloudfront")
    assert (from_whole.status_code, from_whole.content, from_whole.headers["x-cache"]) == (
        206, b"89", "Hit from cloudfront")


async def test_an_origin_without_ranges_sends_the_whole_object_then_ranges_come_from_the_cache() -> None:
    seen: list[str | None] = []
    origin = ranging_origin(seen, supports_ranges=False)
    async with Distribution(API, origins={"api": origin}) as dist, dist.client() as client:
        miss = await client.get("/v.mp4", headers={"Range": "bytes=4-7"})
        hit = await client.get("/v.mp4", headers={"Range": "bytes=4-7"})
    # DG/RangeGETs: the whole object for this request, cached; later ranges served from it.
    assert (miss.status_code, miss.content, miss.headers["x-cache"]) == (200, DATA, "Miss from cloudfront")
    assert (hit.status_code, hit.content, hit.headers["x-cache"]) == (206, b"4567", "Hit from cloudfront")
    assert seen == ["bytes=4-7"]


async def test_without_caching_the_range_goes_to_the_origin_every_time() -> None:
    seen: list[str | None] = []
    config = {**API, "default_cache_behavior": {"target_origin": "api", "cache_policy": "CachingDisabled"}}
    async with Distribution(config, origins={"api": ranging_origin(seen)}) as dist, dist.client() as client:
        for _ in range(2):
            r = await client.get("/v.mp4", headers={"Range": "bytes=1-2"})
            assert (r.status_code, r.content) == (206, b"12")
    assert seen == ["bytes=1-2", "bytes=1-2"]


async def test_an_origin_416_is_not_cached_and_keeps_the_object() -> None:
    answers = [(200, {"ETag": '"v1"', "Cache-Control": "max-age=60"}, DATA),
               (416, {"Content-Range": "bytes */20"}, b"")]
    calls: list[Request] = []

    def origin(request: Request) -> Any:
        calls.append(request)
        return answers[1] if request.headers.get("range") else answers[0]

    async with Distribution(API, origins={"api": origin}) as dist, dist.client() as client:
        bad = await client.get("/v.mp4?x", headers={"Range": "bytes=30-"})
        again = await client.get("/v.mp4?x", headers={"Range": "bytes=30-"})
        whole = await client.get("/v.mp4?x")
    assert (bad.status_code, again.status_code, len(calls)) == (416, 416, 3)
    assert (whole.status_code, whole.content) == (200, DATA)


async def test_an_origin_416_leaves_the_expired_object_to_revalidate() -> None:
    def origin(request: Request) -> Any:
        if request.uri == "/oops.html":
            return "oops"
        if request.headers.get("range"):
            return 416, {"Content-Range": "bytes */20"}, b""
        if request.headers.get("if-none-match") == '"v1"':
            return 304, {"ETag": '"v1"', "Cache-Control": "max-age=1"}, b""
        return 200, {"ETag": '"v1"', "Cache-Control": "max-age=1"}, DATA

    # A custom error page for the 416 comes back as a 200, but it is still no answer for the object.
    config = {**API, "custom_error_responses": [{"error_code": 416, "response_code": 200,
                                                 "response_page_path": "/oops.html"}]}
    async with Distribution(config, origins={"api": origin}) as dist, dist.client() as client:
        await client.get("/v.mp4")
        dist.advance(5)
        page = await client.get("/v.mp4", headers={"Range": "bytes=30-"})
        whole = await client.get("/v.mp4")
    assert (page.status_code, page.text) == (200, "oops")
    assert (whole.status_code, whole.content, whole.headers["x-cache"]) == (200, DATA, "RefreshHit from cloudfront")
