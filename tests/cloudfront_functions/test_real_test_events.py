"""CloudFront Functions test events as real users paste them (the AWS docs' event structure and
test-function pages, aws-samples/amazon-cloudfront-functions' test objects, the console's JSON tab),
through `edgesim test-function`. The fixtures are small hand-written equivalents of those shapes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgesim.cli import main

PASS_THROUGH = "function handler(event) { return event.response ? event.response : event.request; }\n"


def _event(request: dict[str, Any], response: dict[str, Any] | None = None) -> dict[str, Any]:
    """As the test-function docs write one: context with the eventType only, a viewer ip."""
    event: dict[str, Any] = {"version": "1.0", "viewer": {"ip": "198.51.100.11"},
                             "context": {"eventType": "viewer-response" if response else "viewer-request"},
                             "request": {"method": "GET", "uri": "/example.png", **request}}
    if response is not None:
        event["response"] = {"statusCode": 200, **response}
    return event


def _run(tmp_path: Path, event: dict[str, Any]) -> tuple[int, str, str]:
    function = tmp_path / "pass.js"
    function.write_text(PASS_THROUGH)
    result = CliRunner().invoke(main, ["test-function", str(function), "--event", "-"], input=json.dumps(event))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("event, words", [
    # Hand-written events in CloudFront's HTTP spelling: the docs ask for lowercase header names,
    # and every event CloudFront passes has them (spec §1.2).
    (_event({"headers": {"Host": {"value": "example.org"}}}), "request.headers has 'Host'"),
    (_event({"headers": {}}, {"headers": {"Content-Type": {"value": "text/html"}}}),
     "response.headers has 'Content-Type'"),
    # A number where CloudFront's events have strings.
    (_event({"querystring": {"page": {"value": 2}}}), "request.querystring['page']"),
    (_event({"headers": {"accept": {"value": "a", "multiValue": [{"value": "a"}, "b"]}}}),
     "request.headers['accept']"),
    (_event({"headers": {"accept": "text/html"}}), "request.headers['accept']"),
    # The status as the Lambda@Edge events write it, a string; CloudFront Functions' is an integer.
    (_event({"headers": {}}, {"statusCode": "200", "headers": {}}), "response.statusCode must be an integer"),
    (_event({"headers": {}, "uri": "example.png"}), "request needs a method and a uri starting with '/'"),
])
def test_a_malformed_test_event_is_refused_as_the_event_s_fault(tmp_path: Path, event: dict[str, Any],
                                                                 words: str) -> None:
    """Before, the function that passed it on was blamed: FunctionErrorMessage "The CloudFront
    function returned an invalid value", FunctionOutput "{}"."""
    code, stdout, stderr = _run(tmp_path, event)
    assert code == 2 and stdout == ""
    assert f"the test event's {words}" in stderr and "CloudFront Functions event structure" in stderr


@pytest.mark.parametrize("event", [
    # The docs' test-function CLI example: no querystring, no cookies.
    _event({"headers": {"host": {"value": "example.org"}}}),
    # aws-samples' test objects: the misspelt `multivalue`, mixed-case query and cookie names.
    _event({"headers": {"accept": {"value": "text/html", "multivalue": [{"value": "text/html"}]}},
            "querystring": {"ID": {"value": "42"}, "NoValue": {"value": ""}},
            "cookies": {"Cookie1": {"value": "v", "multiValue": [{"value": "v"}, {"value": "w"}]}}}),
    # The docs' full viewer-response event: response cookies with attributes and multiValue.
    _event({"headers": {}}, {"statusDescription": "OK", "headers": {"server": {"value": "gunicorn"}},
                             "cookies": {"ID": {"value": "a", "attributes": "Path=/",
                                                "multiValue": [{"value": "a", "attributes": "Path=/"},
                                                               {"value": "b", "attributes": "Path=/cat"}]}}}),
])
def test_real_test_events_run(tmp_path: Path, event: dict[str, Any]) -> None:
    code, stdout, stderr = _run(tmp_path, event)
    assert code == 0, stderr
    test = json.loads(stdout)["TestResult"]
    assert test["FunctionErrorMessage"] == ""
    output = json.loads(test["FunctionOutput"])
    assert set(output) == {"response" if "response" in event else "request"}


def test_function_summary_times_have_cloudfront_s_millisecond_precision(tmp_path: Path) -> None:
    """The docs' and aws-samples' TestResult outputs: `2021-04-08T23:37:50.825000+00:00`."""
    code, stdout, stderr = _run(tmp_path, _event({"headers": {"host": {"value": "example.org"}}}))
    assert code == 0, stderr
    metadata = json.loads(stdout)["TestResult"]["FunctionSummary"]["FunctionMetadata"]
    for key in ("CreatedTime", "LastModifiedTime"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}000\+00:00", metadata[key]), metadata[key]


def test_a_response_without_status_description_gets_its_status_s_phrase(tmp_path: Path) -> None:
    code, stdout, stderr = _run(tmp_path, _event({"headers": {}}, {"statusCode": 404, "headers": {}}))
    assert code == 0, stderr
    output = json.loads(json.loads(stdout)["TestResult"]["FunctionOutput"])
    assert output["response"]["statusDescription"] == "Not Found"  # it was "OK"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_test_function_reads_events_saved_by_windows_tools(tmp_path: Path, encoding: str) -> None:
    (tmp_path / "pass.js").write_text(PASS_THROUGH)
    event_file = tmp_path / "event.json"
    event_file.write_bytes(json.dumps(_event({"headers": {"host": {"value": "example.org"}}})).encode(encoding))
    result = CliRunner().invoke(main, ["test-function", str(tmp_path / "pass.js"), "--event", str(event_file)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(json.loads(result.stdout)["TestResult"]["FunctionOutput"])["request"]["uri"] == "/example.png"


@pytest.mark.parametrize("event, words", [
    # Headers copied from a browser's devtools: CloudFront passes these as cookies, never as headers.
    (_event({"headers": {"cookie": {"value": "a=1; b=2"}}}), "request.headers has cookie: CloudFront passes it as "
                                                             "request.cookies"),
    (_event({"headers": {}}, {"headers": {"set-cookie": {"value": "a=1; Path=/"}}}),
     "response.headers has set-cookie: CloudFront passes it as response.cookies"),
    (_event({"headers": {"x-amz-cf-id": {"value": "abc"}}}), "request.headers has x-amz-cf-id, which CloudFront "
                                                             "never shows a function"),
])
def test_test_event_parts_cloudfront_never_passes_are_noted_and_run(tmp_path: Path, event: dict[str, Any],
                                                                    words: str) -> None:
    code, stdout, stderr = _run(tmp_path, event)
    assert code == 0 and json.loads(stdout)["TestResult"]["FunctionErrorMessage"] == ""
    assert f"note: the test event's {words}" in stderr
