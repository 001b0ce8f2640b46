"""Turn the viewer's request into the request CloudFront sends to the origin (spec §2.2, §2.6).

Origin-request functions see this request, not the viewer's, so it is built before they run.
"""

from __future__ import annotations

import functools
import hashlib

from edgesim.config import DistributionSettings
from edgesim.messages import Headers, Request
from edgesim.origin_config import CustomOrigin, Origin, OriginGroup, S3Origin
from edgesim.origin_request_policy import apply_origin_request_policy
from edgesim.policies import CachePolicy, OriginRequestPolicy

# Hop-by-hop headers never cross a proxy (RFC 9110 §7.6.1); CloudFront's disallowed list (spec §1.4)
# covers the same names for functions.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade", "expect",
})


def via_host(settings: DistributionSettings) -> str:
    """A stable `<hex>.cloudfront.net` per distribution, as in CloudFront's Via header."""
    return _via_host(settings.id)


@functools.lru_cache(maxsize=64)  # an md5 per request showed in the benchmark's profile
def _via_host(distribution_id: str) -> str:
    digest = hashlib.md5(distribution_id.encode(), usedforsecurity=False).hexdigest()
    return f"{digest}.cloudfront.net"


def primary(origin: Origin | OriginGroup, origins: dict[str, Origin | OriginGroup]) -> Origin:
    """The origin a request goes to first: an origin group's primary (spec §3.1 failover)."""
    if isinstance(origin, OriginGroup):
        member = origins[origin.primary]
        assert not isinstance(member, OriginGroup)
        return member
    return origin


def origin_host(origin: Origin) -> str:
    if isinstance(origin, CustomOrigin):
        default_port = 443 if origin.protocol == "https" else 80
        return origin.domain_name if origin.port == default_port else f"{origin.domain_name}:{origin.port}"
    return origin.domain_name


def origin_request(viewer: Request, origin: Origin, settings: DistributionSettings, request_id: str,
                   *, cache_policy: CachePolicy | None = None,
                   origin_request_policy: OriginRequestPolicy | None = None,
                   cached_methods: tuple[str, ...] = ()) -> Request:
    """The request as CloudFront forwards it: the viewer headers, cookies and query strings the
    behavior's cache and origin request policies select (spec §2.6, §4.2; all of them when no cache
    policy is given), hop-by-hop ones never, Host set as the policies say, X-Forwarded-For, Via and
    X-Amz-Cf-Id added, the origin's custom headers last. X-Forwarded-For and Via are the viewer's
    own with CloudFront's appended (AD/RequestAndResponseBehaviorCustomOrigin, headers table: both
    "CloudFront forwards the header to your origin"). A function's origin helper may have set the
    Host outright (`hostHeader`, spec §1.7)."""
    forwarded_for = viewer.headers.get("x-forwarded-for") or ""
    viewer_via = ", ".join(viewer.headers.get_all("via")) if "via" in viewer.headers else ""
    host = origin_host(origin)
    selected = viewer
    if cache_policy is not None:
        selected = apply_origin_request_policy(viewer, cache_policy, origin_request_policy, origin_domain=host,
                                               cached_methods=cached_methods)
        host = selected.headers.get("host") or host
    if viewer.origin_host_header is not None:
        host = viewer.origin_host_header
    headers = Headers()
    for name, value in selected.headers:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in ("host", "x-forwarded-for", "via"):
            continue
        headers.add(name, value)
    headers.add("Host", host)
    headers.add("X-Forwarded-For", f"{forwarded_for}, {viewer.client_ip}" if forwarded_for else viewer.client_ip)
    headers.setdefault("User-Agent", "Amazon CloudFront")
    via = f"2.0 {via_host(settings)} (CloudFront)"
    headers.add("Via", f"{viewer_via}, {via}" if viewer_via else via)
    headers.add("X-Amz-Cf-Id", request_id)
    custom = origin.custom_headers if isinstance(origin, (CustomOrigin, S3Origin)) else {}
    for name, value in custom.items():
        headers.set(name, value)
    out = selected.copy()
    out.headers = headers
    out.origin = origin
    return out
