"""CloudFront-added request headers: device type from User-Agent, viewer location from a profile (spec §2.6).

CloudFront adds `CloudFront-Is-*-Viewer`, `CloudFront-Viewer-*` and `CloudFront-Forwarded-Proto` only
when the behavior's cache policy or origin request policy names them, after a Lambda@Edge
viewer-request but before a CloudFront Function viewer-request sees the request (spec §1.2, §2.6).

Who the viewer is comes from `config.ViewerProfile`, and a developer can change it for one request
with `X-Edgesim-Viewer-<Field>` headers (for example `X-Edgesim-Viewer-Country: FR`,
`X-Edgesim-Viewer-City: Paris`, `X-Edgesim-Viewer-Ip: 198.51.100.7`); the field names are
ViewerProfile's, kebab-cased. Every `X-Edgesim-*` request header is removed before any function,
cache key or origin sees the request.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable

from edgesim.config import LOCATION_FIELDS, ViewerProfile, country_code_problem
from edgesim.errors import ViewerOverrideError
from edgesim.messages import Request
from edgesim.policies import _ORIGIN_REQUEST_POLICY_ONLY, CachePolicy, OriginRequestPolicy

OVERRIDE_PREFIX = "x-edgesim-viewer-"
RESERVED_PREFIX = "x-edgesim-"

# Lowercase name -> the case CloudFront writes it in (AD/adding-cloudfront-headers). The docs spell
# `CloudFront-Viewer-Http-Version`; CloudFront writes `CloudFront-Viewer-HTTP-Version` in every capture
# found (the key in two origin-request events logged from CloudFront, one a Python test module's
# CLOUDFRONT_EVENT; the name an API Gateway origin received, in a mangum wrapper's docstring), so that.
DISPLAY_NAMES: dict[str, str] = {n.lower(): n for n in (
    "CloudFront-Is-Android-Viewer", "CloudFront-Is-Desktop-Viewer", "CloudFront-Is-IOS-Viewer",
    "CloudFront-Is-Mobile-Viewer", "CloudFront-Is-SmartTV-Viewer", "CloudFront-Is-Tablet-Viewer",
    "CloudFront-Viewer-Address", "CloudFront-Viewer-ASN", "CloudFront-Viewer-City", "CloudFront-Viewer-Country",
    "CloudFront-Viewer-Country-Name", "CloudFront-Viewer-Country-Region", "CloudFront-Viewer-Country-Region-Name",
    "CloudFront-Viewer-Latitude", "CloudFront-Viewer-Longitude", "CloudFront-Viewer-Metro-Code",
    "CloudFront-Viewer-Postal-Code", "CloudFront-Viewer-Time-Zone", "CloudFront-Viewer-Header-Order",
    "CloudFront-Viewer-Header-Count", "CloudFront-Forwarded-Proto", "CloudFront-Viewer-HTTP-Version",
    "CloudFront-Viewer-JA3-Fingerprint", "CloudFront-Viewer-TLS",
)}
CLOUDFRONT_HEADERS = frozenset(DISPLAY_NAMES)
# Only an origin request policy can ask for these; a cache policy refuses them (policies.py, spec §2.6).
ORIGIN_REQUEST_POLICY_ONLY = _ORIGIN_REQUEST_POLICY_ONLY
# The viewer's source port is not something a local socket can stand in for; CloudFront reports
# the real one, edgesim a fixed ephemeral-range value.
VIEWER_PORT = 50000


def requested_headers(cache_policy: CachePolicy, origin_request_policy: OriginRequestPolicy | None) -> frozenset[str]:
    """The CloudFront-added headers the behavior's policies name, lowercase (spec §2.6).

    UNCERTAIN: forwarding "all viewer headers" (AllViewer) does not add them; only naming them does,
    as the separate AllViewerAndCloudFrontHeaders-2022-06 managed policy suggests.
    """
    names: set[str] = set()
    if cache_policy.headers.behavior == "whitelist":
        names |= {h.lower() for h in cache_policy.headers.items} - ORIGIN_REQUEST_POLICY_ONLY
    if origin_request_policy is not None and origin_request_policy.header_behavior in (
        "whitelist", "allViewerAndWhitelistCloudFront",
    ):
        names |= {h.lower() for h in origin_request_policy.headers}
    return frozenset(names & CLOUDFRONT_HEADERS)


def _field_of(header: str) -> str:
    return header[len(OVERRIDE_PREFIX):].replace("-", "_")


def take_viewer_override(request: Request, profile: ViewerProfile) -> ViewerProfile:
    """Strip every `X-Edgesim-*` header from `request`; return `profile` with the overrides applied.

    The viewer's IP (the profile's, or this request's override) becomes the request's client IP, so
    functions, X-Forwarded-For and CloudFront-Viewer-Address agree on who the viewer is.
    """
    if profile.ip:
        request.client_ip = profile.ip
    overrides: dict[str, str] = {}
    for name, value in request.headers:
        lower = name.lower()
        if lower.startswith(OVERRIDE_PREFIX):
            field = _field_of(lower)
            if field not in ViewerProfile.model_fields:
                headers = ["X-Edgesim-Viewer-" + f.replace("_", "-").title() for f in ViewerProfile.model_fields]
                close = difflib.get_close_matches(name.title(), headers, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise ViewerOverrideError(f"unknown viewer override header {name!r}{hint} (known: {', '.join(headers)})")
            overrides[field] = value.strip()
    if not any(k.lower().startswith(RESERVED_PREFIX) for k, _ in request.headers):
        return profile
    for name in request.headers.names():
        if name.startswith(RESERVED_PREFIX):
            request.headers.remove(name)
    if not overrides:
        return profile
    # The profile's own fields were checked at load; an override is checked here, as it comes.
    if overrides.get("country") and (problem := country_code_problem(overrides["country"])):
        raise ViewerOverrideError(f"X-Edgesim-Viewer-Country: {problem}")
    if "country" in overrides and overrides["country"].upper() != profile.country.upper():
        # Placed in another country: the profile's location fields are not this viewer's.
        for name in LOCATION_FIELDS:
            overrides.setdefault(name, "")
    if "ip" in overrides:
        try:
            ipaddress.ip_address(overrides["ip"])
        except ValueError:
            raise ViewerOverrideError(f"X-Edgesim-Viewer-Ip: {overrides['ip']!r} is not an IPv4 or IPv6 address") from None
        request.client_ip = overrides["ip"]
    return profile.model_copy(update=overrides)


# --- device detection from User-Agent ---------------------------------------------------------

_IOS = re.compile(r"iPhone|iPad|iPod", re.I)
_ANDROID = re.compile(r"Android", re.I)
_SMART_TV = re.compile(r"SmartTV|SMART-TV|GoogleTV|Apple ?TV|HbbTV|Roku|BRAVIA|Web0S|WebOS.*TV|Tizen.*TV|CrKey|AFT[A-Z]|NetCast|Viera", re.I)
_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk|PlayBook|Nexus (7|9|10)", re.I)
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Windows Phone|BlackBerry|BB10|Opera Mini|IEMobile", re.I)


def device_flags(user_agent: str | None) -> dict[str, bool]:
    """The six CloudFront-Is-*-Viewer answers for a User-Agent (spec §2.6).

    UNCERTAIN: CloudFront's detection database is not public; these are the common markers. An
    Android device without "Mobile" is a tablet (Google's documented convention). Desktop is what is
    neither mobile, tablet nor smart TV, including a missing User-Agent.
    """
    ua = user_agent or ""
    smart_tv = bool(_SMART_TV.search(ua))
    tablet = not smart_tv and (bool(_TABLET.search(ua)) or (bool(_ANDROID.search(ua)) and "mobile" not in ua.lower()))
    mobile = not smart_tv and not tablet and (bool(_MOBILE.search(ua)) or bool(_ANDROID.search(ua)))
    return {
        "cloudfront-is-android-viewer": bool(_ANDROID.search(ua)),
        "cloudfront-is-ios-viewer": bool(_IOS.search(ua)),
        "cloudfront-is-mobile-viewer": mobile,
        "cloudfront-is-tablet-viewer": tablet,
        "cloudfront-is-smarttv-viewer": smart_tv,
        "cloudfront-is-desktop-viewer": not (mobile or tablet or smart_tv),
    }


def header_values(request: Request, viewer: ViewerProfile) -> dict[str, str]:
    """Every CloudFront-added header edgesim can compute, lowercase name -> value."""
    values = {name: "true" if flag else "false" for name, flag in device_flags(request.headers.get("user-agent")).items()}
    values.update({
        "cloudfront-viewer-address": f"{request.client_ip}:{VIEWER_PORT}",
        "cloudfront-viewer-asn": viewer.asn,
        "cloudfront-viewer-country": viewer.country,
        "cloudfront-viewer-country-name": viewer.country_name,
        "cloudfront-viewer-country-region": viewer.country_region,
        "cloudfront-viewer-country-region-name": viewer.country_region_name,
        "cloudfront-viewer-city": viewer.city,
        "cloudfront-viewer-postal-code": viewer.postal_code,
        "cloudfront-viewer-time-zone": viewer.time_zone,
        "cloudfront-viewer-latitude": viewer.latitude,
        "cloudfront-viewer-longitude": viewer.longitude,
        "cloudfront-viewer-http-version": viewer.http_version,
        "cloudfront-viewer-tls": viewer.tls,
        "cloudfront-viewer-ja3-fingerprint": viewer.ja3_fingerprint,
        "cloudfront-forwarded-proto": request.scheme,
        # The viewer's header names in order, colon-separated, and how many there were.
        "cloudfront-viewer-header-order": ":".join(name for name, _ in request.headers),
        "cloudfront-viewer-header-count": str(len(request.headers)),
    })
    # CloudFront sends Metro-Code only for viewers in the United States (spec §2.6).
    if viewer.country.upper() == "US" and viewer.metro_code:
        values["cloudfront-viewer-metro-code"] = viewer.metro_code
    return {k: v for k, v in values.items() if v != ""}


def add_cloudfront_headers(request: Request, names: Iterable[str], viewer: ViewerProfile) -> None:
    """Set the requested CloudFront headers on `request`; CloudFront's value replaces a viewer's (spec §2.6)."""
    wanted = [n for n in names if n in CLOUDFRONT_HEADERS]
    if not wanted:
        return
    values = header_values(request, viewer)
    for name in sorted(wanted):
        if name in values:
            request.headers.set(DISPLAY_NAMES[name], values[name])
