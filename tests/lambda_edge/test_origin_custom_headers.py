"""An origin's custom headers belong to the `origin` object of origin-request (spec §2.3).

They are `customHeaders` there, not request headers ("a header with the same name can't be present in
request.headers or in request.origin.custom.customHeaders", AD/lambda-event-structure), and the
origin gets what the function left in `customHeaders`: an edited value, none when dropped, and only
the new origin's when the function switched origins, never the old origin's secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import origin_app
from edgesim.config import parse_config
from edgesim.messages import Headers, Request
from edgesim.simulator import Simulator

from .conftest import Handlers

HANDLER_PY = """
def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    custom = request["origin"]["custom"]
    request["headers"]["x-seen"] = [{"key": "X-Seen", "value": ",".join(sorted(request["headers"]))}]
    uri = request["uri"]
    if uri == "/edit":
        custom["customHeaders"]["x-origin-secret"] = [{"key": "X-Origin-Secret", "value": "rotated"}]
    elif uri == "/drop":
        custom["customHeaders"] = {}
    elif uri == "/switch":
        request["origin"] = {"custom": {**custom, "domainName": "other.internal", "customHeaders": {}}}
        request["headers"]["host"] = [{"key": "Host", "value": "other.internal"}]
    elif uri == "/clash":
        request["headers"]["x-origin-secret"] = [{"key": "X-Origin-Secret", "value": "from the request"}]
    return request
"""
HANDLER_JS = """
exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  const custom = request.origin.custom;
  request.headers['x-seen'] = [{ key: 'X-Seen', value: Object.keys(request.headers).sort().join(',') }];
  if (request.uri === '/edit') custom.customHeaders['x-origin-secret'] = [{ key: 'X-Origin-Secret', value: 'rotated' }];
  if (request.uri === '/drop') custom.customHeaders = {};
  if (request.uri === '/switch') {
    request.origin = { custom: { ...custom, domainName: 'other.internal', customHeaders: {} } };
    request.headers.host = [{ key: 'Host', value: 'other.internal' }];
  }
  if (request.uri === '/clash') request.headers['x-origin-secret'] = [{ key: 'X-Origin-Secret', value: 'from the request' }];
  return request;
};
"""

Seen = dict[str, list[dict[str, Any]]]


@pytest.fixture
async def simulator(handlers: Handlers, tmp_path: Path) -> AsyncIterator[tuple[Simulator, Seen]]:
    path = handlers.write("secret", py=HANDLER_PY, js=HANDLER_JS)
    config = parse_config({
        "origins": [{"id": "app", "url": "http://app.internal", "custom_headers": {"X-Origin-Secret": "s3cr3t"}},
                    {"id": "other", "url": "http://other.internal"}],
        "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled",
                                   "functions": {"origin-request": {"lambda": f"{path.name}:handler"}}},
    }, base_dir=tmp_path)
    seen: Seen = {"app": [], "other": []}
    transports = {name: httpx.ASGITransport(app=origin_app(None, got)) for name, got in seen.items()}
    async with Simulator(config, transports=transports) as sim:
        yield sim, seen


async def _get(sim: Simulator, uri: str) -> int:
    response, trace = await sim.handle(Request("GET", uri, headers=Headers([("Host", "d111111abcdef8.cloudfront.net")])))
    return response.status


async def test_custom_headers_are_the_origin_objects_not_request_headers(simulator: tuple[Simulator, Seen]) -> None:
    sim, seen = simulator
    assert await _get(sim, "/plain") == 200
    sent = seen["app"][-1]["headers"]
    assert "x-origin-secret" not in sent["x-seen"].split(",")
    assert sent.get_all("x-origin-secret") == ["s3cr3t"]


@pytest.mark.parametrize("uri, secret", [("/edit", ["rotated"]), ("/drop", [])])
async def test_the_origin_gets_the_custom_headers_the_function_left(simulator: tuple[Simulator, Seen], uri: str,
                                                                    secret: list[str]) -> None:
    sim, seen = simulator
    assert await _get(sim, uri) == 200
    assert seen["app"][-1]["headers"].get_all("x-origin-secret") == secret


async def test_a_switched_origin_never_gets_the_old_origins_secret(simulator: tuple[Simulator, Seen]) -> None:
    sim, seen = simulator
    assert await _get(sim, "/switch") == 200
    assert not seen["app"] and seen["other"][-1]["headers"].get_all("x-origin-secret") == []


async def test_a_request_header_named_as_a_custom_header_is_a_502(simulator: tuple[Simulator, Seen]) -> None:
    sim, seen = simulator
    assert await _get(sim, "/clash") == 502
    assert not seen["app"]
