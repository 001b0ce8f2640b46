"""Path patterns (spec §4.1): declared order, first match, `*` crosses `/`, `?` one character,
case-sensitive, leading `/` optional, default last."""

from __future__ import annotations

import pytest

from edgesim.routing import matches


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
