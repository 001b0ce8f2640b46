"""`aws cloudfront test-function`, locally: the same run as serve, printed as TestResult (spec §1.10)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edgesim.cloudfront_functions.edge_location import edge_location
from edgesim.cloudfront_functions.event import is_disallowed
from edgesim.cloudfront_functions.runtime import EXECUTION_PREFIX, load_cloudfront_function
from edgesim.config import DistributionSettings
from edgesim.docs_links import cite
from edgesim.errors import FunctionExecutionError, FunctionValidationError, UserError
from edgesim.function_associations import CloudFrontFunctionAssociation
from edgesim.messages import EventType

MAX_EVENT_BYTES = 40_960  # spec §1.10: TestFunction's EventObject blob
ACCOUNT = "123456789012"
WARM_RUNS = 10


def complete_event(event: Any, settings: DistributionSettings) -> tuple[dict[str, Any], EventType]:
    """Fill in what hand-written test events (aws-samples style) leave out, as CloudFront does."""
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        trigger = _lambda_edge_trigger(event)
        raise UserError("this is a Lambda@Edge event (Records[0].cf), not a CloudFront Functions one "
                        f"({cite('functions-event-structure')}): "
                        f"make one with `edgesim generate-event {trigger} --cloudfront-function`, "
                        "or run this one on a Lambda@Edge handler with `edgesim invoke`")
    if not isinstance(event, dict) or not isinstance(event.get("request"), dict):
        raise UserError(f'a test event is an object with at least a "request" ({cite("functions-event-structure")})')
    if not isinstance(event.get("context") or {}, dict):
        raise UserError(f"the test event's context must be an object (with its eventType), got {event['context']!r} "
                        f"({cite('functions-event-structure')})")
    context = dict(event.get("context") or {})
    kind = context.get("eventType") or ("viewer-response" if "response" in event else "viewer-request")
    try:
        event_type = EventType(kind)
    except ValueError:
        raise UserError(f"context.eventType {kind!r}: use viewer-request or viewer-response") from None
    if not event_type.is_viewer:
        raise UserError(f"context.eventType {kind!r}: CloudFront Functions run on viewer-request or viewer-response only")
    context["eventType"] = event_type.value
    request = dict(event["request"])
    for key in ("querystring", "headers", "cookies"):
        request.setdefault(key, {})  # handlers read these without checks; CloudFront sends them (spec §1.10)
    request.setdefault("method", "GET")
    request.setdefault("uri", "/")
    if not isinstance(request["method"], str) or not isinstance(request["uri"], str) or not request["uri"].startswith("/"):
        raise UserError(f"the test event's request needs a method and a uri starting with '/', got "
                        f"{request['method']!r} {request['uri']!r} ({cite('functions-event-structure')})")
    _check_maps("request", request)
    out = {**event, "version": event.get("version", "1.0"), "context": context,
           "viewer": event.get("viewer") or {"ip": "1.2.3.4"}, "request": request}
    if event_type is EventType.VIEWER_RESPONSE:
        if not isinstance(event.get("response") or {}, dict):
            raise UserError(f"the test event's response must be an object (statusCode, headers...), got "
                            f"{event['response']!r} ({cite('functions-event-structure')})")
        response = dict(event.get("response") or {})
        status = response.setdefault("statusCode", 200)
        if type(status) is not int:  # spec §1.3: "an integer, not a string", in events as in results
            raise UserError(f"the test event's response.statusCode must be an integer, got {status!r} "
                            f"({cite('functions-event-structure')})")
        # The status's own reason phrase, as build_event gives one (a 404 was given "OK").
        response.setdefault("statusDescription", _phrase(status))
        response.setdefault("headers", {})
        response.setdefault("cookies", {})
        _check_maps("response", response)
        out["response"] = response
    return out, event_type


def _check_maps(where: str, part: dict[str, Any]) -> None:
    """The event's own headers, cookies and query string, checked before the function runs, so a
    hand-written event's slip is reported as the event's, not as the function's invalid result when
    the function passes it on (its output would be refused for the same thing, spec §1.4).

    Spec §1.2: each name maps to `{value}` with an optional `multiValue` list of `{value}`, values
    strings; header names are lowercase in every event CloudFront passes, as the test-event docs
    ask of hand-written ones (query string and cookie names keep their case). UNCERTAIN: what
    TestFunction answers for such an event is not recorded; edgesim refuses it as an event that is
    not one (exit 2), rather than guess."""
    for key in ("headers", "cookies") if where == "response" else ("headers", "querystring", "cookies"):
        value = part.get(key)
        if key == "querystring" and isinstance(value, str):
            continue  # a query string written as a string is passed on as it is (as a function may return it)
        if not isinstance(value, dict):
            raise UserError(f"the test event's {where}.{key} must be an object of {{\"value\": ...}} entries, "
                            f"got {type(value).__name__} ({cite('functions-event-structure')})")
        for name, entry in value.items():
            if key == "headers" and name != name.lower():
                raise UserError(f"the test event's {where}.headers has {name!r}: header names in CloudFront "
                                f"Functions events are lowercase ({cite('functions-event-structure')}); write "
                                f"{name.lower()!r}")
            if not _entry_ok(entry):
                raise UserError(f"the test event's {where}.{key}[{name!r}] must be {{\"value\": \"...\"}} "
                                f"with a string value (and a multiValue array of those), got "
                                f"{json.dumps(entry)[:80]} ({cite('functions-event-structure')})")


def event_notes(event: Any) -> list[str]:
    """What a test event holds that CloudFront never passes a function, said but run as given
    (TestFunction runs the event it gets): a `cookie` header (CloudFront moves it to
    request.cookies), a `set-cookie` one (response.cookies) and the headers never shown (spec §1.2, §1.4)."""
    notes = []
    for part, moved in (("request", "cookie"), ("response", "set-cookie")):
        headers = event.get(part, {}).get("headers") if isinstance(event, dict) and isinstance(
            event.get(part), dict) else None
        for name in headers if isinstance(headers, dict) else ():
            if name == moved:
                notes.append(f"the test event's {part}.headers has {name}: CloudFront passes it as {part}.cookies, "
                             f"never as a header ({cite('functions-event-structure')})")
            elif is_disallowed(name):
                notes.append(f"the test event's {part}.headers has {name}, which CloudFront never shows a function "
                             f"({cite('edge-function-restrictions-all')})")
    return notes


def _entry_ok(entry: Any) -> bool:
    """`{value}` and / or a non-empty `multiValue` of `{value}`, every value (and attributes) a string."""
    if not isinstance(entry, dict):
        return False
    items = [entry] if "value" in entry else []
    multi = entry.get("multiValue")
    if multi is not None:
        if not isinstance(multi, list) or not multi:
            return False
        items += multi
    return bool(items) and all(isinstance(item, dict) and isinstance(item.get("value"), str)
                               and isinstance(item.get("attributes", ""), str) for item in items)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _lambda_edge_trigger(event: dict[str, Any]) -> str:
    """The Lambda@Edge event's own viewer trigger, for the command that makes its CloudFront Functions
    counterpart; viewer-request for an origin trigger, which CloudFront Functions do not have (spec §1.1)."""
    try:
        kind = event["Records"][0]["cf"]["config"]["eventType"]
    except (LookupError, TypeError):
        kind = None
    return kind if kind == EventType.VIEWER_RESPONSE.value else EventType.VIEWER_REQUEST.value


def _raw_query(querystring: Any) -> str | None:
    if isinstance(querystring, dict) and querystring:
        parts: list[str] = []
        for name, entry in querystring.items():
            values = entry.get("multiValue") or [entry] if isinstance(entry, dict) else []
            parts.extend(f"{name}={v.get('value', '')}" for v in values if isinstance(v, dict))
        return "&".join(parts)
    return None


def _iso(ts: float) -> str:
    # As the AWS CLI prints TestResult's timestamps: 2021-04-09T22:02:12.937000+00:00. CloudFront
    # keeps milliseconds (the docs' and aws-samples' outputs all end in 000), a file's time has more.
    when = datetime.fromtimestamp(ts, timezone.utc)
    return when.replace(microsecond=when.microsecond // 1000 * 1000).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _summary(path: Path, runtime: str, kvs: Path | None) -> dict[str, Any]:
    stat = path.stat()
    config: dict[str, Any] = {"Comment": "", "Runtime": runtime}
    if kvs is not None:
        config["KeyValueStoreAssociations"] = {"Quantity": 1, "Items": [
            {"KeyValueStoreARN": f"arn:aws:cloudfront::{ACCOUNT}:key-value-store/{kvs.stem}"}]}
    return {
        "Name": path.stem,
        "Status": "UNPUBLISHED",
        "FunctionConfig": config,
        "FunctionMetadata": {
            "FunctionARN": f"arn:aws:cloudfront::{ACCOUNT}:function/{path.stem}",
            "Stage": "DEVELOPMENT",
            "CreatedTime": _iso(stat.st_ctime),
            "LastModifiedTime": _iso(stat.st_mtime),
        },
    }


class TestResult(dict[str, Any]):
    """What `aws cloudfront test-function` prints, and `error_line`: the line of the function's file
    where the error in FunctionErrorMessage was thrown, which CloudFront's message does not say."""

    __test__ = False  # a public name pytest must not collect
    error_line: int | None = None


def source_line(path: Path, line: int) -> str:
    """`path:line: <that line of code>`, for a note naming where a function failed."""
    try:
        code = path.read_text(encoding="utf-8").splitlines()[line - 1].strip()
    except (OSError, UnicodeDecodeError, IndexError):
        code = ""
    return f"{path}:{line}: {code}" if code else f"{path}:{line}"


async def test_function(path: Path, event: dict[str, Any], *, runtime: str, kvs: Path | None, now: datetime | None,
                        settings: DistributionSettings | None = None) -> TestResult:
    """Run `path` on `event` and return exactly what `aws cloudfront test-function` prints.

    A function that fails still gives a TestResult (FunctionErrorMessage set, FunctionOutput "{}");
    only code CloudFront would refuse at create (size, a syntax error) raises FunctionCodeError.
    """
    settings = settings or DistributionSettings()
    if len(json.dumps(event).encode("utf-8")) > MAX_EVENT_BYTES:
        raise UserError(f"the test event is over {MAX_EVENT_BYTES} bytes, TestFunction's limit")
    full_event, event_type = complete_event(event, settings)
    try:
        assoc = CloudFrontFunctionAssociation(cloudfront_function=path, runtime=runtime, kvs=kvs)  # type: ignore[arg-type]
    except ValidationError as exc:  # a store with runtime 1.0, an unknown runtime: the user's words, no traceback
        raise UserError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
    function = await load_cloudfront_function(assoc, settings, defer_errors=True)
    try:
        when = (now or datetime.now(timezone.utc)).timestamp()
        args: dict[str, Any] = {"event_type": event_type, "now": when, "edge": edge_location(settings.pop),
                                "raw_query": _raw_query(full_event["request"].get("querystring")), "header_rules": False}
        # The first runs pay for V8 compiling this code path, which CloudFront's ComputeUtilization
        # does not show; a few more runs, and the quickest is reported. Safe: a function has no
        # side effects outside its isolate, and the clock is the same for every run. A function
        # that throws is warmed too (its first throw also pays for V8 building the error); one that
        # V8 had to stop (time or memory limit) is not run again.
        run = await function.run(full_event, **args)
        outcome = run.outcome
        if not (outcome.timed_out or outcome.never_settled or outcome.out_of_memory):
            for _ in range(WARM_RUNS):
                again = await function.run(full_event, **args)
                if again.outcome.elapsed_ms < run.outcome.elapsed_ms:
                    run = again
    finally:
        await function.aclose()
    if isinstance(run.error, FunctionExecutionError):
        message = EXECUTION_PREFIX + (run.outcome.error or run.error.reason)
    elif isinstance(run.error, FunctionValidationError):
        message = FunctionValidationError.page_reason + " " + run.error.reason
    else:
        message = ""
    result = TestResult({"TestResult": {
        "FunctionSummary": _summary(path, runtime, kvs),
        "ComputeUtilization": str(run.compute_utilization),
        "FunctionExecutionLogs": run.outcome.logs,
        "FunctionErrorMessage": message,
        "FunctionOutput": json.dumps(run.output, separators=(",", ":")) if run.output is not None else "{}",
    }})
    if isinstance(run.error, FunctionExecutionError) and not run.outcome.ok:
        result.error_line = run.outcome.line
    return result


test_function.__test__ = False  # type: ignore[attr-defined]  # a public name pytest must not collect
