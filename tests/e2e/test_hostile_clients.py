"""Hostile and broken viewers over a real socket: each gets CloudFront's answer, the server lives on.

What uvicorn's parser refuses, what arrives cut short, too big or too slow: the viewer gets
CloudFront's error page (X-Cache: Error from cloudfront) or a closed connection, never uvicorn's
plain-text answers, and the next viewer is served as usual (server.py, app.py).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edgesim import server
from edgesim.app import EdgeApp
from edgesim.config import parse_config
from edgesim.server import background_server
from edgesim.simulator import Simulator


class Served:
    def __init__(self, base: str, origin_requests: list[httpx.Request]) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.origin_requests = origin_requests

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=5)

    def exchange(self, raw: bytes, *, half_close: bool = False) -> bytes:
        """Send `raw`, then read until the server closes (or 5 s pass: the test then fails)."""
        with self.connect() as sock:
            sock.sendall(raw)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            return _read_to_close(sock)

    def answers_normally(self) -> bool:
        answer = self.exchange(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\nsmall")


def _read_to_close(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("hostile")
    (root / "site").mkdir()
    (root / "site" / "a.txt").write_text("small")
    config = parse_config({
        "origins": [{"id": "site", "directory": "site"}, {"id": "app", "url": "http://app.example"}],
        "default_cache_behavior": {"target_origin": "site"},
        "cache_behaviors": [{"path_pattern": "/app/*", "target_origin": "app", "cache_policy": "CachingDisabled",
                             "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]}],
    }, base_dir=root)
    origin_requests: list[httpx.Request] = []

    def app(request: httpx.Request) -> httpx.Response:
        origin_requests.append(request)
        return httpx.Response(200, text="from the app")

    simulator = Simulator(config, transports={"app": httpx.MockTransport(app)})
    with background_server(EdgeApp(simulator)) as base:
        yield Served(base, origin_requests)


def _head(answer: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    head = answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    fields = (line.split(b": ", 1) for line in head[1:])
    return head[0], {name.lower(): value for name, value in fields}


@pytest.mark.parametrize(("raw", "status"), [
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),  # a TLS ClientHello on the http port
    (b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 400),  # a method the parser does not know
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", 400),  # obs-fold
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    (b"POST /app/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
    (b"POST /app/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    (b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),  # HTTP/2 spelled in HTTP/1 syntax
    (b"GET /\r\nHost: x\r\n\r\n", 505),  # no version: HTTP/0.9
])
def test_malformed_requests_get_cloudfronts_error_page_and_the_server_lives_on(served: Served, raw: bytes,
                                                                              status: int) -> None:
    answer = served.exchange(raw)  # closes: read to the end
    line, headers = _head(answer)
    assert line.startswith(b"HTTP/1.1 %d " % status), answer[:300]
    assert headers[b"x-cache"] == b"Error from cloudfront"
    assert headers[b"server"] == b"CloudFront" and b"x-amz-cf-id" in headers
    assert headers[b"connection"] == b"close"
    assert b"<H1>%d ERROR</H1>" % status in answer
    assert served.answers_normally()
    assert served.origin_requests == []


def test_a_head_too_big_is_refused_as_it_arrives_not_buffered_whole(served: Served) -> None:
    # The viewer never finishes its head: the answer comes once the head passes what CloudFront
    # accepts (uvicorn would buffer a head of any size until its end).
    for start, status in ((b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", 494), (b"GET /", 414)):
        with served.connect() as sock:
            sock.sendall(start + b"a" * (server.MAX_HEAD_BYTES + 1))
            answer = _read_to_close(sock)
        line, headers = _head(answer)
        assert line.startswith(b"HTTP/1.1 %d" % status), answer[:300]
        assert headers[b"x-cache"] == b"Error from cloudfront" and headers[b"connection"] == b"close"
    assert served.answers_normally()


@pytest.mark.parametrize(("refused", "status"), [
    (b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (server.MAX_HEAD_BYTES + 1) + b"\r\n\r\n", 494),
])
def test_requests_before_a_refused_one_are_answered_first(served: Served, refused: bytes, status: int) -> None:
    answer = served.exchange(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" + refused)
    first, rest = answer.split(b"\r\n\r\nsmall", 1)
    assert first.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert rest.startswith(b"HTTP/1.1 %d" % status) and b"<H1>%d ERROR</H1>" % status in rest


def test_an_oversized_request_the_app_refuses_closes_the_connection(served: Served) -> None:
    # "CloudFront returns ... to the viewer, and then terminates the TCP connection" (AD/RequestAndResponseBehaviorCustomOrigin).
    answer = served.exchange(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 21000 + b"\r\n\r\n")
    line, headers = _head(answer)
    assert line.startswith(b"HTTP/1.1 494") and headers[b"connection"] == b"close"


def test_the_path_counts_toward_the_20480_byte_request_limit(served: Served) -> None:
    # "The maximum length of a request, including the path, the query string (if any), and headers,
    # is 20,480 bytes" (AD/RequestAndResponseBehaviorCustomOrigin): a path under the URL limit and
    # headers under 20,480 on their own are still one request over it.
    path = b"/app/" + b"p" * 8000
    answer = served.exchange(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 12600 + b"\r\n\r\n")
    line, headers = _head(answer)
    assert line.startswith(b"HTTP/1.1 494 ") and headers[b"connection"] == b"close", answer[:300]
    assert served.origin_requests == []
    answer = served.exchange(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: "
                             + b"h" * 12000 + b"\r\n\r\n")
    try:
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]  # 20,082 bytes: under the limit
    finally:
        served.origin_requests.clear()


@pytest.mark.parametrize("raw", [
    b"POST /app/cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
    b"PUT /app/cut HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
])
def test_a_body_cut_short_by_a_disconnect_is_never_forwarded(served: Served, raw: bytes) -> None:
    with served.connect() as sock:
        sock.sendall(raw)
        time.sleep(0.05)  # the head is in and the app waits for the rest
    time.sleep(0.2)
    assert served.origin_requests == []
    assert served.answers_normally()


def test_a_half_closed_viewer_still_gets_its_answer(served: Served) -> None:
    answer = served.exchange(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", half_close=True)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\nsmall")


def test_a_get_with_a_body_gets_cloudfronts_403(served: Served) -> None:
    # AD/RequestAndResponseBehaviorCustomOrigin, "GET Requests That Include a Body".
    answer = served.exchange(b"GET /app/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
    line, headers = _head(answer)
    assert line.startswith(b"HTTP/1.1 403 ") and headers[b"x-cache"] == b"Error from cloudfront"
    assert served.origin_requests == []
    answer = served.exchange(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")  # an empty body is no body


@pytest.mark.parametrize("raw", [
    b"GET /app/x HTTP/1.1\r\nConnection: close\r\n\r\n",  # no Host
    b"GET /app/x HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
    b"GET /app/x HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
])
def test_a_request_without_its_one_host_gets_400(served: Served, raw: bytes) -> None:
    # RFC 9112 §3.2; CloudFront routes a plain-HTTP request by its Host (our reading: its 400).
    line, headers = _head(served.exchange(raw))
    assert line.startswith(b"HTTP/1.1 400 ") and headers[b"x-cache"] == b"Error from cloudfront"
    assert served.origin_requests == []
    answer = served.exchange(b"GET /a.txt HTTP/1.0\r\n\r\n")  # HTTP/1.0 may leave Host out
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"small")


@pytest.mark.parametrize(("target", "to_app"), [
    (b"//app/x", True),                # `//` merged: the /app/* behavior
    (b"/a/../app/x", True),            # `..` removed: the /app/* behavior
    (b"/a/%2e%2e/app/x", True),
    (b"/app/../a.txt", False),         # not under /app/ once normalized: the default behavior
    (b"/app/%2E%2E/a.txt", False),
])
def test_a_behavior_is_chosen_on_the_normalized_path_and_the_origin_gets_the_raw_one(
        served: Served, target: bytes, to_app: bool) -> None:
    # AD/DownloadDistValuesCacheBehavior, "Path normalization": CloudFront normalizes the path
    # (RFC 3986, `//`, `..`) and then matches it to a cache behavior; the origin gets the raw path.
    try:
        answer = served.exchange(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        if to_app:
            assert answer.endswith(b"from the app"), answer[:300]
            if b".." not in target and b"%" not in target:  # (httpx's URL, in the stub origin, resolves dot segments)
                assert [r.url.raw_path for r in served.origin_requests] == [target]
        else:
            assert served.origin_requests == [], "a path outside /app/ went to the /app/* behavior's origin"
            assert not answer.endswith(b"from the app")
    finally:
        served.origin_requests.clear()


def test_an_upgrade_request_is_an_ordinary_request_then_the_connection_closes(served: Served) -> None:
    # edgesim proxies no WebSocket: the origin answers the request as a plain GET (uvicorn answered
    # a bare 500 without CloudFront's headers), and the connection, which the parser leaves, closes.
    answer = served.exchange(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    line, headers = _head(answer)
    assert line.startswith(b"HTTP/1.1 200 ") and headers[b"x-cache"] in (b"Miss from cloudfront", b"Hit from cloudfront")
    assert headers[b"connection"] == b"close"


def test_stalled_and_slowloris_viewers_are_cut_off_and_never_hold_up_others(served: Served,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server._HttpProtocol, "head_timeout", 0.3)
    silent, slow = served.connect(), served.connect()
    slow.sendall(b"GET /a.txt HTTP/1.1\r\nX-Slow: ")
    started = time.monotonic()
    try:
        while time.monotonic() - started < 1.0:  # one byte at a time, past the head timeout
            try:
                slow.sendall(b"x")
            except OSError:  # the server closed it
                break
            assert served.answers_normally()  # others are served while the slow head dribbles in
        silent.settimeout(2)
        slow.settimeout(2)
        assert _read_to_close(silent) == b""  # closed, no answer: nothing was asked
        assert _read_to_close(slow) == b""
    finally:
        silent.close()
        slow.close()
