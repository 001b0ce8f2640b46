"""The one watchdog timer per event loop: deadlines kept, and nothing left behind."""

from __future__ import annotations

import asyncio
import gc

from edgesim.lambda_edge import watchdog


class _Waiter:
    """A wait as the watchdog sees it (watchdog.Watched), recording each tick."""

    def __init__(self, deadline: float, poll_memory: bool) -> None:
        self.deadline = deadline
        self.poll_memory = poll_memory
        self.ticks: list[float] = []

    def check(self, now: float) -> bool:
        self.ticks.append(now)
        return now < self.deadline


async def _until_no_timer(dog: watchdog.Watchdog, limit_s: float = 10.0) -> None:
    """Until the watchdog's timer has stopped: a loaded machine (a CI runner, tests beside these)
    runs the loop's timers late, so a fixed sleep saw one still pending."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while dog._timer is not None and loop.time() < end:
        await asyncio.sleep(0.01)


async def test_ticks_while_polling_ends_at_the_deadline_and_stops() -> None:
    loop = asyncio.get_running_loop()
    dog = watchdog.watchdog(loop)
    now = loop.time()
    # Half a second of polls every MEMORY_POLL_S: three at least, even on a loop that runs late.
    polled, deadline_only = _Waiter(now + 0.5, True), _Waiter(now + 0.5, False)
    dog.watch(polled, now)
    dog.watch(deadline_only, now)
    await asyncio.sleep(0.5)
    await _until_no_timer(dog)
    assert len(polled.ticks) >= 3 and polled.ticks[-1] >= polled.deadline  # polled, then ended
    assert deadline_only.ticks[-1] >= deadline_only.deadline
    assert dog._timer is None  # nothing waits: no timer left on the loop


async def test_after_the_last_wait_a_poll_tick_runs_out_and_the_timer_stops() -> None:
    loop = asyncio.get_running_loop()
    dog = watchdog.watchdog(loop)
    waiter = _Waiter(loop.time() + 30, True)
    dog.watch(waiter, loop.time())
    tick = dog._timer
    assert tick is not None
    dog.forget(waiter)
    # The next invocation reuses the tick rather than schedule a timer of its own.
    again = _Waiter(loop.time() + 30, True)
    dog.watch(again, loop.time())
    assert dog._timer is tick
    dog.forget(again)
    await _until_no_timer(dog)
    assert dog._timer is None and not waiter.ticks and not again.ticks


async def test_forgetting_a_far_deadline_cancels_its_timer_at_once() -> None:
    loop = asyncio.get_running_loop()
    dog = watchdog.watchdog(loop)
    starting = _Waiter(loop.time() + 30, False)  # an init wait: its deadline only, 30 s away
    dog.watch(starting, loop.time())
    assert dog._timer is not None
    dog.forget(starting)
    assert dog._timer is None


def test_a_closed_loop_is_not_kept_alive() -> None:
    async def watch_one() -> None:
        loop = asyncio.get_running_loop()
        dog = watchdog.watchdog(loop)
        waiter = _Waiter(loop.time() + 30, True)
        dog.watch(waiter, loop.time())
        dog.forget(waiter)

    before = len(watchdog._WATCHDOGS)
    for _ in range(3):
        asyncio.run(watch_one())
    gc.collect()
    assert len(watchdog._WATCHDOGS) <= before
