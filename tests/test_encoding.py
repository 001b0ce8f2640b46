"""Values outside ASCII, as CloudFront passes them (spec §1.4): functions see UTF-8 text (ISO-8859-1
transcoded), what nobody changed goes on byte for byte, what a function changed goes on as UTF-8.

Through the in-process ASGI app with CloudFront Functions in V8, towards an ASGI origin (httpx) and a
raw socket origin (origin_client.py) that record the bytes they got."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgesim.app import EdgeApp
from edgesim.config import parse_config
from edgesim.encoding import clean, decode, encode, restore, shown
from edgesim.simulator import Simulator
from encoding_support import (JAPANESE, LATIN1_CAFE, VIEWER_HEADERS, RawOrigin, asgi_get, head_lines, header,
                               recording_app)

BASE = "http://d111111abcdef8.cloudfront.net"
# viewer-request: reads two values, sets one, changes one more header, and leaves the rest alone.
VIEWER_REQUEST = r"""
function handler(event) {
    var r = event.request;
    var h = r.headers;
    if (r.uri === '/uri') { r.uri = '/\u65e5\u672c\u8a9e/caf\u00e9'; }
    if (r.uri === '/query') { r.querystring = 'q=\u65e5\u672c\u8a9e'; }
    h['x-set'] = {value: '\u65e5\u672c\u8a9e'};
    h['x-seen-raw'] = {value: h['x-raw'] ? h['x-raw'].value : 'none'};
    h['x-seen-utf8-length'] = {value: String(h['x-utf8'] ? h['x-utf8'].value.length : -1)};
    h['x-seen-uri'] = {value: r.uri};
    h['x-seen-cookie'] = {value: r.cookies.c ? r.cookies.c.value : 'none'};
    return r;
}
"""
# viewer-response: sets one value outside ASCII, leaves the origin's alone.
VIEWER_RESPONSE = r"""
function handler(event) {
    var res = event.response;
    res.headers['x-fn'] = {value: '\u65e5\u672c\u8a9e'};
    var latin = res.headers['x-origin-latin'];
    res.headers['x-fn-saw-latin'] = {value: latin ? latin.value : 'none'};
    return res;
}
"""


# --- the codec ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"plain", "日本語".encode(), LATIN1_CAFE, b"\xff\xfe", "é".encode() + b"\xe9"])
def test_any_bytes_come_back_as_received(raw: bytes) -> None:
    assert encode(decode(raw)) == raw


def test_functions_see_utf8_as_is_and_anything_else_as_iso_8859_1() -> None:
    assert shown(decode("日本語".encode())) == "日本語"
    assert shown(decode(LATIN1_CAFE)) == "café"
    # A value that is not UTF-8 as a whole is read as ISO-8859-1 as a whole.
    assert shown(decode("é".encode() + b"\xe9")) == "Ã©é"


def test_restore_keeps_what_the_function_left_and_takes_what_it_changed() -> None:
    received = decode(LATIN1_CAFE)
    assert encode(restore("café", [received])) == LATIN1_CAFE  # left as shown: the bytes received
    assert encode(restore("cafés", [received])) == "cafés".encode()  # changed: UTF-8
    assert encode(restore("café", [])) == "café".encode()  # new: UTF-8
    assert encode(restore("日本語", [decode("日本語".encode())])) == "日本語".encode()


def test_a_lone_surrogate_from_javascript_becomes_the_replacement_character() -> None:
    assert clean("a\ud800b") == "a\ufffdb"
    assert encode(clean("x\udce9")) == "x\ufffd".encode()  # never smuggled out as a raw byte


# --- through the distribution --------------------------------------------------------------------


def config(tmp_path: Path, origin_url: str, *, cache_policy: str = "CachingDisabled") -> Any:
    (tmp_path / "vr.js").write_text(VIEWER_REQUEST)
    (tmp_path / "vresp.js").write_text(VIEWER_RESPONSE)
    return parse_config({
        "origins": [{"id": "app", "url": origin_url}],
        "default_cache_behavior": {
            "target_origin": "app", "cache_policy": cache_policy, "origin_request_policy": "AllViewer",
            "functions": {"viewer-request": {"cloudfront_function": str(tmp_path / "vr.js")},
                          "viewer-response": {"cloudfront_function": str(tmp_path / "vresp.js")}},
        },
        "cache_behaviors": [{"path_pattern": "/plain/*", "target_origin": "app", "cache_policy": cache_policy,
                             "origin_request_policy": "AllViewer"}],
    }, base_dir=tmp_path)




@pytest.fixture
async def through_httpx(tmp_path: Path) -> AsyncIterator[tuple[EdgeApp, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    simulator = Simulator(config(tmp_path, "http://app.internal"),
                          transports={"app": httpx.ASGITransport(app=recording_app(seen))})
    await simulator.start()
    yield EdgeApp(simulator), seen
    await simulator.aclose()


@pytest.fixture
async def through_socket(tmp_path: Path) -> AsyncIterator[tuple[EdgeApp, RawOrigin]]:
    async with RawOrigin() as origin:
        simulator = Simulator(config(tmp_path, origin.url, cache_policy="CachingOptimized"))
        await simulator.start()
        yield EdgeApp(simulator), origin
        await simulator.aclose()


async def test_the_origin_gets_unchanged_values_as_received_and_changed_ones_as_utf8(through_httpx: Any) -> None:
    app, seen = through_httpx
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        response = await http.get("/page", headers=VIEWER_HEADERS)
    assert response.status_code == 200
    got = seen[-1]["headers"]
    assert header(got, b"x-raw") == LATIN1_CAFE  # the function changed other headers, not this one
    assert header(got, b"x-untouched") == b"na\xefve"
    assert header(got, b"x-utf8") == JAPANESE.encode()
    assert header(got, b"x-set") == JAPANESE.encode()  # was b"???", or httpx refused it
    assert header(got, b"x-seen-raw") == "café".encode()  # the function saw ISO-8859-1 as text; set: UTF-8
    assert header(got, b"x-seen-utf8-length") == b"3"  # three characters, not nine bytes


async def test_the_viewer_gets_unchanged_values_as_received_and_changed_ones_as_utf8(through_httpx: Any) -> None:
    app, _ = through_httpx
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        response = await http.get("/page", headers=VIEWER_HEADERS)
    raw = response.headers.raw
    assert header(raw, b"x-fn") == JAPANESE.encode()  # was b"???"
    assert header(raw, b"x-origin-latin") == b"\xe9t\xe9"
    assert header(raw, b"x-origin-utf8") == "über".encode()
    assert header(raw, b"x-fn-saw-latin") == "été".encode()


async def test_without_functions_every_byte_goes_through(through_socket: Any) -> None:
    app, origin = through_socket
    status, headers = await asgi_get(app, b"/plain/caf\xe9", b"q=\xe9&r=" + JAPANESE.encode(), VIEWER_HEADERS)
    assert status == 200
    request_line, lines = head_lines(origin.requests[-1])
    assert request_line == b"GET /plain/caf\xe9?q=\xe9&r=" + JAPANESE.encode() + b" HTTP/1.1"
    assert [header(lines, name) for name, _ in VIEWER_HEADERS] == [value for _, value in VIEWER_HEADERS]
    assert header(headers, b"x-origin-latin") == b"\xe9t\xe9"
    assert header(headers, b"x-origin-utf8") == "über".encode()


async def test_an_httpx_origin_gets_bytes_outside_ascii_in_the_uri_percent_encoded(through_httpx: Any) -> None:
    # httpx cannot put such bytes in a URL; test transports get each one as %XX (origin.py).
    app, seen = through_httpx
    await asgi_get(app, b"/plain/caf\xe9", b"q=\xe9")
    assert (seen[-1]["raw_path"], seen[-1]["query"]) == (b"/plain/caf%E9", b"q=%E9")


async def test_origin_client_sends_the_bytes_the_viewer_sent_and_utf8_for_what_a_function_set(
        through_socket: Any) -> None:
    app, origin = through_socket
    status, _ = await asgi_get(app, b"/caf\xe9", b"q=\xe9", VIEWER_HEADERS)
    assert status == 200
    request_line, lines = head_lines(origin.requests[-1])
    assert request_line == b"GET /caf\xe9?q=\xe9 HTTP/1.1"  # unchanged URI and query: as received
    assert header(lines, b"x-raw") == LATIN1_CAFE
    assert header(lines, b"x-untouched") == b"na\xefve"
    assert header(lines, b"x-utf8") == JAPANESE.encode()
    assert header(lines, b"x-set") == JAPANESE.encode()
    assert header(lines, b"x-seen-raw") == "café".encode()
    assert header(lines, b"x-seen-uri") == "/café".encode()  # the URI as the function saw it, set: UTF-8


async def test_a_uri_or_query_string_a_function_changed_goes_as_raw_utf8(through_socket: Any) -> None:
    app, origin = through_socket
    await asgi_get(app, b"/uri", b"q=\xe9")
    request_line, _ = head_lines(origin.requests[-1])
    # Our reading of §1.4: UTF-8 bytes, not percent-encoded; the unchanged query string as received.
    assert request_line == b"GET /" + JAPANESE.encode() + b"/caf\xc3\xa9?q=\xe9 HTTP/1.1"
    await asgi_get(app, b"/query", b"q=\xe9")
    request_line, _ = head_lines(origin.requests[-1])
    assert request_line == b"GET /query?q=" + JAPANESE.encode() + b" HTTP/1.1"


async def test_the_edge_cache_serves_the_bytes_it_stored(through_socket: Any) -> None:
    app, origin = through_socket
    first = await asgi_get(app, b"/cached", b"", VIEWER_HEADERS)
    second = await asgi_get(app, b"/cached", b"", VIEWER_HEADERS)
    assert len(origin.requests) == 1
    for _, headers in (first, second):
        assert header(headers, b"x-origin-latin") == b"\xe9t\xe9"
        assert header(headers, b"x-origin-utf8") == "über".encode()
        assert header(headers, b"x-fn") == JAPANESE.encode()
    assert header(second[1], b"x-cache") == b"Hit from cloudfront"


async def test_cookies_the_functions_left_go_on_as_received(through_httpx: Any) -> None:
    app, seen = through_httpx
    status, headers = await asgi_get(app, b"/cookie", b"", [(b"cookie", b"c=caf\xe9")])
    assert status == 200
    got = seen[-1]["headers"]
    assert header(got, b"cookie") == b"c=caf\xe9"  # Cookie unchanged, other headers changed
    assert header(got, b"x-seen-cookie") == "café".encode()
    # Set-Cookie lines are written back from the event; one the function left keeps its bytes.
    assert header(headers, b"set-cookie") == b"n=caf\xe9; Path=/"
