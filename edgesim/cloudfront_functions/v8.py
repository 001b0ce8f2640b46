"""The mini-racer boundary: a V8 context whose answers come back without V8's thread taking the GIL.

Only this module imports py_mini_racer. isolate.py runs a CloudFront Function on a `V8`; this
module knows how a call reaches V8's thread and how its answer comes back, nothing of CloudFront.

mini-racer runs each context on a thread of its own and reports every finished task by calling
one C callback with (callback id, value handle). Its own callback is a Python function, so V8's
thread must take the GIL for every answer, fighting the busy event loop for it. Here, on Linux,
the callback is libc's `eventfd_write(int fd, uint64_t value)` itself: the callback id is an
eventfd and the value handle's address is the number written, so V8's thread hands its answer
over without touching Python, and the event loop reads it from the eventfd, serving other
requests while V8 works. Elsewhere a small Python callback writes the same 8 bytes to a pipe.
Measured (issue 6): a trivial call took 24 µs of wall time, 17 µs of the caller's CPU and 7 µs
of V8's thread's, against 60, 37 and 32 µs through a Python callback.

An eventfd adds what is written, so the rule that keeps this sound is one task in flight per
context (`_lock`): a task stopped by the time limit or left by its caller still answers once
(mini-racer answers every task, cancelled or not) and that answer is drained before the next task.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import select
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from itertools import count
from typing import Any

from py_mini_racer import DEFAULT_V8_FLAGS, JSEvalException, JSUndefined, init_mini_racer

# mini-racer's own parts (0.14; pinned in pyproject.toml): edgesim builds the context itself, as
# mini_racer() does, but with its own callback (see above). mini-racer's Context is used only to
# turn values into Python; its task and callback machinery (and MiniRacer, whose setTimeout shim
# is such a task) is never used, so every answer V8 gives is for a task submitted here.
from py_mini_racer._context import Context, ContextType
from py_mini_racer._dll import MR_CALLBACK, RawValueHandle
from py_mini_racer._objects import ObjectFactoryImpl

__all__ = ["V8", "V8_FLAGS", "JSEvalException"]

# mini-racer's value types (its _objects._MiniRacerTypes) that run() converts itself.
_INTEGER = 3
_STR_UTF8 = 5
_STR_UTF8_ARG = ctypes.c_uint8(_STR_UTF8)  # as an argument: see V8._ctx_arg

# eval() and new Function() throw in CloudFront (spec §1.5); V8 refuses them itself with this flag.
# --allow-natives-syntax lets the prelude run the microtask checkpoint inside its own, cancelable
# script (prelude.js, async handlers). User code cannot reach natives: `%Name()` is not JavaScript,
# so lint.py refuses it at load, and with code generation from strings disabled nothing can build
# such source at run time.
V8_FLAGS = (*DEFAULT_V8_FLAGS, "--disallow-code-generation-from-strings", "--allow-natives-syntax")

# The time limit counts V8's CPU time (see V8); a V8 thread starved of CPU is stopped anyway
# after this many times the limit of wall time (at least a second).
WALL_LIMIT_FACTOR = 20

# How long a task that was cancelled may take to answer before its context is given up on.
# V8 stops a running script at once when told to; this bound is only for a wedged isolate.
DRAIN_TIMEOUT_S = 5.0


def _native_callback() -> Any:
    """libc's eventfd_write as a mini-racer callback, or None where there is none (not Linux).

    The C ABI passes (uint64_t callback_id, value*) in the same registers as (int fd, uint64_t
    value): the callback id is the eventfd (a small int) and the handle's address the value.
    EDGESIM_V8_CALLBACK=python turns it off (a way out, should some libc or ABI differ).
    """
    if os.environ.get("EDGESIM_V8_CALLBACK") == "python":
        return None
    if sys.platform != "linux" or not hasattr(os, "eventfd") or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None  # (on a 32-bit ABI the two signatures' arguments would not line up)
    try:
        write = ctypes.CDLL(None).eventfd_write
    except (OSError, AttributeError):
        return None
    return ctypes.cast(write, MR_CALLBACK)


_NATIVE = _native_callback()

# CloudFront's edge keeps UTC: there a function's local time (getHours(), new Date(2024, 0, 1), a
# Date.parse without a zone, toString()) is UTC whatever zone the developer's machine is in (spec
# §1.5, Date). V8 takes its local zone from ICU, which reads TZ once per process, at the first
# local-time question any context asks: the first context asks it with TZ=UTC, then TZ and the C
# library's zone (ICU's tzset() re-read it) are put back, so Python's own local time is untouched.
_utc_lock = threading.Lock()
_utc_pinned = False


def _pin_utc(ask: Callable[[], None]) -> None:
    global _utc_pinned
    with _utc_lock:
        if _utc_pinned:
            return
        saved = os.environ.get("TZ")
        os.environ["TZ"] = "UTC"
        try:
            ask()
        finally:
            if saved is None:
                del os.environ["TZ"]
            else:
                os.environ["TZ"] = saved
            if hasattr(time, "tzset"):
                time.tzset()
        _utc_pinned = True


class V8:
    """A mini-racer context: evaluate code, call functions in it, read its heap.

    Time is V8's thread's CPU time where the system has per-thread CPU clocks (Linux), not the
    wall clock: on a busy machine V8's thread may wait for a core, and that wait is neither the
    function's compute nor a reason to stop it (a trivial function was stopped at a 50 ms limit
    under load, timing the wall clock). Elsewhere it is the wall clock.

    `native=False` uses the Python callback on Linux too (tests run both).
    """

    TIMED_OUT: Any = object()

    def __init__(self, loop: asyncio.AbstractEventLoop, *, native: bool | None = None) -> None:
        dll = init_mini_racer(flags=V8_FLAGS, ignore_duplicate_init=True)
        self._dll = dll
        self._loop = loop
        # One task in flight (see the module's docstring): a lock taken without a coroutine of its
        # own when it is free, as it nearly always is (isolate.py runs one invocation at a time).
        self._held = False
        self._waiters: deque[asyncio.Future[None]] = deque()  # tasks waiting for the lock, in order
        # The time limit's watch over the running task (_watch_time): (its future, V8's CPU clock
        # and perf_counter at its start, its limit, the loop's time when the limit is due). One
        # timer serves task after task, instead of a timer made and cancelled per task.
        self._watched: tuple[asyncio.Future[Any], float, float, float, float] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._owed = 0  # answers V8 still owes: 1 while a task runs or a stopped one has not answered
        if native is None:
            native = _NATIVE is not None
        if native:
            assert _NATIVE is not None, "no eventfd_write on this system"
            self._read_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            self._write_fd = -1
            self._callback_id = self._read_fd
            self._callback = _NATIVE
        else:
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._read_fd, False)
            self._callback_id = 1
            write_fd = self._write_fd

            def on_v8(_callback_id: int, raw: Any) -> None:  # on V8's thread, holding the GIL
                os.write(write_fd, (ctypes.cast(raw, ctypes.c_void_p).value or 0).to_bytes(8, sys.byteorder))

            self._callback = MR_CALLBACK(on_v8)  # kept alive as long as the context
        self._poll = select.poll()
        self._poll.register(self._read_fd, select.POLLIN)
        threads = _threads()
        self._ctx = ContextType(dll.mr_init_context(self._callback))
        self.context = Context(dll, self._ctx, loop, ObjectFactoryImpl(), count(1))
        # The context and callback id as ctypes values, for the calls made on every trip: ctypes
        # converts a Python int argument into a new one on each call (a third of a small call's cost).
        self._ctx_arg = ctypes.c_uint64(self._ctx)  # type: ignore[arg-type]  # an int (mr_init_context's c_uint64)
        self._callback_arg = ctypes.c_uint64(self._callback_id)
        self._keep: list[Any] = []  # handles freed before the context (close())
        _pin_utc(lambda: dll.mr_free_value(self._ctx, self._blocking(dll.mr_eval, self._handle("new Date(0).getHours()"))))
        self.cpu: Callable[[], float] = self._find_clock(_threads() - threads)
        # What every call passes besides its function and `this`: no arguments, made once.
        self._undefined: Any = self.context._python_to_value_handle(JSUndefined)
        no_args = self.context._wrap_raw_handle(self._blocking(self._dll.mr_eval, self._handle("[]")))
        self._keep += [self._undefined, no_args]
        self._no_args: Any = no_args.raw
        self._answer: asyncio.Future[Any] | None = None  # the task waiting for V8's answer
        self._cancelled = False  # a task was cancelled: see _absorb_termination
        self._zero: Any = self._handle("0")
        loop.add_reader(self._read_fd, self._on_answer)

    def _blocking(self, method: Any, *args: Any) -> Any:
        """Run one task while the caller waits (at start only): its raw answer."""
        method(self._ctx, *args, self._callback_id)
        while (raw := self._read()) is None:
            self._poll.poll(10_000)
        return raw

    # --- clocks ---------------------------------------------------------------------------------

    def _find_clock(self, new_threads: set[int]) -> Callable[[], float]:
        """V8's thread's CPU clock: the thread the context started. Should another thread have
        started meanwhile, the one that works while V8 runs a busy loop is V8's."""
        clocks = {tid: _thread_cpu_clock(tid) for tid in new_threads}
        if len(clocks) > 1:
            before = {tid: _cpu_or_none(clock) for tid, clock in clocks.items()}
            code = self._handle("for (var i = 0; i < 3e5; i++) {}")
            self._dll.mr_free_value(self._ctx, self._blocking(self._dll.mr_eval, code))
            spent: dict[int, float] = {}
            for tid, clock in clocks.items():
                start, after = before[tid], _cpu_or_none(clock)
                if start is not None and after is not None:
                    spent[tid] = after - start
            clocks = {tid: clocks[tid] for tid in sorted(spent, key=spent.__getitem__)[-1:]}
        if len(clocks) == 1:
            return partial(time.clock_gettime, next(iter(clocks.values())))
        return time.perf_counter

    # --- tasks ----------------------------------------------------------------------------------

    def _handle(self, text: str) -> Any:
        """A string value handle kept until close() (code to evaluate)."""
        handle = self.context._python_to_value_handle(text)
        self._keep.append(handle)
        return handle.raw

    def _read(self) -> Any:
        """The answer V8 has written, or None when there is none yet."""
        try:
            data = os.read(self._read_fd, 8)
        except BlockingIOError:
            return None
        # The 8 bytes are the handle's address in this machine's byte order: the pointer itself
        # (a quarter of what int.from_bytes and ctypes.cast cost, on every answer).
        return RawValueHandle.from_buffer_copy(data)

    def _on_answer(self) -> None:
        """The event loop's reader: V8 answered. The answer goes to the task waiting for it, or,
        when that task was stopped or left, is freed."""
        raw = self._read()
        if raw is None:
            return
        self._owed -= 1
        future, self._answer = self._answer, None
        if future is not None and not future.done():
            future.set_result(raw)
        else:
            self._dll.mr_free_value(self._ctx_arg, raw)

    async def _task(self, method: Any, args: tuple[Any, ...], limit_s: float | None) -> tuple[Any, float]:
        """Run one mini-racer task `method(ctx, *args, callback_id)` and wait for its raw answer on the
        loop, which serves other requests meanwhile: (answer, V8's thread's CPU clock at the start).
        Raises _TimeUp once V8's thread has spent `limit_s` of CPU on it; it is then stopped."""
        if self._held or self._waiters:
            await self._wait_for_lock()
        else:
            self._held = True
        try:
            if self._owed:
                await self._drain()
            if self._cancelled:
                await self._absorb_termination()
            return await self._run_locked(method, args, limit_s)
        finally:
            self._unlock()

    async def _wait_for_lock(self) -> None:
        """Wait for the lock, first come first served; the task releasing it hands it over."""
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:  # cancelled: out of the line, or, when already handed the lock, on with it
            if waiter.done() and not waiter.cancelled():
                self._unlock()
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise

    def _unlock(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the lock passes to it, still held
                return
        self._held = False

    async def _run_locked(self, method: Any, args: tuple[Any, ...], limit_s: float | None) -> tuple[Any, float]:
        """`_task`'s run, holding the lock."""
        loop = self._loop
        future: asyncio.Future[Any] = loop.create_future()
        self._answer = future
        cpu0 = self.cpu()  # after the lock: another task's run is not this one's
        task_id = method(self._ctx_arg, *args, self._callback_arg)
        self._owed += 1
        if limit_s is not None:
            due = loop.time() + limit_s
            self._watched = (future, cpu0, time.perf_counter(), limit_s, due)
            if self._watchdog is None:
                self._watchdog = loop.call_at(due, self._watch_time)
        try:
            raw = await future
        except BaseException:  # the caller was cancelled
            self._abandon(future, task_id)
            raise
        finally:
            self._watched = None
        if raw is None:
            self._abandon(future, task_id)
            raise _TimeUp(self.cpu() - cpu0)
        return raw, cpu0

    def _abandon(self, future: asyncio.Future[Any], task_id: int) -> None:
        """Stop a task nobody waits for any more. Its answer, still owed, is freed when it comes
        (_on_answer), or was already taken into `future`."""
        self._answer = None
        if self._owed:
            self._dll.mr_cancel_task(self._ctx, task_id)
            self._cancelled = True
        elif future.done() and not future.cancelled() and future.result() is not None:
            self._dll.mr_free_value(self._ctx, future.result())

    def _watch_time(self) -> None:
        """The watchdog's timer: the running task's limit is due (_check_time), or, for a task that
        started after the timer was set, the timer is set again for when that task's limit is due."""
        self._watchdog = None
        watched = self._watched
        if watched is None:  # no task with a limit runs: the next one sets the timer
            return
        future, cpu0, t0, limit_s, due = watched
        if due > self._loop.time():
            self._watchdog = self._loop.call_at(due, self._watch_time)
        else:
            self._check_time(future, cpu0, t0, limit_s)

    def _check_time(self, future: asyncio.Future[Any], cpu0: float, t0: float, limit_s: float) -> None:
        """The time limit may have passed: stop waiting, unless V8's thread has not yet spent
        `limit_s` of CPU on the task and has had less than WALL_LIMIT_FACTOR times it (at least a
        second) of wall time; then look again when it could have."""
        if future.done():
            return
        left = limit_s - (self.cpu() - cpu0)
        if left > 0 and time.perf_counter() < t0 + max(limit_s * WALL_LIMIT_FACTOR, 1.0):
            self._loop.call_later(max(left, 0.0005), self._check_time, future, cpu0, t0, limit_s)
        else:
            future.set_result(None)

    async def _absorb_termination(self) -> None:
        """After a cancel: a task that ended just as it was cancelled leaves V8's request to
        terminate pending, and V8 honours it in the next script that runs, which would be the next
        caller's (seen as a JSEvalException "null" on an innocent call, under load). A throwaway
        script takes it instead."""
        self._cancelled = False
        raw, _ = await self._run_locked(self._dll.mr_eval, (self._zero,), None)
        self._dll.mr_free_value(self._ctx, raw)

    async def _drain(self) -> None:
        """Wait for the answer of a task stopped earlier, so it is not taken for the next one's."""
        future: asyncio.Future[Any] = self._loop.create_future()
        self._answer = future
        try:
            raw = await asyncio.wait_for(future, DRAIN_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise JSEvalException(f"V8 did not stop a cancelled call within {DRAIN_TIMEOUT_S:g} s") from None
        self._dll.mr_free_value(self._ctx, raw)

    async def eval(self, code: str) -> Any:
        """Evaluate `code` (no time limit: edgesim's own scripts); its value as Python."""
        handle = self.context._python_to_value_handle(code)
        raw, _ = await self._task(self._dll.mr_eval, (handle.raw,), None)
        return self.context._value_handle_to_python(self.context._wrap_raw_handle(raw))

    async def function(self, expression: str) -> Any:
        """The JavaScript function `expression` evaluates to, for run(): a raw handle, valid until close().

        Calling a function skips what evaluating a script costs V8 on every call (compiling it, or
        finding it in the compilation cache, and instantiating it).
        """
        handle = self.context._python_to_value_handle(expression)
        raw, _ = await self._task(self._dll.mr_eval, (handle.raw,), None)
        function = self.context._wrap_raw_handle(raw)
        self._keep.append(function)
        return function.raw

    async def run(self, function: Any, limit_s: float, this: bytes | None = None) -> tuple[Any, float]:
        """Call `function` (see function()) with `this` as a string (UTF-8) and no arguments: (value,
        CPU seconds V8's thread spent on it), or (TIMED_OUT, seconds) once it has spent `limit_s`.
        Raises JSEvalException (and subclasses) for what V8 threw.
        """
        dll, ctx = self._dll, self._ctx_arg
        if this is None:
            target = self._undefined.raw
        else:
            # `this` travels as a string value: V8 makes its string from the UTF-8 at once, where
            # decoding text from a buffer in JavaScript cost several times more.
            target = dll.mr_alloc_string_val(ctx, this, len(this), _STR_UTF8_ARG)
        try:
            if self._held or self._owed or self._cancelled:
                raw, cpu0 = await self._task(dll.mr_call_function, (function, target, self._no_args), limit_s)
            else:  # _task's common case, without its coroutine: the lock free, nothing to drain
                self._held = True
                try:
                    raw, cpu0 = await self._run_locked(dll.mr_call_function, (function, target, self._no_args), limit_s)
                finally:
                    self._unlock()
        except _TimeUp as stopped:
            return self.TIMED_OUT, stopped.spent
        finally:
            if this is not None:
                dll.mr_free_value(ctx, target)
        took = self.cpu() - cpu0
        return self._value(raw), took

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
        self._dll.mr_free_value(self._ctx_arg, raw)
        return value

    # --- the heap -------------------------------------------------------------------------------

    def heap_used(self) -> int:
        # mini-racer's heap_stats now and then hands back an empty string (seen under load): ask again.
        for _ in range(5):
            try:
                return int(json.loads(self.context.heap_stats())["used_heap_size"])
            except ValueError:
                continue
        raise RuntimeError("V8 did not report its heap statistics")

    def set_hard_memory_limit(self, limit: int) -> None:
        """V8 stops a script once its heap passes `limit` bytes (0: no limit)."""
        self._dll.mr_set_hard_memory_limit(self._ctx, limit)

    def was_hard_memory_limit_reached(self) -> bool:
        return bool(self._dll.mr_hard_memory_limit_reached(self._ctx))

    def low_memory_notification(self) -> None:
        """A full garbage collection."""
        self._dll.mr_low_memory_notification(self._ctx)

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._keep.clear()  # free the handles before their context
        # A task still running answers while the context is freed: the descriptors stay open until then.
        self._dll.mr_free_context(self._ctx)
        future, self._answer = self._answer, None
        if future is not None and not future.done():  # its answer went with the context
            future.set_exception(JSEvalException("the V8 context was closed while this call ran"))
        self._poll.unregister(self._read_fd)
        loop = self._loop
        try:
            here = asyncio.get_running_loop() is loop
        except RuntimeError:
            here = False
        if here or loop.is_closed() or not loop.is_running():
            self._release()
        else:  # closed from another thread than the loop's: its reader goes on the loop's own thread
            loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        if not self._loop.is_closed():
            self._loop.remove_reader(self._read_fd)
        os.close(self._read_fd)
        if self._write_fd >= 0:
            os.close(self._write_fd)


class _TimeUp(Exception):
    """The time limit passed before V8 answered (run() turns it into TIMED_OUT)."""

    def __init__(self, spent: float) -> None:
        super().__init__(spent)
        self.spent = spent  # V8's thread's CPU seconds on the task


def _threads() -> set[int]:
    try:
        return {int(tid) for tid in os.listdir("/proc/self/task")}
    except OSError:  # no /proc: the wall clock is used
        return set()


def _cpu_or_none(clock: int) -> float | None:
    try:
        return time.clock_gettime(clock)
    except OSError:  # the thread has ended
        return None


def _thread_cpu_clock(tid: int) -> int:
    """Linux's CPU-time clock id of thread `tid` (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED), the id
    pthread_getcpuclockid gives), for a thread this one cannot call pthread_getcpuclockid on."""
    return (~tid << 3) | 6
