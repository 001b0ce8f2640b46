"""Unit tests of one function, no distribution: thin wrappers over the CLI's own cores.

`run_cloudfront_function` is `edgesim test-function` (edgesim.cloudfront_functions.test_function):
it returns what `aws cloudfront test-function` prints, with `.output`, `.error` and `.logs` to read
it by. `invoke_lambda` is `edgesim invoke` (edgesim.lambda_edge.invoke_handler): the handler's
result, its log lines and, by default, how CloudFront would take the result (validation). Paths are relative to `base_dir` (default: cwd).
`lambda_event` and `cloudfront_function_event` build their events as `edgesim generate-event` prints them.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from edgesim.errors import UserError
from edgesim.event_files import load_event
from edgesim.function_associations import LambdaFunctionAssociation
from edgesim.lambda_edge.invoke import InvokeResult
from edgesim.messages import EventType

Event = dict[str, Any] | str | Path  # the event, or a JSON file holding it (as `--event FILE`)
# Headers for an event builder: a dict, or (name, value) pairs where a name comes twice.
HeaderPairs = Mapping[str, str] | Sequence[tuple[str, str]]


def _trigger(value: EventType | str) -> EventType:
    try:
        return EventType(value)
    except ValueError:
        pass
    known = [e.value for e in EventType]
    close = difflib.get_close_matches(str(value).strip().lower().replace("_", "-"), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UserError(f"{value!r} is not a trigger; use one of {known}{hint}")


def _pairs(headers: HeaderPairs, disallowed: Callable[[str], bool]) -> list[tuple[str, str]]:
    """Header pairs; one CloudFront never shows a function (spec §1.4) is refused rather than left
    out without a word (the CLI prints a note): a test would then check a header its function never gets."""
    from edgesim.docs_links import cite

    if isinstance(headers, Mapping):
        pairs = [(str(k), str(v)) for k, v in headers.items()]
    elif not isinstance(headers, (str, bytes)) and all(isinstance(p, tuple) and len(p) == 2 for p in headers):
        pairs = [(str(k), str(v)) for k, v in headers]
    else:
        raise UserError(f"headers are a dict {{'Name': 'value'}} or (name, value) pairs, not {headers!r}")
    for name, _ in pairs:
        if disallowed(name):
            raise UserError(f"header {name!r}: CloudFront never shows it to a function "
                            f"({cite('edge-function-restrictions-all')}), so no event has it")
    return pairs


def _response_parts(trigger: EventType, status: int | None, response_headers: HeaderPairs) -> None:
    if trigger.is_request and (status is not None or response_headers):
        raise UserError(f"status= and response_headers= make the response of origin-response or viewer-response; "
                        f"{trigger.value} has none")


def lambda_event(trigger: EventType | str, *, uri: str = "/", method: str = "GET", headers: HeaderPairs = (),
                 querystring: str = "", body: str | bytes | None = None, status: int | None = None,
                 response_headers: HeaderPairs = ()) -> dict[str, Any]:
    """A Lambda@Edge event (`{"Records": [{"cf": ...}]}`) for `trigger`, as `edgesim generate-event
    TRIGGER` prints it: `lambda_event("origin-request", uri="/api/me", headers={"Authorization": "..."})`.
    `querystring` is raw, without '?'; `body` is included as with include_body; `status` and
    `response_headers` make the response of a response trigger's event (default 200 and a sample)."""
    from edgesim.lambda_edge.generate import generate_event
    from edgesim.lambda_edge.validation import is_disallowed

    event_type = _trigger(trigger)
    _response_parts(event_type, status, response_headers)
    return generate_event(event_type, uri=uri, method=method, headers=_pairs(headers, is_disallowed),
                          querystring=querystring, body=body.encode() if isinstance(body, str) else body,
                          status=status, response_headers=_pairs(response_headers, is_disallowed))


def cloudfront_function_event(trigger: EventType | str = "viewer-request", *, uri: str = "/", method: str = "GET",
                              headers: HeaderPairs = (), querystring: str = "", status: int | None = None,
                              response_headers: HeaderPairs = ()) -> dict[str, Any]:
    """A CloudFront Functions event for `trigger` (viewer-request or viewer-response), as `edgesim
    generate-event --cloudfront-function` prints it: a Cookie header becomes `request.cookies`, the
    query string value maps."""
    from edgesim.cloudfront_functions.event import is_disallowed
    from edgesim.cloudfront_functions.generate import generate_event

    event_type = _trigger(trigger)
    if not event_type.is_viewer:  # spec §1.1: CloudFront refuses a CloudFront Function on an origin trigger
        raise UserError(f"CloudFront Functions run only on viewer-request and viewer-response, not "
                        f"{event_type.value}: build that event with lambda_event()")
    _response_parts(event_type, status, response_headers)
    return generate_event(event_type, uri=uri, method=method, headers=_pairs(headers, is_disallowed),
                          querystring=querystring, status=200 if status is None else status,
                          response_headers=_pairs(response_headers, is_disallowed))


def _event(event: Event, base: Path) -> dict[str, Any]:
    """An event given as a file is read as the CLI's `--event` reads it: events saved from
    `sam local generate-event cloudfront ... > event.json`, the docs or aws-samples' test objects
    are files, and a path handed on as the event itself was reported as "not a Lambda@Edge event"."""
    if isinstance(event, dict):
        return event
    if not isinstance(event, (str, Path)):
        raise UserError(f"the event must be a dict (the event's JSON, parsed) or a JSON file's path, "
                        f"got {type(event).__name__}")
    path = base / event
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"event file {path}: {exc.strerror or exc}") from None
    loaded = load_event(data, f"event file {path}")
    if not isinstance(loaded, dict):
        raise UserError(f"event file {path}: an event is a JSON object, got {type(loaded).__name__}")
    return loaded


class FunctionTestResult(dict[str, Any]):
    """What `aws cloudfront test-function` prints (`result["TestResult"]["FunctionOutput"]`...), with
    the parts a test reads: `.output` (FunctionOutput's JSON as a plain dict: `output["request"]["uri"]`),
    `.error`, `.logs`, `.compute_utilization`.

    `.output` of a function that failed raises an AssertionError with its error and logs: FunctionOutput
    is then `{}`, and `output["request"]` would be a KeyError that hides why.
    """

    where: str | None = None  # `file:line: code` where the error was thrown (CloudFront's message has no line)

    @property
    def _test(self) -> dict[str, Any]:
        test: dict[str, Any] = self["TestResult"]
        return test

    @property
    def name(self) -> str:
        return str(self._test["FunctionSummary"]["Name"])

    @property
    def error(self) -> str | None:
        """FunctionErrorMessage, None when the function succeeded."""
        return self._test["FunctionErrorMessage"] or None

    @property
    def logs(self) -> list[str]:
        return list(self._test["FunctionExecutionLogs"])

    @property
    def compute_utilization(self) -> int:
        return int(self._test["ComputeUtilization"])

    @property
    def output(self) -> dict[str, Any]:
        """What the function returned, as CloudFront took it: `{"request": ...}` or `{"response": ...}`."""
        __tracebackhide__ = True  # pytest: a failed function is reported at the test's line
        if self.error is not None:
            logs = "".join(f"\n  | {line}" for line in self.logs) or " none"
            where = f"\nthrown at {self.where}" if self.where else ""
            raise AssertionError(f"{self.name} failed, so it has no output: {self.error}{where}\nits logs:{logs}")
        output: dict[str, Any] = json.loads(self._test["FunctionOutput"])
        return output


async def run_cloudfront_function(path: str | Path, event: Event, *, runtime: str = "cloudfront-js-2.0",
                                  kvs: str | Path | None = None, now: datetime | None = None,
                                  base_dir: Path | None = None) -> FunctionTestResult:
    """The TestResult of `aws cloudfront test-function` for `event` (the same JSON structure)."""
    from edgesim.cloudfront_functions import test_function
    from edgesim.cloudfront_functions.testfunction import source_line

    base = base_dir or Path.cwd()
    file = (base / path).resolve()
    test = await test_function(file, _event(event, base), runtime=runtime,
                               kvs=(base / kvs).resolve() if kvs is not None else None, now=now)
    result = FunctionTestResult(test)
    if test.error_line is not None:
        result.where = source_line(file, test.error_line)
    return result


run_cloudfront_function.__test__ = False  # type: ignore[attr-defined]


class LambdaTestResult(InvokeResult):
    """`edgesim invoke`'s result for a test: `.result` (what the handler returned), `.logs`, `.error`,
    `.validation_error`, `.viewer_status`, `.x_cache`, `.ok`.

    `.result` of a handler that failed (threw, timed out, did not load) raises an AssertionError with
    its error and logs, as FunctionTestResult.output does: it is None then, and `result["uri"]` would
    be a TypeError that hides why. A result CloudFront would refuse is still there to read.
    """

    handler: str = ""

    @property  # type: ignore[override]  # InvokeResult's field, read through this check
    def result(self) -> Any:
        __tracebackhide__ = True  # pytest: a failed handler is reported at the test's line
        if self.error is not None:
            logs = "".join(f"\n  | {line}" for line in self.logs) or " none"
            raise AssertionError(f"{self.handler} failed, so it has no result: {self.error}\nits logs:{logs}")
        return self.__dict__.get("result")

    @result.setter
    def result(self, value: Any) -> None:
        self.__dict__["result"] = value

    def __repr__(self) -> str:  # the dataclass's would read `.result`, and raise for a failed handler
        return f"<LambdaTestResult {self.handler} ok={self.ok} error={self.error!r}>"


async def invoke_lambda(handler: str | LambdaFunctionAssociation, event: Event, *,
                        event_type: EventType | str | None = None,
                        validate: bool = True, base_dir: Path | None = None, timeout: float | None = None,
                        memory: int | None = None, site_packages: bool = False) -> LambdaTestResult:
    """Run a Lambda@Edge handler (`path/file.py:handler`, or a config's association) on `event` in a
    fresh worker. `site_packages`: a Python handler may import all of edgesim's environment, as
    `[distribution] lambda_python_site_packages` allows."""
    from edgesim.lambda_edge import invoke_handler

    trigger = EventType(event_type) if event_type is not None else None
    out = await invoke_handler(handler, _event(event, base_dir or Path.cwd()), event_type=trigger, validate=validate, base_dir=base_dir,
                               timeout=timeout, memory=memory, site_packages=site_packages)
    result = LambdaTestResult(**{f.name: out.__dict__[f.name] for f in fields(out)})
    result.handler = handler if isinstance(handler, str) else handler.handler
    return result
