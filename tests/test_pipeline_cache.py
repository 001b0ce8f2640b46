"""The edge cache in the pipeline: origin triggers on misses only, X-Cache/Age, expiry on a test clock,
revalidation, invalidation, custom error responses, CloudFront-added headers per trigger."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import FakeFunction, FakeLoader, build_config, origin_app, response_of
from edgesim.app import EdgeApp
from edgesim.clock import ManualClock
from edgesim.messages import EventType
from edgesim.runtime import TriggerCall, TriggerResult
from edgesim.simulator import Simulator

ALL_LAMBDA = {"viewer-request": {"lambda": "fns/vr.py:handler"}, "origin-request": {"lambda": "fns/oreq.py:handler"},
              "origin-response": {"lambda": "fns/oresp.py:handler"},
              "viewer-response": {"lambda": "fns/vresp.py:handler"}}


def copying(name: str, kind: str = "lambda") -> FakeFunction:
    """A pass-through function that hands back copies, so its recorded calls stay as it saw them."""
    def behaviour(call: TriggerCall) -> TriggerResult:
        if call.event_type.is_request:
            return TriggerResult(request=call.request.copy())
        assert call.response is not None
        return TriggerResult(response=call.response.copy())
    return FakeFunction(name, kind, behaviour)


class Rig:
    def __init__(self, simulator: Simulator, client: httpx.AsyncClient, fakes: dict[str, FakeFunction],
                 seen: list[dict[str, Any]], clock: ManualClock) -> None:
        self.simulator, self.client, self.fakes, self.seen, self.clock = simulator, client, fakes, seen, clock

    def calls(self, name: str) -> int:
        return len(self.fakes[name].calls) if name in self.fakes else 0


Make = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def rig(fn_dir: Path) -> AsyncIterator[Make]:
    opened: list[Rig] = []

    async def make(behavior: dict[str, Any] | None = None, *, routes: Any = None, origin: Any = None,
                   fakes: dict[str, FakeFunction] | None = None, cache: bool = True, **top: Any) -> Rig:
        seen: list[dict[str, Any]] = []
        data = {"origins": [{"id": "app", "url": "http://app.internal"}],
                "default_cache_behavior": {"target_origin": "app", **(behavior or {})}, **top}
        config = build_config(data, fn_dir.parent)
        registry = fakes if fakes is not None else {}
        clock = ManualClock()
        app = origin or origin_app(routes, seen)
        simulator = Simulator(config, transports={"app": httpx.ASGITransport(app=app)},
                              loader_factory=lambda: FakeLoader(registry), clock=clock, cache=cache)
        await simulator.start()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=EdgeApp(simulator)),
                                   base_url="http://d111111abcdef8.cloudfront.net")
        made = Rig(simulator, client, registry, seen, clock)
        opened.append(made)
        return made

    yield make
    for made in opened:
        await made.client.aclose()
        await made.simulator.aclose()


async def test_origin_triggers_run_on_a_miss_only(rig: Make) -> None:
    r = await rig({"functions": ALL_LAMBDA}, routes={"/a": (200, {"cache-control": "max-age=60"}, b"A")})
    first = await r.client.get("/a")
    assert first.headers["x-cache"] == "Miss from cloudfront" and "age" not in first.headers
    r.clock.advance(7)
    second = await r.client.get("/a")
    assert second.headers["x-cache"] == "Hit from cloudfront"
    assert second.headers["age"] == "7"
    assert second.text == "A"
    assert len(r.seen) == 1
    assert (r.calls("oreq"), r.calls("oresp")) == (1, 1)
    assert (r.calls("vr"), r.calls("vresp")) == (2, 2)  # viewer triggers run on hits too


async def test_expiry_on_the_test_clock(rig: Make) -> None:
    r = await rig(routes={"/a": (200, {"cache-control": "max-age=10"}, b"A")})
    await r.client.get("/a")
    r.clock.advance(9.9)
    assert (await r.client.get("/a")).headers["x-cache"] == "Hit from cloudfront"
    r.clock.advance(0.1)
    assert (await r.client.get("/a")).headers["x-cache"] == "Miss from cloudfront"
    assert len(r.seen) == 2


async def test_origin_request_generated_response_is_cached(rig: Make) -> None:
    fakes = {"oreq": FakeFunction("oreq", "lambda", lambda call: TriggerResult(
        response=response_of(200, b"made at origin-request", **{"cache-control": "max-age=300"}), generated=True))}
    r = await rig({"functions": ALL_LAMBDA}, fakes=fakes)
    first = await r.client.get("/g")
    assert first.headers["x-cache"] == "LambdaGeneratedResponse from cloudfront"
    second = await r.client.get("/g")
    assert (second.text, second.headers["x-cache"]) == ("made at origin-request", "Hit from cloudfront")
    assert second.headers["server"] == first.headers["server"] == "CloudFront"  # as stored
    assert r.calls("oreq") == 1 and r.calls("oresp") == 0 and r.seen == []


async def test_key_is_computed_after_viewer_request(rig: Make) -> None:
    def sort_query(call: TriggerCall) -> TriggerResult:
        call.request.querystring = "&".join(sorted(call.request.querystring.split("&")))
        return TriggerResult(request=call.request)

    policy = {"name": "qs", "query_strings": {"behavior": "all"}}
    fakes = {"vr": FakeFunction("vr", "cloudfront-function", sort_query)}
    r = await rig({"cache_policy": policy, "functions": {"viewer-request": {"cloudfront_function": "fns/vr.js"}}},
                  fakes=fakes)
    await r.client.get("/p?b=2&a=1")
    hit = await r.client.get("/p?a=1&b=2")
    assert hit.headers["x-cache"] == "Hit from cloudfront"
    assert [s["query"] for s in r.seen] == ["a=1&b=2"]


async def test_refresh_hit_revalidates_with_etag(rig: Make) -> None:
    seen: list[str | None] = []

    async def origin(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        inm = dict(scope["headers"]).get(b"if-none-match")
        seen.append(inm.decode() if inm else None)
        status, body = (304, b"") if inm == b'"v1"' else (200, b"full body")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"etag", b'"v1"'), (b"cache-control", b"max-age=10")]})
        await send({"type": "http.response.body", "body": body})

    r = await rig({"functions": ALL_LAMBDA}, origin=origin)
    await r.client.get("/doc")
    r.clock.advance(11)
    refreshed = await r.client.get("/doc")
    assert refreshed.headers["x-cache"] == "RefreshHit from cloudfront"
    assert (refreshed.status_code, refreshed.text) == (200, "full body")
    assert seen == [None, '"v1"']
    assert r.fakes["oreq"].calls[1].request.headers.get("if-none-match") == '"v1"'
    assert (await r.client.get("/doc")).headers["x-cache"] == "Hit from cloudfront"  # fresh again
    assert len(seen) == 2


async def test_expired_object_served_when_origin_fails(rig: Make) -> None:
    state = {"status": 200}

    async def origin(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": state["status"],
                    "headers": [(b"cache-control", b"max-age=5")]})
        await send({"type": "http.response.body", "body": b"good" if state["status"] == 200 else b"bad"})

    r = await rig(origin=origin)
    await r.client.get("/s")
    r.clock.advance(6)
    state["status"] = 503
    stale = await r.client.get("/s")
    assert (stale.status_code, stale.text) == (200, "good")


async def test_invalidation_through_the_simulator(rig: Make) -> None:
    r = await rig()
    for path in ("/images/a.jpg", "/images/b.jpg", "/index.html"):
        await r.client.get(path)
    assert r.simulator.invalidate(["/images/*"]) == 2
    assert (await r.client.get("/images/a.jpg")).headers["x-cache"] == "Miss from cloudfront"
    assert (await r.client.get("/index.html")).headers["x-cache"] == "Hit from cloudfront"


async def test_methods_cached(rig: Make) -> None:
    r = await rig({"allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                   "cached_methods": ["GET", "HEAD", "OPTIONS"]})
    for _ in range(2):
        await r.client.post("/p", content=b"x")
        await r.client.options("/p")
    assert [s["method"] for s in r.seen] == ["POST", "OPTIONS", "POST"]
    head = await r.client.head("/fresh")
    assert head.headers["x-cache"] == "Miss from cloudfront"
    assert (await r.client.get("/fresh")).headers["x-cache"] == "Miss from cloudfront"  # HEAD stored nothing
    assert (await r.client.head("/fresh")).headers["x-cache"] == "Hit from cloudfront"  # GET's object serves HEAD


async def test_no_cache_sends_every_request_to_the_origin(rig: Make) -> None:
    r = await rig(cache=False)
    await r.client.get("/a")
    assert (await r.client.get("/a")).headers["x-cache"] == "Miss from cloudfront"
    assert len(r.seen) == 2


async def test_reload_clears_the_cache_unless_told_not_to(rig: Make) -> None:
    r = await rig()
    await r.client.get("/a")
    await r.simulator.reload(r.simulator.config)
    assert (await r.client.get("/a")).headers["x-cache"] == "Miss from cloudfront"
    kept = await rig(distribution={"clear_cache_on_reload": False})
    await kept.client.get("/a")
    await kept.simulator.reload(kept.simulator.config)
    assert (await kept.client.get("/a")).headers["x-cache"] == "Hit from cloudfront"


async def test_errors_cached_for_the_error_caching_minimum_ttl(rig: Make) -> None:
    r = await rig({"functions": ALL_LAMBDA}, routes={"/gone": (404, {}, b"nope")})
    await r.client.get("/gone")
    r.clock.advance(9)
    hit = await r.client.get("/gone")
    assert (hit.status_code, hit.headers["x-cache"]) == (404, "Error from cloudfront")
    assert r.calls("vresp") == 0 and len(r.seen) == 1
    r.clock.advance(1)
    await r.client.get("/gone")
    assert len(r.seen) == 2


async def test_custom_error_response_page_and_code(rig: Make) -> None:
    routes = {"/index.html": (200, {"content-type": "text/html"}, b"<app/>"), "/deep/link": (404, {}, b"nope")}
    r = await rig({"functions": ALL_LAMBDA}, routes=routes, custom_error_responses=[
        {"error_code": 404, "response_code": 200, "response_page_path": "/index.html", "error_caching_min_ttl": 30}])
    first = await r.client.get("/deep/link")
    assert (first.status_code, first.text, first.headers["content-type"]) == (200, "<app/>", "text/html")
    assert r.calls("vresp") == 0  # the origin said 404 (spec §3.1)
    r.clock.advance(29)
    second = await r.client.get("/deep/link")
    assert (second.status_code, second.text) == (200, "<app/>")
    assert r.calls("vresp") == 0 and [s["path"] for s in r.seen] == ["/deep/link", "/index.html"]


CF_POLICY = {"name": "geo", "headers": {"behavior": "whitelist", "items": ["CloudFront-Viewer-Country"]}}


async def test_cloudfront_function_viewer_request_sees_cloudfront_headers(rig: Make) -> None:
    r = await rig({"cache_policy": CF_POLICY,
                   "functions": {"viewer-request": {"cloudfront_function": "fns/vr.js"},
                                 "origin-request": {"lambda": "fns/oreq.py:handler"}}})
    await r.client.get("/x", headers={"x-edgesim-viewer-country": "FR"})
    viewer_request = r.fakes["vr"].calls[0].request
    assert viewer_request.headers.get("cloudfront-viewer-country") == "FR"
    assert not any(k.lower().startswith("x-edgesim") for k, _ in viewer_request.headers)
    assert r.seen[0]["headers"].get("cloudfront-viewer-country") == "FR"
    assert r.seen[0]["headers"].get("x-edgesim-viewer-country") is None
    # The country joins the key: another country misses, the same one hits.
    await r.client.get("/x", headers={"x-edgesim-viewer-country": "DE"})
    assert (await r.client.get("/x", headers={"x-edgesim-viewer-country": "FR"})).headers["x-cache"] == \
        "Hit from cloudfront"
    assert len(r.seen) == 2


async def test_lambda_viewer_request_does_not_see_cloudfront_headers(rig: Make) -> None:
    orp = {"name": "geo", "header_behavior": "whitelist", "headers": ["cloudfront-viewer-city", "cloudfront-is-mobile-viewer"]}
    r = await rig({"cache_policy": "CachingDisabled", "origin_request_policy": orp, "functions": ALL_LAMBDA},
                  fakes={"vr": copying("vr")})
    await r.client.get("/x", headers={"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148"})
    assert r.fakes["vr"].calls[0].request.headers.get("cloudfront-viewer-city") is None
    origin_request = r.fakes["oreq"].calls[0].request
    assert origin_request.headers.get("cloudfront-viewer-city") == "Seattle"
    assert origin_request.headers.get("cloudfront-is-mobile-viewer") == "true"
    assert r.fakes["oreq"].calls[0].event_type is EventType.ORIGIN_REQUEST


async def test_response_headers_policy_before_viewer_response_and_on_hits(rig: Make) -> None:
    r = await rig({"response_headers_policy": "SecurityHeadersPolicy", "functions": ALL_LAMBDA},
                  fakes={"oresp": copying("oresp")})
    for expected in ("Miss from cloudfront", "Hit from cloudfront"):
        got = await r.client.get("/a")
        assert got.headers["x-cache"] == expected
        assert got.headers["x-frame-options"] == "SAMEORIGIN"
    for call in r.fakes["vresp"].calls:
        assert call.response is not None and call.response.headers.get("strict-transport-security")
    assert r.fakes["oresp"].calls[0].response.headers.get("strict-transport-security") is None  # type: ignore[union-attr]


async def test_cors_preflight_answered_at_the_edge(rig: Make) -> None:
    r = await rig({"allowed_methods": ["GET", "HEAD", "OPTIONS"], "response_headers_policy": "CORS-With-Preflight",
                   "functions": ALL_LAMBDA})
    got = await r.client.options("/api", headers={"origin": "https://app.example",
                                                  "access-control-request-method": "PUT"})
    assert got.status_code == 200
    assert got.headers["access-control-allow-origin"] == "*"
    assert "PUT" in got.headers["access-control-allow-methods"]
    assert r.seen == [] and r.calls("oreq") == 0
    simple = await r.client.get("/api", headers={"origin": "https://app.example"})
    assert simple.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-methods" not in simple.headers


async def test_unknown_viewer_override_is_a_400(rig: Make) -> None:
    r = await rig()
    got = await r.client.get("/", headers={"x-edgesim-viewer-planet": "Mars"})
    assert got.status_code == 400
    assert r.seen == []


async def test_viewer_conditional_get_answered_from_the_cache(rig: Make) -> None:
    r = await rig(routes={"/e": (200, {"etag": '"abc"', "cache-control": "max-age=60"}, b"E")})
    await r.client.get("/e")
    got = await r.client.get("/e", headers={"if-none-match": '"abc"'})
    assert (got.status_code, got.content, got.headers["x-cache"]) == (304, b"", "Hit from cloudfront")
    assert len(r.seen) == 1


async def test_custom_error_page_for_an_unreachable_origin(fn_dir: Path) -> None:
    from edgesim.server import free_port

    config = build_config({
        "origins": [{"id": "down", "url": f"http://127.0.0.1:{free_port()}"}, {"id": "pages", "url": "http://pages.internal"}],
        "default_cache_behavior": {"target_origin": "down", "functions": ALL_LAMBDA},
        "cache_behaviors": [{"path_pattern": "/errors/*", "target_origin": "pages"}],
        "custom_error_responses": [{"error_code": 502, "response_code": 503, "response_page_path": "/errors/down.html"}],
    }, fn_dir.parent)
    registry: dict[str, FakeFunction] = {}
    pages = origin_app({"/errors/down.html": (200, {"content-type": "text/html"}, b"be right back")})
    async with Simulator(config, transports={"pages": httpx.ASGITransport(app=pages)},
                         loader_factory=lambda: FakeLoader(registry)) as simulator:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=EdgeApp(simulator)),
                                     base_url="http://d111111abcdef8.cloudfront.net") as client:
            got = await client.get("/anything")
    assert (got.status_code, got.text) == (503, "be right back")
    assert got.headers["x-cache"] == "Error from cloudfront"
    assert "vresp" not in registry or registry["vresp"].calls == []


class FlakyOrigin:
    """An origin that cannot be reached (`fail`: a refused connection or a timeout) until set up."""

    def __init__(self) -> None:
        self.fail: type[Exception] | None = httpx.ConnectError
        self.asked = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.asked += 1
        if self.fail is not None:
            raise self.fail("origin down", request=request)
        return httpx.Response(200, headers={"cache-control": "max-age=60"}, content=b"back")


@pytest.mark.parametrize(("fail", "status"), [(httpx.ConnectError, 502), (httpx.ReadTimeout, 504)])
async def test_an_unreachable_origins_error_is_cached_for_the_error_caching_minimum_ttl(
        fn_dir: Path, fail: type[Exception], status: int) -> None:
    # AD/HTTPStatusCodes: no answer counts as a 5xx from the origin, and 502 / 504 are cached for the
    # error caching minimum TTL (10 s by default): the origin is not asked again meanwhile.
    origin = FlakyOrigin()
    origin.fail = fail
    config = build_config({"origins": [{"id": "app", "url": "http://app.internal"}],
                           "default_cache_behavior": {"target_origin": "app"}}, fn_dir.parent)
    clock = ManualClock()
    async with Simulator(config, transports={"app": httpx.MockTransport(origin.handle)}, clock=clock,
                         cache=True) as simulator:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=EdgeApp(simulator)),
                                     base_url="http://d111111abcdef8.cloudfront.net") as client:
            first = await client.get("/a")
            origin.fail = None
            clock.advance(9)
            held = await client.get("/a")
            head = await client.head("/a")
            clock.advance(1)
            back = await client.get("/a")
    assert (first.status_code, first.headers["x-cache"]) == (status, "Error from cloudfront")
    assert (held.status_code, held.headers["x-cache"], held.headers["age"]) == (status, "Error from cloudfront", "9")
    assert held.headers["x-amz-cf-id"] != first.headers["x-amz-cf-id"]
    assert (head.status_code, head.content) == (status, b"")
    assert (back.status_code, back.text, back.headers["x-cache"]) == (200, "back", "Miss from cloudfront")
    assert origin.asked == 2


async def test_an_unreachable_origins_error_with_error_caching_minimum_ttl_0_is_not_cached(fn_dir: Path) -> None:
    origin = FlakyOrigin()
    config = build_config({"origins": [{"id": "app", "url": "http://app.internal"}],
                           "default_cache_behavior": {"target_origin": "app"},
                           "custom_error_responses": [{"error_code": 502, "error_caching_min_ttl": 0}]}, fn_dir.parent)
    async with Simulator(config, transports={"app": httpx.MockTransport(origin.handle)}, clock=ManualClock(),
                         cache=True) as simulator:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=EdgeApp(simulator)),
                                     base_url="http://d111111abcdef8.cloudfront.net") as client:
            first = await client.get("/a")
            origin.fail = None
            second = await client.get("/a")
    assert first.status_code == 502
    assert (second.status_code, second.text) == (200, "back")


async def test_a_custom_error_page_for_an_unreachable_origin_is_cached_with_it(fn_dir: Path) -> None:
    origin = FlakyOrigin()
    config = build_config({
        "origins": [{"id": "app", "url": "http://app.internal"}, {"id": "pages", "url": "http://pages.internal"}],
        "default_cache_behavior": {"target_origin": "app"},
        "cache_behaviors": [{"path_pattern": "/errors/*", "target_origin": "pages"}],
        "custom_error_responses": [{"error_code": 502, "response_code": 503, "response_page_path": "/errors/down.html",
                                    "error_caching_min_ttl": 30}],
    }, fn_dir.parent)
    pages = origin_app({"/errors/down.html": (200, {"content-type": "text/html"}, b"be right back")})
    clock = ManualClock()
    async with Simulator(config, transports={"app": httpx.MockTransport(origin.handle),
                                             "pages": httpx.ASGITransport(app=pages)},
                         clock=clock, cache=True) as simulator:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=EdgeApp(simulator)),
                                     base_url="http://d111111abcdef8.cloudfront.net") as client:
            await client.get("/a")
            origin.fail = None
            clock.advance(29)
            held = await client.get("/a")
            clock.advance(1)
            back = await client.get("/a")
    assert (held.status_code, held.text, held.headers["x-cache"]) == (503, "be right back", "Error from cloudfront")
    assert (back.status_code, back.text) == (200, "back")
    assert origin.asked == 2


async def test_the_log_gives_the_requests_own_origin_status_not_its_error_pages(fn_dir: Path) -> None:
    # The origin answered 500; the custom error page's origin answered 404, which the viewer gets
    # (DG/custom-error-pages). The log line's origin= is the request's origin's status.
    from edgesim.messages import Headers, Request
    from edgesim.request_log import json_line, text_line

    config = build_config({
        "origins": [{"id": "app", "url": "http://app.internal"}, {"id": "pages", "url": "http://pages.internal"}],
        "default_cache_behavior": {"target_origin": "app"},
        "cache_behaviors": [{"path_pattern": "/errors/*", "target_origin": "pages"}],
        "custom_error_responses": [{"error_code": 500, "response_code": 200, "response_page_path": "/errors/gone.html"}],
    }, fn_dir.parent)
    app = origin_app({"/a": (500, {}, b"boom")})
    pages = origin_app({"/errors/gone.html": (404, {}, b"no page")})
    async with Simulator(config, transports={"app": httpx.ASGITransport(app=app),
                                             "pages": httpx.ASGITransport(app=pages)}) as simulator:
        response, trace = await simulator.handle(Request("GET", "/a", headers=Headers([("Host", "d.example")])))
    assert response.status == 404
    assert [o.status for o in trace.origin_requests] == [500, 404]
    assert trace.origin_status == 500
    assert "origin=500" in text_line(trace)
    assert json.loads(json_line(trace))["originStatus"] == 500


async def test_a_hit_on_a_stored_error_says_why_the_origin_was_not_asked(fn_dir: Path) -> None:
    # A developer who starts the origin after the first request (or fixes it) gets the stored 502 or
    # 404 again for the error caching minimum TTL (spec §4.3): the log says so, and what drops it.
    from edgesim.messages import Headers, Request

    origin = FlakyOrigin()
    origin.fail = httpx.ConnectError
    config = build_config({"origins": [{"id": "app", "url": "http://app.internal"}],
                           "default_cache_behavior": {"target_origin": "app"}}, fn_dir.parent)
    clock = ManualClock()
    async with Simulator(config, transports={"app": httpx.MockTransport(origin.handle)}, clock=clock,
                         cache=True) as simulator:
        _, missed = await simulator.handle(Request("GET", "/a", headers=Headers([("Host", "d.example")])))
        origin.fail = None
        clock.advance(4)
        response, hit = await simulator.handle(Request("GET", "/a", headers=Headers([("Host", "d.example")])))
        _, again = await simulator.handle(Request("GET", "/a", headers=Headers([("Host", "d.example")])))
    assert response.status == 502 and hit.cache == "Hit" and again.cache == "Hit"
    assert not any("stored" in note for note in missed.notes)
    assert any(note.startswith("the 502 stored 4 s ago, kept 6 s more") and "edgesim invalidate" in note
               for note in hit.notes), hit.notes
    assert not any("stored" in note for note in again.notes)  # said once per stored error, not on every hit


async def test_server_timing_on_a_miss_carries_the_origins_value_and_on_a_hit_not(rig: Make) -> None:
    # AD/understanding-response-headers-policies "Server-Timing header from the origin"; the
    # viewer-response function sees the header, as it does the policy's others.
    r = await rig({"response_headers_policy": {"server_timing": {"sampling_rate": 0}}, "functions": ALL_LAMBDA},
                  routes={path: (200, {"server-timing": "db;dur=53", "cache-control": "max-age=60"}, b"T")
                          for path in ("/t", "/u")})
    unsampled = await r.client.get("/t")
    assert unsampled.headers.get_list("server-timing") == ["db;dur=53"]
    hit = await r.client.get("/t", headers={"pragma": "server-timing"})
    assert hit.headers["x-cache"] == "Hit from cloudfront"
    assert hit.headers["server-timing"].startswith("cdn-cache-hit,cdn-pop;")
    assert "db;dur=53" not in hit.headers["server-timing"]
    miss = await r.client.get("/u", headers={"pragma": "server-timing"})
    assert "cdn-cache-miss" in miss.headers["server-timing"] and miss.headers["server-timing"].endswith(",db;dur=53")
    seen = r.fakes["vresp"].calls[-1].response
    assert seen is not None and "cdn-cache-miss" in (seen.headers.get("server-timing") or "")


async def test_server_timing_of_a_preflight_answered_at_the_edge_has_no_upstream_metrics(rig: Make) -> None:
    # "cdn-upstream-*": present when CloudFront requests the object from the origin; here none is asked.
    r = await rig({"allowed_methods": ["GET", "HEAD", "OPTIONS"],
                   "response_headers_policy": {"cors": {"allow_origins": ["*"]}, "server_timing": {}}})
    got = await r.client.options("/api", headers={"origin": "https://app.example", "access-control-request-method": "PUT",
                                                  "pragma": "server-timing"})
    assert r.seen == [] and got.headers["server-timing"].startswith("cdn-cache-miss,cdn-pop;")
