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


# --- "Commands" and "The config": what a new user copies first ----------------------------------

OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])\b")


def commands_table() -> dict[str, set[str]]:
    """Each command's options as the README's commands table shows them (its first column)."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Commands"):text.index("## The config")]
    options: dict[str, set[str]] = {}
    for row in re.findall(r"^\| `edgesim ([a-z-]+)([^`]*)` \|", table, re.M):
        options.setdefault(row[0], set()).update(OPTION.findall(row[1]))
    return options


def test_the_commands_table_names_every_option_of_every_command() -> None:
    """A flag `--help` shows that the table does not (or the other way round) is one a user never
    finds, or one the README promises that does not exist."""
    documented = commands_table()
    assert sorted(documented) == sorted(name for name in main.commands)
    for name, command in main.commands.items():
        # One spelling of each option is enough (`-o` for `-o, --output`); none may be made up.
        spellings = [set(param.opts) for param in command.params if param.opts[0].startswith("-")]
        undocumented = [sorted(s) for s in spellings if not s & documented[name] and "--help" not in s]
        assert not undocumented, f"edgesim {name}: {undocumented} in --help, not in the commands table"
        assert documented[name] <= set().union(*spellings), f"edgesim {name}: not an option of it"


def test_the_config_example_passes_check(tmp_path: Path) -> None:
    """The annotated config under "The config", with the files it names, is one edgesim takes."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## The config")
    block = re.search(r"^```toml\n(.*?)^```$", text[start:], re.S | re.M)
    assert block is not None
    (tmp_path / "edgesim.toml").write_text(block.group(1))
    (tmp_path / "site").mkdir()
    (tmp_path / "functions/cff").mkdir(parents=True)
    (tmp_path / "functions/lambda").mkdir(parents=True)
    repo = README.parent / "functions"
    (tmp_path / "functions/cff/add-index.js").write_text((repo / "cff/add-index.js").read_text())
    (tmp_path / "functions/lambda/security_headers.py").write_text((repo / "lambda/security_headers.py").read_text())
    # auth.py is the reader's own: any handler that passes the request on stands for it.
    (tmp_path / "functions/lambda/auth.py").write_text(
        "def handler(event, context):\n    return event['Records'][0]['cf']['request']\n")
    result = CliRunner().invoke(main, ["check", "--config", str(tmp_path / "edgesim.toml")])
    assert result.exit_code == 0, result.output
    assert "3 behaviors, 2 origins, 3 function associations" in result.output


def test_the_serve_log_sample_is_what_serve_prints_for_docs() -> None:
    """The request lines under the first command, numbers aside, are what `edgesim serve` of the
    embedded default prints for GET /docs/ twice."""
    from edgesim.request_log import text_line
    from edgesim.testing_sync import SyncDistribution

    text = README.read_text(encoding="utf-8")
    intro = text[:text.index("## Commands")]
    block = re.search(r"^```\n(GET .*?)^```$", intro, re.S | re.M)
    assert block is not None
    numbers = re.compile(r"\d+(?:\.\d+)?")
    samples = README.parent / "samples"
    dist = SyncDistribution(samples / "edgesim.toml", base_dir=samples)
    dist.start()
    try:
        seen: set[str] = set()
        lines: list[str] = []
        for _ in range(2):
            dist.get("/docs/")
            lines.extend(text_line(dist.last_trace, seen_notes=seen).splitlines())
    finally:
        dist.close()
    assert [numbers.sub("N", line) for line in lines] == [numbers.sub("N", line) for line in block.group(1).splitlines()]
