"""One warm V8 isolate per CloudFront Function: its prelude and code, budgets, and V8's errors.

It loads prelude.js and the user's code once, then calls `__cf.call` per request on a `V8`
(v8.py, the only module importing mini-racer: V8 works on its own thread and the event loop
serves other requests while it runs), with a CPU-time kill for runaway code and a hard heap
limit for memory (spec §1.6). Invocations that arrive together go to V8 several to a trip.
Each invocation sees the built-ins as the runtime made them (pristine.js; spec §1.5): this module
tells the prelude which to restore, bills no restore, and renews an isolate that cannot be restored.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from importlib import resources
from typing import Any, Literal

import orjson

from edgesim.cloudfront_functions.outcome import (
    CompileError,
    Outcome,
    has_controls,
    outcome_of,
    payload_has_controls,
    read_answer,
    v8_message_and_line,
)
from edgesim.cloudfront_functions.v8 import V8, JSEvalException
from edgesim.cloudfront_functions.v8 import V8_FLAGS as V8_FLAGS  # noqa: PLC0414  # testing_sync.py initialises V8 with these

# CloudFront gives a function 2 MB (spec §1.6). The isolate's own baseline (V8's built-ins, the
# prelude, the compiled function) is measured at load and added on top, so only what the user's
# code allocates counts against the 2 MB.
MEMORY_LIMIT_BYTES = 2 * 1024 * 1024

# The most invocations one trip into V8 runs (Isolate._many). Queued invocations are as many as
# requests in flight; a bound keeps one batch's latency and garbage small.
BATCH_MAX = 16
# How long invocations run alone after V8 stopped one at a limit (Isolate._stopped).
ALONE_AFTER_STOP_S = 1.0

# Trips of ten restores (pristine.js) before timing them at load: cold, V8 runs them several times
# slower than once it has optimised them, which it soon has when serving requests.
RESTORE_WARM_TRIPS = 10

# Rounds of the built-ins' warm-up at load (prelude.js __cf.warm), for functions that use them.
WARM_ROUNDS = 100

Runtime = Literal["cloudfront-js-1.0", "cloudfront-js-2.0"]


def _prelude(*names: str) -> str:
    here = resources.files("edgesim.cloudfront_functions")
    return "\n".join(here.joinpath(name).read_text(encoding="utf-8") for name in names)


# pristine.js first: it takes the helpers it restores with before prelude.js deletes Reflect.
# cwt.js (cf.cwt) before prelude.js too, which builds 2.0's frozen cloudfront module with it; 1.0
# has no cloudfront module, and its isolates are spared the parse (about 11 KB of heap).
_PRELUDE = _prelude("pristine.js", "cwt.js", "prelude.js")
_PRELUDE_1_0 = _prelude("pristine.js", "prelude.js")


FACTORY_HEAD = 'globalThis.__cf_factory = function () {"use strict";'


def factory_source(code: str, file: str) -> str:
    """The user's code inside a factory, so each invocation gets a fresh top level (see prelude.js).
    It starts on the factory's first line, so V8's line numbers are the file's (and its columns,
    past FACTORY_HEAD on line 1). Strict mode is always on in CloudFront Functions (spec §1.5)."""
    return (FACTORY_HEAD + code + '\n;return typeof handler === "function" ? handler : undefined;\n};\n'
            + f"//# sourceURL={file}\n")


class Isolate:
    """One V8 isolate bound to the event loop that started it. Use `start()` then `call()`."""

    def __init__(self, code: str, *, runtime: Runtime, file: str, time_limit_ms: float,
                 guard: tuple[str, ...] = ()) -> None:
        self._code = code
        # The built-in containers restored after every invocation (lint.py's builtin_writes; ("*",)
        # for all); empty for most functions, which pay only pristine.js's intact() check.
        self._guard = guard
        self._stale = False  # a built-in could not be restored in place: renew before the next invocation
        self._runtime = runtime
        self._file = file
        self._file_json = json.dumps(file)
        self._file_tail = b"," + self._file_json.encode() + b"]"  # the payload's end (_payload)
        self._file_tail_changes = b"," + self._file_json.encode() + b",1]"  # the same, asking for a change set
        # The payload's middle for each (event type, edge location) met: `,"viewer-request",{...},`.
        self._middles: dict[tuple[str, str], bytes] = {}
        self._time_limit_s = time_limit_ms / 1000
        self._v8: V8 | None = None
        self._call_fn: Any = None  # __cf.call, __cf.settled and a function doing nothing (v8.py function handles)
        self._settled_fn: Any = None
        self._zero_fn: Any = None
        self._restore_fn: Any = None  # __cf.restoreCost (calibration)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._batch_fn: Any = None  # __cf.batch
        self._busy = False  # a trip into V8 is running or due (_run_queue)
        self._queue: list[tuple[bytes, asyncio.Future[Outcome]]] = []  # invocations waiting for it
        self._batches: asyncio.Task[None] | None = None  # runs the queue (_run_queue)
        self._alone_until = 0.0  # the loop's time until which queued invocations run alone (_stopped)
        self._kvs: tuple[object, str, str] | None = None  # the store last loaded: (version, data, meta)
        self.baseline_bytes = 0
        self.floor_ms = 0.0
        self.restore_ms = 0.0

    async def start(self) -> None:
        """Create the isolate on the running loop, load prelude and code, calibrate the budgets."""
        self._loop = asyncio.get_running_loop()
        await self._load()

    async def _load(self) -> None:
        assert self._loop is not None
        v8 = self._v8 = V8(self._loop)
        runtime_version = self._runtime.rsplit("-", 1)[1]
        prelude = _PRELUDE_1_0 if runtime_version == "1.0" else _PRELUDE
        await v8.eval(f"var __CF_RUNTIME = {json.dumps(runtime_version)};\n" + prelude)
        try:
            await v8.eval(self._factory_source())
        except JSEvalException as exc:
            self.close()
            raise CompileError(*v8_message_and_line(str(exc))) from None
        self._call_fn = await v8.function("__cf.call")
        self._settled_fn = await v8.function("__cf.settled")
        self._batch_fn = await v8.function("__cf.batch")
        self._zero_fn = await v8.function("(function () { return 0; })")
        self._restore_fn = await v8.function("__cf.restoreCost")
        if self._kvs is not None:  # a renewed isolate (_renew) keeps its KeyValueStore
            await v8.eval(f"__cf.kvsLoad({json.dumps(self._kvs[1])}, {json.dumps(self._kvs[2])})")
        # The built-ins as the runtime made them, before any request (pristine.js).
        await v8.eval(f"__cf.guard({json.dumps(list(self._guard))})")
        # One throw-away run, so V8's lazy compilation of the prelude and the handler is not billed
        # to the first request's compute utilization. Its result and logs are discarded.
        warm = {"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "127.0.0.1"},
                "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}}}
        if "crypto" in self._code or "Buffer" in self._code or "atob" in self._code:
            await v8.eval(f"__cf.warm({WARM_ROUNDS})")
        await self._one(self._payload(warm, 0, "viewer-request", "{}", None))
        await self._calibrate()

    def _factory_source(self) -> str:
        return factory_source(self._code, self._file)

    async def _calibrate(self) -> None:
        """Measure the baseline heap and the bare cost of a call into the isolate."""
        assert self._v8 is not None
        self._v8.low_memory_notification()
        self.baseline_bytes = self.heap_used()
        self._v8.set_hard_memory_limit(self.baseline_bytes + MEMORY_LIMIT_BYTES)
        # Timed as a request's trip is (V8.run, with a `this`), on a function that does nothing.
        self.floor_ms = min([(await self._v8.run(self._zero_fn, 1.0, b"[]"))[1] * 1000 for _ in range(5)])
        # What one restore of untouched built-ins costs (pristine.js; ten to a trip, as the clock
        # is coarse next to a few microseconds): edgesim's work, not the function's (CloudFront's
        # fresh VM per request is not billed either), so runtime.py takes it off the compute
        # utilization of each invocation it followed, as it takes floor_ms off each trip. Timing the
        # restore inside the trip instead is not possible: JavaScript's clock counts milliseconds.
        # The median, not the least as for floor_ms: a restore leaves garbage, and the collections
        # it causes are part of its cost (the least of five undercounted a full restore by half).
        # Most functions restore nothing (only intact() runs, tens of nanoseconds, left in the bill).
        self.restore_ms = 0.0
        if self._guard:
            for _ in range(RESTORE_WARM_TRIPS):  # optimised first, as it soon is when serving
                await self._v8.run(self._restore_fn, 1.0, b"[]")
            ten = statistics.median([(await self._v8.run(self._restore_fn, 1.0, b"[]"))[1] * 1000 for _ in range(5)])
            self.restore_ms = max(0.0, ten - self.floor_ms) / 10

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    async def load_kvs(self, version: object, data_json: str, meta_json: str) -> None:
        """Push a KeyValueStore's contents into the isolate when they changed; not charged to the user."""
        if (self._kvs is not None and self._kvs[0] == version) or self._v8 is None:
            return
        self._v8.set_hard_memory_limit(0)
        await self._v8.eval(f"__cf.kvsLoad({json.dumps(data_json)}, {json.dumps(meta_json)})")
        self._kvs = (version, data_json, meta_json)
        await self._calibrate()

    async def call(self, event: dict[str, Any], *, now_ms: float, event_type: str, edge_json: str = "{}",
                   raw_query: str | None = None, changes: bool = False) -> Outcome:
        """Run the handler once on `event`. Never raises for anything the user's code does.

        `changes`: the event is build_event's, so the answer may be a change set (prelude.js
        changeSet, Outcome.changes) where the handler returned the event's own part edited.

        One trip into V8 runs at a time, so the time limit counts only its own run. Invocations
        queue, and each trip runs up to BATCH_MAX of them (_many). The trip waits for the end of the
        event loop's turn (_run_queue is a task: its first step comes after the callbacks already
        due), so invocations that arrive together go in one trip. A trip costs the event loop's
        thread more than its invocations do: waking V8's thread is a system call, dearer on a
        virtual machine. Measured (issue 6, `python -m benchmarks.cff_cpu --serve --compare`):
        half the trips, 10 us less of the event loop's CPU per invocation, 7% more requests a
        second under load; a request alone waits one turn of an idle loop more.
        """
        assert self._v8 is not None and self._loop is not None
        payload = self._payload(event, now_ms, event_type, edge_json, raw_query, changes)
        future: asyncio.Future[Outcome] = self._loop.create_future()
        self._queue.append((payload, future))
        if not self._busy:
            self._busy = True
            self._batches = self._loop.create_task(self._run_queue())
        return await future

    def _payload(self, event: dict[str, Any], now_ms: float, event_type: str, edge_json: str,
                 raw_query: str | None, changes: bool = False) -> bytes:
        """The arguments of __cf.invoke as one JSON array: the `this` of __cf.call (prelude.js).
        JSON.parse makes a "__proto__" key an ordinary property."""
        query = b"null" if raw_query is None else json.dumps(raw_query).encode()
        middle = self._middles.get((event_type, edge_json))
        if middle is None:  # two event types, one edge location per distribution: a few at most
            middle = self._middles[(event_type, edge_json)] = b''.join(
                (b',"', event_type.encode(), b'",', edge_json.encode(), b","))
        # orjson writes a float, as repr() does, in the fewest digits that read back as the same
        # number (JSON.parse gets the same double), at a fifth of repr's cost (CPython's dtoa).
        tail = self._file_tail_changes if changes else self._file_tail
        return b"".join((b"[", orjson.dumps(event), b",", orjson.dumps(now_ms), middle, query, tail))

    async def _renew(self) -> None:
        """A new isolate in place of one whose built-ins could not be restored: changed where no
        restore looked (intact() caught it), or frozen, sealed or with a property made
        non-configurable (pristine.js). The next invocation starts afresh, as on CloudFront. Its
        queue is kept."""
        old, self._v8 = self._v8, None
        self._stale = False
        # What intact() caught may be anywhere an alias reaches: every container from now on.
        self._guard = ("*",)
        if old is not None:
            old.close()
        await self._load()

    async def _clean(self) -> None:
        """After V8 stopped an invocation part-way: its restore (prelude.js __cf.restore), which
        its own end never reached. Not billed: the invocation's time was already counted."""
        assert self._v8 is not None
        try:
            if await asyncio.wait_for(self._v8.eval("__cf.restore()"), 1.0) == "stale":
                self._stale = True
        except (JSEvalException, asyncio.TimeoutError):
            self._stale = True

    async def _run_queue(self) -> None:
        """Run what queued, a batch per trip, until nothing waits."""
        loop = self._loop
        assert loop is not None
        try:
            while self._queue:
                if self._stale:
                    await self._renew()
                size = 1 if loop.time() < self._alone_until else BATCH_MAX
                batch, self._queue = self._queue[:size], self._queue[size:]
                try:
                    if len(batch) == 1:
                        outcomes = [await self._one(batch[0][0])]
                    else:
                        outcomes = await self._many([payload for payload, _ in batch])
                except BaseException as exc:  # the isolate was closed (edgesim's doing, not the user's code)
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    return
                for (_, future), outcome in zip(batch, outcomes):
                    if not future.done():  # its caller may have gone
                        future.set_result(outcome)
        finally:
            self._busy = False
            self._fail_queue(JSEvalException("the function was unloaded"))

    def _fail_queue(self, exc: BaseException) -> None:
        queue, self._queue = self._queue, []
        for _, future in queue:
            if not future.done():
                future.set_exception(exc)

    async def _many(self, payloads: list[bytes]) -> list[Outcome]:
        """Several invocations in one trip (prelude.js __cf.batch), each as if alone: its own fresh
        top level, logs and answer. Each is billed an equal share of the trip's time, the best a
        batch can tell (JavaScript has only a millisecond clock); a request that arrives alone is
        timed alone. A batch that hits a limit, or whose answer is incomplete, runs again one
        invocation at a time: a function has no side effects outside its isolate."""
        v8 = self._v8
        assert v8 is not None
        share = 1 / len(payloads)
        try:
            # One invocation's limit for the whole batch: a runaway in it then costs one limit here
            # and one more alone, not one per invocation batched with it. Invocations that together
            # take that long (50 ms by default, fifty times CloudFront's budget) simply run alone.
            value, took = await v8.run(self._batch_fn, self._time_limit_s, b"".join((b"[", b",".join(payloads), b"]")))
        except JSEvalException:
            value = None
        if not isinstance(value, str):  # stopped by the time or memory limit, or V8 threw
            self._reset_limits()
            self._stopped()
            await self._clean()
            return [await self._one(payload) for payload in payloads]
        controls = has_controls(value)
        try:
            answers = read_answer(value)
        except ValueError:  # one answer is nested too deep to read: each alone, to tell which
            return [await self._one(payload) for payload in payloads]
        self._stale = self._stale or any(isinstance(data, dict) and "stale" in data for data in answers)
        outcomes = []
        for payload, data in zip(payloads, answers):
            # "pending": an async handler that did not settle at once: alone, with its second trip.
            # "retry": one before it in the batch changed a built-in that could not be put back.
            if data == "pending" or data == "retry":
                if self._stale:
                    await self._renew()
                outcomes.append(await self._one(payload))
            else:
                outcomes.append(_with_event_controls(outcome_of(data, took * 1000 * share, share, controls), payload))
        return outcomes

    async def _one(self, payload: bytes) -> Outcome:
        v8 = self._v8
        assert v8 is not None
        for attempt in (1, 2):
            # The trip into V8 is awaited here, not in a coroutine of its own (one frame less to
            # resume per invocation); what follows an async handler's first trip is _settle's.
            try:
                value, took = await v8.run(self._call_fn, self._time_limit_s, payload)
            except JSEvalException as exc:
                value, failure, elapsed, trips = self._thrown(exc, 0.0, 1)
            else:
                if value is V8.TIMED_OUT or value == "pending":
                    value, failure, elapsed, trips = await self._settle(value, took)
                else:
                    failure, elapsed, trips = None, took * 1000, 1
            if failure is None:
                break
            if failure == "timeout":
                return await self._after_kill(elapsed, timed_out=True)
            if failure == "never-settled":
                # Nothing could ever settle it (no timers, no I/O): on CloudFront it would run
                # out of time, so it is reported as a timeout, without waiting for one.
                logs = json.loads(str(await v8.eval("__cf.logs()")))
                await self._clean()
                return Outcome(ok=False, timed_out=True, never_settled=True, logs=logs, elapsed_ms=elapsed)
            if failure != "memory":
                await self._clean()
                return Outcome(ok=False, error=failure, elapsed_ms=elapsed)
            killed = await self._after_kill(elapsed, out_of_memory=True)
            # V8 counts garbage that earlier invocations left in the old generation until a
            # full GC. The heap is clean now, so a second run measures this one alone; it is
            # safe to repeat because a function has no side effects outside its isolate.
            if attempt == 2:
                return killed
        text = str(value)
        try:
            data = read_answer(text)
        except ValueError as exc:  # nested too deep to read
            if v8.was_hard_memory_limit_reached():  # so deep it is over the 2 MB too: that failed first
                return await self._after_kill(elapsed, out_of_memory=True)
            # CloudFront cannot use it either: a validation error (502), with the run's logs
            logs = json.loads(str(await v8.eval("__cf.logs()")))
            return Outcome(ok=False, invalid=True, error=f"the returned object cannot be read: {exc}", logs=logs,
                           elapsed_ms=elapsed, trips=trips)
        outcome = _with_event_controls(outcome_of(data, elapsed, trips, has_controls(text)), payload)
        self._stale = self._stale or outcome.stale
        return outcome

    async def _settle(self, value: object, took: float) -> tuple[object, str | None, float, int]:
        """After a first trip that timed out or left an async handler's promise pending: (result,
        None, ms, trips into V8), or (None, "timeout" | "memory" | "never-settled" | V8's message,
        ms, trips)."""
        v8 = self._v8
        assert v8 is not None
        if value is V8.TIMED_OUT:
            return None, "timeout", took * 1000, 1
        # an async handler (2.0); see __cf.settled in prelude.js
        try:
            value, more = await v8.run(self._settled_fn, self._time_limit_s - took)
        except JSEvalException as exc:
            return self._thrown(exc, took, 2)
        took += more
        if value is V8.TIMED_OUT:
            return None, "timeout", took * 1000, 2
        if value == "pending":
            return None, "never-settled", took * 1000, 2
        return value, None, took * 1000, 2

    def _thrown(self, exc: JSEvalException, took: float, trips: int) -> tuple[object, str | None, float, int]:
        """What V8 threw out of a trip (not the user's code, whose errors prelude.js answers):
        the memory limit, or V8's message."""
        assert self._v8 is not None
        if self._v8.was_hard_memory_limit_reached():
            return None, "memory", took * 1000, trips
        return None, str(exc).strip().splitlines()[-1], took * 1000, trips

    async def _after_kill(self, elapsed: float, *, timed_out: bool = False, out_of_memory: bool = False) -> Outcome:
        """V8 stopped the run: recover the log lines so far and leave the isolate ready for the next request."""
        v8 = self._v8
        assert v8 is not None
        self._reset_limits()
        self._stopped()
        try:
            logs = json.loads(str(await asyncio.wait_for(v8.eval("__cf.logs()"), 1.0)))
        except (JSEvalException, asyncio.TimeoutError):
            logs = []
        await self._clean()
        return Outcome(ok=False, timed_out=timed_out, out_of_memory=out_of_memory, logs=logs, elapsed_ms=elapsed)

    def _stopped(self) -> None:
        """V8 stopped a run at a limit: queued invocations run alone for a while, so a function
        that keeps running away costs one limit per runaway, as it would unbatched."""
        assert self._loop is not None
        self._alone_until = self._loop.time() + ALONE_AFTER_STOP_S

    def _reset_limits(self) -> None:
        """After V8 stopped a run: a full GC, so what it left does not count against the next one."""
        v8 = self._v8
        assert v8 is not None
        v8.set_hard_memory_limit(0)
        v8.low_memory_notification()
        v8.set_hard_memory_limit(self.baseline_bytes + MEMORY_LIMIT_BYTES)

    def heap_used(self) -> int:
        assert self._v8 is not None
        return self._v8.heap_used()

    def close(self) -> None:
        v8, self._v8 = self._v8, None
        self._call_fn = self._settled_fn = self._zero_fn = self._batch_fn = self._restore_fn = None
        if v8 is not None:
            v8.close()  # the running invocation, if any, ends with an error; so do those queued
        self._fail_queue(JSEvalException("the function was unloaded"))


def _with_event_controls(outcome: Outcome, payload: bytes) -> Outcome:
    """A change set's output is the event's part with the changes applied: whether a value in it
    may hold CR, LF or NUL (Outcome.controls) asks the event as well as the answer."""
    if outcome.changes is not None and not outcome.controls:
        outcome.controls = payload_has_controls(payload)
    return outcome
