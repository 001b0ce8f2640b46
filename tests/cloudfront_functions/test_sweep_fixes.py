"""Fixes from a second sweep of real CloudFront Functions (public repositories, each named where it
is used), run the ways users run them: through a distribution with a real socket origin, through
`edgesim test-function`, and through the pytest API. The functions here are reductions of the
real ones to the lines that matter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.direct import run_cloudfront_function
from edgesim.testing import Distribution
from edgesim.trace import Trace
from encoding_support import RawOrigin


async def through_edge(tmp_path: Path, code: str, path: str, *, trigger: str = "viewer-request",
                       runtime: str = "cloudfront-js-2.0", headers: dict[str, str] | None = None,
                       kvs: dict[str, str] | None = None) -> tuple[httpx.Response, Trace, list[bytes]]:
    """One GET through a distribution whose default behavior runs `code` on `trigger`, in front of a
    real socket origin: the viewer's response, its trace, and the request heads the origin got."""
    (tmp_path / "fn.js").write_text(code)
    function = {"cloudfront_function": "fn.js", "runtime": runtime}
    if kvs is not None:
        (tmp_path / "kvs.json").write_text(json.dumps({"data": [{"key": k, "value": v} for k, v in kvs.items()]}))
        function["kvs"] = "kvs.json"
    async with RawOrigin() as origin:
        config = {"origins": [{"id": "app", "url": origin.url}],
                  "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled",
                                             "functions": {trigger: function}}}
        async with Distribution(config, base_dir=tmp_path) as edge, edge.client() as client:
            response = await client.get(path, headers=headers)
            return response, edge.last_trace, origin.requests


def run_test_function(tmp_path: Path, code: str, event: dict[str, Any], *args: str) -> tuple[dict[str, Any], str]:
    """`edgesim test-function` on `code`: its TestResult and its stderr."""
    (tmp_path / "fn.js").write_text(code)
    result = CliRunner().invoke(main, ["test-function", str(tmp_path / "fn.js"), "--event", "-", *args],
                                input=json.dumps(event))
    return json.loads(result.stdout)["TestResult"], result.stderr


VIEWER_REQUEST = {"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "1.2.3.4"},
                  "request": {"method": "GET", "uri": "/", "headers": {}}}

# NHSDigital/eps-prescription-tracker-ui packages/cloudfrontFunctions/src/genericS3FixedObjectUriRewrite.js
# (MIT): the KeyValueStore read's `await` forgotten, so the URI is '/[object Promise]'.
NO_AWAIT = """import cf from "cloudfront"
const keyValueStore = cf.kvs()

async function handler(event) {
  const s3object = keyValueStore.get("object")
  const request = event.request
  request.uri = `/${s3object}`
  return request
}
"""


@pytest.mark.parametrize("code, words", [
    (NO_AWAIT, "is a Promise made text: await it first"),
    ("function handler(e) { e.request.uri = '/my file.pdf'; return e.request; }", "percent-encode it (%20 for a space; encodeURI() in JavaScript"),
    ("function handler(e) { e.request.uri = '/a\\tb'; return e.request; }", "the control character '\\t'"),
])
async def test_a_uri_no_request_line_can_carry_is_a_validation_error(tmp_path: Path, code: str, words: str) -> None:
    """Before, edgesim sent the origin `GET /[object Promise] HTTP/1.1` (a real origin answered
    400 Bad Request, which the viewer got with `Error from cloudfront`)."""
    response, trace, origin_requests = await through_edge(tmp_path, code, "/site/x", kvs={"object": "jwks.json"})
    assert response.status_code == 502
    assert response.headers["x-cache"] == "FunctionValidationError from cloudfront"
    assert words in str(trace.error) and "request.uri" in str(trace.error)
    assert origin_requests == []


async def test_a_uri_the_viewer_sent_is_never_the_function_s_fault(tmp_path: Path) -> None:
    """Only a URI the function changed is checked: a percent-encoded one passes as it came."""
    code = "function handler(e) { e.request.uri = e.request.uri + 'index.html'; return e.request; }"
    response, _, origin_requests = await through_edge(tmp_path, code, "/my%20docs/")
    assert response.status_code == 200
    assert origin_requests[0].startswith(b"GET /my%20docs/index.html HTTP/1.1\r\n")


def test_test_function_shows_the_uri_as_testfunction_does(tmp_path: Path) -> None:
    """TestFunction is not known to refuse such a URI: FunctionOutput shows it, as before."""
    test, _ = run_test_function(tmp_path, "function handler(e) { e.request.uri = '/my file.pdf'; return e.request; }",
                            VIEWER_REQUEST)
    assert test["FunctionErrorMessage"] == ""
    assert json.loads(test["FunctionOutput"])["request"]["uri"] == "/my file.pdf"


# aws-samples/amazon-cloudfront-functions redirect_maintain_uri_querystring/index.js (MIT-0), a
# viewer-response function by its README: it answers a response of its own, without the origin's
# headers. Reduced to its shape.
REDIRECT_AT_VIEWER_RESPONSE = """function handler(event) {
    var uri = event.request.uri;
    console.log('via: ' + (event.response.headers.via ? 'shown' : 'not shown'));
    return {
        statusCode: 302,
        statusDescription: 'Found',
        headers: { 'location': { value: 'https://newdomain.com' + uri } }
    };
}
"""


@pytest.mark.parametrize("code, status", [
    (REDIRECT_AT_VIEWER_RESPONSE, 302),
    # Adding a Via is still refused: read-only at viewer-response (spec §1.4).
    ("function handler(e) { e.response.headers.via = {value: '1.1 me'}; return e.response; }", 502),
])
async def test_cloudfront_s_own_via_is_not_in_the_viewer_response_event(tmp_path: Path, code: str,
                                                                         status: int) -> None:
    """Before, the event held the Via edgesim set, and a response without it was a 502 'header
    'via' is read-only in viewer-response'."""
    response, trace, _ = await through_edge(tmp_path, code, "/media/index.mpd", trigger="viewer-response",
                                            runtime="cloudfront-js-1.0")
    assert response.status_code == status, trace.error
    assert response.headers["via"].endswith(".cloudfront.net (CloudFront)")
    if status == 302:
        assert response.headers["location"] == "https://newdomain.com/media/index.mpd"
        assert trace.triggers[0].logs == ["via: not shown"]
    else:
        assert "'via' is read-only" in str(trace.error)


# aws-samples/amazon-cloudfront-functions add-cors-header/index.js (MIT-0): `headers` is never
# declared, so a response without the CORS header throws. Its test object without the header:
CORS = """function handler(event)  {
    var request = event.request;
    var response  = event.response;
    if (!response.headers['access-control-allow-origin'] && request.headers['origin']) {
        headers['access-control-allow-origin'] = {value: request.headers['origin'].value};
    }
    return response;
}
"""
NO_CORS_EVENT = {"version": "1.0", "context": {"eventType": "viewer-response"}, "viewer": {"ip": "0.0.0.0"},
                 "request": {"method": "GET", "uri": "/index.html",
                             "headers": {"host": {"value": "www.example.com"},
                                         "origin": {"value": "https://www.example.com"}}},
                 "response": {"statusCode": 200, "statusDescription": "OK",
                              "headers": {"server": {"value": "CustomOriginServer"}}}}


def test_test_function_says_where_the_error_was_thrown(tmp_path: Path) -> None:
    """FunctionErrorMessage keeps CloudFront's words, which name no line; a note on stderr does.
    Before, nothing said where."""
    test, stderr = run_test_function(tmp_path, CORS, NO_CORS_EVENT, "--runtime", "cloudfront-js-1.0")
    assert test["FunctionErrorMessage"].endswith('ReferenceError: "headers" is not defined')
    assert f"note: thrown at {tmp_path / 'fn.js'}:5: headers['access-control-allow-origin'] =" in stderr


async def test_the_pytest_api_says_where_the_error_was_thrown(tmp_path: Path) -> None:
    (tmp_path / "cors.js").write_text(CORS)
    result = await run_cloudfront_function("cors.js", NO_CORS_EVENT, runtime="cloudfront-js-1.0", base_dir=tmp_path)
    with pytest.raises(AssertionError, match=r"thrown at .*cors\.js:5: headers\['access-control-allow-origin'\]"):
        result.output  # noqa: B018


@pytest.mark.parametrize("code, words", [
    # The sweep's functions copy headers into a new object (SvelteKit adapters copy `host` to
    # x-forwarded-host, which is fine); one that builds the request's headers anew drops `host`.
    ("function handler(e) { e.request.headers = {'x-forwarded-host': e.request.headers.host}; return e.request; }",
     "header 'host' is read-only in viewer-request: the function's result no longer has it; "
     "keep event.request.headers['host'] (a request built anew must carry it over)"),
    ("function handler(e) { e.request.headers.host = {value: 'origin.example.com'}; return e.request; }",
     "header 'host' is read-only in viewer-request: the function changed it from 'd111111abcdef8.cloudfront.net' "
     "to 'origin.example.com'; leave it as it came"),
    ("function handler(e) { e.request.headers['cdn-loop'] = {value: 'me'}; return e.request; }",
     "header 'cdn-loop' is read-only in viewer-request: the function added it; leave it out"),
])
async def test_a_read_only_header_s_error_says_what_the_function_did(tmp_path: Path, code: str, words: str) -> None:
    """Before: "header 'host' is read-only in viewer-request", whatever the function did."""
    response, trace, origin_requests = await through_edge(tmp_path, code, "/",
                                                          headers={"host": "d111111abcdef8.cloudfront.net"})
    assert response.status_code == 502 and origin_requests == []
    assert words in str(trace.error)


@pytest.mark.parametrize("expression", [
    # Basic auth as Lambda@Edge examples write it, ported to a 2.0 function (the sweep found it in
    # several repositories' Lambda@Edge handlers, the form people copy).
    "'Basic ' + new Buffer('demo:demo').toString('base64')",
    "new Buffer([1, 2]).length",
    "new Buffer(10).length",  # Node's deprecated length form: njs refuses every `new Buffer`
])
def test_node_s_deprecated_buffer_constructor_is_refused_not_an_empty_buffer(tmp_path: Path, expression: str) -> None:
    """Before, `new Buffer('demo:demo')` was an empty buffer: the check compared against 'Basic '.

    The message is njs's (src/njs_buffer.c, njs_buffer_constructor); what to write instead is a note."""
    code = f"function handler(e) {{\n  var v = {expression};\n  return e.request;\n}}\n"
    test, stderr = run_test_function(tmp_path, code, VIEWER_REQUEST)
    assert test["FunctionErrorMessage"].endswith("could not run. TypeError: Buffer is not a constructor")
    assert "fn.js:2:" in stderr
    assert "note: CloudFront's Buffer (cloudfront-js-2.0) is made with Buffer.from(string[, encoding])" in stderr


def test_buffer_s_own_ways_of_making_one_still_work(tmp_path: Path) -> None:
    code = ("function handler(e) {\n  var b = Buffer.from('ab');\n  var parts = [Buffer.alloc(2).length, b.subarray(1).toString(),"
            " b.slice(0, 1).toString(), Buffer.concat([b, b]).toString('hex'), b.map(function (x) { return x + 1; }).toString(),"
            " Buffer.from(b.buffer, b.byteOffset, 1).toString()];\n  console.log(parts.join(','));\n  return e.request;\n}\n")
    test, _ = run_test_function(tmp_path, code, VIEWER_REQUEST)
    assert test["FunctionErrorMessage"] == ""
    assert test["FunctionExecutionLogs"] == ["2,b,a,61626162,bc,a"]
