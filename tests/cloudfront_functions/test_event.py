"""The event CloudFront builds and how a result is written back (spec §1.2, §1.3), through a real isolate."""

from __future__ import annotations

from cff_support import call, load, request, viewer_response  # noqa: F401  (load is a fixture)
from edgesim.cloudfront_functions.event import parse_querystring, request_cookies, response_cookies
from edgesim.messages import Headers, Response


def test_querystring_multivalue_and_empty_values() -> None:
    assert parse_querystring("a=1&b&a=2&c=x%20y") == {
        "a": {"value": "1", "multiValue": [{"value": "1"}, {"value": "2"}]},
        "b": {"value": ""},
        "c": {"value": "x%20y"},
    }


def test_cookies_parsed_from_every_cookie_line() -> None:
    headers = Headers([("Cookie", "a=1; b=2"), ("Cookie", "a=3")])
    assert request_cookies(headers) == {"a": {"value": "1", "multiValue": [{"value": "1"}, {"value": "3"}]}, "b": {"value": "2"}}


def test_set_cookie_lines_keep_their_attributes() -> None:
    headers = Headers([("Set-Cookie", "id=1; Secure; Path=/"), ("Set-Cookie", "id=2; HttpOnly"), ("Set-Cookie", "t=x")])
    assert response_cookies(headers) == {
        "id": {"value": "1", "attributes": "Secure; Path=/",
               "multiValue": [{"value": "1", "attributes": "Secure; Path=/"}, {"value": "2", "attributes": "HttpOnly"}]},
        "t": {"value": "x", "attributes": ""},
    }


async def test_event_shape_seen_by_the_handler(load) -> None:  # noqa: F811
    fn = await load("function handler(event) { console.log(JSON.stringify(event)); return event.request; }")
    req = request("/a", "x=1", [("Host", "h.example"), ("Cookie", "s=1"), ("Connection", "keep-alive"), ("X-Amz-Cf-Id", "zz"),
                                ("Accept", "a"), ("Accept", "b")])
    result = await fn.invoke(call(req))
    assert result.event == {
        "version": "1.0",
        "context": {"distributionDomainName": "d111111abcdef8.cloudfront.net", "distributionId": "EDFDVBD6EXAMPLE",
                    "eventType": "viewer-request", "requestId": "req-1"},
        "viewer": {"ip": "203.0.113.10"},
        "request": {"method": "GET", "uri": "/a", "querystring": {"x": {"value": "1"}},
                    "headers": {"host": {"value": "h.example"},
                                "accept": {"value": "a", "multiValue": [{"value": "a"}, {"value": "b"}]}},
                    "cookies": {"s": {"value": "1"}}},
    }
    import json

    assert json.loads(result.logs[0]) == result.event
    # Disallowed headers the function never saw still reach the origin unchanged (spec §1.4).
    assert result.request is not None
    assert result.request.headers.get("connection") == "keep-alive"
    assert result.request.headers.get("x-amz-cf-id") == "zz"


async def test_written_headers_are_capitalised_and_multivalue_wins(load) -> None:  # noqa: F811
    fn = await load("""function handler(event) {
        var h = event.request.headers;
        h['x-new-header'] = {value: 'v'};
        h['accept'].multiValue = [{value: 'm1'}, {value: 'm2'}, {value: 'm3'}];
        h['x-multi'].value = 'first-changed';
        return event.request;
    }""")
    req = request(headers=[("Host", "h"), ("Accept", "a"), ("Accept", "b"), ("X-Multi", "1"), ("X-Multi", "2")])
    out = (await fn.invoke(call(req))).request
    assert out is not None
    assert out.headers.get_all("Accept") == ["m1", "m2", "m3"]
    # value changed, multiValue untouched: only the first value is replaced (spec §1.2)
    assert out.headers.get_all("X-Multi") == ["first-changed", "2"]
    assert ("X-New-Header", "v") in out.headers.items()


async def test_querystring_as_string_or_object(load) -> None:  # noqa: F811
    as_string = await load("function handler(e) { e.request.querystring = 'b=2&a=1'; return e.request; }", name="s")
    assert (await as_string.invoke(call(request(query="z=9")))).request.querystring == "b=2&a=1"  # type: ignore[union-attr]
    as_object = await load("function handler(e) { e.request.querystring.n = {value: 'a b'}; return e.request; }", name="o")
    assert (await as_object.invoke(call(request(query="z=9")))).request.querystring == "z=9&n=a%20b"  # type: ignore[union-attr]
    untouched = await load("function handler(e) { return e.request; }", name="u")
    assert (await untouched.invoke(call(request(query="z=%41&y")))).request.querystring == "z=%41&y"  # type: ignore[union-attr]


async def test_request_cookies_written_back_into_one_cookie_header(load) -> None:  # noqa: F811
    fn = await load("function handler(e) { e.request.cookies.b = {value: '2'}; return e.request; }")
    out = (await fn.invoke(call(request(headers=[("Host", "h"), ("Cookie", "a=1")])))).request
    assert out is not None and out.headers.get_all("Cookie") == ["a=1; b=2"]


async def test_generated_response_with_body_and_set_cookies(load) -> None:  # noqa: F811
    fn = await load("""function handler(e) {
        return {statusCode: 200, statusDescription: 'OK', headers: {'content-type': {value: 'text/plain'}},
                cookies: {a: {value: '1', attributes: 'Path=/'}, b: {value: '2', multiValue: [{value: '2'}, {value: '3', attributes: 'Secure'}]}},
                body: {encoding: 'base64', data: 'aGVsbG8='}, unknownProperty: 1};
    }""")
    result = await fn.invoke(call())
    assert result.generated and result.response is not None
    assert result.response.body == b"hello"
    assert result.response.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2", "b=3; Secure"]
    assert result.response.headers.get("Content-Type") == "text/plain"
    assert "unknownProperty" not in result.output["response"]  # type: ignore[index]


async def test_viewer_response_changes_status_keeps_body_and_set_cookie_lines(load) -> None:  # noqa: F811
    fn = await load("""function handler(e) {
        var r = e.response;
        r.statusCode = 404; r.statusDescription = 'Not Found';
        r.headers['x-seen'] = {value: e.request.uri};
        return r;
    }""")
    resp = Response(200, Headers([("Content-Type", "text/html"), ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2")]), b"<p>hi</p>")
    out = (await fn.invoke(viewer_response(resp))).response
    assert out is not None
    assert (out.status, out.status_description, out.body) == (404, "Not Found", b"<p>hi</p>")
    assert out.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2"]
    assert out.headers.get("X-Seen") == "/index.html"


async def test_viewer_response_body_replaced_by_string(load) -> None:  # noqa: F811
    fn = await load("function handler(e) { e.response.body = 'new'; return e.response; }")
    out = await fn.invoke(viewer_response(Response(200, Headers(), b"old")))
    assert out.response is not None and out.response.body == b"new"
    assert out.output == {"response": {"statusCode": 200, "statusDescription": "OK", "headers": {}, "cookies": {},
                                       "body": {"encoding": "text", "data": "new"}}}
