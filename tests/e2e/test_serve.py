"""End to end: `edgesim serve` as a real process on a free port, requests through its socket."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import edgesim

from edgesim.server import free_port


def start(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgesim", "serve", "--port", str(port), *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # The edgesim under test (a worktree's), not whatever an editable install points at.
        env={**os.environ, "PYTHONUNBUFFERED": "1",
             "PYTHONPATH": os.pathsep.join([str(Path(edgesim.__file__).resolve().parent.parent),
                                            os.environ.get("PYTHONPATH", "")])},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"edgesim serve exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            httpx.get(base + "/__edgesim/status", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("edgesim serve did not start in 30 s")


def _read_until(proc: subprocess.Popen[str], lines: list[str], marker: str) -> None:
    """Read the server's output line by line into `lines` until a line holds `marker` (or it ends)."""
    assert proc.stdout is not None
    for line in iter(proc.stdout.readline, ""):
        lines.append(line)
        if marker in line:
            return


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.fixture
def site_config(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "hello.txt").write_text("hello from the site")
    config = tmp_path / "edgesim.toml"
    config.write_text('[[origins]]\nid = "site"\ndirectory = "site"\n'
                      '[default_cache_behavior]\ntarget_origin = "site"\n')
    return config


@pytest.fixture
def served(site_config: Path) -> Iterator[str]:
    proc, base = start([], site_config.parent)  # finds ./edgesim.toml by itself
    try:
        yield base
    finally:
        stop(proc)


def test_serve_answers_through_a_real_socket(served: str) -> None:
    base = served
    r = httpx.get(base + "/hello.txt")
    assert r.status_code == 200
    assert r.text == "hello from the site"
    assert r.headers["x-cache"] == "Miss from cloudfront"
    assert r.headers["via"].endswith("(CloudFront)")
    r = httpx.get(base + "/%2e%2e/edgesim.toml")
    assert r.status_code == 403


def test_serve_prints_banner_and_one_line_per_request(site_config: Path) -> None:
    proc, base = start(["--config", str(site_config)], site_config.parent)
    try:
        httpx.get(base + "/hello.txt")
        time.sleep(0.2)
    finally:
        out = stop(proc)
    assert base in out
    assert "-> origin site" in out
    assert "GET /hello.txt [*]" in out and "-> 200 (Miss from cloudfront)" in out


def test_hot_reload_applies_good_edits_and_keeps_serving_on_bad_ones(site_config: Path) -> None:
    proc, base = start([], site_config.parent)
    try:
        assert httpx.get(base + "/hello.txt").status_code == 200
        site_config.write_text(site_config.read_text() + '[[cache_behaviors]]\npath_pattern = "/x/*"\n'
                               'target_origin = "nowhere"\n')
        time.sleep(1.0)
        assert httpx.get(base + "/hello.txt").status_code == 200  # the last good config still serves
        site_config.write_text(site_config.read_text().replace('"nowhere"', '"site"'))
        deadline = time.monotonic() + 10
        behaviors: list[str] = []
        while time.monotonic() < deadline and "/x/*" not in behaviors:
            behaviors = httpx.get(base + "/__edgesim/status").json()["behaviors"]
            time.sleep(0.1)
        assert behaviors == ["/x/*", "*"]
    finally:
        out = stop(proc)
    assert "reload failed, still serving the last good version" in out
    assert "unknown origin id 'nowhere'" in out
    assert "reloaded edgesim.toml" in out
    # The new behaviors table follows the reload that changed the config.
    after = out.split("reloaded edgesim.toml", 1)[1]
    assert "  behaviors:\n    /x/*" in after and "-> origin site" in after


def test_a_config_broken_at_start_is_waited_on_until_an_edit_fixes_it(site_config: Path) -> None:
    good = site_config.read_text()
    site_config.write_text(good.replace('target_origin = "site"', 'target_origin = "nowhere"'))
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": str(Path(edgesim.__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "edgesim", "serve", "--port", str(port)], cwd=site_config.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen: list[str] = []
    try:
        # The edit must come after the server has read the broken config: under load its start
        # alone can take longer than any fixed sleep, so wait for its words.
        assert proc.stdout is not None
        reader = threading.Thread(target=_read_until, args=(proc, seen, "waiting for edgesim.toml to be fixed"),
                                  daemon=True)
        reader.start()
        reader.join(60)
        assert any("waiting for edgesim.toml to be fixed" in line for line in seen), seen
        assert proc.poll() is None  # waiting, not exited
        site_config.write_text(good)
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/hello.txt", timeout=1)
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None and answer.text == "hello from the site"
    finally:
        out = "".join(seen) + stop(proc)
    assert "unknown origin id 'nowhere'" in out
    assert "waiting for edgesim.toml to be fixed (Ctrl+C to stop)" in out
    # Without reload there is nothing to wait for: the error, and exit 1.
    site_config.write_text(good.replace('target_origin = "site"', 'target_origin = "nowhere"'))
    result = subprocess.run([sys.executable, "-m", "edgesim", "serve", "--no-reload", "--port", str(port)],
                            cwd=site_config.parent, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1 and "unknown origin id 'nowhere'" in result.stderr


def test_check_reports_problems_and_exits_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[origins]]\nid = "a"\nurl = "http://x"\n[default_cache_behavior]\ntarget_origin = "b"\n')
    result = subprocess.run([sys.executable, "-m", "edgesim", "check", "--config", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "default_cache_behavior.target_origin: unknown origin id 'b'" in result.stderr


def test_oversized_requests_get_cloudfronts_answers_over_the_socket(served: str) -> None:
    r = httpx.get(served + "/hello.txt", headers={"x-big": "b" * 21000})
    assert r.status_code == 494
    r = httpx.get(served + "/" + "a" * 8200)
    assert r.status_code == 414
    assert httpx.get(served + "/hello.txt").status_code == 200  # and the server lives on


def test_a_port_in_use_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "edgesim", "serve", "--port", str(port)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(Path(edgesim.__file__).resolve().parent.parent)})
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: 127.0.0.1:{port} is already in use (another edgesim serve?); "
                                     "stop it, or pick another port with --port")


def test_a_port_outside_0_65535_is_refused_not_wrapped(tmp_path: Path) -> None:
    # 70000 went to the socket layer as 70000 % 65536: edgesim served on port 4464 without a word.
    result = subprocess.run([sys.executable, "-m", "edgesim", "serve", "--port", "70000"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(Path(edgesim.__file__).resolve().parent.parent)})
    assert result.returncode == 2
    assert "Invalid value for '--port': 70000 is not in the range 0<=x<=65535" in result.stderr


def test_a_lambda_handler_that_does_not_compile_is_named_at_start_and_on_reload(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "hello.txt").write_text("hello")
    handler = tmp_path / "edge.py"
    handler.write_text("def handler(event, context):\n    return event['Records'][0]['cf'['request']\n")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "site"\ndirectory = "site"\n[default_cache_behavior]\ntarget_origin = "site"\n'
        'functions.origin-request = { lambda = "edge.py:handler", runtime = "python3.12" }\n')
    proc, base = start([], tmp_path)
    try:
        # As on Lambda, the request still fails only when it comes: init runs at the first invocation.
        r = httpx.get(base + "/hello.txt")
        assert r.status_code == 503 and r.headers["x-cache"] == "LambdaExecutionError from cloudfront"
        handler.write_text("def handler(event, context):\n    return event['Records'][0]['cf']['request']\n")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and httpx.get(base + "/hello.txt").status_code != 200:
            time.sleep(0.1)
        assert httpx.get(base + "/hello.txt").text == "hello"
        time.sleep(0.3)  # the reload's own report, after its syntax check
        handler.write_text("def handler(event, context)\n    return None\n")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and httpx.get(base + "/hello.txt").status_code == 200:
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        out = stop(proc)
    start_banner, _, after = out.partition("reloaded")
    assert "! Lambda@Edge handler does not compile" in start_banner
    assert f"{handler}:2: SyntaxError:" in start_banner
    fixed, _, broken_again = after.partition("reloaded")
    assert "does not compile" not in fixed
    assert f"{handler}:1: SyntaxError: expected ':'" in broken_again


def test_without_port_a_taken_8080_moves_serve_to_the_next_free_port(site_config: Path) -> None:
    import socket

    from edgesim.cli import DEFAULT_PORT, PORTS_TRIED
    from edgesim.server import bind_problem

    candidates = [p for p in range(DEFAULT_PORT, DEFAULT_PORT + PORTS_TRIED) if bind_problem("127.0.0.1", p) is None]
    if len(candidates) < 2:
        pytest.skip("this machine's ports 8080-8099 are taken")
    with socket.socket() as taken:  # the first free one of them taken, as by another edgesim serve
        taken.bind(("127.0.0.1", candidates[0]))
        taken.listen()
        proc = subprocess.Popen([sys.executable, "-m", "edgesim", "serve"], cwd=site_config.parent,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1",
                                     "PYTHONPATH": str(Path(edgesim.__file__).resolve().parent.parent)})
        try:
            base = f"http://127.0.0.1:{candidates[1]}"
            deadline = time.monotonic() + 30
            answer = None
            while time.monotonic() < deadline and answer is None and proc.poll() is None:
                try:
                    answer = httpx.get(base + "/hello.txt", timeout=1)
                except httpx.TransportError:
                    time.sleep(0.1)
            assert answer is not None and answer.text == "hello from the site"
        finally:
            out = stop(proc)
    assert f"port {DEFAULT_PORT} is in use; serving on {candidates[1]}" in out
    assert f"  {base}/" in out


def test_ctrl_c_during_a_slow_request_says_what_it_waits_for_and_a_second_one_stops_cleanly(tmp_path: Path) -> None:
    """uvicorn waits for requests in flight on a Ctrl+C and says so at INFO, below the level serve
    logs at: the terminal stayed silent for as long as the request ran (up to an origin trigger's
    30 s). A second Ctrl+C stops at once; it printed two tracebacks of cancelled tasks."""
    import signal

    (tmp_path / "slow.py").write_text("import time\n\ndef handler(event, context):\n    time.sleep(20)\n"
                                      "    return event['Records'][0]['cf']['request']\n")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:9"\n'
        '[default_cache_behavior]\ntarget_origin = "app"\ncache_policy = "CachingDisabled"\n'
        'functions.origin-request = { lambda = "slow.py:handler", runtime = "python3.12" }\n')
    proc, base = start([], tmp_path)
    lines: list[str] = []
    try:
        _read_until(proc, lines, "python3.12 handlers run on")  # the banner's last line
        threading.Thread(target=lambda: httpx.get(base + "/", timeout=60), daemon=True).start()
        time.sleep(1.5)  # the request is in the handler
        proc.send_signal(signal.SIGINT)
        _read_until(proc, lines, "in flight")
        assert lines[-1].strip() == "stopping: waiting for 1 request in flight (Ctrl+C again to stop now)"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    finally:
        out = stop(proc)
    assert "Traceback" not in out and "CancelledError" not in out, out
