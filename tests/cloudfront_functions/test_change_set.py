"""A handler that returns the event's own request / response with headers edited is answered as a
change set (prelude.js changeSet; output.py normalize_changes): the result must be exactly what
the whole output gives. Each edit runs twice on real V8: as written (a change set), and with an
unknown top-level property added before returning, which CloudFront drops but which makes
prelude.js answer the whole output. The two must agree, error messages included."""

from __future__ import annotations

from typing import Any

import pytest

from edgesim.errors import ViewerError
from edgesim.messages import EventType, Headers, Response

from cff_support import Loader, call, load, request, viewer_response  # noqa: F401  (load is a fixture)

# A request with a header set twice (multiValue), a Cookie and a disallowed header the function never sees.
REQUEST_HEADERS = [("Host", "d111111abcdef8.cloudfront.net"), ("User-Agent", "test"), ("X-Multi", "a"),
                   ("Accept", "*/*"), ("X-Multi", "b"), ("Cookie", "s=1; t=2"), ("X-Amz-Cf-Id", "hidden")]
RESPONSE_HEADERS = [("Content-Type", "text/html"), ("ETag", '"abc"'), ("X-Multi", "a"), ("X-Multi", "b"),
                    ("Set-Cookie", "s=1; Path=/"), ("Via", "1.1 x.cloudfront.net (CloudFront)"), ("X-Cache", "Miss")]

# Edits of `r`, the event's request or response (h: its headers).
EDITS = {
    "nothing": "",
    "add": "h['x-new'] = { value: 'v' };",
    "remove": "delete h['x-multi'];",
    "change in place": "h['content-type'] && (h['content-type'].value = 'text/plain'); h['user-agent'] && (h['user-agent'].value = 'changed');",
    "same value, new object": "h['accept'] = { value: '*/*' }; h['etag'] = { value: '\"abc\"' };",
    "multiValue edited": "h['x-multi'].multiValue = [{ value: 'c' }, { value: 'd' }, { value: 'e' }];",
    "value of a multiValue edited": "h['x-multi'].value = 'z';",
    "added with multiValue": "h['x-new'] = { value: 'v', multiValue: [{ value: 'v' }, { value: 'w' }] };",
    "deleted and set again (moves last)": "var m = h['x-multi']; delete h['x-multi']; h['x-multi'] = m;",
    "read-only changed": "h['host'] = { value: 'evil.example' }; h['via'] = { value: 'evil' };",
    "read-only removed": "delete h['host']; delete h['via'];",
    "read-only set to its own value": "h['host'] && (h['host'] = { value: h['host'].value }); h['via'] && (h['via'] = { value: h['via'].value });",
    "disallowed added": "h['x-cache'] = { value: 'Hit' }; h['connection'] = { value: 'close' };",
    "name not lowercase": "h['X-Upper'] = { value: '1' };",
    "value with a line break": "h['x-bad'] = { value: 'a\\r\\nInjected: 1' };",
    "value not a string": "h['x-num'] = { value: 1 };",
    "entry without a value": "h['x-none'] = {};",
    "property added to an entry": "h['accept'] && (h['accept'].extra = 1); h['etag'] && (h['etag'].extra = 1);",
    "all headers replaced": "r.headers = { 'x-only': { value: '1' } };",
    "Array.prototype.push replaced": "Array.prototype.push = function () { return 0; }; delete h['x-multi'];",
}


def _handler(side: str, edit: str, whole: bool) -> str:
    extra = "r.notAProperty = 1;" if whole else ""  # dropped on output, but no change set then
    return f"function handler(event) {{ var r = event.{side}; var h = r.headers; {edit} {extra} return r; }}"


async def _result(load: Loader, side: str, edit: str, whole: bool, name: str, headers: list[tuple[str, str]]) -> Any:
    function = await load(_handler(side, edit, whole), name=name)
    if side == "request":
        trigger = call(request(headers=headers))
    else:
        trigger = viewer_response(Response(status=200, headers=Headers(headers), body=b"x"))
    event = trigger.request if side == "request" else trigger.response
    assert event is not None
    before = list(event.headers)
    try:
        result = await function.invoke(trigger)
    except ViewerError as err:
        return type(err).__name__, err.reason
    finally:
        assert list(event.headers) == before  # the call's own request / response is not written to
    if side == "request":
        assert result.request is not None
        return result.request.uri, result.request.querystring, list(result.request.headers), result.output
    assert result.response is not None
    return (result.response.status, result.response.status_description, list(result.response.headers),
            result.response.body, result.output)


async def _answered_as_change_set(load: Loader, side: str, edit: str, whole: bool, name: str,
                                  headers: list[tuple[str, str]]) -> bool:
    """Whether prelude.js answered with a change set (runtime.run, as invoke's slow path calls it)."""
    function = await load(_handler(side, edit, whole), name=name)
    if side == "request":
        trigger = call(request(headers=headers))
        event_type = EventType.VIEWER_REQUEST
    else:
        trigger = viewer_response(Response(status=200, headers=Headers(headers), body=b"x"))
        event_type = EventType.VIEWER_RESPONSE
    from edgesim.cloudfront_functions.event import build_event

    event = build_event(event_type, trigger.request, response=trigger.response,
                        context={"distributionDomainName": "d", "distributionId": "E", "eventType": event_type.value,
                                 "requestId": "r"})
    run = await function.run(event, event_type=event_type, now=1.0, edge={"name": "x", "serverIp": "1", "region": "r"},
                             raw_query=None, header_rules=True, original=trigger)
    return run.outcome.changes is not None


@pytest.mark.parametrize("side, headers", [("request", REQUEST_HEADERS), ("response", RESPONSE_HEADERS)])
@pytest.mark.parametrize("edit", list(EDITS))
async def test_a_change_set_gives_what_the_whole_output_gives(load: Loader, side: str, headers: list[tuple[str, str]],
                                                              edit: str) -> None:
    code = EDITS[edit]
    changed = await _result(load, side, code, False, "changes", headers)
    whole = await _result(load, side, code, True, "whole", headers)
    assert changed == whole


@pytest.mark.parametrize("edit, expected", [
    ("nothing", True), ("add", True), ("remove", True), ("multiValue edited", True), ("read-only changed", True),
    ("disallowed added", True), ("deleted and set again (moves last)", False), ("all headers replaced", True),
])
async def test_which_edits_are_answered_as_a_change_set(load: Loader, edit: str, expected: bool) -> None:
    # The comparison above is only worth something if the change-set path is the one taken.
    assert await _answered_as_change_set(load, "request", EDITS[edit], False, "a", REQUEST_HEADERS) is expected
    assert await _answered_as_change_set(load, "request", EDITS[edit], True, "b", REQUEST_HEADERS) is False


async def test_change_set_edits_reach_the_request(load: Loader) -> None:
    # Not only the same as the whole output: what CloudFront does (spec §1.2, §1.4).
    removed = await _result(load, "request", EDITS["remove"], False, "r", REQUEST_HEADERS)
    assert all(name.lower() != "x-multi" for name, _ in removed[2])
    multi = await _result(load, "request", EDITS["multiValue edited"], False, "m", REQUEST_HEADERS)
    assert [v for n, v in multi[2] if n == "X-Multi"] == ["c", "d", "e"]
    first = await _result(load, "request", EDITS["value of a multiValue edited"], False, "f", REQUEST_HEADERS)
    assert [v for n, v in first[2] if n == "X-Multi"] == ["z", "b"]
    assert ("Cookie", "s=1; t=2") in first[2] and ("X-Amz-Cf-Id", "hidden") in first[2]
    read_only = await _result(load, "request", EDITS["read-only changed"], False, "o", REQUEST_HEADERS)
    assert read_only[0] == "FunctionValidationError" and "is read-only in viewer-request" in read_only[1]
    disallowed = await _result(load, "response", EDITS["disallowed added"], False, "d", RESPONSE_HEADERS)
    assert disallowed[0] == "FunctionValidationError" and "'x-cache' is disallowed" in disallowed[1]


async def test_a_line_break_already_in_the_event_fails_a_change_set_too(load: Loader) -> None:
    # A value the function left alone but CloudFront refuses back (CR, LF or NUL): the whole map
    # is checked when the event may hold one, so the change set fails as the whole output does.
    headers = [("Host", "h"), ("X-Ctl", "a\nb")]
    changed = await _result(load, "request", EDITS["add"], False, "c", headers)
    whole = await _result(load, "request", EDITS["add"], True, "w", headers)
    assert changed == whole
    assert changed[0] == "FunctionValidationError" and "CR, LF or NUL" in changed[1]


async def test_a_header_named_proto_is_a_header_like_any_other(load: Loader) -> None:
    # JSON.parse makes "__proto__" an own property; a change set must not turn it into a prototype.
    headers = [("Host", "h"), ("__proto__", "x"), ("Accept", "*/*")]
    for edit in ("h['__proto__'].value = 'y';", "delete h['__proto__'];", "h['accept'].value = 'text/html';"):
        changed = await _result(load, "request", edit, False, "c", headers)
        whole = await _result(load, "request", edit, True, "w", headers)
        assert changed == whole


VIEWER_REQUEST_EDITS = ["", "h['x-new'] = { value: 'v' };", "delete h['accept'];", "h['x-multi'] && (h['x-multi'].value = 'z');",
                        "h['x-u'] = { value: 'caf\u00e9' };", "r.uri = '/other';", "r.querystring = 'a=1';",
                        "r.cookies['s'] = { value: '9' };", "h['accept'].value = 'text/html';"]


@pytest.mark.parametrize("edit", VIEWER_REQUEST_EDITS)
@pytest.mark.parametrize("touched", [False, True])
@pytest.mark.parametrize("multi", [False, True])
async def test_the_viewer_response_event_sees_the_request_as_it_is(load: Loader, edit: str, touched: bool,
                                                                   multi: bool) -> None:
    # output.py leaves viewer-request's view of the request it wrote on it (event.py RequestView),
    # for the viewer-response event: it must be what reading the request afresh gives, also
    # after the request was changed in between.
    from edgesim.cloudfront_functions.event import request_json

    viewer_request = await load(_handler("request", edit, False), name="vreq")
    viewer_response_fn = await load("function handler(event) { return event.response; }", name="vresp")
    headers = [("Host", "h"), ("User-Agent", "test"), ("Accept", "*/*"), ("Cookie", "s=1")]
    if multi:
        headers += [("X-Multi", "a"), ("X-Multi", "b")]
    result = await viewer_request.invoke(call(request(query="q=1", headers=headers)))
    forwarded = result.request
    assert forwarded is not None
    if touched:
        forwarded.headers.set("Accept", "changed/after")
    fresh = forwarded.copy()
    fresh.function_view = None
    answer = await viewer_response_fn.invoke(viewer_response(Response(status=200, headers=Headers([("A", "b")])),
                                                             forwarded))
    assert isinstance(answer.event, dict)
    assert answer.event["request"] == request_json(fresh)
    if touched:
        assert answer.event["request"]["headers"]["accept"] == {"value": "changed/after"}
