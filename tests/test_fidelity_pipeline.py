"""Fidelity sweep, the request flow around the cache (spec §3.1): which triggers run on a hit and
on a miss, generated responses, origin-response on errors, custom error responses and origin-group
failover. Real functions: CloudFront Functions at the viewer events, Python Lambda@Edge at the
origin events, as a migrating team would attach them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgesim.messages import EventType, Request
from edgesim.testing import Distribution, trace_of

VR = EventType.VIEWER_REQUEST
ORQ = EventType.ORIGIN_REQUEST
ORS = EventType.ORIGIN_RESPONSE
VRS = EventType.VIEWER_RESPONSE

VIEWER_REQUEST_JS = """
function handler(event) {
    var request = event.request;
    if (request.uri === '/old') {
        return { statusCode: 301, statusDescription: 'Moved Permanently',
                 headers: { location: { value: '/new' } } };
    }
    request.headers['x-seen-by-viewer-request'] = { value: 'yes' };
    return request;
}
"""
VIEWER_RESPONSE_JS = """
function handler(event) {
    var response = event.response;
    response.headers['x-viewer-response'] = { value: 'ran' };
    return response;
}
"""
ORIGIN_PY = '''
def origin_request(event, context):
    request = event["Records"][0]["cf"]["request"]
    if request["uri"] == "/generated":
        return {"status": "200", "statusDescription": "OK", "body": "made at origin-request",
                "headers": {"cache-control": [{"key": "Cache-Control", "value": "max-age=300"}],
                            "content-type": [{"key": "Content-Type", "value": "text/plain"}]}}
    return request


def origin_response(event, context):
    response = event["Records"][0]["cf"]["response"]
    response["headers"]["x-origin-response"] = [{"key": "X-Origin-Response", "value": response["status"]}]
    return response
'''


@pytest.fixture
def functions(tmp_path: Path) -> Path:
    (tmp_path / "vr.js").write_text(VIEWER_REQUEST_JS)
    (tmp_path / "vresp.js").write_text(VIEWER_RESPONSE_JS)
    (tmp_path / "origin_fns.py").write_text(ORIGIN_PY)
    return tmp_path


def with_all_triggers(folder: Path, **top: Any) -> dict[str, Any]:
    return {
        "origins": [{"id": "app", "url": "http://app.example.com"}],
        "default_cache_behavior": {
            "target_origin": "app", "cache_policy": {"default_ttl": 60},
            "functions": {
                "viewer-request": {"cloudfront_function": str(folder / "vr.js")},
                "viewer-response": {"cloudfront_function": str(folder / "vresp.js")},
                "origin-request": {"lambda": str(folder / "origin_fns.py") + ":origin_request"},
                "origin-response": {"lambda": str(folder / "origin_fns.py") + ":origin_response"},
            },
        },
        **top,
    }


def ran(response: httpx.Response) -> list[EventType]:
    return [t.event_type for t in trace_of(response).triggers]


def page_origin(request: Request) -> tuple[int, dict[str, str], str]:
    if request.uri == "/missing":
        return 404, {"content-type": "text/html"}, "origin's own 404"
    if request.uri == "/broken":
        return 500, {}, "origin's own 500"
    if request.uri.startswith("/errors/"):  # the error pages were never uploaded
        return 404, {"content-type": "application/xml"}, "<Error><Code>NoSuchKey</Code></Error>"
    if request.uri == "/index.html":
        return 200, {"content-type": "text/html"}, "<app shell/>"
    return 200, {"cache-control": "max-age=60"}, f"page {request.uri}"


@pytest.fixture
async def edge(functions: Path) -> AsyncIterator[Distribution]:
    async with Distribution(with_all_triggers(functions), origins={"app": page_origin}) as dist:
        yield dist


async def test_viewer_triggers_on_hit_and_miss_origin_triggers_on_miss_only(edge: Distribution) -> None:
    async with edge.client() as client:
        miss = await client.get("/a")
        hit = await client.get("/a")
    assert ran(miss) == [VR, ORQ, ORS, VRS] and ran(hit) == [VR, VRS]
    assert hit.headers["x-origin-response"] == "200"  # stored after origin-response changed it
    assert hit.headers["x-viewer-response"] == "ran" and hit.headers["x-cache"] == "Hit from cloudfront"
    assert edge.origins["app"].last.headers.get("x-seen-by-viewer-request") is None  # not forwarded by policy


async def test_origin_response_runs_on_errors_and_viewer_response_does_not(edge: Distribution) -> None:
    async with edge.client() as client:
        response = await client.get("/missing")
        again = await client.get("/missing")
    assert response.status_code == 404 and ran(response) == [VR, ORQ, ORS]
    assert response.headers["x-origin-response"] == "404" and "x-viewer-response" not in response.headers
    # The error is cached (10 s); on the hit viewer-response is still skipped, the origin said 404.
    assert ran(again) == [VR] and again.headers["x-cache"] == "Error from cloudfront"


async def test_viewer_request_generated_response_skips_everything_and_is_not_cached(edge: Distribution) -> None:
    async with edge.client() as client:
        first = await client.get("/old")
        second = await client.get("/old")
    for response in (first, second):
        assert response.status_code == 301 and ran(response) == [VR]
        assert response.headers["x-cache"] == "FunctionGeneratedResponse from cloudfront"
        assert "x-viewer-response" not in response.headers
    assert edge.origins["app"].count == 0


async def test_origin_request_generated_response_is_cached(edge: Distribution) -> None:
    async with edge.client() as client:
        first = await client.get("/generated")
        second = await client.get("/generated")
    assert first.text == second.text == "made at origin-request"
    assert ran(first) == [VR, ORQ, VRS] and first.headers["x-cache"] == "LambdaGeneratedResponse from cloudfront"
    assert ran(second) == [VR, VRS] and second.headers["x-cache"] == "Hit from cloudfront"
    assert edge.origins["app"].count == 0


# --- custom error responses -----------------------------------------------------------------------


def spa(folder: Path, **extra: Any) -> dict[str, Any]:
    return with_all_triggers(folder, custom_error_responses=[
        {"error_code": 404, "response_code": 200, "response_page_path": "/index.html", "error_caching_min_ttl": 30},
        {"error_code": 500, "response_code": 500, "response_page_path": "/errors/500.html"},
    ], **extra)


async def test_spa_fallback_page_cached_for_the_error_caching_minimum_ttl(functions: Path) -> None:
    async with Distribution(spa(functions), origins={"app": page_origin}) as dist, dist.client() as client:
        first = await client.get("/missing")
        assert (first.status_code, first.text) == (200, "<app shell/>")
        assert "x-viewer-response" not in first.headers  # the origin's status was 404 (spec §3.1)
        dist.advance(29)
        again = await client.get("/missing")
        assert again.text == "<app shell/>" and ran(again) == [VR]
        assert edge_paths(dist) == ["/missing", "/index.html"]
        dist.advance(1)
        await client.get("/missing")
        assert edge_paths(dist)[-1] == "/missing"


def edge_paths(dist: Distribution) -> list[str]:
    return dist.origins["app"].paths


async def test_unavailable_custom_error_page_gives_the_status_of_the_pages_origin(functions: Path) -> None:
    # "If ... the custom error page isn't available, CloudFront returns to the viewer the status code
    # that CloudFront received from the origin that contains the custom error pages" (DG/custom-error-pages):
    # the origin's 500 page is missing, so the viewer gets that origin's 404.
    async with Distribution(spa(functions), origins={"app": page_origin}) as dist, dist.client() as client:
        response = await client.get("/broken")
    assert response.status_code == 404 and "NoSuchKey" in response.text
    assert "x-viewer-response" not in response.headers
    assert edge_paths(dist) == ["/broken", "/errors/500.html"]


# --- origin groups ----------------------------------------------------------------------------------


def group(folder: Path, codes: list[int], methods: list[str] | None = None) -> dict[str, Any]:
    cfg = with_all_triggers(folder, origin_groups=[{"id": "ha", "primary": "one", "secondary": "two",
                                                    "failover_status_codes": codes}])
    cfg["origins"] = [{"id": "one", "url": "http://one.example.com"}, {"id": "two", "url": "http://two.example.com"}]
    cfg["default_cache_behavior"]["target_origin"] = "ha"
    if methods:
        cfg["default_cache_behavior"]["allowed_methods"] = methods
    return cfg


def failing(status: int) -> Any:
    return lambda request: (status, {}, f"primary {status}")


async def test_failover_on_the_configured_statuses_only(functions: Path) -> None:
    origins = {"one": failing(503), "two": lambda r: "from secondary"}
    async with Distribution(group(functions, [503]), origins=origins) as dist, dist.client() as client:
        response = await client.get("/a")
        assert response.text == "from secondary"
        # Lambda@Edge origin-request runs again for the secondary (AD/high_availability_origin_failover).
        assert ran(response) == [VR, ORQ, ORQ, ORS, VRS]
    origins = {"one": failing(500), "two": lambda r: "from secondary"}
    async with Distribution(group(functions, [503]), origins=origins) as dist, dist.client() as client:
        response = await client.get("/a")
        assert response.status_code == 500 and dist.origins["two"].count == 0


ALL = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]


@pytest.mark.parametrize(("method", "fails_over"), [("GET", True), ("HEAD", True), ("OPTIONS", True),
                                                    ("POST", False), ("PUT", False), ("DELETE", False)])
async def test_failover_only_for_get_head_options(functions: Path, method: str, fails_over: bool) -> None:
    # "CloudFront fails over to the secondary origin only when the HTTP method of the viewer request is
    # GET, HEAD, or OPTIONS" (DG/RequestAndResponseBehaviorOriginGroups).
    origins = {"one": failing(503), "two": lambda r: "from secondary"}
    async with Distribution(group(functions, [503], ALL), origins=origins) as dist, dist.client() as client:
        response = await client.request(method, "/a")
    assert response.status_code == (200 if fails_over else 503)
    assert dist.origins["two"].count == (1 if fails_over else 0)


async def test_failover_when_the_primary_times_out(functions: Path) -> None:
    # Failover also happens when "the response from the primary origin takes too long"
    # (AD/high_availability_origin_failover).
    def timing_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no response bytes", request=request)

    origins: dict[str, Any] = {"one": httpx.MockTransport(timing_out), "two": lambda r: "from secondary"}
    async with Distribution(group(functions, [503]), origins=origins) as dist, dist.client() as client:
        response = await client.get("/a")
    assert (response.status_code, response.text) == (200, "from secondary")


async def test_failover_when_the_primary_cannot_be_reached(functions: Path) -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    origins: dict[str, Any] = {"one": httpx.MockTransport(refused), "two": lambda r: "from secondary"}
    async with Distribution(group(functions, [503]), origins=origins) as dist, dist.client() as client:
        response = await client.get("/a")
    assert (response.status_code, response.text) == (200, "from secondary")


# --- revalidation and stale objects through the triggers -------------------------------------------


async def test_revalidation_runs_the_origin_triggers_and_is_a_refresh_hit(functions: Path) -> None:
    # origin-request runs whenever CloudFront goes to the origin, a revalidation included, and
    # origin-response on the origin's 304 (AD/lambda-cloudfront-trigger-events).
    def origin(request: Request) -> tuple[int, dict[str, str], str]:
        if request.headers.get("if-none-match") == '"v1"':
            return 304, {"etag": '"v1"', "cache-control": "max-age=30"}, ""
        return 200, {"etag": '"v1"', "cache-control": "max-age=30"}, "v1"

    async with Distribution(with_all_triggers(functions), origins={"app": origin}) as dist, dist.client() as client:
        await client.get("/a")
        dist.advance(31)
        refreshed = await client.get("/a")
    assert refreshed.headers["x-cache"] == "RefreshHit from cloudfront" and refreshed.text == "v1"
    assert ran(refreshed) == [VR, ORQ, ORS, VRS]
    sent = trigger_event(refreshed, ORQ)["headers"]
    assert sent["if-none-match"] == [{"key": "If-None-Match", "value": '"v1"'}]


def trigger_event(response: httpx.Response, event_type: EventType) -> dict[str, Any]:
    record = next(t for t in trace_of(response).triggers if t.event_type is event_type)
    event: Any = record.event
    return event["Records"][0]["cf"]["request"]  # type: ignore[no-any-return]


async def test_stale_object_on_5xx_still_gets_viewer_response(functions: Path) -> None:
    healthy = [True]

    def origin(request: Request) -> tuple[int, dict[str, str], str]:
        return (200, {"cache-control": "max-age=10"}, "good") if healthy[0] else (502, {}, "bad gateway")

    async with Distribution(with_all_triggers(functions), origins={"app": origin}) as dist, dist.client() as client:
        await client.get("/a")
        healthy[0] = False
        dist.advance(10)
        stale = await client.get("/a")
    assert (stale.status_code, stale.text) == (200, "good")
    # The origin was asked (origin triggers ran on its 502); the viewer gets the stored object, and
    # viewer-response runs as for any 200 from the cache.
    assert ran(stale) == [VR, ORQ, ORS, VRS] and stale.headers["x-viewer-response"] == "ran"


async def test_head_miss_goes_to_the_origin_as_head(edge: Distribution) -> None:
    async with edge.client() as client:
        head = await client.head("/a")
    assert head.status_code == 200 and head.content == b""
    assert [r.method for r in edge.origins["app"].requests] == ["HEAD"]
