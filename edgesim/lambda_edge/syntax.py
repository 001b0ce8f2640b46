"""A Lambda@Edge handler's syntax, checked without running it, for `edgesim serve` to say at start.

Lambda reports a handler that does not compile only when it first initialises, at the first
invocation, and edgesim does the same: that request gets CloudFront's 503, whatever was said at start.
But a developer should not have to send a request to learn of a typo, so `edgesim serve` checks
every handler's syntax as it starts and after each reload, and names the file and line. Nothing is
run: Python compiles the file in this process (the interpreter the workers run), Node.js checks it
with `node --check`. What only running the module shows (a missing import) stays for the first
invocation, and for `edgesim check`, which imports each handler.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

from edgesim.function_associations import LambdaFunctionAssociation

# `node --check` is quick (about 40 ms); a machine that stalls it longer gets no answer rather than
# a late start.
NODE_CHECK_TIMEOUT_S = 10.0
_NODE_ERROR = re.compile(r"^\w*Error\b.*$", re.MULTILINE)
_NODE_WHERE = re.compile(r"^(?P<file>.+):(?P<line>\d+)$")


async def syntax_problem(assoc: LambdaFunctionAssociation) -> str | None:
    """`file:line: SyntaxError: ...` when the handler's file does not compile, else None (a file
    that cannot be read, or no `node` to check it with, is left to the first invocation to report)."""
    path = assoc.path
    if path.suffix == ".py":
        return _python_problem(path)
    return await _node_problem(path)


def _python_problem(path: Path) -> str | None:
    try:
        source = path.read_bytes()
    except OSError:
        return None
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:  # IndentationError and TabError are SyntaxErrors too
        line = f":{exc.lineno}" if exc.lineno else ""
        return f"{path}{line}: {type(exc).__name__}: {exc.msg}"
    except ValueError as exc:  # source with a NUL byte
        return f"{path}: SyntaxError: {exc}"
    return None


async def _node_problem(path: Path) -> str | None:
    node = shutil.which("node")
    if node is None or not path.is_file():
        return None
    try:
        process = await asyncio.create_subprocess_exec(
            node, "--check", str(path), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    except OSError:  # cannot start node now (out of processes or descriptors): the invocation will say
        return None
    try:
        _, err = await asyncio.wait_for(process.communicate(), NODE_CHECK_TIMEOUT_S)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        return None
    if process.returncode == 0:
        return None
    return _node_message(path, err.decode("utf-8", "replace"))


def _node_message(path: Path, stderr: str) -> str:
    """Node's report (`FILE:LINE`, the line, a caret, `SyntaxError: ...`, a stack) as one line."""
    first = stderr.lstrip().split("\n", 1)[0]
    where = _NODE_WHERE.match(first)
    line = f":{where['line']}" if where else ""
    error = _NODE_ERROR.search(stderr)
    return f"{path}{line}: {error[0].strip() if error else first.strip() or 'node --check failed'}"


async def syntax_problems(associations: list[LambdaFunctionAssociation]) -> list[str]:
    """Every handler file's problem, once per file, in the order given; checked concurrently."""
    unique = list({assoc.path: assoc for assoc in associations}.values())
    found = await asyncio.gather(*(syntax_problem(assoc) for assoc in unique))
    return [problem for problem in found if problem is not None]
