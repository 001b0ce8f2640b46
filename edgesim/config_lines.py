"""Where a field of a TOML config is written: the line of a key, a table's header, an array's item.

tomllib gives values without places, and tomlkit's document model keeps none either (its issue #55,
"Get the line and column numbers of parsed elements", is open), so the places come from
tree-sitter-toml's syntax tree (tree-sitter already parses functions' JavaScript here). The tree is
walked as TOML builds tables: a `[[cache_behaviors]]` header is the next item of that array, a
`[a.b]` header is taken under the last item of an array `a`, dotted keys and inline tables nest.

A place is told only where it is sure: a file tree-sitter cannot parse whole gives no lines, and a
path is placed only when tomllib's own values hold it too, so a problem gets no line rather than a
wrong one. Only loaded when a config has problems, so loading a good config costs nothing more.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import tree_sitter

KeyPath = tuple[str | int, ...]
# A table's header (or the first key that makes an implicit table), a value written after a key, or a
# whole array of tables (placed at its first header, which is no line of the whole array's). A
# problem inside a value (an inline table's key placed no deeper, say) may take the value's line; a
# problem inside a table never takes its header's line, but for a key it lacks.
Kind = Literal["table", "value", "array"]


@dataclass(frozen=True)
class _Place:
    line: int  # 1-based
    kind: Kind
    explicit: bool  # named by a header or a key of its own (not a table made on the way to another)


@functools.cache
def _parser() -> tree_sitter.Parser:
    import tree_sitter_toml

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_toml.language()))


@dataclass
class ConfigLines:
    """The line each table, key and array item of one TOML text is written on."""

    data: Mapping[str, Any]
    places: dict[KeyPath, _Place] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the field at `path` (pydantic's location in the user's keys): the key's own
        line; a missing key's table's header (or the inline table's key); None where unsure."""
        path = tuple(path)
        if not _holds(self.data, path):
            # A key the table lacks (a required field): the table it belongs in, if a header (or a
            # key, for an inline table) names it.
            parent = path[:-1]
            return self._written(parent) if parent and _holds(self.data, parent) else None
        if path in self.places:
            # A table made on the way to another is placed where it is first written: an unknown
            # key's place. A problem of a whole array of tables (duplicate ids) has no one line.
            place = self.places[path]
            return place.line if place.kind != "array" else None
        # A key written inside a value the tree placed no deeper: the value's own key, never a table's
        # header (the key is somewhere below it, on a line not known).
        for end in range(len(path) - 1, 0, -1):
            above = self.places.get(path[:end])
            if above is not None:
                return above.line if above.kind == "value" and above.explicit else None
        return None

    def _written(self, path: KeyPath) -> int | None:
        """The line that heads this very table (or the key of an inline one). A table made on the way
        to another (`[a]` by `[a.b]`, `functions` by `functions.viewer-request = ...`) has none: the
        line that first mentions it is no line of the table's, for a key it lacks."""
        place = self.places.get(path)
        return place.line if place is not None and place.explicit else None


def config_lines(text: str, data: Mapping[str, Any]) -> ConfigLines:
    """The places of `text`'s fields; `data` is tomllib's reading of it, the truth a place must match."""
    lines = ConfigLines(data)
    tree = _parser().parse(text.encode("utf-8"))
    if tree.root_node.has_error:  # tree-sitter read it otherwise than tomllib: no place is sure
        return lines
    _Walker(lines.places).document(tree.root_node)
    return lines


def _holds(data: Any, path: KeyPath) -> bool:
    """Whether tomllib's values hold `path` (the tree's reading of the text matches tomllib's)."""
    for part in path:
        if isinstance(part, int) and isinstance(data, list) and 0 <= part < len(data):
            data = data[part]
        elif isinstance(part, str) and isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return False
    return True


_KEY_TYPES = ("bare_key", "quoted_key", "dotted_key")


def _key(node: tree_sitter.Node) -> list[str]:
    """A key's parts as TOML reads them: `a."b.c" . d` is ["a", "b.c", "d"]."""
    if node.type == "dotted_key":
        return [part for child in node.named_children if child.type in _KEY_TYPES for part in _key(child)]
    text = (node.text or b"").decode("utf-8")
    if node.type == "quoted_key":  # escapes (`"a\u0062"`) read by tomllib, as the values were
        return [next(iter(tomllib.loads(f"{text} = 0")))]
    return [text]


def _line(node: tree_sitter.Node) -> int:
    return node.start_point.row + 1


class _Walker:
    """Walks a TOML syntax tree in order, naming each table, key and item by its path in the values."""

    def __init__(self, places: dict[KeyPath, _Place]) -> None:
        self.places = places
        self.items: dict[KeyPath, int] = {}  # each array of tables -> how many items its headers made so far

    def _put(self, path: KeyPath, line: int, kind: Kind, explicit: bool) -> None:
        known = self.places.get(path)
        if known is None or (explicit and not known.explicit):
            self.places[path] = _Place(line, kind, explicit)

    def _resolve(self, parts: list[str], line: int) -> KeyPath:
        """A header's key as a path: under an array of tables, its last item so far (TOML's rule)."""
        path: KeyPath = ()
        for part in parts:
            path += (part,)
            self._put(path, line, "table", False)
            if path in self.items:
                path += (self.items[path] - 1,)
        return path

    def document(self, root: tree_sitter.Node) -> None:
        for node in root.named_children:
            if node.type == "pair":
                self.pair(node, ())
            elif node.type in ("table", "table_array_element"):
                header = next(c for c in node.named_children if c.type in _KEY_TYPES)
                parts, line = _key(header), _line(node)
                if node.type == "table":
                    table = self._resolve(parts, line)
                else:
                    array = self._resolve(parts[:-1], line) + (parts[-1],)
                    self._put(array, line, "array", False)
                    self.items[array] = self.items.get(array, 0) + 1
                    table = array + (self.items[array] - 1,)
                self._put(table, line, "table", True)
                for child in node.named_children:
                    if child.type == "pair":
                        self.pair(child, table)

    def pair(self, node: tree_sitter.Node, table: KeyPath) -> None:
        children = node.named_children
        parts, line = _key(children[0]), _line(children[0])
        for end in range(1, len(parts)):  # `functions.viewer-request = ...` makes `functions` here
            self._put(table + tuple(parts[:end]), line, "table", False)
        path = table + tuple(parts)
        self._put(path, line, "value", True)
        if len(children) > 1:
            self.value(children[-1], path)

    def value(self, node: tree_sitter.Node, path: KeyPath) -> None:
        if node.type == "inline_table":
            for child in node.named_children:
                if child.type == "pair":
                    self.pair(child, path)
        elif node.type == "array":
            items = (c for c in node.named_children if c.type != "comment")
            for index, item in enumerate(items):
                self._put(path + (index,), _line(item), "value", True)
                self.value(item, path + (index,))

