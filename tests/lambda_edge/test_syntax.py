"""Lambda@Edge handlers' syntax, checked without running them (what `edgesim serve` says at start)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgesim.config import LambdaFunctionAssociation
from edgesim.lambda_edge.syntax import syntax_problem, syntax_problems

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")


def assoc(folder: Path, name: str, source: str) -> LambdaFunctionAssociation:
    (folder / name).write_text(source)
    return LambdaFunctionAssociation.model_validate({"lambda": f"{name}:handler"}, context={"base_dir": folder})


async def test_a_python_syntax_error_names_file_line_and_python_s_message(tmp_path: Path) -> None:
    bad = assoc(tmp_path, "bad.py", "def handler(event, context):\n    return event['Records'][0]['cf'\n")
    assert await syntax_problem(bad) == f"{tmp_path / 'bad.py'}:2: SyntaxError: '[' was never closed"


async def test_python_indentation_errors_say_so(tmp_path: Path) -> None:
    bad = assoc(tmp_path, "indent.py", "def handler(event, context):\nreturn 1\n")
    problem = await syntax_problem(bad)
    assert problem is not None and problem.startswith(f"{tmp_path / 'indent.py'}:2: IndentationError: ")


async def test_nothing_is_run_to_check_python(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    good = assoc(tmp_path, "effects.py", f"open({str(marker)!r}, 'w').close()\n"
                                         "def handler(event, context):\n    return None\n")
    assert await syntax_problem(good) is None
    assert not marker.exists()


@needs_node
async def test_a_node_syntax_error_names_file_line_and_node_s_message(tmp_path: Path) -> None:
    bad = assoc(tmp_path, "bad.js", "exports.handler = async (event) => {\n  return event;\n}}\n")
    assert await syntax_problem(bad) == f"{tmp_path / 'bad.js'}:3: SyntaxError: Unexpected token '}}'"


@needs_node
async def test_good_handlers_and_a_module_that_fails_only_when_run_pass(tmp_path: Path) -> None:
    # A missing import is not a syntax error: it shows at the first invocation (and in edgesim check).
    handlers = [assoc(tmp_path, "ok.js", "const x = require('no-such-package');\nexports.handler = async () => null;\n"),
                assoc(tmp_path, "ok.mjs", "export const handler = async () => null;\n"),
                assoc(tmp_path, "ok.py", "import no_such_module\ndef handler(event, context):\n    return None\n")]
    assert await syntax_problems(handlers) == []


@needs_node
async def test_each_file_is_reported_once_in_order(tmp_path: Path) -> None:
    js = assoc(tmp_path, "a.js", "exports.handler = (event) => {;\n")
    py = assoc(tmp_path, "b.py", "def handler(:\n")
    problems = await syntax_problems([py, js, py])
    assert [p.split(":")[0] for p in problems] == [str(tmp_path / "b.py"), str(tmp_path / "a.js")]
    assert "SyntaxError" in problems[1]


async def test_a_missing_file_is_left_to_the_invocation(tmp_path: Path) -> None:
    gone = assoc(tmp_path, "gone.py", "def handler(event, context):\n    return None\n")
    (tmp_path / "gone.py").unlink()
    assert await syntax_problem(gone) is None
