"""CloudFront-added headers: which a policy asks for, device flags, viewer profile and its override."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edgesim.cloudfront_headers import (
    add_cloudfront_headers,
    device_flags,
    requested_headers,
    take_viewer_override,
)
from edgesim.config import ViewerProfile
from edgesim.errors import BadRequest
from edgesim.messages import Headers, Request
from edgesim.policies import (
    CachePolicy,
    KeyItems,
    OriginRequestPolicy,
    managed_cache_policy,
    managed_origin_request_policy,
)

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
IPAD = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
PIXEL = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"
ANDROID_TABLET = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
TV = "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 SamsungBrowser/4.0 TV Safari/537.36"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


@pytest.mark.parametrize(("ua", "true_flags"), [
    (IPHONE, {"ios", "mobile"}),
    (IPAD, {"ios", "tablet"}),
    (PIXEL, {"android", "mobile"}),
    (ANDROID_TABLET, {"android", "tablet"}),
    (TV, {"smarttv"}),
    (DESKTOP, {"desktop"}),
    ("curl/8.5.0", {"desktop"}),
    (None, {"desktop"}),
])
def test_device_flags(ua: str | None, true_flags: set[str]) -> None:
    flags = device_flags(ua)
    assert {k.removeprefix("cloudfront-is-").removesuffix("-viewer") for k, v in flags.items() if v} == true_flags


def test_requested_only_what_policies_name() -> None:
    assert requested_headers(managed_cache_policy("CachingOptimized"), None) == frozenset()
    assert requested_headers(managed_cache_policy("CachingOptimized"), managed_origin_request_policy("AllViewer")) == frozenset()
    amplify = requested_headers(managed_cache_policy("Amplify"), None)
    assert amplify == {"cloudfront-viewer-country"}
    all_cf = requested_headers(managed_cache_policy("CachingDisabled"),
                               managed_origin_request_policy("AllViewerAndCloudFrontHeaders-2022-06"))
    assert "cloudfront-viewer-address" in all_cf and "cloudfront-is-mobile-viewer" in all_cf
    assert "cloudfront-viewer-ja3-fingerprint" not in all_cf  # released after June 2022


def test_cache_policy_cannot_key_on_origin_request_only_headers() -> None:
    with pytest.raises(ValidationError, match="origin request policy"):
        CachePolicy(headers=KeyItems(behavior="whitelist", items=("CloudFront-Viewer-Address", "CloudFront-Viewer-City")))
    with pytest.raises(ValidationError, match="'none' or 'whitelist'"):
        CachePolicy(headers=KeyItems(behavior="all"))
    policy = CachePolicy(headers=KeyItems(behavior="whitelist", items=("CloudFront-Viewer-City",)))
    orp = OriginRequestPolicy(header_behavior="whitelist", headers=("cloudfront-viewer-address",))
    assert requested_headers(policy, orp) == {"cloudfront-viewer-city", "cloudfront-viewer-address"}


def test_added_headers_from_profile_overwrite_viewer_values() -> None:
    request = Request("GET", "/", headers=Headers([("User-Agent", IPHONE), ("cloudfront-viewer-country", "XX")]),
                      scheme="https", client_ip="203.0.113.10")
    add_cloudfront_headers(request, {"cloudfront-viewer-country", "cloudfront-is-mobile-viewer",
                                     "cloudfront-forwarded-proto", "cloudfront-viewer-address",
                                     "cloudfront-viewer-metro-code"}, ViewerProfile())
    assert request.headers.get_all("CloudFront-Viewer-Country") == ["US"]
    assert ("CloudFront-Is-Mobile-Viewer", "true") in request.headers.items()
    assert request.headers.get("cloudfront-forwarded-proto") == "https"
    assert request.headers.get("cloudfront-viewer-address") == "203.0.113.10:50000"
    assert request.headers.get("cloudfront-viewer-metro-code") == "819"
    assert request.headers.get("cloudfront-viewer-city") is None  # not asked for


# The keys of the CloudFront-added headers in an origin-request event captured from CloudFront
# (a Python test module's CLOUDFRONT_EVENT: an S3 origin, a Firefox viewer in Wales), as CloudFront wrote them.
CAPTURED_KEYS = [
    "CloudFront-Is-Mobile-Viewer", "CloudFront-Is-Tablet-Viewer", "CloudFront-Is-SmartTV-Viewer",
    "CloudFront-Is-Desktop-Viewer", "CloudFront-Is-IOS-Viewer", "CloudFront-Is-Android-Viewer",
    "CloudFront-Forwarded-Proto", "CloudFront-Viewer-HTTP-Version", "CloudFront-Viewer-Country",
    "CloudFront-Viewer-Country-Name", "CloudFront-Viewer-Country-Region", "CloudFront-Viewer-Country-Region-Name",
    "CloudFront-Viewer-City", "CloudFront-Viewer-Postal-Code", "CloudFront-Viewer-Time-Zone",
    "CloudFront-Viewer-Latitude", "CloudFront-Viewer-Longitude", "CloudFront-Viewer-Address",
    "CloudFront-Viewer-TLS", "CloudFront-Viewer-ASN",
]


def test_added_headers_are_named_as_in_an_event_captured_from_cloudfront() -> None:
    request = Request("GET", "/", headers=Headers([("User-Agent", DESKTOP)]), scheme="https", client_ip="203.0.113.10")
    add_cloudfront_headers(request, {k.lower() for k in CAPTURED_KEYS}, ViewerProfile())
    added = {name for name, _ in request.headers} - {"User-Agent"}
    assert added == set(CAPTURED_KEYS)


def test_ja3_fingerprint_comes_from_the_profile_and_can_be_left_out() -> None:
    request = Request("GET", "/", scheme="https")
    add_cloudfront_headers(request, {"cloudfront-viewer-ja3-fingerprint"}, ViewerProfile(ja3_fingerprint="abc123"))
    assert request.headers.get("CloudFront-Viewer-JA3-Fingerprint") == "abc123"
    bare = Request("GET", "/", scheme="https")
    add_cloudfront_headers(bare, {"cloudfront-viewer-ja3-fingerprint"}, ViewerProfile(ja3_fingerprint=""))
    assert "cloudfront-viewer-ja3-fingerprint" not in bare.headers


def test_metro_code_only_for_us_viewers() -> None:
    request = Request("GET", "/")
    add_cloudfront_headers(request, {"cloudfront-viewer-metro-code"}, ViewerProfile(country="FR"))
    assert "cloudfront-viewer-metro-code" not in request.headers


def test_header_order_and_count() -> None:
    request = Request("GET", "/", headers=Headers([("Host", "d.example"), ("User-Agent", "x"), ("Accept", "*/*")]))
    add_cloudfront_headers(request, {"cloudfront-viewer-header-order", "cloudfront-viewer-header-count"}, ViewerProfile())
    assert request.headers.get("cloudfront-viewer-header-order") == "Host:User-Agent:Accept"
    assert request.headers.get("cloudfront-viewer-header-count") == "3"


def test_override_is_applied_and_stripped() -> None:
    request = Request("GET", "/", headers=Headers([
        ("X-Edgesim-Viewer-Country", "FR"), ("x-edgesim-viewer-city", "Paris"),
        ("X-Edgesim-Viewer-Ip", "198.51.100.7"), ("X-Edgesim-Anything", "1"), ("Accept", "*/*"),
    ]))
    viewer = take_viewer_override(request, ViewerProfile())
    assert (viewer.country, viewer.city, viewer.ip) == ("FR", "Paris", "198.51.100.7")
    assert viewer.asn == ViewerProfile().asn and viewer.time_zone == ""  # the rest from the profile, but
    # not Seattle's location beside another country
    assert request.headers.items() == [("Accept", "*/*")]
    assert request.client_ip == "198.51.100.7"
    add_cloudfront_headers(request, {"cloudfront-viewer-country"}, viewer)
    assert request.headers.get("cloudfront-viewer-country") == "FR"


def test_a_configured_viewer_ip_becomes_the_client_ip() -> None:
    request = Request("GET", "/", headers=Headers([("Accept", "*/*")]), client_ip="127.0.0.1")
    take_viewer_override(request, ViewerProfile(ip="198.51.100.7"))
    assert request.client_ip == "198.51.100.7"
    untouched = Request("GET", "/", client_ip="127.0.0.1")
    take_viewer_override(untouched, ViewerProfile())  # no ip configured: where the request came from
    assert untouched.client_ip == "127.0.0.1"


def test_an_override_ip_that_is_not_an_address_is_a_clear_400() -> None:
    request = Request("GET", "/", headers=Headers([("X-Edgesim-Viewer-Ip", "my-laptop")]))
    with pytest.raises(BadRequest, match="not an IPv4 or IPv6 address"):
        take_viewer_override(request, ViewerProfile())


def test_no_override_returns_profile_unchanged() -> None:
    profile = ViewerProfile()
    request = Request("GET", "/", headers=Headers([("Accept", "*/*")]))
    assert take_viewer_override(request, profile) is profile


def test_unknown_override_field_is_a_clear_400() -> None:
    request = Request("GET", "/", headers=Headers([("X-Edgesim-Viewer-Planet", "Mars")]))
    with pytest.raises(BadRequest, match="X-Edgesim-Viewer-Country"):
        take_viewer_override(request, ViewerProfile())


LOCATION_HEADERS = {"cloudfront-viewer-country", "cloudfront-viewer-city", "cloudfront-viewer-time-zone",
                    "cloudfront-viewer-country-name", "cloudfront-viewer-postal-code"}


def test_a_viewer_placed_in_another_country_keeps_none_of_the_seattle_defaults() -> None:
    request = Request("GET", "/", headers=Headers([("X-Edgesim-Viewer-Country", "DE"),
                                                   ("X-Edgesim-Viewer-City", "Berlin")]))
    viewer = take_viewer_override(request, ViewerProfile())
    add_cloudfront_headers(request, LOCATION_HEADERS, viewer)
    assert request.headers.get("cloudfront-viewer-country") == "DE"
    assert request.headers.get("cloudfront-viewer-city") == "Berlin"  # given with the country
    assert "cloudfront-viewer-time-zone" not in request.headers  # not America/Los_Angeles
    assert "cloudfront-viewer-country-name" not in request.headers  # not United States
    configured = ViewerProfile(country="FR", time_zone="Europe/Paris")
    assert (configured.city, configured.time_zone, configured.postal_code) == ("", "Europe/Paris", "")
    assert ViewerProfile().city == "Seattle" and ViewerProfile(country="US").city == "Seattle"


async def test_a_misspelt_override_header_says_what_is_wrong_on_the_page_itself() -> None:
    from edgesim.testing import Distribution

    config = {"origins": [{"id": "api", "url": "http://api.example"}],
              "default_cache_behavior": {"target_origin": "api"}}
    async with Distribution(config, origins={"api": {"/": "x"}}) as dist:
        response = await dist.get("/", headers={"X-Edgesim-Viewer-Contry": "FR"})
    assert response.status_code == 400
    assert ("edgesim: unknown viewer override header &#x27;x-edgesim-viewer-contry&#x27;; "
            "did you mean X-Edgesim-Viewer-Country? (known: X-Edgesim-Viewer-Ip, ") in response.text


@pytest.mark.parametrize(("country", "said"), [
    ("France", "'France' is not an ISO 3166-1 alpha-2 country code; write e.g. 'US' or 'FR'"),
    ("uk", "the United Kingdom is 'GB'"),
])
def test_a_viewer_country_that_is_not_a_country_code_is_refused(country: str, said: str) -> None:
    """It was taken as is: the geo restriction checked 'FRANCE', functions saw CloudFront-Viewer-Country:
    France. In the config it is a load error, in the override header a 400 saying why."""
    with pytest.raises(ValueError, match=said):
        ViewerProfile(country=country)
    request = Request("GET", "/", headers=Headers([("X-Edgesim-Viewer-Country", country)]))
    with pytest.raises(BadRequest, match=f"X-Edgesim-Viewer-Country: .*{said}"):
        take_viewer_override(request, ViewerProfile())
    assert ViewerProfile(country="").country == ""  # a viewer CloudFront cannot locate
    assert take_viewer_override(Request("GET", "/", headers=Headers([("X-Edgesim-Viewer-Country", "fr")])),
                                ViewerProfile()).country == "fr"
