"""The simulator: reload swaps configs without dropping requests; load failures answer 503;
the request log renders a trace as one line (or JSON)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from conftest import FakeFunction, build_config, origin_app
from edgesim.errors import FunctionCodeError
from edgesim.messages import EventType
from edgesim.request_log import json_line, text_line
from edgesim.runtime import TriggerCall, TriggerResult
from edgesim.simulator import Simulator


def data(fn_dir: Path, **functions: Any) -> dict[str, Any]:
    return {"origins": [{"id": "app", "url": "http://app.internal"}],
            "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled",
                                       "functions": functions}}


async def test_reload_lets_running_requests_finish_on_the_old_version(harness_factory: Any, fn_dir: Path) -> None:
    gate = asyncio.Event()

    async def slow(call: TriggerCall) -> TriggerResult:
        await gate.wait()
        return TriggerResult(request=call.request)

    fakes = {"vr": FakeFunction("vr", "lambda", slow)}
    closed: list[str] = []

    async def aclose() -> None:
        closed.append("vr")

    fakes["vr"].aclose = aclose  # type: ignore[method-assign]
    config = build_config(data(fn_dir, **{"viewer-request": {"lambda": "fns/vr.py:handler"}}), fn_dir.parent)
    h = await harness_factory(config, {"app": httpx.ASGITransport(app=origin_app())}, fakes)
    pending = asyncio.create_task(h.client.get("/slow"))
    await asyncio.sleep(0.05)
    await h.simulator.reload(build_config(data(fn_dir), fn_dir.parent))
    await asyncio.sleep(0.05)
    assert closed == []  # the old version is still serving /slow
    assert (await h.client.get("/fast")).status_code == 200  # the new version has no function
    gate.set()
    assert (await pending).status_code == 200
    await asyncio.sleep(0.1)
    assert closed == ["vr"]


async def test_a_function_that_fails_to_load_answers_503_and_says_why(fn_dir: Path) -> None:
    class FailingLoader:
        async def load(self, assoc: Any, event_type: EventType, settings: Any) -> Any:
            raise FunctionCodeError("SyntaxError: Unexpected token", file=str(assoc.cloudfront_function), line=3)

        async def aclose(self) -> None:
            return None

    config = build_config(data(fn_dir, **{"viewer-request": {"cloudfront_function": "fns/vr.js"}}), fn_dir.parent)
    async with Simulator(config, loader_factory=FailingLoader,
                         transports={"app": httpx.ASGITransport(app=origin_app())}) as sim:
        assert sim.load_problems and "vr.js:3: SyntaxError" in sim.load_problems[0]
        from edgesim.messages import Request

        response, trace = await sim.handle(Request("GET", "/"))
        assert response.status == 503
        assert response.headers.get("x-cache") == "FunctionExecutionError from cloudfront"
        assert trace.error and "could not load" in trace.error


async def test_request_log_line_and_json(harness_factory: Any, fn_dir: Path) -> None:
    def logs(call: TriggerCall) -> TriggerResult:
        return TriggerResult(request=call.request, logs=["hello from vr"], compute_utilization=12)

    fakes = {"vr": FakeFunction("vr", "cloudfront-function", logs)}
    config = build_config(data(fn_dir, **{"viewer-request": {"cloudfront_function": "fns/vr.js"}}), fn_dir.parent)
    h = await harness_factory(config, {"app": httpx.ASGITransport(app=origin_app())}, fakes)
    from edgesim.messages import Headers, Request

    _, trace = await h.simulator.handle(Request("GET", "/x", "a=1", Headers([("Host", "h")])))
    line = text_line(trace)
    assert line.splitlines()[0].startswith("GET /x?a=1 [*] viewer-request:vr ")
    assert "cu=12" in line and "origin=200" in line and "-> 200 (Miss from cloudfront)" in line
    assert "    viewer-request | hello from vr" in line.splitlines()
    record = json.loads(json_line(trace))
    assert record["triggers"][0]["logs"] == ["hello from vr"]
    assert record["status"] == 200 and record["originStatus"] == 200


def test_printer_says_a_standing_note_once() -> None:
    import io

    from edgesim.request_log import printer
    from edgesim.trace import Trace

    out = io.StringIO()
    write = printer("text", out)
    for _ in range(3):
        write(Trace("id", method="GET", uri="/", behavior="*", status=200, x_cache="Miss from cloudfront",
                    notes=["redirect-to-https: plain http treated as https locally"]))
    assert out.getvalue().count("note: redirect-to-https") == 1
    assert out.getvalue().count("GET / [*]") == 3


def test_text_log_leaves_out_lambdas_start_end_report_unless_it_failed() -> None:
    from edgesim.messages import EventType
    from edgesim.trace import Trace, TriggerTrace

    frame = ["START RequestId: r1 Version: 1", "2026-11-29T00:00:00.000Z\tr1\tINFO\thello", "END RequestId: r1",
             "REPORT RequestId: r1\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB"]
    ok = TriggerTrace(EventType.ORIGIN_RESPONSE, "headers", "lambda", logs=list(frame))
    failed = TriggerTrace(EventType.ORIGIN_REQUEST, "slow", "lambda", logs=list(frame), error="LambdaLimitExceeded: timed out")
    trace = Trace("id", method="GET", uri="/", behavior="*", status=200, x_cache="Miss from cloudfront", triggers=[ok])
    text = text_line(trace)
    assert "origin-response | 2026-11-29T00:00:00.000Z\tr1\tINFO\thello" in text
    assert "START RequestId" not in text and "REPORT RequestId" not in text
    assert json.loads(json_line(trace))["triggers"][0]["logs"] == frame  # JSON keeps every line
    trace.triggers = [failed]
    assert "origin-request | REPORT RequestId: r1" in text_line(trace)
