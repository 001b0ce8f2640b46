"""Config problems name the line their field is written on (`file:line: field: message`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgesim.config import load_config
from edgesim.config_lines import field_line
from edgesim.errors import ConfigError

CONFIG = """\
[distribution]
id = "E1"

[[origins]]
id = "site"
directory = "site"

[[origins]]
id = "api"
url = "http://127.0.0.1:9"

[default_cache_behavior]
target_origin = "site"
functions.viewer-request = { cloudfront_function = "fns/a.js", runtime = "cloudfront-js-2.0" }

[[cache_behaviors]]
path_pattern = "/a/*"
target_origin = "site"

[[cache_behaviors]]
path_pattern = "/b/*"
target_origin = "api"
cache_polcy = "CachingDisabled"

[cache_behaviors.functions]
origin-request = { lambda = "fns/h.py:handler", timeout = 60 }
"""


@pytest.mark.parametrize(("location", "line"), [
    ("distribution.id", 2),
    ("origins[1].url", 10),
    ("origins[1]", 8),
    ("default_cache_behavior.functions.viewer-request", 14),
    ("default_cache_behavior.functions.viewer-request.runtime", 14),  # inside the inline table
    ("cache_behaviors[1].cache_polcy", 23),
    ("cache_behaviors[1].functions.origin-request.timeout", 26),
    ("cache_behaviors[0].viewer_protocol_policy", 16),  # missing: the table's header
    ("nowhere", None),
])
def test_a_location_is_found_on_its_line(location: str, line: int | None) -> None:
    assert field_line(CONFIG, location) == line


def test_config_problems_say_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    path = tmp_path / "edgesim.toml"
    path.write_text(CONFIG)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [
        f"{path}:23: cache_behaviors[1].cache_polcy: unknown key; did you mean 'cache_policy'?"]
    path.write_text(CONFIG.replace("cache_polcy", "cache_policy"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [p.split(": ", 2)[:2] for p in caught.value.problems] == [
        [f"{path}:26", "cache_behaviors[1].functions.origin-request"],  # handler file not found
        [f"{path}:26", "cache_behaviors[1].functions.origin-request.timeout"],  # over 30 s
        [f"{path}:14", "default_cache_behavior.functions.viewer-request"],  # function file not found
    ]
