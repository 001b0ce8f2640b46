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
from edgesim.lambda_edge.event import build_cf
from edgesim.messages import EventType, Headers, Request, Response
from edgesim.origin_config import CustomOrigin
from edgesim.runtime import TriggerCall

_CLIENT_IP = "203.0.113.178"
_ORIGIN = CustomOrigin(id="origin", url="https://example.org")


def _request_headers(trigger: EventType, settings: DistributionSettings, extra: Sequence[tuple[str, str]]) -> Headers:
    if trigger.is_viewer:
        # What the viewer sent (spec §2.2 viewer-request example).
        headers = Headers([("Host", settings.domain_name), ("User-Agent", "curl/8.4.0"), ("Accept", "*/*")])
    else:
        # What CloudFront sends to the origin (spec §2.2 origin-request example).
        headers = Headers([("X-Forwarded-For", _CLIENT_IP), ("User-Agent", "Amazon CloudFront"),
                           ("Via", "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)"),
                           ("Host", _ORIGIN.domain_name)])
    for name, value in extra:
        headers.set(name, value)
    return headers


def generate_event(trigger: EventType, *, uri: str = "/", method: str = "GET",
                   headers: Sequence[tuple[str, str]] = (), querystring: str = "",
                   body: bytes | None = None) -> dict[str, Any]:
    """`{"Records": [{"cf": ...}]}` for `trigger`; a body is included (IncludeBody) when given."""
    settings = DistributionSettings()
    request = Request(method=method.upper(), uri=uri, querystring=querystring,
                      headers=_request_headers(trigger, settings, headers), body=body or b"",
                      client_ip=_CLIENT_IP, origin=_ORIGIN)
    response = None
    if not trigger.is_request:
        response = Response(200, Headers([("Content-Type", "text/html"), ("Content-Length", "1024"),
                                          ("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT"),
                                          ("Server", "ExampleServer")]), status_description="OK")
    call = TriggerCall(event_type=trigger, request=request,
                       request_id=base64.urlsafe_b64encode(os.urandom(40)).decode(),  # shaped as CloudFront's ids
                       distribution=settings,
                       behavior=DefaultCacheBehavior(target_origin=_ORIGIN.id),  # type: ignore[arg-type]
                       origins={_ORIGIN.id: _ORIGIN}, response=response)
    return {"Records": [{"cf": dict(build_cf(call, include_body=body is not None))}]}
