"""A CloudFront Function kept warm in its own V8 isolate: load, invoke, and CloudFront's errors.

`load_cloudfront_function` refuses what CloudFront refuses at create time (size, syntax, the
runtime's language subset); `CloudFrontFunction.invoke` runs viewer-request / viewer-response
triggers for the pipeline; `CloudFrontFunction.run` is the core both it and test-function use.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote

from edgesim.cloudfront_functions.edge_location import edge_location
from edgesim.cloudfront_functions.event import Context, build_event
from edgesim.cloudfront_functions.hints import runtime_hint
from edgesim.cloudfront_functions.isolate import MEMORY_LIMIT_BYTES, CompileError, Isolate, Outcome
from edgesim.cloudfront_functions.kvs import KeyValueStore
from edgesim.cloudfront_functions.lint import Violation, analyse
from edgesim.cloudfront_functions.origins import apply_origin_change
from edgesim.cloudfront_functions.output import (
    InvalidOutput,
    apply_request,
    apply_response,
    is_response,
    normalize_changes,
    normalize_request,
    normalize_response,
)
from edgesim.config import DistributionSettings
from edgesim.docs_links import cite
from edgesim.encoding import shown
from edgesim.errors import FunctionCodeError, FunctionExecutionError, FunctionValidationError, ViewerError
from edgesim.function_associations import CloudFrontFunctionAssociation
from edgesim.messages import EventType
from edgesim.runtime import TriggerCall, TriggerResult

MAX_CODE_BYTES = 10 * 1024  # spec §1.6: 10 KB, not adjustable

# What CloudFront's ComputeUtilization shows for a function that does next to nothing: its engine's
# own work per invocation (building the event, serialising the answer), which V8 does in a few
# microseconds. TestFunction results published with aws-samples' one-line functions read 7 to 16
# (2021-2024) where edgesim measured 2 to 6; their JWT check read 19 (spec §1.6, a pseudo value).
INVOCATION_UTILIZATION = 5

# The prefix CloudFront puts before the JS error in TestFunction's FunctionErrorMessage (spec §1.10).
EXECUTION_PREFIX = FunctionExecutionError.page_reason + " "


@dataclass(slots=True)
class Run:
    """One handler run with CloudFront's rules applied to its output (shared by invoke and test-function)."""

    outcome: Outcome
    output: dict[str, Any] | None  # the normalised FunctionOutput ({"request": ...} or {"response": ...})
    error: ViewerError | None
    compute_utilization: int
    result: TriggerResult | None = None  # the write-back onto the call's Request / Response (invoke only)


class CloudFrontFunction:
    """An `edgesim.runtime.EdgeFunction` for one CloudFront Function. Owns its isolate."""

    kind: Literal["cloudfront-function"] = "cloudfront-function"

    def __init__(self, assoc: CloudFrontFunctionAssociation, settings: DistributionSettings, source: str,
                 load_error: Violation | None, *, guard: tuple[str, ...] = ()) -> None:
        self.name = assoc.name
        self.assoc = assoc
        self.settings = settings
        self.file = str(assoc.cloudfront_function)
        self._file_name = assoc.cloudfront_function.name
        self._source = source
        self._load_error = load_error
        self._guard = guard  # the built-ins restored after each invocation (lint.py's builtin_writes)
        self._isolate: Isolate | None = None
        self._kvs = KeyValueStore(assoc.kvs) if assoc.kvs is not None else None

    async def _start(self) -> Isolate:
        """The warm isolate; recreated when called from another event loop than the one it was made on."""
        loop = asyncio.get_running_loop()
        if self._isolate is not None and self._isolate.loop is loop:
            return self._isolate
        if self._isolate is not None:
            self._isolate.close()
            self._isolate = None
        isolate = Isolate(self._source, runtime=self.assoc.runtime, file=self._file_name,
                          time_limit_ms=self.settings.function_time_limit_ms, guard=self._guard)
        try:
            await isolate.start()
        except CompileError as exc:
            raise FunctionCodeError(exc.message, file=self.file, line=exc.line) from None
        self._isolate = isolate
        return isolate

    @property
    def memory_baseline_bytes(self) -> int:
        """The isolate's own heap (V8, prelude, code, KVS) that the 2 MB limit is added to."""
        return self._isolate.baseline_bytes if self._isolate is not None else 0

    async def run(self, event: dict[str, Any], *, event_type: EventType, now: float, edge: dict[str, str],
                  raw_query: str | None, header_rules: bool, original: TriggerCall | None = None) -> Run:
        """Run the handler on `event` (epoch seconds `now`) and check its output as CloudFront does."""
        if self._load_error is not None:
            # Refused syntax is accepted at create and fails every run with 503 (spec §1.5).
            message = self._load_error.engine_message()
            outcome = Outcome(ok=False, error=message)
            detail = f"{self.file}:{self._load_error.line}: {self._load_error.construct} is not supported in {self.assoc.runtime}"
            return Run(outcome, None, FunctionExecutionError(f"{message} ({detail}; {self._load_error.fix})"), 0)
        isolate = self._isolate
        if isolate is None or isolate.loop is not asyncio.get_running_loop():
            isolate = await self._start()
        if self._kvs is not None:
            try:
                snap = self._kvs.snapshot()
            except FunctionCodeError as exc:  # a broken edit of the store while serving
                return Run(Outcome(ok=False, error=str(exc)), None, FunctionExecutionError(
                    f"{self.name}: KeyValueStore cannot be read: {exc}"), 0)
            await isolate.load_kvs(snap.version, snap.data_json, snap.meta_json)
        # An event of build_event's (an invocation, not test-function's) may be answered with a change set.
        outcome = await isolate.call(event, now_ms=now * 1000, event_type=event_type.value,
                                     edge_json=_edge_json(edge), raw_query=raw_query, changes=original is not None)
        return self._finish(isolate, outcome, event, event_type, header_rules, original)

    def _finish(self, isolate: Isolate, outcome: Outcome, event: dict[str, Any], event_type: EventType,
                header_rules: bool, original: TriggerCall | None) -> Run:
        """The run's compute utilization, then CloudFront's rules on its output (_check)."""
        budget = self.settings.function_compute_budget_ms
        # The share of the budget the function itself used: the bare cost of each trip into V8 is
        # edgesim's, not the function's (spec §1.6; a pseudo value, V8 is not CloudFront's engine).
        # So is the restore of the built-ins after it (pristine.js), at its calibrated cost: CloudFront
        # starts each request in a fresh VM, which it does not bill either. What a restore costs
        # beyond that (putting back what the function changed) is left to the function.
        restore_ms = isolate.restore_ms if outcome.restored else 0.0
        used = max(0.0, outcome.elapsed_ms - isolate.floor_ms * outcome.trips - restore_ms)
        utilization = min(100, INVOCATION_UTILIZATION + round(used / budget * 100))
        return self._check(outcome, event, event_type, utilization, header_rules, original)

    def _check(self, outcome: Outcome, event: dict[str, Any], event_type: EventType, utilization: int,
               header_rules: bool, original: TriggerCall | None) -> Run:
        logs = outcome.logs
        if outcome.never_settled:
            return Run(outcome, None, FunctionExecutionError(
                f"{self.name}: the handler's promise never settles (CloudFront Functions have no timers or I/O "
                f"to settle it), so CloudFront stops it at its time limit ({cite('functions-javascript-runtime-features')})",
                logs=logs), 100)
        if outcome.timed_out:
            limit = self.settings.function_time_limit_ms
            return Run(outcome, None, FunctionExecutionError(
                f"{self.name} ran longer than {limit:g} ms and was stopped (distribution.function_time_limit_ms)",
                logs=logs), 100)
        if outcome.out_of_memory:
            return Run(outcome, None, FunctionExecutionError(
                f"{self.name} allocated more than CloudFront's {MEMORY_LIMIT_BYTES // 2**20} MB function memory "
                f"({cite('cloudfront-limits')})",
                logs=logs), utilization)
        if outcome.invalid:
            return Run(outcome, None, FunctionValidationError(outcome.error, logs=logs), utilization)
        if not outcome.ok:
            where = f" ({self.file}:{outcome.line})" if outcome.line else ""
            hint = runtime_hint(outcome.error, self.assoc.runtime)
            where += f"; {hint}" if hint else ""
            return Run(outcome, None, FunctionExecutionError(outcome.error + where, logs=logs), utilization)
        try:
            if outcome.changes is not None:  # the event's own request / response, headers edited
                side = "response" if event_type is EventType.VIEWER_RESPONSE else "request"
                output = {side: normalize_changes(outcome.changes, event[side], side, controls=outcome.controls)}
            else:
                output = self._normalize(outcome.output, event, event_type, outcome.controls)
            if original is not None:
                result = self._apply(output, event, event_type, original, outcome, header_rules)
            else:
                result = None
        except InvalidOutput as exc:
            return Run(outcome, None, FunctionValidationError(str(exc), logs=logs), utilization)
        return Run(outcome, output, None, utilization, result)

    @staticmethod
    def _normalize(output: Any, event: dict[str, Any], event_type: EventType, controls: bool = True) -> dict[str, Any]:
        if output is None:
            raise InvalidOutput("the function returned nothing; return event.request or a response object "
                                f"({cite('function-code-choose-purpose')})")
        if event_type is EventType.VIEWER_RESPONSE:
            return {"response": normalize_response(output, event["response"], controls=controls)}
        if is_response(output):
            response = normalize_response(output, None, controls=controls)
            response.setdefault("cookies", {})
            return {"response": response}
        return {"request": normalize_request(output, event["request"], controls=controls)}

    @staticmethod
    def _apply(output: dict[str, Any], event: dict[str, Any], event_type: EventType, call: TriggerCall,
               outcome: Outcome, header_rules: bool) -> TriggerResult:
        if "request" in output:
            request = apply_request(output["request"], event["request"], call.request, header_rules=header_rules,
                                    changes=outcome.changes)
            if outcome.origin is not None:
                apply_origin_change(request, outcome.origin, call.origins)
            return TriggerResult(request=request)
        original = call.response if event_type is EventType.VIEWER_RESPONSE else None
        response = apply_response(output["response"], event.get("response"), original, event_type,
                                  header_rules=header_rules, changes=outcome.changes)
        return TriggerResult(response=response, generated=event_type is EventType.VIEWER_REQUEST)

    async def invoke(self, call: TriggerCall) -> TriggerResult:
        settings = call.distribution
        # `_value_`, not `.value`: the enum property costs ~1 us a read on Python 3.11 (as lambda_edge/event.py).
        event_type = call.event_type._value_
        context: Context = {"distributionDomainName": settings.domain_name, "distributionId": settings.id,
                            "eventType": event_type, "requestId": call.request_id}
        event = build_event(call.event_type, call.request, response=call.response, context=context)
        now = call.now if call.now is not None else time.time()
        raw_query = call.request.querystring if call.request.querystring else None
        if raw_query is not None and not raw_query.isascii():
            raw_query = shown(raw_query)  # rawQueryString() is as the event's query string (spec §1.4)
        isolate = self._isolate
        if (self._load_error is None and self._kvs is None and isolate is not None
                and isolate.loop is asyncio.get_running_loop()):
            # run()'s common case, without its coroutine: a warm isolate, no KeyValueStore to refresh.
            outcome = await isolate.call(event, now_ms=now * 1000, event_type=event_type,
                                         edge_json=_pop_edge_json(settings.pop), raw_query=raw_query, changes=True)
            run = self._finish(isolate, outcome, event, call.event_type, True, call)
        else:
            run = await self.run(event, event_type=call.event_type, now=now, edge=edge_location(settings.pop),
                                 raw_query=raw_query, header_rules=True, original=call)
        if run.error is not None:
            raise run.error
        result = run.result
        assert result is not None
        result.logs = run.outcome.logs
        result.duration_ms = run.outcome.elapsed_ms
        result.compute_utilization = run.compute_utilization
        if run.outcome.log_data is not None:
            result.log_data = log_field(run.outcome.log_data)
        result.event = event
        result.output = run.output
        return result

    async def aclose(self) -> None:
        if self._isolate is not None:
            self._isolate.close()
            self._isolate = None


def _edge_json(edge: dict[str, str]) -> str:
    return _edge_text(edge["name"], edge["serverIp"], edge["region"])


@lru_cache(maxsize=64)
def _pop_edge_json(pop: str) -> str:
    """cf.edgeLocation of the configured point of presence as JSON: made once per pop, not per call."""
    return _edge_json(edge_location(pop))


@lru_cache(maxsize=64)
def _edge_text(name: str, server_ip: str, region: str) -> str:
    return json.dumps({"name": name, "serverIp": server_ip, "region": region})


async def load_cloudfront_function(assoc: CloudFrontFunctionAssociation, settings: DistributionSettings,
                                   *, defer_errors: bool = False) -> CloudFrontFunction:
    """Load, check and warm one function. Raises FunctionCodeError naming the file and line.

    With `defer_errors`, code that CloudFront accepts at create but refuses at run time (the
    language subset, spec §1.5) loads anyway and fails each invocation with 503, as on CloudFront.
    """
    path = assoc.cloudfront_function
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FunctionCodeError(f"cannot read function: {exc.strerror}", file=file) from None
    if len(raw) > MAX_CODE_BYTES:
        raise FunctionCodeError(
            f"function code is {len(raw)} bytes; CloudFront Functions take at most {MAX_CODE_BYTES} bytes "
            f"(10 KB; {cite('cloudfront-limits')})",
            file=file, code="FunctionSizeLimitExceeded")
    try:
        code = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FunctionCodeError(f"function code is not UTF-8 (byte {exc.start})", file=file) from None
    analysis = analyse(code, assoc.runtime)
    first = analysis.violations[0] if analysis.violations else None
    if first is not None and not defer_errors:
        raise FunctionCodeError(first.problem(file, assoc.runtime).split(": ", 1)[1], file=file, line=first.line)
    # A syntax error can hide the handler from the parse (an unclosed brace): V8 names the error then.
    if not analysis.has_handler and first is None and analysis.syntax_error_line is None:
        raise FunctionCodeError(NO_HANDLER, file=file)
    function = CloudFrontFunction(assoc, settings, analysis.source, first, guard=analysis.builtin_writes)
    if first is None:
        try:
            await function._start()
        except FunctionCodeError as exc:
            raise _in_the_file(exc, analysis.source, analysis.syntax_error_line) from None
        if not analysis.has_handler:
            await function.aclose()
            raise FunctionCodeError(NO_HANDLER, file=file)
        if function._kvs is not None:
            function._kvs.snapshot()  # refuse an over-limit store at load (spec §1.8)
    return function


NO_HANDLER = ("no top-level `function handler(event)`; CloudFront calls that function "
              f"({cite('function-code-choose-purpose')})")


def _in_the_file(exc: FunctionCodeError, source: str, parse_error_line: int | None) -> FunctionCodeError:
    """V8 compiles the code inside a wrapper (isolate.py), so an unbalanced brace fails in the
    wrapper's lines: past the end of the file, and as "Illegal return statement" when one '}' too
    many closed the wrapper. CloudFront compiles the file alone; say what that says, in the file."""
    last = len(source.splitlines()) or 1
    if exc.line is None or exc.line <= last:
        return exc
    if "end of input" in exc.reason:  # something left open: the file ends first
        return FunctionCodeError(exc.reason, file=exc.file, line=last)
    return FunctionCodeError("SyntaxError: Unexpected token '}'", file=exc.file, line=parse_error_line or last)


def check_cloudfront_function(assoc: CloudFrontFunctionAssociation) -> list[str]:
    """Every problem `edgesim check` reports for this function, one line each (file:line: what; fix)."""
    path = assoc.cloudfront_function
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [f"{file}: cannot read function: {exc.strerror}"]
    problems: list[str] = []
    if len(raw) > MAX_CODE_BYTES:
        problems.append(f"{file}: FunctionSizeLimitExceeded: {len(raw)} bytes; CloudFront Functions take at most "
                        f"{MAX_CODE_BYTES} bytes ({cite('cloudfront-limits')}); move data into a KeyValueStore or shorten the code")
    analysis = analyse(raw.decode("utf-8", errors="replace"), assoc.runtime)
    if analysis.syntax_error_line is not None:
        problems.append(_syntax_problem(analysis.source, file, analysis.syntax_error_line))
    problems.extend(v.problem(file, assoc.runtime) for v in analysis.violations)
    if not analysis.has_handler and analysis.syntax_error_line is None:  # else the syntax error may hide it
        problems.append(f"{file}: {NO_HANDLER}")
    if assoc.kvs is not None:
        from edgesim.cloudfront_functions.kvs import load_store

        try:
            load_store(assoc.kvs)
        except FunctionCodeError as exc:
            problems.append(str(exc))
    return problems


def _syntax_problem(source: str, file: str, parse_error_line: int) -> str:
    """A syntax error in V8's words (what `serve` says), at its line and column."""
    from edgesim.cloudfront_functions.syntax import syntax_problem

    found = syntax_problem(source, file)
    if found is None:  # V8 compiles what the parse refused: say where the parse stopped
        return f"{file}:{parse_error_line}: syntax error; fix the JavaScript near this line"
    exc = _in_the_file(FunctionCodeError(found.message, file=file, line=found.line), source, parse_error_line)
    column = f":{found.column}" if found.column is not None and exc.line == found.line else ""
    return f"{file}:{exc.line}{column}: {exc.reason}" if exc.line is not None else f"{file}: {exc.reason}"


# cf.logCustomData's value is URL-encoded into the access log and cut at 800 bytes (spec §1.7,
# cf.logCustomData); a cut never leaves half of a %XX escape behind.
LOG_DATA_MAX_BYTES = 800


def log_field(value: str) -> str:
    encoded = quote(value, safe="")[:LOG_DATA_MAX_BYTES]
    cut = encoded.rfind("%", len(encoded) - 2)
    return encoded[:cut] if cut != -1 else encoded
