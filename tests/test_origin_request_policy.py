"""Origin request policies: what reaches the origin, Host handling, what the cache key forwards too."""

from __future__ import annotations

import pytest

from edgesim.messages import Headers, Request, Response
from edgesim.origin_request_policy import apply_origin_request_policy, set_cookies_for_viewer_and_cache
from edgesim.policies import (
    CachePolicy,
    KeyItems,
    OriginRequestPolicy,
    managed_cache_policy,
    managed_origin_request_policy,
)

VIEWER_HEADERS = [
    ("Host", "d111111abcdef8.cloudfront.net"), ("User-Agent", "curl/8"), ("Referer", "https://ref.example/"),
    ("Origin", "https://app.example"), ("Accept", "text/html"), ("Accept-Encoding", "gzip, deflate, br"),
    ("Cookie", "session=abc; theme=dark"), ("X-Custom", "1"), ("If-None-Match", '"v1"'), ("Authorization", "Bearer t"),
]
OPT = managed_cache_policy("CachingOptimized")
DISABLED = managed_cache_policy("CachingDisabled")


def viewer(method: str = "GET") -> Request:
    return Request(method, "/p", querystring="a=1&utm=x&b=2", headers=Headers(VIEWER_HEADERS))


def sent(cache: CachePolicy, orp: OriginRequestPolicy | None, method: str = "GET") -> Request:
    return apply_origin_request_policy(viewer(method), cache, orp, origin_domain="origin.example")


def test_nothing_selected() -> None:
    out = sent(DISABLED, None)
    assert out.querystring == ""
    assert dict((k.lower(), v) for k, v in out.headers) == {
        "if-none-match": '"v1"', "host": "origin.example", "user-agent": "Amazon CloudFront",
    }


def test_caching_optimized_forwards_normalised_accept_encoding() -> None:
    assert sent(OPT, None).headers.get("accept-encoding") == "br,gzip"


def test_all_viewer_forwards_everything_including_host() -> None:
    out = sent(DISABLED, managed_origin_request_policy("AllViewer"))
    assert out.querystring == "a=1&utm=x&b=2"
    assert out.headers.get("host") == "d111111abcdef8.cloudfront.net"
    assert out.headers.get("user-agent") == "curl/8"
    assert out.headers.get("cookie") == "session=abc; theme=dark"
    assert out.headers.get("x-custom") == "1"  # (cookies sorted by name, as CloudFront forwards them)
    assert out.headers.get("accept-encoding") == "gzip, deflate, br"


def test_all_viewer_except_host_uses_origin_domain() -> None:
    out = sent(DISABLED, managed_origin_request_policy("AllViewerExceptHostHeader"))
    assert out.headers.get_all("host") == ["origin.example"]
    assert out.headers.get("x-custom") == "1"


@pytest.mark.parametrize(("name", "present", "absent"), [
    ("CORS-S3Origin", {"origin"}, {"referer", "user-agent-from-viewer", "cookie"}),
    ("CORS-CustomOrigin", {"origin"}, {"referer", "cookie"}),
    ("UserAgentRefererHeaders", {"referer", "user-agent-from-viewer"}, {"origin", "cookie"}),
])
def test_managed_whitelists(name: str, present: set[str], absent: set[str]) -> None:
    out = sent(DISABLED, managed_origin_request_policy(name))
    got = {k.lower() for k, _ in out.headers}
    if out.headers.get("user-agent") == "curl/8":
        got.add("user-agent-from-viewer")
    assert present <= got
    assert not absent & got
    assert out.querystring == ""  # none of these forwards query strings


def test_cache_key_items_are_forwarded_too() -> None:
    policy = CachePolicy(headers=KeyItems(behavior="whitelist", items=("x-custom",)),
                         cookies=KeyItems(behavior="whitelist", items=("theme",)),
                         query_strings=KeyItems(behavior="allExcept", items=("utm",)))
    out = sent(policy, None)
    assert out.headers.get("x-custom") == "1"
    assert out.headers.get("cookie") == "theme=dark"
    assert out.querystring == "a=1&b=2"


def test_policies_union() -> None:
    cache = CachePolicy(query_strings=KeyItems(behavior="whitelist", items=("a",)))
    orp = OriginRequestPolicy(query_strings=KeyItems(behavior="whitelist", items=("b",)),
                              cookies=KeyItems(behavior="whitelist", items=("session",)))
    out = sent(cache, orp)
    assert out.querystring == "a=1&b=2"
    assert out.headers.get("cookie") == "session=abc"


def test_authorization_forwarded_on_uncached_methods_only() -> None:
    assert sent(DISABLED, None, "GET").headers.get("authorization") is None
    assert sent(DISABLED, None, "POST").headers.get("authorization") == "Bearer t"


def test_viewer_request_is_not_modified() -> None:
    request = viewer()
    apply_origin_request_policy(request, DISABLED, None, origin_domain="origin.example")
    assert request.headers.items() == VIEWER_HEADERS and request.querystring == "a=1&utm=x&b=2"


def _with_cookies() -> Response:
    return Response(200, Headers([("Set-Cookie", "session=new; Path=/"), ("Set-Cookie", "theme=light"),
                                  ("Set-Cookie", "other=1"), ("Content-Type", "text/plain")]), b"")


def _names(response: Response) -> list[str]:
    return [v.split("=")[0] for v in response.headers.get_all("set-cookie")]


def test_set_cookie_removed_when_no_cookie_is_forwarded() -> None:
    viewer_gets, cached = set_cookies_for_viewer_and_cache(_with_cookies(), viewer(), OPT, None)
    assert _names(viewer_gets) == [] and _names(cached) == []
    assert viewer_gets.headers.get("content-type") == "text/plain"


def test_set_cookie_cached_only_for_forwarded_cookies() -> None:
    whitelist = CachePolicy(cookies=KeyItems(behavior="whitelist", items=("theme",)))
    viewer_gets, cached = set_cookies_for_viewer_and_cache(_with_cookies(), viewer(), whitelist, None)
    assert _names(viewer_gets) == ["session", "theme", "other"]
    assert _names(cached) == ["theme"]
    # all cookies: only those the viewer sent (session, theme) are cached
    _, cached_all = set_cookies_for_viewer_and_cache(_with_cookies(), viewer(), DISABLED,
                                                     managed_origin_request_policy("AllViewer"))
    assert _names(cached_all) == ["session", "theme"]


def test_forwarded_cookies_sorted_by_name() -> None:
    request = Request("GET", "/", headers=Headers([("Cookie", "z=1; a=2")]))
    out = apply_origin_request_policy(request, CachePolicy(cookies=KeyItems(behavior="all")), None, origin_domain="o")
    assert out.headers.get("cookie") == "a=2; z=1"
