"""The V8 context's task channel (v8.py), through both ways an answer comes back: libc's
eventfd_write called by V8's thread itself (Linux) and mini-racer's Python callback (elsewhere).

One task runs at a time and every answer must reach the task it belongs to, including after a
task was stopped by the time limit or left by its caller: those still answer, late.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import pytest

from edgesim.cloudfront_functions import v8 as v8_module
from edgesim.cloudfront_functions.v8 import V8, JSEvalException

NATIVE = v8_module._NATIVE is not None  # Linux, 64-bit, EDGESIM_V8_CALLBACK unset
MODES = [pytest.param(True, id="eventfd", marks=pytest.mark.skipif(not NATIVE, reason="no eventfd_write callback here")),
         pytest.param(False, id="python-callback")]


@pytest.fixture(params=MODES)
async def v8(request: pytest.FixtureRequest) -> AsyncIterator[V8]:
    context = V8(asyncio.get_running_loop(), native=request.param)
    await context.eval("var echo = function () { return 'got ' + this; };"
                       "var spin = function () { var t = Date.now(); while (Date.now() - t < +this) {} return 'spun ' + this; };"
                       "var forever = function () { while (true) {} };")
    yield context
    context.close()


async def test_each_call_gets_its_own_answer(v8: V8) -> None:
    echo = await v8.function("echo")
    for i in range(200):
        value, cpu = await v8.run(echo, 1.0, f"call {i} é".encode())
        assert value == f"got call {i} é" and cpu >= 0


async def test_concurrent_callers_take_turns(v8: V8) -> None:
    echo, spin = await v8.function("echo"), await v8.function("spin")
    calls = [v8.run(spin if i % 5 == 0 else echo, 1.0, str(i % 3 if i % 5 == 0 else i).encode()) for i in range(60)]
    answers = [value for value, _ in await asyncio.gather(*calls)]
    assert answers == [f"spun {i % 3}" if i % 5 == 0 else f"got {i}" for i in range(60)]


async def test_a_runaway_is_stopped_and_the_next_call_is_answered(v8: V8) -> None:
    forever, echo = await v8.function("forever"), await v8.function("echo")
    value, cpu = await v8.run(forever, 0.05)
    assert value is V8.TIMED_OUT and cpu >= 0.05
    assert (await v8.run(echo, 1.0, b"after"))[0] == "got after"


async def test_a_left_call_does_not_answer_the_next_one(v8: V8) -> None:
    spin, echo = await v8.function("spin"), await v8.function("echo")
    left = asyncio.create_task(v8.run(spin, 5.0, b"200"))
    await asyncio.sleep(0.02)
    left.cancel()
    with pytest.raises(asyncio.CancelledError):
        await left
    assert (await v8.run(echo, 1.0, b"next"))[0] == "got next"


async def test_what_javascript_throws_is_raised(v8: V8) -> None:
    thrower = await v8.function("(function () { throw new TypeError('nope'); })")
    with pytest.raises(JSEvalException, match="nope"):
        await v8.run(thrower, 1.0)
    assert (await v8.run(await v8.function("echo"), 1.0, b"x"))[0] == "got x"


async def test_the_memory_limit_stops_a_script(v8: V8) -> None:
    v8.set_hard_memory_limit(v8.heap_used() + 2 * 1024 * 1024)
    grow = await v8.function("(function () { var a = []; while (true) a.push('x' + Math.random()); })")
    with pytest.raises(JSEvalException):
        await v8.run(grow, 5.0)
    assert v8.was_hard_memory_limit_reached()


async def test_closing_with_a_call_running_ends_it_and_frees_its_descriptors() -> None:
    before = len(os.listdir("/proc/self/fd")) if sys.platform == "linux" else 0
    for native in ([True, False] if NATIVE else [False]):
        context = V8(asyncio.get_running_loop(), native=native)
        forever = await context.function("(function () { while (true) {} })")
        running = asyncio.create_task(context.run(forever, 30.0))
        await asyncio.sleep(0.02)
        context.close()
        with pytest.raises(JSEvalException, match="closed"):
            await running
    if sys.platform == "linux":
        assert len(os.listdir("/proc/self/fd")) == before


async def test_an_answer_at_the_time_limit_is_not_owed_twice(v8: V8) -> None:
    """A function that ends just as its limit passes: whichever wins, the next call is answered
    at once, never made to wait for an answer that was already taken (which would take seconds
    and then fail)."""
    spin, echo = await v8.function("spin"), await v8.function("echo")
    for i in range(40):
        value, _ = await v8.run(spin, 0.002 + (i % 4) * 0.0005, b"2")
        assert value is V8.TIMED_OUT or value == "spun 2"
        assert (await asyncio.wait_for(v8.run(echo, 1.0, str(i).encode()), 2.0))[0] == f"got {i}"
