"""Path patterns (spec §4.1): declared order, first match, `*` crosses `/`, `?` one character,
case-sensitive, leading `/` optional, default last."""

from __future__ import annotations

import pytest

from edgesim.routing import covers, matches, matching_path, shadowed_behaviors


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/images/*.jpg", "/images/a.jpg", True),
        ("/images/*.jpg", "/images/a/b/c.jpg", True),  # * crosses /
        ("images/*.jpg", "/images/a.jpg", True),  # leading / optional
        ("/images/*.jpg", "/images/a.JPG", False),  # case-sensitive
        ("*.jpg", "/LOGO.JPG", False),
        ("*.jpg", "/deep/logo.jpg", True),
        ("/a?c", "/abc", True),
        ("/a?c", "/ac", False),  # ? is exactly one
        ("/a?c", "/abbc", False),
        ("/static/*", "/static/", True),
        ("/static/*", "/static", False),
        ("/api", "/api", True),
        ("/api", "/api/x", False),
        ("/a.b", "/axb", False),  # . is literal
        ("/$x+y", "/$x+y", True),
        ("*", "/anything/at/all", True),
    ],
)
def test_path_pattern_table(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


@pytest.mark.parametrize(
    ("earlier", "later", "expected"),
    [
        ("/api/*", "/api/*", True),            # the same pattern
        ("/api/*", "api/*", True),             # the leading / is optional
        ("/api/*", "/api/data.json", True),
        ("/api/*", "/api/v1/*", True),
        ("/api/*", "/ap*", False),             # /apx is not under /api/
        ("*.jpg", "/img/*.jpg", True),
        ("*.jpg", "/img/*", False),
        ("/img/*.jpg", "/img/a/*.jpg", True),
        ("/img/*.jpg", "/img/*.png", False),
        ("/x*y", "/x?y", True),
        ("*", "/anything/*", True),
        ("/a?", "/ab", True),                  # a later pattern without wildcards: one path, matched or not
        ("/a?", "/abc", False),
        ("/a", "/a*", False),                  # one path never covers a wildcard
        ("/a?", "/a*", None),                  # undecided: `?` (or several `*`) before a wildcard pattern
        ("/*/x/*", "/a/x/*", None),
    ],
)
def test_a_pattern_covers_a_later_one_only_when_every_path_it_matches_is_matched(
        earlier: str, later: str, expected: bool | None) -> None:
    assert covers(earlier, later) is expected


def test_covers_agrees_with_matching_on_every_short_path() -> None:
    # Exhaustive on a small alphabet: wherever covers() decides, it is right for every path up to 5 characters.
    import itertools
    paths = ["/" + "".join(t) for n in range(6) for t in itertools.product("ab/", repeat=n)]
    patterns = ["/" + "".join(t) for n in range(1, 4) for t in itertools.product("ab*?", repeat=n)]
    for earlier in patterns:
        for later in patterns:
            decided = covers(earlier, later)
            if decided is not None:
                assert decided == all(matches(earlier, p) for p in paths if matches(later, p)), (earlier, later)


def test_a_behavior_no_request_can_reach_is_named_once() -> None:
    warnings = shadowed_behaviors([("cache_behaviors[0]", "/api/*"), ("cache_behaviors[1]", "/api/*"),
                                   ("cache_behaviors[2]", "/api/data.json"), ("cache_behaviors[3]", "/a?"),
                                   ("cache_behaviors[4]", "/img/*"), ("default_cache_behavior", "*")])
    assert warnings == [
        "cache_behaviors[1].path_pattern: '/api/*' is also cache_behaviors[0]'s pattern, which is matched first, "
        "so this behavior is never used; remove one or change its pattern",
        "cache_behaviors[2].path_pattern: '/api/data.json' can never match: cache_behaviors[0] ('/api/*') matches "
        "every path it does and is matched first; move it above that one",
    ]
    assert shadowed_behaviors([("cache_behaviors[0]", "*"), ("default_cache_behavior", "*")]) == [
        "default_cache_behavior is never used: cache_behaviors[0] ('*') matches every path"]


@pytest.mark.parametrize(
    ("path", "normalized"),
    [
        ("/images/a.jpg", "/images/a.jpg"),
        ("//api/x", "/api/x"),                # repeated slashes merged (AD/DownloadDistValuesCacheBehavior)
        ("/api//v1///x", "/api/v1/x"),
        ("/api/../admin/x", "/admin/x"),      # `..` removed, with the segment before it
        ("/x/../../api/y", "/api/y"),         # never above the root
        ("/api/./x", "/api/x"),
        ("/api/..", "/"),                     # a last dot segment leaves a directory (RFC 3986 §5.2.4)
        ("/api/x/.", "/api/x/"),
        ("/a/%2e%2e/api/x", "/api/x"),        # escaped unreserved characters decoded first (§6.2.2.2)
        ("/a/%2E%2E/api/x", "/api/x"),
        ("/%61pi/x", "/api/x"),
        ("/api%2Fx", "/api%2Fx"),             # a reserved character stays escaped
        ("/.well-known/x", "/.well-known/x"),  # a dot that starts a name is no dot segment
        ("/a/..b/c", "/a/..b/c"),
    ],
)
def test_behaviors_are_matched_on_the_path_cloudfront_normalizes(path: str, normalized: str) -> None:
    assert matching_path(path) == normalized
