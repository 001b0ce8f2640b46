"""Hot reload's scope: the code a distribution runs is watched, the content an origin serves is not."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edgesim.config import DistributionConfig, load_config
from edgesim.reload import CHECK_INTERVAL_S, MAX_HANDLER_FOLDERS, watch_and_reload, watched_directories

HANDLER = "def handler(event, context):\n    return event['Records'][0]['cf']['request']\n"
CFF = "function handler(event) { return event.request; }\n"


def _project(root: Path) -> Path:
    """edgesim.toml at the root, a local-directory origin under it, a CFF and a handler with a lib/."""
    (root / "site" / "assets").mkdir(parents=True)
    (root / "site" / "data.json").write_text("{}")
    (root / "cff").mkdir()
    (root / "cff" / "index.js").write_text(CFF)
    for folder in ("lambda/lib", "lambda/node_modules/x", "lambda/.git", "lambda/__pycache__"):
        (root / folder).mkdir(parents=True)
    (root / "lambda" / "handler.py").write_text(HANDLER)
    (root / "lambda" / "lib" / "util.py").write_text("X = 1\n")
    config = root / "edgesim.toml"
    config.write_text(
        '[[origins]]\nid = "site"\ndirectory = "site"\n\n[default_cache_behavior]\ntarget_origin = "site"\n'
        'functions.viewer-request = { cloudfront_function = "cff/index.js", runtime = "cloudfront-js-2.0" }\n'
        'functions.origin-request = { lambda = "lambda/handler.py:handler", runtime = "python3.12" }\n'
    )
    return config


def test_the_code_is_watched_and_the_served_folder_is_not(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path))
    assert watched_directories(config) == sorted([tmp_path, tmp_path / "cff", tmp_path / "lambda", tmp_path / "lambda" / "lib"])


def test_a_handler_in_the_projects_root_watches_its_tree_but_not_the_served_folder(tmp_path: Path) -> None:
    (tmp_path / "site" / "deep").mkdir(parents=True)
    (tmp_path / "lib").mkdir()
    (tmp_path / "handler.py").write_text(HANDLER)
    config = tmp_path / "edgesim.toml"
    config.write_text('[[origins]]\nid = "site"\ndirectory = "site"\n\n[default_cache_behavior]\ntarget_origin = "site"\n'
                      'functions.origin-request = { lambda = "handler.py:handler", runtime = "python3.12" }\n')
    assert watched_directories(load_config(config)) == [tmp_path, tmp_path / "lib"]


def test_a_handler_folder_with_a_huge_tree_is_watched_alone(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path))
    for n in range(MAX_HANDLER_FOLDERS + 1):
        (tmp_path / "lambda" / "lib" / f"d{n}").mkdir()
    assert tmp_path / "lambda" / "lib" not in watched_directories(config)
    assert tmp_path / "lambda" in watched_directories(config)


class _Simulator:
    """What watch_and_reload asks of a Simulator: its config and reload(); records the reloads."""

    def __init__(self, config: DistributionConfig) -> None:
        self.config = config
        self.load_problems: list[str] = []
        self.reloads = 0
        self.reloaded = asyncio.Event()

    async def reload(self, path: Path) -> None:
        self.config = load_config(path)
        self.reloads += 1
        self.reloaded.set()


@contextlib.asynccontextmanager
async def _watching(simulator: Any) -> AsyncIterator[list[str]]:
    """watch_and_reload running on `simulator`, its watch set up; yields what it reports."""
    stop = asyncio.Event()
    reports: list[str] = []
    watcher = asyncio.create_task(watch_and_reload(simulator, reports.append, stop))
    try:
        await asyncio.sleep(0.5)  # the watch is set up
        yield reports
    finally:
        stop.set()
        await asyncio.wait_for(watcher, 10)


async def test_editing_a_module_under_the_handler_reloads_and_editing_served_content_or_other_code_does_not(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path))
    simulator = _Simulator(config)
    async with _watching(simulator) as reports:
        (tmp_path / "site" / "data.json").write_text('{"a": 1}')  # a .json under the served folder: content
        (tmp_path / "site" / "assets" / "app.js").write_text("x()")
        # Code that is not the distribution's: beside the config (no handler there) and beside a
        # CloudFront Function (which imports nothing).
        (tmp_path / "app.py").write_text("print('the app')\n")
        (tmp_path / "cff" / "other.js").write_text("var unused = 1;\n")
        await asyncio.sleep(0.6)  # more than the debounce and a step
        assert simulator.reloads == 0
        (tmp_path / "lambda" / "lib" / "util.py").write_text("X = 2\n")
        await asyncio.wait_for(simulator.reloaded.wait(), 10)
        assert simulator.reloads == 1
        assert any("util.py" in r for r in reports), reports


def _versioned(root: Path, version: str) -> None:
    (root / "fn").mkdir(exist_ok=True)
    (root / "fn" / "vr.js").write_text("function handler(event) { return { statusCode: 200, body: '%s' }; }\n" % version)


async def test_an_edit_takes_effect_on_the_very_next_request_and_is_reloaded_once(tmp_path: Path) -> None:
    from edgesim.messages import Headers, Request
    from edgesim.simulator import Simulator

    _versioned(tmp_path, "v1")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:1"\n\n[default_cache_behavior]\ntarget_origin = "app"\n'
        'cache_policy = "CachingDisabled"\n'
        'functions.viewer-request = { cloudfront_function = "fn/vr.js", runtime = "cloudfront-js-2.0" }\n')

    async def body() -> bytes:
        response, _ = await simulator.handle(Request("GET", "/", headers=Headers([("Host", "d.example")])))
        return response.body

    async with Simulator(load_config(tmp_path / "edgesim.toml")) as simulator, _watching(simulator) as reports:
        assert await body() == b"v1"
        for version in ("v2", "v3"):
            await asyncio.sleep(CHECK_INTERVAL_S)  # a request checks at most this often
            _versioned(tmp_path, version)
            assert await body() == version.encode()  # no wait: the request's own check reloads
        await asyncio.sleep(0.5)  # the watcher wakes for the same edits, and sees them applied
        assert reports == ["reloaded vr.js", "reloaded vr.js"]
        # A broken config: the last good version goes on serving, and the failure is said once.
        await asyncio.sleep(CHECK_INTERVAL_S)
        config = (tmp_path / "edgesim.toml").read_text()
        (tmp_path / "edgesim.toml").write_text(config + "bogus = \n")
        assert await body() == b"v3"
        await asyncio.sleep(0.5)
        assert await body() == b"v3"
        assert len(reports) == 3 and reports[2].startswith("reload failed, still serving the last good version")
        (tmp_path / "edgesim.toml").write_text(config)
        await asyncio.sleep(CHECK_INTERVAL_S)
        _versioned(tmp_path, "v4")
        assert await body() == b"v4"


async def test_a_reload_refused_for_a_field_names_its_file_and_line(tmp_path: Path) -> None:
    from edgesim.messages import Headers, Request
    from edgesim.simulator import Simulator

    _versioned(tmp_path, "v1")
    path = tmp_path / "edgesim.toml"
    config = ('[[origins]]\nid = "app"\nurl = "http://127.0.0.1:1"\n\n[default_cache_behavior]\ntarget_origin = "app"\n'
              'functions.viewer-request = { cloudfront_function = "fn/vr.js", runtime = "cloudfront-js-2.0" }\n')
    path.write_text(config)
    async with Simulator(load_config(path)) as simulator, _watching(simulator) as reports:
        await asyncio.sleep(CHECK_INTERVAL_S)
        path.write_text(config + 'cache_polcy = "CachingDisabled"\n')  # valid TOML, a field edgesim refuses
        response, _ = await simulator.handle(Request("GET", "/", headers=Headers([("Host", "d.example")])))
        assert response.body == b"v1"  # the last good version
        await asyncio.sleep(0.5)
        # The line an editor's terminal opens: FILE:LINE, the line the edit added.
        assert reports == ["reload failed, still serving the last good version:\n"
                           f"  {path}:{len(config.splitlines()) + 1}: default_cache_behavior.cache_polcy: "
                           "unknown key; did you mean 'cache_policy'?"]


async def test_an_editors_temporary_files_are_not_named_in_the_report(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path))
    simulator = _Simulator(config)
    async with _watching(simulator) as reports:
        lib = tmp_path / "lambda" / "lib"
        # As `sed -i` does: a temporary file without a suffix renamed over the module; and a
        # temporary .py an editor writes and removes.
        (lib / "sedX1a2b3").write_text("X = 3\n")
        (lib / "sedX1a2b3").replace(lib / "util.py")
        (lib / ".util.py.swp.py").write_text("")
        (lib / ".util.py.swp.py").unlink()
        await asyncio.wait_for(simulator.reloaded.wait(), 10)
        assert reports == ["reloaded util.py"]


async def test_an_editors_lock_and_swap_files_alone_do_not_reload(tmp_path: Path) -> None:
    """Emacs makes `.#util.py` (a lock, as soon as the buffer is modified, before any save) and
    `#util.py#` (autosave); other tools write hidden `.x.json` scratch files. None is code a handler
    imports (a Python module's name cannot start with a dot), but each reloaded the distribution,
    which empties the edge cache and restarts the workers."""
    config = load_config(_project(tmp_path))
    simulator = _Simulator(config)
    async with _watching(simulator) as reports:
        lib = tmp_path / "lambda" / "lib"
        (lib / ".#util.py").symlink_to("user@host.1234:1700000000")
        (lib / "#util.py#").write_text("X = 3\n")
        (tmp_path / "lambda" / ".prettierrc.json").write_text("{}")
        (tmp_path / "lambda" / ".tmp.json").write_text("{}")
        (tmp_path / "lambda" / ".tmp.json").unlink()
        (lib / ".#util.py").unlink()
        await asyncio.sleep(0.6)  # more than the debounce and a step
        assert simulator.reloads == 0 and reports == []
        (lib / "util.py").write_text("X = 4\n")
        await asyncio.wait_for(simulator.reloaded.wait(), 10)
        assert reports == ["reloaded util.py"]


async def test_an_edgesim_failure_in_a_reload_keeps_the_last_good_version_serving(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from edgesim.messages import Headers, Request
    from edgesim.simulator import Simulator

    _versioned(tmp_path, "v1")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:1"\n\n[default_cache_behavior]\ntarget_origin = "app"\n'
        'functions.viewer-request = { cloudfront_function = "fn/vr.js", runtime = "cloudfront-js-2.0" }\n')
    async with Simulator(load_config(tmp_path / "edgesim.toml")) as simulator, _watching(simulator) as reports:
        async def broken_build(config: Any) -> Any:
            raise RuntimeError("a bug in edgesim")

        monkeypatch.setattr(simulator, "_build", broken_build)
        await asyncio.sleep(CHECK_INTERVAL_S)
        _versioned(tmp_path, "v2")
        response, _ = await simulator.handle(Request("GET", "/", headers=Headers([("Host", "d.example")])))
        assert response.body == b"v1"  # the request that found the edit is answered, by the last good version
        assert reports[0] == ("reload failed (an edgesim error: RuntimeError: a bug in edgesim), "
                              "still serving the last good version")


def test_a_fix_saved_as_the_wait_begins_is_not_missed(tmp_path: Path) -> None:
    """The edit lands between the failed load and the start of the file watch (the report of the
    wait itself makes it here): the wait must still end, not wait for another edit."""
    import threading

    from edgesim.reload import wait_for_valid_config

    (tmp_path / "site").mkdir()
    good = '[[origins]]\nid = "site"\ndirectory = "site"\n[default_cache_behavior]\ntarget_origin = "site"\n'
    config = tmp_path / "edgesim.toml"
    config.write_text(good.replace('target_origin = "site"', 'target_origin = "nowhere"'))

    def report(line: str) -> None:
        if line.startswith("waiting for"):
            config.write_text(good)

    loaded = []
    waiter = threading.Thread(target=lambda: loaded.append(wait_for_valid_config(config, report)), daemon=True)
    waiter.start()
    waiter.join(15)
    assert loaded and loaded[0].default_cache_behavior.target_origin == "site"


async def test_the_request_that_finds_an_edit_does_not_wait_for_the_reports_syntax_checks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`node --check` of every handler (tens of ms each, hundreds on a loaded machine) is said after
    the reload; the request that found the edit is answered by the new version without waiting."""
    import time

    import edgesim.reload
    from edgesim.messages import Headers, Request
    from edgesim.simulator import Simulator

    checked = asyncio.Event()

    async def slow_syntax_check(config: DistributionConfig) -> list[str]:
        await asyncio.sleep(1.0)
        checked.set()
        return ["handler.js:1: SyntaxError: a slow check"]

    monkeypatch.setattr(edgesim.reload, "lambda_syntax_problems", slow_syntax_check)
    _versioned(tmp_path, "v1")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:1"\n\n[default_cache_behavior]\ntarget_origin = "app"\n'
        'cache_policy = "CachingDisabled"\n'
        'functions.viewer-request = { cloudfront_function = "fn/vr.js", runtime = "cloudfront-js-2.0" }\n')
    async with Simulator(load_config(tmp_path / "edgesim.toml")) as simulator, _watching(simulator) as reports:
        _versioned(tmp_path, "v2")
        started = time.monotonic()
        response, _ = await simulator.handle(Request("GET", "/", headers=Headers([("Host", "d.example")])))
        assert response.body == b"v2"
        assert time.monotonic() - started < 0.5
        assert reports == ["reloaded vr.js"]
        await asyncio.wait_for(checked.wait(), 10)
        await asyncio.sleep(0)
        assert reports[-1].endswith("handler.js:1: SyntaxError: a slow check")
