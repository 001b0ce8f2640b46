"""What every table of the config is built on: a frozen pydantic model, and the config's folder.

Its own module so that config.py and the modules of its parts (origin_config.py,
function_associations.py) share it without importing one another.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationInfo


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def base_dir(info: ValidationInfo) -> Path:
    """The folder a config's relative paths start from (the config file's, or the caller's)."""
    ctx = info.context or {}
    return Path(ctx.get("base_dir", "."))
