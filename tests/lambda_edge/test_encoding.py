"""Lambda@Edge and values outside ASCII (spec §1.4), Python and Node: handlers see UTF-8 text
(ISO-8859-1 transcoded); what they leave goes on as received, what they set as UTF-8, to a socket
origin through origin_client.py and to the viewer, a generated response and the edge cache included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edgesim.app import EdgeApp
from edgesim.config import parse_config
from edgesim.simulator import Simulator
from encoding_support import JAPANESE, LATIN1_CAFE, VIEWER_HEADERS, RawOrigin, asgi_get, head_lines, header

from .conftest import Handlers

EDGE_PY = r"""
JA = "\u65e5\u672c\u8a9e"

def one(key, value):
    return [{"key": key, "value": value}]

def handler(event, context):
    cf = event["Records"][0]["cf"]
    kind, request = cf["config"]["eventType"], cf["request"]
    h = request["headers"]
    if kind == "viewer-request":
        if request["uri"] == "/gen":
            return {"status": "200", "headers": {"x-gen": one("X-Gen", JA)}, "body": "gen"}
        return request
    if kind == "origin-request":
        if request["uri"] == "/uri":
            request["uri"] = "/" + JA
        h["x-lae"] = one("X-Lae", JA)
        h["x-lae-seen-raw"] = one("X-Lae-Seen-Raw", h["x-raw"][0]["value"] if "x-raw" in h else "none")
        return request
    response = cf["response"]
    if kind == "origin-response":
        latin = response["headers"].get("x-origin-latin")
        response["headers"]["x-lae-saw-latin"] = one("X-Lae-Saw-Latin", latin[0]["value"] if latin else "none")
    response["headers"]["x-" + kind] = one("X-" + kind, JA)
    return response
"""
EDGE_JS = r"""
const JA = '\u65e5\u672c\u8a9e';
const one = (key, value) => [{ key, value }];
exports.handler = async (event) => {
  const cf = event.Records[0].cf;
  const kind = cf.config.eventType;
  const request = cf.request;
  const h = request.headers;
  if (kind === 'viewer-request') {
    if (request.uri === '/gen') return { status: '200', headers: { 'x-gen': one('X-Gen', JA) }, body: 'gen' };
    return request;
  }
  if (kind === 'origin-request') {
    if (request.uri === '/uri') request.uri = '/' + JA;
    h['x-lae'] = one('X-Lae', JA);
    h['x-lae-seen-raw'] = one('X-Lae-Seen-Raw', h['x-raw'] ? h['x-raw'][0].value : 'none');
    return request;
  }
  const response = cf.response;
  if (kind === 'origin-response') {
    const latin = response.headers['x-origin-latin'];
    response.headers['x-lae-saw-latin'] = one('X-Lae-Saw-Latin', latin ? latin[0].value : 'none');
  }
  response.headers['x-' + kind] = one('X-' + kind, JA);
  return response;
};
"""


@pytest.fixture
async def edge(handlers: Handlers, tmp_path: Path) -> AsyncIterator[tuple[EdgeApp, RawOrigin]]:
    path = handlers.write("edge", py=EDGE_PY, js=EDGE_JS)
    fn = {"lambda": f"{path.name}:handler"}
    async with RawOrigin() as origin:
        config = parse_config({
            "origins": [{"id": "app", "url": origin.url}],
            "default_cache_behavior": {
                "target_origin": "app", "cache_policy": "CachingOptimized", "origin_request_policy": "AllViewer",
                "functions": {"viewer-request": fn, "origin-request": fn, "origin-response": fn,
                              "viewer-response": fn}},
        }, base_dir=tmp_path)
        async with Simulator(config) as simulator:
            yield EdgeApp(simulator), origin


async def test_the_origin_gets_what_handlers_left_as_received_and_what_they_set_as_utf8(
        edge: tuple[EdgeApp, RawOrigin]) -> None:
    app, origin = edge
    status, _ = await asgi_get(app, b"/caf\xe9", b"q=\xe9", VIEWER_HEADERS)
    assert status == 200
    request_line, lines = head_lines(origin.requests[-1])
    assert request_line == b"GET /caf\xe9?q=\xe9 HTTP/1.1"
    assert header(lines, b"x-raw") == LATIN1_CAFE
    assert header(lines, b"x-untouched") == b"na\xefve"
    assert header(lines, b"x-utf8") == JAPANESE.encode()
    assert header(lines, b"x-lae") == JAPANESE.encode()
    assert header(lines, b"x-lae-seen-raw") == "café".encode()


async def test_a_uri_a_handler_set_goes_as_raw_utf8(edge: tuple[EdgeApp, RawOrigin]) -> None:
    app, origin = edge
    await asgi_get(app, b"/uri", b"q=\xe9")
    request_line, _ = head_lines(origin.requests[-1])
    assert request_line == b"GET /" + JAPANESE.encode() + b"?q=\xe9 HTTP/1.1"


async def test_the_viewer_and_the_cache_get_what_handlers_set_as_utf8(edge: tuple[EdgeApp, RawOrigin]) -> None:
    app, origin = edge
    first = await asgi_get(app, b"/page", b"", VIEWER_HEADERS)
    second = await asgi_get(app, b"/page", b"", VIEWER_HEADERS)
    assert len(origin.requests) == 1
    for _, headers in (first, second):
        assert header(headers, b"x-origin-latin") == b"\xe9t\xe9"  # the origin's bytes, stored and served
        assert header(headers, b"x-origin-utf8") == "über".encode()
        assert header(headers, b"x-origin-response") == JAPANESE.encode()
        assert header(headers, b"x-lae-saw-latin") == "été".encode()
        assert header(headers, b"x-viewer-response") == JAPANESE.encode()  # was b"???"
    assert header(second[1], b"x-cache") == b"Hit from cloudfront"


async def test_a_generated_response_goes_to_the_viewer_as_utf8(edge: tuple[EdgeApp, RawOrigin]) -> None:
    app, origin = edge
    status, headers = await asgi_get(app, b"/gen")
    assert status == 200 and origin.requests == []
    assert header(headers, b"x-gen") == JAPANESE.encode()  # was b"???"
