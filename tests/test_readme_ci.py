"""The README's "In CI" job runs green, as written, in a project `edgesim init` made, with no terminal,
and leaves the project as it found it but for the reports it asks for."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import edgesim

README = Path(__file__).resolve().parent.parent / "README.md"
ROOT = str(Path(edgesim.__file__).resolve().parent.parent)
WORKFLOW = re.compile(r"^```yaml \.github/workflows/edge\.yml\n(.*?)^```$", re.S | re.M)
ANSI = re.compile(r"\x1b\[")


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## In CI")
    return text[start:text.index("\n## ", start + 3)]


def commands() -> list[str]:
    found = WORKFLOW.search(section())
    assert found is not None, "the In CI section has no ```yaml .github/workflows/edge.yml block"
    steps = yaml.safe_load(found.group(1))["jobs"]["edge"]["steps"]
    runs = [step["run"] for step in steps if "run" in step]
    return [run for run in runs if not run.startswith("pip ")]


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_the_workflow_names_each_command_a_ci_job_runs() -> None:
    used = {run.split()[1] if run.startswith("edgesim ") else run.split()[0] for run in commands()}
    assert used == {"check", "test", "pytest", "generate-event", "invoke"}


def test_the_workflow_passes_in_a_new_project(tmp_path: Path) -> None:
    project = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as a runner has it
    env.update(PYTHONPATH=os.pathsep.join([ROOT, env.get("PYTHONPATH", "")]), CI="true",
               PYTEST_ADDOPTS="-p no:benchmark")
    python = f'"{sys.executable}" -m'
    init = subprocess.run(f"{python} edgesim init {project}", shell=True, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    assert init.returncode == 0, init.stderr
    before = files(project)
    for run in commands():
        # `edgesim` and `pytest` as this interpreter runs them; stdin is no terminal, as on a runner.
        line = re.sub(r"(^|\| )(edgesim|pytest) ", lambda m: f"{m.group(1)}{python} {m.group(2)} ", run)
        done = subprocess.run(line, shell=True, cwd=project, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120)
        assert done.returncode == 0, f"{run}\n{done.stdout}\n{done.stderr}"
        assert not ANSI.search(done.stdout + done.stderr), run
    made = files(project) - before
    # The reports asked for, and pytest's own cache and bytecode of the test modules; nothing of edgesim's.
    ours = {f for f in made if not f.startswith((".pytest_cache/", "__pycache__/"))}
    assert ours == {"edgesim-cases.xml", "pytest.xml"}, sorted(made)


@pytest.mark.parametrize("args", [["check", "--no-such-option"], ["nosuchcommand"]])
def test_a_usage_error_exits_2_not_1(args: list[str]) -> None:
    """A job's step that is miswritten (2) is told from the code it checks being wrong (1)."""
    from click.testing import CliRunner

    from edgesim.cli import main

    assert CliRunner().invoke(main, args).exit_code == 2
