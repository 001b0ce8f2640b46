"""What happened to one request: the behavior, each trigger that ran, the cache, the origin.

The pipeline fills a Trace as it goes; the request log, the testing API and its failure messages
read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from edgesim.messages import EventType
from edgesim.runtime import JSON, FunctionKind


@dataclass
class TriggerTrace:
    event_type: EventType
    function: str
    kind: FunctionKind
    duration_ms: float = 0.0
    compute_utilization: int | None = None
    cold_start: bool = False
    logs: list[str] = field(default_factory=list)
    log_data: str | None = None  # the access log's viewer-request-log-data / viewer-response-log-data
    event: JSON = None
    output: JSON = None
    generated: bool = False
    error: str | None = None  # the error name and reason when the function failed


@dataclass
class OriginTrace:
    origin_id: str
    method: str
    url: str
    status: int | None = None
    error: str | None = None


@dataclass
class Trace:
    request_id: str
    method: str = ""
    uri: str = ""
    behavior: str = ""  # the matched path pattern; "*" for the default behavior
    triggers: list[TriggerTrace] = field(default_factory=list)
    cache: str = ""  # Hit / Miss / RefreshHit / bypass; "" when the cache was not consulted
    origin_requests: list[OriginTrace] = field(default_factory=list)
    status: int = 0
    x_cache: str = ""
    notes: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    error: str | None = None

    def ran(self, event_type: EventType) -> bool:
        return any(t.event_type == event_type for t in self.triggers)

    def trigger(self, event_type: EventType) -> TriggerTrace | None:
        return next((t for t in self.triggers if t.event_type == event_type), None)

    @property
    def origin_status(self) -> int | None:
        statuses = [o.status for o in self.origin_requests if o.status is not None]
        return statuses[-1] if statuses else None

    def render(self, details: bool = False) -> str:
        """A readable multi-line account, for failure messages and `--log-format text`; `details`
        adds the event each trigger got and what it returned, as compact JSON (test failures)."""
        lines = [f"{self.method} {self.uri} -> behavior {self.behavior!r} -> {self.status} ({self.x_cache})"]
        for t in self.triggers:
            extra = f", compute {t.compute_utilization}" if t.compute_utilization is not None else ""
            cold = ", cold start" if t.cold_start else ""
            state = f" FAILED {t.error}" if t.error else (" generated a response" if t.generated else "")
            lines.append(f"  {t.event_type.value}: {t.function} ({t.kind}) {t.duration_ms:.2f} ms{extra}{cold}{state}")
            lines.extend(f"      | {line}" for line in t.logs)
            if details:
                lines.extend(f"      {label}: {_compact(value)}" for label, value in
                             (("event", t.event), ("returned", t.output)) if value is not None)
        if self.cache:
            lines.append(f"  cache: {self.cache}")
        for o in self.origin_requests:
            lines.append(f"  origin {o.origin_id}: {o.method} {o.url} -> {o.status if o.status else o.error}")
        lines.extend(f"  note: {n}" for n in self.notes)
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


def _compact(value: JSON, limit: int = 600) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=False)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
