"""CloudFront Functions on the viewer slots of a whole distribution, through the ASGI app (spec §1.9, §3.1)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cff_support import FUNCTIONS
from conftest import origin_app
from cwt_support import b64, mac0
from edgesim.app import EdgeApp
from edgesim.config import parse_config
from edgesim.request_log import json_line, text_line
from edgesim.simulator import Simulator


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, list[dict[str, Any]]]]:
    (tmp_path / "boom.js").write_text("function handler(e) { console.log('boom'); throw new Error('no'); }")
    (tmp_path / "old.js").write_text("function handler(e) {\n  const x = 1;\n  return e.request;\n}")
    (tmp_path / "host.js").write_text("function handler(e) { e.request.headers.host = {value: 'x'}; return e.request; }")
    (tmp_path / "pin.js").write_text("import cf from 'cloudfront';\nfunction handler(e) {\n"
                                     "  if (e.request.uri === '/pin/select') cf.selectRequestOriginById('app', {hostHeader: 'select.example.com'});\n"
                                     "  else cf.updateRequestOrigin({originPath: '/v2', hostHeader: 'update.example.com'});\n"
                                     "  return e.request;\n}")

    def fn(path: Path, runtime: str = "cloudfront-js-2.0") -> dict[str, str]:
        return {"cloudfront_function": str(path), "runtime": runtime}

    config = parse_config({
        "origins": [{"id": "app", "url": "http://app.internal"}],
        "default_cache_behavior": {
            "target_origin": "app", "cache_policy": "CachingDisabled",
            "functions": {"viewer-request": fn(FUNCTIONS / "add-index.js"), "viewer-response": fn(FUNCTIONS / "security-headers.js")},
        },
        "cache_behaviors": [
            {"path_pattern": "/boom*", "target_origin": "app", "cache_policy": "CachingDisabled",
             "functions": {"viewer-request": fn(tmp_path / "boom.js")}},
            {"path_pattern": "/old*", "target_origin": "app", "cache_policy": "CachingDisabled",
             "functions": {"viewer-request": fn(tmp_path / "old.js", "cloudfront-js-1.0")}},
            {"path_pattern": "/host*", "target_origin": "app", "cache_policy": "CachingDisabled",
             "functions": {"viewer-request": fn(tmp_path / "host.js")}},
            {"path_pattern": "/pin/*", "target_origin": "app", "cache_policy": "CachingDisabled",
             "origin_request_policy": "AllViewer", "functions": {"viewer-request": fn(tmp_path / "pin.js")}},
            {"path_pattern": "/login*", "target_origin": "app", "cache_policy": "CachingDisabled",
             "functions": {"viewer-request": fn(FUNCTIONS / "basic-auth.js", "cloudfront-js-1.0")}},
            {"path_pattern": "/private/*", "target_origin": "app", "cache_policy": "CachingDisabled",
             "origin_request_policy": "AllViewer", "functions": {"viewer-request": fn(FUNCTIONS / "verify-cwt.js")}},
        ],
    }, base_dir=tmp_path)
    seen: list[dict[str, Any]] = []
    simulator = Simulator(config, transports={"app": httpx.ASGITransport(app=origin_app(None, seen))})
    await simulator.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=EdgeApp(simulator)),
                                 base_url="http://d111111abcdef8.cloudfront.net") as http:
        yield http, seen
    await simulator.aclose()


async def test_viewer_request_and_viewer_response_functions(client: Any) -> None:
    http, seen = client
    response = await http.get("/docs/")
    assert response.status_code == 200
    assert seen[-1]["path"] == "/docs/index.html"
    assert response.headers["x-frame-options"] == "DENY"


async def test_generated_response(client: Any) -> None:
    http, seen = client
    response = await http.get("/login")
    assert response.status_code == 401 and not seen
    assert response.headers["x-cache"] == "FunctionGeneratedResponse from cloudfront"


async def test_cwt_protected_path(client: Any) -> None:
    """functions/cff/verify-cwt.js on /private/*: a token made in Python reaches the origin, stripped."""
    http, seen = client
    good = b64(mac0({2: "u1", 4: int(time.time()) + 3600}, key=b"edgesim-demo-secret"))
    response = await http.get(f"/private/a.txt?token={good}&x=1")
    assert response.status_code == 200 and response.text == "origin /private/a.txt"
    assert (seen[-1]["query"], seen[-1]["headers"].get("x-user")) == ("x=1", "u1")
    header = await http.get("/private/a.txt", headers={"Authorization": f"CWT {good}"})
    assert header.status_code == 200 and len(seen) == 2
    expired = b64(mac0({2: "u1", 4: int(time.time()) - 1}, key=b"edgesim-demo-secret"))
    for bad in (f"?token={expired}", "?token=" + good[:-2], ""):
        denied = await http.get("/private/a.txt" + bad)
        assert denied.status_code == 401 and denied.headers["x-cache"] == "FunctionGeneratedResponse from cloudfront"
    assert len(seen) == 2


@pytest.mark.parametrize("path, status, x_cache", [
    ("/boom", 503, "FunctionExecutionError from cloudfront"),
    ("/old", 503, "FunctionExecutionError from cloudfront"),  # 1.0 refuses const: fails at run time
    ("/host", 502, "FunctionValidationError from cloudfront"),
])
async def test_function_failures_become_cloudfront_errors(client: Any, path: str, status: int, x_cache: str) -> None:
    http, seen = client
    response = await http.get(path)
    assert response.status_code == status
    assert response.headers["x-cache"] == x_cache
    assert not seen


async def test_log_custom_data_reaches_the_request_log_url_encoded_and_cut(tmp_path: Path) -> None:
    (tmp_path / "logdata.js").write_text(
        "import cf from 'cloudfront';\n"
        "function handler(e) { cf.logCustomData('first'); cf.logCustomData('user=a b&x=' + 'é'.repeat(400));"
        " return e.request; }")
    config = parse_config({
        "origins": [{"id": "app", "url": "http://app.internal"}],
        "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled", "functions": {
            "viewer-request": {"cloudfront_function": str(tmp_path / "logdata.js"), "runtime": "cloudfront-js-2.0"}}},
    }, base_dir=tmp_path)
    traces: list[Any] = []
    simulator = Simulator(config, transports={"app": httpx.ASGITransport(app=origin_app(None, []))})
    await simulator.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=EdgeApp(simulator, on_trace=traces.append)),
                                 base_url="http://d111111abcdef8.cloudfront.net") as http:
        assert (await http.get("/")).status_code == 200
    await simulator.aclose()
    data = traces[0].triggers[0].log_data
    # The last call wins, URL-encoded, at most 800 bytes, never ending inside a %XX escape (spec §1.7).
    assert data.startswith("user%3Da%20b%26x%3D%C3%A9")
    assert len(data) <= 800 and len(data) > 790 and data[-3] == "%"
    assert "log-data: user%3Da%20b" in text_line(traces[0])
    assert json.loads(json_line(traces[0]))["triggers"][0]["logData"] == data


async def test_origin_helpers_host_header_is_the_host_the_origin_gets(client: Any) -> None:
    # hostHeader (spec §1.7) wins over the viewer's Host that AllViewer would forward.
    http, seen = client
    assert (await http.get("/pin/select")).status_code == 200
    assert seen[-1]["headers"].get("host") == "select.example.com"
    assert (await http.get("/pin/update")).status_code == 200
    assert seen[-1]["path"] == "/v2/pin/update" and seen[-1]["headers"].get("host") == "update.example.com"
    assert (await http.get("/docs/")).status_code == 200  # no helper: the origin's own host
    assert seen[-1]["headers"].get("host") == "app.internal"


@pytest.mark.parametrize("configured, override, expected", [
    ("198.51.100.7", None, "198.51.100.7"),        # [viewer] ip: every request comes from it
    ("198.51.100.7", "192.0.2.44", "192.0.2.44"),  # one request's X-Edgesim-Viewer-Ip wins
    ("", None, "127.0.0.1"),                       # neither: the address the request came from
])
async def test_the_viewer_ip_is_one_address_everywhere(tmp_path: Path, configured: str, override: str | None,
                                                      expected: str) -> None:
    (tmp_path / "who.js").write_text(
        "function handler(e) { e.request.headers['x-seen-ip'] = {value: e.viewer.ip}; return e.request; }")
    config = parse_config({
        "viewer": {"ip": configured} if configured else {},
        "origins": [{"id": "app", "url": "http://app.internal"}],
        "default_cache_behavior": {
            "target_origin": "app", "cache_policy": "CachingDisabled",
            "origin_request_policy": "AllViewerAndCloudFrontHeaders-2022-06",
            "functions": {"viewer-request": {"cloudfront_function": str(tmp_path / "who.js")}},
        },
    }, base_dir=tmp_path)
    seen: list[dict[str, Any]] = []
    async with Simulator(config, transports={"app": httpx.ASGITransport(app=origin_app(None, seen))}) as simulator:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=EdgeApp(simulator), client=("127.0.0.1", 5555)),
                                     base_url="http://d111111abcdef8.cloudfront.net") as http:
            headers = {"X-Edgesim-Viewer-Ip": override} if override else {}
            assert (await http.get("/", headers=headers)).status_code == 200
    got = seen[0]["headers"]
    assert got.get("x-seen-ip") == expected
    assert got.get("x-forwarded-for") == expected
    assert got.get("cloudfront-viewer-address") == f"{expected}:50000"


async def test_a_viewer_ip_that_is_not_an_address_is_refused(tmp_path: Path) -> None:
    from edgesim.errors import ConfigError

    with pytest.raises((ConfigError, ValueError), match="not an IPv4 or IPv6 address"):
        parse_config({"viewer": {"ip": "localhost"}, "origins": [{"id": "app", "url": "http://app.internal"}],
                      "default_cache_behavior": {"target_origin": "app"}}, base_dir=tmp_path)
