"""What happened to one request: the behavior, each trigger that ran, the cache, the origin.

The pipeline fills a Trace as it goes; the request log, the testing API and its failure messages
read it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    logs: Sequence[str] = field(default_factory=list)
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
    # The fetch of a custom error response's page (custom_error_pages.py), not the request's own:
    # its status is not the one the request's origin answered.
    error_page: bool = False


@dataclass
class Trace:
    request_id: str
    method: str = ""
    uri: str = ""
    behavior: str = ""  # the matched path pattern; "*" for the default behavior
    triggers: list[TriggerTrace] = field(default_factory=list)
    cache: str = ""  # Hit / Miss / RefreshHit / bypass; "" when the cache was not consulted
    # A Miss on an object that was cached but had expired (not a first request for its key): a
    # test's failure then says the TTL ran out, not "send the request twice".
    expired: bool = False
    # The request id of the request whose origin fetch this one was collapsed into (request
    # collapsing: it got that fetch's answer, and the origin saw no request of its own); "" if none.
    collapsed_into: str = ""
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
        statuses = [o.status for o in self.origin_requests if o.status is not None and not o.error_page]
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
            # Lambda's START and END lines carry only the request id: REPORT keeps the figures.
            lines.extend(f"      | {line}" for line in t.logs if not line.startswith(_BARE_LOG_LINES))
            if details:
                lines.extend(_details(t))
        if self.cache:
            collapsed = f" (collapsed into request {self.collapsed_into})" if self.collapsed_into else ""
            lines.append(f"  cache: {self.cache}{collapsed}")
        for o in self.origin_requests:
            lines.append(f"  origin {o.origin_id}: {o.method} {o.url} -> {o.status if o.status else o.error}")
        lines.extend(f"  note: {n}" for n in self.notes)
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


_BARE_LOG_LINES = ("START RequestId:", "END RequestId:")
MAX_CHANGES = 12


def _details(t: TriggerTrace) -> list[str]:
    """What the function did to what it got, path by path; the event and the result in full
    (compact JSON) when the two cannot be lined up (an error, an unfamiliar shape)."""
    if t.event is None or t.output is None:
        return [f"      event: {_compact(t.event)}"] if t.event is not None else []
    output = _result(t.output)
    before = _given(t, output)
    if before is None or output is None:
        return [f"      {label}: {_compact(value)}" for label, value in (("event", t.event), ("returned", t.output))]
    changes = _changes(before, output)
    if not changes:
        return ["      returned it unchanged"]
    shown = [f"      {line}" for line in changes[:MAX_CHANGES]]
    if len(changes) > MAX_CHANGES:
        shown.append(f"      ... and {len(changes) - MAX_CHANGES} more changes")
    return shown


def _result(output: JSON) -> dict[str, JSON] | None:
    """The request or response a function returned, out of a `{"request": ...}` wrapper if it has one."""
    if not isinstance(output, dict):
        return None
    if len(output) == 1:
        (key, inner), = output.items()
        if key in ("request", "response") and isinstance(inner, dict):
            return inner
    return output


def request_header_names(doc: JSON) -> set[str] | None:
    """The lowercase header names of the request in a trigger's event or in the request it returned
    (CloudFront Functions' `{"request": ...}` or Lambda@Edge's `Records[0].cf.request`, or the request
    itself); None when `doc` holds no request."""
    if not isinstance(doc, dict):
        return None
    records = doc.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        doc = records[0].get("cf")
    request = doc.get("request", doc) if isinstance(doc, dict) else None
    if not isinstance(request, dict) or "status" in request or "statusCode" in request:
        return None  # a generated response, not a request
    headers = request.get("headers")
    return {str(name).lower() for name in headers} if isinstance(headers, dict) else None


def _given(t: TriggerTrace, output: dict[str, JSON] | None) -> dict[str, JSON] | None:
    """The request or response in `t.event` that the function's result stands for: {} when a
    request trigger generated a response (everything in it is new)."""
    event = t.event
    if not isinstance(event, dict) or output is None:
        return None
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        event = records[0].get("cf")  # Lambda@Edge's envelope
        if not isinstance(event, dict):
            return None
    if t.event_type.is_request and ("status" in output or "statusCode" in output):
        return {}
    given = event.get("request" if t.event_type.is_request else "response")
    return given if isinstance(given, dict) else None


@dataclass
class _Tree:
    """A JSON value by path ("headers.host[0].value"): every node, and each leaf's chain of
    ancestors from the top (an empty object or list is a leaf of its own)."""

    nodes: dict[str, JSON] = field(default_factory=dict)
    chains: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, value: JSON) -> _Tree:
        tree = cls()
        tree._add(value, "", [])
        return tree

    def _add(self, value: JSON, path: str, chain: list[str]) -> None:
        if path:
            self.nodes[path] = value
            chain = [*chain, path]
        if isinstance(value, dict) and value:
            for key, item in value.items():
                self._add(item, f"{path}.{key}" if path else str(key), chain)
        elif isinstance(value, list) and value:
            for index, item in enumerate(value):
                self._add(item, f"{path}[{index}]", chain)
        elif path:
            self.chains[path] = chain


def _changes(before: JSON, after: JSON) -> list[str]:
    """Each change as one line; a whole new or gone subtree (a header, say) as one line, not per leaf."""
    old, new = _Tree.of(before), _Tree.of(after)
    changed: list[str] = []
    added: dict[str, None] = {}  # ordered, without repeats
    for path, chain in new.chains.items():
        if path in old.chains:
            if old.nodes[path] != new.nodes[path]:
                changed.append(f"changed {path}: {_compact(old.nodes[path], 80)} -> {_compact(new.nodes[path], 80)}")
        else:  # the topmost node that is new
            added[next(p for p in chain if p not in old.nodes)] = None
    removed: dict[str, None] = {}
    for path, chain in old.chains.items():
        if path not in new.chains:  # the topmost node that is gone (none when it became an object)
            top = next((p for p in chain if p not in new.nodes), None)
            if top is not None:
                removed[top] = None
    return (changed + [f"added {path} = {_compact(new.nodes[path], 80)}" for path in added]
            + [f"removed {path}" for path in removed])


def _compact(value: JSON, limit: int = 600) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=False)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
