"""Through a real socket, the viewer's address is the connection's: a viewer's X-Forwarded-For is
kept and the connection's address appended, as CloudFront does (spec §2.2), never trusted."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgesim.app import EdgeApp
from edgesim.config import parse_config
from edgesim.server import background_server
from edgesim.simulator import Simulator


@pytest.fixture
def echo_origin() -> Iterator[tuple[int, list[bytes]]]:
    """A tiny blocking origin that records each request head and answers 200."""
    heads: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            heads.append(data)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], heads
    listener.close()
    thread.join(timeout=5)


def test_viewer_x_forwarded_for_is_kept_and_the_address_appended(echo_origin: tuple[int, list[bytes]],
                                                                  tmp_path: Path) -> None:
    port, heads = echo_origin
    config = parse_config({"origins": [{"id": "app", "url": f"http://127.0.0.1:{port}"}],
                           "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled"}},
                          base_dir=tmp_path)
    with background_server(EdgeApp(Simulator(config))) as base:
        r = httpx.get(base + "/", headers={"X-Forwarded-For": "198.51.100.7"}, timeout=10)
    assert r.status_code == 200
    forwarded = [line for line in heads[0].decode("latin-1").split("\r\n") if line.lower().startswith("x-forwarded-for:")]
    assert forwarded == ["X-Forwarded-For: 198.51.100.7, 127.0.0.1"]
