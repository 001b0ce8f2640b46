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
