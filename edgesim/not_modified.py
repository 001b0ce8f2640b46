"""Conditional requests at the edge: an origin's 304 merged into the stored object it revalidates
(a RefreshHit), and a 304 for a viewer's conditional GET that a cached object (or an S3 origin's
file, s3_origin.py) satisfies. Apart from cache.py, which keeps the objects, as a job of its own.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from edgesim.messages import Headers, Request, Response

# Headers a 304 may update on the stored response (RFC 9111 §4.3.4).
_REFRESHED = ("cache-control", "expires", "etag", "last-modified", "date", "vary")


def merge_not_modified(cached: Response, not_modified: Response) -> Response:
    """The stored response with the validators and freshness headers of the origin's 304."""
    merged = cached.copy()
    stored_etag = cached.headers.get("etag") or ""
    for name in _REFRESHED:
        values = not_modified.headers.get_all(name)
        if name == "etag" and stored_etag.startswith("W/") and values == [stored_etag[2:]]:
            # The origin's strong "x" for a copy CloudFront compressed and tagged W/"x": the copy is
            # still the compressed one, so it keeps its weak ETag (DG/ServingCompressedFiles).
            continue
        if values:
            merged.headers.remove(name)
            for value in values:
                merged.headers.add(name, value)
    return merged


# What a 304 to the viewer keeps of the cached response (RFC 9110 §15.4.5).
_NOT_MODIFIED_KEEPS = ("etag", "last-modified", "cache-control", "expires", "date", "vary", "content-location", "age")


def viewer_not_modified(request: Request, response: Response) -> Response | None:
    """A 304 for a viewer's conditional GET that the cached object satisfies, else None.

    CloudFront answers If-None-Match / If-Modified-Since from the cache when the object's ETag or
    Last-Modified matches (AD/RequestAndResponseBehaviorCustomOrigin, conditional GETs)."""
    if response.status != 200 or request.method.upper() not in ("GET", "HEAD"):
        return None
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        etag = response.headers.get("etag")
        if etag is None:
            return None
        tags = {_weak(t.strip()) for t in if_none_match.split(",")}
        if "*" not in tags and _weak(etag) not in tags:
            return None
    else:
        since, modified = request.headers.get("if-modified-since"), response.headers.get("last-modified")
        if since is None or modified is None:
            return None
        try:
            if parsedate_to_datetime(modified) > parsedate_to_datetime(since):
                return None
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    kept = Headers((k, v) for k, v in response.headers if k.lower() in _NOT_MODIFIED_KEEPS)
    return Response(304, kept, b"", "Not Modified")


def _weak(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag
