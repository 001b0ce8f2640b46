"""The cache key: what CloudFront keys an object on, from the behavior's cache policy (spec §4.2).

Computed from the request as viewer-request left it (spec §3.1). The parsing helpers here (query
strings, cookies, Accept-Encoding) are shared with the origin request policy, which forwards what the
key selects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edgesim.messages import Headers, Request
from edgesim.policies import CachePolicy

# --- the cache key ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheKey:
    """What CloudFront keys an object on (spec §4.2): the path plus what the cache policy selects.

    `method` is "GET" for GET and HEAD (they share an object) and "OPTIONS" for OPTIONS, which
    CloudFront caches apart (spec §4.2).
    """

    method: str
    uri: str
    query: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RangeKey(CacheKey):
    """Where a part of an object the origin answered a Range GET with (its 206, or its 416) is
    cached: apart from the whole object under the same key, which a later request without a Range
    must never get a part of (DG/RangeGETs: CloudFront caches the range the origin returns).

    A subclass, so that a RangeKey never equals the object's CacheKey (dataclass equality compares
    classes) and the key every other request builds stays as it was. UNCERTAIN: CloudFront stores
    byte ranges of an object; edgesim keys a part by the Range header as the viewer sent it, so the
    same Range is a hit and another range of the same part goes to the origin."""

    range: str = ""


def range_key(key: CacheKey, range_header: str) -> RangeKey:
    """The key of the part `range_header` asked for of the object under `key`."""
    return RangeKey(key.method, key.uri, key.query, key.headers, key.cookies, range_header.strip())


def split_query(querystring: str) -> list[tuple[str, str]]:
    """`a=1&b&c=` -> [(a, 1), (b, ""), (c, "")], raw (not percent-decoded), order kept."""
    out: list[tuple[str, str]] = []
    for part in querystring.split("&"):
        if part:
            name, _, value = part.partition("=")
            out.append((name, value))
    return out


def parse_cookies(headers: Headers) -> list[tuple[str, str]]:
    """Every `name=value` pair from the request's Cookie header lines, in order."""
    out: list[tuple[str, str]] = []
    for line in headers.get_all("cookie"):
        for part in line.split(";"):
            part = part.strip()
            if part:
                name, _, value = part.partition("=")
                out.append((name.strip(), value.strip()))
    return out


def normalize_accept_encoding(value: str | None, *, gzip: bool, brotli: bool) -> str:
    """CloudFront's normalised Accept-Encoding: only `br` and `gzip`, in that order (spec §4.2).

    Codings refused with `q=0` do not count. An empty result means no compressed variant.
    """
    if not value:
        return ""
    accepted: set[str] = set()
    for part in value.split(","):
        token, *params = (p.strip() for p in part.split(";"))
        refused = any(p.replace(" ", "").lower() in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params)
        if token and not refused:
            accepted.add(token.lower())
    wanted = (("br", brotli), ("gzip", gzip))
    return ",".join(coding for coding, enabled in wanted if enabled and coding in accepted)


def key_method(method: str) -> str:
    return "OPTIONS" if method.upper() == "OPTIONS" else "GET"


def cache_key(request: Request, policy: CachePolicy) -> CacheKey:
    """The key of `request` under `policy`, computed AFTER viewer-request (spec §3.1, §4.2)."""
    query: tuple[str, ...] = ()
    if policy.query_strings.behavior != "none":
        # Query string names are case-sensitive and their order is kept: CloudFront caches
        # `?a=1&b=2` and `?b=2&a=1` apart, which is why AWS ships a function that sorts them.
        query = tuple(
            f"{name}={value}" for name, value in split_query(request.querystring)
            if policy.query_strings.selects(name, case_sensitive=True)
        )
    headers: list[tuple[str, str]] = []
    if policy.headers.behavior == "whitelist":
        for name in sorted({i.lower() for i in policy.headers.items}):
            headers.append((name, ",".join(request.headers.get_all(name))))
    if policy.enable_accept_encoding_gzip or policy.enable_accept_encoding_brotli:
        headers.append(("accept-encoding", normalize_accept_encoding(
            request.headers.get("accept-encoding"),
            gzip=policy.enable_accept_encoding_gzip, brotli=policy.enable_accept_encoding_brotli)))
    cookies: tuple[tuple[str, str], ...] = ()
    if policy.cookies.behavior != "none":
        # Cookie names are case-sensitive; their order in the header does not matter.
        cookies = tuple(sorted(
            (n, v) for n, v in parse_cookies(request.headers) if policy.cookies.selects(n, case_sensitive=True)
        ))
    return CacheKey(key_method(request.method), request.uri, query, tuple(headers), cookies)


def is_cached_method(method: str, cached_methods: Iterable[str]) -> bool:
    """GET and HEAD always, OPTIONS when the behavior caches it, nothing else (spec §4.2)."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return True
    return method == "OPTIONS" and "OPTIONS" in {m.upper() for m in cached_methods}
