"""Pick the cache behavior: path patterns in declared order, the default last (spec §4.1)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TypeVar

T = TypeVar("T")


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """`*` is any run of characters (it crosses `/`), `?` exactly one; case-sensitive; the leading
    `/` is optional in the pattern (spec §4.1)."""
    if not pattern.startswith("/"):
        pattern = "/" + pattern
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


# Percent-encoded unreserved characters (RFC 3986 §2.3: ALPHA / DIGIT / - . _ ~), which RFC 3986
# §6.2.2.2 normalization decodes: `%2e%2e` is a `..` segment, `%61` an `a`.
_UNRESERVED_ESCAPE = re.compile(r"%(2[dDeE]|3[0-9]|4[1-9a-fA-F]|5[0-9aA]|5[fF]|6[1-9a-fA-F]|7[0-9aA]|7[eE])")
_SLASHES = re.compile(r"//+")


def matching_path(path: str) -> str:
    """The path CloudFront matches path patterns against: the viewer's path normalized "consistent
    with RFC 3986", repeated slashes and `.`/`..` segments removed (AD/DownloadDistValuesCacheBehavior,
    "Path normalization"; spec §4.1). Only the choice of behavior uses it: functions, the cache and
    the origin get the raw path ("Once the cache behavior is matched, CloudFront sends the raw URI
    path to the origin").

    UNCERTAIN: the page names `//` and `..` only; we take RFC 3986 §6.2.2 whole for the rest, so an
    escaped unreserved character is decoded first (`/%2e%2e/` is a `..` segment, as it is to an
    origin that decodes it), and other escapes (`%2F`) stay as they are.
    """
    if "//" not in path and "/." not in path and "%" not in path:
        return path  # nearly every path: nothing to normalize
    if "%" in path:
        path = _UNRESERVED_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), path)
    segments = _SLASHES.sub("/", path).split("/")[1:]
    kept: list[str] = []
    last = len(segments) - 1
    for i, segment in enumerate(segments):  # RFC 3986 §5.2.4 remove_dot_segments
        if segment in (".", ".."):
            if segment == ".." and kept:
                kept.pop()
            if i == last:
                kept.append("")  # `/a/b/..` is `/a/`: the path still names a directory
        else:
            kept.append(segment)
    return "/" + "/".join(kept)


def first_match(ordered: Sequence[tuple[re.Pattern[str], T]], default: T, path: str) -> T:
    """The cache behavior CloudFront picks for `path`: the first pattern, in declared order, that
    matches the path as CloudFront normalizes it (matching_path); the default when none does
    (spec §4.1). `ordered` pairs each behavior with its compiled pattern (compile_pattern)."""
    path = matching_path(path)
    for regex, item in ordered:
        if regex.fullmatch(path) is not None:
            return item
    return default


def matches(pattern: str, path: str) -> bool:
    if not path.startswith("/"):
        path = "/" + path
    return compile_pattern(pattern).fullmatch(path) is not None


def _normal(pattern: str) -> str:
    return pattern if pattern.startswith("/") else "/" + pattern


def covers(earlier: str, later: str) -> bool | None:
    """Whether every path `later` matches is matched by `earlier` too, so that `later`, placed after
    it, can never be chosen; None when this simple test cannot tell.

    Decided exactly: `later` without wildcards (does `earlier` match that one path?); `earlier`
    without `?` and with at most one `*`, `L*S` (every path of `later` must start with L and end
    with S: its literal text before its first wildcard must start with L, its literal text after its
    last wildcard must end with S; a wildcard of `later` can always be filled to break either, so
    these conditions are also necessary). Left undecided (None): an `earlier` with `?` or with
    several `*` against a `later` with wildcards, unless the two are the same pattern.
    """
    a, b = _normal(earlier), _normal(later)
    if a == b:
        return True
    if "*" not in b and "?" not in b:
        return matches(a, b)
    if "?" in a or a.count("*") > 1:
        return None
    if "*" not in a:
        return False  # one path cannot cover a pattern with a wildcard, which matches several
    head, tail = a.split("*")
    first = min(i for i in (b.find("*"), b.find("?")) if i >= 0)
    last = max(b.rfind("*"), b.rfind("?"))
    return b[:first].startswith(head) and b[last + 1:].endswith(tail)


def shadowed_behaviors(patterns: list[tuple[str, str]]) -> list[str]:
    """Warnings for behaviors that can never be chosen: each (where, pattern), in matching order,
    the default (`*`) last. CloudFront itself is not known to refuse these at deploy (spec §4.1:
    the first pattern that matches wins), so they are warnings, never errors."""
    warnings: list[str] = []
    for i, (where, pattern) in enumerate(patterns):
        for before, earlier in patterns[:i]:
            if covers(earlier, pattern) is not True:
                continue
            if where == "default_cache_behavior":
                warnings.append(f"default_cache_behavior is never used: {before} ({earlier!r}) matches every path")
            elif _normal(earlier) == _normal(pattern):
                warnings.append(f"{where}.path_pattern: {pattern!r} is also {before}'s pattern, which is matched "
                                "first, so this behavior is never used; remove one or change its pattern")
            else:
                warnings.append(f"{where}.path_pattern: {pattern!r} can never match: {before} ({earlier!r}) "
                                "matches every path it does and is matched first; move it above that one")
            break
    return warnings
