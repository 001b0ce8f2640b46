"""Write an edgesim config as TOML by hand: the tables in the README's order, comments kept.

The standard library reads TOML but does not write it; edgesim's configs need only strings,
numbers, booleans, arrays and tables, so a small writer here spares a dependency. What it writes is
read back with tomllib by its caller (config_import.py checks every config it writes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Union

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Remark:
    """A value written with a comment after it on its line (`cache_policy = "X"  # placeholder`)."""

    value: TomlValue
    comment: str


@dataclass(frozen=True)
class CommentedOut:
    """A line the user may want, written as a comment: `# trusted_key_groups = ["g"]  # why`."""

    value: TomlValue
    comment: str


TomlValue = Union[str, int, float, bool, Sequence["TomlValue"], Mapping[str, "TomlValue"], Remark, CommentedOut]
Table = Mapping[str, TomlValue]


def key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def scalar(value: TomlValue) -> str:
    """One value on one line: arrays and tables inline."""
    if isinstance(value, (Remark, CommentedOut)):
        return scalar(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string once non-ASCII stays as it is: the same escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{key(k)} = {scalar(v)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    return "[" + ", ".join(scalar(v) for v in value) + "]"


def _spread(value: TomlValue) -> bool:
    """A table value holding tables (a policy, `functions`) is written as dotted keys, one a line
    (so that a table marked with a Remark keeps its comment on its own line)."""
    return isinstance(value, Mapping) and bool(value) and any(
        isinstance(v, Mapping) or (isinstance(v, Remark) and isinstance(v.value, Mapping)) for v in value.values())


def _lines(table: Table, prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, value in table.items():
        dotted = prefix + key(name)
        if _spread(value):
            assert isinstance(value, Mapping)
            out.extend(_lines(value, dotted + "."))
        elif isinstance(value, CommentedOut):
            out.append(f"# {dotted} = {scalar(value)}  # {value.comment}")
        elif isinstance(value, Remark):
            out.append(f"{dotted} = {scalar(value)}  # {value.comment}")
        else:
            out.append(f"{dotted} = {scalar(value)}")
    return out


def render(document: Mapping[str, Table | Sequence[Table]], header: Sequence[str] = ()) -> str:
    """TOML text: `header` as comment lines, then each top-level table ([x]) or array of tables ([[x]])."""
    parts: list[str] = ["\n".join(f"# {line}" if line else "#" for line in header)] if header else []
    for name, content in document.items():
        if isinstance(content, Mapping):
            if content:
                parts.append("\n".join([f"[{key(name)}]", *_lines(content)]))
        else:
            parts.extend("\n".join([f"[[{key(name)}]]", *_lines(table)]) for table in content)
    return "\n\n".join(parts) + "\n"
