"""A Terraform variable's type constraint, read far enough to give its value what Terraform's type
conversion gives it: the attributes an object type marks `optional(...)` and the value leaves out
are null, or the default written there (Terraform docs, "Type Constraints: Optional Object Type
Attributes"), in lists, sets, maps and tuples of such objects too. A module's variables are often
`list(object({..., is_default = optional(bool, false)}))`, and the caller's values leave those out:
without the defaults, every `b.is_default` is unknown and so is what it decides.

`parse_type` reads python-hcl2's text of the constraint (`${list(object({a = string}))}`);
`with_defaults` applies it. What the text does not read as a type is None: the value is kept as given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edgesim.terraform_values import Unknown

_TOKEN = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_-]*|"(?:[^"\\]|\\.)*"|[(){}\[\],=:])')


@dataclass(frozen=True)
class TypeOf:
    """`kind` is a primitive (string, number, bool, any), or list / set / map (`element`), object
    (`attributes`: name -> (type, optional, the default's expression text or None)), tuple (`items`)."""

    kind: str
    element: TypeOf | None = None
    attributes: dict[str, tuple[TypeOf, bool, str | None]] = field(default_factory=dict)
    items: tuple[TypeOf, ...] = ()


class _NotAType(Exception):
    pass


def parse_type(raw: Any) -> TypeOf | None:
    """The constraint of a variable's `type = ...`, or None when it is not one this reads."""
    if not isinstance(raw, str):
        return None
    text = raw[2:-1] if raw.startswith("${") and raw.endswith("}") else raw
    parser = _Parser(text)
    try:
        parsed = parser.type()
        if text[parser.pos:].strip():
            return None
        return parsed
    except (_NotAType, IndexError):
        return None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def _peek(self) -> str | None:
        match = _TOKEN.match(self.text, self.pos)
        return match.group(1) if match else None

    def _take(self, expected: str | None = None) -> str:
        match = _TOKEN.match(self.text, self.pos)
        if match is None or (expected is not None and match.group(1) != expected):
            raise _NotAType
        self.pos = match.end()
        return match.group(1)

    def type(self) -> TypeOf:
        name = self._take()
        if name in ("string", "number", "bool", "any"):
            return TypeOf(name)
        if name in ("list", "set", "map"):
            self._take("(")
            element = self.type()
            self._take(")")
            return TypeOf(name, element=element)
        if name == "tuple":
            self._take("(")
            self._take("[")
            items: list[TypeOf] = []
            while self._peek() != "]":
                items.append(self.type())
                if self._peek() == ",":
                    self._take(",")
            self._take("]")
            self._take(")")
            return TypeOf("tuple", items=tuple(items))
        if name == "object":
            self._take("(")
            self._take("{")
            attributes: dict[str, tuple[TypeOf, bool, str | None]] = {}
            while self._peek() != "}":
                key = self._take()
                key = key[1:-1] if key.startswith('"') else key
                if self._take() not in ("=", ":"):
                    raise _NotAType
                attributes[key] = self._attribute()
                if self._peek() == ",":
                    self._take(",")
            self._take("}")
            self._take(")")
            return TypeOf("object", attributes=attributes)
        raise _NotAType

    def _attribute(self) -> tuple[TypeOf, bool, str | None]:
        if self._peek() != "optional":
            return self.type(), False, None
        self._take("optional")
        self._take("(")
        inner = self.type()
        default = None
        if self._peek() == ",":
            self._take(",")
            start = self.pos
            self.pos = _closing(self.text, start)
            default = self.text[start:self.pos].strip()
        self._take(")")
        return inner, True, default


def _closing(text: str, start: int) -> int:
    """Where the expression from `start` ends: the `)` that closes `optional(`, outside strings."""
    end = closing_bracket(text, start)
    if end < 0:
        raise _NotAType
    return end


def closing_bracket(text: str, start: int) -> int:
    """Where the first `)`, `]` or `}` not opened after `start` is, brackets counted and strings
    skipped (HCL's type expressions, and the `${ }` of its templates); -1 when none closes."""
    depth, i, quoted = 0, start, False
    while i < len(text):
        c = text[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


def with_defaults(type_: TypeOf | None, value: Any, evaluate: Callable[[str], Any]) -> Any:
    """`value` as Terraform converts it to `type_`, for what this models: an object's optional
    attributes that are absent become their default (`evaluate`d from its expression text) or null.
    Attributes the type does not name are kept; a value not of the type's shape is left as it is."""
    if type_ is None or value is None or isinstance(value, Unknown):
        return value
    if type_.kind in ("list", "set") and isinstance(value, list):
        return [with_defaults(type_.element, v, evaluate) for v in value]
    if type_.kind == "map" and isinstance(value, Mapping):
        return {k: with_defaults(type_.element, v, evaluate) for k, v in value.items()}
    if type_.kind == "tuple" and isinstance(value, list):
        return [with_defaults(type_.items[i], v, evaluate) if i < len(type_.items) else v
                for i, v in enumerate(value)]
    if type_.kind == "object" and isinstance(value, Mapping):
        out = dict(value)
        for name, (inner, optional, default) in type_.attributes.items():
            if name in out and not (out[name] is None and optional and default is not None):
                out[name] = with_defaults(inner, out[name], evaluate)
            elif optional:  # absent, or null where a default is written: Terraform gives the default
                out[name] = with_defaults(inner, evaluate(default), evaluate) if default is not None else None
        return out
    return value
