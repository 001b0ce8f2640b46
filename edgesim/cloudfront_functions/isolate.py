"""The mini-racer boundary: one warm V8 isolate per function, its budgets, and V8's errors.

Only this module imports py_mini_racer. It loads prelude.js and the user's code once, then runs
`__cf.call()` per request (see `_V8`: V8 works on its own thread; a quick function is waited for
in place, a slow one on the event loop, so other requests keep flowing while it runs), with a
wall-clock kill for runaway code and a hard heap limit for memory (spec §1.6).
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from itertools import count
from typing import Any, Literal

import orjson
from py_mini_racer import DEFAULT_V8_FLAGS, JSEvalException, MiniRacer, init_mini_racer

# mini-racer's own parts (0.14; pinned in pyproject.toml): edgesim builds the context itself, as
# mini_racer() does, but with a callback that hands V8's answer straight to the waiting call.
from py_mini_racer._context import Context, ContextType
from py_mini_racer._dll import mr_callback_func
from py_mini_racer._objects import ObjectFactoryImpl
from py_mini_racer._value_handle import ValueHandle

# CloudFront gives a function 2 MB (spec §1.6). The isolate's own baseline (V8's built-ins, the
# prelude, the compiled function) is measured at load and added on top, so only what the user's
# code allocates counts against the 2 MB.
MEMORY_LIMIT_BYTES = 2 * 1024 * 1024

# eval() and new Function() throw in CloudFront (spec §1.5); V8 refuses them itself with this flag.
V8_FLAGS = (*DEFAULT_V8_FLAGS, "--disallow-code-generation-from-strings")

# Rounds of the built-ins' warm-up at load (prelude.js __cf.warm), for functions that use them.
WARM_ROUNDS = 100

# How long a call waits for V8 in place, blocking the event loop, before it waits on the loop
# instead. A typical function answers in tens of microseconds, and waiting in place then costs
# far less than a trip through the loop (a future, a cross-thread wake-up, a loop turn, and
# V8's thread contending for the GIL with the loop); a slow function only holds the loop this
# long. CloudFront's own budget for a function is about 1 ms of compute (spec §1.6).
WAIT_IN_PLACE_S = 0.001

# The time limit counts V8's CPU time (see _V8); a V8 thread starved of CPU is stopped anyway
# after this many times the limit of wall time (at least a second).
WALL_LIMIT_FACTOR = 20

_HEAD = struct.Struct("=II")  # prelude.js io.head: byte length, 1 if ASCII

Runtime = Literal["cloudfront-js-1.0", "cloudfront-js-2.0"]


def _prelude() -> str:
    return resources.files("edgesim.cloudfront_functions").joinpath("prelude.js").read_text(encoding="utf-8")


_PRELUDE = _prelude()


@dataclass
class Outcome:
    """What one run of the handler produced, before any CloudFront rule is applied."""

    ok: bool
    output: Any = None  # the JSON the handler returned (None when it returned nothing)
    error: str = ""  # "TypeError: x is not a function" on failure
    line: int | None = None
    invalid: bool = False  # the handler returned something that is not JSON (a validation error)
    timed_out: bool = False
    never_settled: bool = False  # an async handler whose promise nothing could ever settle
    out_of_memory: bool = False
    logs: list[str] = field(default_factory=list)
    origin: dict[str, Any] | None = None  # an origin helper's call: {"kind": ..., "args": [...]}
    log_data: str | None = None
    elapsed_ms: float = 0.0
    round_trips: int = 1  # evals into V8 this run took (2 for an async handler)


class CompileError(Exception):
    """V8 refused the user's code: `message`, `line` (1-based, in the user's file) or None."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class Isolate:
    """One V8 isolate bound to the event loop that started it. Use `start()` then `call()`."""

    def __init__(self, code: str, *, runtime: Runtime, file: str, time_limit_ms: float) -> None:
        self._code = code
        self._runtime = runtime
        self._file = file
        self._file_json = json.dumps(file)
        self._file_json_b = self._file_json.encode()
        self._time_limit_s = time_limit_ms / 1000
        self._v8: _V8 | None = None
        self._mr: MiniRacer | None = None
        self._io: memoryview | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._kvs_version: object = None
        self._round_trips = 1
        self.baseline_bytes = 0
        self.floor_ms = 0.0

    async def start(self) -> None:
        """Create the isolate on the running loop, load prelude and code, calibrate the budgets."""
        self._loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()
        self._v8 = _V8(self._loop)
        self._mr = self._v8.mr
        runtime_version = self._runtime.rsplit("-", 1)[1]
        await self._mr.eval_cancelable(f"var __CF_RUNTIME = {json.dumps(runtime_version)};\n" + _PRELUDE)
        try:
            await self._mr.eval_cancelable(self._factory_source())
        except JSEvalException as exc:
            self.close()
            raise CompileError(*_v8_message_and_line(str(exc))) from None
        self._io = self._buffer(0)
        self._kvs_version = None
        # One throw-away run, so V8's lazy compilation of the prelude and the handler is not billed
        # to the first request's compute utilization. Its result and logs are discarded.
        warm = {"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "127.0.0.1"},
                "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}}}
        if "crypto" in self._code or "Buffer" in self._code or "atob" in self._code:
            await self._mr.eval_cancelable(f"__cf.warm({WARM_ROUNDS})")
        await self.call(warm, now_ms=0, event_type="viewer-request")
        await self._calibrate()

    def _factory_source(self) -> str:
        # The user's code sits inside a factory so each invocation gets a fresh top level (see
        # prelude.js). It starts on the factory's first line, so V8's line numbers are the file's.
        # Strict mode is always on in CloudFront Functions (spec §1.5).
        return (
            'globalThis.__cf_factory = function () {"use strict";' + self._code
            + '\n;return typeof handler === "function" ? handler : undefined;\n};\n'
            + f"//# sourceURL={self._file}\n"
        )

    async def _calibrate(self) -> None:
        """Measure the baseline heap and the bare cost of a call into the isolate."""
        assert self._mr is not None
        self._mr.low_memory_notification()
        self.baseline_bytes = self.heap_used()
        self._mr.set_hard_memory_limit(self.baseline_bytes + MEMORY_LIMIT_BYTES)
        assert self._v8 is not None
        # Timed as a request's trip is (_V8.run), on a script that does nothing.
        zero = self._v8.context._python_to_value_handle("0")
        self.floor_ms = min([(await self._v8.run(zero, 1.0))[1] * 1000 for _ in range(5)])

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    async def load_kvs(self, version: object, data_json: str, meta_json: str) -> None:
        """Push a KeyValueStore's contents into the isolate when they changed; not charged to the user."""
        if version == self._kvs_version or self._mr is None:
            return
        self._mr.set_hard_memory_limit(0)
        await self._mr.eval_cancelable(f"__cf.kvsLoad({json.dumps(data_json)}, {json.dumps(meta_json)})")
        self._kvs_version = version
        await self._calibrate()

    async def call(self, event: dict[str, Any], *, now_ms: float, event_type: str, edge_json: str = "{}",
                   raw_query: str | None = None) -> Outcome:
        """Run the handler once on `event`. Never raises for anything the user's code does."""
        assert self._mr is not None
        mr = self._mr
        # The arguments of __cf.invoke as one JSON array, written into the isolate's buffer (see
        # prelude.js __cf.call). JSON.parse makes a "__proto__" key an ordinary property.
        query = b"null" if raw_query is None else json.dumps(raw_query).encode()
        payload = b"".join((b"[", orjson.dumps(event), b",", repr(now_ms).encode(), b',"', event_type.encode(),
                            b'",', edge_json.encode(), b",", query, b",", self._file_json_b, b"]"))
        async with self._lock:  # one invocation at a time, so the time limit counts only its own run
            size = len(payload)
            io = self._io if self._io is not None and size + 8 <= len(self._io) else self._buffer(size + 8)
            _HEAD.pack_into(io, 0, size, 1 if payload.isascii() else 0)
            io[8:8 + size] = payload
            for attempt in (1, 2):
                value, failure, elapsed = await self._attempt()
                if failure is None:
                    break
                if failure == "timeout":
                    return await self._after_kill(elapsed, timed_out=True)
                if failure == "never-settled":
                    # Nothing could ever settle it (no timers, no I/O): on CloudFront it would run
                    # out of time, so it is reported as a timeout, without waiting for one.
                    logs = json.loads(str(await mr.eval_cancelable("__cf.logs()")))
                    return Outcome(ok=False, timed_out=True, never_settled=True, logs=logs, elapsed_ms=elapsed)
                if failure != "memory":
                    return Outcome(ok=False, error=failure, elapsed_ms=elapsed)
                killed = await self._after_kill(elapsed, out_of_memory=True)
                # V8 counts garbage that earlier invocations left in the old generation until a
                # full GC. The heap is clean now, so a second run measures this one alone; it is
                # safe to repeat because a function has no side effects outside its isolate.
                if attempt == 2:
                    return killed
        data = orjson.loads(str(value))
        return Outcome(
            ok=data["ok"], output=data.get("output"), error=data.get("error", ""), line=data.get("line"),
            invalid=data.get("invalid", False), logs=data["logs"], origin=data.get("origin"),
            log_data=data.get("logData"), elapsed_ms=elapsed, round_trips=self._round_trips,
        )

    def _buffer(self, size: int) -> memoryview:
        """The isolate's argument buffer, at least `size` bytes (a larger one is made when needed)."""
        assert self._mr is not None
        if self._io is not None and size <= len(self._io):
            return self._io
        want = max(size, 2 * len(self._io)) if self._io is not None else size
        io = self._mr.eval(f"__cf.buffer({want})")
        assert isinstance(io, memoryview)
        self._io = io  # the old one is V8's garbage now: never written again
        return io

    async def _attempt(self) -> tuple[object, str | None, float]:
        """(result, None, ms), or (None, "timeout" | "memory" | "never-settled" | V8's message, ms)."""
        v8 = self._v8
        assert v8 is not None and self._mr is not None
        self._round_trips = 1
        took = 0.0
        try:
            value, took = await v8.run(v8.call_code, self._time_limit_s)
            if value is _V8.TIMED_OUT:
                return None, "timeout", took * 1000
            if value == "pending":  # an async handler (2.0); see __cf.settled in prelude.js
                self._round_trips = 2
                value, more = await v8.run(v8.settled_code, self._time_limit_s - took)
                took += more
                if value is _V8.TIMED_OUT:
                    return None, "timeout", took * 1000
                if value == "pending":
                    return None, "never-settled", took * 1000
            return value, None, took * 1000
        except JSEvalException as exc:
            if self._mr.was_hard_memory_limit_reached():
                return None, "memory", took * 1000
            return None, str(exc).strip().splitlines()[-1], took * 1000

    async def _after_kill(self, elapsed: float, *, timed_out: bool = False, out_of_memory: bool = False) -> Outcome:
        """V8 stopped the run: recover the log lines so far and leave the isolate ready for the next request."""
        assert self._mr is not None
        self._mr.set_hard_memory_limit(0)
        self._mr.low_memory_notification()
        try:
            logs = json.loads(str(await asyncio.wait_for(self._mr.eval_cancelable("__cf.logs()"), 1.0)))
        except (JSEvalException, asyncio.TimeoutError):
            logs = []
        self._mr.set_hard_memory_limit(self.baseline_bytes + MEMORY_LIMIT_BYTES)
        return Outcome(ok=False, timed_out=timed_out, out_of_memory=out_of_memory, logs=logs, elapsed_ms=elapsed)

    def heap_used(self) -> int:
        assert self._mr is not None
        # mini-racer's heap_stats now and then hands back an empty string (seen under load): ask again.
        for _ in range(5):
            try:
                return int(self._mr.heap_stats()["used_heap_size"])
            except ValueError:
                continue
        raise RuntimeError("V8 did not report its heap statistics")

    def close(self) -> None:
        v8, self._v8, self._mr, self._io = self._v8, None, None, None
        if v8 is not None:
            v8.close()


class _Pending:
    """One evaluation in flight: V8's thread delivers its result here; the caller waits for it."""

    __slots__ = ("done", "raw", "cpu", "future", "expired", "closed")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()  # released by the delivery while the caller waits in place
        self.raw: Any = None  # V8's raw value handle
        self.cpu = -1.0  # V8's thread's CPU clock when it arrived (-1: not yet)
        self.future: asyncio.Future[None] | None = None  # set once the caller waits on the loop
        self.expired = False
        self.closed = False  # the caller is gone: a late delivery is freed at once


class _V8:
    """A mini-racer context whose evaluations answer the caller directly.

    mini-racer's eval_cancelable always answers through the event loop: V8's thread takes the GIL
    and schedules the result with call_soon_threadsafe, and the caller resumes a loop turn later.
    Under load that trip, and V8's thread fighting the busy loop for the GIL, cost several times
    what the function itself does. Here V8's thread puts the result in the call's `_Pending`; a
    caller still waiting in place (WAIT_IN_PLACE_S) has it at once, one that went back to the
    loop gets a wake-up. Everything else (mr.eval, heap limits, ...) is plain mini-racer.

    Time is V8's thread's CPU time, not the wall clock: on a busy machine V8's thread may wait
    for a core or for the GIL, and that wait is neither the function's compute nor a reason to
    stop it (a trivial function was stopped at a 50 ms limit under load, timing the wall clock).
    """

    TIMED_OUT: Any = object()

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        dll = init_mini_racer(flags=V8_FLAGS, ignore_duplicate_init=True)
        self._dll = dll
        self._loop = loop
        self._mutex = threading.Lock()  # orders a delivery against the caller giving up waiting in place
        self._pending: dict[int, _Pending] = {}
        ids = count()
        next(ids)  # 0 is mini-racer's id for its uncancelable tasks
        self._ids = ids  # shared with the Context, so its own callbacks never get one of ours

        @mr_callback_func
        def on_v8(callback_id: int, raw: Any) -> None:  # on V8's thread, holding the GIL
            if self._clock is None:
                self._clock = time.pthread_getcpuclockid(threading.get_ident())
            pending = self._pending.get(callback_id)
            if pending is None:
                context.handle_callback_from_v8(callback_id, raw)
            else:
                self._deliver(pending, raw)

        self._on_v8 = on_v8  # ctypes needs the callback kept alive as long as the context
        self._clock: int | None = None  # V8's thread's CPU clock, learnt on its first callback
        self._ctx = ContextType(dll.mr_init_context(on_v8))
        context = Context(dll, self._ctx, loop, ObjectFactoryImpl(), ids)
        self.context = context
        self.mr = MiniRacer(context)  # evaluates mini-racer's setTimeout shim: a first callback
        assert self._clock is not None
        # The two scripts a request runs, made once: the same source every time, so V8 compiles
        # each once (its compilation cache), and the handles need no allocation per call.
        self.call_code: ValueHandle | None = context._python_to_value_handle("__cf.call()")
        self.settled_code: ValueHandle | None = context._python_to_value_handle("__cf.settled()")

    def _deliver(self, pending: _Pending, raw: Any) -> None:
        with self._mutex:
            if pending.closed:
                self.context._wrap_raw_handle(raw)  # nobody wants it: free it
                return
            pending.raw = raw
            pending.cpu = time.thread_time()  # this is V8's thread: the same clock as self._clock
            future = pending.future
            if future is None:
                pending.done.release()
                return
        self._loop.call_soon_threadsafe(_wake, future)

    def cpu(self) -> float:
        """V8's thread's CPU time so far, in seconds."""
        assert self._clock is not None
        return time.clock_gettime(self._clock)

    def _expire(self, pending: _Pending, cpu0: float, limit_s: float, wall_end: float) -> None:
        """The time limit may have passed: give up, unless V8 answered meanwhile (its wake-up still
        queued) or its thread has not yet used `limit_s` of CPU on this call (then look again later)."""
        with self._mutex:
            if pending.raw is not None or pending.closed:
                return
            left = limit_s - (self.cpu() - cpu0)
            if left > 0 and time.perf_counter() < wall_end:
                self._loop.call_later(max(left, 0.001), self._expire, pending, cpu0, limit_s, wall_end)
                return
            pending.expired = True
        if pending.future is not None:
            _wake(pending.future)

    async def run(self, code: ValueHandle | None, limit_s: float) -> tuple[Any, float]:
        """Evaluate `code`: (value, CPU seconds V8's thread spent on it), or (TIMED_OUT, seconds)
        once it has spent `limit_s`. Raises JSEvalException (and subclasses) for what V8 threw.
        """
        assert code is not None
        pending = _Pending()
        callback_id = next(self._ids)
        self._pending[callback_id] = pending
        t0 = time.perf_counter()
        cpu0 = self.cpu()
        task_id = self._dll.mr_eval(self._ctx, code.raw, callback_id)
        try:
            if not pending.done.acquire(timeout=max(0.0, min(WAIT_IN_PLACE_S, limit_s))):
                with self._mutex:
                    future = None if pending.raw is not None else self._loop.create_future()
                    pending.future = future
                if future is not None:
                    # A starved V8 thread gets more wall time, within reason (WALL_LIMIT_FACTOR).
                    wall_end = t0 + max(limit_s * WALL_LIMIT_FACTOR, 1.0)
                    self._loop.call_later(max(0.0, t0 + limit_s - time.perf_counter()), self._expire, pending,
                                          cpu0, limit_s, wall_end)
                    await future
                    if pending.expired:
                        return self.TIMED_OUT, self.cpu() - cpu0
            raw, pending.raw = pending.raw, None
            return self.context._value_handle_to_python(self.context._wrap_raw_handle(raw)), pending.cpu - cpu0
        finally:
            with self._mutex:
                pending.closed = True
                unanswered = pending.cpu < 0
            del self._pending[callback_id]
            if unanswered:  # stopped by the time limit, or the caller was cancelled
                self._dll.mr_cancel_task(self._ctx, task_id)
            elif pending.raw is not None:  # answered, but not taken (cancelled meanwhile)
                self.context._wrap_raw_handle(pending.raw)

    def close(self) -> None:
        self.call_code = self.settled_code = None  # free the handles before their context
        self.mr.close()
        self._dll.mr_free_context(self._ctx)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _v8_message_and_line(text: str) -> tuple[str, int | None]:
    """V8's 'file:LINE: SyntaxError: ...' text -> ('SyntaxError: ...', LINE)."""
    first = text.strip().splitlines()[0] if text.strip() else text
    parts = first.split(":", 2)
    if len(parts) == 3 and parts[1].strip().isdigit():
        return parts[2].strip(), int(parts[1])
    return first, None
