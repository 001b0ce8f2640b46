"""Well-formed CloudFront Functions test events, as `edgesim generate-event --cloudfront-function` prints them.

Built with the codec the runtime uses (event.py `build_event`), so a generated event is shaped as
what a function gets from `edgesim serve` for that request (spec §1.2), and is what TestFunction takes
as its EventObject (spec §1.10). The viewer-response's response is an origin's as the Lambda@Edge
events have it: under serve it also carries CloudFront's Via.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any

from edgesim.cloudfront_functions.event import Context, build_event, is_disallowed
from edgesim.config import DistributionSettings
from edgesim.errors import UserError
from edgesim.messages import EventType, Headers, Request, Response

_CLIENT_IP = "203.0.113.178"  # the same documentation address as the Lambda@Edge events
# What a viewer's request carries when the command line adds nothing (spec §1.2 example);
# the Host is the distribution's own domain name, as a viewer reaching it sends.
_USER_AGENT = "curl/8.4.0"
# An origin's response, as the Lambda@Edge viewer-response event has it.
_RESPONSE_HEADERS = (("Content-Type", "text/html"), ("Content-Length", "1024"),
                     ("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT"), ("Server", "ExampleServer"))


def _with_defaults(defaults: Sequence[tuple[str, str]], given: Sequence[tuple[str, str]]) -> Headers:
    """`given` replaces a default of the same name; a name given twice is kept twice (multiValue)."""
    names = {name.lower() for name, _ in given}
    headers = Headers([(name, value) for name, value in defaults if name.lower() not in names])
    for name, value in given:
        headers.add(name, value)
    return headers


def generate_event(trigger: EventType, *, uri: str = "/", method: str = "GET",
                   headers: Sequence[tuple[str, str]] = (), querystring: str = "", status: int = 200,
                   response_headers: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """`{"version": "1.0", "context", "viewer", "request"[, "response"]}` for a viewer trigger.

    Header names come out lowercase, a Cookie header as `request.cookies`, a Set-Cookie response
    header as `response.cookies`, the query string as value/multiValue maps: build_event's work.
    """
    if not trigger.is_viewer:  # spec §1.1: CloudFront refuses a CloudFront Function on an origin trigger
        raise UserError(f"CloudFront Functions run only on viewer-request and viewer-response, not {trigger.value}: "
                        "leave out --cloudfront-function for a Lambda@Edge event")
    settings = DistributionSettings()
    viewer_headers = (("Host", settings.domain_name), ("User-Agent", _USER_AGENT), ("Accept", "*/*"))
    request = Request(method=method.upper(), uri=uri, querystring=querystring,
                      headers=_with_defaults(viewer_headers, headers), client_ip=_CLIENT_IP)
    response = None
    if trigger is EventType.VIEWER_RESPONSE:
        # No statusDescription of our own: build_event gives the status's phrase (200 -> "OK"), as CloudFront does.
        response = Response(status, _with_defaults(_RESPONSE_HEADERS, response_headers))
    context: Context = {"distributionDomainName": settings.domain_name, "distributionId": settings.id,
                        "eventType": trigger.value,
                        # Shaped as CloudFront's ids (X-Amz-Cf-Id): 56 characters of base64url ending in `==`.
                        "requestId": base64.urlsafe_b64encode(os.urandom(40)).decode()}
    return build_event(trigger, request, response=response, context=context)


def left_out(headers: Sequence[tuple[str, str]]) -> list[str]:
    """The names among `headers` that CloudFront never shows a function (spec §1.4), so the event leaves out."""
    return [name for name, _ in headers if is_disallowed(name)]
