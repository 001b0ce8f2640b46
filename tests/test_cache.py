"""The edge cache: key composition per policy, TTL arithmetic, expiry on a test clock, invalidation."""

from __future__ import annotations

import pytest

from edgesim.cache import (
    EdgeCache,
    InvalidationPathError,
    LookupKind,
    ManualClock,
    compute_ttl,
    merge_not_modified,
)
from edgesim.cache_key import CacheKey, cache_key, is_cached_method, normalize_accept_encoding
from edgesim.messages import Headers, Request, Response
from edgesim.policies import CachePolicy, KeyItems, managed_cache_policy


def req(uri: str = "/a", query: str = "", method: str = "GET", **headers: str) -> Request:
    return Request(method=method, uri=uri, querystring=query,
                   headers=Headers([(k.replace("_", "-"), v) for k, v in headers.items()]))


def resp(status: int = 200, **headers: str) -> Response:
    return Response(status, Headers([(k.replace("_", "-"), v) for k, v in headers.items()]), b"body")


# --- key composition --------------------------------------------------------------------------

OPTIMIZED = managed_cache_policy("CachingOptimized")


def test_caching_optimized_keys_on_path_and_encoding_only() -> None:
    a = cache_key(req("/x", "v=1", cookie="s=1", accept_encoding="gzip, br"), OPTIMIZED)
    b = cache_key(req("/x", "v=2", cookie="s=2", accept_encoding="br;q=1, gzip"), OPTIMIZED)
    assert a == b
    assert cache_key(req("/x", accept_encoding="gzip"), OPTIMIZED) != a
    assert cache_key(req("/y", accept_encoding="gzip, br"), OPTIMIZED) != a


def test_managed_policy_found_by_id() -> None:
    assert managed_cache_policy("658327ea-f89d-4fab-a63d-7e88639e58f6") is OPTIMIZED


@pytest.mark.parametrize(("value", "gzip", "brotli", "expected"), [
    ("gzip, deflate, br", True, True, "br,gzip"),
    ("gzip, deflate, br", True, False, "gzip"),
    ("br", True, False, ""),
    ("deflate, identity", True, True, ""),
    ("GZIP", True, True, "gzip"),
    ("gzip;q=0, br", True, True, "br"),
    (None, True, True, ""),
])
def test_accept_encoding_normalisation(value: str | None, gzip: bool, brotli: bool, expected: str) -> None:
    assert normalize_accept_encoding(value, gzip=gzip, brotli=brotli) == expected


@pytest.mark.parametrize(("items", "q1", "q2", "same"), [
    (KeyItems(behavior="none"), "a=1", "a=2", True),
    (KeyItems(behavior="all"), "a=1", "a=2", False),
    (KeyItems(behavior="all"), "a=1&b=2", "b=2&a=1", False),  # order matters
    (KeyItems(behavior="whitelist", items=("a",)), "a=1&b=1", "a=1&b=2", True),
    (KeyItems(behavior="whitelist", items=("a",)), "a=1", "a=2", False),
    (KeyItems(behavior="whitelist", items=("a",)), "A=1", "A=2", True),  # names are case-sensitive
    (KeyItems(behavior="allExcept", items=("utm",)), "p=1&utm=x", "p=1&utm=y", True),
    (KeyItems(behavior="allExcept", items=("utm",)), "p=1&utm=x", "p=2&utm=x", False),
])
def test_query_strings_in_key(items: KeyItems, q1: str, q2: str, same: bool) -> None:
    policy = CachePolicy(query_strings=items)
    assert (cache_key(req(query=q1), policy) == cache_key(req(query=q2), policy)) is same


@pytest.mark.parametrize(("items", "c1", "c2", "same"), [
    (KeyItems(behavior="none"), "s=1", "s=2", True),
    (KeyItems(behavior="all"), "s=1", "s=2", False),
    (KeyItems(behavior="all"), "a=1; b=2", "b=2; a=1", True),  # cookie order does not matter
    (KeyItems(behavior="whitelist", items=("s",)), "s=1; t=1", "s=1; t=2", True),
    (KeyItems(behavior="allExcept", items=("t",)), "s=1; t=1", "s=1; t=2", True),
    (KeyItems(behavior="allExcept", items=("t",)), "s=1; t=1", "s=2; t=1", False),
])
def test_cookies_in_key(items: KeyItems, c1: str, c2: str, same: bool) -> None:
    policy = CachePolicy(cookies=items)
    assert (cache_key(req(cookie=c1), policy) == cache_key(req(cookie=c2), policy)) is same


def test_whitelisted_headers_in_key_case_insensitively() -> None:
    policy = CachePolicy(headers=KeyItems(behavior="whitelist", items=("X-Tenant",)))
    assert cache_key(req(x_tenant="a", x_other="1"), policy) == cache_key(req(**{"X-TENANT": "a"}), policy)
    assert cache_key(req(x_tenant="a"), policy) != cache_key(req(x_tenant="b"), policy)


def test_options_cached_apart_from_get_and_head_together() -> None:
    assert cache_key(req(method="HEAD"), OPTIMIZED) == cache_key(req(method="GET"), OPTIMIZED)
    assert cache_key(req(method="OPTIONS"), OPTIMIZED) != cache_key(req(method="GET"), OPTIMIZED)


@pytest.mark.parametrize(("method", "cached", "expected"), [
    ("GET", ("GET", "HEAD"), True), ("HEAD", ("GET", "HEAD"), True),
    ("OPTIONS", ("GET", "HEAD"), False), ("OPTIONS", ("GET", "HEAD", "OPTIONS"), True),
    ("POST", ("GET", "HEAD", "OPTIONS"), False), ("DELETE", ("GET", "HEAD"), False),
])
def test_cached_methods(method: str, cached: tuple[str, ...], expected: bool) -> None:
    assert is_cached_method(method, cached) is expected


# --- TTL arithmetic ---------------------------------------------------------------------------

NOW = 1_767_225_600.0
EXPIRES_IN_60 = "Thu, 01 Jan 2026 00:01:00 GMT"
P = CachePolicy(min_ttl=0, default_ttl=100, max_ttl=1000)
P_MIN = CachePolicy(min_ttl=30, default_ttl=100, max_ttl=1000)


@pytest.mark.parametrize(("policy", "response", "expected"), [
    (P, resp(), 100),                                                        # nothing said: default
    (P, resp(cache_control="max-age=50"), 50),
    (P, resp(cache_control="max-age=50, s-maxage=70"), 70),                   # s-maxage first
    (P, resp(cache_control="max-age=5000"), 1000),                            # clamp to max
    (P_MIN, resp(cache_control="max-age=5"), 30),                             # clamp to min
    (P, resp(expires=EXPIRES_IN_60), 60),
    (P, resp(expires=EXPIRES_IN_60, cache_control="max-age=10"), 10),         # max-age beats Expires
    (P, resp(expires="0"), 0),                                                # invalid Expires: expired
    (P, resp(cache_control="no-store"), 0),
    (P, resp(cache_control="no-cache"), 0),
    (P, resp(cache_control="private, max-age=60"), 0),
    (P_MIN, resp(cache_control="no-store"), 30),                              # MinTTL > 0 wins
    (P, resp(cache_control='no-cache="Set-Cookie", max-age=40'), 40),         # field-scoped no-cache
    (managed_cache_policy("CachingDisabled"), resp(cache_control="max-age=60"), 0),
    (managed_cache_policy("CachingOptimized"), resp(cache_control="max-age=0"), 1),
    (P, resp(301), 100),
    (P, resp(304), 0),
    (P, resp(404), 10),                                                       # always-cached error
    (P, resp(404, cache_control="max-age=60"), 60),
    (P, resp(503, cache_control="max-age=2"), 10),
    (P, resp(403), 0),                                                        # only with max-age
    (P, resp(403, cache_control="max-age=30"), 30),
    (P, resp(401), 0),
    (P, resp(429, cache_control="max-age=30"), 0),
])
def test_ttl(policy: CachePolicy, response: Response, expected: float) -> None:
    assert compute_ttl(response, policy, now=NOW) == expected


def test_error_caching_min_ttl_from_custom_error_response() -> None:
    assert compute_ttl(resp(404), P, now=NOW, error_caching_min_ttl=0) == 0
    assert compute_ttl(resp(500), P, now=NOW, error_caching_min_ttl=300) == 300


# --- lookup, expiry, revalidation -------------------------------------------------------------


def test_hit_until_expiry_then_stale_then_miss_without_validators() -> None:
    clock = ManualClock(NOW)
    cache = EdgeCache(clock)
    key = CacheKey("GET", "/a")
    assert cache.lookup(key).kind is LookupKind.MISS
    cache.store(key, resp(), 60)
    clock.advance(59)
    found = cache.lookup(key)
    assert found.kind is LookupKind.HIT and found.entry is not None
    assert cache.serve(found.entry).headers.get("Age") == "59"
    clock.advance(1)
    stale = cache.lookup(key)
    assert stale.kind is LookupKind.STALE and stale.entry is not None
    assert not stale.entry.revalidatable


def test_revalidation_with_etag_and_last_modified() -> None:
    clock = ManualClock(NOW)
    cache = EdgeCache(clock)
    key = CacheKey("GET", "/a")
    cache.store(key, resp(etag='"v1"', last_modified="Wed, 31 Dec 2025 00:00:00 GMT", x_body="kept"), 10)
    clock.advance(11)
    stale = cache.lookup(key)
    assert stale.kind is LookupKind.STALE and stale.entry is not None and stale.entry.revalidatable
    assert stale.entry.conditional_headers() == [
        ("If-None-Match", '"v1"'), ("If-Modified-Since", "Wed, 31 Dec 2025 00:00:00 GMT")]
    merged = merge_not_modified(stale.entry.response, resp(304, cache_control="max-age=5", etag='"v1"'))
    assert merged.status == 200 and merged.body == b"body" and merged.headers.get("x-body") == "kept"
    assert merged.headers.get("cache-control") == "max-age=5"
    cache.store(key, merged, 5)
    assert cache.lookup(key).kind is LookupKind.HIT


def test_store_zero_ttl_drops_old_copy() -> None:
    cache = EdgeCache(ManualClock(NOW))
    key = CacheKey("GET", "/a")
    cache.store(key, resp(), 60)
    assert cache.store(key, resp(), 0) is None
    assert cache.lookup(key).kind is LookupKind.MISS


def test_stored_response_is_a_copy() -> None:
    cache = EdgeCache(ManualClock(NOW))
    key = CacheKey("GET", "/a")
    original = resp(x_a="1")
    cache.store(key, original, 60)
    original.headers.set("x-a", "changed")
    entry = cache.lookup(key).entry
    assert entry is not None
    served = cache.serve(entry)
    served.headers.set("x-a", "viewer-response edit")
    assert cache.serve(entry).headers.get("x-a") == "1"


def test_lru_bound() -> None:
    cache = EdgeCache(ManualClock(NOW), max_entries=2)
    a, b, c = (CacheKey("GET", p) for p in ("/a", "/b", "/c"))
    cache.store(a, resp(), 60)
    cache.store(b, resp(), 60)
    cache.lookup(a)  # a is now the most recently used
    cache.store(c, resp(), 60)
    assert len(cache) == 2
    assert cache.lookup(b).kind is LookupKind.MISS
    assert cache.lookup(a).kind is LookupKind.HIT


# --- invalidation -----------------------------------------------------------------------------


def _filled() -> EdgeCache:
    cache = EdgeCache(ManualClock(NOW))
    for path in ("/index.html", "/images/a.jpg", "/images/b/c.jpg", "/images2/x.png", "/img?size=1", "/img?size=2"):
        uri, _, query = path.partition("?")
        cache.store(CacheKey("GET", uri, tuple(query.split("&")) if query else ()), resp(), 60, path=path)
    return cache


@pytest.mark.parametrize(("paths", "removed"), [
    (["/index.html"], 1),
    (["index.html"], 1),                 # leading slash optional
    (["/images/*"], 2),
    (["/images*"], 3),                   # prefix, not a directory
    (["/img"], 2),                       # every query-string variant
    (["/img?size=1"], 1),
    (["/*"], 6),
    (["/nothing"], 0),
    (["/Index.html"], 0),                # case-sensitive
    (["/index.html", "/images/*"], 3),
])
def test_invalidation(paths: list[str], removed: int) -> None:
    cache = _filled()
    assert cache.invalidate(paths) == removed
    assert len(cache) == 6 - removed


@pytest.mark.parametrize("path", ["/images/*.jpg", "/*/a", ""])
def test_invalidation_path_errors(path: str) -> None:
    with pytest.raises(InvalidationPathError):
        _filled().invalidate([path])


def test_clear() -> None:
    cache = _filled()
    assert cache.clear() == 6
    assert len(cache) == 0


def test_manual_clock_refuses_going_back() -> None:
    with pytest.raises(ValueError):
        ManualClock().advance(-1)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"if_none_match": '"v1"'}, 304),
    ({"if_none_match": 'W/"v1", "v2"'}, 304),
    ({"if_none_match": "*"}, 304),
    ({"if_none_match": '"v2"'}, None),
    ({"if_modified_since": "Wed, 31 Dec 2025 00:00:00 GMT"}, 304),
    ({"if_modified_since": "Tue, 30 Dec 2025 00:00:00 GMT"}, None),
    ({}, None),
])
def test_viewer_conditional_get(headers: dict[str, str], expected: int | None) -> None:
    from edgesim.cache import viewer_not_modified

    cached = resp(etag='"v1"', last_modified="Wed, 31 Dec 2025 00:00:00 GMT", content_type="text/plain")
    out = viewer_not_modified(req(**headers), cached)
    assert (out.status if out else None) == expected
    if out is not None:
        assert out.body == b"" and out.headers.get("etag") == '"v1"' and out.headers.get("content-type") is None
