"""One event through one handler without a server: the core of `edgesim invoke` and `check`.

Events in the AWS documentation's and `sam local generate-event cloudfront`'s format go to the
handler unchanged; `validate=True` also applies CloudFront's checks on the output and says which
status the viewer would get (spec §2.8).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edgesim import errors
from edgesim.config_checks import lambda_limits
from edgesim.docs_links import cite
from edgesim.exchange import GENERATED_X_CACHE
from edgesim.function_associations import LambdaFunctionAssociation
from edgesim.lambda_edge import validation
from edgesim.lambda_edge.handler_hint import config_source, handler_not_found_hint, load_problem, where_it_failed
from edgesim.lambda_edge.runtime import WorkerPool, raise_for_outcome, trigger_limits, worker_spec
from edgesim.lambda_edge.workers import Worker, WorkerInitError
from edgesim.messages import EventType


@dataclass
class InvokeResult:
    """What the handler returned, its log, and how CloudFront would take it."""

    result: Any = None
    logs: list[str] = field(default_factory=list)
    error: str | None = None  # the handler failed: exception, timeout, crash, import error
    error_status: int | None = None  # 503 for those
    validation_error: str | None = None  # only with validate=True
    viewer_status: int | None = None  # with validate=True: the status the viewer gets; None = continues
    x_cache: str | None = None  # with validate=True, when CloudFront answers itself: its X-Cache (spec §2.8)
    cold_start: bool = True
    duration_ms: float = 0.0
    event_type: EventType | None = None  # the trigger it ran as
    notes: list[str] = field(default_factory=list)  # e.g. the event type was guessed

    @property
    def ok(self) -> bool:
        return self.error is None and self.validation_error is None


def load_handler(handler: str, base_dir: Path) -> LambdaFunctionAssociation:
    """`path/file.py:function`, `file.handler` or `pkg.module:fn`, resolved against base_dir."""
    try:
        assoc = LambdaFunctionAssociation.model_validate({"lambda": handler}, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise errors.FunctionCodeError(str(exc.errors()[0]["msg"]).removeprefix("Value error, "),
                                       file=handler) from None
    if not assoc.path.is_file():
        raise errors.FunctionCodeError(f"handler file not found: {assoc.path}", file=handler)
    return assoc


def event_type_of(event: Any) -> tuple[EventType, str | None]:
    """The event's own config.eventType; else a guess, with a note saying so.

    `sam local generate-event cloudfront` writes events whose config holds only distributionId;
    they run unchanged, as the trigger their content points to (_guess_trigger).
    """
    try:
        cf = event["Records"][0]["cf"]
    except (KeyError, IndexError, TypeError):
        if isinstance(event, dict) and isinstance(event.get("request"), dict):
            # The other way round from cloudfront_functions.testfunction's check: the two shapes get mixed up.
            raise errors.UserError("this is a CloudFront Functions event (request at the top), not a Lambda@Edge "
                                   "one (Records[0].cf): make one with `edgesim generate-event TRIGGER`, or run "
                                   "this one on a CloudFront Function (`edgesim test-function`, "
                                   "edge_functions.cloudfront_function)") from None
        raise errors.UserError("not a Lambda@Edge event: it has no Records[0].cf "
                               "(make one with `edgesim generate-event TRIGGER`)") from None
    config = cf.get("config") if isinstance(cf, dict) else None
    declared = config.get("eventType") if isinstance(config, dict) else None  # `config: null` too
    if declared is not None:
        try:
            return EventType(declared), None
        except ValueError:
            raise errors.UserError(f"Records[0].cf.config.eventType {declared!r} is not one of "
                                   f"{[e.value for e in EventType]}") from None
    guess, why = _guess_trigger(cf)
    return guess, f"the event has no config.eventType; running it as {guess} ({why}; set --event-type to choose)"


def _guess_trigger(cf: Any) -> tuple[EventType, str]:
    """The trigger a config-less event most likely comes from, and the clue (spec §2.2 table):
    `response` only in response events, `request.origin` only in origin events, and the headers
    CloudFront adds from a policy (CloudFront-Viewer-Country, CloudFront-Is-Mobile-Viewer...) only
    from origin-request on (spec §2.6), as in the `sam local generate-event cloudfront
    redirect-on-viewer-country` / `serve-object-on-viewer-device` events, whose blueprints run there."""
    request = cf.get("request") if isinstance(cf, dict) else None
    request = request if isinstance(request, dict) else {}
    response = isinstance(cf, dict) and "response" in cf
    if "origin" in request:
        trigger = EventType.ORIGIN_RESPONSE if response else EventType.ORIGIN_REQUEST
        return trigger, "it has request.origin" + (" and a response" if response else "")
    if response:
        return EventType.VIEWER_RESPONSE, "it has a response and no request.origin"
    headers = request.get("headers")
    added = sorted(name for name in headers if isinstance(name, str) and name.lower().startswith(
        validation.CLOUDFRONT_ADDED)) if isinstance(headers, dict) else []
    if added:
        return EventType.ORIGIN_REQUEST, f"its request has {added[0]}, which CloudFront adds after viewer-request"
    return EventType.VIEWER_REQUEST, "it has no response, no request.origin and no header CloudFront adds"


async def invoke_handler(handler: str | LambdaFunctionAssociation, event: dict[str, Any], *,
                         event_type: EventType | None = None, validate: bool = False, base_dir: Path | None = None,
                         timeout: float | None = None, memory: int | None = None,
                         aws_credentials: bool = False, site_packages: bool = False) -> InvokeResult:
    """Run `event` through `handler` (`file.py:function`, or a config's association, with its own
    timeout and memory) in a fresh worker; never raises for what the handler does.
    `site_packages`: a Python handler may import all of edgesim's environment (python_packages.py)."""
    if isinstance(handler, LambdaFunctionAssociation):
        assoc, handler = handler, handler.handler
    else:
        assoc = load_handler(handler, base_dir or Path.cwd())
    note = None
    trigger = event_type
    if trigger is None:
        trigger, note = event_type_of(event)
    default_timeout, default_memory = trigger_limits(assoc, trigger, "per-trigger")
    spec = worker_spec(assoc, memory or default_memory, aws_credentials=aws_credentials, site_packages=site_packages)
    limit = timeout or default_timeout
    notes = [note] if note else []
    notes += _over_quota(trigger, timeout, memory)
    notes += unseen_headers(event)
    pool = WorkerPool(spec, 1, source=f"the handler {json.dumps(handler)}")
    try:
        execution = await pool.execute(event, limit)
    except errors.ViewerError as exc:  # the module failed to import
        return InvokeResult(logs=exc.logs, error=exc.reason, error_status=exc.status, event_type=trigger,
                            viewer_status=exc.status if validate else None,
                            x_cache=exc.x_cache if validate else None, notes=notes)
    finally:
        await pool.aclose()
    out = InvokeResult(result=execution.outcome.result, logs=list(execution.logs), event_type=trigger,
                       duration_ms=execution.outcome.duration_ms, cold_start=execution.cold_start,
                       notes=notes)
    try:
        raise_for_outcome(spec, execution, limit)
    except errors.ViewerError as exc:
        out.error, out.error_status = exc.reason, exc.status
        if validate:
            out.viewer_status, out.x_cache = exc.status, exc.x_cache
        return out
    if validate and execution.outcome.unreadable:
        refused = validation.unreadable(execution.outcome.unreadable)
        out.validation_error, out.viewer_status, out.x_cache = refused.reason, refused.status, refused.x_cache
    elif validate:
        utf8 = execution.outcome.utf8_result  # what CloudFront checks: a lone surrogate made U+FFFD
        _validate(trigger, event, out, out.result if utf8 is None else utf8)
    return out


def _over_quota(trigger: EventType, timeout: float | None, memory: int | None) -> list[str]:
    """What CloudFront would refuse to deploy (spec §2.7): invoke runs it, and says so."""
    max_timeout, max_memory = lambda_limits(trigger, "per-trigger")
    tail = "CloudFront refuses such an association"
    if lambda_limits(trigger, "flat") != (max_timeout, max_memory):
        tail += " unless distribution.lambda_quotas = 'flat'"
    notes = []
    if timeout is not None and timeout > max_timeout:
        notes.append(f"--timeout {timeout:g} s is over Lambda@Edge's {max_timeout:g} s for {trigger.value}; {tail}")
    if memory is not None and memory > max_memory:
        notes.append(f"--memory {memory} MB is over Lambda@Edge's {max_memory} MB for {trigger.value}; {tail}")
    return notes


def unseen_headers(event: Any) -> list[str]:
    """Notes for headers in a pasted event that CloudFront never shows a function (spec §1.4), such
    as the X-Cache in `sam local generate-event cloudfront access-request-in-response`'s response:
    the handler gets them here only because the event has them."""
    try:
        cf = event["Records"][0]["cf"]
    except (LookupError, TypeError):
        return []
    if not isinstance(cf, dict):  # `cf: null`: what the event lacks is said elsewhere
        return []
    notes = []
    for part in ("request", "response"):
        headers = cf.get(part, {}).get("headers") if isinstance(cf.get(part), dict) else None
        for name in headers if isinstance(headers, dict) else ():
            if isinstance(name, str) and validation.is_disallowed(name):
                notes.append(f"the event's {part}.headers has {name}, which CloudFront never shows a function "
                             f"({cite('edge-function-restrictions-all')}); the handler sees it only because the "
                             "event has it")
    return notes


def _event_gap(trigger: EventType, cf: Any) -> str | None:
    """What CloudFront's checks compare the result with, missing from a hand-written event: they
    would then blame the handler for the event's gap (a request handed back without the 'headers'
    the event lacked, every header it has counted as added). CloudFront's events always carry these
    (spec §2.2)."""
    part = "request" if trigger.is_request else "response"
    fields = (("headers", dict), ("uri", str), ("method", str)) if trigger.is_request else (("headers", dict),)
    obj = cf.get(part) if isinstance(cf, dict) else None
    if not isinstance(obj, dict):
        return f"the event has no Records[0].cf.{part}, which every {trigger.value} event carries"
    for name, kind in fields:
        if not isinstance(obj.get(name), kind):
            return (f"the event's Records[0].cf.{part} has no {name!r}, which every {trigger.value} event carries "
                    "(add it to the event)")
    for name, entries in obj["headers"].items():
        # Spec §2.2: `{lowercase-name: [{key, value}, ...]}`; the checks compare entries by name, so a
        # name CloudFront never writes (`Host`) would be the handler's fault once it touched it.
        if name != name.lower() or not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get("value"), str) for e in entries):
            return (f"the event's Records[0].cf.{part}.headers has {name!r}: {json.dumps(entries)[:60]}; CloudFront's "
                    "events name each header in lowercase, with an array of {\"key\", \"value\"} objects")
    if not trigger.is_request:
        try:
            validation.parse_status(obj.get("status"))
        except errors.LambdaValidationError:
            return (f"the event's Records[0].cf.response.status is {obj.get('status')!r}; CloudFront's events carry "
                    "the status as a string of digits, 200 to 599 (\"404\")")
    return None


def _validate(trigger: EventType, event: dict[str, Any], out: InvokeResult, result: Any) -> None:
    try:
        cf = event["Records"][0]["cf"]
        gap = _event_gap(trigger, cf)
        if gap is not None:
            out.validation_error = f"cannot validate: {gap}"
            return
        generated = validation.check_output(trigger, cf, validation.lowercase_header_names(result))
    except errors.LambdaValidationError as exc:
        out.validation_error, out.viewer_status, out.x_cache = exc.reason, exc.status, exc.x_cache
        return
    except (KeyError, IndexError, TypeError) as exc:
        out.validation_error = f"cannot validate: the event is not a Lambda@Edge event ({exc!r} missing)"
        return
    if generated:
        out.viewer_status, out.x_cache = int(out.result["status"]), GENERATED_X_CACHE["lambda"]
    elif not trigger.is_request:
        out.viewer_status = int(out.result["status"])


def check_lambda(assoc: LambdaFunctionAssociation, named_by: str = "", *, site_packages: bool = False) -> list[str]:
    """Problems `edgesim check` reports: a missing file, or a module that fails to import. `named_by`
    is the config field that names the handler (`default_cache_behavior.functions.origin-response.lambda`);
    `site_packages`: the config's `lambda_python_site_packages`, as serving would import it."""
    if not assoc.path.is_file():
        return [f"{assoc.path}: handler file not found"]

    async def start() -> list[str]:
        # Memory generous: this checks importing, not limits.
        worker = Worker(worker_spec(assoc, 10240, site_packages=site_packages))
        try:
            await worker.start()
        except WorkerInitError as exc:
            hint = handler_not_found_hint(assoc.path, assoc.function, config_source(named_by, assoc.handler)) if (
                named_by and exc.error["errorType"] == "Runtime.HandlerNotFound") else ""
            where = where_it_failed(assoc.path, dict(exc.error), exc.at)
            said = load_problem(assoc.path, exc.error["errorType"], exc.error["errorMessage"], site_packages)
            return [f"{where}: {exc.error['errorType']}: {said}{hint}"]
        finally:
            await worker.kill()
        return []

    # Callable from sync code and from inside a running event loop alike.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, start()).result()
