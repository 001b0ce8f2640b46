"""Well-formed sample events for each trigger, as `edgesim generate-event` prints them.

Built with the same codec the pipeline uses (event.py), so a generated event is exactly what a
handler would get from `edgesim serve` for that request (spec §2.2).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any

from edgesim.config import DefaultCacheBehavior, DistributionSettings
from edgesim.errors import UserError
from edgesim.lambda_edge.event import BODY_METHODS, build_cf
from edgesim.lambda_edge.validation import is_disallowed
from edgesim.messages import VIEWER_KEYS, EventType, Headers, Request, Response
from edgesim.origin_config import CustomOrigin
from edgesim.runtime import TriggerCall

_CLIENT_IP = "203.0.113.178"
_ORIGIN = CustomOrigin(id="origin", url="https://example.org")


def _request_headers(trigger: EventType, settings: DistributionSettings, extra: Sequence[tuple[str, str]],
                     body: bytes | None) -> Headers:
    if trigger.is_viewer:
        # What the viewer sent (spec §2.2 viewer-request example).
        defaults = [("Host", settings.domain_name), ("User-Agent", "curl/8.4.0"), ("Accept", "*/*")]
    else:
        # What CloudFront sends to the origin (spec §2.2 origin-request example).
        defaults = [("X-Forwarded-For", _CLIENT_IP), ("User-Agent", "Amazon CloudFront"),
                    ("Via", "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)"),
                    ("Host", _ORIGIN.domain_name)]
    if body is not None:
        # A request with a body carries its length, and CloudFront shows it (read-only; spec §1.4,
        # §2.6): events captured from CloudFront for a PUT or POST have `content-length`.
        defaults.append(("Content-Length", str(len(body))))
    # A header given replaces a default of that name; one given twice is two lines, two entries
    # in its array (spec §2.2: one element per header line).
    given = {name.lower() for name, _ in extra}
    headers = Headers([(name, value) for name, value in defaults if name.lower() not in given])
    for name, value in extra:
        if trigger.is_viewer:
            # Keyed as `edgesim serve` and CloudFront key the viewer's Host and User-Agent (messages.py).
            name = VIEWER_KEYS.get(name.lower(), name)
        headers.add(name, value)
    return headers


def _check_body(trigger: EventType, method: str) -> None:
    """A body CloudFront would never show the function is refused, not dropped from the event unsaid."""
    if not trigger.is_request:
        raise UserError(f"--body: {trigger.value} never sees the request body, only request triggers do "
                        "(with include_body)")
    if method not in BODY_METHODS:
        # README "What CloudFront does": a GET with a body is refused (403) before any function runs.
        raise UserError(f"--body: CloudFront shows a request body to functions for {', '.join(sorted(BODY_METHODS))} "
                        f"only, not {method} (add --method POST)")


def left_out(headers: Sequence[tuple[str, str]]) -> list[str]:
    """The names among `headers` that CloudFront never shows a function (spec §1.4), so the event leaves out."""
    return [name for name, _ in headers if is_disallowed(name)]


def _response_headers(extra: Sequence[tuple[str, str]]) -> Headers:
    """The origin's response headers: a sample of what an origin sends, a header given replacing a
    default of its name; one given twice is two entries of its array, as in `_request_headers`."""
    defaults = [("Content-Type", "text/html"), ("Content-Length", "1024"),
                ("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT"), ("Server", "ExampleServer")]
    given = {name.lower() for name, _ in extra}
    headers = Headers([(name, value) for name, value in defaults if name.lower() not in given])
    for name, value in extra:
        headers.add(name, value)
    return headers


def generate_event(trigger: EventType, *, uri: str = "/", method: str = "GET",
                   headers: Sequence[tuple[str, str]] = (), querystring: str = "",
                   body: bytes | None = None, status: int | None = None,
                   response_headers: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """`{"Records": [{"cf": ...}]}` for `trigger`; a body is included (IncludeBody) when given.

    `status` and `response_headers` make the response of a response trigger's event (an origin's
    404 for an origin-response handler that rewrites errors); a request trigger has none."""
    if status is not None and not 200 <= status <= 599:
        raise UserError(f"status {status}: a response's status is 200 to 599")
    if trigger.is_request and (status is not None or response_headers):
        raise UserError(f"--status and --response-header make the response of origin-response or "
                        f"viewer-response; {trigger.value} has none")
    method = method.upper()
    if body is not None:
        _check_body(trigger, method)
    settings = DistributionSettings()
    request = Request(method=method, uri=uri, querystring=querystring,
                      headers=_request_headers(trigger, settings, headers, body), body=body or b"",
                      client_ip=_CLIENT_IP, origin=_ORIGIN)
    response = None
    if not trigger.is_request:
        # No statusDescription of our own: the event gives the status's phrase (404 -> "Not Found").
        response = Response(200 if status is None else status, _response_headers(response_headers))
    call = TriggerCall(event_type=trigger, request=request,
                       request_id=base64.urlsafe_b64encode(os.urandom(40)).decode(),  # shaped as CloudFront's ids
                       distribution=settings,
                       behavior=DefaultCacheBehavior(target_origin=_ORIGIN.id),  # type: ignore[arg-type]
                       origins={_ORIGIN.id: _ORIGIN}, response=response)
    return {"Records": [{"cf": dict(build_cf(call, include_body=body is not None))}]}
