"""The mini-racer boundary: one warm V8 isolate per function, its budgets, and V8's errors.

Only this module imports py_mini_racer. It loads prelude.js and the user's code once, then runs
`__cf.invoke` per request through `eval_cancelable` on the running event loop (V8 works on its own
thread, so other requests keep flowing while a function runs), with a wall-clock kill for runaway
code and a hard heap limit for memory (spec §1.6).
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import orjson
from py_mini_racer import (
    DEFAULT_V8_FLAGS,
    JSEvalException,
    MiniRacer,
    init_mini_racer,
    mini_racer,
)

# CloudFront gives a function 2 MB (spec §1.6). The isolate's own baseline (V8's built-ins, the
# prelude, the compiled function) is measured at load and added on top, so only what the user's
# code allocates counts against the 2 MB.
MEMORY_LIMIT_BYTES = 2 * 1024 * 1024

# eval() and new Function() throw in CloudFront (spec §1.5); V8 refuses them itself with this flag.
V8_FLAGS = (*DEFAULT_V8_FLAGS, "--disallow-code-generation-from-strings")

# Rounds of the built-ins' warm-up at load (prelude.js __cf.warm), for functions that use them.
WARM_ROUNDS = 100

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
        self._time_limit_s = time_limit_ms / 1000
        self._cm: AbstractContextManager[MiniRacer] | None = None
        self._mr: MiniRacer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._kvs_version: object = None
        self._round_trips = 1
        self.baseline_bytes = 0
        self.floor_ms = 0.0

    async def start(self) -> None:
        """Create the isolate on the running loop, load prelude and code, calibrate the budgets."""
        init_mini_racer(flags=V8_FLAGS, ignore_duplicate_init=True)
        self._loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()
        self._cm = mini_racer(self._loop)
        self._mr = self._cm.__enter__()
        runtime_version = self._runtime.rsplit("-", 1)[1]
        await self._mr.eval_cancelable(f"var __CF_RUNTIME = {json.dumps(runtime_version)};\n" + _PRELUDE)
        try:
            await self._mr.eval_cancelable(self._factory_source())
        except JSEvalException as exc:
            self.close()
            raise CompileError(*_v8_message_and_line(str(exc))) from None
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
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            await self._mr.eval_cancelable("0")
            samples.append((time.perf_counter() - t0) * 1000)
        self.floor_ms = min(samples)

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
        event_json = orjson.dumps(event).decode("utf-8")  # orjson: the event's encoding is on the hot path
        # JSON text is a JavaScript expression, so the event goes in as a literal: no second encoding
        # and no JSON.parse. A "__proto__" key would set a prototype in a literal; a computed key
        # makes it an ordinary property, as JSON.parse would. (Inside JSON strings quotes are escaped,
        # so the pattern only ever matches a key.)
        if '"__proto__":' in event_json:
            event_json = event_json.replace('"__proto__":', '["__proto__"]:')
        query = "null" if raw_query is None else json.dumps(raw_query)
        code = f'__cf.invoke({event_json},{now_ms!r},"{event_type}",{edge_json},{query},{self._file_json})'
        async with self._lock:  # one invocation at a time, so the time limit counts only its own run
            for attempt in (1, 2):
                t0 = time.perf_counter()
                value, failure = await self._attempt(mr, code)
                if failure is None:
                    break
                if failure == "timeout":
                    return await self._after_kill(t0, timed_out=True)
                if failure == "never-settled":
                    # Nothing could ever settle it (no timers, no I/O): on CloudFront it would run
                    # out of time, so it is reported as a timeout, without waiting for one.
                    logs = json.loads(str(await mr.eval_cancelable("__cf.logs()")))
                    return Outcome(ok=False, timed_out=True, never_settled=True, logs=logs, elapsed_ms=_ms_since(t0))
                if failure != "memory":
                    return Outcome(ok=False, error=failure, elapsed_ms=_ms_since(t0))
                killed = await self._after_kill(t0, out_of_memory=True)
                # V8 counts garbage that earlier invocations left in the old generation until a
                # full GC. The heap is clean now, so a second run measures this one alone; it is
                # safe to repeat because a function has no side effects outside its isolate.
                if attempt == 2:
                    return killed
            elapsed = _ms_since(t0)
        data = orjson.loads(str(value))
        return Outcome(
            ok=data["ok"], output=data.get("output"), error=data.get("error", ""), line=data.get("line"),
            invalid=data.get("invalid", False), logs=data["logs"], origin=data.get("origin"),
            log_data=data.get("logData"), elapsed_ms=elapsed, round_trips=self._round_trips,
        )

    async def _attempt(self, mr: MiniRacer, code: str) -> tuple[object, str | None]:
        """(result, None), or (None, "timeout" | "memory" | V8's message) when V8 stopped the run."""
        # A bare timer that cancels this task: cheaper than asyncio.timeout on the hot path.
        # Cancelling the await makes mini-racer terminate the script inside V8.
        task = asyncio.current_task()
        assert task is not None and self._loop is not None
        fired: list[bool] = []
        watchdog = self._loop.call_later(self._time_limit_s, _kill, task, fired)
        try:
            self._round_trips = 1
            value = await mr.eval_cancelable(code)
            if value == "pending":  # an async handler (2.0); see __cf.settled in prelude.js
                self._round_trips = 2
                value = await mr.eval_cancelable("__cf.settled()")
                if value == "pending":
                    return None, "never-settled"
            return value, None
        except asyncio.CancelledError:
            if not fired:
                raise
            task.uncancel()
            return None, "timeout"
        except JSEvalException as exc:
            if mr.was_hard_memory_limit_reached():
                return None, "memory"
            return None, str(exc).strip().splitlines()[-1]
        finally:
            watchdog.cancel()

    async def _after_kill(self, t0: float, *, timed_out: bool = False, out_of_memory: bool = False) -> Outcome:
        """V8 stopped the run: recover the log lines so far and leave the isolate ready for the next request."""
        elapsed = _ms_since(t0)
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
        cm, self._cm, self._mr = self._cm, None, None
        if cm is not None:
            cm.__exit__(None, None, None)


def _kill(task: asyncio.Task[Any], fired: list[bool]) -> None:
    fired.append(True)
    task.cancel()


def _ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def _v8_message_and_line(text: str) -> tuple[str, int | None]:
    """V8's 'file:LINE: SyntaxError: ...' text -> ('SyntaxError: ...', LINE)."""
    first = text.strip().splitlines()[0] if text.strip() else text
    parts = first.split(":", 2)
    if len(parts) == 3 and parts[1].strip().isdigit():
        return parts[2].strip(), int(parts[1])
    return first, None
