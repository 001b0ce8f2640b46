"""Request/Response <-> the Lambda@Edge event `Records[0].cf`, and a handler's output applied back.

Headers are `{lowercase: [{key, value}]}`, one entry per header line; bodies travel base64 with
include_body; the `origin` object describes the configured origin (spec §2.2–§2.5). Outputs are
validated (validation.py) before anything here reads them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypedDict

from edgesim.encoding import restore, shown
from edgesim.lambda_edge.validation import DISALLOWED_SEEN, decode_base64, is_disallowed
from edgesim.messages import EventType, Headers, Request, Response, capitalize_header, include_body_limit
from edgesim.origin_config import CustomOrigin, Origin, OriginGroup, S3Origin
from edgesim.runtime import TriggerCall

HeaderMap = dict[str, list[dict[str, str]]]
# Module globals: reading an enum member (EventType.X) costs ~0.2-0.5 us on Python 3.11.
_ORIGIN_REQUEST = EventType.ORIGIN_REQUEST
_ORIGIN_RESPONSE = EventType.ORIGIN_RESPONSE
# Spec §2.4: the body is exposed for methods that carry one.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CfConfig(TypedDict):
    distributionDomainName: str
    distributionId: str
    eventType: str
    requestId: str


class Cf(TypedDict, total=False):
    config: CfConfig
    request: dict[str, Any]
    response: dict[str, Any]


# Header name -> its event name (lowercase), or None for a disallowed one (spec §1.4). The same
# few dozen names come on every request; bounded, since a client can send any number of names.
_EVENT_NAMES: dict[str, str | None] = {}
_EVENT_NAMES_MAX = 4096


def _event_name(key: str) -> str | None:
    name = None if is_disallowed(key) else key.lower()
    if len(_EVENT_NAMES) < _EVENT_NAMES_MAX:
        _EVENT_NAMES[key] = name
    return name


def headers_to_event(headers: Headers) -> HeaderMap:
    """One `{key, value}` per header line; disallowed headers are never shown (spec §1.4), values
    as functions see them (encoding.shown; ASCII, nearly all, as it is)."""
    out: HeaderMap = {}
    names = _EVENT_NAMES
    for key, value in headers._items:  # its list itself: iter(headers) is a Python call more
        name = names[key] if key in names else _event_name(key)
        if name is None:
            continue
        if not value.isascii():
            value = shown(value)
        if name in out:
            out[name].append({"key": key, "value": value})
        else:
            out[name] = [{"key": key, "value": value}]
    return out


def headers_from_event(headers: HeaderMap, hidden: Headers | None = None) -> Headers:
    """A missing `key` becomes Title-Case (spec §2.2); `hidden` are the lines never shown, kept.

    Only for validated headers, where every `key` lowercases to its name: the name is then the
    line's lowercase form, so the Headers are built without lowercasing each line again.

    A value the function left as it saw it goes on as received (`hidden` holds what was received),
    a changed one as UTF-8 (spec §1.4, encoding.py); ASCII, nearly every value, is the same either way."""
    lines: list[tuple[str, str]] = []
    lower: list[str] = []
    for name, entries in headers.items():
        for e in entries:
            key = e.get("key")
            value = e["value"]
            if not value.isascii():
                value = restore(value, hidden.get_all(name) if hidden is not None else ())
            if key:
                lines.append((key, value))
                lower.append(name)
            else:
                key = capitalize_header(name)
                lines.append((key, value))
                lower.append(key.lower())
    if hidden is not None:
        seen = DISALLOWED_SEEN  # is_disallowed's own answers, read without a call per line
        for k, v in hidden:
            disallowed = seen.get(k)
            if disallowed is None:
                disallowed = is_disallowed(k)
            if disallowed:
                lines.append((k, v))
                lower.append(k.lower())
    return Headers._of(lines, lower)


# Origin -> (origin, kind, fields) of its event object, built once per origin: origins are frozen
# and live as long as their config. By identity (a frozen model hashes every field, and its dict
# field cannot be hashed); bounded, since an origin a function switched to is new per request.
_ORIGIN_EVENTS: dict[int, tuple[Origin, str, dict[str, Any]]] = {}
_ORIGIN_EVENTS_MAX = 256


def origin_to_event(origin: Origin) -> dict[str, Any]:
    """The `origin` object for origin triggers (spec §2.3): a fresh copy of the origin's own."""
    cached = _ORIGIN_EVENTS.get(id(origin))
    if cached is None or cached[0] is not origin:
        ((kind, fields),) = _build_origin_event(origin).items()
        if len(_ORIGIN_EVENTS) < _ORIGIN_EVENTS_MAX:
            _ORIGIN_EVENTS[id(origin)] = (origin, kind, fields)
    else:
        _, kind, fields = cached
    # Every container copied: the event is the caller's to keep (traces hold it), strings are shared.
    out = dict(fields)
    headers = fields["customHeaders"]
    if headers:
        out["customHeaders"] = {name: [dict(e) for e in es] for name, es in headers.items()}
    else:
        out["customHeaders"] = {}
    if "sslProtocols" in fields:
        out["sslProtocols"] = list(fields["sslProtocols"])
    return {kind: out}


def _build_origin_event(origin: Origin) -> dict[str, Any]:
    custom_headers = headers_to_event(Headers(origin.custom_headers.items()))
    if isinstance(origin, CustomOrigin):
        return {"custom": {
            "customHeaders": custom_headers, "domainName": origin.domain_name,
            "keepaliveTimeout": int(origin.keepalive_timeout), "path": origin.path, "port": origin.port,
            "protocol": origin.protocol, "readTimeout": int(origin.read_timeout),
            "sslProtocols": list(origin.ssl_protocols)}}
    # A local directory has no origin access identity: authMethod "none", and then no `region`: the
    # docs require it only with origin-access-identity (AD/lambda-event-structure), and events
    # captured from CloudFront for an S3 origin without one have none (OBS: an origin-request
    # fixture of tomas-nobile/imageResizerServerless; DefinitelyTyped/DefinitelyTyped#68849 made
    # `region` absent for "none" in @types/aws-lambda after users met it). Spec §2.3.
    return {"s3": {"authMethod": "none", "customHeaders": custom_headers, "domainName": origin.domain_name,
                   "path": origin.path}}


def resolve_origin(origin: Origin | OriginGroup | None, origins: Mapping[str, Origin | OriginGroup]) -> Origin | None:
    """An origin group shows its primary to origin-request (spec §3.1 failover)."""
    if isinstance(origin, OriginGroup):
        primary = origins.get(origin.primary)
        return primary if isinstance(primary, (CustomOrigin, S3Origin)) else None
    return origin


def origin_from_event(obj: dict[str, Any], origins: Mapping[str, Origin | OriginGroup]) -> Origin:
    """The configured origin with that domain (updated with the edits), else a new one (spec §2.3)."""
    kind, o = next(iter(obj.items()))
    custom_headers = {e.get("key") or capitalize_header(n): e["value"]
                      for n, es in o.get("customHeaders", {}).items() for e in es}
    domain = o["domainName"]
    match = next((c for c in origins.values()
                  if isinstance(c, S3Origin if kind == "s3" else CustomOrigin) and c.domain_name == domain), None)
    if kind == "s3":
        if match is not None:
            assert isinstance(match, S3Origin)
            update = {"path": o.get("path", ""), "custom_headers": custom_headers,
                      "region": o.get("region", match.region)}
            same = all(getattr(match, k) == v for k, v in update.items())
            return match if same else match.model_copy(update=update)
        # edgesim serves S3 origins from configured folders only; an unknown bucket maps to an empty one.
        return S3Origin(id=f"lambda-{domain}", directory=Path("/nonexistent") / domain, domain_name=domain,
                        path=o.get("path", ""), custom_headers=custom_headers, region=o.get("region", "us-east-1"))
    url = f"{o['protocol']}://{domain}:{o['port']}{o.get('path', '')}"
    fields = {"custom_headers": custom_headers, "read_timeout": float(o.get("readTimeout", 30)),
              "keepalive_timeout": float(o.get("keepaliveTimeout", 5)),
              "ssl_protocols": tuple(o.get("sslProtocols", ("TLSv1.2",)))}
    if match is not None:
        assert isinstance(match, CustomOrigin)
        if origin_to_event(match) == obj:
            return match
        return match.model_copy(update={"url": url, **fields})
    return CustomOrigin(id=f"lambda-{domain}", url=url, **fields)  # type: ignore[arg-type]


def body_to_event(body: bytes, event_type: EventType) -> dict[str, Any]:
    """Base64, truncated at 40 KB (viewer) / 1 MB (origin) with inputTruncated (spec §2.4)."""
    limit = include_body_limit(event_type)
    return {"inputTruncated": len(body) > limit, "action": "read-only", "encoding": "base64",
            "data": base64.b64encode(body[:limit]).decode()}


def request_to_event(request: Request, event_type: EventType, *, include_body: bool,
                     origins: Mapping[str, Origin | OriginGroup]) -> dict[str, Any]:
    uri, query = request.uri, request.querystring  # as functions see them (spec §1.4)
    out: dict[str, Any] = {"clientIp": request.client_ip, "headers": headers_to_event(request.headers),
                           "method": request.method, "querystring": query if query.isascii() else shown(query),
                           "uri": uri if uri.isascii() else shown(uri)}
    if include_body and event_type.is_request and request.method.upper() in BODY_METHODS:
        out["body"] = body_to_event(request.body, event_type)
    if not event_type.is_viewer:
        origin = request.origin
        if isinstance(origin, OriginGroup):  # resolve_origin's one change, without its call otherwise
            origin = resolve_origin(origin, origins)
        if origin is not None:
            out["origin"] = origin_to_event(origin)
            if origin.custom_headers:
                # The origin's custom headers are the origin object's (spec §2.3): they go to the origin
                # as `customHeaders` say after the function, and "a header with the same name can't be
                # present in request.headers" (AD/lambda-event-structure). UNCERTAIN for origin-response,
                # whose request is "the request CloudFront forwarded": shown the same way here.
                headers = out["headers"]
                for name in origin.custom_headers:
                    headers.pop(name.lower(), None)
    return out


def response_to_event(response: Response, event_type: EventType = EventType.VIEWER_RESPONSE) -> dict[str, Any]:
    """Status as a string, no body: response triggers never see it (spec §2.2).

    Origin-response also sees the origin's Transfer-Encoding, read-only there (spec §2.6): CloudFront
    shows it, and refuses a result without it ("the function tried to delete read-only header,
    headerName : Transfer-Encoding", CodeGenieApp/serverless-express#369). UNCERTAIN whether
    viewer-response sees it too; it does not here (edgesim frames the viewer's response itself)."""
    headers = headers_to_event(response.headers)
    te = response.origin_transfer_encoding
    if te is not None and event_type is _ORIGIN_RESPONSE:
        headers["transfer-encoding"] = [{"key": te[0], "value": te[1]}]
    status = response.status
    return {"status": str(status),
            "statusDescription": response.status_description or _PHRASES.get(status) or _phrase(status),
            "headers": headers}


_PHRASES: dict[int, str] = {}  # an HTTPStatus lookup per response was a measurable cost


def _phrase(status: int) -> str:
    phrase = _PHRASES.get(status)
    if phrase is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        if 100 <= status <= 999:
            _PHRASES[status] = phrase
    return phrase


def build_cf(call: TriggerCall, *, include_body: bool) -> Cf:
    event_type = call.event_type
    distribution = call.distribution
    cf: Cf = {
        # `_value_`, not `.value`: the enum property costs ~1 us a read on Python 3.11.
        "config": {"distributionDomainName": distribution.domain_name, "distributionId": distribution.id,
                   "eventType": event_type._value_, "requestId": call.request_id},
        "request": request_to_event(call.request, event_type, include_body=include_body, origins=call.origins),
    }
    if not event_type.is_request:
        assert call.response is not None, f"{call.event_type} needs the response"
        cf["response"] = response_to_event(call.response, event_type)
    return cf


def apply_request(call: TriggerCall, cf: Cf, out: dict[str, Any]) -> Request:
    """The request to continue with: edits applied, `read-only` body edits ignored (spec §2.4)."""
    request = call.request.copy()
    request.headers = headers_from_event(out["headers"], hidden=call.request.headers)
    # Unchanged: as received; changed: UTF-8, raw, not percent-encoded (spec §1.4, our reading, as
    # for a CloudFront Function's URI: cloudfront_functions/output.py).
    uri, query = out["uri"], out.get("querystring", "")
    request.uri = uri if uri.isascii() else restore(uri, (call.request.uri,))
    request.querystring = query if query.isascii() else restore(query, (call.request.querystring,))
    body = out.get("body")
    if isinstance(body, dict) and body.get("action") == "replace":
        data = body.get("data", "")
        request.body = data.encode() if body.get("encoding") == "text" else decode_base64(data, "request body")
        request.body_stream = None  # the viewer's own body, if still arriving, goes nowhere (app.py drops it)
        _fix_length(request.headers, request.body)
    if call.event_type is _ORIGIN_REQUEST:
        if "origin" in out and out["origin"] != cf["request"].get("origin"):
            request.origin = origin_from_event(out["origin"], call.origins)
        # The (edited, or switched-to) origin's custom headers, as it will send them (spec §2.3): not
        # in the event's headers, so not in those just applied.
        origin = resolve_origin(request.origin, call.origins)
        if origin is not None:
            for name, value in origin.custom_headers.items():
                request.headers.set(name, value)
    return request


def _body(out: dict[str, Any]) -> bytes:
    body = out.get("body") or ""
    return decode_base64(body, "response body") if out.get("bodyEncoding") == "base64" else body.encode()


def generated_response(out: dict[str, Any]) -> Response:
    """A response a request trigger generated; status may be string or number (spec §2.5)."""
    return Response(status=int(out["status"]), headers=headers_from_event(out.get("headers", {})),
                    body=_body(out), status_description=out.get("statusDescription"))


def apply_response(response: Response, out: dict[str, Any]) -> Response:
    """Edits from origin-response / viewer-response; `body` replaces the body only when given."""
    # Built as response.copy() would, with the new status and headers in place: no copy of the
    # headers about to be replaced.
    edited = Response(int(out["status"]), headers_from_event(out.get("headers", {}), hidden=response.headers),
                      response.body, out.get("statusDescription", response.status_description), response.stream,
                      response.origin_transfer_encoding)
    if response.origin_transfer_encoding is not None:
        edited.headers.remove("transfer-encoding")  # shown, unchanged (read-only), but framing is edgesim's
    if "body" in out:
        edited.body, edited.stream = _body(out), None  # the origin's body, if still arriving, is dropped
        _fix_length(edited.headers, edited.body)
    return edited


def _fix_length(headers: Headers, body: bytes) -> None:
    """A replaced body travels with its own length. Content-Length is read-only to functions
    (spec §1.4, §2.6), so CloudFront must set it itself (inferred: no source says how)."""
    if "content-length" in headers:
        headers.set("Content-Length", str(len(body)))
