"""Config loading: valid configs load, what CloudFront refuses at deploy is refused with a clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgesim.config import default_config_path, load_config
from edgesim.errors import ConfigError


def test_embedded_default_loads() -> None:
    config = load_config(default_config_path())
    assert [b.path_pattern for b in config.behaviors()] == ["/static/*", "*"]
