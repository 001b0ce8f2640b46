"""Limits on running workers: their memory read from /proc, and one timer per event loop.

Memory is watched from the parent: the child's resident set (/proc/PID/statm) is polled while it
runs, and its peak (VmHWM) checked after an invocation, because RLIMIT_AS inside the child breaks
V8 (it reserves far more address space than it uses).

Every worker waiting for its child on a loop is watched by that loop's one `Watchdog` timer: it
polls memory every MEMORY_POLL_S and ends a wait at its deadline. A timer created and cancelled per
invocation (call_later, heap push, cancel, heap pop) cost more than the poll itself under load, and
a fast invocation never needed it; so neither does a wait that ends cancel the poll's tick: it runs
out, finds nothing waiting, and stops (issue 6).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Protocol

MEMORY_POLL_S = 0.01


class MemoryProbe:
    """The child's resident memory from /proc, read through fds kept open.

    pread on an open procfs file costs microseconds, against tens for open+read+close. `rss()`
    reads the one-line statm (cheap, every poll and every invocation); `peak()` reads VmHWM from
    status (dearer, once an invocation lasted long enough to have been polled). Where /proc is
    missing both read 0 and memory is not enforced (Node's own --max-old-space-size still is).
    """

    _PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    __slots__ = ("_statm", "_status")

    def __init__(self, pid: int) -> None:
        self._statm = self._open(f"/proc/{pid}/statm")
        self._status = self._open(f"/proc/{pid}/status")

    @staticmethod
    def _open(path: str) -> int:
        try:
            return os.open(path, os.O_RDONLY)
        except OSError:
            return -1

    def rss(self) -> int:
        """Resident bytes now."""
        if self._statm < 0:
            return 0
        try:
            text = os.pread(self._statm, 256, 0)  # one line of seven numbers
        except OSError:  # the process is gone
            return 0
        return int(text.split(None, 2)[1]) * self._PAGE if text else 0

    def peak(self) -> int:
        """The most resident bytes the process ever had (VmHWM)."""
        return _field_kb(self._pread(self._status), b"VmHWM:") * 1024

    @staticmethod
    def _pread(fd: int) -> bytes:
        if fd < 0:
            return b""
        try:
            return os.pread(fd, 8192, 0)
        except OSError:  # the process is gone
            return b""

    def close(self) -> None:
        for fd in (self._statm, self._status):
            if fd >= 0:
                os.close(fd)
        self._statm = self._status = -1


def _field_kb(text: bytes, name: bytes) -> int:
    at = text.find(name)
    if not text or at < 0:
        return 0
    end = text.find(b"\n", at)
    return int(text[at + len(name):end].split()[0])


class Watched(Protocol):
    """A worker waiting for its child, as the watchdog sees it."""

    deadline: float  # loop time at which the wait ends in a timeout
    poll_memory: bool  # poll memory every tick (invocations), or only at the deadline (init)

    def check(self, now: float) -> bool:
        """Enforce the limits at `now`; False once the wait is over (the worker was killed)."""
        ...


class Watchdog:
    """One timer for every wait on a loop: ticks every MEMORY_POLL_S while any worker polls memory,
    else at the earliest deadline, and stops once nothing is waiting."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Weakly, as the registry below holds loops: whatever holds a watchdog need not hold its loop.
        self._loop = weakref.ref(loop)
        self._waiting: dict[Watched, None] = {}  # insertion-ordered set
        self._timer: asyncio.TimerHandle | None = None
        self._when = 0.0
        self._polling = False  # the timer is a memory poll's tick, at most MEMORY_POLL_S away

    def watch(self, worker: Watched, now: float) -> None:
        """Watch `worker` from `now` (the loop's time) until `forget`."""
        self._waiting[worker] = None
        when, polling = worker.deadline, False
        if worker.poll_memory and now + MEMORY_POLL_S < when:
            when, polling = now + MEMORY_POLL_S, True
        if self._timer is None or when < self._when:
            self._schedule(when, polling)

    def forget(self, worker: Watched) -> None:
        waiting = self._waiting
        waiting.pop(worker, None)
        # A poll tick is left to run out: invocations one after another would otherwise each
        # schedule and cancel a timer (issue 6: their event-loop CPU fell by about a tenth without).
        # It finds nothing waiting and stops, so an idle loop holds no timer of ours past one poll
        # interval. A far deadline's timer (an init wait) is cancelled now.
        if not waiting and self._timer is not None and not self._polling:
            self._timer.cancel()
            self._timer = None

    def _schedule(self, when: float, polling: bool) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        loop = self._loop()
        if loop is not None and not loop.is_closed():
            self._timer = loop.call_at(when, self._tick)
            self._when, self._polling = when, polling

    def _tick(self) -> None:
        self._timer = None
        loop = self._loop()
        if loop is None:
            return
        now = loop.time()
        poll = now + MEMORY_POLL_S
        when, polling = None, False
        for worker in list(self._waiting):
            if not worker.check(now):
                self._waiting.pop(worker, None)
                continue
            due = min(worker.deadline, poll) if worker.poll_memory else worker.deadline
            if when is None or due < when:
                when, polling = due, due == poll
        if when is not None:
            self._schedule(when, polling)


# loop -> its watchdog, both weakly: a watchdog's pending tick holds the loop (a timer handle does),
# and a registry holding the watchdog itself would then keep every closed loop alive for good. The
# workers waiting on a loop hold its watchdog.
_WATCHDOGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.ref[Watchdog]] = weakref.WeakKeyDictionary()


def watchdog(loop: asyncio.AbstractEventLoop) -> Watchdog:
    """The loop's watchdog (workers of several runtimes on one loop share it)."""
    ref = _WATCHDOGS.get(loop)
    dog = ref() if ref is not None else None
    if dog is None:
        dog = Watchdog(loop)
        _WATCHDOGS[loop] = weakref.ref(dog)
    return dog
