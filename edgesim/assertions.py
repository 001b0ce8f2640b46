"""Assertions that read like CloudFront: which triggers ran, what the cache did, who set a header.

Each takes a response from a Distribution's client and fails with the request's trace, so a red
test shows the behavior chosen, every trigger with its logs, the cache result and the origin calls.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import httpx

from edgesim.messages import EventType
from edgesim.testing import trace_of
from edgesim.trace import OriginTrace, Trace, TriggerTrace

EventLike = EventType | str


def _event(value: EventLike) -> EventType:
    __tracebackhide__ = True  # the failure points at the test's line, not at this helper
    try:
        return EventType(value)
    except ValueError:
        pass
    known = [e.value for e in EventType]
    guess = str(value).strip().lower().replace("_", "-").replace(" ", "-")
    hint = f"; did you mean {guess!r}?" if guess in known else ""
    raise ValueError(f"{value!r} is not a trigger point; use one of {known}{hint}")


def _events(values: Iterable[EventLike]) -> list[EventType]:
    __tracebackhide__ = True
    out = []
    for value in values:  # a loop, not a comprehension: on 3.11 that is one more frame in the traceback
        out.append(_event(value))
    return out


def fail(message: str, trace: Trace) -> AssertionError:
    error = AssertionError(f"{message}\n\nedgesim trace:\n{trace.render(details=True)}")
    # The request whose trace the message holds: the pytest plugin leaves it out of the test's
    # "edgesim traces" section rather than print it twice. A plain AssertionError with an attribute,
    # not a subclass, so that pytest still reports `AssertionError: expected ...`.
    error.edgesim_trace = trace  # type: ignore[attr-defined]
    return error


def assert_status(response: httpx.Response, status: int) -> None:
    __tracebackhide__ = True
    if isinstance(status, bool) or not isinstance(status, int):
        # "200" (read off a page or a YAML case) never equals 200, and the failure would then print
        # "expected status 200, got 200": the two sides alike.
        raise TypeError(f"status is a number such as 200, not {status!r} (a {type(status).__name__}); "
                        f"write assert_status(response, {_as_status(status)})")
    if response.status_code != status:
        raise fail(f"expected status {status}, got {response.status_code}", trace_of(response))


def assert_ran(response: httpx.Response, *event_types: EventLike) -> None:
    """Each of these triggers ran for this request."""
    __tracebackhide__ = True
    trace = trace_of(response)
    missing = [e.value for e in _events(event_types) if not trace.ran(e)]
    if missing:
        raise fail(f"expected {', '.join(missing)} to run; ran: {_ran(trace)}", trace)


def assert_not_ran(response: httpx.Response, *event_types: EventLike) -> None:
    """None of these triggers ran for this request (a cache hit skips the origin triggers)."""
    __tracebackhide__ = True
    trace = trace_of(response)
    ran = [e.value for e in _events(event_types) if trace.ran(e)]
    if ran:
        raise fail(f"expected {', '.join(ran)} not to run, but it ran", trace)


def assert_triggers(response: httpx.Response, event_types: Iterable[EventLike]) -> None:
    """Exactly these triggers ran, in this order."""
    __tracebackhide__ = True
    if isinstance(event_types, str):  # else read letter by letter: "'v' is not a trigger point"
        raise TypeError(f"assert_triggers takes a list of triggers in order: write "
                        f"assert_triggers(response, [{event_types!r}])")
    trace = trace_of(response)
    expected = [e.value for e in _events(event_types)]
    actual = [t.event_type.value for t in trace.triggers]
    if expected != actual:
        raise fail(f"expected triggers {expected}, ran {actual}", trace)


def _as_status(value: object) -> str:
    text = str(value).strip()
    return text if text.isdigit() else "200"


# The X-Cache results edgesim sends (errors.py, exchange.py, edge_cache_flow.py), to name the close
# one for an expected result that is none of them. Only a hint: CloudFront has others (LimitExceeded,
# CapacityExceeded) that an assertion may still compare against.
X_CACHE_RESULTS = ("Hit", "RefreshHit", "Miss", "Error", "Redirect", "FunctionGeneratedResponse",
                   "FunctionExecutionError", "FunctionValidationError", "LambdaGeneratedResponse",
                   "LambdaExecutionError", "LambdaValidationError", "LambdaLimitExceeded")


def _misspelt_result(result: str) -> str:
    """"; 'Hti' is no X-Cache result: did you mean 'Hit'?" for an expected result close to a known one."""
    known = {name.lower(): name for name in X_CACHE_RESULTS}
    if result.lower() in known:
        return ""
    close = difflib.get_close_matches(result.lower(), list(known), n=1, cutoff=0.6)
    return f"; {result!r} is no X-Cache result: did you mean {known[close[0]]!r}?" if close else ""


def cache_result(response: httpx.Response) -> str:
    """`Hit`, `Miss`, `RefreshHit`, `Error`, `FunctionGeneratedResponse`... from X-Cache."""
    return (response.headers.get("x-cache") or "").split(" from ", 1)[0]


def assert_cache(response: httpx.Response, result: str) -> None:
    """The X-Cache result: `assert_cache(r, "Hit")`."""
    __tracebackhide__ = True
    actual = cache_result(response)
    if actual.lower() != result.lower():
        trace = trace_of(response)
        why = ""
        if trace.cache == "bypass" and "hit" in result.lower():
            why = (f"; the request bypassed the edge cache, so it is never a {result}: behavior "
                   f"{trace.behavior!r} has a cache policy with caching disabled (MaxTTL 0), does not cache "
                   f"{trace.method}, or the cache is off")
        elif trace.cache == "Miss" and "hit" in result.lower() and trace.expired:
            why = ("; the cached object had expired (its TTL ran out), so CloudFront asked the origin again; "
                   "a RefreshHit takes an ETag or Last-Modified on the cached object and a 304 from the origin, "
                   "a Hit a request before the TTL runs out (edge.advance moves the cache's clock)")
        elif trace.cache == "Miss" and "hit" in result.lower():
            # The commonest slip: asserting Hit on the request that filled the cache.
            why = ("; the first request for a cache key is always a Miss (it fetches the object and stores "
                   "it): send the same request again and assert Hit on the second response. If that one is "
                   "a Miss too, the object was not stored: see the origin's Cache-Control / Expires and the "
                   "cache policy's min / default / max TTL (a TTL of 0 stores nothing)")
        why += _misspelt_result(result)
        raise fail(f"expected X-Cache {result!r}, got {actual!r} ({response.headers.get('x-cache')!r}){why}", trace)


def assert_origin_called(response: httpx.Response, times: int | None = None, *, origin: str | None = None) -> None:
    """An origin was asked for this response: at least once, or exactly `times`; only `origin`'s
    requests count when it is given (an origin id, as in the config)."""
    __tracebackhide__ = True
    if times is not None and (isinstance(times, bool) or not isinstance(times, int)):
        # `assert_origin_called(r, "app")` reads naturally, and would otherwise compare a count to "app".
        hint = f"; to check which origin, write assert_origin_called(response, origin={times!r})" \
            if isinstance(times, str) else ""
        raise TypeError(f"times is a number of origin requests, not {times!r}{hint}")
    trace = trace_of(response)
    count = len(_origin_requests(trace, origin))
    if (times is None and count == 0) or (times is not None and count != times):
        want = "at least once" if times is None else f"{times} time(s)"
        who = "the origin" if origin is None else f"origin {origin!r}"
        # Not called at all: where the response came from instead (a function, the cache) is the why.
        instead = f": {_source(trace)}" if not trace.origin_requests else _origin_calls(trace)
        raise fail(f"expected {who} to be called {want}; it was called {count} time(s){instead}", trace)


def assert_origin_not_called(response: httpx.Response, *, origin: str | None = None) -> None:
    """No origin (or not `origin`) was asked: the response came from a function or the cache."""
    __tracebackhide__ = True
    trace = trace_of(response)
    calls = _origin_requests(trace, origin)
    if calls:
        who = "origin request" if origin is None else f"request to origin {origin!r}"
        raise fail(f"expected no {who}; got {len(calls)}{_origin_calls(trace)}", trace)


def _origin_requests(trace: Trace, origin: str | None) -> list[OriginTrace]:
    return [o for o in trace.origin_requests if origin is None or o.origin_id == origin]


def _origin_calls(trace: Trace) -> str:
    """The origin requests as the trace shows them, for a message about how many there were."""
    if not trace.origin_requests:
        return ""
    return " (" + "; ".join(f"{o.origin_id}: {o.method} {o.url} -> {o.status or o.error}"
                            for o in trace.origin_requests) + ")"


def assert_generated_by(response: httpx.Response, event_type: EventLike) -> None:
    """The response was generated by the function on `event_type` (the origin was not asked)."""
    __tracebackhide__ = True
    trace = trace_of(response)
    record = trace.trigger(_event(event_type))
    if record is None or not record.generated:
        raise fail(f"expected {_event(event_type).value} to generate the response; {_source(trace)}", trace)


def _source(trace: Trace) -> str:
    """Where a response came from instead, in the words of the trace."""
    generated = next((t for t in trace.triggers if t.generated), None)
    if generated is not None:
        return f"{generated.event_type.value} ({generated.function}) generated it"
    failed = next((t for t in trace.triggers if t.error), None)
    if failed is not None:
        return f"{failed.event_type.value} ({failed.function}) failed: {failed.error}"
    if trace.origin_requests:
        return f"it came from the origin{_origin_calls(trace)}"
    if trace.cache and trace.cache != "bypass":
        return f"it came from the edge cache ({trace.cache})"
    return f"CloudFront answered it itself ({trace.error or trace.x_cache or trace.status})"


def assert_header_set_by(response: httpx.Response, name: str, event_type: EventLike,
                         value: str | None = None) -> None:
    """The function on `event_type` set header `name` (to `value`, if given).

    For request triggers it is a request header the function added or changed; for response
    triggers a response header. Read from the event the function got and what it returned.
    """
    __tracebackhide__ = True
    _check_header_value(value, f"assert_header_set_by(response, {name!r}, {_event_name(event_type)!r}, {{}})")
    trace = trace_of(response)
    event = _event(event_type)
    record = trace.trigger(event)
    if record is None:
        raise fail(f"expected {event.value} to set {name!r}, but {event.value} did not run (ran: {_ran(trace)})"
                   f"{_who_did(trace, name)}", trace)
    if record.output is None:
        raise fail(f"{event.value} ({record.function}) recorded no output, so who set {name!r} is unknown", trace)
    side = "request" if event.is_request and not record.generated else "response"
    before = _headers(record.event, side).get(name.lower())
    after = _headers(record.output, side).get(name.lower())
    if after is None:
        raise fail(f"expected {event.value} ({record.function}) to set {side} header {name!r}; "
                   f"its output has no such header{_who_did(trace, name) if side == 'response' else ''}", trace)
    if value is not None and value not in after:
        raise fail(f"expected {event.value} ({record.function}) to set {name!r} to {value!r}; "
                   f"it set it to {_values(after)}", trace)
    if before == after:
        raise fail(f"{name!r} was already {_values(before or [])} in the event {event.value} got; "
                   f"the function did not set it", trace)


def assert_header(response: httpx.Response, name: str, value: str | None) -> None:
    """The viewer got header `name` with exactly `value` (`None`: the header is absent).

    On failure it says which function set, changed or removed the header, read from the trace, so
    a wrong value points at the function (or, when none touched it, at the origin or the config).
    """
    __tracebackhide__ = True
    _check_header_value(value, f"assert_header(response, {name!r}, {{}})")
    got = response.headers.get(name)
    if got == value:
        return
    trace = trace_of(response)
    want = "absent" if value is None else repr(value)
    actual = "absent" if got is None else repr(got)
    raise fail(f"expected header {name}: {want}, got {actual}; {header_story(trace, name)}"
               f"{_similar_header(response, name) if got is None else ''}", trace)


def _event_name(value: EventLike) -> str:
    return value.value if isinstance(value, EventType) else str(value)


def _check_header_value(value: object, call: str) -> None:
    """A header's value is text: 4 never equals the header's '4', and a failure would print the two alike."""
    __tracebackhide__ = True
    if value is not None and not isinstance(value, str):
        kind = type(value).__name__
        raise TypeError(f"a header's value is text or None (absent), not {value!r} ({'an' if kind[0] in 'aeiou' else 'a'} "
                        f"{kind}); write {call.format(repr(str(value)))}")


def _similar_header(response: httpx.Response, name: str) -> str:
    """"; did you mean ...?" for a misspelt header name the response has one close to."""
    names = sorted({key.lower() for key in response.headers.keys()})
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.75)
    if not close:
        return ""
    return f"; did you mean {close[0]!r} (it is {response.headers[close[0]]!r})?"


def _who_did(trace: Trace, name: str) -> str:
    """"; instead: ..." naming the functions that did set, change or remove response header `name`."""
    story = header_story(trace, name)
    return "" if story.startswith("no function") else f"; instead: {story}"


def header_story(trace: Trace, name: str) -> str:
    """What the request's functions did to response header `name`, in order, from the event each
    got and what it returned: "origin-response (cache_headers) set it to 'api'", or that none did."""
    if not trace.triggers:
        return "no function ran for this request"
    steps: list[str] = []
    key = name.lower()
    for record in trace.triggers:
        if record.output is None or (record.event_type.is_request and not record.generated):
            continue  # failed, or a request trigger that passed the request on: no response yet
        before = None if record.generated and record.event_type.is_request else _headers(record.event, "response").get(key)
        after = _headers(record.output, "response").get(key)
        who = f"{record.event_type.value} ({record.function})"
        if record.generated and record.event_type.is_request:
            steps.append(f"{who} generated the response " + (f"with it {_values(after)}" if after else "without it"))
        elif before != after:
            steps.append(f"{who} removed it" if after is None else
                         f"{who} {'set' if before is None else 'changed'} it to {_values(after)}")
    if not steps:
        return "no function set, changed or removed it"
    return "; ".join(steps)


def _values(values: list[str]) -> str:
    return repr(values[0]) if len(values) == 1 else repr(values)


def _ran(trace: Trace) -> str:
    return ", ".join(t.event_type.value for t in trace.triggers) or "no trigger"


def _headers(doc: Any, side: str) -> dict[str, list[str]]:
    """Header values by lowercase name from a CloudFront Functions or Lambda@Edge event or output.

    CloudFront Functions: `{name: {value, multiValue?}}`; Lambda@Edge: `{name: [{key, value}]}`.
    """
    obj = _part(doc, side)
    headers = obj.get("headers") if isinstance(obj, dict) else None
    out: dict[str, list[str]] = {}
    if not isinstance(headers, dict):
        return out
    for key, entry in headers.items():
        values: list[str] = []
        if isinstance(entry, list):
            values = [str(item.get("value")) for item in entry if isinstance(item, dict)]
        elif isinstance(entry, dict):
            multi = entry.get("multiValue")
            values = [str(v.get("value")) for v in multi] if isinstance(multi, list) else [str(entry.get("value"))]
        out[str(key).lower()] = values
    return out


def _part(doc: Any, side: str) -> Any:
    if not isinstance(doc, dict):
        return None
    records = doc.get("Records")
    if isinstance(records, list) and records:  # a Lambda@Edge event
        doc = records[0].get("cf", {})
    if side in doc and isinstance(doc[side], dict):
        return doc[side]
    return doc  # an output: the request or response object itself


def assert_logged(response: httpx.Response, event_type: EventLike, text: str) -> None:
    """The function on `event_type` logged a line containing `text` (console.log, print, logging).

    A substring, not a whole line: Lambda's lines carry its START / END / REPORT frame around the
    handler's, and a Node handler's lines its time, request id and level, as CloudWatch shows them."""
    __tracebackhide__ = True
    trace = trace_of(response)
    event = _event(event_type)
    record = trace.trigger(event)
    if record is None:
        raise fail(f"expected {event.value} to log {text!r}, but {event.value} did not run (ran: {_ran(trace)})", trace)
    if not any(text in line for line in record.logs):
        lines = "".join(f"\n  | {line}" for line in record.logs) or " nothing"
        raise fail(f"expected {event.value} ({record.function}) to log a line containing {text!r}; it logged:{lines}",
                   trace)


def trigger_record(response: httpx.Response, event_type: EventLike) -> TriggerTrace:
    """The trace of one trigger of this request (its logs, event, output, duration)."""
    __tracebackhide__ = True
    trace = trace_of(response)
    record = trace.trigger(_event(event_type))
    if record is None:
        raise fail(f"{_event(event_type).value} did not run", trace)
    return record
