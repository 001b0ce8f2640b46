"""The README's "Testing your edge functions" example passes when pasted into a new project."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import edgesim
from edgesim.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
# A fenced block whose info string names a file: ```toml edgesim.toml
FILE_BLOCK = re.compile(r"^```\w+ (\S+)\n(.*?)^```$", re.S | re.M)


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Testing your edge functions")
    end = text.find("\n## ", start + 3)
    return text[start:end if end != -1 else len(text)]


def files() -> dict[str, str]:
    return {name: body for name, body in FILE_BLOCK.findall(section())}


def test_the_example_names_its_files() -> None:
    assert sorted(files()) == ["edgesim.toml", "functions/redirects.js", "test_edge.py"]


def test_the_example_passes_in_a_new_project(pytester: pytest.Pytester) -> None:
    
    for name, body in files().items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    root = str(Path(edgesim.__file__).resolve().parent.parent)
    pytester._monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    # A new project has no pytest ini of its own: run it as a user would, in a fresh process.
    # Warnings are errors, except pytest-asyncio's deprecation notice about its own unset option,
    # which some pytest versions raise for any project without that ini line (not edgesim's).
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:benchmark", "-W", "error",
                                           "-W", "ignore::pytest.PytestDeprecationWarning")
    result.assert_outcomes(passed=3)


def test_the_yaml_cases_pass_against_the_example(tmp_path: Path) -> None:
    
    for name, body in files().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    yaml_block = re.search(r"```yaml\n(.*?)^```$", section(), re.S | re.M)
    assert yaml_block is not None
    (tmp_path / "cases.yaml").write_text(yaml_block.group(1))
    result = CliRunner().invoke(main, ["test", str(tmp_path / "cases.yaml")])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("2 passed, 0 failed")
