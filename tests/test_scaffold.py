"""`edgesim init`: a project from the embedded default, standing on its own, never overwriting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import edgesim
from edgesim.cli import main
from edgesim.config import CloudFrontFunctionAssociation, load_config
from edgesim.messages import Headers, Request
from edgesim.scaffold import ScaffoldError, scaffold
from edgesim.simulator import Simulator


def test_the_project_holds_its_own_functions_and_serves_as_the_default_does(tmp_path: Path) -> None:
    project = tmp_path / "my-edge"
    created = scaffold(project)
    config = load_config(project / "edgesim.toml")
    files = [a.cloudfront_function if isinstance(a, CloudFrontFunctionAssociation) else a.path
             for _, _, a in config.function_associations()]
    assert files and all(f.resolve().is_relative_to(project.resolve()) and f.is_file() for f in files)
    assert sorted(p.as_posix() for _, _, p in created.functions) == ["functions/add-index.js",
                                                                      "functions/security_headers.py"]
    for text_file in project.glob("*.py"):  # the tests' paths were rewritten too
        assert '"../' not in text_file.read_text(), text_file
    assert (project / "site" / "index.html").is_file() and (project / "events").is_dir()


async def test_the_copy_behaves_like_the_default(tmp_path: Path) -> None:
    scaffold(tmp_path)
    async with Simulator(load_config(tmp_path / "edgesim.toml")) as sim:
        response, trace = await sim.handle(Request("GET", "/docs/", "", Headers([("Host", "localhost")])))
    assert response.status == 200 and b"<h1>Docs</h1>" in response.body
    assert response.headers.get("x-frame-options") == "DENY"
    assert [t.event_type.value for t in trace.triggers] == ["viewer-request", "origin-response"]


def test_its_tests_pass_where_it_was_made(tmp_path: Path) -> None:
    scaffold(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(edgesim.__file__).resolve().parent.parent)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path,
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout and "failed" not in run.stdout


def test_nothing_is_overwritten(tmp_path: Path) -> None:
    (tmp_path / "edgesim.toml").write_text("# mine\n")
    with pytest.raises(ScaffoldError, match=r"edgesim\.toml already exists; edgesim init never overwrites"):
        scaffold(tmp_path)
    assert (tmp_path / "edgesim.toml").read_text() == "# mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edgesim.toml"]  # nothing else was written


def test_the_command_lists_what_it_made_and_what_to_run_next(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "site-edge"
    result = runner.invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert "functions/add-index.js  (cloudfront-function at viewer-request)" in result.output
    assert f"next: cd {target} && edgesim serve" in result.output
    again = runner.invoke(main, ["init", str(target)])
    assert again.exit_code == 1 and "never overwrites" in again.output


def test_a_second_init_of_a_folder_suggests_another_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`edgesim init my-edge` run twice is told of a folder it could use, not to run itself again."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["init", "my-edge"]).exit_code == 0
    again = runner.invoke(main, ["init", "my-edge"])
    assert again.exit_code == 1
    assert "pick an empty folder, e.g. `edgesim init my-edge-2`" in again.output


def test_the_config_names_its_schema_for_editors(tmp_path: Path) -> None:
    import json
    import tomllib

    import jsonschema

    scaffold(tmp_path / "p")
    config_text = (tmp_path / "p" / "edgesim.toml").read_text()
    assert config_text.startswith("#:schema ./edgesim.schema.json\n")
    schema = json.loads((tmp_path / "p" / "edgesim.schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(tomllib.loads(config_text))) == []
