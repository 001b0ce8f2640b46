"""End to end: `edgesim invalidate` against a running `edgesim serve`, and `serve --no-cache`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

import edgesim
from test_serve import start, stop


def site(tmp_path: Path) -> Path:
    (tmp_path / "site" / "images").mkdir(parents=True)
    (tmp_path / "site" / "images" / "a.txt").write_text("a")
    (tmp_path / "site" / "index.html").write_text("home")
    (tmp_path / "edgesim.toml").write_text('[[origins]]\nid = "site"\ndirectory = "site"\n'
                                           '[default_cache_behavior]\ntarget_origin = "site"\n')
    return tmp_path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(edgesim.__file__).resolve().parent.parent)}
    return subprocess.run([sys.executable, "-m", "edgesim", *args], capture_output=True, text=True, env=env, timeout=60)


def test_invalidate_command_against_a_running_server(tmp_path: Path) -> None:
    proc, base = start([], site(tmp_path))
    try:
        for path in ("/images/a.txt", "/index.html"):
            assert httpx.get(base + path).headers["x-cache"] == "Miss from cloudfront"
            assert httpx.get(base + path).headers["x-cache"] == "Hit from cloudfront"
        done = cli("invalidate", "/images/*", "--url", base)
        assert done.returncode == 0, done.stderr
        assert "invalidated 1 object for /images/*" in done.stdout
        assert httpx.get(base + "/images/a.txt").headers["x-cache"] == "Miss from cloudfront"
        assert httpx.get(base + "/index.html").headers["x-cache"] == "Hit from cloudfront"
        bad = cli("invalidate", "/images/*.txt", "--url", base)
        assert bad.returncode == 1 and "only as the last character" in bad.stderr
    finally:
        stop(proc)


def test_invalidate_without_a_server_says_so(tmp_path: Path) -> None:
    from edgesim.server import free_port

    done = cli("invalidate", "/*", "--url", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1 and "is `edgesim serve` running there?" in done.stderr


def test_serve_no_cache(tmp_path: Path) -> None:
    proc, base = start(["--no-cache"], site(tmp_path))
    try:
        httpx.get(base + "/index.html")
        assert httpx.get(base + "/index.html").headers["x-cache"] == "Miss from cloudfront"
    finally:
        stop(proc)
