"""Fidelity sweep, the cache key and behavior selection (spec §4.1, §4.2): query strings, headers,
cookies, Accept-Encoding normalisation, path patterns, HEAD and conditional GETs from the cache.

Told as a team moving a distribution would check it: the same requests, the origin counting what
it gets, through the public testing API.
"""

from __future__ import annotations

from typing import Any

import pytest

from edgesim.messages import Request
from edgesim.testing import Distribution, trace_of

HIT, MISS = "Hit from cloudfront", "Miss from cloudfront"


def one_behavior(cache_policy: Any, **behavior: Any) -> dict[str, Any]:
    return {"origins": [{"id": "app", "url": "http://app.example.com"}],
            "default_cache_behavior": {"target_origin": "app", "cache_policy": cache_policy, **behavior}}


def echo(request: Request) -> tuple[int, dict[str, str], str]:
    """An origin that shows what reached it, cacheable for a minute."""
    seen = f"{request.uri}?{request.querystring}|ae={request.headers.get('accept-encoding')}"
    seen += f"|cookie={request.headers.get('cookie')}|lang={request.headers.get('accept-language')}"
    return 200, {"cache-control": "max-age=60", "etag": '"e1"',
                 "last-modified": "Wed, 01 Jan 2025 00:00:00 GMT", "content-type": "text/plain"}, seen


async def x_caches(cfg: dict[str, Any], requests: list[tuple[str, dict[str, str]]]) -> list[str]:
    async with Distribution(cfg, origins={"app": echo}) as dist, dist.client() as client:
        return [(await client.get(path, headers=headers)).headers["x-cache"] for path, headers in requests]


# --- query strings ------------------------------------------------------------------------------


async def test_query_strings_none_share_one_object_and_are_not_forwarded() -> None:
    cfg = one_behavior({"query_strings": {"behavior": "none"}})
    async with Distribution(cfg, origins={"app": echo}) as dist, dist.client() as client:
        first = await client.get("/p?utm_source=a")
        second = await client.get("/p?utm_source=b")
        assert second.headers["x-cache"] == HIT and first.text.startswith("/p?|")
        assert dist.origins["app"].paths == ["/p"]


@pytest.mark.parametrize(("items", "behavior", "a", "b", "same"), [
    (["v"], "whitelist", "/p?v=1&utm=x", "/p?utm=y&v=1", True),    # only v keys
    (["v"], "whitelist", "/p?v=1", "/p?v=2", False),
    (["v"], "whitelist", "/p?v=1", "/p?V=1", False),               # names are case-sensitive
    (["utm"], "allExcept", "/p?id=1&utm=a", "/p?id=1&utm=b", True),
    (["utm"], "allExcept", "/p?id=1", "/p?id=2", False),
    ([], "all", "/p?a=1&b=2", "/p?a=1&b=2", True),
    ([], "all", "/p?a=1&b=2", "/p?b=2&a=1", False),                # order matters (AD/QueryStringParameters)
    ([], "all", "/p?a=x", "/p?a=X", False),                        # values are case-sensitive
])
async def test_query_strings_in_the_key(items: list[str], behavior: str, a: str, b: str, same: bool) -> None:
    qs: dict[str, Any] = {"behavior": behavior, **({"items": items} if items else {})}
    results = await x_caches(one_behavior({"query_strings": qs}), [(a, {}), (b, {})])
    assert results == [MISS, HIT if same else MISS]


async def test_whitelisted_query_strings_reach_the_origin_in_the_viewers_order() -> None:
    cfg = one_behavior({"query_strings": {"behavior": "whitelist", "items": ["b", "a"]}})
    async with Distribution(cfg, origins={"app": echo}) as dist, dist.client() as client:
        await client.get("/p?a=1&utm=x&b=2")
        assert dist.origins["app"].paths == ["/p?a=1&b=2"]


# --- headers, cookies, Accept-Encoding -----------------------------------------------------------


async def test_whitelisted_header_keys_by_value_and_name_case_does_not_matter() -> None:
    cfg = one_behavior({"headers": {"behavior": "whitelist", "items": ["Accept-Language"]}})
    results = await x_caches(cfg, [("/p", {"accept-language": "fr"}), ("/p", {"ACCEPT-LANGUAGE": "fr"}),
                                   ("/p", {"accept-language": "de"}), ("/p", {"accept-language": "FR"})])
    assert results == [MISS, HIT, MISS, MISS]


async def test_headers_outside_the_key_do_not_split_the_cache() -> None:
    results = await x_caches(one_behavior("CachingOptimized"),
                             [("/p", {"accept-language": "fr", "user-agent": "a"}),
                              ("/p", {"accept-language": "de", "user-agent": "b"})])
    assert results == [MISS, HIT]


async def test_whitelisted_cookies_key_and_others_do_not() -> None:
    cfg = one_behavior({"cookies": {"behavior": "whitelist", "items": ["session"]}})
    async with Distribution(cfg, origins={"app": echo}) as dist, dist.client() as client:
        first = await client.get("/p", headers={"cookie": "session=1; _ga=abc"})
        assert first.text.endswith("cookie=session=1|lang=None")  # only the listed cookie reaches the origin
        assert (await client.get("/p", headers={"cookie": "_ga=zzz; session=1"})).headers["x-cache"] == HIT
        assert (await client.get("/p", headers={"cookie": "session=2"})).headers["x-cache"] == MISS
        assert (await client.get("/p", headers={"cookie": "Session=1"})).headers["x-cache"] == MISS  # case-sensitive


@pytest.mark.parametrize(("a", "b", "same"), [
    ("gzip, deflate, br", "br,gzip", True),          # both normalised to br,gzip
    ("gzip;q=1.0, identity", "deflate, gzip", True),  # both gzip
    ("gzip", "br, gzip", False),
    ("identity", "deflate", True),                   # neither: no compressed variant
    ("br;q=0, gzip", "gzip", True),                  # a refused coding does not count
])
async def test_accept_encoding_is_normalised_into_the_key(a: str, b: str, same: bool) -> None:
    results = await x_caches(one_behavior("CachingOptimized"), [("/p", {"accept-encoding": a}),
                                                                ("/p", {"accept-encoding": b})])
    assert results == [MISS, HIT if same else MISS]


async def test_the_origin_gets_the_normalised_accept_encoding() -> None:
    async with Distribution(one_behavior("CachingOptimized"), origins={"app": echo}) as dist, dist.client() as c:
        assert "|ae=br,gzip|" in (await c.get("/p", headers={"accept-encoding": "gzip, deflate, br, zstd"})).text
        assert "|ae=None|" in (await c.get("/q", headers={"accept-encoding": "deflate"})).text


# --- path patterns (spec §4.1) -----------------------------------------------------------------


def routed() -> dict[str, Any]:
    policy = {"default_ttl": 60}
    return {
        "origins": [{"id": "app", "url": "http://app.example.com"}, {"id": "media", "url": "http://media.example.com"},
                    {"id": "api", "url": "http://api.example.com"}],
        "cache_behaviors": [
            {"path_pattern": "/api/v?/*", "target_origin": "api", "cache_policy": "CachingDisabled"},
            {"path_pattern": "/images/*", "target_origin": "app", "cache_policy": policy},
            {"path_pattern": "*.jpg", "target_origin": "media", "cache_policy": policy},
        ],
        "default_cache_behavior": {"target_origin": "app", "cache_policy": policy},
    }


@pytest.mark.parametrize(("path", "pattern", "origin"), [
    ("/images/cat.jpg", "/images/*", "app"),          # first match in order wins over *.jpg
    ("/photos/2024/cat.jpg", "*.jpg", "media"),      # * crosses /
    ("/photos/cat.JPG", "*", "app"),                 # case-sensitive: falls to the default
    ("/Images/cat.png", "*", "app"),
    ("/api/v1/users", "/api/v?/*", "api"),           # ? is one character
    ("/api/v10/users", "*", "app"),
    ("/images/a.jpg?size=1.jpg", "/images/*", "app"),  # the query string is not matched
])
async def test_path_patterns_first_match_in_order(path: str, pattern: str, origin: str) -> None:
    stubs = {o: (lambda r, o=o: f"from {o}") for o in ("app", "media", "api")}
    async with Distribution(routed(), origins=stubs) as dist, dist.client() as client:
        response = await client.get(path)
        assert trace_of(response).behavior == pattern and response.text == f"from {origin}"


# --- HEAD and conditional GETs from the cache ----------------------------------------------------


async def test_head_after_get_is_a_hit_without_a_body() -> None:
    async with Distribution(one_behavior("CachingOptimized"), origins={"app": echo}) as dist, dist.client() as c:
        got = await c.get("/p")
        head = await c.head("/p")
        assert head.headers["x-cache"] == HIT and head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"]
        assert head.headers["etag"] == '"e1"' and dist.origins["app"].count == 1


@pytest.mark.parametrize(("headers", "status"), [
    ({"if-none-match": '"e1"'}, 304),
    ({"if-none-match": 'W/"e1"'}, 304),               # weak comparison for If-None-Match
    ({"if-none-match": '"other", "e1"'}, 304),
    ({"if-none-match": "*"}, 304),
    ({"if-none-match": '"other"'}, 200),
    ({"if-modified-since": "Wed, 01 Jan 2025 00:00:00 GMT"}, 304),
    ({"if-modified-since": "Tue, 31 Dec 2024 23:59:59 GMT"}, 200),
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    ({"if-none-match": '"other"', "if-modified-since": "Wed, 01 Jan 2025 00:00:00 GMT"}, 200),
])
async def test_conditional_get_answered_from_the_cache(headers: dict[str, str], status: int) -> None:
    async with Distribution(one_behavior("CachingOptimized"), origins={"app": echo}) as dist, dist.client() as c:
        await c.get("/p")
        for method in ("GET", "HEAD"):
            response = await c.request(method, "/p", headers=headers)
            assert response.status_code == status and response.headers["x-cache"] == HIT
            if status == 304:
                assert response.content == b"" and response.headers["etag"] == '"e1"'
        assert dist.origins["app"].count == 1
