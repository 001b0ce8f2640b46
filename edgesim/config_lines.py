"""Where a config problem's field is written in the TOML: its line, for `file:line:` in the message.

pydantic and the deploy checks name a field by its location (`cache_behaviors[2].cache_polcy`),
which in a config of thirty behaviors leaves the developer counting `[[cache_behaviors]]` headers;
`file:line:` is also what an editor's terminal opens on a click. tomllib keeps no positions, so the
text is scanned: table headers (`[t]`, `[[t]]`, counted to index an array of tables) and the keys
under them (dotted ones too). The line of the longest prefix of the location that is written is
taken: a key's own line, an inline table's for a key inside it, or the table's header for a key
that is missing from it. A problem whose location is not found keeps no line.
"""

from __future__ import annotations

import re

Part = str | int

# A table header, [a.b] or [[a]], and a `key = ` line (bare, quoted or dotted keys).
_HEADER = re.compile(r'^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$')
_KEY = re.compile(r'^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\'))*)\s*=')
_LOCATION_PART = re.compile(r'([^.\[\]]+)|\[(\d+)\]')


def location_parts(location: str) -> list[Part]:
    """`cache_behaviors[2].functions.viewer-request` as ["cache_behaviors", 2, "functions", "viewer-request"]."""
    return [int(index) if index else key for key, index in _LOCATION_PART.findall(location)]


def _keys(dotted: str) -> list[str]:
    return [k.strip().strip("\"'") for k in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', dotted)]


def field_line(text: str, location: str) -> int | None:
    """The 1-based line where `location` (as config problems name it) is written, or None."""
    wanted = location_parts(location)
    if not wanted:
        return None
    best: tuple[int, int] | None = None  # (how many parts matched, line)
    table: list[Part] = []
    counts: dict[tuple[Part, ...], int] = {}
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:  # inside a '''...''' or """...""" string: no keys here
            in_multiline = line.count('"""') % 2 == 0 and line.count("'''") % 2 == 0
            continue
        header = _HEADER.match(line)
        if header:
            names = _keys(header[2])
            if header[1] == "[[":
                counts[tuple(names)] = counts.get(tuple(names), -1) + 1
            # Each array of tables on the way is its latest element: `[cache_behaviors.functions]`
            # after a `[[cache_behaviors]]` is that behavior's.
            table = []
            for n, name in enumerate(names, start=1):
                table.append(name)
                if tuple(names[:n]) in counts:
                    table.append(counts[tuple(names[:n])])
            path = table
        else:
            key = _KEY.match(line)
            if key is None:
                continue
            path = [*table, *_keys(key[1])]
            if ('"""' in line or "'''" in line) and (line.count('"""') + line.count("'''")) % 2 == 1:
                in_multiline = True
        matched = _common(path, wanted)
        if matched == len(path) and (best is None or matched > best[0]):
            best = (matched, number)
    return best[1] if best is not None else None


def _common(path: list[Part], wanted: list[Part]) -> int:
    """How many leading parts `path` shares with `wanted` (the whole path, when it is a prefix)."""
    count = 0
    for mine, theirs in zip(path, wanted):
        if mine != theirs:
            break
        count += 1
    return count
