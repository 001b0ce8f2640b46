"""The pipeline's order and every skip rule (spec §3.1), with a fake runtime at the seam."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from conftest import FakeFunction, build_config, origin_app, response_of
from edgesim.messages import EventType, Headers, Response
from edgesim.runtime import TriggerCall, TriggerResult

ORIGIN_URL = "http://app.internal:3000"


def config_data(fn_dir: Path, functions: dict[str, dict[str, Any]], **behavior: Any) -> dict[str, Any]:
    return {
        "origins": [{"id": "app", "url": ORIGIN_URL}, {"id": "other", "url": "http://other.internal"}],
        "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled",
                                   "functions": functions, **behavior},
    }


def lam(name: str, **extra: Any) -> dict[str, Any]:
    return {"lambda": f"fns/{name}.py:handler", **extra}


def cff(name: str) -> dict[str, Any]:
    return {"cloudfront_function": f"fns/{name}.js"}


ALL_LAMBDA = {"viewer-request": lam("vr"), "origin-request": lam("oreq"),
              "origin-response": lam("oresp"), "viewer-response": lam("vresp")}


async def make(harness_factory: Any, fn_dir: Path, functions: dict[str, Any], routes: Any = None,
               seen: list[Any] | None = None, fakes: dict[str, FakeFunction] | None = None, **behavior: Any) -> Any:
    config = build_config(config_data(fn_dir, functions, **behavior), fn_dir.parent)
    transports = {"app": httpx.ASGITransport(app=origin_app(routes, seen)),
                  "other": httpx.ASGITransport(app=origin_app({"/": (200, {}, b"other origin")}))}
    return await harness_factory(config, transports, fakes)


async def test_all_four_triggers_run_in_cloudfronts_order(harness_factory: Any, fn_dir: Path) -> None:
    order: list[str] = []

    def record(event: str) -> Any:
        def behaviour(call: TriggerCall) -> TriggerResult:
            order.append(event)
            if call.event_type.is_request:
                return TriggerResult(request=call.request)
            return TriggerResult(response=call.response)
        return behaviour

    fakes = {n: FakeFunction(n, "lambda", record(n)) for n in ("vr", "oreq", "oresp", "vresp")}
    h = await make(harness_factory, fn_dir, ALL_LAMBDA, fakes=fakes)
    r = await h.client.get("/page")
    assert r.status_code == 200
    assert r.text == "origin /page"
    assert order == ["vr", "oreq", "oresp", "vresp"]
    assert r.headers["x-cache"] == "Miss from cloudfront"


async def test_viewer_request_generated_response_skips_everything_else(harness_factory: Any, fn_dir: Path) -> None:
    def generate(call: TriggerCall) -> TriggerResult:
        return TriggerResult(response=Response(302, Headers([("Location", "/elsewhere")]), b""), generated=True)

    seen: list[Any] = []
    fakes = {"vr": FakeFunction("vr", "lambda", generate)}
    h = await make(harness_factory, fn_dir, ALL_LAMBDA, seen=seen, fakes=fakes)
    r = await h.client.get("/x")
    assert r.status_code == 302
    assert r.headers["location"] == "/elsewhere"
    assert r.headers["x-cache"] == "LambdaGeneratedResponse from cloudfront"
    assert r.headers["server"] == "CloudFront"
    assert seen == []
    for name in ("oreq", "oresp", "vresp"):
        assert h.functions[name].calls == []


async def test_cff_generated_response_is_named_function_generated(harness_factory: Any, fn_dir: Path) -> None:
    fakes = {"vr": FakeFunction("vr", "cloudfront-function",
                                lambda call: TriggerResult(response=response_of(403, b"no"), generated=True))}
    h = await make(harness_factory, fn_dir, {"viewer-request": cff("vr")}, fakes=fakes)
    r = await h.client.get("/x")
    assert (r.status_code, r.text) == (403, "no")
    assert r.headers["x-cache"] == "FunctionGeneratedResponse from cloudfront"


async def test_origin_request_generated_response_skips_origin_and_origin_response(harness_factory: Any, fn_dir: Path) -> None:
    seen: list[Any] = []
    fakes = {"oreq": FakeFunction("oreq", "lambda",
                                  lambda call: TriggerResult(response=response_of(200, b"from oreq"), generated=True))}
    h = await make(harness_factory, fn_dir, ALL_LAMBDA, seen=seen, fakes=fakes)
    r = await h.client.get("/x")
    assert r.text == "from oreq"
    assert r.headers["x-cache"] == "LambdaGeneratedResponse from cloudfront"
    assert r.headers["server"] == "CloudFront"  # CloudFront answered it, as at viewer-request
    assert seen == []
    assert h.functions["oresp"].calls == []
    assert len(h.functions["vresp"].calls) == 1  # viewer-response still runs


async def test_viewer_response_skipped_when_origin_status_is_400_or_more(harness_factory: Any, fn_dir: Path) -> None:
    routes = {"/missing": (404, {}, b"nope"), "/ok": (200, {}, b"fine"), "/moved": (301, {"location": "/ok"}, b"")}
    h = await make(harness_factory, fn_dir, ALL_LAMBDA, routes=routes)
    r = await h.client.get("/missing")
    assert r.status_code == 404
    assert r.headers["x-cache"] == "Error from cloudfront"
    assert len(h.functions["oresp"].calls) == 1  # origin-response runs for every status
    assert h.functions["vresp"].calls == []
    await h.client.get("/moved")
    assert len(h.functions["vresp"].calls) == 1


async def test_viewer_response_skip_uses_origin_status_not_the_edited_one(harness_factory: Any, fn_dir: Path) -> None:
    def fix(call: TriggerCall) -> TriggerResult:
        assert call.response is not None
        return TriggerResult(response=response_of(200, b"fixed by origin-response"))

    fakes = {"oresp": FakeFunction("oresp", "lambda", fix)}
    h = await make(harness_factory, fn_dir, ALL_LAMBDA, routes={"/x": (500, {}, b"boom")}, fakes=fakes)
    r = await h.client.get("/x")
    assert (r.status_code, r.text) == (200, "fixed by origin-response")
    assert h.functions["vresp"].calls == []


async def test_changed_uri_does_not_reselect_behavior_or_origin(harness_factory: Any, fn_dir: Path) -> None:
    def rewrite(call: TriggerCall) -> TriggerResult:
        call.request.uri = "/other/index.html"
        return TriggerResult(request=call.request)

    seen: list[Any] = []
    data = config_data(fn_dir, {"viewer-request": lam("vr")})
    data["cache_behaviors"] = [{"path_pattern": "/other/*", "target_origin": "other", "cache_policy": "CachingDisabled"}]
    config = build_config(data, fn_dir.parent)
    fakes = {"vr": FakeFunction("vr", "lambda", rewrite)}
    h = await harness_factory(config, {"app": httpx.ASGITransport(app=origin_app(None, seen)),
                                       "other": httpx.ASGITransport(app=origin_app(None))}, fakes)
    r = await h.client.get("/start")
    assert r.text == "origin /other/index.html"
    assert seen[0]["path"] == "/other/index.html"  # went to app, the behavior's origin


async def test_function_can_switch_origin(harness_factory: Any, fn_dir: Path) -> None:
    def switch(call: TriggerCall) -> TriggerResult:
        call.request.origin = call.origins["other"]  # type: ignore[assignment]
        return TriggerResult(request=call.request)

    fakes = {"oreq": FakeFunction("oreq", "lambda", switch)}
    h = await make(harness_factory, fn_dir, {"origin-request": lam("oreq")}, fakes=fakes)
    r = await h.client.get("/")
    assert r.text == "other origin"


async def test_origin_request_sees_the_request_cloudfront_sends(harness_factory: Any, fn_dir: Path) -> None:
    h = await make(harness_factory, fn_dir, {"origin-request": lam("oreq"), "viewer-request": lam("vr")},
                   origin_request_policy="AllViewerExceptHostHeader")
    await h.client.get("/p?a=1", headers={"x-custom": "v"})
    viewer = h.functions["vr"].calls[0].request
    origin = h.functions["oreq"].calls[0].request
    assert viewer.headers.get("host") == "d111111abcdef8.cloudfront.net"
    assert origin.headers.get("host") == "app.internal:3000"
    assert origin.headers.get("via", "").endswith(".cloudfront.net (CloudFront)")
    assert origin.headers.get("x-forwarded-for") == "127.0.0.1"
    assert origin.headers.get("x-custom") == "v"
    assert origin.querystring == "a=1"


async def test_function_errors_become_cloudfront_error_pages(harness_factory: Any, fn_dir: Path) -> None:
    from edgesim.errors import LambdaExecutionError

    def boom(call: TriggerCall) -> TriggerResult:
        raise LambdaExecutionError("handler threw TypeError", logs=["line 1"])

    fakes = {"oreq": FakeFunction("oreq", "lambda", boom)}
    h = await make(harness_factory, fn_dir, {"origin-request": lam("oreq")}, fakes=fakes)
    r = await h.client.get("/x")
    assert r.status_code == 503
    assert r.headers["x-cache"] == "LambdaExecutionError from cloudfront"
    assert "503 ERROR" in r.text and r.headers["x-amz-cf-id"] in r.text
    assert r.headers["server"] == "CloudFront"


async def test_edgesim_bug_still_answers(harness_factory: Any, fn_dir: Path) -> None:
    def bug(call: TriggerCall) -> TriggerResult:
        raise KeyError("oops")

    fakes = {"vr": FakeFunction("vr", "lambda", bug)}
    h = await make(harness_factory, fn_dir, {"viewer-request": lam("vr")}, fakes=fakes)
    r = await h.client.get("/x")
    assert r.status_code == 500
    r = await h.client.get("/x")
    assert r.status_code == 500  # and the next request is still answered


async def test_cloudfront_headers_on_every_response(harness_factory: Any, fn_dir: Path) -> None:
    h = await make(harness_factory, fn_dir, {})
    r1 = await h.client.get("/a")
    r2 = await h.client.get("/a")
    assert r1.headers["via"].startswith("1.1 ") and r1.headers["via"].endswith(".cloudfront.net (CloudFront)")
    assert r1.headers["x-amz-cf-pop"]
    assert len(r1.headers["x-amz-cf-id"]) == 56 and r1.headers["x-amz-cf-id"].endswith("==")
    assert r1.headers["x-amz-cf-id"] != r2.headers["x-amz-cf-id"]


async def test_request_id_is_the_events_request_id(harness_factory: Any, fn_dir: Path) -> None:
    h = await make(harness_factory, fn_dir, {"viewer-request": lam("vr")})
    r = await h.client.get("/a")
    assert h.functions["vr"].calls[0].request_id == r.headers["x-amz-cf-id"]


async def test_method_not_allowed_gets_403(harness_factory: Any, fn_dir: Path) -> None:
    h = await make(harness_factory, fn_dir, {"viewer-request": lam("vr")})
    r = await h.client.post("/a", content=b"x")
    assert r.status_code == 403
    assert h.functions["vr"].calls == []


async def test_post_reaches_origin_with_body_when_allowed(harness_factory: Any, fn_dir: Path) -> None:
    seen: list[Any] = []
    h = await make(harness_factory, fn_dir, {}, seen=seen,
                   allowed_methods=["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"])
    r = await h.client.post("/form", content=b"a=1")
    assert r.status_code == 200
    assert seen[0]["method"] == "POST" and seen[0]["body"] == b"a=1"


async def test_head_has_no_body(harness_factory: Any, fn_dir: Path) -> None:
    h = await make(harness_factory, fn_dir, {})
    r = await h.client.head("/a")
    assert r.status_code == 200 and r.content == b""


async def test_uri_too_long_and_headers_too_large(harness_factory: Any, fn_dir: Path) -> None:
    h = await make(harness_factory, fn_dir, {"viewer-request": lam("vr")})
    r = await h.client.get("/" + "a" * 8200)
    assert r.status_code == 414
    r = await h.client.get("/ok", headers={"x-big": "b" * 21000})
    assert r.status_code == 494
    assert h.functions["vr"].calls == []
    r = await h.client.get("/" + "a" * 8000)
    assert r.status_code == 200


async def test_viewer_protocol_policy_enforced_or_noted(harness_factory: Any, fn_dir: Path) -> None:
    data = config_data(fn_dir, {"viewer-request": lam("vr")}, viewer_protocol_policy="redirect-to-https")
    h = await harness_factory(build_config(data, fn_dir.parent), {"app": httpx.ASGITransport(app=origin_app())})
    r = await h.client.get("/a?b=1")
    assert r.status_code == 200  # local http treated as https by default
    response, trace = await h.simulator.handle(_viewer_get("/a"))
    assert any("redirect-to-https" in note for note in trace.notes)

    data["distribution"] = {"enforce_viewer_protocol_policy": True}
    h2 = await harness_factory(build_config(data, fn_dir.parent), {"app": httpx.ASGITransport(app=origin_app())})
    r = await h2.client.get("/a?b=1")
    assert r.status_code == 301
    assert r.headers["location"] == "https://d111111abcdef8.cloudfront.net/a?b=1"
    assert h2.functions["vr"].calls == []  # no function runs for the automatic redirect

    data["default_cache_behavior"]["viewer_protocol_policy"] = "https-only"
    h3 = await harness_factory(build_config(data, fn_dir.parent), {"app": httpx.ASGITransport(app=origin_app())})
    assert (await h3.client.get("/a")).status_code == 403


def _viewer_get(uri: str) -> Any:
    from edgesim.messages import Request

    return Request("GET", uri, headers=Headers([("Host", "d111111abcdef8.cloudfront.net")]))
