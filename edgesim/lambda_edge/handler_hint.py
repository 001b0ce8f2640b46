"""edgesim's own words after Lambda's `Runtime.HandlerNotFound`: where the missing name was set and
which function of the module was probably meant.

Lambda's line stays as Lambda words it ("Handler 'handlr' missing on module 'tag'"); this is added
after it. The module's functions are read from its source, never by importing it: Python's
top-level `def`s (ast), a Node module's exports as written (`exports.x =`, `module.exports.x =`,
`export function x`, `export const x`, `module.exports = { x, y }`).
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from pathlib import Path
from typing import Any

_NODE_EXPORTS = re.compile(
    r"(?:\bmodule\.)?\bexports\.([A-Za-z_$][\w$]*)\s*="
    r"|\bexport\s+(?:async\s+)?(?:function\s*\*?\s*|const\s+|let\s+|var\s+)([A-Za-z_$][\w$]*)")
_NODE_EXPORT_OBJECT = re.compile(r"\bmodule\.exports\s*=\s*\{([^}]*)\}")


def module_functions(path: Path) -> list[str]:
    """The functions a handler module defines at its top level, as far as its source says."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    if path.suffix == ".py":
        try:
            tree = ast.parse(text)
        except SyntaxError:
            return []
        return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    names = [a or b for a, b in _NODE_EXPORTS.findall(text)]
    for body in _NODE_EXPORT_OBJECT.findall(text):
        names += [m.group(1) for part in body.split(",") if (m := re.match(r"\s*([A-Za-z_$][\w$]*)", part))]
    return list(dict.fromkeys(names))


def handler_not_found_hint(path: Path, function: str, source: str) -> str:
    """What edgesim adds to Lambda's HandlerNotFound: `source` names what set `function` (the
    config field and the value written there), then the module's closest function, if any."""
    hint = f" (edgesim: {function!r} is set by {source}"
    defined = module_functions(path)
    meant = difflib.get_close_matches(function, defined, n=1)
    if meant:
        return hint + f"; did you mean {meant[0]!r}, which the module defines?)"
    if not defined and path.suffix != ".py" and _declares(path, function):
        # `function handler(event) {...}` with no export: a CloudFront Function's shape.
        return hint + (f"; the file declares {function}() but does not export it: a CloudFront Function? run it "
                       f"with `edgesim test-function {path.name}`; as a Lambda@Edge handler, add "
                       f"`exports.{function} = {function};`)")
    return hint + ")"


def _declares(path: Path, function: str) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(rf"^(?:async\s+)?function\s+{re.escape(function)}\s*\(", text, re.MULTILINE) is not None


def config_source(field: str, handler: str) -> str:
    """`field = "value"` as the user wrote it in TOML."""
    return f"{field} = {json.dumps(handler)}"


_PY_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_NODE_FRAME = re.compile(r"\(?([^\s()]+?):(\d+):\d+\)?$")
# Errors whose message already says where (a syntax error's line) or is about no line at all.
_PLACED = ("Runtime.HandlerNotFound", "Runtime.UserCodeSyntaxError")


def where_it_failed(path: Path, error: dict[str, Any]) -> str:
    """`file:line` of the handler's own code where loading it failed (`TABLE = os.environ["TABLE"]`
    at the module's top), else the handler's file: Lambda's error names only the exception, and its
    stack trace is not printed by `edgesim check`. The innermost frame under the handler's folder,
    outside installed packages, is taken (Python lists frames outermost first, Node.js innermost first)."""
    if error.get("errorType") in _PLACED:
        return str(path)
    folder = path.parent.resolve()
    python = any(_PY_FRAME.search(str(entry)) for entry in error.get("stackTrace") or [])
    found: list[str] = []
    for entry in error.get("stackTrace") or []:
        first = str(entry).splitlines()[0].strip() if str(entry).strip() else ""
        match = _PY_FRAME.search(first) if python else _NODE_FRAME.search(first)
        if match is None:
            continue
        frame = Path(match.group(1))
        if not frame.is_absolute() or {"node_modules", "site-packages"} & set(frame.parts):
            continue
        if frame.resolve().is_relative_to(folder):
            found.append(f"{frame}:{match.group(2)}")
    if not found:
        return str(path)
    return found[-1] if python else found[0]
