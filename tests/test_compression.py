"""Compress objects automatically: when CloudFront compresses at the edge, with what, and what the
cache keeps (edgesim/compression.py; AWS's "Serve compressed files")."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
import httpx
import pytest

from conftest import FakeFunction, FakeLoader
from edgesim.compression import decide, weak_etag
from edgesim.config import DefaultCacheBehavior
from edgesim.messages import Headers, Request, Response
from edgesim.testing import Distribution, trace_of

HTML = ("<!doctype html><title>compress me</title>" + "<p>CloudFront compresses text at the edge.</p>" * 60).encode()
PAGE = (200, {"content-type": "text/html; charset=utf-8", "etag": '"5d41402abc4b2a76"'}, HTML)


def config(**behavior: Any) -> dict[str, Any]:
    """One custom origin behind a default behavior that compresses, CachingOptimized (gzip + br) unless told."""
    return {"origins": [{"id": "app", "url": "http://app.example.com"}],
            "default_cache_behavior": {"target_origin": "app", "compress": True, **behavior}}


async def raw(dist: Distribution, path: str, method: str = "GET", **headers: str) -> tuple[httpx.Response, bytes]:
    """A viewer request through the distribution, with the body's bytes as CloudFront sent them
    (an httpx client would decode the Content-Encoding)."""
    transport = dist.viewer_transport()
    response = await transport.handle_async_request(httpx.Request(method, dist.url + path, headers=headers))
    body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
    await response.aclose()
    return response, body


# --- compressed when every condition holds ---------------------------------------------------------


async def test_gzip_when_the_viewer_accepts_gzip() -> None:
    async with Distribution(config(), origins={"app": {"/": PAGE}}) as dist:
        response, body = await raw(dist, "/", **{"Accept-Encoding": "gzip, deflate"})
        assert response.headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == HTML and len(body) < len(HTML)
        assert response.headers["content-length"] == str(len(body))
        # A strong ETag becomes weak: the two copies are semantically equivalent (ETag header conversion).
        assert response.headers["etag"] == 'W/"5d41402abc4b2a76"'
        assert response.headers["x-cache"] == "Miss from cloudfront"
        assert "compressed at the edge: gzip" in dist.last_trace.notes
        # The compressed copy is what the cache keeps: a hit serves it without asking the origin.
        again, again_body = await raw(dist, "/", **{"Accept-Encoding": "gzip"})
        assert again.headers["x-cache"] == "Hit from cloudfront" and again_body == body
        assert again.headers["etag"] == 'W/"5d41402abc4b2a76"'
        assert dist.origins["app"].count == 1


async def test_brotli_when_the_viewer_accepts_both() -> None:
    async with Distribution(config(), origins={"app": {"/": PAGE}}) as dist:
        response, body = await raw(dist, "/", **{"Accept-Encoding": "gzip, deflate, br"})
        assert response.headers["content-encoding"] == "br"
        assert brotli.decompress(body) == HTML
        assert response.headers["content-length"] == str(len(body))
        # The origin got the normalised header CloudFront keys on, not the viewer's (spec §4.2).
        assert dist.origins["app"].last.headers.get("accept-encoding") == "br,gzip"


async def test_the_httpx_client_reads_the_origins_bytes_back() -> None:
    async with Distribution(config(), origins={"app": {"/": PAGE}}) as dist, dist.client() as client:
        response = await client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip" and response.content == HTML
    assert int(response.headers["content-length"]) < len(HTML)


async def test_403_and_404_are_compressed_too() -> None:
    routes = {"/denied": (403, {"content-type": "text/html"}, HTML), "/gone": (404, {"content-type": "text/html"}, HTML)}
    async with Distribution(config(), origins={"app": routes}) as dist:
        for path in routes:
            response, body = await raw(dist, path, **{"Accept-Encoding": "gzip"})
            assert response.headers["content-encoding"] == "gzip" and gzip.decompress(body) == HTML


async def test_a_gzip_only_policy_never_uses_brotli() -> None:
    policy = {"min_ttl": 0, "default_ttl": 60, "max_ttl": 60, "enable_accept_encoding_gzip": True}
    async with Distribution(config(cache_policy=policy), origins={"app": {"/": PAGE}}) as dist:
        both, body = await raw(dist, "/", **{"Accept-Encoding": "br, gzip"})
        assert both.headers["content-encoding"] == "gzip" and gzip.decompress(body) == HTML
        br_only, body = await raw(dist, "/", **{"Accept-Encoding": "br"})
        assert "content-encoding" not in br_only.headers and body == HTML


async def test_1000_bytes_is_compressed_999_is_not() -> None:
    routes = {"/1000": (200, {"content-type": "text/plain"}, b"a" * 1000),
              "/999": (200, {"content-type": "text/plain"}, b"a" * 999)}
    async with Distribution(config(), origins={"app": routes}) as dist:
        at_least, body = await raw(dist, "/1000", **{"Accept-Encoding": "gzip"})
        assert at_least.headers["content-encoding"] == "gzip" and gzip.decompress(body) == b"a" * 1000
        under, body = await raw(dist, "/999", **{"Accept-Encoding": "gzip"})
        assert "content-encoding" not in under.headers and body == b"a" * 999


# --- not compressed when a condition fails ---------------------------------------------------------

ALREADY = gzip.compress(HTML)
NOT_COMPRESSED = {
    "compress is false": (config(compress=False), PAGE, "gzip"),
    "policy caches no compressed objects": (config(cache_policy="CachingOptimizedForUncompressedObjects"), PAGE, "gzip"),
    "caching disabled": (config(cache_policy="CachingDisabled"), PAGE, "gzip"),
    "no Accept-Encoding": (config(), PAGE, None),
    "deflate only": (config(), PAGE, "deflate"),
    "gzip refused with q=0": (config(), PAGE, "gzip;q=0, identity"),
    "origin already encoded": (config(), (200, {"content-type": "text/html", "content-encoding": "gzip"}, ALREADY), "gzip"),
    "any Content-Encoding value": (config(), (200, {"content-type": "text/html", "content-encoding": "identity"}, HTML), "gzip"),
    "type not on the list": (config(), (200, {"content-type": "image/png"}, HTML), "gzip"),
    "application/octet-stream": (config(), (200, {}, HTML), "gzip"),  # the stub's type for bytes
    "under 1,000 bytes": (config(), (200, {"content-type": "text/html"}, HTML[:999]), "gzip"),
    "status 201": (config(), (201, {"content-type": "text/html"}, HTML), "gzip"),
    "status 500": (config(), (500, {"content-type": "text/html"}, HTML), "gzip"),
    "status 410": (config(), (410, {"content-type": "text/html"}, HTML), "gzip"),
}


@pytest.mark.parametrize("case", list(NOT_COMPRESSED))
async def test_not_compressed(case: str) -> None:
    cfg, canned, accept = NOT_COMPRESSED[case]
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    async with Distribution(cfg, origins={"app": {"/": canned}}) as dist:
        response, body = await raw(dist, "/", **headers)
        notes = dist.last_trace.notes
    origin_headers = canned[1]
    assert response.headers.get("content-encoding") == origin_headers.get("content-encoding")
    assert body == canned[2] and response.headers["content-length"] == str(len(canned[2]))
    # The ETag is the origin's, untouched, when nothing was compressed.
    assert response.headers.get("etag") == origin_headers.get("etag")
    assert not any(n.startswith("compressed at the edge") for n in notes)


async def test_a_skipped_compression_says_why() -> None:
    async with Distribution(config(), origins={"app": {"/": (200, {"content-type": "image/png"}, HTML)}}) as dist, \
            dist.client() as client:
        response = await client.get("/", headers={"Accept-Encoding": "gzip"})
    assert "not compressed at the edge: Content-Type image/png is not one CloudFront compresses" in trace_of(response).notes


# --- the conditions one by one, where an origin stub cannot make the case -----------------------


def behavior(**fields: Any) -> DefaultCacheBehavior:
    return DefaultCacheBehavior(target_origin="app", compress=True, **fields)


def html(length: str | None = "5000", status: int = 200, body: bytes = HTML) -> Response:
    headers = Headers([("Content-Type", "text/html")] + ([("Content-Length", length)] if length is not None else []))
    return Response(status, headers, body)


def viewer(accept: str = "gzip", version: str = "1.1") -> Request:
    return Request("GET", "/", headers=Headers([("Accept-Encoding", accept)]), http_version=version)


@pytest.mark.parametrize(("length", "compressed"), [
    (None, False), ("", False), ("12a", False), ("-5", False), ("\u0661\u0660\u0660\u0660", False),
    ("999", False), ("1000", True), ("10000000", True), ("10000001", False),
])
def test_content_length_must_be_present_valid_and_in_range(length: str | None, compressed: bool) -> None:
    decision = decide(viewer(), html(length), behavior())
    assert (decision.coding == "gzip") is compressed, decision.reason


def test_http_1_0_is_never_compressed() -> None:
    assert decide(viewer(version="1.0"), html(), behavior()).coding is None
    assert decide(viewer(version="1.1"), html(), behavior()).coding == "gzip"


def test_a_response_without_a_body_is_not_compressed() -> None:
    decision = decide(viewer(), html(body=b""), behavior())
    assert decision.coding is None and decision.reason == "the response has no body"


@pytest.mark.parametrize(("origin", "viewer_sees"), [
    ('"abc"', 'W/"abc"'),       # strong: made weak
    ('W/"abc"', 'W/"abc"'),     # weak: as the origin sent it
    ("abc", None),              # invalid: removed
    ('"abc', None),             # UNCERTAIN in compression.py: not a valid ETag, removed
])
def test_etag_conversion(origin: str, viewer_sees: str | None) -> None:
    assert weak_etag(origin) == viewer_sees


async def test_an_invalid_etag_is_removed_from_a_compressed_response() -> None:
    canned = (200, {"content-type": "text/css", "ETag": "not-quoted"}, HTML)
    async with Distribution(config(), origins={"app": {"/": canned}}) as dist:
        response, body = await raw(dist, "/", **{"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip" and "etag" not in response.headers


# --- the cache keeps the compressed and uncompressed copies apart --------------------------------


async def test_the_cache_keeps_each_encoding_apart() -> None:
    async with Distribution(config(), origins={"app": {"/": PAGE}}) as dist:
        gz, gz_body = await raw(dist, "/", **{"Accept-Encoding": "gzip"})
        plain, plain_body = await raw(dist, "/")
        br, br_body = await raw(dist, "/", **{"Accept-Encoding": "br, gzip"})
        assert [r.headers["x-cache"] for r in (gz, plain, br)] == ["Miss from cloudfront"] * 3
        assert (gz.headers["content-encoding"], br.headers["content-encoding"]) == ("gzip", "br")
        assert "content-encoding" not in plain.headers and plain_body == HTML
        assert plain.headers["etag"] == '"5d41402abc4b2a76"'
        # Each viewer then gets its own copy from the cache.
        gz2, gz2_body = await raw(dist, "/", **{"Accept-Encoding": "gzip;q=1.0"})
        plain2, plain2_body = await raw(dist, "/", **{"Accept-Encoding": "deflate"})
        br2, br2_body = await raw(dist, "/", **{"Accept-Encoding": "gzip, br"})
        assert [r.headers["x-cache"] for r in (gz2, plain2, br2)] == ["Hit from cloudfront"] * 3
        assert (gz2_body, plain2_body, br2_body) == (gz_body, HTML, br_body)
        assert dist.origins["app"].count == 3


async def test_a_conditional_get_matches_the_weak_etag() -> None:
    async with Distribution(config(), origins={"app": {"/": PAGE}}) as dist:
        await raw(dist, "/", **{"Accept-Encoding": "gzip"})
        response, body = await raw(dist, "/", **{"Accept-Encoding": "gzip", "If-None-Match": 'W/"5d41402abc4b2a76"'})
    assert response.status_code == 304 and body == b""


# --- HEAD ------------------------------------------------------------------------------------------


async def test_head_gets_the_headers_of_the_copy_it_is_served_from() -> None:
    async with Distribution(config(), origins={"app": {"/": PAGE}}) as dist:
        # A HEAD miss: the origin's answer has no body, so there is nothing to compress.
        first, body = await raw(dist, "/", "HEAD", **{"Accept-Encoding": "gzip"})
        assert "content-encoding" not in first.headers and body == b""
        assert first.headers["content-length"] == str(len(HTML))
        # After a GET stored the compressed copy, a HEAD is a hit on it: its encoding and length.
        _, gz_body = await raw(dist, "/", **{"Accept-Encoding": "gzip"})
        head, body = await raw(dist, "/", "HEAD", **{"Accept-Encoding": "gzip"})
        assert head.headers["x-cache"] == "Hit from cloudfront" and body == b""
        assert head.headers["content-encoding"] == "gzip" and head.headers["content-length"] == str(len(gz_body))


# --- where in the request flow ---------------------------------------------------------------------


async def test_origin_response_sees_the_origins_object_viewer_response_the_compressed_one(fn_dir: Path) -> None:
    fakes = {"oresp": FakeFunction("oresp", "lambda"), "vresp": FakeFunction("vresp", "lambda")}
    functions = {"origin-response": {"lambda": str(fn_dir / "oresp.py") + ":handler"},
                 "viewer-response": {"lambda": str(fn_dir / "vresp.py") + ":handler"}}
    async with Distribution(config(functions=functions), origins={"app": {"/": PAGE}},
                            loader_factory=lambda: FakeLoader(fakes)) as dist:
        response, body = await raw(dist, "/", **{"Accept-Encoding": "gzip"})
    assert gzip.decompress(body) == HTML
    seen_at_origin_response = fakes["oresp"].calls[0].response
    assert seen_at_origin_response is not None
    assert "content-encoding" not in seen_at_origin_response.headers
    assert seen_at_origin_response.headers["etag"] == '"5d41402abc4b2a76"'
    seen_at_viewer_response = fakes["vresp"].calls[0].response
    assert seen_at_viewer_response is not None
    assert seen_at_viewer_response.headers["content-encoding"] == "gzip"
    assert seen_at_viewer_response.headers["etag"] == 'W/"5d41402abc4b2a76"'


async def test_a_refreshed_compressed_copy_keeps_its_weak_etag() -> None:
    # max-age=10 and an origin that answers the revalidation with a 304 carrying its strong ETag.
    def origin(request: Request) -> Response:
        if request.headers.get("if-none-match") in ('W/"v1"', '"v1"'):
            return Response(304, Headers([("ETag", '"v1"'), ("Cache-Control", "max-age=10")]))
        return Response(200, Headers([("Content-Type", "text/html"), ("ETag", '"v1"'),
                                      ("Cache-Control", "max-age=10")]), HTML)

    async with Distribution(config(), origins={"app": origin}) as dist:
        first, first_body = await raw(dist, "/", **{"Accept-Encoding": "gzip"})
        dist.advance(11)
        refreshed, body = await raw(dist, "/", **{"Accept-Encoding": "gzip"})
    assert refreshed.headers["x-cache"] == "RefreshHit from cloudfront"
    # CloudFront does not compress again on a 304; the stored compressed copy is served as it was.
    assert body == first_body and refreshed.headers["content-encoding"] == "gzip"
    assert refreshed.headers["etag"] == first.headers["etag"] == 'W/"v1"'


async def test_accept_encoding_listed_in_the_cache_policy_turns_compression_off() -> None:
    policy = {"min_ttl": 0, "default_ttl": 60, "max_ttl": 60, "enable_accept_encoding_gzip": True,
              "headers": {"behavior": "whitelist", "items": ["Accept-Encoding"]}}
    async with Distribution(config(cache_policy=policy), origins={"app": {"/": PAGE}}) as dist:
        response, body = await raw(dist, "/", **{"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers and body == HTML
