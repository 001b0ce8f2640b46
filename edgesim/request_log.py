"""One readable line per request, with each function's log lines indented under it; or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TextIO

from edgesim.trace import Trace


def text_line(trace: Trace) -> str:
    steps = [f"{trace.method} {trace.uri}", f"[{trace.behavior or '-'}]"]
    for t in trace.triggers:
        extra = f" cu={t.compute_utilization}" if t.compute_utilization is not None else ""
        cold = " cold" if t.cold_start else ""
        failed = " FAILED" if t.error else (" generated" if t.generated else "")
        steps.append(f"{t.event_type.value}:{t.function} {t.duration_ms:.2f}ms{extra}{cold}{failed}")
    if trace.cache:
        steps.append(f"cache={trace.cache}")
    if trace.origin_status is not None:
        steps.append(f"origin={trace.origin_status}")
    steps.append(f"-> {trace.status} ({trace.x_cache}) {trace.duration_ms:.1f}ms")
    lines = [" ".join(steps)]
    for t in trace.triggers:
        lines.extend(f"    {t.event_type.value} | {line}" for line in t.logs)
    if trace.error:
        lines.append(f"    error: {trace.error}")
    lines.extend(f"    note: {note}" for note in trace.notes)
    return "\n".join(lines)


def json_line(trace: Trace) -> str:
    return json.dumps({
        "requestId": trace.request_id,
        "method": trace.method,
        "uri": trace.uri,
        "behavior": trace.behavior,
        "triggers": [
            {"eventType": t.event_type.value, "function": t.function, "kind": t.kind,
             "durationMs": round(t.duration_ms, 3), "computeUtilization": t.compute_utilization,
             "coldStart": t.cold_start, "logs": t.logs, "error": t.error, "generated": t.generated}
            for t in trace.triggers
        ],
        "cache": trace.cache,
        "originStatus": trace.origin_status,
        "status": trace.status,
        "xCache": trace.x_cache,
        "durationMs": round(trace.duration_ms, 3),
        "error": trace.error,
        "notes": trace.notes,
    })


def printer(fmt: str = "text", stream: TextIO | None = None) -> Callable[[Trace], None]:
    """A callback that writes each finished request to `stream` (stderr by default)."""
    render = json_line if fmt == "json" else text_line

    def write(trace: Trace) -> None:
        out = stream or sys.stderr
        out.write(render(trace) + "\n")
        out.flush()

    return write
