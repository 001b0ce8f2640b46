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

from edgesim.lambda_edge.python_packages import missing_module_hint

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
# Lambda's syntax errors say where in their message's tail: Python's "(app.py, line 4)" (the file's
# name only), Node's "(/var/task/app.js:4)".
_PY_SYNTAX_AT = re.compile(r"\(([^(),]+\.py), line (\d+)\)$")
_NODE_SYNTAX_AT = re.compile(r"\((/[^()]+):(\d+)\)$")
_PY_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_NODE_NO_MODULE = re.compile(r"Cannot find (?:module|package) '([^']+)'")
# Node's message goes on with "Require stack:" and one line per requiring file (edgesim's shim among them).
_REQUIRE_STACK = "\nRequire stack:"


def where_it_failed(path: Path, error: dict[str, Any], at: str = "") -> str:
    """`file:line` of the handler's own code where loading it failed (`TABLE = os.environ["TABLE"]`
    at the module's top), else the handler's file: Lambda's error names only the exception, and its
    stack trace is not printed by `edgesim check`. The innermost frame under the handler's folder,
    outside installed packages, is taken (Python lists frames outermost first, Node.js innermost first).
    `at`: where the Python shim saw a failed import (WorkerInitError.at), in a module beside the handler too."""
    kind = error.get("errorType")
    if kind == "Runtime.HandlerNotFound":
        return str(path)
    if kind == "Runtime.UserCodeSyntaxError":
        return _syntax_error_at(path, str(error.get("errorMessage", "")))
    if kind == "Runtime.ImportModuleError" and at:
        return at
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
        line = _import_line(path, str(error.get("errorMessage", ""))) if kind == "Runtime.ImportModuleError" else None
        return f"{path}:{line}" if line is not None else str(path)
    return found[-1] if python else found[0]


def _syntax_error_at(path: Path, message: str) -> str:
    """`file:line` from a syntax error's message; the file is the handler's or one beside it that it imports."""
    found = _PY_SYNTAX_AT.search(message) or _NODE_SYNTAX_AT.search(message)
    if found is None:
        return str(path)
    named = Path(found.group(1))
    file = named if named.is_absolute() else path.parent / named
    return f"{file if file.is_file() else path}:{found.group(2)}"


def _import_line(path: Path, message: str) -> int | None:
    """The line of the handler's file that imports the module Lambda says is missing: Python's
    ImportModuleError carries no stack trace (Lambda's has none either), so only the source can say."""
    missing = _PY_NO_MODULE.search(message)
    if missing is None or path.suffix != ".py":
        return None
    top = missing.group(1).split(".")[0]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        else:
            continue
        if any(name.split(".")[0] == top for name in names):
            return node.lineno
    return None


def load_problem(path: Path, error_type: str, message: str, site_packages: bool = False) -> str:
    """Lambda's message for a handler that does not load, on one line (`edgesim check` prints one line
    per problem), with what to do when a library is missing (import_hint)."""
    text = message.split(_REQUIRE_STACK, 1)[0]
    text = "; ".join(line.strip() for line in text.splitlines() if line.strip())
    return text + import_hint(path, error_type, text, site_packages)


def import_hint(path: Path, error_type: str, message: str, site_packages: bool = False) -> str:
    """edgesim's words after Lambda's ImportModuleError for a missing library: how to bundle it.
    Lambda@Edge has no layers and installs nothing, so a library not in the function's own package
    fails there even when edgesim's Python or Node.js could find it (CloudFront docs: "Restrictions on
    Lambda@Edge"); `site_packages`: the handler was let import edgesim's environment."""
    if error_type != "Runtime.ImportModuleError":
        return ""
    folder = path.parent
    if (py := _PY_NO_MODULE.search(message)) is not None and path.suffix == ".py":
        return f" (edgesim: {missing_module_hint(py.group(1), folder, site_packages)})"
    node = _NODE_NO_MODULE.search(message)
    if node is not None and not node.group(1).startswith((".", "/")):  # a package, not one of the project's files
        return (f" (edgesim: Lambda@Edge runs only what the function's package holds: `npm install "
                f"{node.group(1)}` in {folder}, and deploy node_modules with the code)")
    return ""
