"""Warm workers per handler, per-trigger timeout and memory, and a crashed worker replaced.

`LambdaEdgeRuntime.function(assoc, event_type)` gives the pipeline an `EdgeFunction`. Functions
running the same handler with the same memory share one pool of warm workers; a pool grows up to
`max_concurrency` workers when requests overlap, and a worker that died or was killed is simply
dropped, so the next request starts a fresh one (spec §2.7, §2.8).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, overload

from edgesim import errors
from edgesim.config import DistributionSettings
from edgesim.config_checks import lambda_limits
from edgesim.function_associations import LambdaFunctionAssociation
from edgesim.lambda_edge.handler_hint import config_source, handler_not_found_hint, import_hint, where_it_failed
from edgesim.lambda_edge import event as cf_event
from edgesim.lambda_edge import validation
from edgesim.lambda_edge.protocol import InvokeContext
from edgesim.lambda_edge.workers import ACCOUNT, REGION, InvokeOutcome, Worker, WorkerInitError, WorkerSpec
from edgesim.messages import EventType
from edgesim.runtime import FunctionKind, TriggerCall, TriggerResult

if TYPE_CHECKING:
    from edgesim.lambda_edge.inspector import Inspector

DEFAULT_MEMORY_MB = 128  # Lambda's default; origin triggers may ask for up to 10,240 (spec §2.7)
def new_request_id() -> str:
    """A version-4 UUID in form, as Lambda's request ids are: a random prefix per process and a count.
    It only has to be unique, not secret or unguessable, and this runs once per invocation:
    random bits formatted and sliced into five groups each time cost more than the count (issue 6)."""
    return f"{_REQUEST_ID_PREFIX}{next(_REQUEST_ID_COUNT):012x}"


# 8-4-4-4- of a random UUID4 (its version and variant bits in place); the last 12 digits count up.
_REQUEST_ID_PREFIX = str(uuid.uuid4())[:24]
_REQUEST_ID_COUNT = itertools.count(random.getrandbits(40))


def worker_spec(assoc: LambdaFunctionAssociation, memory: int, *, aws_credentials: bool = False,
                site_packages: bool = False) -> WorkerSpec:
    return WorkerSpec(language=assoc.language, path=assoc.path, function=assoc.function,
                      runtime=assoc.runtime, name=assoc.name, memory=memory, module=assoc.module,
                      aws_credentials=aws_credentials, site_packages=site_packages)


def trigger_limits(assoc: LambdaFunctionAssociation, event_type: EventType, quotas: str) -> tuple[float, int]:
    """(timeout s, memory MB): the association's own values, else the trigger's (spec §2.7)."""
    max_timeout, max_memory = lambda_limits(event_type, quotas)
    timeout = min(assoc.timeout or max_timeout, max_timeout)
    memory = min(assoc.memory or DEFAULT_MEMORY_MB, max_memory)
    return timeout, memory


@dataclass(slots=True)
class Execution:
    """One invocation as the log sees it."""

    outcome: InvokeOutcome
    logs: Sequence[str]
    request_id: str
    cold_start: bool


class CloudWatchLog(Sequence[str]):
    """The START / END / REPORT lines of an invocation that logged nothing else and did not fail,
    formatted when first read. The serve log's text lines never show them (request_log.py reads
    `frame_only` instead), so most are never formatted: formatting them was 6% of the serving
    process's instructions per warm invocation (issue 6). A failure, the handler's own lines or a
    cold start's Init Duration are formatted at once (cloudwatch_log), their times being now's."""

    __slots__ = ("_spec", "_request_id", "_outcome", "_timeout", "_memory_part", "_lines")
    frame_only = True

    def __init__(self, spec: WorkerSpec, request_id: str, outcome: InvokeOutcome, timeout: float,
                 memory_part: str) -> None:
        self._spec, self._request_id, self._outcome = spec, request_id, outcome
        self._timeout, self._memory_part = timeout, memory_part
        self._lines: list[str] | None = None

    def _formatted(self) -> list[str]:
        if self._lines is None:
            self._lines = cloudwatch_log(self._spec, self._request_id, self._outcome, self._timeout, self._memory_part)
        return self._lines

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._formatted()[index]

    def __len__(self) -> int:
        return 3

    def __iter__(self) -> Iterator[str]:
        return iter(self._formatted())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # equal to a list, so unhashable as a list is

    def __repr__(self) -> str:
        return repr(self._formatted())


class WorkerPool:
    """Warm workers for one WorkerSpec: reuse an idle one, else start one, up to max_concurrency."""

    def __init__(self, spec: WorkerSpec, max_concurrency: int, *, source: str = "",
                 inspector: Inspector | None = None) -> None:
        self.spec = spec
        # Under `serve --inspect`: the handler's debugger port (inspector.py), and no time limit.
        self._inspector = inspector
        self.inspect_port: int | None = None  # assigned at its first worker's start (Inspector.warm's order)
        # What named the handler (a config field and its value), for a HandlerNotFound (handler_hint.py).
        self.source = source
        # Slots free, and the invocations queued for one (a semaphore that hands a freed slot
        # straight to the next in line; asyncio.Semaphore's two coroutines per acquire and its
        # wake-ups were a measurable share of an invocation under load, issue 6).
        self._free = max_concurrency
        self._queue: deque[asyncio.Future[None]] = deque()
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._closed = False
        # The context fields that never change for this spec; each invocation adds its own three.
        name = spec.function_name
        self._context_base = {"functionName": name, "functionVersion": "1",
                              "invokedFunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{spec.name}:1",
                              "memoryLimitInMB": spec.memory, "logGroupName": f"/aws/lambda/{name}"}
        self._report_memory = report_memory(spec)

    def _take(self) -> bool:
        """Take a free slot if one is there and nobody queues for it."""
        if self._free > 0 and not self._queue:
            self._free -= 1
            return True
        return False

    async def _acquire(self) -> None:
        if self._take():
            return
        turn = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # handed a slot as it was cancelled: pass it on
            else:
                self._queue.remove(turn)
            raise

    def _release(self) -> None:
        queue = self._queue
        while queue:
            turn = queue.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot goes to the next in line, never back to the pool
                return
        self._free += 1

    async def warm(self) -> None:
        await self._acquire()
        try:
            if not any(w.alive for w in self._idle):
                self._idle.append(await self._start())
        finally:
            self._release()

    async def _start(self) -> Worker:
        if self._closed:  # a request still arriving while the distribution shuts down
            raise WorkerInitError({"errorType": "Runtime.Closed", "stackTrace": [],
                                   "errorMessage": "edgesim is shutting this function down"}, [])
        if self._inspector is not None and self.inspect_port is None:
            self.inspect_port = self._inspector.port_for(self.spec)
        worker = Worker(self.spec, self._inspector, self.inspect_port)
        self._all.add(worker)
        try:
            await worker.start()
        except BaseException:
            self._all.discard(worker)
            raise
        return worker

    async def execute(self, event: Any, timeout: float) -> Execution:
        """Run one event in a warm worker (starting one if none is idle) and format its log."""
        request_id = new_request_id()
        if not self._take():  # a free slot is taken without a coroutine
            await self._acquire()
        try:
            worker = None
            while self._idle and worker is None:
                candidate = self._idle.pop()
                worker = candidate if candidate.alive else None
                if worker is None:
                    await candidate.kill()
                    self._all.discard(candidate)
            for attempt in range(2):
                cold = worker is None
                if worker is None:
                    try:
                        worker = await self._start()
                    except WorkerInitError as exc:
                        raise _init_error(self.spec, exc, request_id, self.source) from None
                # The handler's context keeps the trigger's deadline; only the kill is lifted.
                kill_after = timeout if self._inspector is None else _no_time_limit()
                try:
                    outcome = await worker.invoke(event, self._context(worker, request_id, timeout), kill_after)
                finally:  # back to the idle list if it lived through it (cancellation kills it)
                    if worker.alive:
                        self._idle.append(worker)
                    else:
                        self._all.discard(worker)
                if outcome.started or attempt:
                    break
                # The worker had died idle, before reading the event (say a handler ended its process
                # after answering): as Lambda starts a new runtime then, a fresh worker runs it.
                worker = None
            assert worker is not None
            if cold:
                outcome.init_ms = worker.init_ms
        finally:
            self._release()
        if outcome.failure is None and not outcome.lines and outcome.init_ms is None:
            logs: Sequence[str] = CloudWatchLog(self.spec, request_id, outcome, timeout, self._report_memory)
        else:
            logs = cloudwatch_log(self.spec, request_id, outcome, timeout, self._report_memory)
        return Execution(outcome, logs, request_id, cold)

    def _context(self, worker: Worker, request_id: str, timeout: float) -> InvokeContext:
        return {**self._context_base, "awsRequestId": request_id,  # type: ignore[typeddict-item]
                "logStreamName": worker.log_stream, "deadlineMs": (time.time() + timeout) * 1000}

    async def aclose(self) -> None:
        self._closed = True
        workers, self._all, self._idle = list(self._all), set(), []
        await asyncio.gather(*(w.kill() for w in workers))


def _no_time_limit() -> float:
    from edgesim.lambda_edge.inspector import NO_TIME_LIMIT_S

    return NO_TIME_LIMIT_S


def report_memory(spec: WorkerSpec) -> str:
    """The REPORT line's part between the billed duration and the memory used (a pool keeps it)."""
    return f" ms\tMemory Size: {spec.memory} MB\tMax Memory Used: "


def cloudwatch_log(spec: WorkerSpec, request_id: str, outcome: InvokeOutcome, timeout: float,
                   memory_part: str | None = None) -> list[str]:
    """START / the handler's lines / END / REPORT, as Lambda writes them to CloudWatch.

    `memory_part` is report_memory(spec), which a pool formats once for all its invocations."""
    duration = outcome.duration_ms
    report = (f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: "
              f"{max(1, math.ceil(duration))}{memory_part or report_memory(spec)}{outcome.max_memory_mb} MB")
    if outcome.failure is None and not outcome.lines and outcome.init_ms is None:  # the usual case
        return [f"START RequestId: {request_id} Version: 1", f"END RequestId: {request_id}", report]
    lines = [f"START RequestId: {request_id} Version: 1", *outcome.lines]
    if outcome.failure == "timeout":
        # Lambda's own line: UTC with milliseconds, e.g. 2024-01-01T00:00:03.012Z <id> Task timed out ...
        at = time.time()
        now = f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(at))}.{int(at * 1000) % 1000:03d}Z"
        lines.append(f"{now} {request_id} Task timed out after {timeout:.2f} seconds")
    elif outcome.failure is not None:
        kind = "Runtime.OutOfMemory" if outcome.failure == "memory" else "Runtime.ExitError"
        lines.append(f"RequestId: {request_id} Error: {outcome.detail or 'Runtime exited'}")
        lines.append(kind)
    lines.append(f"END RequestId: {request_id}")
    if outcome.init_ms is not None:
        report += f"\tInit Duration: {outcome.init_ms:.2f} ms"
    lines.append(report)
    return lines


def _init_error(spec: WorkerSpec, exc: WorkerInitError, request_id: str, source: str = "") -> errors.LambdaExecutionError:
    info = exc.error
    lines = [*exc.lines, f"INIT_REPORT Phase: init\tStatus: error\tError Type: {info['errorType']}",
             f"START RequestId: {request_id} Version: 1", f"END RequestId: {request_id}"]
    hint = handler_not_found_hint(spec.path, spec.function, source) if (
        source and info["errorType"] == "Runtime.HandlerNotFound") else ""
    hint += import_hint(spec.path, info["errorType"], info["errorMessage"], spec.site_packages)
    return errors.LambdaExecutionError(
        f"{spec.name} ({where_it_failed(spec.path, dict(info), exc.at)}): {info['errorType']}: "
        f"{info['errorMessage']}{hint}", logs=lines)


def raise_for_outcome(spec: WorkerSpec, execution: Execution, timeout: float) -> None:
    """A failed invocation becomes CloudFront's 503 (spec §2.8)."""
    outcome, logs = execution.outcome, execution.logs
    if outcome.ok and outcome.failure is None:
        return
    if outcome.failure == "timeout":
        raise errors.LambdaLimitExceeded(f"{spec.name}: Task timed out after {timeout:.2f} seconds", logs=logs)
    if outcome.failure == "memory":
        raise errors.LambdaLimitExceeded(
            f"{spec.name}: Runtime.OutOfMemory: used more than its {spec.memory} MB", logs=logs)
    if outcome.failure == "crash":
        raise errors.LambdaExecutionError(f"{spec.name}: {outcome.detail or 'Runtime exited'}", logs=logs)
    if not outcome.ok:
        info = outcome.error or {"errorType": "Error", "errorMessage": "unknown error", "stackTrace": []}
        raise errors.LambdaExecutionError(
            f"{spec.name}: {info['errorType']}: {info['errorMessage']}{_async_def_hint(spec, info)}", logs=logs)


def _async_def_hint(spec: WorkerSpec, info: Mapping[str, Any]) -> str:
    """Lambda's words for an `async def` handler name a coroutine, not the `async`: Lambda's Python
    runtime calls the handler and marshals what it returns without awaiting it."""
    if info.get("errorType") == "Runtime.MarshalError" and "type coroutine" in str(info.get("errorMessage")):
        return (f" (edgesim: {spec.function} is `async def`; Lambda's Python runtime does not await a handler, "
                "so write it as a plain `def`)")
    return ""


class LambdaEdgeFunction:
    """One association at one trigger point; an `edgesim.runtime.EdgeFunction`."""

    kind: FunctionKind = "lambda"

    def __init__(self, assoc: LambdaFunctionAssociation, event_type: EventType, pool: WorkerPool,
                 timeout: float) -> None:
        self.name = assoc.name
        self.assoc = assoc
        self.event_type = event_type
        self.timeout = timeout
        self._pool = pool

    async def warm(self) -> None:
        try:
            await self._pool.warm()
        except WorkerInitError as exc:
            raise _init_error(self._pool.spec, exc, "warm", self._pool.source) from None

    async def invoke(self, call: TriggerCall) -> TriggerResult:
        cf = cf_event.build_cf(call, include_body=self.assoc.include_body)
        event: dict[str, Any] = {"Records": [{"cf": cf}]}
        execution = await self._pool.execute(event, self.timeout)
        raise_for_outcome(self._pool.spec, execution, self.timeout)
        outcome = execution.outcome
        if outcome.unreadable:
            raise errors.LambdaValidationError(f"{self.name}: {validation.unreadable(outcome.unreadable).reason}",
                                               logs=execution.logs)
        out = outcome.result if outcome.utf8_result is None else outcome.utf8_result
        result = TriggerResult(logs=execution.logs, duration_ms=execution.outcome.duration_ms,
                               cold_start=execution.cold_start, event=event, output=out)
        if out == (cf["request"] if self.event_type.is_request else cf["response"]):
            # Returned as received (a pass-through handler): valid by construction, nothing to apply.
            if self.event_type.is_request:
                result.request = call.request
            else:
                result.response = call.response
            return result
        out = validation.lowercase_header_names(out)  # CloudFront takes `X-Frame-Options` as `x-frame-options`
        try:
            generated = validation.check_output(self.event_type, dict(cf), out)
        except errors.LambdaValidationError as exc:
            err = errors.LambdaValidationError(f"{self.name}: {exc.reason}", logs=execution.logs)
            err.page_reason = exc.page_reason  # CloudFront's own sentence for the rule, when it has one
            raise err from None
        if generated:
            result.response, result.generated = cf_event.generated_response(out), True
        elif self.event_type.is_request:
            result.request = cf_event.apply_request(call, cf, out)
        else:
            assert call.response is not None
            result.response = cf_event.apply_response(call.response, out)
        return result

    async def aclose(self) -> None:
        """Pools belong to the runtime, shared between functions; the runtime closes them."""


class LambdaEdgeRuntime:
    """Owns every Lambda@Edge worker of a distribution; an async context manager."""

    # `lambda_max_workers` (4 by default) workers per handler, unless `max_concurrency` says otherwise
    # (tests, benchmarks). 4: measured on 2 cores under 16 and 64 concurrent requests (benchmark
    # stack, origin-request + origin-response): 2 per handler served as many requests at 16 and
    # fewer at 64, where requests queue for a worker; more processes than cores costs less than
    # queueing, since each worker sleeps between its short invocations.
    def __init__(self, settings: DistributionSettings, *, max_concurrency: int | None = None,
                 inspector: Inspector | None = None) -> None:
        self.settings = settings
        # Inspecting, one warm worker per handler: every request reaches the process the debugger
        # is attached to (concurrent ones queue for it).
        cap = settings.lambda_max_workers if max_concurrency is None else max_concurrency
        self.max_concurrency = 1 if inspector is not None else cap
        self.inspector = inspector
        self._pools: dict[WorkerSpec, WorkerPool] = {}

    def function(self, assoc: LambdaFunctionAssociation, event_type: EventType) -> LambdaEdgeFunction:
        timeout, memory = trigger_limits(assoc, event_type, self.settings.lambda_quotas)
        spec = worker_spec(assoc, memory, aws_credentials=self.settings.lambda_aws_credentials,
                           site_packages=self.settings.lambda_python_site_packages)
        pool = self._pools.get(spec)
        if pool is None:
            source = config_source(f"functions.{event_type.value}.lambda", assoc.handler) + " in the config"
            pool = self._pools[spec] = WorkerPool(spec, self.max_concurrency, source=source,
                                                  inspector=self.inspector)
        return LambdaEdgeFunction(assoc, event_type, pool, timeout)

    async def aclose(self) -> None:
        await asyncio.gather(*(pool.aclose() for pool in self._pools.values()))

    async def __aenter__(self) -> LambdaEdgeRuntime:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()
