"""How a request reaches the warm isolate and comes back (isolate.py and v8.py).

The event travels as JSON text (the `this` of prelude.js __cf.call), and V8's answer is
waited for on the event loop; time is V8's thread's CPU time.
These pin what a user can observe of that: every event arrives whole, and the time limit stops
runaway code only.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from cff_support import RUNTIMES, call, load, request  # noqa: F401
from edgesim.errors import FunctionExecutionError

ECHO = """function handler(e) {
    var r = e.request;
    r.headers['x-seen'] = {value: JSON.stringify({uri: r.uri, h: r.headers['x-text'] ? r.headers['x-text'].value : null,
                                                  n: Object.keys(r.headers).length, proto: Object.prototype.hasOwnProperty.call(r.headers, '__proto__') ? r.headers['__proto__'].value : null})};
    return r;
}"""


def _seen(result) -> dict:  # type: ignore[no-untyped-def]
    assert result.request is not None
    return json.loads(result.request.headers.get("X-Seen"))


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_non_ascii_event_arrives_whole(load, runtime: str) -> None:  # noqa: F811
    fn = await load(ECHO, runtime=runtime)
    text = "héllo wörld ✓ 𝄞 \u2028 \"quoted\" \\ end"
    req = request("/caf%C3%A9", headers=[("Host", "d.example"), ("X-Text", text)])
    seen = _seen(await fn.invoke(call(req)))
    assert seen == {"uri": "/caf%C3%A9", "h": text, "n": 2, "proto": None}


async def test_event_larger_than_the_buffer(load) -> None:  # noqa: F811
    """An event of hundreds of KB arrives whole, between small ones (there was a 64 KB buffer once)."""
    fn = await load(ECHO)
    big = [(f"X-Big-{i}", "v" * 1000) for i in range(150)]  # about 150 KB of headers
    bigger = [(f"X-Bigger-{i}", "w" * 1000) for i in range(400)]
    for extra in ([], big, [], bigger, big):
        req = request(headers=[("Host", "d.example"), ("X-Text", "é" * 10), *extra])
        seen = _seen(await fn.invoke(call(req)))
        assert seen["n"] == 2 + len(extra) and seen["h"] == "é" * 10


async def test_proto_header_is_an_ordinary_property(load) -> None:  # noqa: F811
    fn = await load(ECHO)
    seen = _seen(await fn.invoke(call(request(headers=[("Host", "d.example"), ("__proto__", "x")]))))
    assert seen["proto"] == "x" and seen["n"] == 2


async def test_finished_function_is_not_stopped_when_the_event_loop_is_late(load) -> None:  # noqa: F811
    """A function that finished in time keeps its result even if the loop only looks after the limit."""
    fn = await load("""function handler(e) {
        var x = 0; for (var i = 0; i < 2e6; i++) { x += i % 7; }  // a few ms: answered on the loop
        e.request.headers['x-sum'] = {value: String(x)}; return e.request;
    }""", function_time_limit_ms=20)

    async def hog() -> None:
        await asyncio.sleep(0)
        time.sleep(0.2)  # the event loop is stuck well past the time limit

    for _ in range(3):
        hogging = asyncio.create_task(hog())
        result = await fn.invoke(call())
        await hogging
        assert result.request is not None and result.request.headers.get("X-Sum") is not None


async def test_runaway_loop_is_stopped_by_cpu_time(load) -> None:  # noqa: F811
    fn = await load("async function handler(e) { while (true) {} }", function_time_limit_ms=50)
    started = time.perf_counter()
    with pytest.raises(FunctionExecutionError, match="ran longer than 50 ms"):
        await fn.invoke(call())
    assert time.perf_counter() - started < 5  # stopped, not left to the wall-clock backstop


async def test_quick_function_reports_a_small_duration(load) -> None:  # noqa: F811
    fn = await load("function handler(e) { return e.request; }")
    result = await fn.invoke(call())
    for _ in range(20):
        result = await fn.invoke(call())
    assert 0 <= result.duration_ms < 20
    assert 0 <= result.compute_utilization <= 100
