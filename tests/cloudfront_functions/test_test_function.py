"""`edgesim test-function`: the JSON `aws cloudfront test-function` prints (spec §1.10)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from cff_support import FUNCTIONS
from edgesim.cli import main
from edgesim.cloudfront_functions import test_function as run_test

# An aws-samples style event: lowercase names, the misspelt `multivalue`, no context ids.
SAMPLE_EVENT = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "1.2.3.4"},
    "request": {"method": "GET", "uri": "/docs/", "querystring": {}, "headers": {"host": {"value": "www.example.com"}},
                "cookies": {"id": {"value": "CookieIdValue", "multivalue": [{"value": "CookieIdValue"}]}}},
}


async def test_result_shape_and_output() -> None:
    result = await run_test(FUNCTIONS / "add-index.js", SAMPLE_EVENT, runtime="cloudfront-js-2.0", kvs=None, now=None)
    test = result["TestResult"]
    assert set(test) == {"FunctionSummary", "ComputeUtilization", "FunctionExecutionLogs", "FunctionErrorMessage", "FunctionOutput"}
    assert test["FunctionSummary"]["Name"] == "add-index"
    assert test["FunctionSummary"]["FunctionConfig"] == {"Comment": "", "Runtime": "cloudfront-js-2.0"}
    assert isinstance(test["ComputeUtilization"], str) and 0 <= int(test["ComputeUtilization"]) <= 100
    assert test["FunctionErrorMessage"] == ""
    assert json.loads(test["FunctionOutput"]) == {"request": {
        "method": "GET", "uri": "/docs/index.html", "querystring": {}, "headers": {"host": {"value": "www.example.com"}},
        "cookies": {"id": {"value": "CookieIdValue"}}}}  # the unknown `multivalue` is dropped


async def test_a_function_that_does_nothing_still_shows_the_engine_s_own_utilization(tmp_path: Path) -> None:
    # CloudFront's TestFunction reads 7-16 for one-line functions: its engine's per-invocation work.
    from edgesim.cloudfront_functions.runtime import INVOCATION_UTILIZATION

    fn = tmp_path / "noop.js"
    fn.write_text("function handler(e) { return e.request; }")
    test = (await run_test(fn, SAMPLE_EVENT, runtime="cloudfront-js-2.0", kvs=None, now=None))["TestResult"]
    assert INVOCATION_UTILIZATION == 5 and int(test["ComputeUtilization"]) >= INVOCATION_UTILIZATION


async def test_thrown_error_message_and_empty_output(tmp_path: Path) -> None:
    fn = tmp_path / "boom.js"
    fn.write_text("function handler(e) { console.log('first'); throw new Error('kaput'); }")
    test = (await run_test(fn, SAMPLE_EVENT, runtime="cloudfront-js-1.0", kvs=None, now=None))["TestResult"]
    assert test["FunctionErrorMessage"] == ("The CloudFront function associated with the CloudFront distribution is invalid "
                                            "or could not run. Error: kaput")
    assert test["FunctionOutput"] == "{}"
    assert test["FunctionExecutionLogs"] == ["first"]


async def test_a_function_that_throws_is_warmed_like_one_that_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ComputeUtilization is the quickest of several runs; a throwing function's first run also
    # pays for V8 compiling its path and building the error, which CloudFront does not bill.
    from edgesim.cloudfront_functions.runtime import CloudFrontFunction
    from edgesim.cloudfront_functions.testfunction import WARM_RUNS

    runs: list[bool] = []
    real_run = CloudFrontFunction.run

    async def counting_run(self: CloudFrontFunction, *args: object, **kwargs: object) -> object:
        result = await real_run(self, *args, **kwargs)  # type: ignore[arg-type]
        runs.append(result.error is not None)
        return result

    monkeypatch.setattr(CloudFrontFunction, "run", counting_run)
    fn = tmp_path / "boom.js"
    fn.write_text("function handler(e) { return e.request.headers.missing.value; }")
    test = (await run_test(fn, SAMPLE_EVENT, runtime="cloudfront-js-2.0", kvs=None, now=None))["TestResult"]
    assert test["FunctionErrorMessage"].endswith('TypeError: cannot get property "value" of undefined')
    assert runs == [True] * (1 + WARM_RUNS)


async def test_generated_response_gains_cookies_and_viewer_response_events(tmp_path: Path) -> None:
    fn = tmp_path / "redirect.js"
    fn.write_text("function handler(e) { return {statusCode: 302, statusDescription: 'Found', "
                  "headers: {location: {value: 'https://x'}}}; }")
    test = (await run_test(fn, SAMPLE_EVENT, runtime="cloudfront-js-2.0", kvs=None, now=None))["TestResult"]
    assert json.loads(test["FunctionOutput"]) == {"response": {"statusCode": 302, "statusDescription": "Found",
                                                               "headers": {"location": {"value": "https://x"}}, "cookies": {}}}
    vr_event = {"request": {"method": "GET", "uri": "/"}, "response": {"statusCode": 200, "headers": {}}}
    test = (await run_test(FUNCTIONS / "security-headers.js", vr_event, runtime="cloudfront-js-1.0", kvs=None, now=None))["TestResult"]
    out = json.loads(test["FunctionOutput"])["response"]
    assert out["headers"]["x-frame-options"] == {"value": "DENY"}


async def test_now_pins_the_clock(tmp_path: Path) -> None:
    fn = tmp_path / "clock.js"
    fn.write_text("function handler(e) { console.log(new Date().toISOString()); return e.request; }")
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    test = (await run_test(fn, SAMPLE_EVENT, runtime="cloudfront-js-2.0", kvs=None, now=when))["TestResult"]
    assert test["FunctionExecutionLogs"] == ["2030-01-02T03:04:05.000Z"]


def test_cli_exit_codes_and_stdin(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["test-function", str(FUNCTIONS / "add-index.js"), "--event", "-"], input=json.dumps(SAMPLE_EVENT))
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["TestResult"]["FunctionErrorMessage"] == ""
    bad = tmp_path / "bad.js"
    bad.write_text("function handler(e) { throw new Error('x'); }")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(SAMPLE_EVENT))
    failed = runner.invoke(main, ["test-function", str(bad), "--event", str(event)])
    assert failed.exit_code == 0  # as the AWS CLI: the test ran
    assert json.loads(failed.stdout)["TestResult"]["FunctionErrorMessage"].endswith("Error: x")
    strict = runner.invoke(main, ["test-function", str(bad), "--event", str(event), "--fail-on-error"])
    assert strict.exit_code == 1


def test_fail_on_error_says_why_on_stderr(tmp_path: Path) -> None:
    """In CI stdout is the AWS CLI's JSON, kept for an artifact or jq; the job's log shows stderr: a
    --fail-on-error exit 1 says there which function failed, where and with what, as check does."""
    bad = tmp_path / "bad.js"
    bad.write_text("function handler(e) {\n    throw new Error('x');\n}\n")
    invalid = tmp_path / "invalid.js"
    invalid.write_text("function handler(e) { return { statusCode: 'abc' }; }\n")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(SAMPLE_EVENT))
    thrown = CliRunner().invoke(main, ["test-function", str(bad), "--event", str(event), "--fail-on-error"])
    assert thrown.exit_code == 1
    message = json.loads(thrown.stdout)["TestResult"]["FunctionErrorMessage"]
    assert thrown.stderr.splitlines()[-1] == f"error: {bad}:2: {message}"
    refused = CliRunner().invoke(main, ["test-function", str(invalid), "--event", str(event), "--fail-on-error"])
    assert refused.exit_code == 1
    message = json.loads(refused.stdout)["TestResult"]["FunctionErrorMessage"]
    assert refused.stderr.splitlines()[-1] == f"error: {invalid}: {message}"
    # Without the flag the run is the AWS CLI's: exit 0 and the error only in the JSON.
    aws = CliRunner().invoke(main, ["test-function", str(bad), "--event", str(event)])
    assert aws.exit_code == 0 and "error:" not in aws.stderr


def test_cli_names_a_lambda_edge_event_for_what_it_is() -> None:
    event = (Path(__file__).resolve().parents[2] / "samples" / "events" / "viewer-request.json").read_text()
    result = CliRunner().invoke(main, ["test-function", str(FUNCTIONS / "add-index.js"), "--event", "-"], input=event)
    assert result.exit_code == 2
    assert "Lambda@Edge event (Records[0].cf)" in result.output and "edgesim invoke" in result.output
    assert "`edgesim generate-event viewer-request --cloudfront-function`" in result.output
    assert result.output.count("\n") == 1


def test_cli_points_a_lambda_edge_viewer_response_event_to_its_cloudfront_functions_counterpart() -> None:
    event = (Path(__file__).resolve().parents[2] / "samples" / "events" / "viewer-response.json").read_text()
    result = CliRunner().invoke(main, ["test-function", str(FUNCTIONS / "security-headers.js"), "--event", "-"],
                                input=event)
    assert result.exit_code == 2
    assert "`edgesim generate-event viewer-response --cloudfront-function`" in result.output


def test_cli_refuses_oversized_code(tmp_path: Path) -> None:
    big = tmp_path / "big.js"
    big.write_text("function handler(e) { return e.request; }\n" + "//" + "x" * 11000)
    result = CliRunner().invoke(main, ["test-function", str(big), "--event", "-"], input=json.dumps(SAMPLE_EVENT))
    assert result.exit_code == 2
    assert "FunctionSizeLimitExceeded" in result.output or "10240 bytes" in result.output


def test_local_time_is_utc_as_at_the_edge_whatever_the_machine_s_zone(tmp_path: Path) -> None:
    # A fresh process in New York: the function's local time is UTC (as on CloudFront), Python's stays New York's.
    import os
    import subprocess
    import sys

    fn = tmp_path / "clock.js"
    fn.write_text("function handler(e) { var d = new Date(); console.log([d.getHours(), d.getTimezoneOffset(), "
                  "new Date(2024, 0, 1).getTime(), Date.parse('2024-01-01T00:00:00')].join(' ')); return e.request; }")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(SAMPLE_EVENT))
    script = ("import json, subprocess, sys, time; from click.testing import CliRunner; from edgesim.cli import main; "
              "r = CliRunner().invoke(main, ['test-function', sys.argv[1], '--event', sys.argv[2], '--now', '2024-06-03T15:00:00Z']); "
              "print(json.dumps([json.loads(r.output)['TestResult']['FunctionExecutionLogs'], time.localtime(0).tm_hour]))")
    env = {**os.environ, "TZ": "America/New_York"}
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", script, str(fn), str(event)], env=env, cwd=root, capture_output=True,
                         text=True, check=True).stdout
    logs, python_hour = json.loads(out.strip().splitlines()[-1])
    assert logs == ["15 0 1704067200000 1704067200000"]
    assert python_hour == 19  # 1970-01-01T00:00Z is 19:00 the day before in New York


def test_benchmark_quick_run_reports_a_ratio() -> None:
    """benchmarks/cff_invoke.py runs; its numbers are reported, never asserted (speed lives in benchmarks/)."""
    from benchmarks.cff_invoke import run

    report = run(quick=True)
    assert report["floor_median_us"] > 0 and report["edgesim_median_us"] > 0
    assert report["ratio"] == pytest.approx(report["edgesim_median_us"] / report["floor_median_us"], rel=0.01)


def test_cli_a_store_needs_runtime_2_0_and_says_so(tmp_path: Path) -> None:
    store = tmp_path / "store.json"
    store.write_text('{"data": [{"key": "a", "value": "b"}]}')
    result = CliRunner().invoke(main, ["test-function", str(FUNCTIONS / "add-index.js"), "--event", "-", "--kvs",
                                       str(store), "--runtime", "cloudfront-js-1.0"], input=json.dumps(SAMPLE_EVENT))
    assert result.exit_code == 2, result.output
    assert "a KeyValueStore needs runtime 'cloudfront-js-2.0' (CloudFront docs: \"Amazon CloudFront KeyValueStore\")" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback


@pytest.mark.parametrize(("now", "logged"), [
    ("2030-01-02T03:04:05Z", "2030-01-02T03:04:05.000Z"),
    ("2030-01-02T05:04:05+02:00", "2030-01-02T03:04:05.000Z"),
    ("2030-01-02T03:04:05.250", "2030-01-02T03:04:05.250Z"),  # no zone: UTC, as CloudFront's clock
    ("2030-01-02T03:04Z", "2030-01-02T03:04:00.000Z"),
    ("2030-01-02", "2030-01-02T00:00:00.000Z"),
])
def test_cli_now_takes_iso_8601(tmp_path: Path, now: str, logged: str) -> None:
    fn = tmp_path / "clock.js"
    fn.write_text("function handler(e) { console.log(new Date().toISOString()); return e.request; }")
    result = CliRunner().invoke(main, ["test-function", str(fn), "--event", "-", "--now", now],
                                input=json.dumps(SAMPLE_EVENT))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["TestResult"]["FunctionExecutionLogs"] == [logged]


def test_cli_now_that_is_not_a_date_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["test-function", str(FUNCTIONS / "add-index.js"), "--event", "-", "--now",
                                       "yesterday"], input=json.dumps(SAMPLE_EVENT))
    assert result.exit_code == 2
    assert "--now" in result.output and "ISO 8601" in result.output


@pytest.mark.parametrize(("code", "line", "reason"), [
    # An unclosed brace hid the handler from the parse: "no top-level `function handler(event)`".
    ("function handler(event) {\n  var r = event.request;\n  return r;\n", 3, "SyntaxError: Unexpected end of input"),
    # One '}' too many closed edgesim's wrapper around the code: "Illegal return statement", line 3 of 1.
    ("function handler(event) { return event.request; }}\n", 1, "SyntaxError: Unexpected token '}'"),
    # Any other syntax error keeps V8's words and line.
    ("function handler(event) {\n  var x = ;\n  return event.request;\n}\n", 2, "SyntaxError: Unexpected token ';'"),
])
def test_cli_an_unbalanced_brace_is_a_syntax_error_in_the_file(tmp_path: Path, code: str, line: int,
                                                               reason: str) -> None:
    fn = tmp_path / "braces.js"
    fn.write_text(code)
    result = CliRunner().invoke(main, ["test-function", str(fn), "--event", "-"], input=json.dumps(SAMPLE_EVENT))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {fn}:{line}: {reason}"


@pytest.mark.parametrize(("field", "value", "words"), [("context", "viewer-request", "context must be an object"),
                                                       ("response", 5, "response must be an object")])
def test_cli_says_what_a_malformed_event_part_should_be(tmp_path: Path, field: str, value: object, words: str) -> None:
    # Before: a ValueError / TypeError traceback out of `edgesim test-function`.
    event = {"context": {"eventType": "viewer-response"}, "request": {"method": "GET", "uri": "/", "headers": {}},
             "response": {"statusCode": 200}}
    event[field] = value
    (tmp_path / "event.json").write_text(json.dumps(event))
    result = CliRunner().invoke(main, ["test-function", str(FUNCTIONS / "add-index.js"), "--event", str(tmp_path / "event.json")])
    assert result.exit_code == 2 and words in result.output


def test_cli_says_a_response_in_lambda_edge_s_shape_was_read_as_the_request(tmp_path: Path) -> None:
    """`status` and [{key, value}] headers (Lambda@Edge's response) have no statusCode, so the object
    is read as the request and its Location array failed as a request header, with no word of why."""
    fn = tmp_path / "redirect.js"
    fn.write_text("function handler(e) { return { status: '302', headers: "
                  "{ location: [{ key: 'Location', value: '/x' }] } }; }")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(SAMPLE_EVENT))
    result = CliRunner().invoke(main, ["test-function", str(fn), "--event", str(event), "--fail-on-error"])
    assert result.exit_code == 1
    message = json.loads(result.stdout)["TestResult"]["FunctionErrorMessage"]
    assert "request.headers.location must be an object like" in message
    assert ("the object has `status` but no `statusCode`, so it was read as the request: a CloudFront Function's "
            "response is { statusCode: 302, headers: { location: { value: '/x' } } }") in message
