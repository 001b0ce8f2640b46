"""One readable line per request, with each function's log lines indented under it; or JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from edgesim.messages import EventType
from edgesim.trace import Trace, TriggerTrace


# Lambda's own lines around every invocation. The request line already says how long the function
# ran and whether it started cold, so the text log leaves them out unless the invocation failed (then
# they carry "Task timed out" and the like); the JSON log keeps every line.
_LAMBDA_FRAME = ("START RequestId: ", "END RequestId: ", "REPORT RequestId: ")


def _shown(t: TriggerTrace) -> Sequence[str]:
    logs = t.logs
    if t.kind != "lambda" or t.error:
        return logs
    if getattr(logs, "frame_only", False):  # lambda_edge.runtime.CloudWatchLog: left unformatted
        return []
    if len(logs) == 3 and logs[1].startswith("END RequestId: "):
        return []  # the usual invocation: START, END, REPORT and nothing of the handler's
    return [line for line in logs if not line.startswith(_LAMBDA_FRAME)]


# Module globals: reading an enum member (EventType.X) costs ~0.2-0.5 us on Python 3.11, and every
# request's line asks for four.
_VIEWER_REQUEST = EventType.VIEWER_REQUEST
_ORIGIN_REQUEST = EventType.ORIGIN_REQUEST
_AFTER_ORIGIN = (EventType.ORIGIN_RESPONSE, EventType.VIEWER_RESPONSE)


# `serve --inspect` lifts Lambda@Edge's time limits (lambda_edge/inspector.py): each request a
# Lambda@Edge function ran for says so, as it is a departure from CloudFront.
TIME_LIMITS_OFF = "time limits off while inspecting"


def _trigger_step(t: TriggerTrace) -> str:
    extra = f" cu={t.compute_utilization}" if t.compute_utilization is not None else ""
    cold = " cold" if t.cold_start else ""
    failed = " FAILED" if t.error else (" generated" if t.generated else "")
    # `_value_`, not `.value`: the enum property costs ~1 us a read on Python 3.11, and this runs
    # for every function of every request.
    return f"{t.event_type._value_}:{t.function} {t.duration_ms:.2f}ms{extra}{cold}{failed}"


def text_line(trace: Trace, *, seen_notes: set[str] | None = None, inspecting: bool = False) -> str:
    """The request in CloudFront's order: viewer-request, cache, origin-request, origin,
    origin-response, viewer-response, the result. Notes already in `seen_notes` are not repeated."""
    steps = [f"{trace.method} {trace.uri}", f"[{trace.behavior or '-'}]"]
    by_type = {t.event_type: t for t in trace.triggers}
    if _VIEWER_REQUEST in by_type:
        steps.append(_trigger_step(by_type[_VIEWER_REQUEST]))
    if trace.cache:
        # A collapsed request got another's origin fetch: the note names which (request_collapsing.py).
        steps.append(f"cache={trace.cache}" + (" collapsed" if trace.collapsed_into else ""))
    if _ORIGIN_REQUEST in by_type:
        steps.append(_trigger_step(by_type[_ORIGIN_REQUEST]))
    if trace.origin_status is not None:
        steps.append(f"origin={trace.origin_status}")
    for after_origin in _AFTER_ORIGIN:
        if after_origin in by_type:
            steps.append(_trigger_step(by_type[after_origin]))
    steps.append(f"-> {trace.status} ({trace.x_cache}) {trace.duration_ms:.1f}ms")
    if inspecting and any(t.kind == "lambda" for t in trace.triggers):
        steps.append(f"[Lambda@Edge {TIME_LIMITS_OFF}]")
    lines = [" ".join(steps)]
    for t in trace.triggers:
        shown = _shown(t)
        if shown:
            # A log entry of several lines (console.log(JSON.stringify(x, null, 2))) keeps each
            # under its trigger, never at the margin where edgesim's own lines are.
            lines.extend(f"    {t.event_type._value_} | {line}" for entry in shown for line in entry.split("\n"))
        if t.log_data is not None:
            lines.append(f"    {t.event_type._value_} | log-data: {t.log_data}")
    if trace.error:
        lines.append(f"    error: {trace.error}")
    for note in trace.notes:
        if seen_notes is None or note not in seen_notes:
            lines.append(f"    note: {note}")
            if seen_notes is not None:
                seen_notes.add(note)
    return "\n".join(lines)


def json_line(trace: Trace, *, inspecting: bool = False) -> str:
    extra = {"lambdaTimeLimits": TIME_LIMITS_OFF} if inspecting and any(
        t.kind == "lambda" for t in trace.triggers) else {}
    return json.dumps({
        "requestId": trace.request_id,
        "method": trace.method,
        "uri": trace.uri,
        "behavior": trace.behavior,
        "triggers": [
            {"eventType": t.event_type.value, "function": t.function, "kind": t.kind,
             "durationMs": round(t.duration_ms, 3), "computeUtilization": t.compute_utilization,
             "coldStart": t.cold_start, "logs": list(t.logs), "logData": t.log_data, "error": t.error,
             "generated": t.generated}
            for t in trace.triggers
        ],
        "cache": trace.cache,
        "collapsedInto": trace.collapsed_into or None,
        "originStatus": trace.origin_status,
        "status": trace.status,
        "xCache": trace.x_cache,
        "durationMs": round(trace.duration_ms, 3),
        "error": trace.error,
        "notes": trace.notes,
        **extra,
    })


def printer(fmt: str = "text", stream: TextIO | None = None, *, inspecting: bool = False) -> Callable[[Trace], None]:
    """A callback that writes each finished request to `stream` (stderr by default); `inspecting`
    (`serve --inspect`) marks each request a Lambda@Edge function ran for: its time limits are off.

    Lines are gathered and written once per event-loop turn: one write and flush per request was
    ~6% of a pass-through request's CPU under load (benchmarks/, issue 6)."""
    seen_notes: set[str] = set()  # a standing note (e.g. the viewer protocol policy) is said once
    pending: list[str] = []

    def flush() -> None:
        text = "".join(pending)
        pending.clear()
        out = stream or sys.stderr
        out.write(text)
        out.flush()

    def write(trace: Trace) -> None:
        pending.append((json_line(trace, inspecting=inspecting) if fmt == "json"
                        else text_line(trace, seen_notes=seen_notes, inspecting=inspecting)) + "\n")
        if len(pending) > 1:
            return  # a flush is already scheduled
        try:
            asyncio.get_running_loop().call_soon(flush)
        except RuntimeError:  # no event loop: write now
            flush()

    return write
