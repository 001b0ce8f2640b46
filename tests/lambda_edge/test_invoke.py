"""invoke_handler, generate_event, check_lambda and the `invoke` / `generate-event` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.config import LambdaFunctionAssociation, default_config_path
from edgesim.errors import FunctionCodeError
from edgesim.lambda_edge import check_lambda, generate_event, invoke_handler
from edgesim.messages import EventType

from .conftest import IDENTITY_JS, IDENTITY_PY, Handlers

SAMPLE_EVENTS = default_config_path().parent / "events"

FAILING_PY = """
import os, sys
def handler(event, context):
    uri = event["Records"][0]["cf"]["request"]["uri"]
    print("about to", uri)
    if uri == "/throw":
        raise KeyError("missing")
    if uri == "/exit":
        os._exit(3)
    if uri == "/hang":
        while True:
            pass
    if uri == "/bad":
        return {"status": "1000"}
    return {"status": "302", "headers": {"location": [{"key": "Location", "value": "/x"}]}}
"""
FAILING_JS = """
exports.handler = async (event) => {
  const uri = event.Records[0].cf.request.uri;
  console.log('about to', uri);
  if (uri === '/throw') throw new Error('missing');
  if (uri === '/exit') process.exit(3);
  if (uri === '/hang') for (;;) {}
  if (uri === '/bad') return { status: '1000' };
  return { status: '302', headers: { location: [{ key: 'Location', value: '/x' }] } };
};
"""


@pytest.mark.parametrize("trigger", list(EventType))
async def test_generated_events_run_and_validate(handlers: Handlers, trigger: EventType) -> None:
    path = handlers.write("identity", py=IDENTITY_PY, js=IDENTITY_JS)
    event = generate_event(trigger, uri="/a", method="POST", headers=[("X-Test", "1")], querystring="q=1",
                           body=b"payload" if trigger.is_request else None)
    cf = event["Records"][0]["cf"]
    assert cf["config"]["eventType"] == trigger.value
    assert cf["request"]["headers"]["x-test"] == [{"key": "X-Test", "value": "1"}]
    assert ("origin" in cf["request"]) != trigger.is_viewer
    assert ("body" in cf["request"]) == trigger.is_request
    assert ("response" in cf) != trigger.is_request
    result = await invoke_handler(f"{path.name}:handler", event, validate=True, base_dir=path.parent)
    assert result.ok and result.error is None and result.validation_error is None
    assert result.viewer_status == (None if trigger.is_request else 200)
    assert result.result == (cf["request"] if trigger.is_request else cf["response"])
    assert result.logs[0].startswith("START") and "Init Duration" in result.logs[-1]


@pytest.mark.parametrize("uri, words, status", [
    ("/throw", "missing", 503), ("/exit", "exit status 3", 503), ("/hang", "Task timed out after 0.30 seconds", 503)])
async def test_handler_failures_are_reported_not_raised(handlers: Handlers, uri: str, words: str, status: int) -> None:
    path = handlers.write("failing", py=FAILING_PY, js=FAILING_JS)
    event = generate_event(EventType.VIEWER_REQUEST, uri=uri)
    result = await invoke_handler(f"{path}:handler", event, validate=True, timeout=0.3)
    assert not result.ok and result.error is not None and words in result.error
    assert result.error_status == status and result.viewer_status == status
    assert any(f"about to {uri}" in line for line in result.logs)


async def test_validation_outcome(handlers: Handlers) -> None:
    path = handlers.write("failing", py=FAILING_PY, js=FAILING_JS)
    ok = await invoke_handler(f"{path}:handler", generate_event(EventType.VIEWER_REQUEST), validate=True)
    assert ok.ok and ok.viewer_status == 302
    bad = await invoke_handler(f"{path}:handler", generate_event(EventType.VIEWER_REQUEST, uri="/bad"), validate=True)
    assert bad.error is None and bad.result == {"status": "1000"}
    assert bad.viewer_status == 502 and bad.validation_error is not None and "200 to 599" in bad.validation_error
    unchecked = await invoke_handler(f"{path}:handler", generate_event(EventType.VIEWER_REQUEST, uri="/bad"))
    assert unchecked.ok and unchecked.viewer_status is None


async def test_import_error_names_the_file(handlers: Handlers) -> None:
    path = handlers.write("broken", py="import no_such_module\n", js="require('no-such-module');\n")
    result = await invoke_handler(f"{path}:handler", generate_event(EventType.VIEWER_REQUEST))
    assert result.error is not None and str(path) in result.error and "no_such_module" in result.error.replace("-", "_")
    assert result.error_status == 503


async def test_sam_style_event_runs_unchanged(handlers: Handlers) -> None:
    path = handlers.write("identity", py=IDENTITY_PY, js=IDENTITY_JS)
    event = json.loads((SAMPLE_EVENTS / "sam-viewer-request.json").read_text())
    result = await invoke_handler(f"{path}:handler", event, validate=True)
    assert result.ok and result.event_type is EventType.VIEWER_REQUEST and result.notes
    assert result.result["uri"] == "/picture.jpg"


async def test_null_config_or_cf_in_an_event_is_no_traceback(handlers: Handlers) -> None:
    # `config: null` (an AttributeError before) runs as the trigger the content shows, said in a note;
    # `cf: null` (an AttributeError before) reaches the handler, which fails on it as it would on Lambda.
    path = handlers.write("identity", py=IDENTITY_PY, js=IDENTITY_JS)
    event = json.loads((SAMPLE_EVENTS / "sam-viewer-request.json").read_text())
    event["Records"][0]["cf"]["config"] = None
    result = await invoke_handler(f"{path}:handler", event, validate=True)
    assert result.ok and result.event_type is EventType.VIEWER_REQUEST
    assert any("no config.eventType" in note for note in result.notes)
    event["Records"][0]["cf"] = None
    result = await invoke_handler(f"{path}:handler", event, validate=True)
    assert not result.ok and result.error is not None


async def test_missing_handler_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(FunctionCodeError, match="handler file not found"):
        await invoke_handler("nope.py:handler", generate_event(EventType.VIEWER_REQUEST), base_dir=tmp_path)


def test_check_lambda(handlers: Handlers) -> None:
    good = handlers.assoc("good", py=IDENTITY_PY, js=IDENTITY_JS)
    assert check_lambda(good) == []
    bad = handlers.assoc("bad", py="x = 1 / 0\n", js="null.x;\n")
    problems = check_lambda(bad)
    assert len(problems) == 1 and str(bad.path) in problems[0]
    assert ("ZeroDivisionError" in problems[0]) or ("TypeError" in problems[0])


def test_check_lambda_missing_file(tmp_path: Path) -> None:
    assoc = LambdaFunctionAssociation.model_validate({"lambda": "gone.py:handler"}, context={"base_dir": tmp_path})
    assert check_lambda(assoc) == [f"{tmp_path / 'gone.py'}: handler file not found"]


def test_cli_invoke_prints_result_and_log(handlers: Handlers) -> None:
    path = handlers.write("failing", py=FAILING_PY, js=FAILING_JS)
    runner = CliRunner()
    event = json.dumps(generate_event(EventType.VIEWER_REQUEST, uri="/ok"))
    result = runner.invoke(main, ["invoke", f"{path}:handler", "--event", "-", "--validate"], input=event)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "302"
    assert "about to /ok" in result.stderr and "REPORT RequestId" in result.stderr
    assert "the viewer gets 302" in result.stderr


@pytest.mark.parametrize("uri, code, words", [
    ("/throw", 1, "error:"), ("/bad", 1, "the viewer gets 502"),
    # The verdict names the X-Cache CloudFront answers with (spec §2.8), and a handler that threw is
    # not said to have failed validation: CloudFront never got a result to check.
    ("/throw", 1, "validation: not reached, the handler failed; the viewer gets 503 "
                  "(X-Cache: LambdaExecutionError from cloudfront)"),
    ("/bad", 1, "; the viewer gets 502 (X-Cache: LambdaValidationError from cloudfront)"),
    ("/ok", 0, "validation: ok; the viewer gets 302 (X-Cache: LambdaGeneratedResponse from cloudfront)"),
])
def test_cli_invoke_fails_non_zero(handlers: Handlers, tmp_path: Path, uri: str, code: int, words: str) -> None:
    path = handlers.write("failing", py=FAILING_PY, js=FAILING_JS)
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(generate_event(EventType.VIEWER_REQUEST, uri=uri)))
    result = CliRunner().invoke(main, ["invoke", f"{path}:handler", "--event", str(event_file), "--validate"])
    assert result.exit_code == code and words in result.stderr


@pytest.mark.parametrize("trigger", [e.value for e in EventType])
def test_cli_generate_event_then_invoke(handlers: Handlers, trigger: str) -> None:
    path = handlers.write("identity", py=IDENTITY_PY, js=IDENTITY_JS)
    runner = CliRunner()
    generated = runner.invoke(main, ["generate-event", trigger, "--uri", "/p", "--header", "X-A: b"])
    assert generated.exit_code == 0
    event = json.loads(generated.stdout)
    assert event["Records"][0]["cf"]["request"]["headers"]["x-a"] == [{"key": "X-A", "value": "b"}]
    result = runner.invoke(main, ["invoke", f"{path}:handler", "--event", "-"], input=generated.stdout)
    assert result.exit_code == 0, result.stderr


# An origin-response handler that turns an origin's 404 into a redirect, as bahaipedia's
# lambda-edge-file-redirect does: its event needs the origin's 404, which generate-event gives.
REDIRECT_404_PY = """
def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    if int(response["status"]) == 404:
        response["status"] = 302
        response["headers"]["location"] = [{"key": "Location", "value": "https://elsewhere.example"}]
    return response
"""
REDIRECT_404_JS = """
exports.handler = async (event) => {
  const response = event.Records[0].cf.response;
  if (Number(response.status) === 404) {
    response.status = 302;
    response.headers.location = [{ key: 'Location', value: 'https://elsewhere.example' }];
  }
  return response;
};
"""


@pytest.mark.parametrize("trigger", ["origin-response", "viewer-response"])
def test_cli_generate_event_response_status_and_headers(handlers: Handlers, trigger: str) -> None:
    runner = CliRunner()
    generated = runner.invoke(main, ["generate-event", trigger, "--status", "404",
                                     "--response-header", "Server: AmazonS3", "--response-header", "X-Amz-Id-2: a",
                                     "--response-header", "X-Amz-Id-2: b"])
    assert generated.exit_code == 0, generated.stderr
    response = json.loads(generated.stdout)["Records"][0]["cf"]["response"]
    assert (response["status"], response["statusDescription"]) == ("404", "Not Found")
    assert response["headers"]["server"] == [{"key": "Server", "value": "AmazonS3"}]  # replaces the sample one
    assert response["headers"]["x-amz-id-2"] == [{"key": "X-Amz-Id-2", "value": "a"}, {"key": "X-Amz-Id-2", "value": "b"}]
    if trigger == "origin-response":
        path = handlers.write("redirect_404", py=REDIRECT_404_PY, js=REDIRECT_404_JS)
        result = runner.invoke(main, ["invoke", f"{path}:handler", "--event", "-", "--validate"], input=generated.stdout)
        assert result.exit_code == 0, result.stderr
        assert "the viewer gets 302" in result.stderr
    else:  # CloudFront would not run it: said, as for a CloudFront Function's event
        assert "does not run viewer-response when the origin answered 404" in generated.stderr


@pytest.mark.parametrize("args", [["viewer-request", "--status", "404"], ["origin-request", "--response-header", "A: b"]])
def test_cli_generate_event_refuses_a_response_for_a_request_trigger(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["generate-event", *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert "make the response of origin-response or viewer-response" in result.stderr


def test_cli_invoke_bad_json(tmp_path: Path) -> None:
    event_file = tmp_path / "event.json"
    event_file.write_text("{not json")
    result = CliRunner().invoke(main, ["invoke", "x.py:handler", "--event", str(event_file)])
    assert result.exit_code == 2 and "not valid JSON" in result.stderr


async def test_limits_over_the_trigger_s_quota_run_but_say_so(handlers: Handlers) -> None:
    # CloudFront refuses a viewer trigger with more than 5 s or 128 MB (per-trigger quotas): invoke
    # runs what it is told but says the association would not deploy, instead of "validation: ok".
    path = handlers.write("identity", py=IDENTITY_PY, js=IDENTITY_JS)
    event = generate_event(EventType.VIEWER_REQUEST)
    over = await invoke_handler(f"{path}:handler", event, validate=True, timeout=10, memory=256)
    assert over.ok
    assert ("--timeout 10 s is over Lambda@Edge's 5 s for viewer-request; CloudFront refuses such an "
            "association unless distribution.lambda_quotas = 'flat'") in over.notes
    assert "--memory 256 MB is over Lambda@Edge's 128 MB for viewer-request; CloudFront refuses such an " \
           "association unless distribution.lambda_quotas = 'flat'" in over.notes
    within = await invoke_handler(f"{path}:handler", generate_event(EventType.ORIGIN_REQUEST), timeout=10,
                                  memory=256)
    assert within.ok and within.notes == []
    origin_over = await invoke_handler(f"{path}:handler", generate_event(EventType.ORIGIN_REQUEST), timeout=31)
    assert origin_over.notes == ["--timeout 31 s is over Lambda@Edge's 30 s for origin-request; "
                                 "CloudFront refuses such an association"]


def test_cli_invoke_says_where_a_runaway_log_was_cut(handlers: Handlers) -> None:
    """edgesim keeps 1 MB of an invocation's log; the rest used to go without a word, so a log that
    stopped mid-loop read as the handler stopping there."""
    path = handlers.write(
        "chatty",
        py='def handler(event, context):\n    for i in range(20000):\n        print("x" * 100, i)\n'
           '    return event["Records"][0]["cf"]["request"]\n',
        js='exports.handler = async (event) => {\n  for (let i = 0; i < 20000; i++) console.log("x".repeat(100), i);\n'
           '  return event.Records[0].cf.request;\n};\n')
    event = json.dumps(generate_event(EventType.VIEWER_REQUEST, uri="/"))
    result = CliRunner().invoke(main, ["invoke", f"{path}:handler", "--event", "-"], input=event)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    cut = [line for line in lines if "more bytes of log not shown" in line]
    assert len(cut) == 1 and cut[0].endswith("at most 1 MB of an invocation's log is kept]"), lines[-4:]
    assert lines.index(cut[0]) < next(i for i, line in enumerate(lines) if line.startswith("END RequestId"))


def test_cli_invoke_names_an_async_def_python_handler(tmp_path: Path) -> None:
    """Lambda's own words ("Object of type coroutine is not JSON serializable") do not say that the
    `async` is the mistake; edgesim adds it."""
    path = tmp_path / "edge.py"
    path.write_text('async def handler(event, context):\n    return event["Records"][0]["cf"]["request"]\n')
    event = json.dumps(generate_event(EventType.VIEWER_REQUEST, uri="/"))
    result = CliRunner().invoke(main, ["invoke", f"{path}:handler", "--event", "-"], input=event)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: edge: Runtime.MarshalError: Object of type coroutine is not JSON serializable (edgesim: handler "
        "is `async def`; Lambda's Python runtime does not await a handler, so write it as a plain `def`)")


def test_cli_invoke_of_a_cloudfront_function_file_says_what_it_looks_like(tmp_path: Path) -> None:
    """`function handler(event)` with no export is a CloudFront Function; Lambda's words ("is
    undefined or not exported") do not say so, nor which command runs it."""
    path = tmp_path / "add-index.js"
    path.write_text("function handler(event) {\n  return event.request;\n}\n")
    event = json.dumps(generate_event(EventType.VIEWER_REQUEST, uri="/"))
    result = CliRunner().invoke(main, ["invoke", f"{path}:handler", "--event", "-"], input=event)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].endswith(
        "the file declares handler() but does not export it: a CloudFront Function? run it with "
        "`edgesim test-function add-index.js`; as a Lambda@Edge handler, add `exports.handler = handler;`)")
