"""CloudFront invalidation paths: which cached objects, and which origin fetches under way, one covers.

An invalidation removes the objects it covers from the edge cache (AD/Invalidation; cache.py
`EdgeCache.invalidate`). Every origin fetch for a cacheable object is watched while it runs
(`InvalidationWatch`): a viewer's miss or revalidation (edge_cache_flow.py `_miss`, a streamed
answer until its body ends) and a background refresh (stale-while-revalidate). One that an
invalidation covered while it ran stores nothing it brings back, so the invalidation is not undone by
a fetch that began before it; a viewer waiting for it still gets its answer.

UNCERTAIN: the spec (§4) and CloudFront's docs say nothing of fetches in flight during an
invalidation. The docs say that after one "the next time a viewer requests the file, CloudFront
returns to the origin to fetch the latest version" (AD/Invalidation). Our reading, the same for a
viewer's fetch and a background one: a fetch whose origin request left before the invalidation may
carry an answer from before it (before the deploy the invalidation was made for), so neither its
304 (which would bring the invalidated object back) nor its 200 is stored; the viewer waiting for it
is answered with it, and the next request is a Miss that asks the origin after the invalidation. The
other reading, storing such a 200 as a new object, costs no extra origin request but can put back,
as a Hit until its TTL ends, content older than the invalidation the user just made.
"""

from __future__ import annotations

from collections.abc import Iterable


class InvalidationPathError(ValueError):
    """An invalidation path CloudFront would refuse."""


def invalidation_matcher(path: str) -> tuple[str, bool]:
    """(normalised path, is_prefix). `*` only at the end; `/*` is everything (AD/Invalidation)."""
    path = path.strip()
    if not path:
        raise InvalidationPathError("an invalidation path cannot be empty; use '/*' for everything")
    if not path.startswith("/"):
        path = "/" + path  # CloudFront accepts `images/a.jpg` as `/images/a.jpg`
    if "*" in path[:-1]:
        raise InvalidationPathError(f"{path!r}: '*' is allowed only as the last character of the path")
    if path.endswith("*"):
        return path[:-1], True
    return path, False


def covers(matcher: tuple[str, bool], path: str, uri: str) -> bool:
    """Whether an invalidation `matcher` covers the object requested as `path` (uri plus "?query"),
    `uri` its cache key's URI: an exact path covers every variant of that path (query strings,
    headers, cookies in the key) unless it names a query string itself."""
    pattern, is_prefix = matcher
    if is_prefix:
        return path.startswith(pattern)
    if "?" in pattern:
        return path == pattern
    return uri == pattern


class InvalidationWatch:
    """An origin fetch under way for the object at `path` / `uri`: `invalidated` once an
    invalidation covering it came while it ran (cache.py `watch`), and then its answer is not stored."""

    __slots__ = ("path", "uri", "invalidated", "streaming")

    def __init__(self, path: str, uri: str) -> None:
        self.path = path
        self.uri = uri
        self.invalidated = False
        # Its answer streams on to the viewer and is stored once whole: watched until then.
        self.streaming = False

    def see(self, matchers: Iterable[tuple[str, bool]]) -> None:
        if any(covers(m, self.path, self.uri) for m in matchers):
            self.invalidated = True
