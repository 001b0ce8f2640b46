"""V8's own words for a CloudFront Function that does not compile, for `edgesim check`.

lint.py's parse (tree-sitter) finds that a file has a syntax error and where, but has no message
for it; `edgesim serve` compiles the file in V8 and says V8's message. `check` asks V8 too, so both
say the same thing, with the column V8 marks under the line. Nothing of the code runs: only the
factory that wraps it (isolate.factory_source) is evaluated, which compiles the code and calls none.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from edgesim.cloudfront_functions.isolate import FACTORY_HEAD, factory_source
from edgesim.cloudfront_functions.outcome import v8_message_and_line
from edgesim.cloudfront_functions.v8 import V8, JSEvalException


@dataclass(frozen=True)
class SyntaxProblem:
    message: str  # "SyntaxError: Unexpected token ';'"
    line: int | None  # 1-based, in the user's file
    column: int | None  # 1-based, where V8 put its caret; None when it showed none


def caret_column(text: str, source: str, line: int | None) -> int | None:
    """The column of V8's `^` under the line it quotes ("<anonymous>:3: SyntaxError: …", the line,
    the caret), when the quoted line is that line of `source` as V8 compiled it."""
    shown = text.splitlines()
    lines = source.splitlines()
    if line is None or len(shown) < 3 or not 1 <= line <= len(lines) or shown[1] != lines[line - 1]:
        return None
    caret = shown[2].find("^")
    head = len(FACTORY_HEAD) if line == 1 else 0  # the factory's own text before the file's first line
    return caret - head + 1 if caret >= head and not shown[2][:caret].strip() else None


async def v8_syntax_problem(code: str, file: str) -> SyntaxProblem | None:
    """What V8 says compiling `code` as a CloudFront Function, or None when it compiles."""
    source = factory_source(code, file)
    v8 = V8(asyncio.get_running_loop())
    try:
        await v8.eval(source)
    except JSEvalException as exc:
        text = str(exc)
        message, line = v8_message_and_line(text)
        return SyntaxProblem(message, line, caret_column(text, source, line))
    finally:
        v8.close()
    return None


def syntax_problem(code: str, file: str) -> SyntaxProblem | None:
    """v8_syntax_problem from synchronous code (`edgesim check`), inside a running loop or not."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(v8_syntax_problem(code, file))
    with ThreadPoolExecutor(1) as pool:  # a loop runs in this thread: V8 answers on one of its own
        return pool.submit(asyncio.run, v8_syntax_problem(code, file)).result()
