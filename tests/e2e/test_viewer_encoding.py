"""Values outside ASCII over a real viewer socket (uvicorn, server.py): a function's text reaches the
viewer as UTF-8, where it went out as `???` (spec §1.4)."""

from __future__ import annotations

import socket
from pathlib import Path

from edgesim.app import EdgeApp
from edgesim.config import parse_config
from edgesim.server import background_server
from edgesim.simulator import Simulator

VIEWER_RESPONSE = r"""
function handler(event) {
    var res = event.response;
    var seen = event.request.headers['x-raw'];
    res.headers['x-fn'] = {value: '\u65e5\u672c\u8a9e'};
    res.headers['x-seen-raw'] = {value: seen ? seen.value : 'none'};
    return res;
}
"""


def _exchange(base: str, raw: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):  # until the server closes (the request says close)
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_viewer_gets_a_functions_text_as_utf8(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "a.txt").write_text("small")
    (tmp_path / "vresp.js").write_text(VIEWER_RESPONSE)
    config = parse_config({"origins": [{"id": "site", "directory": "site"}],
                           "default_cache_behavior": {"target_origin": "site", "functions": {
                               "viewer-response": {"cloudfront_function": "vresp.js"}}}}, base_dir=tmp_path)
    with background_server(EdgeApp(Simulator(config))) as base:
        answer = _exchange(base, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Raw: caf\xe9\r\nConnection: close\r\n\r\n")
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 ") and body == b"small"
    lines = head.split(b"\r\n")
    assert "X-Fn: 日本語".encode() in lines  # was b"x-fn: ???"
    assert "X-Seen-Raw: café".encode() in lines  # ISO-8859-1 from the viewer, seen as text, set: UTF-8
