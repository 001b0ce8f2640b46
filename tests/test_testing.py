"""edgesim.testing: distributions in a test, origin stubs, traces, controls, shared runtimes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import FakeFunction, FakeLoader, origin_app
from edgesim.errors import ConfigError
from edgesim.messages import EventType, Request
from edgesim.runtime import TriggerCall, TriggerResult
from edgesim.runtime_pool import RuntimePool
from edgesim.testing import Distribution, ManualClock, trace_of, viewer_headers
from edgesim.testing_sync import SyncDistribution

# Forward the whole viewer request to the origin, and cache nothing, so the origin sees each request.
BEHAVIOR = {"target_origin": "api", "cache_policy": "CachingDisabled", "origin_request_policy": "AllViewerExceptHostHeader"}
API = {"origins": [{"id": "api", "url": "http://api.example.com"}], "default_cache_behavior": BEHAVIOR}


def with_functions(fn_dir: Path, functions: dict[str, Any]) -> dict[str, Any]:
    return {**API, "default_cache_behavior": {**BEHAVIOR, "functions": functions}}


async def test_canned_origin_answers_by_path_and_records_requests() -> None:
    routes = {"/": "home", "/data": {"status": 201, "headers": {"x-o": "1"}, "body": {"a": 1}}, "/t": (418, "tea")}
    async with Distribution(API, origins={"api": routes}) as dist, dist.client() as client:
        home, data, tea, missing = [await client.get(p) for p in ("/", "/data?x=1", "/t", "/nope")]
    assert (home.status_code, home.text) == (200, "home")
    assert (data.status_code, data.json(), data.headers["x-o"]) == (201, {"a": 1}, "1")
    assert data.headers["content-type"] == "application/json"
    assert (tea.status_code, tea.text) == (418, "tea")
    assert missing.status_code == 404 and "no route for /nope" in missing.text
    assert dist.origins["api"].paths == ["/", "/data?x=1", "/t", "/nope"]
    # The origin sees what CloudFront forwards: its own request id and Via, not the viewer's Host.
    seen = dist.origins["api"].last
    assert seen.headers.get("x-amz-cf-id") and seen.headers.get("host") == "api.example.com"


async def test_unused_routes_lists_the_canned_routes_no_request_was_answered_from() -> None:
    routes = {"/": "home", "/data?x=1": "one", "/data": "any", "/never": "x"}
    async with Distribution(API, origins={"api": routes}) as dist, dist.client() as client:
        assert dist.origins["api"].unused_routes == ["/", "/data?x=1", "/data", "/never"]
        for path in ("/", "/data?x=1", "/nope"):
            await client.get(path)
        # An exact path-and-query route answered, not its path's; a 404 uses none.
        assert dist.origins["api"].unused_routes == ["/data", "/never"]
        dist.reset()
        assert dist.origins["api"].unused_routes == ["/", "/data?x=1", "/data", "/never"]
    async with Distribution(API, origins={"api": lambda request: "fn"}) as dist:
        assert dist.origins["api"].unused_routes == []  # a function stub has no routes


async def test_every_response_carries_its_trace() -> None:
    async with Distribution(API, origins={"api": {"/": "x"}}) as dist, dist.client() as client:
        response = await client.get("/")
    trace = trace_of(response)
    assert trace.request_id == response.headers["x-amz-cf-id"]
    assert trace.status == 200 and trace.behavior == "*"
    assert [o.origin_id for o in trace.origin_requests] == ["api"]
    assert "GET / -> behavior '*' -> 200" in trace.render()
    assert dist.last_trace is trace


async def test_function_origin_gets_the_origin_request() -> None:
    def origin(request: Request) -> tuple[int, dict[str, str], str]:
        return 200, {"x-method": request.method}, f"{request.uri}?{request.querystring} {request.body.decode()}"

    async with Distribution(API, origins={"api": origin}) as dist, dist.client() as client:
        response = await client.get("/a/b?q=1")
    assert response.text == "/a/b?q=1 " and response.headers["x-method"] == "GET"


async def test_async_function_origin_and_asgi_origin() -> None:
    async def origin(request: Request) -> str:
        return "async " + request.uri

    seen: list[dict[str, Any]] = []
    config = {**API, "origins": [{"id": "api", "url": "http://a.example"}, {"id": "b", "url": "http://b.example"}],
              "cache_behaviors": [{**BEHAVIOR, "path_pattern": "/b/*", "target_origin": "b"}]}
    async with Distribution(config, origins={"api": origin, "b": origin_app(seen=seen)}) as dist, dist.client() as c:
        assert (await c.get("/x")).text == "async /x"
        assert (await c.get("/b/1")).text == "origin /b/1"
    assert [s["path"] for s in seen] == ["/b/1"] and dist.origins["b"].paths == ["/b/1"]


async def test_a_directory_origin_can_be_stubbed(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    config = {"origins": [{"id": "site", "directory": "site"}], "default_cache_behavior": {"target_origin": "site"}}
    async with Distribution(config, base_dir=tmp_path, origins={"site": {"/x": "stubbed"}}) as dist:
        assert (await dist.get("/x")).text == "stubbed"
    async with Distribution(config, base_dir=tmp_path) as dist:  # not stubbed: S3 answers 403
        assert (await dist.get("/x")).status_code == 403


async def test_bad_origins_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match=r"origins \['nope'\] are not in the config; its origins are \['api'\]"):
        await Distribution(API, origins={"nope": {}}).start()
    with pytest.raises(ConfigError, match=r"origins \['ap', 'zzz'\] are not in the config; its origins are "
                                          r"\['api'\]; did you mean 'api' for 'ap'\?$"):
        await Distribution(API, origins={"ap": {}, "zzz": {}}).start()
    with pytest.raises(TypeError, match=r"origin 'api' route '/': 42 is not a response"):
        await Distribution(API, origins={"api": {"/": 42}}).start()
    dist = Distribution(API, origins={"api": lambda request: 42})
    async with dist, dist.client() as client:
        response = await client.get("/")
    # a stub that returns nonsense is a failed origin for the viewer, never a crash
    assert response.status_code in (500, 502)


async def test_functions_appear_in_the_trace_and_the_assertions_read_them(fn_dir: Path) -> None:
    from edgesim import assertions as a

    def viewer_request(call: TriggerCall) -> TriggerResult:
        request = call.request.copy()
        request.headers.set("x-country", "FR")
        event = {"version": "1.0", "request": {"headers": {}}}
        output = {"headers": {"x-country": {"value": "FR"}}}
        return TriggerResult(request=request, logs=["set x-country"], event=event, output=output)

    fakes = {"vr": FakeFunction("vr", "cloudfront-function", viewer_request)}
    config = with_functions(fn_dir, {"viewer-request": {"cloudfront_function": str(fn_dir / "vr.js")}})
    async with Distribution(config, origins={"api": {"/": "x"}}, loader_factory=lambda: FakeLoader(fakes)) as dist:
        response = await dist.get("/")
    a.assert_ran(response, "viewer-request")
    a.assert_not_ran(response, EventType.ORIGIN_REQUEST, "viewer-response")
    a.assert_triggers(response, ["viewer-request"])
    a.assert_header_set_by(response, "X-Country", "viewer-request", "FR")
    a.assert_cache(response, "Miss")
    a.assert_origin_called(response, times=1)
    assert a.trigger_record(response, "viewer-request").logs == ["set x-country"]
    with pytest.raises(AssertionError) as failure:
        a.assert_not_ran(response, "viewer-request")
    assert "expected viewer-request not to run" in str(failure.value)
    assert "viewer-request: vr (cloudfront-function)" in str(failure.value) and "| set x-country" in str(failure.value)
    # the failure shows what the function changed in what it got
    assert '      added headers.x-country = {"value":"FR"}' in str(failure.value)
    with pytest.raises(AssertionError, match=r"expected viewer-request \(vr\) to set request header 'x-other'"):
        a.assert_header_set_by(response, "x-other", "viewer-request")
    with pytest.raises(AssertionError, match="expected X-Cache 'Hit', got 'Miss'"):
        a.assert_cache(response, "Hit")
    with pytest.raises(ValueError, match="is not a trigger point"):
        a.assert_ran(response, "viewer-requets")


async def test_header_set_by_reads_lambda_events(fn_dir: Path) -> None:
    from edgesim import assertions as a

    def origin_response(call: TriggerCall) -> TriggerResult:
        assert call.response is not None
        response = call.response.copy()
        response.headers.set("x-frame-options", "DENY")
        event = {"Records": [{"cf": {"request": {}, "response": {"headers": {}}}}]}
        output = {"status": "200", "headers": {"x-frame-options": [{"key": "X-Frame-Options", "value": "DENY"}]}}
        return TriggerResult(response=response, event=event, output=output)

    fakes = {"oresp": FakeFunction("oresp", "lambda", origin_response)}
    config = with_functions(fn_dir, {"origin-response": {"lambda": str(fn_dir / "oresp.py") + ":handler"}})
    async with Distribution(config, origins={"api": {"/": "x"}}, loader_factory=lambda: FakeLoader(fakes)) as dist:
        response = await dist.get("/")
    a.assert_header_set_by(response, "x-frame-options", "origin-response", "DENY")
    with pytest.raises(AssertionError, match=r"^expected origin-response \(oresp\) to set 'x-frame-options' to "
                                             r"'SAMEORIGIN'; it set it to 'DENY'\n"):
        a.assert_header_set_by(response, "x-frame-options", "origin-response", "SAMEORIGIN")
    with pytest.raises(AssertionError, match="origin-request did not run"):
        a.assert_header_set_by(response, "x-frame-options", "origin-request")


async def test_assert_header_says_which_function_set_changed_or_removed_it(fn_dir: Path) -> None:
    from edgesim import assertions as a

    def origin_response(call: TriggerCall) -> TriggerResult:  # Lambda@Edge shapes
        assert call.response is not None
        response = call.response.copy()
        response.headers.set("x-tag", "api")
        response.headers.set("x-powered-by", "php")
        event = {"Records": [{"cf": {"request": {}, "response": {"headers": {}}}}]}
        output = {"status": "200", "headers": {"x-tag": [{"key": "X-Tag", "value": "api"}],
                                               "x-powered-by": [{"key": "X-Powered-By", "value": "php"}]}}
        return TriggerResult(response=response, event=event, output=output)

    def viewer_response(call: TriggerCall) -> TriggerResult:  # CloudFront Functions shapes
        assert call.response is not None
        response = call.response.copy()
        response.headers.remove("x-powered-by")
        event = {"version": "1.0", "response": {"headers": {"x-tag": {"value": "api"}, "x-powered-by": {"value": "php"}}}}
        output = {"response": {"headers": {"x-tag": {"value": "api"}}}}
        return TriggerResult(response=response, event=event, output=output)

    fakes = {"oresp": FakeFunction("oresp", "lambda", origin_response),
             "vresp": FakeFunction("vresp", "cloudfront-function", viewer_response)}
    config = with_functions(fn_dir, {"origin-response": {"lambda": str(fn_dir / "oresp.py") + ":handler"},
                                     "viewer-response": {"cloudfront_function": str(fn_dir / "vresp.js")}})
    async with Distribution(config, origins={"api": {"/": (200, {"x-origin": "yes"}, "x")}},
                            loader_factory=lambda: FakeLoader(fakes)) as dist:
        response = await dist.get("/")
    a.assert_header(response, "X-Tag", "api")
    a.assert_header(response, "x-powered-by", None)
    with pytest.raises(AssertionError) as wrong:
        a.assert_header(response, "x-tag", "web")
    assert str(wrong.value).startswith("expected header x-tag: 'web', got 'api'; origin-response (oresp) set it to 'api'\n")
    assert "edgesim trace:" in str(wrong.value)
    with pytest.raises(AssertionError, match=r"^expected header x-powered-by: 'php', got absent; origin-response "
                                             r"\(oresp\) set it to 'php'; viewer-response \(vresp\) removed it\n"):
        a.assert_header(response, "x-powered-by", "php")
    with pytest.raises(AssertionError, match=r"^expected header x-origin: absent, got 'yes'; no function set, "
                                             r"changed or removed it\n"):
        a.assert_header(response, "x-origin", None)


async def test_assert_header_names_the_function_that_generated_the_response(fn_dir: Path) -> None:
    from edgesim import assertions as a
    from edgesim.messages import Headers, Response

    def viewer_request(call: TriggerCall) -> TriggerResult:
        output = {"response": {"statusCode": 401, "headers": {"www-authenticate": {"value": "ApiKey"}}}}
        return TriggerResult(response=Response(401, Headers([("www-authenticate", "ApiKey")]), b""),
                             generated=True, event={"version": "1.0", "request": {"headers": {}}}, output=output)

    fakes = {"vr": FakeFunction("vr", "cloudfront-function", viewer_request)}
    config = with_functions(fn_dir, {"viewer-request": {"cloudfront_function": str(fn_dir / "vr.js")}})
    async with Distribution(config, origins={"api": {"/": "x"}}, loader_factory=lambda: FakeLoader(fakes)) as dist:
        response = await dist.get("/")
    with pytest.raises(AssertionError, match=r"^expected header www-authenticate: 'Basic', got 'ApiKey'; "
                                             r"viewer-request \(vr\) generated the response with it 'ApiKey'\n"):
        a.assert_header(response, "www-authenticate", "Basic")
    with pytest.raises(AssertionError, match=r"^expected header x-other: 'y', got absent; viewer-request \(vr\) "
                                             r"generated the response without it\n"):
        a.assert_header(response, "x-other", "y")


async def test_manual_clock_is_the_invocation_clock(fn_dir: Path) -> None:
    fakes = {"vr": FakeFunction("vr", "cloudfront-function")}
    config = with_functions(fn_dir, {"viewer-request": {"cloudfront_function": str(fn_dir / "vr.js")}})
    clock = ManualClock(start=1_000_000.0)
    async with Distribution(config, origins={"api": {"/": "x"}}, clock=clock,
                            loader_factory=lambda: FakeLoader(fakes)) as dist:
        await dist.get("/")
        dist.advance(3600)
        await dist.get("/")
    assert [call.now for call in fakes["vr"].calls] == [1_000_000.0, 1_003_600.0]
    with pytest.raises(ValueError):
        clock.advance(-1)


async def test_kvs_is_a_private_copy_per_distribution(fn_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "flags.json"
    original = {"data": [{"key": "color", "value": "blue"}]}
    store.write_text(json.dumps(original))

    def read_store(call: TriggerCall) -> TriggerResult:
        # The fake runtime reads the store file the association names, as the real one does.
        data = json.loads(Path(str(seen_assoc["kvs"])).read_text())["data"]
        request = call.request.copy()
        request.headers.set("x-flags", ",".join(f"{d['key']}={d['value']}" for d in data))
        return TriggerResult(request=request)

    seen_assoc: dict[str, Any] = {}

    class KvsLoader(FakeLoader):
        async def load(self, assoc: Any, event_type: EventType, settings: Any) -> FakeFunction:
            seen_assoc["kvs"] = assoc.kvs
            return await super().load(assoc, event_type, settings)

    fakes = {"vr": FakeFunction("vr", "cloudfront-function", read_store)}
    config = with_functions(fn_dir, {"viewer-request": {"cloudfront_function": str(fn_dir / "vr.js"), "kvs": str(store)}})
    async with Distribution(config, origins={"api": {"/": "x"}}, loader_factory=lambda: KvsLoader(fakes)) as dist:
        assert seen_assoc["kvs"] != store
        flags = dist.store("flags")
        assert dict(flags) == {"color": "blue"}
        flags["color"] = "red"
        flags["size"] = "xl"
        await dist.get("/")
        assert dist.origins["api"].last.headers.get("x-flags") == "color=red,size=xl"
        del flags["size"]
        assert dict(dist.store()) == {"color": "red"}
        dist.reset()
        assert dict(flags) == {"color": "blue"} and dist.traces == []
    assert json.loads(store.read_text()) == original  # the user's file is untouched
    with pytest.raises(TypeError):
        flags["n"] = 1  # type: ignore[assignment]


def test_viewer_headers_name_the_profile_fields() -> None:
    assert viewer_headers(country="FR", country_region="IDF", ip="198.51.100.7") == {
        "X-Edgesim-Viewer-Country": "FR", "X-Edgesim-Viewer-Country-Region": "IDF", "X-Edgesim-Viewer-Ip": "198.51.100.7"}
    with pytest.raises(ValueError, match=r"unknown viewer field\(s\) \['contry'\]"):
        viewer_headers(contry="FR")
    with pytest.raises(ValueError, match="unknown device 'phone'"):
        viewer_headers(device="phone")
    assert "iPhone" in viewer_headers(device="mobile")["User-Agent"]


def test_sync_distribution_in_process_and_through_a_socket() -> None:
    bodies = []
    for socket in (False, True):
        with SyncDistribution(API, origins={"api": lambda r: f"{r.uri} {r.headers.get('host')}"},
                              socket=socket) as dist:
            client = dist.client(headers={"x-test": "1"})
            response = client.get("/same")
            assert trace_of(response).request_id == response.headers["x-amz-cf-id"]
            bodies.append((response.status_code, response.text))
            assert dist.distribution.url.startswith("http://127.0.0.1:") == socket
    assert bodies[0] == bodies[1] == (200, "/same api.example.com")


@pytest.mark.parametrize("socket", [False, True])
def test_sync_client_reads_a_compressed_response_once(socket: bool) -> None:
    # A gzip-encoded answer (an origin's, or a Lambda@Edge generated one with bodyEncoding base64)
    # reaches the test decoded once, its Content-Encoding kept.
    packed = gzip.compress(b"packed at the origin")
    origin = {"/": {"status": 200, "headers": {"content-encoding": "gzip", "content-type": "text/plain"}, "body": packed}}
    with SyncDistribution(API, origins={"api": origin}, socket=socket) as dist:
        response = dist.client().get("/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip" and response.content == b"packed at the origin"


async def test_async_client_of_a_sync_distribution_works_from_another_loop() -> None:
    with SyncDistribution(API, origins={"api": {"/": "x"}}) as dist:
        async with dist.async_client() as client:
            response = await client.get("/")
        assert response.text == "x" and trace_of(response).status == 200


def test_async_client_of_a_sync_distribution_works_under_trio() -> None:
    # The README offers anyio for async tests; anyio's pytest plugin also runs them under trio
    # when trio is installed, where an asyncio future cannot be awaited.
    trio = pytest.importorskip("trio")

    async def main(dist: SyncDistribution) -> httpx.Response:
        async with dist.async_client() as client:
            return await client.get("/")

    with SyncDistribution(API, origins={"api": {"/": "x"}}) as dist:
        response = trio.run(main, dist)
    assert response.text == "x" and trace_of(response).status == 200


async def test_runtime_pool_shares_cloudfront_functions_not_lambdas(fn_dir: Path) -> None:
    loads: list[str] = []
    used: list[int] = []

    class CountingLoader:
        """A fresh FakeFunction per load, so which test got which function is visible."""

        async def load(self, assoc: Any, event_type: EventType, settings: Any) -> FakeFunction:
            loads.append(assoc.name)

            def record(call: TriggerCall) -> TriggerResult:
                used.append(id(function))
                return TriggerResult(request=call.request)

            function = FakeFunction(assoc.name, assoc.kind, record)
            return function

        async def aclose(self) -> None:
            return None

    pool = RuntimePool(CountingLoader, spares=2)
    config = with_functions(fn_dir, {"viewer-request": {"cloudfront_function": str(fn_dir / "vr.js")},
                                     "origin-request": {"lambda": str(fn_dir / "oreq.py") + ":handler"}})
    for _ in range(3):
        async with Distribution(config, origins={"api": {"/": "x"}}, runtimes=pool) as dist:
            assert (await dist.get("/")).status_code == 200
    await pool.aclose()
    assert loads.count("vr") == 1  # the CloudFront Function once for all three
    # viewer-request's function is the same object each time; origin-request's never repeats
    vr_ids, oreq_ids = used[0::2], used[1::2]
    assert len(set(vr_ids)) == 1 and len(set(oreq_ids)) == 3
    assert loads.count("oreq") >= 3  # one per distribution, plus spares started in the background

    loads.clear()
    shared = RuntimePool(CountingLoader, share_lambda=True)
    for _ in range(3):
        async with Distribution(config, origins={"api": {"/": "x"}}, runtimes=shared) as dist:
            await dist.get("/")
    await shared.aclose()
    assert sorted(loads) == ["oreq", "vr"]


async def test_responses_without_trace_say_how_to_get_one() -> None:
    with pytest.raises(AssertionError, match="carries no edgesim trace"):
        trace_of(httpx.Response(200))


async def test_viewer_profile_per_request_reaches_the_origin() -> None:
    config = {**API, "default_cache_behavior": {**BEHAVIOR, "origin_request_policy": "AllViewerAndCloudFrontHeaders-2022-06"}}
    async with Distribution(config, origins={"api": {"/": "x"}}) as dist:
        async with dist.client(viewer={"country": "FR", "ip": "198.51.100.7"}) as client:
            await client.get("/")
        async with dist.client() as client:
            await client.get("/", headers=viewer_headers(country="JP", device="tablet"))
            await client.get("/")
    first, second, default = dist.origins["api"].requests
    assert second.headers.get("cloudfront-is-tablet-viewer") == "true"
    assert second.headers.get("cloudfront-is-mobile-viewer") == "false"
    assert first.headers.get("cloudfront-viewer-country") == "FR"
    assert first.headers.get("cloudfront-viewer-address", "").startswith("198.51.100.7:")
    assert second.headers.get("cloudfront-viewer-country") == "JP"
    assert default.headers.get("cloudfront-viewer-country") == dist.config.viewer.country
    assert not any(name.lower().startswith("x-edgesim") for name, _ in first.headers)  # stripped at the edge


async def test_cache_clock_and_invalidation() -> None:
    from edgesim.assertions import assert_cache

    config = {**API, "default_cache_behavior": {"target_origin": "api", "cache_policy": "CachingOptimized"}}
    routes = {"/a": (200, {"cache-control": "max-age=60"}, "a")}
    async with Distribution(config, origins={"api": routes}) as dist, dist.client() as client:
        assert_cache(await client.get("/a"), "Miss")
        assert_cache(await client.get("/a"), "Hit")
        dist.advance(30)
        assert_cache(await client.get("/a"), "Hit")
        dist.advance(31)  # past max-age: back to the origin
        assert_cache(await client.get("/a"), "Miss")
        assert dist.invalidate("/a") == 1
        assert_cache(await client.get("/a"), "Miss")
        assert dist.origins["api"].count == 3
    async with Distribution(config, origins={"api": routes}) as fresh:  # a new distribution, a cold cache
        assert_cache(await fresh.get("/a"), "Miss")


def test_v8_on_the_session_loop_and_the_main_thread_together(tmp_path: Path) -> None:
    """A warm CloudFront Function on the plugin's loop thread, then another made on the main thread
    (an async test, `edgesim test` in-process): V8 must be initialised on the main thread first,
    or py_mini_racer segfaults. Run in a child process, since a segfault would end this one."""
    import subprocess
    import sys

    from edgesim.config import default_config_path

    script = f"""
import asyncio
from edgesim.testing import Distribution
from edgesim.testing_sync import SyncDistribution

with SyncDistribution({str(default_config_path())!r}) as held:
    assert held.client().get("/docs/").status_code == 200

    async def other() -> int:
        async with Distribution({str(default_config_path())!r}) as dist:
            return (await dist.get("/docs/")).status_code

    print("main thread", asyncio.run(other()))
"""
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "main thread 200" in result.stdout


def test_the_runaway_kill_is_raised_for_tests_unless_the_config_sets_it() -> None:
    dist = Distribution(API, function_time_limit_ms=500)
    dist.prepare()
    assert dist.config.distribution.function_time_limit_ms == 500
    explicit = Distribution({**API, "distribution": {"function_time_limit_ms": 80}}, function_time_limit_ms=500)
    explicit.prepare()
    assert explicit.config.distribution.function_time_limit_ms == 80
    plain = Distribution(API)
    plain.prepare()
    assert plain.config.distribution.function_time_limit_ms == plain.source_config.distribution.function_time_limit_ms


async def test_expecting_a_hit_on_a_request_that_bypassed_the_cache_says_why_it_never_can() -> None:
    from edgesim.assertions import assert_cache

    config = {"origins": [{"id": "api", "url": "http://api.example"}],
              "default_cache_behavior": {"target_origin": "api", "cache_policy": "CachingDisabled"}}
    async with Distribution(config, origins={"api": {"/": "x"}}) as dist:
        await dist.get("/")
        response = await dist.get("/")
    with pytest.raises(AssertionError, match=r"expected X-Cache 'Hit', got 'Miss' \('Miss from cloudfront'\); "
                                             r"the request bypassed the edge cache, so it is never a Hit: "
                                             r"behavior '\*' has a cache policy with caching disabled"):
        assert_cache(response, "Hit")


def test_a_failure_shows_each_functions_changes_path_by_path() -> None:
    from edgesim.trace import Trace, TriggerTrace

    cff = TriggerTrace(EventType.VIEWER_REQUEST, "vr", "cloudfront-function",
                       event={"version": "1.0", "request": {"uri": "/hi", "headers": {"accept": {"value": "*/*"}},
                                                            "querystring": {}}},
                       output={"request": {"uri": "/hello.txt", "headers": {"x-edge": {"value": "yes"}},
                                           "querystring": {"a": {"value": "1"}}}})
    lam = TriggerTrace(EventType.ORIGIN_RESPONSE, "tag", "lambda",
                       event={"Records": [{"cf": {"request": {}, "response": {"status": "200", "headers": {}}}}]},
                       output={"status": "200", "headers": {"x-tag": [{"key": "X-Tag", "value": "v6"}]}},
                       logs=["START RequestId: 1 Version: $LATEST", "tagging", "END RequestId: 1",
                             "REPORT RequestId: 1\tDuration: 0.4 ms"])
    generated = TriggerTrace(EventType.VIEWER_REQUEST, "deny", "cloudfront-function",
                             event={"version": "1.0", "request": {"uri": "/"}},
                             output={"response": {"statusCode": 403}})
    text = Trace("id", method="GET", uri="/hi", triggers=[cff, lam]).render(details=True)
    assert text.splitlines()[2:] == [
        '      changed uri: "/hi" -> "/hello.txt"',
        '      added headers.x-edge = {"value":"yes"}',
        '      added querystring.a = {"value":"1"}',  # an empty object that gained a key
        "      removed headers.accept",
        "  origin-response: tag (lambda) 0.00 ms",
        "      | tagging",  # Lambda's START and END lines say nothing REPORT does not
        "      | REPORT RequestId: 1\tDuration: 0.4 ms",
        '      added headers.x-tag = [{"key":"X-Tag","value":"v6"}]',
    ]
    assert Trace("id", triggers=[generated]).render(details=True).splitlines()[2:] == [
        "      added statusCode = 403"]


def test_a_sync_distribution_sends_a_request_itself_as_a_distribution_does() -> None:
    # Distribution has get() / request(); `edge.get("/")` was an AttributeError on the edge fixture.
    with SyncDistribution(API, origins={"api": {"/a": "A"}}) as dist:
        first = dist.get("/a")
        second = dist.request("GET", "/a", headers={"x-test": "1"})
    assert first.text == second.text == "A"
    assert trace_of(first).request_id != trace_of(second).request_id
    assert dist.origins["api"].count == 2 and dist.origins["api"].last.headers["x-test"] == "1"


async def test_a_stub_function_that_takes_no_request_is_refused_at_start() -> None:
    from edgesim.errors import StubError

    # It was started, and every request a 500 whose reason pointed at stubs.py ("takes 0 positional arguments").
    with pytest.raises(StubError, match=r"^origin 'api': <lambda> takes 0 arguments; a stub function takes one, the "
                                        r"Request the origin got \(lambda request: \.\.\.\), an ASGI app three "
                                        r"\(scope, receive, send\)$"):
        await Distribution(API, origins={"api": lambda: "x"}).start()
    async with Distribution(API, origins={"api": lambda request, *rest: "x"}) as dist:  # *args takes it
        assert (await dist.get("/")).text == "x"


def test_a_kvs_value_that_is_no_string_is_refused_naming_it_by_item_and_by_replace(tmp_path: Path) -> None:
    from edgesim.kvs_files import KvsFile

    original = tmp_path / "flags.json"
    original.write_text(json.dumps({"data": [{"key": "color", "value": "blue"}]}))
    store = KvsFile.private_copy(original, tmp_path / "work")
    with pytest.raises(TypeError, match=r"^KeyValueStore keys and values are strings, not 5 \(an int\) for key "
                                        r"'limit'; write store\['limit'\] = '5' \(CloudFront docs: "):
        store["limit"] = 5  # type: ignore[assignment]
    # replace() wrote the int into the file, to fail later in the function's kvs.get().
    with pytest.raises(TypeError, match=r"^KeyValueStore keys and values are strings, not 5 \(an int\) for key 'limit'"):
        store.replace({"color": "red", "limit": 5})  # type: ignore[dict-item]
    assert dict(store) == {"color": "blue"}
    # A key that is not there names the store's keys.
    with pytest.raises(KeyError, match=r"no key 'colour' in KeyValueStore flags \(keys: \['color'\]\)"):
        store["colour"]


KVS_FN = """import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
    const request = event.request;
    request.headers['x-flag'] = { value: await kvs.get('flag') };
    return request;
}
"""
ORIGIN_REQUEST_PY = """def handler(event, context):
    request = event['Records'][0]['cf']['request']
    request['headers']['x-limit'] = [{'key': 'X-Limit', 'value': str(context.get_remaining_time_in_millis() > 5000)}]
    return request
"""


async def test_run_function_runs_the_configured_function_for_a_trigger_and_path(tmp_path: Path) -> None:
    from edgesim.direct import cloudfront_function_event, lambda_event

    (tmp_path / "flag.js").write_text(KVS_FN)
    (tmp_path / "store.json").write_text(json.dumps({"data": [{"key": "flag", "value": "on"}]}))
    (tmp_path / "auth.py").write_text(ORIGIN_REQUEST_PY)
    config = {**API, "default_cache_behavior": {**BEHAVIOR, "functions": {
        "viewer-request": {"cloudfront_function": "flag.js", "kvs": "store.json"}}},
        "cache_behaviors": [{**BEHAVIOR, "path_pattern": "/api/*", "functions": {
            "origin-request": {"lambda": "auth.py:handler", "timeout": 2}}}]}
    async with Distribution(config, base_dir=tmp_path, origins={"api": {"/": "x"}}) as dist:
        cff = await dist.run_function("viewer-request", cloudfront_function_event(uri="/x"))
        assert cff.output["request"]["headers"]["x-flag"] == {"value": "on"}
        dist.store()["flag"] = "off"  # this test's copy of the store, as requests see it
        cff = await dist.run_function("viewer-request", cloudfront_function_event(uri="/x"))
        assert cff.output["request"]["headers"]["x-flag"] == {"value": "off"}
        # /api/x picks the /api/* behavior: its handler, with the association's 2 s timeout (not 30 s).
        lam = await dist.run_function("origin-request", lambda_event("origin-request", uri="/api/x"), path="/api/x")
        assert lam.ok and lam.result["headers"]["x-limit"] == [{"key": "X-Limit", "value": "False"}]
        with pytest.raises(LookupError, match=r"the behavior '\*' \(for /x\) has no function at origin-request; "
                                              r"its functions are at: \['viewer-request'\]"):
            await dist.run_function("origin-request", lambda_event("origin-request"), path="/x")


def test_run_function_from_a_sync_test(tmp_path: Path) -> None:
    from edgesim.direct import cloudfront_function_event

    (tmp_path / "flag.js").write_text(KVS_FN)
    (tmp_path / "store.json").write_text(json.dumps({"data": [{"key": "flag", "value": "on"}]}))
    config = {**API, "default_cache_behavior": {**BEHAVIOR, "functions": {
        "viewer-request": {"cloudfront_function": "flag.js", "kvs": "store.json"}}}}
    with SyncDistribution(config, base_dir=tmp_path, origins={"api": {"/": "x"}}) as dist:
        result = dist.run_function("viewer-request", cloudfront_function_event(uri="/x"))
    assert result.output["request"]["headers"]["x-flag"] == {"value": "on"}
