"""edgesim.direct and the edge_functions fixture: one function on one event, the CLI's own cores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgesim.direct import invoke_lambda, run_cloudfront_function
from edgesim.errors import UserError

EVENT = {"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "198.51.100.7"},
         "request": {"method": "GET", "uri": "/a", "querystring": {}, "headers": {}, "cookies": {}}}
LAMBDA_EVENT = {"Records": [{"cf": {
    "config": {"distributionDomainName": "d111111abcdef8.cloudfront.net", "distributionId": "EDFDVBD6EXAMPLE",
               "eventType": "viewer-request", "requestId": "x"},
    "request": {"clientIp": "198.51.100.7", "method": "GET", "uri": "/a", "querystring": "", "headers": {}}}}]}


async def test_cloudfront_function_result_has_test_functions_structure(tmp_path: Path) -> None:
    
    (tmp_path / "ok.js").write_text("function handler(event) { console.log('hi ' + event.request.uri);"
                                    " event.request.uri = '/b'; return event.request; }\n")
    (tmp_path / "bad.js").write_text("function handler(event) { throw new Error('boom'); }\n")
    ok = (await run_cloudfront_function("ok.js", EVENT, base_dir=tmp_path))["TestResult"]
    assert set(ok) == {"FunctionSummary", "ComputeUtilization", "FunctionExecutionLogs", "FunctionErrorMessage",
                       "FunctionOutput"}
    assert ok["FunctionExecutionLogs"] == ["hi /a"] and json.loads(ok["FunctionOutput"])["request"]["uri"] == "/b"
    bad = (await run_cloudfront_function(tmp_path / "bad.js", EVENT))["TestResult"]
    assert "boom" in bad["FunctionErrorMessage"] and bad["FunctionOutput"] == "{}"


async def test_cloudfront_function_result_reads_its_output_logs_and_error(tmp_path: Path) -> None:
    (tmp_path / "ok.js").write_text("function handler(event) { console.log('hi'); event.request.uri = '/b';"
                                    " return event.request; }\n")
    (tmp_path / "bad.js").write_text("function handler(event) { console.log('checking');"
                                     " throw new Error('boom: no key'); }\n")
    ok = await run_cloudfront_function("ok.js", EVENT, base_dir=tmp_path)
    assert ok.output["request"]["uri"] == "/b" and ok.error is None and ok.logs == ["hi"]
    assert 0 <= ok.compute_utilization <= 100
    assert ok == json.loads(json.dumps(ok))  # still exactly what `aws cloudfront test-function` prints
    bad = await run_cloudfront_function("bad.js", EVENT, base_dir=tmp_path)
    assert bad.error is not None and "boom: no key" in bad.error
    # Its FunctionOutput is "{}": reading the output says why there is none, not KeyError: 'request'.
    with pytest.raises(AssertionError) as failure:
        bad.output["request"]
    assert str(failure.value) == (f"bad failed, so it has no output: {bad.error}\n"
                                  f"thrown at {bad.where}\nits logs:\n  | checking")
    assert bad.where is not None and bad.where.endswith("bad.js:1: function handler(event) { console.log('checking'); "
                                                        "throw new Error('boom: no key'); }")


async def test_lambda_handler_result_logs_and_validation(tmp_path: Path) -> None:
    
    (tmp_path / "fn.py").write_text(
        "def ok(event, context):\n    print('seen', event['Records'][0]['cf']['request']['uri'])\n"
        "    return event['Records'][0]['cf']['request']\n"
        "def bad(event, context):\n    return {'status': 'abc'}\n")
    ok = await invoke_lambda("fn.py:ok", LAMBDA_EVENT, base_dir=tmp_path)
    assert ok.ok and ok.result["uri"] == "/a" and any("seen /a" in line for line in ok.logs)
    bad = await invoke_lambda("fn.py:bad", LAMBDA_EVENT, base_dir=tmp_path)
    assert not bad.ok and bad.validation_error and bad.viewer_status == 502


def test_edge_functions_fixture_runs_them_from_sync_tests(pytester: pytest.Pytester) -> None:
    
    pytester.makeini("[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider -p no:benchmark\n"
                     "asyncio_default_fixture_loop_scope = function\n")
    pytester.makefile(".js", fn="function handler(event) { return event.request; }\n")
    pytester.makepyfile(test_scratch_fn=f"""
        import json
        EVENT = {EVENT!r}

        def test_fn(edge_functions):
            result = edge_functions.cloudfront_function("fn.js", EVENT)["TestResult"]
            assert json.loads(result["FunctionOutput"])["request"]["uri"] == "/a"

        def test_output(edge_functions):
            assert edge_functions.cloudfront_function("fn.js", EVENT).output["request"]["uri"] == "/a"
    """)
    pytester.runpytest().assert_outcomes(passed=2)


async def test_the_readme_says_what_output_is_and_its_example_works(tmp_path: Path) -> None:
    import re

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `edge_functions` |"))
    shown = re.search(r"`\.output` \(the `FunctionOutput` JSON as a plain dict: `(r\.output[^`]*)`", row)
    assert shown is not None, row
    (tmp_path / "fn.js").write_text("function handler(event) { event.request.uri = '/b'; return event.request; }\n")
    r = await run_cloudfront_function("fn.js", EVENT, base_dir=tmp_path)
    assert type(r.output) is dict and not hasattr(r.output, "request")
    assert eval(shown.group(1), {"r": r}) == "/b"  # the README's own example


async def test_events_saved_as_files_are_read_as_the_cli_reads_them(tmp_path: Path) -> None:
    """`sam local generate-event cloudfront ... > event.json`, aws-samples' test objects: files, whose
    path handed on as the event was reported as "not a Lambda@Edge event"."""
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "cff.json").write_text(json.dumps(EVENT))
    (tmp_path / "events" / "sam.json").write_text(json.dumps(
        {"Records": [{"cf": {"config": {"distributionId": "EXAMPLE"},
                             "request": {"uri": "/test", "method": "GET", "clientIp": "2001:cdba::3257:9652",
                                         "headers": {"host": [{"key": "Host", "value": "d123.cf.net"}]}}}}]}))
    (tmp_path / "ok.js").write_text("function handler(event) { return event.request; }\n")
    (tmp_path / "ok.py").write_text("def handler(event, context):\n    return event['Records'][0]['cf']['request']\n")
    cff = await run_cloudfront_function("ok.js", "events/cff.json", base_dir=tmp_path)
    assert cff.output["request"]["uri"] == "/a"
    lam = await invoke_lambda("ok.py:handler", tmp_path / "events" / "sam.json", base_dir=tmp_path)
    assert lam.ok and lam.result["uri"] == "/test"
    with pytest.raises(UserError, match=r"event file .*missing\.json"):
        await invoke_lambda("ok.py:handler", "missing.json", base_dir=tmp_path)


def test_events_are_built_in_python_as_generate_event_prints_them(tmp_path: Path) -> None:
    """A test builds its event by trigger and request, not by hand from the docs' JSON."""
    from edgesim.direct import cloudfront_function_event, lambda_event

    event = lambda_event("origin-request", uri="/api/me", headers={"Authorization": "Bearer t"}, querystring="a=1")
    cf = event["Records"][0]["cf"]
    assert cf["config"]["eventType"] == "origin-request"
    assert cf["request"]["uri"] == "/api/me" and cf["request"]["querystring"] == "a=1"
    assert cf["request"]["headers"]["authorization"] == [{"key": "Authorization", "value": "Bearer t"}]
    response = lambda_event("origin-response", status=404, response_headers=[("Cache-Control", "no-store")])
    assert response["Records"][0]["cf"]["response"]["status"] == "404"
    assert response["Records"][0]["cf"]["response"]["headers"]["cache-control"][0]["value"] == "no-store"
    cff = cloudfront_function_event(uri="/old", headers={"Cookie": "a=1"})
    assert cff["context"]["eventType"] == "viewer-request" and cff["request"]["uri"] == "/old"
    assert cff["request"]["cookies"] == {"a": {"value": "1"}}


def test_an_event_builder_misused_says_so_in_python_words() -> None:
    from edgesim.direct import cloudfront_function_event, lambda_event

    with pytest.raises(UserError, match=r"^'viewer_request' is not a trigger; use one of \['viewer-request', "
                                        r"'origin-request', 'origin-response', 'viewer-response'\]; did you mean "
                                        r"'viewer-request'\?$"):
        lambda_event("viewer_request")
    with pytest.raises(UserError, match=r"^status= and response_headers= make the response of origin-response or "
                                        r"viewer-response; origin-request has none$"):
        lambda_event("origin-request", status=200)
    with pytest.raises(UserError, match=r"^CloudFront Functions run only on viewer-request and viewer-response, not "
                                        r"origin-request: build that event with lambda_event\(\)$"):
        cloudfront_function_event("origin-request")
    with pytest.raises(UserError, match=r"^header 'X-Amz-Cf-Id': CloudFront never shows it to a function"):
        lambda_event("viewer-request", headers={"X-Amz-Cf-Id": "x"})
