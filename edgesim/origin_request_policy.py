"""Which viewer headers, cookies and query strings reach the origin (spec §2.6, §4.2).

What the cache policy keys on is forwarded too; the origin request policy forwards more without
keying. The result is also what a Lambda@Edge origin-request function sees (spec §2.2).
"""

from __future__ import annotations

from collections.abc import Iterable

from edgesim.cache_key import normalize_accept_encoding, parse_cookies, split_query
from edgesim.messages import Headers, Request, Response
from edgesim.policies import CachePolicy, OriginRequestPolicy

# Headers CloudFront forwards whatever the policies say: the body's description, conditional
# requests and ranges (AD/RequestAndResponseBehaviorCustomOrigin).
ALWAYS_FORWARDED = frozenset({
    "content-length", "content-type", "content-md5", "content-encoding", "if-match", "if-modified-since",
    "if-none-match", "if-range", "if-unmodified-since", "range", "max-forwards", "transfer-encoding",
})
# Headers CloudFront removes or sets itself; a policy cannot forward the viewer's value (spec §1.4).
# TE among them: "CloudFront removes the header" (AD/RequestAndResponseBehaviorCustomOrigin, headers table).
NEVER_FORWARDED = frozenset({
    "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "upgrade", "x-real-ip", "x-forwarded-proto", "via", "x-amz-cf-id", "x-forwarded-for",
})
# "CloudFront removes all X-Edge-* headers" (AD/RequestAndResponseBehaviorCustomOrigin, headers table).
NEVER_FORWARDED_PREFIX = "x-edge-"
# "If-Modified-Since and If-None-Match conditional requests are not supported when CloudFront is
# configured to forward cookies (all or a subset)" (AD/DG Cookies, "If-Modified-Since and
# If-None-Match"): the viewer's two validators do not reach the origin then. Observed so: an origin
# behind such a behavior never received the browser's If-None-Match, and AWS Support quoted this
# rule (curiousprogrammer.net/posts/2024-09-03-cloudfront-caching-if-none-match); it holds when only
# the origin request policy forwards the cookies (re:Post QUDFUW5ogHQluei1-DZJp-iw). Our reading
# where the page is silent: a policy naming either header does not bring it back, and If-Match,
# If-Range and If-Unmodified-Since, which the page does not name, still go. UNCERTAIN: whether
# CloudFront's own revalidation of an expired object drops its validators too; edgesim keeps them.
CONDITIONALS_DROPPED_WITH_COOKIES = frozenset({"if-none-match", "if-modified-since"})
# UNCERTAIN: CloudFront forwards Authorization on the methods it never caches even when no policy
# names it; on GET, HEAD and OPTIONS only a policy forwards it.
_AUTHORIZATION_ALWAYS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CLOUDFRONT_USER_AGENT = "Amazon CloudFront"


def _orp_selects_header(orp: OriginRequestPolicy | None, lower: str) -> bool:
    if orp is None or orp.header_behavior == "none":
        return False
    listed = lower in {h.lower() for h in orp.headers}
    if orp.header_behavior == "whitelist":
        return listed
    if orp.header_behavior == "allExcept":
        return not listed
    # allViewer and allViewerAndWhitelistCloudFront: every viewer header (the CloudFront ones named
    # in the list were already added to the request when the policy asked for them).
    return True


def header_selected(lower: str, method: str, cache_policy: CachePolicy, orp: OriginRequestPolicy | None) -> bool:
    """Whether the viewer's header `lower` reaches the origin."""
    if lower in NEVER_FORWARDED or lower.startswith(NEVER_FORWARDED_PREFIX):
        return False
    if cache_policy.headers.selects(lower) and cache_policy.headers.behavior == "whitelist":
        return True
    if _orp_selects_header(orp, lower):
        return True
    if lower in ALWAYS_FORWARDED:
        return True
    return lower == "authorization" and method.upper() in _AUTHORIZATION_ALWAYS


def forwarded_querystring(querystring: str, cache_policy: CachePolicy, orp: OriginRequestPolicy | None) -> str:
    """The query string sent to the origin: parameters either policy selects, in the viewer's order."""
    if not querystring or (cache_policy.query_strings.behavior == "none"
                           and (orp is None or orp.query_strings.behavior == "none")):
        return ""  # the common case, decided without parsing

    def selected(name: str) -> bool:
        if cache_policy.query_strings.selects(name, case_sensitive=True):
            return True
        return orp is not None and orp.query_strings.selects(name, case_sensitive=True)

    return "&".join(
        part for part, (name, _) in zip(_raw_parts(querystring), split_query(querystring)) if selected(name)
    )


def _raw_parts(querystring: str) -> list[str]:
    return [p for p in querystring.split("&") if p]


def forwarded_cookie_header(headers: Headers, cache_policy: CachePolicy, orp: OriginRequestPolicy | None) -> str:
    """The Cookie header sent to the origin ("" for none): cookies either policy selects."""
    if not forwards_cookies(cache_policy, orp):
        return ""

    def selected(name: str) -> bool:
        if cache_policy.cookies.selects(name, case_sensitive=True):
            return True
        return orp is not None and orp.cookies.selects(name, case_sensitive=True)

    # CloudFront sorts the forwarded cookies by name (AD/Cookies).
    return "; ".join(f"{n}={v}" for n, v in sorted(parse_cookies(headers), key=lambda c: c[0]) if selected(n))


def forwards_cookies(cache_policy: CachePolicy, orp: OriginRequestPolicy | None) -> bool:
    return cache_policy.cookies.behavior != "none" or (orp is not None and orp.cookies.behavior != "none")


def _set_cookie_name(value: str) -> str:
    return value.split(";", 1)[0].split("=", 1)[0].strip()


def set_cookies_for_viewer_and_cache(response: Response, request: Request, cache_policy: CachePolicy,
                                     orp: OriginRequestPolicy | None) -> tuple[Response, Response]:
    """(what the viewer gets, what the cache stores) of an origin response's Set-Cookie headers.

    When no cookie is forwarded CloudFront removes Set-Cookie from responses; otherwise the viewer
    gets every Set-Cookie and the cache keeps only those of forwarded cookies: a whitelisted one, or
    one the viewer's request carried (AD/Cookies)."""
    if "set-cookie" not in response.headers:
        return response, response
    if not forwards_cookies(cache_policy, orp):
        response.headers.remove("set-cookie")
        return response, response
    listed = {i for i in cache_policy.cookies.items if cache_policy.cookies.behavior == "whitelist"}
    if orp is not None and orp.cookies.behavior == "whitelist":
        listed |= set(orp.cookies.items)
    sent = {name for name, _ in parse_cookies(request.headers)}

    def cached(value: str) -> bool:
        name = _set_cookie_name(value)
        selected = cache_policy.cookies.selects(name, case_sensitive=True) or (
            orp is not None and orp.cookies.selects(name, case_sensitive=True))
        return selected and (name in listed or name in sent)

    stored = response.copy()
    stored.headers = Headers((k, v) for k, v in response.headers if k.lower() != "set-cookie" or cached(v))
    return response, stored


def forwards_viewer_host(cache_policy: CachePolicy, orp: OriginRequestPolicy | None) -> bool:
    """AllViewer (or a policy naming Host) forwards the viewer's Host; otherwise Host is the origin's domain."""
    return header_selected("host", "GET", cache_policy, orp)


def apply_origin_request_policy(request: Request, cache_policy: CachePolicy, orp: OriginRequestPolicy | None,
                                *, origin_domain: str, cached_methods: Iterable[str] = ()) -> Request:
    """A copy of `request` holding only what reaches the origin, Host set as CloudFront sets it.

    `cached_methods` is the behavior's: an OPTIONS request loses its Authorization when CloudFront
    caches OPTIONS responses, whatever the policies say (AD/RequestAndResponseBehaviorCustomOrigin,
    "Authentication": an origin can authenticate OPTIONS only when CloudFront forwards Authorization
    and does not cache OPTIONS responses)."""
    out = request.copy()
    out.querystring = forwarded_querystring(request.querystring, cache_policy, orp)
    headers = Headers()
    cookies_forwarded = forwards_cookies(cache_policy, orp)
    for name, value in request.headers:
        lower = name.lower()
        if lower in ("cookie", "host", "user-agent", "accept-encoding"):
            continue  # each decided below
        if cookies_forwarded and lower in CONDITIONALS_DROPPED_WITH_COOKIES:
            continue
        if header_selected(lower, request.method, cache_policy, orp):
            headers.add(name, value)
    host = request.headers.get("host") if forwards_viewer_host(cache_policy, orp) else None
    headers.set("Host", host or origin_domain)
    user_agent = request.headers.get("user-agent")
    if user_agent is not None and header_selected("user-agent", request.method, cache_policy, orp):
        headers.add("User-Agent", user_agent)
    else:
        headers.add("User-Agent", CLOUDFRONT_USER_AGENT)  # spec §2.2 origin-request example
    accept_encoding = _accept_encoding(request, cache_policy, orp)
    if accept_encoding:
        headers.add("Accept-Encoding", accept_encoding)
    cookie = forwarded_cookie_header(request.headers, cache_policy, orp)
    if cookie:
        headers.add("Cookie", cookie)
    if request.method == "OPTIONS" and "OPTIONS" in cached_methods and "authorization" in headers:
        headers.remove("authorization")
    out.headers = headers
    return out


def _accept_encoding(request: Request, cache_policy: CachePolicy, orp: OriginRequestPolicy | None) -> str:
    viewer = request.headers.get("accept-encoding")
    if cache_policy.enable_accept_encoding_gzip or cache_policy.enable_accept_encoding_brotli:
        # The normalised value the key was computed from goes to the origin (spec §4.2).
        return normalize_accept_encoding(viewer, gzip=cache_policy.enable_accept_encoding_gzip,
                                         brotli=cache_policy.enable_accept_encoding_brotli)
    if viewer is not None and header_selected("accept-encoding", request.method, cache_policy, orp):
        return viewer
    return ""


# Vary values CloudFront always returns to the viewer (AD/RequestAndResponseBehaviorCustomOrigin,
# "HTTP response headers that CloudFront removes or replaces"; `*` is "Content negotiation").
_VARY_KEPT = frozenset({"accept-encoding", "cookie", "*"})
_DEVICE_HEADERS = frozenset({
    "cloudfront-is-desktop-viewer", "cloudfront-is-mobile-viewer", "cloudfront-is-smarttv-viewer",
    "cloudfront-is-tablet-viewer", "cloudfront-is-android-viewer", "cloudfront-is-ios-viewer",
})


def vary_for_viewer(response: Response, method: str, cache_policy: CachePolicy, orp: OriginRequestPolicy | None,
                    cloudfront_headers: frozenset[str]) -> None:
    """Remove from the origin's Vary the names CloudFront does not forward (same section): it keeps
    Accept-Encoding, Cookie and `*`, the headers the policies forward (the CloudFront-* ones they
    name included), and User-Agent when a device-type header is forwarded. A Vary line left empty goes."""
    if "vary" not in response.headers:
        return

    def kept(name: str) -> bool:
        lower = name.lower()
        if lower in _VARY_KEPT or lower in cloudfront_headers:
            return True
        if lower == "user-agent" and cloudfront_headers & _DEVICE_HEADERS:
            return True
        return header_selected(lower, method, cache_policy, orp)

    headers = Headers()
    for name, value in response.headers:
        if name.lower() == "vary":
            value = ", ".join(v for v in (part.strip() for part in value.split(",")) if v and kept(v))
            if not value:
                continue
        headers.add(name, value)
    response.headers = headers
