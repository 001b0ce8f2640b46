"""Response headers policies: CORS and preflight, security headers and override, custom, remove."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edgesim.messages import Headers, Request, Response
from edgesim.policies import (
    CorsConfig,
    CustomHeader,
    ResponseHeadersPolicy,
    SecurityHeadersConfig,
    ServerTiming,
    managed_response_headers_policy,
)
from edgesim.policy_import import inline_response_headers_policy
from edgesim.response_headers import add_server_timing, apply_response_headers_policy, is_preflight, preflight_response


def viewer(method: str = "GET", **headers: str) -> Request:
    return Request(method, "/x", headers=Headers([(k.replace("_", "-"), v) for k, v in headers.items()]))


def origin_response(**headers: str) -> Response:
    return Response(200, Headers([(k.replace("_", "-"), v) for k, v in headers.items()]), b"ok")


PREFLIGHT = dict(origin="https://app.example", access_control_request_method="PUT")


def apply(policy: str | ResponseHeadersPolicy, request: Request, response: Response | None = None) -> Headers:
    rhp = managed_response_headers_policy(policy) if isinstance(policy, str) else policy
    return apply_response_headers_policy(response or origin_response(), rhp, request).headers


def test_simple_cors_only_on_cors_requests() -> None:
    assert apply("SimpleCORS", viewer()).get("access-control-allow-origin") is None
    got = apply("SimpleCORS", viewer(origin="https://app.example"))
    assert got.get("access-control-allow-origin") == "*"
    assert got.get("access-control-expose-headers") is None


def test_origin_value_kept_without_override() -> None:
    got = apply("SimpleCORS", viewer(origin="https://app.example"),
                origin_response(access_control_allow_origin="https://mine.example"))
    assert got.get_all("access-control-allow-origin") == ["https://mine.example"]


def test_cors_with_preflight_adds_methods_on_preflight_only() -> None:
    simple = apply("CORS-With-Preflight", viewer(origin="https://app.example"))
    assert simple.get("access-control-allow-methods") is None
    assert simple.get("access-control-allow-origin") == "*"
    pre = apply("CORS-With-Preflight", viewer("OPTIONS", **PREFLIGHT))
    assert pre.get("access-control-allow-methods") == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    assert pre.get("access-control-expose-headers") == "*"


def test_preflight_answered_at_edge_only_with_a_cors_policy() -> None:
    request = viewer("OPTIONS", **PREFLIGHT)
    assert is_preflight(request)
    assert preflight_response(request, managed_response_headers_policy("SecurityHeadersPolicy")) is None
    assert preflight_response(request, None) is None
    answer = preflight_response(request, managed_response_headers_policy("CORS-With-Preflight"))
    assert answer is not None and answer.status == 200 and answer.body == b""
    assert preflight_response(viewer("OPTIONS", origin="https://a.example"),
                              managed_response_headers_policy("CORS-With-Preflight")) is None


@pytest.mark.parametrize(("allowed", "origin", "expected"), [
    (("https://app.example",), "https://app.example", "https://app.example"),
    (("https://app.example",), "https://evil.example", None),
    (("https://*.example.org",), "https://a.b.example.org", "https://a.b.example.org"),
    (("https://*.example.org",), "http://a.example.org", None),
    (("https://*.example.org",), "https://example.org.evil", None),
])
def test_listed_origins_are_echoed_with_vary(allowed: tuple[str, ...], origin: str, expected: str | None) -> None:
    policy = ResponseHeadersPolicy(cors=CorsConfig(allow_origins=allowed, allow_credentials=True,
                                                   allow_methods=("ALL",), allow_headers=("x-a", "x-b"),
                                                   max_age_sec=600))
    got = apply(policy, viewer("OPTIONS", origin=origin, access_control_request_method="GET"),
                origin_response(vary="Accept-Encoding"))
    assert got.get("access-control-allow-origin") == expected
    assert got.get("vary") == "Accept-Encoding, Origin"
    if expected:
        assert got.get("access-control-allow-credentials") == "true"
        assert got.get("access-control-allow-headers") == "x-a, x-b"
        assert got.get("access-control-max-age") == "600"
        assert got.get("access-control-allow-methods") == "GET, DELETE, HEAD, OPTIONS, PATCH, POST, PUT"


def test_managed_security_headers_keep_origin_values_but_nosniff() -> None:
    got = apply("SecurityHeadersPolicy", viewer(),
                origin_response(x_frame_options="DENY", x_content_type_options="bogus"))
    assert got.get_all("x-frame-options") == ["DENY"]
    assert got.get_all("x-content-type-options") == ["nosniff"]
    assert got.get("strict-transport-security") == "max-age=31536000"
    assert got.get("referrer-policy") == "strict-origin-when-cross-origin"
    assert got.get("x-xss-protection") == "1; mode=block"


def test_security_override() -> None:
    policy = ResponseHeadersPolicy(security_headers=SecurityHeadersConfig(frame_options="SAMEORIGIN", override=True,
                                                                          content_security_policy="default-src 'self'"))
    got = apply(policy, viewer(), origin_response(x_frame_options="DENY"))
    assert got.get_all("x-frame-options") == ["SAMEORIGIN"]
    assert got.get("content-security-policy") == "default-src 'self'"


def test_remove_then_add_and_custom_override() -> None:
    policy = ResponseHeadersPolicy(
        remove_headers=("X-Powered-By", "Server", "X-Keep"),
        custom_headers=(CustomHeader(header="X-Keep", value="policy"),
                        CustomHeader(header="Cache-Control", value="no-store", override=True),
                        CustomHeader(header="X-Mine", value="policy")),
    )
    got = apply(policy, viewer(), origin_response(x_powered_by="php", server="nginx", x_keep="origin",
                                                  cache_control="max-age=60", x_mine="origin"))
    assert got.get("x-powered-by") is None
    assert got.get("server") == "CloudFront"
    assert got.get("x-keep") == "policy"       # removed, then added by another section
    assert got.get("cache-control") == "no-store"
    assert got.get("x-mine") == "origin"       # no override: origin's value stays


def test_headers_cloudfront_cannot_remove_are_refused() -> None:
    with pytest.raises(ValidationError, match="cannot remove"):
        ResponseHeadersPolicy(remove_headers=("Content-Length", "X-Amz-Cf-Pop"))


@pytest.mark.parametrize(("cors", "message"), [
    ({"allow_methods": ("GET", "PROPFIND")}, r"allow_methods \['PROPFIND'\]: CloudFront takes only"),
    ({"allow_origins": ("https://example.*",)}, "leftmost part of a domain"),
    ({"allow_origins": ("https://test.*.example.org",)}, "leftmost part of a domain"),
    ({"allow_origins": ("https://exa*mple.org",)}, "leftmost part of a domain"),
    ({"allow_credentials": True, "allow_headers": ("*",)}, r'cannot contain "\*" when allow_credentials'),
    ({"max_age_sec": -1}, "greater than or equal to 0"),
])
def test_cors_settings_cloudfront_refuses_are_refused(cors: dict[str, object], message: str) -> None:
    # AD/understanding-response-headers-policies: valid methods and wildcard positions; the API's
    # credentials + `*` error is quoted in aws/aws-cdk#35308.
    with pytest.raises(ValidationError, match=message):
        CorsConfig.model_validate(cors)


def test_cors_settings_cloudfront_accepts_load() -> None:
    CorsConfig(allow_origins=("*", "https://*.example.org", "http://www.example.com"),
               allow_methods=("ALL",), allow_credentials=True, allow_headers=("x-a",))


@pytest.mark.parametrize(("security", "message"), [
    ({"frame_options": "ALLOW-FROM https://a.example"}, 'takes "DENY" or "SAMEORIGIN"'),
    ({"referrer_policy": "strict"}, "referrer_policy 'strict': CloudFront takes one of"),
    ({"content_security_policy": "a" * 1784}, "1784 characters; CloudFront takes at most 1783"),
])
def test_security_settings_cloudfront_refuses_are_refused(security: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SecurityHeadersConfig.model_validate(security)
    SecurityHeadersConfig(content_security_policy="a" * 1783, frame_options="DENY", referrer_policy="same-origin")


def test_each_security_header_keeps_its_own_override_through_import() -> None:
    # AD/understanding-response-headers-policies: "Each of these security headers settings contains
    # a Boolean setting" for Override; a policy overriding HSTS but not X-Frame-Options is common.
    notes: list[str] = []
    table = inline_response_headers_policy({"SecurityHeadersConfig": {
        "StrictTransportSecurity": {"AccessControlMaxAgeSec": 600, "Override": True},
        "FrameOptions": {"FrameOption": "DENY", "Override": False},
        "ReferrerPolicy": {"ReferrerPolicy": "no-referrer", "Override": True},
        "ContentSecurityPolicy": {"ContentSecurityPolicy": "default-src 'self'", "Override": False},
    }}, "behavior", notes)
    assert notes == []
    policy = ResponseHeadersPolicy.model_validate(table)
    got = apply(policy, viewer(), origin_response(strict_transport_security="max-age=1", x_frame_options="SAMEORIGIN",
                                                  referrer_policy="origin", content_security_policy="img-src *"))
    assert got.get_all("strict-transport-security") == ["max-age=600"]
    assert got.get_all("x-frame-options") == ["SAMEORIGIN"]
    assert got.get_all("referrer-policy") == ["no-referrer"]
    assert got.get_all("content-security-policy") == ["img-src *"]


TIMED = ResponseHeadersPolicy(server_timing=ServerTiming(sampling_rate=0))


def timed(request: Request, response: Response, x_cache: str, *, chance: float = 0.5,
          policy: ResponseHeadersPolicy = TIMED) -> str | None:
    add_server_timing(response, policy, request, x_cache=x_cache, pop="SFO53-P7", request_id="rid==",
                      upstream_ms=12.4, downstream_ms=30.6, chance=lambda: chance)
    return response.headers.get("server-timing")


def test_server_timing_follows_the_sampling_rate_or_pragma() -> None:
    # AD/understanding-response-headers-policies "Sampling rate and Pragma request header".
    assert timed(viewer(), origin_response(), "Miss from cloudfront") is None  # rate 0, no Pragma
    half = ResponseHeadersPolicy(server_timing=ServerTiming(sampling_rate=50))
    assert timed(viewer(), origin_response(), "Miss from cloudfront", chance=0.49, policy=half) is not None
    assert timed(viewer(), origin_response(), "Miss from cloudfront", chance=0.5, policy=half) is None
    got = timed(viewer(pragma="no-cache, Server-Timing"), origin_response(), "Miss from cloudfront")
    assert got == ('cdn-upstream-layer;desc="EDGE",cdn-upstream-dns;dur=0,cdn-upstream-connect;dur=0,'
                   'cdn-upstream-fbl;dur=12,cdn-cache-miss,cdn-pop;desc="SFO53-P7",cdn-rid;desc="rid==",'
                   'cdn-downstream-fbl;dur=31')


def test_server_timing_keeps_the_origins_value_on_a_miss_only() -> None:
    # "Server-Timing header from the origin": one header; on a hit, CloudFront's metrics only.
    asked = viewer(pragma="server-timing")
    miss = timed(asked, origin_response(server_timing="db;dur=53"), "Miss from cloudfront")
    assert miss is not None and miss.endswith(',cdn-downstream-fbl;dur=31,db;dur=53')
    response = origin_response(server_timing="db;dur=53")
    timed(asked, response, "Hit from cloudfront")
    assert response.headers.get_all("server-timing") == [
        'cdn-cache-hit,cdn-pop;desc="SFO53-P7",cdn-rid;desc="rid==",cdn-hit-layer;desc="EDGE",cdn-downstream-fbl;dur=31']
    refresh = timed(asked, origin_response(), "RefreshHit from cloudfront")
    assert refresh is not None and "cdn-cache-refresh" in refresh


def test_server_timing_imports_and_its_rate_is_checked() -> None:
    notes: list[str] = []
    table = inline_response_headers_policy(
        {"ServerTimingHeadersConfig": {"Enabled": True, "SamplingRate": "12.5"}}, "behavior", notes)
    assert notes == [] and ResponseHeadersPolicy.model_validate(table).server_timing == ServerTiming(sampling_rate=12.5)
    with pytest.raises(ValidationError, match="up to four decimal places"):
        ServerTiming(sampling_rate=1.23456)
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        ServerTiming(sampling_rate=101)
