"""Terraform's built-in functions that configurations use around a distribution's values,
evaluated on known arguments (terraform_expressions.py calls them)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgesim.config import read_user_text
from edgesim.terraform_values import FileText, Unknown, string_of

# The functions that only look at a container's shape, which answer when some of its values are unknown.
STRUCTURAL = frozenset({"lookup", "keys", "values", "length", "merge", "concat", "element", "tolist", "toset",
                         "tomap", "coalesce", "flatten", "compact", "try"})


def call_function(name: str, args: list[Any], folder: Path, note: Callable[[str, str], None], text: str) -> Any:
    """The function `name` of known `args` (`file()` read relative to the module's `folder`, a
    missing file said with `note`); an Unknown for a function not evaluated here."""
    if name == "file":
        path = Path(str(args[0]))
        path = path if path.is_absolute() else folder / path
        if not path.is_file():
            note(f"file:{path}", f"{text}: no file {path}")
            return Unknown(text)
        return FileText(read_user_text(path, "file() in a Terraform file"), path)
    simple: dict[str, Callable[..., Any]] = {
        "abspath": lambda p: str((folder / p).resolve()), "basename": lambda p: Path(p).name,
        "dirname": lambda p: str(Path(p).parent), "lower": str.lower, "upper": str.upper, "trimspace": str.strip,
        "join": lambda sep, items: sep.join(map(string_of, items)), "tostring": string_of, "tonumber": float,
        "tolist": list, "toset": list, "tomap": dict, "length": len, "concat": lambda *lists: sum(lists, []),
        "merge": lambda *maps: {k: v for m in maps for k, v in m.items()},
        "lookup": lambda m, k, *d: m[k] if k in m or not d else d[0], "element": lambda items, i: items[i % len(items)],
        "coalesce": lambda *v: next(x for x in v if x not in (None, "")), "jsonencode": _jsonencode,
        "replace": lambda s, old, new: s.replace(old, new) if not old.startswith("/") else _unsupported(),
        "keys": lambda m: sorted(m), "values": lambda m: [m[k] for k in sorted(m)],
        "contains": lambda items, v: v in items, "compact": lambda items: [i for i in items if i not in (None, "")],
        "flatten": _flatten, "distinct": lambda items: [v for i, v in enumerate(items) if v not in items[:i]],
        "split": lambda sep, s: s.split(sep), "trimprefix": lambda s, p: s.removeprefix(p),
        "trimsuffix": lambda s, p: s.removesuffix(p), "startswith": str.startswith, "endswith": str.endswith,
        "min": min, "max": max, "try": lambda *v: v[0],
        "format": lambda f, *v: (f.replace("%%", "\0") % tuple(v)).replace("\0", "%") if re.fullmatch(
            r"([^%]|%%|%s|%d)*", f) else _unsupported(),
    }
    if name not in simple:
        return Unknown(text)
    return simple[name](*args)  # None is a value: `lookup(m, "k", null)` of a map without "k"


# What Terraform's jsonencode escapes in strings (its docs: "<, >, &, U+2028 and U+2029").
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _jsonencode(value: Any) -> str:
    """As Terraform encodes: compact, object keys sorted, non-ASCII as is, a few characters escaped.
    The text matters when it is baked into a CloudFront Function's code (its size is limited)."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return "".join(_JSON_ESCAPES.get(c, c) for c in text) if any(c in text for c in _JSON_ESCAPES) else text


def _flatten(items: list[Any]) -> list[Any]:
    return [v for i in items for v in (_flatten(i) if isinstance(i, list) else [i])]


def _unsupported() -> Any:
    """A function's form this evaluator does not compute (a regex `replace`, a `format` verb)."""
    raise ValueError("not evaluated here")
