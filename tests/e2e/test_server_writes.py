"""The served socket path: every response arrives whole, however uvicorn's writes are joined (server.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from edgesim.app import EdgeApp
from edgesim.config import parse_config
from edgesim.server import background_server
from edgesim.simulator import Simulator


def _exchange(base: str, raw: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):  # until the server closes (the last request says close)
            chunks.append(chunk)
    return b"".join(chunks)


def test_keep_alive_head_and_close_responses_arrive_whole(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    big = b"x" * 300_000
    (tmp_path / "site" / "big.bin").write_bytes(big)
    (tmp_path / "site" / "a.txt").write_text("small")
    config = parse_config({"origins": [{"id": "site", "directory": "site"}],
                           "default_cache_behavior": {"target_origin": "site"}}, base_dir=tmp_path)
    with background_server(EdgeApp(Simulator(config))) as base:
        answer = _exchange(base, b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                                 b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                                 b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    first, rest = answer.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 200 ") and b"content-length: 300000" in first.lower()
    assert rest[:300_000] == big
    head, rest = rest[300_000:].split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 ") and b"content-length: 5" in head.lower()
    last, body = rest.split(b"\r\n\r\n", 1)  # HEAD sent no body: the next status line follows at once
    assert last.startswith(b"HTTP/1.1 200 ") and b"connection: close" in last.lower()
    assert body == b"small"  # written before uvicorn closed the connection


def _dates(head: bytes) -> list[bytes]:
    return [line for line in head.split(b"\r\n") if line.lower().startswith(b"date:")]


def test_every_response_has_one_date_header(tmp_path: Path) -> None:
    # uvicorn adds a Date of its own to every response; CloudFront sends one: the origin's, or its
    # own when the origin sent none, as on an error page CloudFront generates.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "a.txt").write_text("small")
    config = parse_config({"origins": [{"id": "site", "directory": "site"},
                                       {"id": "app", "url": "http://app.example"}],
                           "default_cache_behavior": {"target_origin": "site"},
                           "cache_behaviors": [{"path_pattern": "/app/*", "target_origin": "app"}]},
                          base_dir=tmp_path)
    app = httpx.MockTransport(lambda request: httpx.Response(
        200, headers={"Date": "Mon, 01 Jan 2024 00:00:00 GMT"}, text="from the app"))
    with background_server(EdgeApp(Simulator(config, transports={"app": app}))) as base:
        dated = _exchange(base, b"GET /app/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        origin = _exchange(base, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        generated = _exchange(base, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Edgesim-Viewer-Planet: Mars\r\n"
                                    b"Connection: close\r\n\r\n")
    origin_head = origin.split(b"\r\n\r\n", 1)[0]
    generated_head = generated.split(b"\r\n\r\n", 1)[0]
    assert origin_head.startswith(b"HTTP/1.1 200 ") and len(_dates(origin_head)) == 1, origin_head
    assert generated_head.startswith(b"HTTP/1.1 400 ") and len(_dates(generated_head)) == 1, generated_head
    assert _dates(generated_head)[0].endswith(b" GMT")
    dated_head = dated.split(b"\r\n\r\n", 1)[0]
    assert _dates(dated_head) == [b"Date: Mon, 01 Jan 2024 00:00:00 GMT"], dated_head


def test_header_names_go_out_in_the_case_the_response_has_them(tmp_path: Path) -> None:
    # uvicorn lowercases every name it writes; CloudFront sends the origin's names as the origin
    # wrote them and its own capitalised (spec §1.2), which is what `curl -i` shows a developer.
    config = parse_config({"origins": [{"id": "app", "url": "http://app.example"}],
                           "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled"}},
                          base_dir=tmp_path)
    app = httpx.MockTransport(lambda request: httpx.Response(
        200, headers=[("x-lower", "a"), ("Mixed-CASE-Name", "b"), ("ETag", '"1"')], text="ok"))
    with background_server(EdgeApp(Simulator(config, transports={"app": app}))) as base:
        answer = _exchange(base, b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, body = answer.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    assert lines[0].startswith(b"HTTP/1.1 200 ") and body == b"ok"
    for line in (b"x-lower: a", b"Mixed-CASE-Name: b", b'ETag: "1"', b"X-Cache: Miss from cloudfront",
                 b"Content-Length: 2", b"Connection: close"):
        assert line in lines, (line, lines)
    assert any(line.startswith(b"Via: 1.1 ") for line in lines), lines
