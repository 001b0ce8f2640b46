"""Pick the cache behavior: path patterns in declared order, the default last (spec §4.1)."""

from __future__ import annotations

import re
from functools import lru_cache


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
