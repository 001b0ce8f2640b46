"""`edgesim generate-event --cloudfront-function`: CloudFront Functions test events (spec §1.2), fed to test-function."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from cff_support import FUNCTIONS
from edgesim.cli import main
from edgesim.cloudfront_functions.generate import generate_event
from edgesim.cloudfront_functions.testfunction import complete_event
from edgesim.config import DistributionSettings
from edgesim.errors import UserError
from edgesim.messages import EventType

VIEWER = [EventType.VIEWER_REQUEST, EventType.VIEWER_RESPONSE]


@pytest.mark.parametrize("trigger", VIEWER)
def test_the_event_has_cloudfront_s_shape_and_needs_nothing_filled_in(trigger: EventType) -> None:
    event = generate_event(trigger)
    assert event["version"] == "1.0"
    context = event["context"]
    assert set(context) == {"distributionDomainName", "distributionId", "eventType", "requestId"}
    assert context["eventType"] == trigger.value
    assert context["distributionId"] == DistributionSettings().id
    assert len(context["requestId"]) == 56 and context["requestId"].endswith("==")  # as X-Amz-Cf-Id
    assert event["viewer"] == {"ip": "203.0.113.178"}
    assert set(event["request"]) == {"method", "uri", "querystring", "headers", "cookies"}
    assert event["request"]["headers"]["host"] == {"value": context["distributionDomainName"]}
    if trigger is EventType.VIEWER_RESPONSE:
        assert set(event["response"]) == {"statusCode", "statusDescription", "headers", "cookies"}
        assert (event["response"]["statusCode"], event["response"]["statusDescription"]) == (200, "OK")
    else:
        assert "response" not in event
    # test-function fills in what hand-written events leave out; a generated one lacks nothing.
    assert complete_event(event, DistributionSettings()) == (event, trigger)


def test_headers_cookies_and_query_string_in_cloudfront_functions_shape() -> None:
    event = generate_event(EventType.VIEWER_REQUEST, uri="/docs/", method="post", querystring="a=1&a=2&flag&B=x",
                           headers=[("X-Custom", "one"), ("Cookie", "id=42; theme=dark"), ("x-custom", "two, three"),
                                    ("Host", "www.example.com")])
    request = event["request"]
    assert (request["method"], request["uri"]) == ("POST", "/docs/")
    assert request["querystring"] == {"a": {"value": "1", "multiValue": [{"value": "1"}, {"value": "2"}]},
                                      "flag": {"value": ""}, "B": {"value": "x"}}
    assert request["headers"] == {
        "user-agent": {"value": "curl/8.4.0"}, "accept": {"value": "*/*"},
        "x-custom": {"value": "one", "multiValue": [{"value": "one"}, {"value": "two, three"}]},  # commas not split
        "host": {"value": "www.example.com"},  # a given Host replaces the distribution's
    }
    assert request["cookies"] == {"id": {"value": "42"}, "theme": {"value": "dark"}}


def test_response_status_headers_and_set_cookie() -> None:
    event = generate_event(EventType.VIEWER_RESPONSE, status=404,
                           response_headers=[("Content-Type", "application/json"), ("Set-Cookie", "sid=abc; Secure; Path=/"),
                                             ("Set-Cookie", "sid=def")])
    response = event["response"]
    assert (response["statusCode"], response["statusDescription"]) == (404, "Not Found")
    assert response["headers"]["content-type"] == {"value": "application/json"}
    assert "set-cookie" not in response["headers"]
    assert response["cookies"] == {"sid": {"value": "abc", "attributes": "Secure; Path=/", "multiValue": [
        {"value": "abc", "attributes": "Secure; Path=/"}, {"value": "def", "attributes": ""}]}}


@pytest.mark.parametrize("trigger", [EventType.ORIGIN_REQUEST, EventType.ORIGIN_RESPONSE])
def test_origin_triggers_are_refused(trigger: EventType) -> None:
    with pytest.raises(UserError, match=r"only on viewer-request and viewer-response, not origin-.*: leave out --cloudfront-function"):
        generate_event(trigger)
    result = CliRunner().invoke(main, ["generate-event", trigger.value, "--cloudfront-function"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"error: CloudFront Functions run only on viewer-request and viewer-response, not "
                             f"{trigger.value}: leave out --cloudfront-function for a Lambda@Edge event\n")


@pytest.mark.parametrize(("args", "words"), [
    (["viewer-request", "--cloudfront-function", "--body", "x"], "error: --body: a CloudFront Function never sees"),
    (["viewer-request", "--cloudfront-function", "--status", "404"], "go with viewer-response --cloudfront-function"),
    (["origin-request", "--response-header", "X-A: b"], "make the response of origin-response or viewer-response"),
])
def test_options_that_do_not_apply_are_refused_in_one_line(args: list[str], words: str) -> None:
    result = CliRunner().invoke(main, ["generate-event", *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert words in result.stderr and result.stderr.count("\n") == 1


def test_headers_a_function_never_sees_are_left_out_with_a_note() -> None:
    result = CliRunner().invoke(main, ["generate-event", "viewer-response", "--cloudfront-function", "--status", "503",
                                       "--header", "X-Forwarded-Proto: https", "--response-header", "X-Cache: Hit"])
    assert result.exit_code == 0, result.stderr
    event = json.loads(result.stdout)
    assert "x-forwarded-proto" not in event["request"]["headers"] and "x-cache" not in event["response"]["headers"]
    assert result.stderr.splitlines() == [
        "note: X-Forwarded-Proto is never shown to a CloudFront Function (CloudFront docs: \"Restrictions on all edge functions\"); left out",
        "note: X-Cache is never shown to a CloudFront Function (CloudFront docs: \"Restrictions on all edge functions\"); left out",
        "note: CloudFront does not run viewer-response when the origin answered 503 (400 or more; CloudFront docs: \"Restrictions on all edge functions\"); "
        "TestFunction runs it anyway",
    ]


def _round_trip(function: str, generate_args: list[str]) -> dict[str, Any]:
    runner = CliRunner()
    generated = runner.invoke(main, ["generate-event", *generate_args, "--cloudfront-function"])
    assert generated.exit_code == 0, generated.stderr
    tested = runner.invoke(main, ["test-function", str(FUNCTIONS / function), "--event", "-", "--fail-on-error"],
                           input=generated.stdout)
    assert tested.exit_code == 0, tested.output
    result = json.loads(tested.stdout)["TestResult"]
    assert result["FunctionErrorMessage"] == ""
    output: dict[str, Any] = json.loads(result["FunctionOutput"])
    return output


def test_round_trip_add_index() -> None:
    out = _round_trip("add-index.js", ["viewer-request", "--uri", "/docs/", "--querystring", "v=1&v=2",
                                       "--header", "Accept-Language: fr", "--header", "Cookie: id=42"])
    assert out == {"request": {
        "method": "GET", "uri": "/docs/index.html",
        "querystring": {"v": {"value": "1", "multiValue": [{"value": "1"}, {"value": "2"}]}},
        "headers": {"host": {"value": "d111111abcdef8.cloudfront.net"}, "user-agent": {"value": "curl/8.4.0"},
                    "accept": {"value": "*/*"}, "accept-language": {"value": "fr"}},
        "cookies": {"id": {"value": "42"}}}}


def test_round_trip_reads_query_string_and_cookies() -> None:
    out = _round_trip("normalize-query-string.js", ["viewer-request", "--querystring", "b=2&A=1&a=3&utm_source=x"])
    assert out["request"]["querystring"] == "a=1&a=3&b=2"  # the multiValue entries, each read
    out = _round_trip("ab-test-cookie.js", ["viewer-request", "--uri", "/p", "--header", "Cookie: x=1; ab=b"])
    assert out["request"]["uri"] == "/b/p"


def test_round_trip_viewer_response() -> None:
    out = _round_trip("security-headers.js", ["viewer-response", "--status", "201",
                                              "--response-header", "Set-Cookie: sid=abc; Secure"])
    response = out["response"]
    assert (response["statusCode"], response["statusDescription"]) == (201, "Created")
    assert response["headers"]["x-frame-options"] == {"value": "DENY"}
    assert response["cookies"] == {"sid": {"value": "abc", "attributes": "Secure"}}


def test_lambda_edge_events_are_unchanged_by_default() -> None:
    result = CliRunner().invoke(main, ["generate-event", "origin-request"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["Records"][0]["cf"]["config"]["eventType"] == "origin-request"
