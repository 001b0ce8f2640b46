"""Terraform's built-in functions that configurations use around a distribution's values,
evaluated on known arguments (terraform_expressions.py calls them)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

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
        "coalesce": lambda *v: _first([x for x in v if x not in (None, "")]), "jsonencode": _jsonencode,
        "replace": lambda s, old, new: s.replace(old, new) if not old.startswith("/") else _unsupported(),
        "keys": lambda m: sorted(m), "values": lambda m: [m[k] for k in sorted(m)],
        "contains": lambda items, v: v in items, "compact": lambda items: [i for i in items if i not in (None, "")],
        "flatten": _flatten, "distinct": lambda items: [v for i, v in enumerate(items) if v not in items[:i]],
        "split": lambda sep, s: s.split(sep), "trimprefix": lambda s, p: s.removeprefix(p),
        "trimsuffix": lambda s, p: s.removesuffix(p), "startswith": str.startswith, "endswith": str.endswith,
        "min": min, "max": max, "try": lambda *v: v[0],
        "format": _format,
    }
    function = simple.get(name) or _PURE.get(name)
    if function is None:
        return Unknown(text)
    return function(*args)  # None is a value: `lookup(m, "k", null)` of a map without "k"


# What Terraform's jsonencode escapes in strings (its docs: "<, >, &, U+2028 and U+2029").
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _jsonencode(value: Any) -> str:
    """As Terraform encodes: compact, object keys sorted, non-ASCII as is, a few characters escaped.
    The text matters when it is baked into a CloudFront Function's code (its size is limited)."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return "".join(_JSON_ESCAPES.get(c, c) for c in text) if any(c in text for c in _JSON_ESCAPES) else text


def _substr(text: str, offset: int, length: int) -> str:
    start = int(offset) if offset >= 0 else max(0, len(text) + int(offset))
    return text[start:] if length == -1 else text[start:start + int(length)]


def _strings(items: list[Any]) -> list[str]:
    """Each item as Terraform converts it to a string; a list or map is no string."""
    out = [string_of(i) for i in items]
    if any(o is None for o in out):
        raise TypeError("not a list of strings")
    return [o for o in out if o is not None]


def _first(found: list[Any]) -> Any:
    """The first of what qualified; Terraform fails the call when nothing does."""
    if not found:
        raise ValueError("no argument qualifies")
    return found[0]


def _one(items: list[Any]) -> Any:
    if len(items) > 1:
        raise ValueError("one() of more than one element")
    return items[0] if items else None


def _range(*args: Any) -> list[Any]:
    start, limit = (0, args[0]) if len(args) == 1 else (args[0], args[1])
    step = args[2] if len(args) == 3 else (1 if start <= limit else -1)
    if step == 0 or len(args) > 3:
        raise ValueError("range() step of 0")
    out: list[Any] = []
    value = start
    while (value < limit) if step > 0 else (value > limit):
        if len(out) == 1024:  # Terraform's own cap on range()
            raise ValueError("range() of more than 1024 elements")
        out.append(value)
        value += step
    return out


def _number(value: float) -> Any:
    """Terraform has one number type: a whole float shows as an integer."""
    return int(value) if float(value).is_integer() else value


# More of Terraform's pure functions, as its documentation defines them (their examples are tests).
_PURE: dict[str, Callable[..., Any]] = {
    "abs": lambda n: _number(abs(n)), "ceil": lambda n: math.ceil(n), "floor": lambda n: math.floor(n),
    "signum": lambda n: (n > 0) - (n < 0), "sum": lambda items: _number(sum(items)),
    "base64encode": lambda s: base64.b64encode(s.encode()).decode(),
    "base64decode": lambda s: base64.b64decode(s, validate=True).decode(),
    "md5": lambda s: hashlib.md5(s.encode()).hexdigest(), "sha1": lambda s: hashlib.sha1(s.encode()).hexdigest(),
    "sha256": lambda s: hashlib.sha256(s.encode()).hexdigest(),
    "chomp": lambda s: re.sub(r"(?:\r\n|\n|\r)+\Z", "", s), "trim": lambda s, chars: s.strip(chars),
    "title": lambda s: re.sub(r"(?<!\w)(\w)", lambda m: m.group(1).upper(), s),
    "substr": _substr, "strrev": lambda s: s[::-1], "one": _one,
    "coalescelist": lambda *lists: _first([items for items in lists if items]), "range": _range,
    "reverse": lambda items: list(reversed(items)), "slice": lambda items, a, b: items[int(a):int(b)],
    "sort": lambda items: sorted(_strings(items)), "zipmap": lambda keys, values: dict(zip(keys, values, strict=True)),
    "jsondecode": json.loads, "tobool": lambda v: v if isinstance(v, bool) else {"true": True, "false": False}[v],
    "urlencode": lambda s: quote_plus(s, safe=""),
    "formatlist": lambda f, *lists: [_format(f, *row) for row in zip(*(
        v if isinstance(v, list) else [v] * max(len(x) for x in lists if isinstance(x, list)) for v in lists),
        strict=True)],
}


def _format(f: str, *values: Any) -> str:
    """format() for the verbs %s and %d (and %%); another verb is not evaluated here."""
    if not re.fullmatch(r"([^%]|%%|%s|%d)*", f):
        _unsupported()
    return (f.replace("%%", "\0") % tuple(values)).replace("\0", "%")


def _flatten(items: list[Any]) -> list[Any]:
    return [v for i in items for v in (_flatten(i) if isinstance(i, list) else [i])]


def _unsupported() -> Any:
    """A function's form this evaluator does not compute (a regex `replace`, a `format` verb)."""
    raise ValueError("not evaluated here")
