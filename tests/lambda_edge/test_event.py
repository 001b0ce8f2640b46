"""The event a handler receives, and its edits applied back, through real Python and Node workers."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from edgesim.config import CustomOrigin, OriginGroup, S3Origin
from edgesim.lambda_edge import LambdaEdgeRuntime
from edgesim.messages import EventType, Headers, Request, Response
from edgesim.runtime import TriggerCall

from .conftest import API, BUCKET, ORIGINS, SITE, Handlers, make_call, viewer_request

# Answers with the event it received, as JSON in a generated (request) or replaced (response) body.
ECHO_PY = """
import json
def handler(event, context):
    cf = event["Records"][0]["cf"]
    if "response" in cf:
        cf["response"]["body"] = json.dumps(event)
        return cf["response"]
    return {"status": "200", "body": json.dumps(event)}
"""
ECHO_JS = """
exports.handler = async (event) => {
  const cf = event.Records[0].cf;
  if (cf.response) { cf.response.body = JSON.stringify(event); return cf.response; }
  return { status: '200', body: JSON.stringify(event) };
};
"""


async def _echo(runtime: LambdaEdgeRuntime, handlers: Handlers, call: TriggerCall, **fields: Any) -> dict[str, Any]:
    fn = runtime.function(handlers.assoc("echo", py=ECHO_PY, js=ECHO_JS, **fields), call.event_type)
    result = await fn.invoke(call)
    assert result.response is not None
    event: dict[str, Any] = json.loads(result.response.body)
    assert list(event) == ["Records"] and len(event["Records"]) == 1 and list(event["Records"][0]) == ["cf"]
    return event["Records"][0]["cf"]


async def test_viewer_request_event(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    request = viewer_request("/a/b", querystring="x=1&y=%20&x=2", headers=[
        ("Host", "d111111abcdef8.cloudfront.net"), ("X-Multi", "one"), ("x-multi", "two"),
        ("Cookie", "a=1; b=2"), ("Connection", "keep-alive"), ("X-Amz-Cf-Id", "hidden")])
    cf = await _echo(runtime, handlers, make_call(EventType.VIEWER_REQUEST, request))
    assert cf["config"] == {"distributionDomainName": "d111111abcdef8.cloudfront.net",
                            "distributionId": "EDFDVBD6EXAMPLE", "eventType": "viewer-request", "requestId": "req-1=="}
    req = cf["request"]
    assert set(req) == {"clientIp", "headers", "method", "querystring", "uri"}  # no origin, no body
    assert (req["clientIp"], req["method"], req["uri"], req["querystring"]) == ("203.0.113.178", "GET", "/a/b",
                                                                               "x=1&y=%20&x=2")
    # One entry per header line, original case kept; cookies stay a header; disallowed ones hidden (§1.4).
    assert req["headers"] == {
        "host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}],
        "x-multi": [{"key": "X-Multi", "value": "one"}, {"key": "x-multi", "value": "two"}],
        "cookie": [{"key": "Cookie", "value": "a=1; b=2"}],
    }
    assert "response" not in cf


@pytest.mark.parametrize("origin, expected", [
    (SITE, {"custom": {"customHeaders": {}, "domainName": "example.org", "keepaliveTimeout": 5, "path": "",
                       "port": 443, "protocol": "https", "readTimeout": 30, "sslProtocols": ["TLSv1.2"]}}),
    (CustomOrigin(id="c", url="http://api.example.com:8080/v1", custom_headers={"X-Secret": "s"}),
     {"custom": {"customHeaders": {"x-secret": [{"key": "X-Secret", "value": "s"}]}, "domainName": "api.example.com",
                 "keepaliveTimeout": 5, "path": "/v1", "port": 8080, "protocol": "http", "readTimeout": 30,
                 "sslProtocols": ["TLSv1.2"]}}),
    # No `region` with authMethod "none", as in events captured from CloudFront (spec §2.3).
    (BUCKET, {"s3": {"authMethod": "none", "customHeaders": {}, "domainName": "bucket.s3.amazonaws.com",
                     "path": ""}}),
    # An origin group shows its primary.
    (OriginGroup(id="g", primary="bucket", secondary="site"),
     {"s3": {"authMethod": "none", "customHeaders": {}, "domainName": "bucket.s3.amazonaws.com",
             "path": ""}}),
])
async def test_origin_request_event_has_the_origin(runtime: LambdaEdgeRuntime, handlers: Handlers,
                                                   origin: Any, expected: dict[str, Any]) -> None:
    call = make_call(EventType.ORIGIN_REQUEST)
    call.request.origin = origin
    call.origins = {**ORIGINS, "g": OriginGroup(id="g", primary="bucket", secondary="site")}
    cf = await _echo(runtime, handlers, call)
    assert cf["config"]["eventType"] == "origin-request"
    assert cf["request"]["origin"] == expected
    # The request CloudFront sends to the origin, as the pipeline built it (spec §2.2).
    assert cf["request"]["headers"]["host"] == [{"key": "Host", "value": "example.org"}]
    assert "x-forwarded-for" in cf["request"]["headers"]


@pytest.mark.parametrize("event_type", [EventType.ORIGIN_RESPONSE, EventType.VIEWER_RESPONSE])
async def test_response_event_status_is_a_string(runtime: LambdaEdgeRuntime, handlers: Handlers,
                                                 event_type: EventType) -> None:
    response = Response(404, Headers([("Content-Type", "text/html"), ("Age", "12")]), b"gone", "Not Found")
    cf = await _echo(runtime, handlers, make_call(event_type, response=response))
    assert cf["config"]["eventType"] == event_type.value
    assert cf["response"]["status"] == "404" and cf["response"]["statusDescription"] == "Not Found"
    assert cf["response"]["headers"]["age"] == [{"key": "Age", "value": "12"}]
    assert "body" not in cf["response"] and "body" not in cf["request"]
    assert ("origin" in cf["request"]) == (event_type is EventType.ORIGIN_RESPONSE)


# Reports what it got as a body (a 1 MB body cannot come back in a 40 KB generated response).
BODY_PY = """
import base64, hashlib, json
def handler(event, context):
    body = dict(event["Records"][0]["cf"]["request"]["body"])
    body["sha256"] = hashlib.sha256(base64.b64decode(body.pop("data"))).hexdigest()
    return {"status": "200", "body": json.dumps(body)}
"""
BODY_JS = """
const crypto = require('crypto');
exports.handler = async (event) => {
  const body = { ...event.Records[0].cf.request.body };
  body.sha256 = crypto.createHash('sha256').update(Buffer.from(body.data, 'base64')).digest('hex');
  delete body.data;
  return { status: '200', body: JSON.stringify(body) };
};
"""


@pytest.mark.parametrize("event_type, size, truncated", [
    (EventType.VIEWER_REQUEST, 40 * 1024, False),
    (EventType.VIEWER_REQUEST, 50 * 1024, True),
    (EventType.ORIGIN_REQUEST, 50 * 1024, False),
    (EventType.ORIGIN_REQUEST, 1024 * 1024 + 1, True),
])
async def test_include_body_truncates(runtime: LambdaEdgeRuntime, handlers: Handlers, event_type: EventType,
                                      size: int, truncated: bool) -> None:
    body = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    call = make_call(event_type, viewer_request("/upload", method="POST", body=body))
    fn = runtime.function(handlers.assoc("body", py=BODY_PY, js=BODY_JS, include_body=True), event_type)
    result = await fn.invoke(call)
    assert result.response is not None
    sent = json.loads(result.response.body)
    limit = 40 * 1024 if event_type.is_viewer else 1024 * 1024
    assert sent == {"inputTruncated": truncated, "action": "read-only", "encoding": "base64",
                    "sha256": hashlib.sha256(body[:limit]).hexdigest()}


async def test_no_body_without_include_body_or_for_get(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    post = await _echo(runtime, handlers, make_call(EventType.VIEWER_REQUEST, viewer_request(method="POST", body=b"x")))
    assert "body" not in post["request"]
    get = await _echo(runtime, handlers, make_call(EventType.VIEWER_REQUEST, viewer_request()), include_body=True)
    assert "body" not in get["request"]


EDIT_PY = """
import json
EDIT = json.loads({edit!r})
def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    request["headers"].update(EDIT.pop("headers", {{}}))
    request.update(EDIT)
    if "body" in EDIT:
        request["body"] = dict(request.get("body", {{}}), **EDIT["body"])
    return request
"""
EDIT_JS = """
const EDIT = {edit};
exports.handler = async (event) => {{
  const request = event.Records[0].cf.request;
  Object.assign(request.headers, EDIT.headers || {{}});
  delete EDIT.headers;
  const body = request.body;
  Object.assign(request, EDIT);
  if (EDIT.body) request.body = Object.assign(body || {{}}, EDIT.body);
  return request;
}};
"""


async def _edit(runtime: LambdaEdgeRuntime, handlers: Handlers, call: TriggerCall, edit: dict[str, Any],
                **fields: Any) -> Request:
    text = json.dumps(edit)
    # One file per edit: a warm worker keeps the module it imported, as Lambda does.
    name = "edit_" + hashlib.sha256(text.encode()).hexdigest()[:8]
    assoc = handlers.assoc(name, py=EDIT_PY.format(edit=text), js=EDIT_JS.format(edit=text), **fields)
    result = await runtime.function(assoc, call.event_type).invoke(call)
    assert result.request is not None and result.response is None and not result.generated
    return result.request


async def test_request_edits_are_applied(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    request = viewer_request("/old", headers=[("Host", "d111111abcdef8.cloudfront.net"), ("Connection", "keep-alive")])
    edited = await _edit(runtime, handlers, make_call(EventType.VIEWER_REQUEST, request), {
        "uri": "/new/index.html", "querystring": "a=1",
        "headers": {"x-added": [{"value": "yes"}], "x-two": [{"key": "X-Two", "value": "1"}, {"key": "x-two", "value": "2"}]},
    })
    assert (edited.uri, edited.querystring) == ("/new/index.html", "a=1")
    assert edited.headers.get("x-added") == "yes" and ("X-Added", "yes") in edited.headers.items()  # key made up
    assert edited.headers.get_all("x-two") == ["1", "2"]
    assert edited.headers.get("connection") == "keep-alive"  # never shown, still sent on
    assert edited.origin is SITE


@pytest.mark.parametrize("body_edit, expected", [
    ({"action": "replace", "encoding": "text", "data": "new body"}, b"new body"),
    ({"action": "replace", "encoding": "base64", "data": base64.b64encode(b"\x00\x01bin").decode()}, b"\x00\x01bin"),
    ({"action": "replace", "data": base64.b64encode(b"default is base64").decode()}, b"default is base64"),
    ({"action": "read-only", "encoding": "text", "data": "ignored"}, b"original"),
])
async def test_body_replace(runtime: LambdaEdgeRuntime, handlers: Handlers, body_edit: dict[str, Any],
                            expected: bytes) -> None:
    call = make_call(EventType.ORIGIN_REQUEST, viewer_request(method="POST", body=b"original"))
    edited = await _edit(runtime, handlers, call, {"body": body_edit}, include_body=True)
    assert edited.body == expected


def _custom(domain: str, **extra: Any) -> dict[str, Any]:
    return {"custom": {"domainName": domain, "port": 443, "protocol": "https", "path": "", "sslProtocols": ["TLSv1.2"],
                       "readTimeout": 30, "keepaliveTimeout": 5, "customHeaders": {}, **extra}}


async def test_origin_switch_to_a_configured_origin(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    origin = _custom("api.example.com", port=8080, protocol="http", path="/v1")
    edited = await _edit(runtime, handlers, make_call(EventType.ORIGIN_REQUEST), {"origin": origin})
    assert edited.origin is API


async def test_origin_switch_to_a_new_custom_origin(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    origin = _custom("other.example.net", port=8443, path="/base",
                     customHeaders={"x-key": [{"key": "X-Key", "value": "k"}]})
    edited = await _edit(runtime, handlers, make_call(EventType.ORIGIN_REQUEST),
                         {"origin": origin, "headers": {"host": [{"key": "Host", "value": "other.example.net"}]}})
    assert isinstance(edited.origin, CustomOrigin)
    assert edited.origin.url == "https://other.example.net:8443/base"
    assert edited.origin.custom_headers == {"X-Key": "k"}
    assert edited.headers.get("host") == "other.example.net"


async def test_origin_switch_custom_to_s3(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    s3 = {"s3": {"authMethod": "none", "customHeaders": {}, "domainName": "bucket.s3.amazonaws.com", "path": "",
                 "region": "us-east-1"}}
    edited = await _edit(runtime, handlers, make_call(EventType.ORIGIN_REQUEST), {"origin": s3})
    assert edited.origin is BUCKET
    moved = dict(s3["s3"], path="/prefix")
    edited = await _edit(runtime, handlers, make_call(EventType.ORIGIN_REQUEST), {"origin": {"s3": moved}})
    assert isinstance(edited.origin, S3Origin) and edited.origin.path == "/prefix"
    assert edited.origin.directory == BUCKET.directory


RESPOND_PY = """
import json
OUT = json.loads({out!r})
def handler(event, context):
    cf = event["Records"][0]["cf"]
    if "response" in cf:
        cf["response"].update(OUT)
        return cf["response"]
    return OUT
"""
RESPOND_JS = """
const OUT = {out};
exports.handler = async (event) => {{
  const cf = event.Records[0].cf;
  return cf.response ? Object.assign(cf.response, OUT) : OUT;
}};
"""


async def _respond(runtime: LambdaEdgeRuntime, handlers: Handlers, call: TriggerCall, out: dict[str, Any]) -> Any:
    text = json.dumps(out)
    name = "respond_" + hashlib.sha256(text.encode()).hexdigest()[:8]
    assoc = handlers.assoc(name, py=RESPOND_PY.format(out=text), js=RESPOND_JS.format(out=text))
    return await runtime.function(assoc, call.event_type).invoke(call)


@pytest.mark.parametrize("status", ["302", 302])
async def test_generated_response(runtime: LambdaEdgeRuntime, handlers: Handlers, status: Any) -> None:
    result = await _respond(runtime, handlers, make_call(EventType.VIEWER_REQUEST), {
        "status": status, "statusDescription": "Found",
        "headers": {"location": [{"key": "Location", "value": "https://example.com/"}], "x-y": [{"value": "z"}]},
    })
    assert result.generated and result.request is None
    assert (result.response.status, result.response.status_description) == (302, "Found")
    assert result.response.headers.items() == [("Location", "https://example.com/"), ("X-Y", "z")]
    assert result.response.body == b""


@pytest.mark.parametrize("encoding, body, expected", [
    ("text", "héllo", "héllo".encode()), ("base64", base64.b64encode(b"\xff\x00").decode(), b"\xff\x00")])
async def test_generated_response_body_encoding(runtime: LambdaEdgeRuntime, handlers: Handlers, encoding: str,
                                                body: str, expected: bytes) -> None:
    result = await _respond(runtime, handlers, make_call(EventType.ORIGIN_REQUEST),
                            {"status": "200", "body": body, "bodyEncoding": encoding})
    assert result.generated and result.response.body == expected


async def test_origin_response_edits(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    response = Response(404, Headers([("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")]), b"missing",
                        "Not Found")
    result = await _respond(runtime, handlers, make_call(EventType.ORIGIN_RESPONSE, response=response), {
        "status": 200, "statusDescription": "OK", "body": "fallback"})
    assert not result.generated and result.request is None
    assert (result.response.status, result.response.status_description, result.response.body) == (200, "OK", b"fallback")
    assert result.response.headers.get("content-type") == "text/html"


async def test_viewer_response_header_edit_keeps_the_body(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    result = await _respond(runtime, handlers, make_call(EventType.VIEWER_RESPONSE), {
        "headers": {"content-type": [{"key": "Content-Type", "value": "text/html"}],
                    "content-length": [{"key": "Content-Length", "value": "5"}],
                    "x-new": [{"key": "X-New", "value": "1"}]}})
    assert result.response.body == b"hello" and result.response.headers.get("x-new") == "1"
