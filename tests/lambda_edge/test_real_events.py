"""Lambda@Edge events as real users paste them (AWS docs, `sam local generate-event cloudfront`,
events captured from CloudFront in public repos' fixtures), through `edgesim invoke` and
`edgesim generate-event`. The fixtures are small hand-written equivalents of those shapes."""

from __future__ import annotations

import email.utils
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgesim.cli import main
from edgesim.lambda_edge import generate_event, invoke_handler
from edgesim.lambda_edge.invoke import event_type_of
from edgesim.messages import EventType
from edgesim.testing import Distribution

from .conftest import IDENTITY_JS, IDENTITY_PY, Handlers
from .test_event import ECHO_JS, ECHO_PY


def _h(key: str, value: str) -> list[dict[str, str]]:
    return [{"key": key, "value": value}]


def _sam_event(headers: dict[str, Any], *, response: dict[str, Any] | None = None,
               origin: dict[str, Any] | None = None) -> dict[str, Any]:
    """Shaped as `sam local generate-event cloudfront ...` writes them: config with distributionId only."""
    request: dict[str, Any] = {"uri": "/test", "method": "GET", "clientIp": "2001:cdba::3257:9652",
                               "headers": {"host": _h("Host", "d123.cf.net"), **headers}}
    if origin is not None:
        request["origin"] = origin
    cf: dict[str, Any] = {"config": {"distributionId": "EXAMPLE"}, "request": request}
    if response is not None:
        cf["response"] = response
    return {"Records": [{"cf": cf}]}


_CUSTOM = {"custom": {"customHeaders": {}, "domainName": "example.org", "keepaliveTimeout": 5, "path": "",
                      "port": 80, "protocol": "http", "readTimeout": 30, "sslProtocols": ["TLSv1", "SSLv3"]}}
_RESPONSE = {"status": "404", "statusDescription": "Not Found", "headers": {"server": _h("Server", "AmazonS3")}}


@pytest.mark.parametrize("event, trigger", [
    # sam's redirect-on-viewer-country and serve-object-on-viewer-device: headers CloudFront adds
    # only after viewer-request (spec §2.6), so these are origin-request events.
    (_sam_event({"cloudfront-viewer-country": _h("CloudFront-Viewer-Country", "TW")}), EventType.ORIGIN_REQUEST),
    (_sam_event({"cloudfront-is-mobile-viewer": _h("CloudFront-Is-Mobile-Viewer", "false")}),
     EventType.ORIGIN_REQUEST),
    # A captured origin-response event with its config's eventType removed: request.origin says origin.
    (_sam_event({}, origin=_CUSTOM, response=_RESPONSE), EventType.ORIGIN_RESPONSE),
    (_sam_event({}, origin=_CUSTOM), EventType.ORIGIN_REQUEST),
    (_sam_event({"user-agent": _h("User-Agent", "Test Agent")}), EventType.VIEWER_REQUEST),
    (_sam_event({}, response=_RESPONSE), EventType.VIEWER_RESPONSE),
])
def test_config_less_events_run_as_the_trigger_their_content_shows(event: dict[str, Any], trigger: EventType) -> None:
    guessed, note = event_type_of(event)
    assert guessed is trigger
    assert note is not None and f"running it as {trigger.value}" in note and "--event-type" in note


def test_generated_event_keeps_a_repeated_header_as_two_entries() -> None:
    """Spec §2.2: one array element per header line, as CloudFront's events have a repeated Accept."""
    event = generate_event(EventType.VIEWER_REQUEST, headers=[("Accept", "text/html"), ("Accept", "*/*"),
                                                              ("Cookie", "a=1"), ("Cookie", "b=2")])
    headers = event["Records"][0]["cf"]["request"]["headers"]
    assert headers["accept"] == [{"key": "Accept", "value": "text/html"}, {"key": "Accept", "value": "*/*"}]
    assert [e["value"] for e in headers["cookie"]] == ["a=1", "b=2"]


@pytest.mark.parametrize("trigger", [EventType.VIEWER_REQUEST, EventType.VIEWER_RESPONSE])
def test_a_generated_viewer_event_keys_host_and_user_agent_as_a_served_one(trigger: EventType) -> None:
    """As `edgesim serve` gives them (test_a_served_viewer_request_event_keys_host_and_user_agent_as_cloudfront_does),
    whatever case the header was given in; other headers keep theirs."""
    event = generate_event(trigger, headers=[("host", "www.example.com"), ("user-agent", "Mozilla/5.0"),
                                             ("sec-fetch-mode", "navigate")])
    headers = event["Records"][0]["cf"]["request"]["headers"]
    assert headers["host"] == [{"key": "Host", "value": "www.example.com"}]
    assert headers["user-agent"] == [{"key": "User-Agent", "value": "Mozilla/5.0"}]
    assert headers["sec-fetch-mode"] == [{"key": "sec-fetch-mode", "value": "navigate"}]


@pytest.mark.parametrize("trigger", [EventType.VIEWER_REQUEST, EventType.ORIGIN_REQUEST])
def test_generated_event_with_a_body_carries_its_content_length(trigger: EventType) -> None:
    """Events captured from CloudFront for a PUT or POST show the request's Content-Length."""
    cf = generate_event(trigger, method="PUT", body=b"hello")["Records"][0]["cf"]
    assert cf["request"]["headers"]["content-length"] == [{"key": "Content-Length", "value": "5"}]
    assert cf["request"]["body"]["data"] == "aGVsbG8="


@pytest.mark.parametrize("args, words", [
    (["viewer-request", "--body", "x"], "not GET"),  # a GET with a body never reaches a function
    (["origin-response", "--method", "POST", "--body", "x"], "never sees the request body"),
])
def test_generate_event_refuses_a_body_no_function_would_see(args: list[str], words: str) -> None:
    result = CliRunner().invoke(main, ["generate-event", *args])
    assert result.exit_code == 2 and words in result.stderr and result.stdout == ""


def test_generate_event_says_which_headers_it_left_out() -> None:
    result = CliRunner().invoke(main, ["generate-event", "viewer-request", "--header", "X-Edge-Location: x"])
    assert result.exit_code == 0
    assert "note: X-Edge-Location is never shown" in result.stderr
    assert "x-edge-location" not in json.loads(result.stdout)["Records"][0]["cf"]["request"]["headers"]


def test_a_hand_written_event_without_headers_is_not_blamed_on_the_handler(handlers: Handlers) -> None:
    """Minimal events as tests in public repos write them (a uri and little else): the pass-through
    handler hands back what it got, and validation says the event lacks what CloudFront always sends."""
    path = handlers.write("identity", py=IDENTITY_PY, js=IDENTITY_JS)
    event = {"Records": [{"cf": {"config": {"eventType": "viewer-request"},
                                 "request": {"uri": "/resize/300x300/cover.jpg", "method": "GET"}}}]}
    result = CliRunner().invoke(main, ["invoke", f"{path}:handler", "--event", "-", "--validate"],
                                input=json.dumps(event))
    assert result.exit_code == 1
    assert json.loads(result.stdout) == event["Records"][0]["cf"]["request"]
    assert ("validation: cannot validate: the event's Records[0].cf.request has no 'headers', which every "
            "viewer-request event carries") in result.stderr
    assert "returned an invalid" not in result.stderr


async def test_validation_cannot_run_on_a_response_event_without_response_headers(handlers: Handlers) -> None:
    path = handlers.write("identity", py=IDENTITY_PY, js=IDENTITY_JS)
    event = {"Records": [{"cf": {"config": {"eventType": "origin-response"}, "request": {"uri": "/x"},
                                 "response": {"status": "404", "statusDescription": "Not Found"}}}]}
    result = await invoke_handler(f"{path}:handler", event, validate=True)
    assert result.error is None and result.viewer_status is None
    assert result.validation_error == ("cannot validate: the event's Records[0].cf.response has no 'headers', "
                                       "which every origin-response event carries (add it to the event)")


async def test_a_viewer_response_event_with_a_status_no_event_has_is_the_event_s_fault(handlers: Handlers) -> None:
    """A response-trigger event whose own status is not one (a reason phrase where the code goes):
    the handler that sets a good status was met with a traceback."""
    path = handlers.write("fixer", py="""
        def handler(event, context):
            response = event["Records"][0]["cf"]["response"]
            response["status"] = "200"
            return response
        """, js="""
        exports.handler = async (event) => {
          const response = event.Records[0].cf.response;
          response.status = '200';
          return response;
        };
        """)
    event = {"Records": [{"cf": {"config": {"eventType": "viewer-response"}, "request": {"uri": "/x"},
                                 "response": {"status": "OK", "headers": {}}}}]}
    result = await invoke_handler(f"{path}:handler", event, validate=True)
    assert result.error is None and result.result["status"] == "200"
    assert result.validation_error is not None
    assert result.validation_error.startswith("cannot validate: the event's Records[0].cf.response.status is 'OK'")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_invoke_reads_events_saved_by_windows_tools(handlers: Handlers, tmp_path: Path, encoding: str) -> None:
    """`sam local generate-event cloudfront ... > event.json` in Windows PowerShell 5 writes UTF-16
    with a byte order mark, Notepad UTF-8 with one: both were "not valid JSON"."""
    path = handlers.write("identity", py=IDENTITY_PY, js=IDENTITY_JS)
    event_file = tmp_path / "event.json"
    event_file.write_bytes(json.dumps(_sam_event({})).encode(encoding))
    result = CliRunner().invoke(main, ["invoke", f"{path}:handler", "--event", str(event_file)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["uri"] == "/test"


async def test_an_event_header_named_as_http_writes_it_is_the_event_s_fault(handlers: Handlers) -> None:
    """`"Host": [...]` where CloudFront's events have `"host"`: a handler that edits the entry it was
    given was blamed ("header name 'Host' must be lowercase")."""
    path = handlers.write("edit", py="""
        def handler(event, context):
            request = event["Records"][0]["cf"]["request"]
            request["headers"]["Host"][0]["value"] = "example.com"
            return request
        """, js="""
        exports.handler = async (event) => {
          const request = event.Records[0].cf.request;
          request.headers.Host[0].value = 'example.com';
          return request;
        };
        """)
    event = {"Records": [{"cf": {"config": {"eventType": "origin-request"},
                                 "request": {"uri": "/", "method": "GET", "querystring": "", "clientIp": "203.0.113.9",
                                             "headers": {"Host": [{"key": "Host", "value": "example.org"}]}}}}]}
    result = await invoke_handler(f"{path}:handler", event, validate=True)
    assert result.error is None and result.viewer_status is None
    assert result.validation_error is not None
    assert result.validation_error.startswith("cannot validate: the event's Records[0].cf.request.headers has 'Host'")


async def test_headers_cloudfront_never_shows_in_a_pasted_event_are_noted(handlers: Handlers) -> None:
    """sam's access-request-in-response event has an X-Cache response header, which no function is shown."""
    path = handlers.write("identity", py=IDENTITY_PY, js=IDENTITY_JS)
    event = _sam_event({}, response={"status": "200", "statusDescription": "OK",
                                     "headers": {"x-cache": _h("X-Cache", "Hello from Cloudfront")}})
    result = await invoke_handler(f"{path}:handler", event, validate=True)
    assert result.ok and result.result == event["Records"][0]["cf"]["response"]
    assert any(note.startswith("the event's response.headers has x-cache, which CloudFront never shows a function")
               for note in result.notes)




async def test_a_served_viewer_request_event_keys_host_and_user_agent_as_cloudfront_does(
        handlers: Handlers, tmp_path: Path) -> None:
    """Events logged from CloudFront for HTTP/2 viewers (whose header names are lowercase on the wire)
    key `Host` and `User-Agent` so, and every other header as the viewer sent it: the viewer-request
    event in serverless-plugin-cloudfront-lambda-edge-playground's README (Chrome: `Host`,
    `User-Agent`, `accept`, `sec-fetch-mode`), a Firefox one in a Python test module (`Host`,
    `User-Agent`, `accept`, `te`), the AWS docs' viewer-response example (curl 7.66: `Host`,
    `User-Agent`, `accept`). edgesim's server gets every name lowercase (uvicorn), as from HTTP/2."""
    path = handlers.write("echo", py=ECHO_PY, js=ECHO_JS)
    config = {"origins": [{"id": "site", "directory": "site"}],
              "default_cache_behavior": {"target_origin": "site",
                                         "functions": {"viewer-request": {"lambda": f"{path.name}:handler"}}}}
    async with Distribution(config, base_dir=tmp_path) as dist:
        response = await dist.get("/", headers={"User-Agent": "curl/8.4.0", "Accept": "*/*",
                                                "Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 200, response.text
    headers = json.loads(response.content)["Records"][0]["cf"]["request"]["headers"]
    assert [e["key"] for e in headers["host"]] == ["Host"]
    assert headers["user-agent"] == [{"key": "User-Agent", "value": "curl/8.4.0"}]
    assert headers["accept"] == [{"key": "accept", "value": "*/*"}]
    assert headers["sec-fetch-mode"] == [{"key": "sec-fetch-mode", "value": "navigate"}]


# Reads the origin's Date, as a handler written against S3's responses can.
_READS_DATE_PY = """
def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    response["headers"]["x-origin-date"] = [{"key": "X-Origin-Date", "value": response["headers"]["date"][0]["value"]}]
    return response
"""
_READS_DATE_JS = """
exports.handler = async (event) => {
  const response = event.Records[0].cf.response;
  response.headers['x-origin-date'] = [{ key: 'X-Origin-Date', value: response.headers.date[0].value }];
  return response;
};
"""


@pytest.mark.parametrize("uri, status", [("/index.html", 200), ("/missing.html", 403)])
async def test_an_s3_origin_response_event_has_the_date_s3_sends(handlers: Handlers, tmp_path: Path,
                                                                   uri: str, status: int) -> None:
    """S3 answers every request with a Date, and origin-response events captured from CloudFront in
    front of S3 show it: a 404 in li0nel/terraform-aws-cloudfront-image-compression
    (lambda/code/origin_response/event.js), a 200 to a PUT in tomas-nobile/imageResizerServerless
    (functions/response/event/event.js), 404s in an image-recovery test and a blog's test data."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("hi")
    path = handlers.write("reads_date", py=_READS_DATE_PY, js=_READS_DATE_JS)
    config = {"origins": [{"id": "site", "directory": "site"}],
              "default_cache_behavior": {"target_origin": "site",
                                         "functions": {"origin-response": {"lambda": f"{path.name}:handler"}}}}
    async with Distribution(config, base_dir=tmp_path) as dist:
        response = await dist.get(uri)
    assert response.status_code == status, response.text
    assert email.utils.parsedate_to_datetime(response.headers["x-origin-date"]).tzinfo is not None


# Reads S3's request ids, as a handler logging or reporting S3's errors can.
_READS_IDS_PY = """
def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    seen = [response["headers"][n][0]["key"] + "=" + response["headers"][n][0]["value"]
            for n in ("x-amz-request-id", "x-amz-id-2") if n in response["headers"]]
    response["headers"]["x-seen"] = [{"key": "X-Seen", "value": " ".join(seen) or "none"}]
    return response
"""
_READS_IDS_JS = """
exports.handler = async (event) => {
  const response = event.Records[0].cf.response;
  const seen = ['x-amz-request-id', 'x-amz-id-2'].filter((n) => response.headers[n])
    .map((n) => response.headers[n][0].key + '=' + response.headers[n][0].value);
  response.headers['x-seen'] = [{ key: 'X-Seen', value: seen.join(' ') || 'none' }];
  return response;
};
"""


async def test_an_s3_error_in_an_origin_response_event_carries_s3_s_request_ids(handlers: Handlers,
                                                                                 tmp_path: Path) -> None:
    """S3's error answers carry `x-amz-request-id` and `x-amz-id-2` (keys lowercase, as S3 writes
    them), the same ids as the XML body's RequestId and HostId: every origin-response event of an S3
    404 captured from CloudFront shows both, from a REST endpoint (an image-recovery test's event,
    origin `s3` with an origin access identity; a favicon.ico 404 with authMethod none; a blog's
    resize walkthrough) and from a website endpoint (li0nel/terraform-aws-cloudfront-image-compression
    lambda/code/origin_response/event.js). Each answer has its own."""
    import re

    (tmp_path / "site").mkdir()
    path = handlers.write("reads_ids", py=_READS_IDS_PY, js=_READS_IDS_JS)
    config = {"origins": [{"id": "site", "directory": "site"}],
              "default_cache_behavior": {"target_origin": "site", "cache_policy": "CachingDisabled",
                                         "functions": {"origin-response": {"lambda": f"{path.name}:handler"}}}}
    async with Distribution(config, base_dir=tmp_path) as dist:
        first, second = await dist.get("/missing.html"), await dist.get("/missing.html")
    assert first.status_code == 403, first.text
    body_ids = re.search(r"<RequestId>([A-Z0-9]{16})</RequestId><HostId>([A-Za-z0-9+/=]{76})</HostId>", first.text)
    assert body_ids is not None, first.text
    assert first.headers["x-seen"] == f"x-amz-request-id={body_ids[1]} x-amz-id-2={body_ids[2]}"
    assert second.headers["x-seen"] != first.headers["x-seen"]
