"""Lambda@Edge on all four trigger points of a real Simulator, Python and Node (spec §3.1)."""

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

# One file for all four triggers: it switches on config.eventType.
EDGE_PY = """
def handler(event, context):
    cf = event["Records"][0]["cf"]
    kind, request = cf["config"]["eventType"], cf["request"]
    if kind == "viewer-request":
        if request["uri"] == "/hang":
            while True:
                pass
        if request["uri"] == "/vr-generated":
            return {"status": "200", "body": "from viewer-request"}
        request["headers"]["x-vr"] = [{"key": "X-Vr", "value": "1"}]
        return request
    if kind == "origin-request":
        if request["uri"] == "/oq-generated":
            return {"status": "200", "body": "from origin-request"}
        host = request["headers"]["host"][0]["value"]
        request["headers"]["x-oq-host"] = [{"key": "X-Oq-Host", "value": host}]
        return request
    response = cf["response"]
    name = "x-os" if kind == "origin-response" else "x-vs"
    response["headers"][name] = [{"key": name, "value": response["status"]}]
    return response
"""
EDGE_JS = """
exports.handler = async (event) => {
  const cf = event.Records[0].cf;
  const kind = cf.config.eventType;
  const request = cf.request;
  if (kind === 'viewer-request') {
    if (request.uri === '/hang') for (;;) {}
    if (request.uri === '/vr-generated') return { status: '200', body: 'from viewer-request' };
    request.headers['x-vr'] = [{ key: 'X-Vr', value: '1' }];
    return request;
  }
  if (kind === 'origin-request') {
    if (request.uri === '/oq-generated') return { status: '200', body: 'from origin-request' };
    request.headers['x-oq-host'] = [{ key: 'X-Oq-Host', value: request.headers.host[0].value }];
    return request;
  }
  const response = cf.response;
  const name = kind === 'origin-response' ? 'x-os' : 'x-vs';
  response.headers[name] = [{ key: name, value: response.status }];
  return response;
};
"""


@pytest.fixture(params=["CachingDisabled"])
def cache_policy(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def simulator(handlers: Handlers, tmp_path: Path,
                    cache_policy: str) -> AsyncIterator[tuple[Simulator, list[dict[str, Any]]]]:
    path = handlers.write("edge", py=EDGE_PY, js=EDGE_JS)
    fn = {"lambda": f"{path.name}:handler"}
    config = parse_config({
        "origins": [{"id": "app", "url": "http://app.internal"}],
        "default_cache_behavior": {
            "target_origin": "app", "cache_policy": cache_policy,
            # Viewer headers (x-vr, added at viewer-request) reach the origin only through a policy.
            "origin_request_policy": "AllViewerExceptHostHeader",
            "functions": {"viewer-request": {**fn, "timeout": 1}, "origin-request": fn,
                          "origin-response": fn, "viewer-response": fn}},
    }, base_dir=tmp_path)
    seen: list[dict[str, Any]] = []
    routes = {"/missing": (404, {"content-type": "text/plain"}, b"nope")}
    transports = {"app": httpx.ASGITransport(app=origin_app(routes, seen))}
    async with Simulator(config, transports=transports) as sim:
        yield sim, seen


def get(uri: str) -> Request:
    return Request("GET", uri, headers=Headers([("Host", "d111111abcdef8.cloudfront.net")]))


async def test_all_four_triggers_run_in_order(simulator: tuple[Simulator, list[dict[str, Any]]]) -> None:
    sim, seen = simulator
    response, trace = await sim.handle(get("/page"))
    assert response.status == 200 and response.body == b"origin /page"
    assert [t.event_type.value for t in trace.triggers] == ["viewer-request", "origin-request", "origin-response",
                                                            "viewer-response"]
    sent = seen[-1]["headers"]
    assert sent.get("x-vr") == "1" and sent.get("x-oq-host") == "app.internal"  # origin-request sees the origin's Host
    assert response.headers.get("x-os") == "200" and response.headers.get("x-vs") == "200"


async def test_generated_at_origin_request_skips_origin_and_origin_response(
        simulator: tuple[Simulator, list[dict[str, Any]]]) -> None:
    sim, seen = simulator
    response, trace = await sim.handle(get("/oq-generated"))
    assert response.body == b"from origin-request" and seen == []
    assert response.headers.get("x-cache") == "LambdaGeneratedResponse from cloudfront"
    assert "x-os" not in response.headers


async def test_generated_at_viewer_request_goes_straight_back(simulator: tuple[Simulator, list[dict[str, Any]]]) -> None:
    sim, seen = simulator
    response, trace = await sim.handle(get("/vr-generated"))
    assert response.body == b"from viewer-request" and seen == []
    assert [t.event_type.value for t in trace.triggers] == ["viewer-request"]


async def test_origin_error_runs_origin_response_but_not_viewer_response(
        simulator: tuple[Simulator, list[dict[str, Any]]]) -> None:
    sim, _ = simulator
    response, _ = await sim.handle(get("/missing"))
    assert response.status == 404 and response.headers.get("x-os") == "404" and "x-vs" not in response.headers


async def test_hanging_handler_gives_503_then_the_next_request_succeeds(
        simulator: tuple[Simulator, list[dict[str, Any]]]) -> None:
    sim, _ = simulator
    response, trace = await sim.handle(get("/hang"))
    assert response.status == 503 and response.headers.get("x-cache") == "LambdaLimitExceeded from cloudfront"
    assert trace.error is not None and "Task timed out after 1.00 seconds" in trace.error
    response, _ = await sim.handle(get("/page"))
    assert response.status == 200 and response.headers.get("x-vs") == "200"


@pytest.mark.parametrize("cache_policy", ["CachingOptimized"], indirect=True)
async def test_response_generated_at_origin_request_is_cached(
        simulator: tuple[Simulator, list[dict[str, Any]]]) -> None:
    sim, seen = simulator
    first, first_trace = await sim.handle(get("/oq-generated"))
    second, second_trace = await sim.handle(get("/oq-generated"))
    assert first.body == second.body == b"from origin-request" and seen == []
    assert "origin-request" in [t.event_type.value for t in first_trace.triggers]
    # On the hit neither origin trigger runs; viewer triggers run on hits and misses alike (spec §3.1).
    assert [t.event_type.value for t in second_trace.triggers] == ["viewer-request", "viewer-response"]
    assert second.headers.get("x-cache") == "Hit from cloudfront"


async def test_body_replaced_at_viewer_request_reaches_the_origin(lang: str, tmp_path: Path) -> None:
    functions = Path(__file__).resolve().parents[2] / "functions" / "lambda"
    recipe = "inspect_body.py" if lang == "python" else "inspect_body.js"
    config = parse_config({
        "origins": [{"id": "app", "url": "http://app.internal"}],
        "default_cache_behavior": {
            "target_origin": "app", "cache_policy": "CachingDisabled",
            "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
            "functions": {"viewer-request": {"lambda": f"{functions / recipe}:handler", "include_body": True}}},
    }, base_dir=tmp_path)
    seen: list[dict[str, Any]] = []
    async with Simulator(config, transports={"app": httpx.ASGITransport(app=origin_app(None, seen))}) as sim:
        body = b"   name=edge   "
        request = Request("POST", "/form", headers=Headers([("Host", "d111111abcdef8.cloudfront.net"),
                                                            ("Content-Length", str(len(body)))]), body=body)
        response, trace = await sim.handle(request)
        assert response.status == 200, trace.error
        assert seen[-1]["body"] == b"name=edge"
        assert seen[-1]["headers"].get("content-length") in (None, "9")
        blocked, _ = await sim.handle(Request("POST", "/form", headers=Headers([("Host", "x")]), body=b"<script>"))
        assert blocked.status == 403 and len(seen) == 1


# A viewer-response handler that copies the response's headers but a few it thinks noise, as
# lemonmade/watch's did in production: CloudFront's own Via is not in its event (spec §2.6).
STRIP_PY = """
def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    if event["Records"][0]["cf"]["request"]["uri"] == "/add-via":
        response["headers"]["via"] = [{"key": "Via", "value": "1.1 mine"}]
        return response
    kept = {k: v for k, v in response["headers"].items() if k not in ("via", "server", "x-cache")}
    kept["x-saw-via"] = [{"key": "X-Saw-Via", "value": str("via" in response["headers"])}]
    return {**response, "headers": kept}
"""
STRIP_JS = """
exports.handler = (event, context, callback) => {
  const { request, response } = event.Records[0].cf;
  if (request.uri === '/add-via') {
    response.headers.via = [{ key: 'Via', value: '1.1 mine' }];
    return callback(null, response);
  }
  const kept = {};
  for (const [k, v] of Object.entries(response.headers)) if (!['via', 'server', 'x-cache'].includes(k)) kept[k] = v;
  kept['x-saw-via'] = [{ key: 'X-Saw-Via', value: String('via' in response.headers) }];
  callback(null, { ...response, headers: kept });
};
"""


@pytest.mark.parametrize("cache_policy", ["CachingDisabled", "CachingOptimized"])
async def test_viewer_response_event_has_no_cloudfront_via(handlers: Handlers, tmp_path: Path, cache_policy: str) -> None:
    path = handlers.write("strip", py=STRIP_PY, js=STRIP_JS)
    config = parse_config({
        "origins": [{"id": "app", "url": "http://app.internal"}],
        "default_cache_behavior": {"target_origin": "app", "cache_policy": cache_policy,
                                   "functions": {"viewer-response": {"lambda": f"{path.name}:handler"}}},
    }, base_dir=tmp_path)
    async with Simulator(config, transports={"app": httpx.ASGITransport(app=origin_app(None, []))}) as sim:
        for _ in range(2):  # a miss, then (CachingOptimized) a hit
            response, trace = await sim.handle(get("/page"))
            assert response.status == 200, trace.error
            assert response.headers.get("x-saw-via") in ("False", "false")
            assert response.headers.get("via", "").endswith(".cloudfront.net (CloudFront)")  # added after it
        # Adding Via is still adding a read-only header.
        response, trace = await sim.handle(get("/add-via"))
        assert response.status == 502 and trace.error is not None and "headerName : Via" in trace.error
