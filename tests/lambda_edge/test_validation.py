"""CloudFront's validation of a handler's output: 502 LambdaValidationError, or accepted (spec §2.5–§2.8)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from edgesim import errors
from edgesim.lambda_edge import LambdaEdgeRuntime, validation
from edgesim.messages import EventType, Headers, Response

from .conftest import Handlers, make_call, viewer_request

VR, OQ, OS, VS = (EventType.VIEWER_REQUEST, EventType.ORIGIN_REQUEST, EventType.ORIGIN_RESPONSE,
                  EventType.VIEWER_RESPONSE)

# PATCH: {"return": value} returns value as is; "event": true returns the whole event; otherwise
# "headers" and "fields" are merged into the request (request triggers) or response.
PATCH_PY = """
import json
PATCH = json.loads({patch!r})
def handler(event, context):
    if "return" in PATCH:
        return PATCH["return"]
    if PATCH.get("event"):
        return event
    cf = event["Records"][0]["cf"]
    target = cf.get("response", cf["request"])
    target["headers"].update(PATCH.get("headers", {{}}))
    target.update(PATCH.get("fields", {{}}))
    return target
"""
PATCH_JS = """
const PATCH = {patch};
exports.handler = async (event) => {{
  if ('return' in PATCH) return PATCH.return;
  if (PATCH.event) return event;
  const cf = event.Records[0].cf;
  const target = cf.response || cf.request;
  Object.assign(target.headers, PATCH.headers || {{}});
  Object.assign(target, PATCH.fields || {{}});
  return target;
}};
"""


def h(key: str, value: str) -> list[dict[str, str]]:
    return [{"key": key, "value": value}]


def _custom(**extra: Any) -> dict[str, Any]:
    return {"custom": {"domainName": "api.example.com", "port": 443, "protocol": "https", "path": "",
                       "sslProtocols": ["TLSv1.2"], "readTimeout": 30, "keepaliveTimeout": 5, "customHeaders": {},
                       **extra}}


INVALID: list[tuple[str, EventType, dict[str, Any], str]] = [
    # What came back instead, said short: its type and value, or an object's keys.
    ("a string at origin-response", OS, {"return": "garbage"},
     "must be an object type; got a string: 'garbage'; return event.Records[0].cf.response with its 'status'."),
    ("a long string at viewer-response", VS, {"return": "x" * 100}, "; got a string: '" + "x" * 56 + "...; return"),
    ("the whole event at origin-response", OS, {"event": True},
     "with its 'status'; got an object with keys ['Records'] (return event.Records[0].cf.request or .response, "
     "not the whole event)."),
    # An API Gateway / CloudFront Functions response: said so, where it was told it lacked 'headers',
    # which it had, and to return the request.
    ("API Gateway's statusCode at viewer-request", VR,
     {"return": {"statusCode": 302, "headers": {"Location": "/x"}, "body": "{}", "isBase64Encoded": False}},
     "has no 'uri', an object with keys ['body', 'headers', 'isBase64Encoded', 'statusCode'] ('statusCode' is "
     "API Gateway's and CloudFront Functions' field: a Lambda@Edge response has 'status'"),
    ("API Gateway's statusCode at origin-response", OS, {"return": {"statusCode": 200, "body": "hi"}},
     "with its 'status'; got an object with keys ['body', 'statusCode'] ('statusCode' is API Gateway's"),
    ("a request without uri at origin-request", OQ, {"return": {"headers": {}}},
     "has no 'uri', an object with keys ['headers'] (return event.Records[0].cf.request, or a response with"),
    ("a number at viewer-request", VR, {"return": 42},
     "must be an object type; got a number: 42; return event.Records[0].cf.request or a response object."),
    ("an array at origin-request", OQ, {"return": [1, 2]}, "object type; got an array: [1, 2]; return"),
    ("status over 599", VR, {"return": {"status": "600"}}, "200 to 599"),
    ("status under 200", OQ, {"return": {"status": 199}}, "200 to 599"),
    ("status not a number", VR, {"return": {"status": "ok"}}, "200 to 599"),
    # Spec §2.5: a string of digits or a whole number, nothing Python's int() also takes.
    ("status with a leading space", VR, {"return": {"status": " 200"}}, "string of digits"),
    ("status with a trailing newline", OQ, {"return": {"status": "200\n"}}, "string of digits"),
    ("status with an underscore", VR, {"return": {"status": "2_00"}}, "string of digits"),
    ("status with full-width digits", VR, {"return": {"status": "\uff12\uff10\uff10"}}, "string of digits"),
    ("status a fraction", VR, {"return": {"status": 200.5}}, "whole number"),
    ("status a boolean", OQ, {"return": {"status": True}}, "whole number"),
    ("status a fraction at origin-response", OS, {"fields": {"status": 404.5}}, "whole number"),
    # marksteele/edge-rewrite#6: "The Lambda function result failed validation: The specified URI
    # is in an invalid format." Before, edgesim sent the origin a broken request line.
    ("uri with a space", OQ, {"fields": {"uri": "/my file.pdf"}}, "the specified URI is in an invalid format"),
    ("uri with a line feed", VR, {"fields": {"uri": "/a\nb"}}, "the control character '\\n'"),
    ("status with a sign at origin-response", OS, {"fields": {"status": "+200"}}, "string of digits"),
    ("status of 5,000 digits", OQ, {"return": {"status": "0" * 5000 + "200"}}, "string of digits"),
    # Spec §1.4, §2.6: the trigger's read-only headers cannot be added, a generated response's
    # included: CloudFront sets Content-Length and frames the body itself (Kludex/mangum#262,
    # opennextjs/opennextjs-aws#427: a Content-Length there is a 502).
    ("generated transfer-encoding with content-length", VR,
     {"return": {"status": "200", "body": "hi", "headers": {
         "transfer-encoding": h("Transfer-Encoding", "chunked"), "content-length": h("Content-Length", "2")}}},
     "tried to add read-only header"),
    ("generated transfer-encoding at origin-request", OQ,
     {"return": {"status": 200, "headers": {"transfer-encoding": h("Transfer-Encoding", "chunked")}}},
     "tried to add read-only header, headerName : Transfer-Encoding"),
    ("generated content-length at origin-request", OQ,
     {"return": {"status": "200", "body": "hi", "headers": {"content-length": h("Content-Length", "2")}}},
     "tried to add read-only header, headerName : Content-Length (read-only for origin-request)"),
    ("generated content-length at viewer-request", VR,
     {"return": {"status": "200", "body": "hi", "headers": {"content-length": [{"value": "2"}]}}},
     "tried to add read-only header, headerName : Content-Length (read-only for viewer-request)"),
    ("generated via at origin-request", OQ,
     {"return": {"status": "302", "headers": {"via": h("Via", "1.1 app")}}}, "headerName : Via"),
    ("headers not arrays", VR, {"headers": {"x-a": {"key": "X-A", "value": "1"}}}, "must be an array"),
    # A header added as null equals one not sent to a .get(): it was not checked, and then a TypeError.
    ("header added as null", OS, {"headers": {"location": None}}, "must be an array"),
    ("header key mismatch", OQ, {"headers": {"x-a": h("X-B", "1")}}, "does not match"),
    ("header value not a string", VR, {"headers": {"x-a": [{"key": "X-A", "value": 1}]}}, "string 'value'"),
    ("CR in a generated header value", VR,
     {"return": {"status": "302", "headers": {"location": h("Location", "/a\r\nSet-Cookie: x=1")}}},
     "invalid character"),
    ("LF in a request header value", OQ, {"headers": {"x-a": h("X-A", "1\n2")}}, "invalid character"),
    ("NUL in a response header value", OS, {"headers": {"x-a": h("X-A", "1\u00002")}}, "invalid character"),
    ("header name with a space", OS, {"headers": {"x a": h("X A", "1")}}, "not a valid HTTP header name"),
    ("origin custom header value with a CR", OQ,
     {"fields": {"origin": _custom(customHeaders={"x-k": h("X-K", "a\rb")})}}, "invalid character"),
    # A name in another case is taken as its lowercase form (lowercase_header_names), so the rules
    # for that name still apply, and a key that matches neither spelling is still refused.
    ("read-only transfer-encoding written Transfer-Encoding at origin-response", OS,
     {"headers": {"Transfer-Encoding": h("Transfer-Encoding", "gzip")}}, "read-only"),
    ("disallowed X-Cache in mixed case", OS, {"headers": {"X-Cache": h("X-Cache", "Hit")}}, "disallowed"),
    ("mixed-case name with a key of another header", OQ, {"headers": {"X-A": h("X-B", "1")}}, "does not match"),
    ("read-only host at viewer-request", VR, {"headers": {"host": h("Host", "evil.example")}}, "read-only"),
    ("read-only via at origin-request", OQ, {"headers": {"via": h("Via", "1.1 me")}}, "read-only"),
    ("read-only content-length at viewer-response", VS, {"headers": {"content-length": h("Content-Length", "9")}},
     "read-only"),
    ("read-only transfer-encoding at origin-response", OS,
     {"headers": {"transfer-encoding": h("Transfer-Encoding", "chunked")}}, "read-only"),
    ("disallowed x-cache", OS, {"headers": {"x-cache": h("X-Cache", "Hit")}}, "disallowed"),
    ("disallowed connection", OQ, {"headers": {"connection": h("Connection", "close")}}, "disallowed"),
    ("disallowed x-amz-cf-id in a response", VR,
     {"return": {"status": "200", "headers": {"x-amz-cf-id": h("X-Amz-Cf-Id", "x")}}}, "disallowed"),
    ("viewer-request adds cloudfront-viewer-country", VR,
     {"headers": {"cloudfront-viewer-country": h("CloudFront-Viewer-Country", "DE")}}, "added by CloudFront"),
    ("generated response over 40 KB at viewer-request", VR, {"return": {"status": "200", "body": "x" * 41_000}},
     "over the 40960 bytes"),
    ("generated response over 1 MB at origin-request", OQ,
     {"return": {"status": "200", "body": "x" * (1024 * 1024 + 1)}}, "over the 1048576 bytes"),
    ("204 with a body", VR, {"return": {"status": "204", "body": "no"}}, "204"),
    ("bad bodyEncoding", OQ, {"return": {"status": "200", "body": "x", "bodyEncoding": "gzip"}}, "bodyEncoding"),
    ("invalid base64 body", VR, {"return": {"status": "200", "body": "%%%", "bodyEncoding": "base64"}}, "base64"),
    ("viewer-response changes the status", VS, {"fields": {"status": "404"}}, "cannot change the status"),
    ("status over 599 at origin-response", OS, {"fields": {"status": 700}}, "200 to 599"),
    ("whole event returned", OQ, {"event": True}, "not the whole event"),
    ("nothing returned", VR, {"return": None}, "got null: the handler returned nothing; return"),
    ("uri without slash", VR, {"fields": {"uri": "index.html"}}, "'uri'"),
    ("querystring with a space", OQ, {"fields": {"querystring": "a=b c"}}, "querystring"),
    ("uri and query over 8192", VR, {"fields": {"uri": "/" + "a" * 8191}}, "8,192"),
    ("method changed", VR, {"fields": {"method": "DELETE"}}, "method"),
    ("origin with custom and s3", OQ, {"fields": {"origin": {**_custom(), "s3": {}}}}, "exactly one"),
    ("origin port 22", OQ, {"fields": {"origin": _custom(port=22)}}, "'port'"),
    ("origin path ends with slash", OQ, {"fields": {"origin": _custom(path="/a/")}}, "'path'"),
    ("origin domain is an IP", OQ, {"fields": {"origin": _custom(domainName="10.0.0.1")}}, "IP address"),
    ("origin readTimeout 2", OQ, {"fields": {"origin": _custom(readTimeout=2)}}, "readTimeout"),
    ("origin deny-listed custom header", OQ,
     {"fields": {"origin": _custom(customHeaders={"cookie": h("Cookie", "a=1")})}}, "origin custom header"),
    ("body action unknown", VR, {"fields": {"body": {"action": "append", "data": "x"}}}, "'action'"),
    ("body replace with invalid base64", OQ,
     {"fields": {"body": {"action": "replace", "encoding": "base64", "data": "***"}}}, "base64"),
    ("body replace over 40 KB text at viewer-request", VR,
     {"fields": {"body": {"action": "replace", "encoding": "text", "data": "x" * (40 * 1024 + 1)}}}, "replacement"),
]

VALID: list[tuple[str, EventType, dict[str, Any]]] = [
    ("unchanged request", VR, {}),
    ("status as number", VR, {"return": {"status": 200}}),
    ("status 599", OQ, {"return": {"status": "599"}}),
    ("status as number at origin-response", OS, {"fields": {"status": 404}}),
    ("status with a leading zero", VR, {"return": {"status": "0200"}}),
    ("status a whole float", VR, {"return": {"status": 302.0}}),  # Python's json writes 302.0
    ("generated content-type and cache-control", OQ, {"return": {"status": "200", "body": "hi", "headers": {
        "content-type": h("Content-Type", "text/plain"), "cache-control": h("Cache-Control", "max-age=60")}}}),
    ("header without key", VR, {"headers": {"x-new": [{"value": "1"}]}}),
    ("generated response just under 40 KB", VR, {"return": {"status": "200", "body": "x" * 40_000}}),
    ("generated response of 500 KB at origin-request", OQ, {"return": {"status": "200", "body": "x" * 500_000}}),
    ("204 without a body", VR, {"return": {"status": "204"}}),
    ("origin-response changes the status", OS, {"fields": {"status": "200", "statusDescription": "OK"}}),
    ("viewer-response keeps the status", VS, {"fields": {"status": "200"}}),
    ("read-only body edits ignored", VR, {"fields": {"body": {"action": "read-only", "data": "not base64 %%"}}}),
    ("body replace within 1.33 MB base64 at origin-request", OQ,
     {"fields": {"body": {"action": "replace", "data": base64.b64encode(b"x" * 900_000).decode()}}}),
    ("origin edits at origin-request", OQ, {"fields": {"origin": _custom(port=8443)}}),
    ("host change at origin-request", OQ, {"headers": {"host": h("Host", "api.example.com")}}),
    ("header value with a tab and UTF-8", VS, {"headers": {"x-a": h("X-A", "a\tb é")}}),
    # cloud-gov/federalist-proxy-edge's origin-response, on CloudFront for years.
    ("header name in mixed case at origin-response", OS, {"headers": {"X-Frame-Options": h("X-Frame-Options", "DENY")}}),
    ("header name in mixed case without a key", OQ, {"headers": {"X-Amz-Meta-MD5": [{"value": "1"}]}}),
]


async def _run(runtime: LambdaEdgeRuntime, handlers: Handlers, event_type: EventType, patch: dict[str, Any]) -> Any:
    text = json.dumps(patch)
    name = "patch_" + hashlib.sha256(text.encode()).hexdigest()[:10]
    assoc = handlers.assoc(name, py=PATCH_PY.format(patch=text), js=PATCH_JS.format(patch=text),
                           include_body=event_type.is_request)
    call = make_call(event_type, viewer_request(method="POST", body=b"payload") if event_type.is_viewer else None)
    if event_type is OQ:
        call.request.method, call.request.body = "POST", b"payload"
    return await runtime.function(assoc, event_type).invoke(call)


@pytest.mark.parametrize("case, event_type, patch, words", INVALID, ids=[c[0] for c in INVALID])
async def test_invalid_output_is_a_502(runtime: LambdaEdgeRuntime, handlers: Handlers, case: str,
                                       event_type: EventType, patch: dict[str, Any], words: str) -> None:
    with pytest.raises(errors.LambdaValidationError) as caught:
        await _run(runtime, handlers, event_type, patch)
    err = caught.value
    assert err.status == 502 and err.x_cache == "LambdaValidationError from cloudfront"
    assert ("The Lambda function returned an invalid" in err.reason
            or "The Lambda function returned invalid JSON: The JSON output must be an object type" in err.reason
            or "Lambda function result failed validation, the function tried to" in err.reason)
    assert words in err.reason
    assert err.logs and err.logs[-1].startswith("REPORT")


@pytest.mark.parametrize("case, event_type, patch", VALID, ids=[c[0] for c in VALID])
async def test_valid_output_is_accepted(runtime: LambdaEdgeRuntime, handlers: Handlers, case: str,
                                        event_type: EventType, patch: dict[str, Any]) -> None:
    result = await _run(runtime, handlers, event_type, patch)
    assert (result.request is None) != (result.response is None)


@pytest.mark.parametrize("event_type, returned", [(VR, "Error: connect ECONNREFUSED"), (OS, None), (OQ, [1])])
async def test_a_result_that_is_not_an_object_gets_cloudfronts_invalid_json_page(
        runtime: LambdaEdgeRuntime, handlers: Handlers, event_type: EventType, returned: Any) -> None:
    """aws-samples/react-ssr-lambda's edge handler returns the string `Error ${error}` from its catch;
    CloudFront's 502 page said "The Lambda function returned invalid JSON: The JSON output must be
    an object type." (its issue #28). edgesim's page said "an invalid request or response", and a
    Node handler that returned nothing was told of "Python's None"."""
    with pytest.raises(errors.LambdaValidationError) as caught:
        await _run(runtime, handlers, event_type, {"return": returned})
    err = caught.value
    assert err.page_reason == "The Lambda function returned invalid JSON: The JSON output must be an object type."
    assert "Python" not in err.reason and "return event.Records[0].cf." in err.reason


BODY_REFUSED: list[tuple[str, EventType, dict[str, Any], str]] = [
    ("an object as a generated body", VR, {"return": {"status": "200", "body": {"message": "hi"}}},
     "'body' must be a string ('bodyEncoding': 'base64' for binary), got an object with keys ['message']"),
    ("an object as an origin-response body", OS, {"fields": {"body": {"message": "hi"}}}, "'body' must be a string"),
    ("a generated response over 40 KB", VR, {"return": {"status": "200", "body": "x" * 41_000}}, "over the 40960"),
    ("a string as the request body", OQ, {"fields": {"body": "a=1"}},
     "'body' must be an object ({'action': 'replace', 'encoding': 'text', 'data': ...}), got a string: 'a=1'"),
    ("a replacement body over 40 KB", VR,
     {"fields": {"body": {"action": "replace", "encoding": "text", "data": "x" * (40 * 1024 + 1)}}}, "over 40960"),
]


@pytest.mark.parametrize("case, event_type, patch, words", BODY_REFUSED, ids=[c[0] for c in BODY_REFUSED])
async def test_a_refused_body_gets_cloudfronts_body_page(runtime: LambdaEdgeRuntime, handlers: Handlers, case: str,
                                                         event_type: EventType, patch: dict[str, Any],
                                                         words: str) -> None:
    """A body CloudFront refuses gets its own sentence on the 502 page (sikei/cloudfront-edge's tests
    quote it; a handler returning `body: {message: ...}` got it), not the generic "invalid request or
    response"; the log says what the body was and what it should be."""
    with pytest.raises(errors.LambdaValidationError) as caught:
        await _run(runtime, handlers, event_type, patch)
    err = caught.value
    assert err.page_reason == ("The Lambda function result failed validation: The body is not a string, is not an "
                               "object, or exceeds the maximum size.")
    assert words in err.reason


async def test_a_header_name_in_mixed_case_reaches_the_viewer_as_its_lowercase_name(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    """CloudFront takes a name a function writes in another case (cloud-gov/federalist-proxy-edge sets
    `headers['X-Frame-Options']` at origin-response): it was a 502 "must be lowercase". Its entries
    join those of the lowercase name; a missing key is Title-Case, as for any name (spec §2.2)."""
    patch = {"headers": {"X-Frame-Options": h("X-Frame-Options", "DENY"), "X-Trace": [{"value": "b"}],
                         "x-trace": h("x-trace", "a")}}
    result = await _run(runtime, handlers, OS, patch)
    assert result.response is not None
    lines = result.response.headers
    assert lines.get_all("x-frame-options") == ["DENY"]
    assert [(n, v) for n, v in lines if n.lower() == "x-trace"] in ([("x-trace", "a"), ("X-Trace", "b")],
                                                                   [("X-Trace", "b"), ("x-trace", "a")])


async def test_a_second_set_cookie_written_in_another_case_keeps_the_first(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    """openstax's viewer-response adds `SeT-CoOkIe` so as not to replace the origin's Set-Cookie (the
    trick an AWS forum thread gave): the viewer gets both."""
    call = make_call(VS, response=Response(200, Headers([("Set-Cookie", "session=abc")])))
    patch = {"headers": {"SeT-CoOkIe": h("SeT-CoOkIe", "diversion=no; Path=/")}}
    text = json.dumps(patch)
    assoc = handlers.assoc("case_trick", py=PATCH_PY.format(patch=text), js=PATCH_JS.format(patch=text))
    result = await runtime.function(assoc, VS).invoke(call)
    assert result.response is not None
    assert result.response.headers.get_all("set-cookie") == ["session=abc", "diversion=no; Path=/"]


def _sent_origin_request(**custom: Any) -> dict[str, Any]:
    """An origin-request `cf.request` whose configured origin holds `custom`'s values."""
    return {"clientIp": "203.0.113.1", "method": "GET", "uri": "/", "querystring": "",
            "headers": {"host": h("Host", "app.example.com")}, "origin": _custom(**custom)}


@pytest.mark.parametrize("configured", [{"readTimeout": 90}, {"keepaliveTimeout": 120},
                                        {"domainName": "127.0.0.1", "port": 3000, "protocol": "http"},
                                        {"readTimeout": 1, "port": 81}])
def test_origin_values_cloudfront_sent_are_not_refused(configured: dict[str, Any]) -> None:
    """Spec §2.3: a handler that edits one field of the origin it got (its path, a custom header)
    sends back the configured values too; CloudFront does not refuse values it wrote itself."""
    sent = _sent_origin_request(**configured)
    out = json.loads(json.dumps(sent))
    out["origin"]["custom"]["path"] = "/v2"
    out["origin"]["custom"]["customHeaders"]["x-api-key"] = h("X-Api-Key", "k")
    validation.check_request(OQ, sent, out)


@pytest.mark.parametrize("field, value", [("readTimeout", 90), ("keepaliveTimeout", 120), ("domainName", "10.0.0.1"),
                                          ("port", 81), ("sslProtocols", [{}])])  # [{}]: a TypeError before
def test_origin_values_a_handler_sets_are_checked(field: str, value: Any) -> None:
    sent = _sent_origin_request()
    out = json.loads(json.dumps(sent))
    out["origin"]["custom"][field] = value
    with pytest.raises(errors.LambdaValidationError):
        validation.check_request(OQ, sent, out)


@pytest.mark.parametrize("origin, said", [
    # sc-mitton/Ledget's router sets the origin to a bucket's domain name, not an object.
    ("app.ledget.s3.amazonaws.com", "not a string ('app.ledget.s3.amazonaws.com'); a domain name goes in "
                                    "origin.s3.domainName or origin.custom.domainName"),
    (None, "not null"),
    ({"s3": {}, "custom": {}}, "(it has 's3', 'custom')"),
    ({}, "(it has none)"),
])
def test_an_origin_that_is_not_one_says_what_it_is(origin: Any, said: str) -> None:
    sent = _sent_origin_request()
    out = json.loads(json.dumps(sent))
    out["origin"] = origin
    with pytest.raises(errors.LambdaValidationError) as caught:
        validation.check_request(OQ, sent, out)
    assert "exactly one of 'custom' or 's3'" in str(caught.value) and said in str(caught.value)


READ_ONLY_PAGE = ("The Lambda function result failed validation: The function tried to add, delete, or change a "
                  "read-only header.")
BLACKLISTED_PAGE = "The Lambda function result failed validation: The function tried to add a blacklisted header."


@pytest.mark.parametrize("event_type, before, after, log, page", [
    (OS, {"transfer-encoding": h("Transfer-Encoding", "chunked")}, {},
     "the function tried to delete read-only header, headerName : Transfer-Encoding", READ_ONLY_PAGE),
    (VR, {"host": h("Host", "a.example")}, {"host": h("Host", "b.example")},
     "the function tried to change read-only header, headerName : Host", READ_ONLY_PAGE),
    (VS, {}, {"content-length": [{"value": "3"}]},
     "the function tried to add read-only header, headerName : Content-Length", READ_ONLY_PAGE),
    (OQ, {}, {"keep-alive": h("Keep-Alive", "timeout=5")},
     "the function tried to add a blacklisted header, headerName : Keep-Alive", BLACKLISTED_PAGE),
])
def test_header_rules_fail_in_cloudfronts_words(event_type: EventType, before: dict[str, Any],
                                                after: dict[str, Any], log: str, page: str) -> None:
    """CloudFront's log says which header and what was tried ("Lambda function result failed
    validation, the function tried to delete read-only header, headerName : Transfer-Encoding.",
    CodeGenieApp/serverless-express#369); its 502 page says the rule (opennextjs-aws#392, #427)."""
    with pytest.raises(errors.LambdaValidationError) as caught:
        validation.check_header_rules(event_type, before, after)
    assert caught.value.reason.startswith(f"Lambda function result failed validation, {log} (")
    assert caught.value.page_reason == page


async def test_the_502_page_of_a_read_only_header_says_cloudfronts_rule(runtime: LambdaEdgeRuntime,
                                                                       handlers: Handlers) -> None:
    """The page reason survives the runtime's re-raise (which adds the function's name to the reason)."""
    patch = {"return": {"status": "200", "body": "hi", "headers": {"content-length": h("Content-Length", "2")}}}
    with pytest.raises(errors.LambdaValidationError) as caught:
        await _run(runtime, handlers, OQ, patch)
    assert caught.value.page_reason == READ_ONLY_PAGE
    assert "headerName : Content-Length" in caught.value.reason
