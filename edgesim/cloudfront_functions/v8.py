"""The mini-racer boundary: a V8 context whose calls answer their caller directly.

Only this module imports py_mini_racer. isolate.py runs a CloudFront Function on a `V8`; this
module knows how a call reaches V8's thread and how its answer comes back, nothing of CloudFront.
"""

from __future__ import annotations

import asyncio
import threading
import time
from itertools import count
from typing import Any

from py_mini_racer import DEFAULT_V8_FLAGS, JSEvalException, JSUndefined, MiniRacer, init_mini_racer

# mini-racer's own parts (0.14; pinned in pyproject.toml): edgesim builds the context itself, as
# mini_racer() does, but with a callback that hands V8's answer straight to the waiting call.
from py_mini_racer._context import Context, ContextType
from py_mini_racer._dll import mr_callback_func
from py_mini_racer._objects import ObjectFactoryImpl
from py_mini_racer._value_handle import ValueHandle

__all__ = ["V8", "V8_FLAGS", "JSEvalException", "MiniRacer", "ValueHandle"]

# mini-racer's value types (its _objects._MiniRacerTypes) that run() converts itself.
_INTEGER = 3
_STR_UTF8 = 5

# eval() and new Function() throw in CloudFront (spec §1.5); V8 refuses them itself with this flag.
# --allow-natives-syntax lets the prelude run the microtask checkpoint inside its own, cancelable
# script (prelude.js, async handlers). User code cannot reach natives: `%Name()` is not JavaScript,
# so lint.py refuses it at load, and with code generation from strings disabled nothing can build
# such source at run time.
V8_FLAGS = (*DEFAULT_V8_FLAGS, "--disallow-code-generation-from-strings", "--allow-natives-syntax")

# How long a call waits for V8 in place, blocking the event loop, before it waits on the loop
# instead. A typical function answers in tens of microseconds, and waiting in place then costs
# far less than a trip through the loop (a future, a cross-thread wake-up, a loop turn, and
# V8's thread contending for the GIL with the loop); a slow function only holds the loop this
# long. CloudFront's own budget for a function is about 1 ms of compute (spec §1.6).
# Measured again under `edgesim serve` at 16 connections (issue 6): always waiting on the loop,
# so it serves other requests meanwhile, cost about 120 µs more loop CPU per request and a
# quarter of the throughput, with Python's GIL switch interval at 5 ms or at 0.2 ms.
WAIT_IN_PLACE_S = 0.001

# The time limit counts V8's CPU time (see V8); a V8 thread starved of CPU is stopped anyway
# after this many times the limit of wall time (at least a second).
WALL_LIMIT_FACTOR = 20


class _Pending:
    """One call in flight: V8's thread delivers its result here; the caller waits for it."""

    __slots__ = ("done", "raw", "cpu", "future", "expired", "closed")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()  # released by the delivery while the caller waits in place
        self.raw: Any = None  # V8's raw value handle
        self.cpu = -1.0  # V8's thread's CPU clock when it arrived (-1: not yet)
        self.future: asyncio.Future[None] | None = None  # set once the caller waits on the loop
        self.expired = False
        self.closed = False  # the caller is gone: a late delivery is freed at once


class V8:
    """A mini-racer context whose calls answer the caller directly.

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
        self._clock: int | None = None  # V8's thread's CPU clock, learnt on its first callback
        self._context: Context | None = None  # set below; V8 calls back once the context exists

        def on_v8(callback_id: int, raw: Any) -> None:  # on V8's thread, holding the GIL
            if self._clock is None:
                self._clock = time.pthread_getcpuclockid(threading.get_ident())
            pending = self._pending.get(callback_id)
            if pending is None:
                assert self._context is not None
                self._context.handle_callback_from_v8(callback_id, raw)
            else:
                self._deliver(pending, raw)

        callback = mr_callback_func(on_v8)  # type: ignore[arg-type]  # mini-racer types the handle loosely
        self._on_v8 = callback  # ctypes needs the callback kept alive as long as the context
        self._ctx = ContextType(dll.mr_init_context(callback))
        context = Context(dll, self._ctx, loop, ObjectFactoryImpl(), ids)
        self._context = self.context = context
        self.mr = MiniRacer(context)  # evaluates mini-racer's setTimeout shim: a first callback
        assert self._clock is not None
        # What every call passes besides its function and `this`: no arguments, made once.
        # Handles are freed when their Python object goes, so these are kept here until close().
        self._keep: list[Any] = [self.mr.eval("[]"), context._python_to_value_handle(JSUndefined)]
        self._no_args: Any = self._keep[0].raw_handle.raw
        self._undefined: Any = self._keep[1].raw

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

    def function(self, expression: str) -> Any:
        """The JavaScript function `expression` evaluates to, for run(): a raw handle, valid until close().

        Calling a function skips what evaluating a script costs V8 on every call (compiling it, or
        finding it in the compilation cache, and instantiating it).
        """
        function = self.mr.eval(expression)
        self._keep.append(function)
        return function.raw_handle.raw  # type: ignore[union-attr]  # a JSFunction

    async def run(self, function: Any, limit_s: float, this: bytes | None = None) -> tuple[Any, float]:
        """Call `function` (see function()) with `this` as a string (UTF-8) and no arguments: (value,
        CPU seconds V8's thread spent on it), or (TIMED_OUT, seconds) once it has spent `limit_s`.
        Raises JSEvalException (and subclasses) for what V8 threw.
        """
        dll, ctx = self._dll, self._ctx
        pending = _Pending()
        callback_id = next(self._ids)
        self._pending[callback_id] = pending
        t0 = time.perf_counter()
        cpu0 = self.cpu()
        if this is None:
            task_id = dll.mr_call_function(ctx, function, self._undefined, self._no_args, callback_id)
        else:
            # `this` travels as a string value: V8 makes its string from the UTF-8 at once, where
            # decoding text from a buffer in JavaScript cost several times more. The task holds
            # its own reference to the value, so the handle is released right away.
            text = dll.mr_alloc_string_val(ctx, this, len(this), _STR_UTF8)
            task_id = dll.mr_call_function(ctx, function, text, self._no_args, callback_id)
            dll.mr_free_value(ctx, text)
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
            return self._value(raw), pending.cpu - cpu0
        finally:
            with self._mutex:
                pending.closed = True
                unanswered = pending.cpu < 0
            del self._pending[callback_id]
            if unanswered:  # stopped by the time limit, or the caller was cancelled
                dll.mr_cancel_task(ctx, task_id)
            elif pending.raw is not None:  # answered, but not taken (cancelled meanwhile)
                self.context._wrap_raw_handle(pending.raw)

    def _value(self, raw: Any) -> Any:
        """V8's answer as Python. A string or an integer (what the prelude answers) is read here and
        its handle freed at once; anything else, errors included, goes through mini-racer."""
        contents = raw.contents
        kind = contents.type
        if kind == _STR_UTF8:
            value: Any = contents.value.bytes_val[0:contents.len].decode("utf-8")
        elif kind == _INTEGER:
            value = contents.value.int_val
        else:
            return self.context._value_handle_to_python(self.context._wrap_raw_handle(raw))
        self._dll.mr_free_value(self._ctx, raw)
        return value

    def close(self) -> None:
        self._keep.clear()  # free the handles before their context
        self.mr.close()
        self._dll.mr_free_context(self._ctx)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
