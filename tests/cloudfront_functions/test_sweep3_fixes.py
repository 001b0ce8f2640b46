"""Fixes from a third sweep of real CloudFront Functions (public repositories, each named where it
is used), run through `edgesim test-function` and through a distribution with a real socket origin.
The functions here are reductions of the real ones to the lines that matter."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from test_sweep_fixes import VIEWER_REQUEST, through_edge

from edgesim.cli import main
from edgesim.request_log import text_line

# A basic-auth function shared as a gist and copied into repositories: written with `let` (so it
# needs cloudfront-js-2.0) and decoding the credentials with String.bytesFrom, which 2.0 removed.
# CloudFront fails it on every request with TypeError (503); the message names only the TypeError.
LET_AND_BYTES_FROM = """let USER = 'test';
function handler(event) {
  let auth = event.request.headers.authorization;
  let pair = String.bytesFrom(auth.value.slice(6), 'base64').split(':', 2);
  if (pair[0] !== USER) { return { statusCode: 401, statusDescription: 'Unauthorized' }; }
  return event.request;
}
"""
BASIC_TEST_TEST = "Basic dGVzdDp0ZXN0"


def test_test_function_names_the_1_0_helper_removed_in_2_0(tmp_path: Path) -> None:
    (tmp_path / "fn.js").write_text(LET_AND_BYTES_FROM)
    event = json.loads(json.dumps(VIEWER_REQUEST))
    event["request"]["headers"]["authorization"] = {"value": BASIC_TEST_TEST}
    result = CliRunner().invoke(main, ["test-function", str(tmp_path / "fn.js"), "--event", "-",
                                       "--runtime", "cloudfront-js-2.0"], input=json.dumps(event))
    test = json.loads(result.stdout)["TestResult"]
    # CloudFront's own words stay as they are: the hint is a note beside them.
    assert "bytesFrom is not a function" in test["FunctionErrorMessage"]
    assert "1.0" not in test["FunctionErrorMessage"]
    assert "note: bytesFrom is one of cloudfront-js-1.0's byte-string helpers, which cloudfront-js-2.0 removed" in result.stderr
    assert "Buffer.from(s, 'base64').toString()" in result.stderr


async def test_the_served_503_names_the_1_0_helper_removed_in_2_0(tmp_path: Path) -> None:
    response, trace, requests = await through_edge(tmp_path, LET_AND_BYTES_FROM, "/",
                                                   headers={"authorization": BASIC_TEST_TEST})
    assert response.status_code == 503
    assert response.headers["x-cache"] == "FunctionExecutionError from cloudfront"
    assert requests == []
    assert "which cloudfront-js-2.0 removed" in str(trace.error)


async def test_a_1_0_function_using_bytes_from_gets_no_hint(tmp_path: Path) -> None:
    # The same helper on 1.0 works; a TypeError of another name on 2.0 gets no hint either.
    code = LET_AND_BYTES_FROM.replace("let ", "var ")
    response, _, requests = await through_edge(tmp_path, code, "/", runtime="cloudfront-js-1.0",
                                               headers={"authorization": BASIC_TEST_TEST})
    assert response.status_code == 200 and len(requests) == 1
    other = "function handler(event) { return event.request.uri.nope(); }"
    response, trace, _ = await through_edge(tmp_path, other, "/")
    assert response.status_code == 503 and "removed" not in str(trace.error)


async def test_each_line_of_a_multi_line_log_is_under_its_trigger_in_the_serve_log(tmp_path: Path) -> None:
    # zootella/cold3 net23/screen.cjs logs its decisions as console.log(JSON.stringify(log, null, 2)):
    # one log entry of several lines. The serve log put only the first under "viewer-request |",
    # the rest at the left margin, where they read as lines of edgesim's own.
    code = ("function handler(event) {\n  var log = ['checked origin', 'access granted'];\n"
            "  console.log(JSON.stringify(log, null, 2));\n  return event.request;\n}\n")
    response, trace, _ = await through_edge(tmp_path, code, "/")
    assert response.status_code == 200
    assert text_line(trace).splitlines()[1:] == [
        "    viewer-request | [",
        '    viewer-request |   "checked origin",',
        '    viewer-request |   "access granted"',
        "    viewer-request | ]",
    ]
