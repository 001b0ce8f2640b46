"""Fidelity sweep, what CloudFront does to headers and statuses between viewer and origin
(AD/DG RequestAndResponseBehaviorCustomOrigin, its "HTTP request headers and CloudFront behavior"
table and "HTTP response headers that CloudFront removes or replaces"; spec §2.6, §3, §4).
Each test is one rule, run in-process against a recording origin stub.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from edgesim.messages import Headers, Request, Response
from edgesim.testing import Distribution

ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]


def config(**behavior: Any) -> dict[str, Any]:
    return {
        "origins": [{"id": "app", "url": "http://app.example.com"}],
        "default_cache_behavior": {"target_origin": "app", "allowed_methods": ALL_METHODS,
                                   "cache_policy": {"default_ttl": 60}, **behavior},
    }


def ok(request: Request) -> Response:
    return Response(200, Headers([("Content-Type", "text/plain")]), b"ok")


async def origin_saw(cfg: Mapping[str, Any], method: str = "GET", path: str = "/a",
                     headers: Mapping[str, str] | None = None, content: bytes | None = None) -> Request:
    async with Distribution(cfg, origins={"app": ok}) as dist, dist.client() as client:
        response = await client.request(method, path, headers=dict(headers or {}), content=content)
        assert response.status_code == 200, response.text
        return dist.origins["app"].last


async def viewer_gets(answer: Any, path: str = "/a", cfg: Mapping[str, Any] | None = None,
                      method: str = "GET", headers: Mapping[str, str] | None = None) -> Any:
    async with Distribution(cfg or config(), origins={"app": answer}) as dist, dist.client() as client:
        return await client.request(method, path, headers=dict(headers or {}))


# --- request headers CloudFront removes, whatever the policies forward ---------------------------

@pytest.mark.parametrize("name", ["Expect", "Proxy-Authorization", "Proxy-Connection", "TE", "Trailer",
                                  "Upgrade", "X-Real-IP", "X-Forwarded-Proto", "Keep-Alive"])
async def test_removed_request_headers_never_reach_the_origin(name: str) -> None:
    seen = await origin_saw(config(origin_request_policy="AllViewer"), headers={name: "x"})
    assert name.lower() not in seen.headers


async def test_x_edge_headers_are_removed_even_when_all_viewer_headers_are_forwarded() -> None:
    # "CloudFront removes all X-Edge-* headers" (the headers table).
    seen = await origin_saw(config(origin_request_policy="AllViewer"),
                            headers={"X-Edge-Location": "x", "X-Edge-Anything": "y", "X-Other": "z"})
    assert "x-edge-location" not in seen.headers and "x-edge-anything" not in seen.headers
    assert seen.headers.get("x-other") == "z"


async def test_connection_is_replaced_with_keep_alive() -> None:
    # "CloudFront replaces this header with Connection: Keep-Alive" (the headers table).
    seen = await origin_saw(config(origin_request_policy="AllViewer"), headers={"Connection": "close"})
    assert seen.headers.get_all("connection") == ["Keep-Alive"]
    seen = await origin_saw(config())
    assert seen.headers.get_all("connection") == ["Keep-Alive"]


async def test_viewer_x_amz_cf_id_is_replaced_by_cloudfronts() -> None:
    seen = await origin_saw(config(origin_request_policy="AllViewer"), headers={"X-Amz-Cf-Id": "forged"})
    ids = seen.headers.get_all("x-amz-cf-id")
    assert len(ids) == 1 and ids[0] != "forged" and len(ids[0]) == 56


# --- headers CloudFront sets or adds -------------------------------------------------------------

async def test_host_is_the_origin_domain_unless_forwarded() -> None:
    assert (await origin_saw(config())).headers.get_all("host") == ["app.example.com"]
    forwarded = await origin_saw(config(origin_request_policy="AllViewer"))
    assert forwarded.headers.get_all("host") == ["d111111abcdef8.cloudfront.net"]


async def test_user_agent_is_amazon_cloudfront_unless_forwarded() -> None:
    seen = await origin_saw(config(), headers={"User-Agent": "curl/8"})
    assert seen.headers.get_all("user-agent") == ["Amazon CloudFront"]
    seen = await origin_saw(config(origin_request_policy="AllViewer"), headers={"User-Agent": "curl/8"})
    assert seen.headers.get_all("user-agent") == ["curl/8"]


async def test_x_forwarded_for_gets_the_viewer_address_appended() -> None:
    assert (await origin_saw(config())).headers.get_all("x-forwarded-for") == ["127.0.0.1"]
    seen = await origin_saw(config(), headers={"X-Forwarded-For": "192.0.2.4, 192.0.2.3"})
    assert seen.headers.get_all("x-forwarded-for") == ["192.0.2.4, 192.0.2.3, 127.0.0.1"]


async def test_via_is_added_after_the_viewers_own() -> None:
    seen = await origin_saw(config())
    [via] = seen.headers.get_all("via")
    assert via.startswith("2.0 ") and via.endswith(".cloudfront.net (CloudFront)")
    # "Via: CloudFront forwards the header to your origin" (the headers table); CloudFront's own
    # is appended, as a proxy does (RFC 9110 §7.6.3).
    seen = await origin_saw(config(), headers={"Via": "1.1 proxy.example"})
    assert seen.headers.get_all("via") == [f"1.1 proxy.example, {via}"]


async def test_max_forwards_and_conditional_headers_are_forwarded_without_a_policy() -> None:
    seen = await origin_saw(config(), headers={"Max-Forwards": "3", "If-None-Match": '"v"', "Accept": "x/y",
                                               "Referer": "https://r.example/", "X-Custom": "1"})
    assert seen.headers.get("max-forwards") == "3" and seen.headers.get("if-none-match") == '"v"'
    for dropped in ("accept", "referer", "x-custom"):
        assert dropped not in seen.headers


# "If-Modified-Since and If-None-Match conditional requests are not supported when CloudFront is
# configured to forward cookies (all or a subset)" (AD/DG Cookies): the viewer's validators stay at
# the edge, whether the cache policy or only the origin request policy forwards the cookies (re:Post
# QUDFUW5ogHQluei1-DZJp-iw; curiousprogrammer.net 2024-09-03 saw them missing at the origin).
@pytest.mark.parametrize("cookies", [
    {"cache_policy": {"default_ttl": 60, "cookies": {"behavior": "all"}}},
    {"cache_policy": {"default_ttl": 60, "cookies": {"behavior": "whitelist", "items": ["session"]}}},
    {"origin_request_policy": {"cookies": {"behavior": "all"}}},
])
async def test_conditional_headers_are_not_forwarded_when_cookies_are(cookies: dict[str, Any]) -> None:
    seen = await origin_saw(config(**cookies), headers={
        "Cookie": "session=s", "If-None-Match": '"v"', "If-Modified-Since": "Wed, 01 Jan 2025 00:00:00 GMT",
        "If-Match": '"v"'})
    assert "if-none-match" not in seen.headers and "if-modified-since" not in seen.headers
    assert seen.headers.get("if-match") == '"v"'  # only the two the page names


async def test_cookie_only_when_a_policy_forwards_cookies() -> None:
    assert "cookie" not in (await origin_saw(config(), headers={"Cookie": "a=1"})).headers
    seen = await origin_saw(config(cache_policy={"default_ttl": 60, "cookies": {"behavior": "all"}}),
                            headers={"Cookie": "b=2; a=1"})
    assert seen.headers.get("cookie") == "a=1; b=2"


# --- Authorization ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_authorization_is_removed_on_get_and_head_unless_forwarded(method: str) -> None:
    seen = await origin_saw(config(), method=method, headers={"Authorization": "Bearer t"})
    assert "authorization" not in seen.headers


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_authorization_is_forwarded_on_methods_cloudfront_never_caches(method: str) -> None:
    seen = await origin_saw(config(), method=method, headers={"Authorization": "Bearer t"})
    assert seen.headers.get("authorization") == "Bearer t"


async def test_authorization_on_options_is_removed_when_options_responses_are_cached() -> None:
    # "For OPTIONS requests ... forward the Authorization header [and] configure CloudFront to not
    # cache the response to OPTIONS requests" (Authentication).
    policy = {"default_ttl": 60, "headers": {"behavior": "whitelist", "items": ["Authorization"]}}
    not_cached = await origin_saw(config(cache_policy=policy), method="OPTIONS", headers={"Authorization": "Bearer t"})
    assert not_cached.headers.get("authorization") == "Bearer t"
    cached = await origin_saw(config(cache_policy=policy, cached_methods=["GET", "HEAD", "OPTIONS"]),
                              method="OPTIONS", headers={"Authorization": "Bearer t"})
    assert "authorization" not in cached.headers
    get = await origin_saw(config(cache_policy=policy, cached_methods=["GET", "HEAD", "OPTIONS"]),
                           headers={"Authorization": "Bearer t"})
    assert get.headers.get("authorization") == "Bearer t"


# --- methods and bodies ----------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_request_bodies_are_forwarded_with_their_length(method: str) -> None:
    seen = await origin_saw(config(), method=method, content=b"payload",
                            headers={"Content-Type": "application/json"})
    assert seen.body == b"payload" and seen.method == method
    assert seen.headers.get("content-length") == "7" and seen.headers.get("content-type") == "application/json"


async def test_get_with_a_body_is_403() -> None:
    async with Distribution(config(), origins={"app": ok}) as dist, dist.client() as client:
        response = await client.request("GET", "/a", content=b"x")
        assert response.status_code == 403 and dist.origins["app"].count == 0


async def test_options_goes_to_the_origin() -> None:
    seen = await origin_saw(config(), method="OPTIONS")
    assert seen.method == "OPTIONS"


# --- response headers CloudFront removes or replaces ----------------------------------------------

def hop_by_hop_answer(request: Request) -> Response:
    return Response(200, Headers([("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"), ("Trailer", "X-T"),
                                  ("Upgrade", "h2c"), ("Proxy-Authenticate", "Basic"), ("Server", "nginx"),
                                  ("Via", "1.1 varnish"), ("X-Cache", "HIT"), ("Content-Type", "text/plain")]),
                    b"body")


async def test_hop_by_hop_response_headers_are_removed_and_via_x_cache_replaced() -> None:
    response = await viewer_gets(hop_by_hop_answer)
    for name in ("connection", "keep-alive", "trailer", "upgrade", "proxy-authenticate"):
        assert name not in response.headers
    assert response.headers["server"] == "nginx"  # the origin's own is kept
    assert response.headers.get_list("via") == [response.headers["via"]]
    assert response.headers["via"].startswith("1.1 ") and response.headers["via"].endswith(".cloudfront.net (CloudFront)")
    assert response.headers["x-cache"] == "Miss from cloudfront"
    assert response.headers["content-length"] == "4"


def vary_answer(request: Request) -> Response:
    return Response(200, Headers([("Vary", "Accept-Encoding, Origin, X-Device"), ("Vary", "Cookie, Accept-Language"),
                                  ("Cache-Control", "max-age=60")]), b"v")


async def test_vary_keeps_only_what_cloudfront_forwards() -> None:
    # "If you configure your origin to include any other values in the Vary header, CloudFront
    # removes the values" (HTTP response headers that CloudFront removes or replaces).
    response = await viewer_gets(vary_answer)
    assert response.headers.get_list("vary") == ["Accept-Encoding", "Cookie"]
    policy = {"default_ttl": 60, "headers": {"behavior": "whitelist", "items": ["X-Device"]}}
    response = await viewer_gets(vary_answer, cfg=config(cache_policy=policy))
    assert response.headers.get_list("vary") == ["Accept-Encoding, X-Device", "Cookie"]
    response = await viewer_gets(vary_answer, cfg=config(origin_request_policy="AllViewer"))
    assert response.headers.get_list("vary") == ["Accept-Encoding, Origin, X-Device", "Cookie, Accept-Language"]


async def test_vary_user_agent_stays_when_device_headers_are_forwarded() -> None:
    def answer(request: Request) -> Response:
        return Response(200, Headers([("Vary", "User-Agent")]), b"v")

    assert "vary" not in (await viewer_gets(answer)).headers
    policy = {"default_ttl": 60, "headers": {"behavior": "whitelist", "items": ["CloudFront-Is-Mobile-Viewer"]}}
    assert (await viewer_gets(answer, cfg=config(cache_policy=policy))).headers["vary"] == "User-Agent"


async def test_vary_star_is_kept() -> None:
    def answer(request: Request) -> Response:
        return Response(200, Headers([("Vary", "*")]), b"v")

    assert (await viewer_gets(answer)).headers["vary"] == "*"


# --- statuses ----------------------------------------------------------------------------------------

async def test_redirects_are_passed_through_and_cached_not_followed() -> None:
    def answer(request: Request) -> Response:
        return Response(302, Headers([("Location", "/new"), ("Cache-Control", "max-age=60")]), b"")

    async with Distribution(config(), origins={"app": answer}) as dist, dist.client() as client:
        first = await client.get("/old")
        second = await client.get("/old")
        assert first.status_code == second.status_code == 302 and first.headers["location"] == "/new"
        assert second.headers["x-cache"] == "Hit from cloudfront" and dist.origins["app"].count == 1


async def test_origin_5xx_reaches_the_viewer_as_an_error() -> None:
    def answer(request: Request) -> Response:
        return Response(503, Headers([("Content-Type", "text/plain")]), b"down")

    response = await viewer_gets(answer)
    assert response.status_code == 503 and response.text == "down"
    assert response.headers["x-cache"] == "Error from cloudfront"


async def test_a_304_to_the_viewers_conditional_request_is_passed_on_not_cached() -> None:
    def answer(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304, Headers([("ETag", '"v1"')]), b"")
        return Response(200, Headers([("ETag", '"v1"'), ("Cache-Control", "max-age=60")]), b"full")

    async with Distribution(config(), origins={"app": answer}) as dist, dist.client() as client:
        conditional = await client.get("/a", headers={"If-None-Match": '"v1"'})
        assert conditional.status_code == 304 and conditional.content == b""
        plain = await client.get("/a")
        assert plain.status_code == 200 and plain.content == b"full"


@pytest.mark.parametrize("socket", [False, True])
async def test_204_and_304_never_carry_a_body(socket: bool) -> None:
    # Neither status has content (RFC 9110 §15.3.5, §15.4.5); a real origin's would never be read
    # (origin_client.py), and one sent to the viewer would open the next response on its connection.
    def answer(request: Request) -> Response:
        status = int(request.uri[1:])
        return Response(status, Headers([("Content-Length", "4"), ("ETag", '"e"')]), b"body")

    async with Distribution(config(), origins={"app": answer}, socket=socket) as dist, dist.client() as client:
        no_content = await client.get("/204")
        not_modified = await client.get("/304")
        after = await client.get("/200")
    assert (no_content.status_code, no_content.content) == (204, b"")
    assert "content-length" not in no_content.headers  # RFC 9110 §8.6
    assert (not_modified.status_code, not_modified.content) == (304, b"")
    assert (after.status_code, after.content) == (200, b"body")


# --- request size limits (spec §1.4, §1.6; the docs' 413 is kept as edgesim's 414 / 494, see app.py) ---

async def test_oversized_requests_never_reach_the_origin() -> None:
    async with Distribution(config(), origins={"app": ok}) as dist, dist.client() as client:
        long_uri = await client.get("/" + "a" * 8200)
        big_headers = await client.get("/a", headers={"X-Big": "b" * 21000})
        assert (long_uri.status_code, big_headers.status_code) == (414, 494)
        assert dist.origins["app"].count == 0


async def test_vary_star_with_minimum_ttl_0_goes_to_the_origin_every_time() -> None:
    # "Content negotiation": cached, yet every request is forwarded, without conditional headers.
    def answer(request: Request) -> Response:
        return Response(200, Headers([("Vary", "*"), ("ETag", '"e"'), ("Cache-Control", "max-age=60")]), b"v")

    async with Distribution(config(), origins={"app": answer}) as dist, dist.client() as client:
        for _ in range(2):
            assert (await client.get("/a")).status_code == 200
        assert dist.origins["app"].count == 2 and "if-none-match" not in dist.origins["app"].last.headers
    async with Distribution(config(cache_policy={"min_ttl": 1, "default_ttl": 60}),
                            origins={"app": answer}) as dist, dist.client() as client:
        await client.get("/a")
        assert (await client.get("/a")).headers["x-cache"] == "Hit from cloudfront"
        assert dist.origins["app"].count == 1
