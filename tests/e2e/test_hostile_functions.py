"""Hostile functions against a real `edgesim serve`: CloudFront's answer for each, the server stays up,
and nothing a handler started outlives it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from test_serve import start, stop

HANDLER = """
import os, subprocess, sys
def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    uri = request["uri"]
    if uri == "/lone-surrogate":
        return {"status": "200", "headers": {"x-s": [{"key": "X-S", "value": "a\\udcffb"}]}, "body": "\\ud800!"}
    if uri == "/deep":
        sys.setrecursionlimit(10 ** 6)
        nested = {}
        inner = nested
        for _ in range(20000):
            inner["a"] = {}
            inner = inner["a"]
        return {"status": "200", "nested": nested}
    if uri == "/detach":
        child = subprocess.Popen(["sleep", "30"], start_new_session=True)
        with open("child.pid", "w") as f:
            f.write(str(child.pid))
    if uri == "/kill-group":
        os.kill(0, 9)
    return request
"""
CFF = """function handler(event) {
  if (event.request.uri !== '/cff/deep') return event.request;
  var d = {}, r = d;
  for (var i = 0; i < 15000; i++) { d.a = {}; d = d.a; }
  return {statusCode: 200, x: r};
}
"""
CONFIG = """
[[origins]]
id = "site"
directory = "site"

[default_cache_behavior]
target_origin = "site"
cache_policy = "CachingDisabled"
functions.viewer-request = { lambda = "hostile.py:handler" }

[[cache_behaviors]]
path_pattern = "/cff/*"
target_origin = "site"
cache_policy = "CachingDisabled"
functions.viewer-request = { cloudfront_function = "deep.js" }
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] == "Z"
    except FileNotFoundError:
        return True


def test_hostile_functions_get_cloudfront_s_answers_and_leave_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "ok.txt").write_text("fine")
    (tmp_path / "site" / "detach").write_text("detached")
    (tmp_path / "hostile.py").write_text(HANDLER)
    (tmp_path / "deep.js").write_text(CFF)
    (tmp_path / "edgesim.toml").write_text(CONFIG)
    proc, base = start(["--no-reload"], tmp_path)
    child = 0
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            lone = client.get("/lone-surrogate")
            assert (lone.status_code, lone.content) == (200, "\ufffd!".encode())
            assert {k.lower(): v for k, v in lone.headers.raw}[b"x-s"] == "a\ufffdb".encode()
            for path, status, x_cache in [("/deep", 502, "LambdaValidationError from cloudfront"),
                                          ("/cff/deep", 502, "FunctionValidationError from cloudfront"),
                                          ("/kill-group", 503, "LambdaExecutionError from cloudfront")]:
                failed = client.get(path)
                assert (failed.status_code, failed.headers["x-cache"]) == (status, x_cache), path
            assert client.get("/detach").text == "detached"
            child = int((tmp_path / "child.pid").read_text())
            ok = client.get("/ok.txt")
            assert (ok.status_code, ok.text) == (200, "fine")
    finally:
        out = stop(proc)
    try:
        assert proc.returncode is not None
        assert "returned invalid JSON: the JSON is nested deeper than" in out
        deadline = time.monotonic() + 5
        while child and not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not child or _gone(child), "a detached child outlived edgesim serve"
    finally:
        if child and not _gone(child):
            os.kill(child, signal.SIGKILL)
