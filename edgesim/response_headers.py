"""Response headers policies: CORS (preflight included), security, custom and removed headers, and
CloudFront's Server-Timing header (`add_server_timing`, which needs the cache's outcome).

Applied to every response of the behavior, from the cache or from the origin, after the cache and
before viewer-response, so a viewer-response function sees the policy's headers (spec §3.1).
The rules are AD/understanding-response-headers-policies: removal first, then additions; an
addition keeps the origin's own value unless its override flag is set.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from email.utils import formatdate

from edgesim.messages import Headers, Request, Response
from edgesim.policies import CorsConfig, ResponseHeadersPolicy, SecurityHeadersConfig

ALL_METHODS = ("GET", "DELETE", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def is_cors_request(request: Request) -> bool:
    return request.headers.get("origin") is not None


def is_preflight(request: Request) -> bool:
    """An OPTIONS request carrying Origin and Access-Control-Request-Method (Fetch standard)."""
    return (request.method.upper() == "OPTIONS" and is_cors_request(request)
            and request.headers.get("access-control-request-method") is not None)


def preflight_response(request: Request, policy: ResponseHeadersPolicy | None) -> Response | None:
    """The edge's own answer to a CORS preflight when the behavior's policy has a CORS section.

    UNCERTAIN: the public docs say the policy's preflight headers go "in responses to CORS preflight
    requests" without saying whether the origin is asked; edgesim answers at the edge (status 200,
    empty body, no origin, no origin triggers) as local CloudFront emulators do, and the CORS headers
    are then added by `apply_response_headers_policy` like on any response.
    """
    if policy is None or policy.cors is None or not is_preflight(request):
        return None
    return Response(200, Headers([("Content-Length", "0")]), b"")


def _origin_allowed(origin: str, allowed: tuple[str, ...]) -> str | None:
    """The Access-Control-Allow-Origin value for `origin`, or None when it is not allowed."""
    if "*" in allowed:
        return "*"
    for pattern in allowed:
        if pattern == origin:
            return origin
        # `*` may stand for the leftmost labels only: `https://*.example.org`.
        scheme, sep, host = pattern.partition("://")
        if sep and host.startswith("*.") and origin.startswith(scheme + "://"):
            if origin[len(scheme) + 3:].endswith(host[1:]):
                return origin
    return None


def _cors_headers(cors: CorsConfig, request: Request) -> list[tuple[str, str]]:
    origin = request.headers.get("origin")
    if origin is None:
        return []  # not a CORS request: CloudFront adds no CORS header
    allow_origin = _origin_allowed(origin, cors.allow_origins)
    if allow_origin is None:
        return []
    out = [("Access-Control-Allow-Origin", allow_origin)]
    if cors.allow_credentials:
        out.append(("Access-Control-Allow-Credentials", "true"))
    if cors.expose_headers:
        out.append(("Access-Control-Expose-Headers", ", ".join(cors.expose_headers)))
    if is_preflight(request):
        # Methods, headers and max-age go on a preflight response only.
        if cors.allow_methods:
            methods = ALL_METHODS if "ALL" in cors.allow_methods else cors.allow_methods
            out.append(("Access-Control-Allow-Methods", ", ".join(methods)))
        if cors.allow_headers:
            out.append(("Access-Control-Allow-Headers", ", ".join(cors.allow_headers)))
        if cors.max_age_sec is not None:
            out.append(("Access-Control-Max-Age", str(cors.max_age_sec)))
    return out


def _security_headers(sec: SecurityHeadersConfig) -> list[tuple[str, str, bool]]:
    """(name, value, override) for each header the section sets, each with its own Override flag."""
    out: list[tuple[str, str, bool]] = []
    for field, name in _SECURITY_FIELDS:
        value: str | bool | None = getattr(sec, field)
        if value:
            out.append((name, "nosniff" if value is True else str(value), sec.overrides(field)))
    return out


_SECURITY_FIELDS = (
    ("strict_transport_security", "Strict-Transport-Security"), ("content_type_options", "X-Content-Type-Options"),
    ("frame_options", "X-Frame-Options"), ("xss_protection", "X-XSS-Protection"),
    ("referrer_policy", "Referrer-Policy"), ("content_security_policy", "Content-Security-Policy"),
)


def _put(headers: Headers, name: str, value: str, override: bool) -> None:
    if override or name not in headers:
        headers.set(name, value)


def apply_response_headers_policy(response: Response, policy: ResponseHeadersPolicy | None,
                                  request: Request, *, now: float | None = None) -> Response:
    """Apply `policy` to `response` in place (and return it). `request` is the viewer's request."""
    if policy is None:
        return response
    headers = response.headers
    for name in policy.remove_headers:
        headers.remove(name)
    removed = {n.lower() for n in policy.remove_headers}
    # Server and Date are put back with CloudFront's own values (AD/understanding-response-headers-policies).
    if "server" in removed:
        headers.set("Server", "CloudFront")
    if "date" in removed:
        headers.set("Date", formatdate(now, usegmt=True))
    if policy.cors is not None:
        for name, value in _cors_headers(policy.cors, request):
            _put(headers, name, value, policy.cors.origin_override)
        if "*" not in policy.cors.allow_origins and is_cors_request(request):
            # The answer depends on Origin; say so to caches downstream.
            vary = headers.get("vary")
            if vary is None:
                headers.set("Vary", "Origin")
            elif "origin" not in {v.strip().lower() for v in vary.split(",")}:
                headers.set("Vary", vary + ", Origin")
    if policy.security_headers is not None:
        for name, value, override in _security_headers(policy.security_headers):
            _put(headers, name, value, override)
    for custom in policy.custom_headers:
        _put(headers, custom.header, custom.value, custom.override)
    return response


def _wants_server_timing(request: Request) -> bool:
    """`Pragma: server-timing` asks for the header whatever the sampling rate, 0 included."""
    pragma = request.headers.get("pragma") or ""
    return "server-timing" in {p.strip().lower() for p in pragma.split(",")}


def add_server_timing(response: Response, policy: ResponseHeadersPolicy | None, request: Request, *, x_cache: str,
                      pop: str, request_id: str, upstream_ms: float | None, downstream_ms: float,
                      chance: Callable[[], float] = random.random) -> Response:
    """CloudFront's Server-Timing header, when the policy enables it and this response is sampled
    (AD/understanding-response-headers-policies, "Server-Timing header").

    A hit's header has CloudFront's metrics only; on a miss the origin's own Server-Timing value
    joins them in the one header (the guide: at the end, or between two sets of CloudFront's;
    edgesim puts it at the end). The origin's connection is a local one kept open, so its DNS and
    connect durations are 0, which the guide says is a cached DNS answer or a reused connection.
    UNCERTAIN: the guide gives no place in the order relative to viewer-response; the header is a
    part of the policy, so it is added where the policy's other headers are (before viewer-response).
    """
    timing = policy.server_timing if policy is not None else None
    if timing is None or not timing.enabled:
        return response
    if not (_wants_server_timing(request) or chance() * 100 < timing.sampling_rate):
        return response
    kind = x_cache.split(" ", 1)[0]
    where = [f'cdn-pop;desc="{pop}"', f'cdn-rid;desc="{request_id}"']
    downstream = f"cdn-downstream-fbl;dur={round(downstream_ms)}"
    if kind == "Hit":
        metrics = ["cdn-cache-hit", *where, 'cdn-hit-layer;desc="EDGE"', downstream]
    else:
        # The upstream metrics are there "when CloudFront requests the full object from the origin":
        # not for an answer without one (a preflight answered at the edge: upstream_ms None).
        upstream = [] if upstream_ms is None else [
            'cdn-upstream-layer;desc="EDGE"', "cdn-upstream-dns;dur=0", "cdn-upstream-connect;dur=0",
            f"cdn-upstream-fbl;dur={round(upstream_ms)}"]
        metrics = [*upstream, "cdn-cache-refresh" if kind == "RefreshHit" else "cdn-cache-miss", *where, downstream]
        metrics += response.headers.get_all("server-timing")
    response.headers.set("Server-Timing", ",".join(metrics))
    return response
