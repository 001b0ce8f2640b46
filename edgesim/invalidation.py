"""CloudFront invalidation paths: which cached objects, and which origin fetches under way, one covers.

An invalidation removes the objects it covers from the edge cache (AD/Invalidation; cache.py
`EdgeCache.invalidate`). A background refresh (stale-while-revalidate, edge_cache_flow.py) whose
origin request left before the invalidation is watched too (`InvalidationWatch`): what it brings back
is not stored, so the invalidation is not undone by a fetch that began before it.

UNCERTAIN: the spec (§4) and CloudFront's docs say nothing of fetches in flight during an
invalidation. The docs say that after one "the next time a viewer requests the file, CloudFront
returns to the origin to fetch the latest version" (AD/Invalidation). Our reading: a refresh whose
origin request left before the invalidation may carry an answer from before it (before the deploy
the invalidation was made for), so neither its 304 (which would bring the invalidated object back)
nor its 200 is stored; the next request is a Miss that asks the origin after the invalidation. The
other reading, storing the refresh's 200 as a new object, costs no extra origin request but can put
back content older than the invalidation.
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

    __slots__ = ("path", "uri", "invalidated")

    def __init__(self, path: str, uri: str) -> None:
        self.path = path
        self.uri = uri
        self.invalidated = False

    def see(self, matchers: Iterable[tuple[str, bool]]) -> None:
        if any(covers(m, self.path, self.uri) for m in matchers):
            self.invalidated = True
