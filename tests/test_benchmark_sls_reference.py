"""The serverless-offline-edge-lambda reference stack: install decisions, its service, its skip notes.

Nothing here installs or runs serverless: npm is never called (a fake stands in where the failure
path is checked), so the tests need no network and no cache directory of their own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks import run as bench_run
from benchmarks import sls_reference
from benchmarks.__main__ import main
from benchmarks.edgesim_configs import LAMBDA_NODE_ONE, SCENARIOS, write_scenario
from benchmarks.report import STACKS, readme_section
from benchmarks.run import EXPECTED_HEADERS, Options
from benchmarks.sls_reference import VERSIONS


def fake_install(prefix: Path, versions: dict[str, str]) -> None:
    for name, version in versions.items():
        package = prefix / "node_modules" / name
        package.mkdir(parents=True, exist_ok=True)
        (package / "package.json").write_text(json.dumps({"name": name, "version": version}))
    (prefix / "node_modules" / "serverless" / "bin").mkdir(parents=True, exist_ok=True)
    sls_reference.serverless_bin(prefix).write_text("// not the real one\n")


@pytest.fixture
def no_npm(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record, and refuse, any attempt to run a process: these tests must never reach npm."""
    calls: list[list[str]] = []

    def refuse(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        return subprocess.CompletedProcess(argv, 1, "", "npm ERR! network unreachable")

    monkeypatch.setattr(sls_reference.subprocess, "run", refuse)
    return calls


def test_versions_are_pinned_exactly_and_serverless_is_v3() -> None:
    assert VERSIONS == {"serverless": "3.40.0", "serverless-offline-edge-lambda": "1.3.1"}
    argv = sls_reference.npm_install_argv("npm", Path("/cache"))
    assert argv[:4] == ["npm", "install", "--prefix", "/cache"] and "--save-exact" in argv
    assert argv[-2:] == ["serverless@3.40.0", "serverless-offline-edge-lambda@1.3.1"]


def test_cache_dir_is_outside_the_repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EDGESIM_BENCH_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sls_reference.cache_dir() == tmp_path / "xdg" / "edgesim-bench" / "sls"
    monkeypatch.setenv("EDGESIM_BENCH_CACHE", str(tmp_path / "bench"))
    assert sls_reference.cache_dir() == tmp_path / "bench" / "sls"


def test_an_install_with_the_pinned_versions_is_used_as_it_is(tmp_path: Path, no_npm: list[list[str]]) -> None:
    fake_install(tmp_path, VERSIONS)
    assert sls_reference.installed_versions(tmp_path) == VERSIONS
    assert sls_reference.ensure_installed(tmp_path) is None
    assert no_npm == []


def test_other_versions_in_the_cache_are_not_the_reference(tmp_path: Path, no_npm: list[list[str]]) -> None:
    fake_install(tmp_path, {**VERSIONS, "serverless": "4.43.0"})
    assert not sls_reference.is_installed(tmp_path)
    reason = sls_reference.ensure_installed(tmp_path)  # tries to install the pinned ones, which fails here
    assert reason is not None and reason.startswith("npm install failed (1; no network?)")
    assert "network unreachable" in reason and len(no_npm) == 1


def test_quick_never_installs(tmp_path: Path, no_npm: list[list[str]]) -> None:
    reason = sls_reference.ensure_installed(tmp_path / "empty", may_install=False)
    assert reason is not None and reason.startswith("not installed in ") and no_npm == []


def test_without_npm_the_stack_is_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          no_npm: list[list[str]]) -> None:
    monkeypatch.setattr(sls_reference.shutil, "which", lambda name: None)
    assert sls_reference.ensure_installed(tmp_path) == "npm/node are not installed"
    assert no_npm == []


def test_the_run_notes_a_skipped_reference_and_measures_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path, no_npm: list[list[str]]) -> None:
    monkeypatch.setenv("EDGESIM_BENCH_CACHE", str(tmp_path))
    notes: list[str] = []
    factory = bench_run._sls_factory(tmp_path, object(), notes, Options(quick=True))  # type: ignore[arg-type]
    assert isinstance(factory, str) and factory.startswith("not installed in ")
    assert len(notes) == 1 and "serverless 3.40.0, serverless-offline-edge-lambda 1.3.1" in notes[0]
    assert "skipped" in notes[0] and no_npm == []


def test_an_installed_reference_is_started_and_noted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     no_npm: list[list[str]]) -> None:
    monkeypatch.setenv("EDGESIM_BENCH_CACHE", str(tmp_path))
    fake_install(tmp_path / "sls", VERSIONS)
    notes: list[str] = []
    factory = bench_run._sls_factory(tmp_path, object(), notes, Options(quick=True))  # type: ignore[arg-type]
    assert callable(factory) and no_npm == []
    assert "origin_response.js, origin-response, every path" in notes[0]


def test_the_service_runs_edgesims_one_handler_on_the_same_trigger_and_origin(tmp_path: Path) -> None:
    ((event, file, runtime),) = LAMBDA_NODE_ONE
    service = sls_reference.write_service(tmp_path, "http://127.0.0.1:4321")
    yml = (service / "serverless.yml").read_text()
    assert (service / "functions" / file).read_bytes() == sls_reference.HANDLER.read_bytes()
    assert f'handler: "functions/{Path(file).stem}.handler"' in yml
    assert f'eventType: "{event}"' in yml and f"runtime: {runtime}" in yml
    assert 'target: "http://127.0.0.1:4321"' in yml and "pathPattern: '*'" in yml
    assert "serverless-offline-edge-lambda" in yml and "frameworkVersion: '3'" in yml


def test_the_argv_listens_on_the_given_port_with_its_state_in_the_work_dir(tmp_path: Path) -> None:
    argv = sls_reference.sls_argv(tmp_path, tmp_path / "cache", 4322)
    assert argv[:4] == ["node", str(sls_reference.serverless_bin(tmp_path / "cache")), "offline", "start"]
    assert argv[argv.index("--port") + 1] == "4322" and "--disableCache" in argv
    assert argv[argv.index("--cacheDir") + 1] == str(tmp_path / "sls-cache")
    env = sls_reference.sls_env(tmp_path / "loopback.js")
    assert env["NODE_OPTIONS"].endswith(f"--require {tmp_path / 'loopback.js'}")
    assert env["SLS_TELEMETRY_DISABLED"] == "1"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_loopback_shim_makes_a_bare_port_listen_on_loopback_only(tmp_path: Path) -> None:
    shim = tmp_path / "loopback.js"
    shim.write_text(sls_reference.LOOPBACK_SHIM)
    script = ("const s = require('http').createServer(); s.listen('0', () => "
              "{ console.log(s.address().address); s.close(); });")
    done = subprocess.run(["node", "--require", str(shim), "-e", script], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "127.0.0.1", done.stderr


def test_the_one_handler_scenario_is_a_valid_distribution(tmp_path: Path) -> None:
    assert SCENARIOS["lambda_node_one"] == ("CachingDisabled", LAMBDA_NODE_ONE)
    text = write_scenario(tmp_path, "lambda_node_one", "http://127.0.0.1:4321").read_text()
    assert 'functions.origin-response = { lambda = ' in text and "functions.origin-request" not in text
    # Both stacks must prove their handler ran, by the header it adds.
    assert EXPECTED_HEADERS["lambda_node_one"] == EXPECTED_HEADERS["sls_reference"] == ("x-bench-origin-response",)


def test_only_accepts_the_new_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"sls_reference", "lambda_node_one"} <= set(STACKS)
    with pytest.raises(SystemExit):
        main(["--only", "sls_reference,nope"])
    assert "unknown stack(s) ['nope']" in capsys.readouterr().err


def test_the_readme_section_says_how_the_reference_is_installed() -> None:
    section = readme_section({"stacks": {}, "meta": {}})
    assert "serverless-offline-edge-lambda" in section and "~/.cache/edgesim-bench/sls" in section
    assert "edgesim + Lambda@Edge (one Node handler) ≥ 2× serverless-offline-edge-lambda (same run)" in section


class _Origin:
    url = "http://127.0.0.1:4321"


def test_quick_leaves_out_the_reference_and_its_scenario_unless_named(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path, no_npm: list[list[str]]) -> None:
    monkeypatch.setenv("EDGESIM_BENCH_CACHE", str(tmp_path / "cache"))
    origin: Any = _Origin()
    factories = bench_run._stack_factories(tmp_path, origin, [], Options(quick=True))
    assert factories["sls_reference"] == factories["lambda_node_one"] == bench_run.QUICK_SKIP_REASON
    assert callable(factories["lambda_node"]) and callable(factories["passthrough"])
    both = ("sls_reference", "lambda_node_one")
    named = bench_run._stack_factories(tmp_path, origin, [], Options(quick=True, only=both))
    assert str(named["sls_reference"]).startswith("not installed in ")  # --quick never installs
    assert callable(named["lambda_node_one"])
    full = bench_run._stack_factories(tmp_path, origin, [], Options(only=("lambda_node_one",)))
    assert "sls_reference" not in full  # not selected: not installed either
    assert no_npm == []
