"""`edgesim serve` outlives a handler that SIGKILLs it (lambda_edge/signal_guard.py)."""

from __future__ import annotations

import platform
import signal
from pathlib import Path

import httpx
import pytest

from test_serve import start

KILLER = """
import os, signal

def handler(event, context):
    os.kill(os.getppid(), signal.SIGKILL)  # edgesim itself: refused, so this raises PermissionError
    return event["Records"][0]["cf"]["request"]
"""


@pytest.mark.skipif(platform.system() != "Linux", reason="the guard is a Linux seccomp filter")
def test_a_handler_that_sigkills_edgesim_gets_a_503_and_edgesim_serves_on(tmp_path: Path) -> None:
    (tmp_path / "killer.py").write_text(KILLER)
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:9"\n'
        '[default_cache_behavior]\ntarget_origin = "app"\ncache_policy = "CachingDisabled"\n'
        'functions.viewer-request = { lambda = "killer.py:handler", memory = 128 }\n')
    proc, base = start([], tmp_path)
    try:
        first = httpx.get(base + "/", timeout=30)
        assert first.status_code == 503 and "LambdaExecutionError" in first.headers["x-cache"]
        again = httpx.get(base + "/again", timeout=30)  # still serving
        assert again.status_code == 503
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.stdout is not None
    log = proc.stdout.read()
    proc.stdout.close()
    assert "PermissionError" in log  # the kill failed in the handler, which then threw
