"""Invocations that queue while a function's isolate is busy run several to a trip into V8
(isolate.py _many, prelude.js __cf.batch). Each must behave exactly as if it ran alone: its own
answer, logs and fresh globals, and a failure, runaway or memory hog that hurts only itself.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from cff_support import call, load, request  # noqa: F401
from edgesim.errors import FunctionExecutionError

ECHO_N = """var seen = 0;
function handler(e) {
    seen += 1;                      // a fresh top level per invocation: always 1
    globalThis.leak = (globalThis.leak || 0) + 1;  // so are globals: always 1
    var n = e.request.headers['x-n'].value;
    console.log('n=' + n);
    %s
    e.request.headers['x-out'] = {value: JSON.stringify({n: n, seen: seen, leak: globalThis.leak})};
    return e.request;
}"""


def _n_call(n: int) -> Any:
    return call(request(headers=[("Host", "d.example"), ("X-N", str(n))]))


async def _all(fn: Any, count: int) -> list[Any]:
    return await _all_from(fn, 0, count)


async def _all_from(fn: Any, start: int, stop: int) -> list[Any]:
    return await asyncio.gather(*(fn.invoke(_n_call(i)) for i in range(start, stop)), return_exceptions=True)


def _count_trips(fn: Any) -> list[int]:
    """How many trips into V8 the function's isolate makes from now on, and how many batches."""
    v8 = fn._isolate._v8
    counts = [0, 0]
    run = v8.run

    async def counted(function: Any, limit_s: float, this: bytes | None = None) -> Any:
        counts[0] += 1
        counts[1] += this is not None and this.startswith(b"[[")
        return await run(function, limit_s, this)

    v8.run = counted
    return counts


async def test_concurrent_invocations_share_trips_but_not_state(load) -> None:  # noqa: F811
    fn = await load(ECHO_N % "")
    trips = _count_trips(fn)
    results = await _all(fn, 40)
    for i, result in enumerate(results):
        assert json.loads(result.request.headers.get("X-Out")) == {"n": str(i), "seen": 1, "leak": 1}
        assert result.logs == [f"n={i}"]
        assert 0 <= result.compute_utilization <= 100
    assert trips[1] >= 1 and trips[0] < 40  # batches happened: fewer trips than invocations


async def test_a_throw_in_a_batch_fails_only_its_own_invocation(load) -> None:  # noqa: F811
    fn = await load(ECHO_N % "if (n === '7') throw new RangeError('seven');")
    results = await _all(fn, 20)
    for i, result in enumerate(results):
        if i == 7:
            assert isinstance(result, FunctionExecutionError) and "RangeError: seven" in str(result)
        else:
            assert json.loads(result.request.headers.get("X-Out"))["n"] == str(i)


async def test_a_runaway_in_a_batch_is_stopped_alone(load) -> None:  # noqa: F811
    fn = await load(ECHO_N % "if (n === '5') while (true) {}", function_time_limit_ms=30)
    trips = _count_trips(fn)
    results = await _all(fn, 12)
    for i, result in enumerate(results):
        if i == 5:
            assert isinstance(result, FunctionExecutionError) and "ran longer than 30 ms" in str(result)
            assert result.logs == ["n=5"]
        else:
            assert json.loads(result.request.headers.get("X-Out"))["n"] == str(i)
    assert trips[1] >= 1
    later = await fn.invoke(_n_call(99))  # and the isolate serves on
    assert json.loads(later.request.headers.get("X-Out"))["n"] == "99"


async def test_a_memory_hog_in_a_batch_fails_alone(load) -> None:  # noqa: F811
    # Big allocations, so the 2 MB limit comes within a few steps, long before the time limit even
    # when a loaded machine starves V8's garbage collector (small ones then hit the time limit first).
    fn = await load(ECHO_N % "if (n === '3') { var a = []; while (true) a.push(new Array(20000).fill(n.length + 0.5)); }")
    results = await _all(fn, 10)
    for i, result in enumerate(results):
        if i == 3:
            assert isinstance(result, FunctionExecutionError) and "function memory" in str(result)
        else:
            assert json.loads(result.request.headers.get("X-Out"))["n"] == str(i)


@pytest.mark.parametrize("body, settles", [("return e.request;", True), ("return new Promise(function () {});", False)])
async def test_async_handlers_in_a_batch(load, body: str, settles: bool) -> None:  # noqa: F811
    fn = await load(f"""async function handler(e) {{
        if (e.request.headers['x-n'].value === '4') {{ {body} }}
        e.request.headers['x-out'] = {{value: e.request.headers['x-n'].value}};
        return e.request;
    }}""")
    results = await _all(fn, 10)
    for i, result in enumerate(results):
        if i == 4 and not settles:
            assert isinstance(result, FunctionExecutionError) and "never settles" in str(result)
        elif i == 4:
            assert result.request.headers.get("X-Out") is None
        else:
            assert result.request.headers.get("X-Out") == str(i)


async def test_unloading_ends_queued_invocations(load) -> None:  # noqa: F811
    fn = await load(ECHO_N % "var t = Date.now(); while (Date.now() - t < 20) {}")
    pending = asyncio.gather(*(fn.invoke(_n_call(i)) for i in range(6)), return_exceptions=True)
    await asyncio.sleep(0.005)
    await fn.aclose()
    results = await asyncio.wait_for(pending, 10)
    assert all(isinstance(r, Exception) for r in results[1:])  # none left waiting


async def test_after_a_runaway_queued_invocations_run_alone(load) -> None:  # noqa: F811
    """Once V8 stopped a run at a limit, what queues runs one invocation per trip for a while, so a
    function that keeps running away costs one limit per runaway, never one per batch and again alone."""
    fn = await load(ECHO_N % "if (n === '0') while (true) {}", function_time_limit_ms=30)
    trips = _count_trips(fn)
    first = asyncio.ensure_future(fn.invoke(_n_call(0)))
    await asyncio.sleep(0.005)  # the first is in V8 alone, running away, while the other eleven queue
    rest = await _all_from(fn, 1, 12)
    results = [*(await asyncio.gather(first, return_exceptions=True)), *rest]
    assert isinstance(results[0], FunctionExecutionError) and "ran longer than 30 ms" in str(results[0])
    assert [json.loads(r.request.headers.get("X-Out"))["n"] for r in results[1:]] == [str(i) for i in range(1, 12)]
    assert trips[1] == 0  # no batch: each of the eleven had a trip of its own


async def test_invocations_of_one_loop_turn_share_a_trip(load) -> None:  # noqa: F811
    """The trip into V8 waits for the end of the event loop's turn, so invocations that arrive
    together (several requests read in one turn) go in one trip, not the first alone and the rest after."""
    fn = await load(ECHO_N % "")
    trips = _count_trips(fn)
    results = await _all(fn, 5)
    assert [json.loads(r.request.headers.get("X-Out"))["n"] for r in results] == [str(i) for i in range(5)]
    assert trips == [1, 1]
