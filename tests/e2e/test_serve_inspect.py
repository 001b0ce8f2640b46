"""End to end: `edgesim serve --inspect` as a real process, a Node.js handler's inspector on the
port its banner prints, and the handler's time limit lifted."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path

import httpx
from click.testing import CliRunner
from test_serve import start, stop

from edgesim.cli import main
from edgesim.server import free_port

HANDLER_JS = """
exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  // 1.5 s: past the 1 s timeout the config gives this viewer-request association.
  if (request.uri === '/slow.txt') await new Promise((resolve) => setTimeout(resolve, 1500));
  return request;
};
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir()
    for name in ("hello.txt", "slow.txt"):
        (tmp_path / "site" / name).write_text("hello from the site")
    (tmp_path / "edge.js").write_text(HANDLER_JS)
    config = tmp_path / "edgesim.toml"
    config.write_text('[[origins]]\nid = "site"\ndirectory = "site"\n'
                      '[default_cache_behavior]\ntarget_origin = "site"\ncache_policy = "CachingDisabled"\n'
                      'functions.viewer-request = { lambda = "edge.js:handler", timeout = 1 }\n')
    return config


def test_serve_inspect_prints_where_to_attach_and_lifts_the_time_limit(tmp_path: Path) -> None:
    config = project(tmp_path)
    base_port = free_port()
    proc, base = start(["--inspect", "--inspect-port", str(base_port)], config.parent)
    try:
        assert httpx.get(base + "/hello.txt").text == "hello from the site"
        slow = httpx.get(base + "/slow.txt", timeout=10)
        assert slow.status_code == 200, slow.text  # 1.5 s in a handler whose limit is 1 s
    finally:
        out = stop(proc)
    attach = re.search(r"^    (\S+)  node inspector (ws://127\.0\.0\.1:(\d+)/\S+)$", out, re.M)
    assert attach is not None, out
    assert attach[1] == f"{tmp_path / 'edge.js'}:handler"
    port = int(attach[3])
    assert port >= base_port
    assert f"      open chrome://inspect or attach VS Code to 127.0.0.1:{port}\n" in out
    assert "    time limits off while inspecting: a handler paused at a breakpoint is not stopped" in out
    assert re.search(r"^GET /slow.txt \[\*\] viewer-request:edge 15\d\d\.\d\dms .* -> 200 .*"
                     r"\[Lambda@Edge time limits off while inspecting\]$", out, re.M), out


def test_the_inspector_lists_the_worker_on_the_printed_port(tmp_path: Path) -> None:
    config = project(tmp_path)
    proc, base = start(["--inspect", "--inspect-port", str(free_port())], config.parent)
    try:
        assert httpx.get(base + "/hello.txt").status_code == 200
        # The banner is out once the server answers; read it from the process's own output so far.
        port = _printed_port(proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
            targets = json.load(answer)
        assert [t["url"].rsplit("/", 1)[-1] for t in targets] == ["node_worker.js"]
        # On 127.0.0.1 only: the worker's listening socket is bound to loopback.
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        assert listening and all("127.0.0.1:" in line for line in listening.splitlines()), listening
    finally:
        stop(proc)


def _printed_port(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"attach VS Code to 127\.0\.0\.1:(\d+)$", line.rstrip("\n"))
        if found:
            return int(found[1])
    raise AssertionError("no inspector address in the banner")


def test_without_inspect_the_same_handler_is_killed_at_its_limit(tmp_path: Path) -> None:
    config = project(tmp_path)
    proc, base = start([], config.parent)
    try:
        slow = httpx.get(base + "/slow.txt", timeout=10)
        assert slow.status_code == 503 and slow.headers["x-cache"] == "LambdaLimitExceeded from cloudfront"
    finally:
        out = stop(proc)
    assert "while inspecting" not in out and "node inspector" not in out


def test_inspect_port_goes_with_inspect() -> None:
    result = CliRunner().invoke(main, ["serve", "--inspect-port", "9300"])
    assert result.exit_code == 2 and "--inspect-port goes with --inspect" in result.output
