"""Request/Response -> the CloudFront Functions event (value/multiValue maps, cookies) (spec §1.2).

The reverse direction, a handler's result back onto a Request or Response, is output.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from typing import Any, TypedDict

from edgesim.encoding import shown
from edgesim.messages import EventType, Headers, Request, Response

# Spec §1.4: never shown to a function and never accepted from one.
DISALLOWED_HEADERS = frozenset({
    "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "trailer", "upgrade", "x-accel-buffering", "x-accel-charset", "x-accel-limit-rate", "x-accel-redirect",
    "x-amzn-auth", "x-amzn-cf-billing", "x-amzn-cf-id", "x-amzn-cf-xff", "x-amzn-errortype",
    "x-amzn-fle-profile", "x-amzn-header-count", "x-amzn-header-order", "x-amzn-lambda-integration-tag",
    "x-amzn-requestid", "x-cache", "x-forwarded-proto", "x-real-ip",
})
DISALLOWED_PREFIXES = ("x-amz-cf-", "x-edge-")
# Each starts with "x-": a name that does not is not looked at further (most names, every request).
assert all(prefix.startswith("x-") for prefix in DISALLOWED_PREFIXES)

# Spec §1.4: visible, but a function may not add, change or delete them.
READ_ONLY_HEADERS = {
    EventType.VIEWER_REQUEST: frozenset({"cdn-loop", "content-length", "host", "transfer-encoding", "via"}),
    EventType.VIEWER_RESPONSE: frozenset({"warning", "via"}),
}

Entry = dict[str, Any]  # {"value": str, "multiValue"?: [{"value": str, ...}], "attributes"?: str}
EntryMap = dict[str, Entry]


class Context(TypedDict):
    distributionDomainName: str
    distributionId: str
    eventType: str
    requestId: str


def is_disallowed(name: str) -> bool:
    lower = name.lower()
    return lower in DISALLOWED_HEADERS or lower.startswith(DISALLOWED_PREFIXES)


def _entry_map(pairs: list[tuple[str, str]], attributes: list[str] | None = None) -> EntryMap:
    """Repeated names collapse into one entry with multiValue; the first value is in both (spec §1.2)."""
    out: EntryMap = {}
    for i, (name, value) in enumerate(pairs):
        entry = out.get(name)
        if entry is None:  # the common case: a name seen once
            out[name] = {"value": value} if attributes is None else {"value": value, "attributes": attributes[i]}
            continue
        item: Entry = {"value": value} if attributes is None else {"value": value, "attributes": attributes[i]}
        if "multiValue" not in entry:
            entry["multiValue"] = [{k: v for k, v in entry.items() if k != "multiValue"}]
        entry["multiValue"].append(item)
    return out


def parse_querystring(raw: str) -> EntryMap:
    """`a=1&b&a=2` -> {"a": {value, multiValue}, "b": {"value": ""}}. Values stay as sent.

    Reading taken (spec §1.2 is silent): values are passed without percent-decoding, so an
    unchanged query string goes back to the origin byte for byte.
    """
    pairs: list[tuple[str, str]] = []
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((name, value))
    return _entry_map(pairs)


def headers_json(headers: Headers, *, skip: str) -> EntryMap:
    """Lowercase names; Cookie / Set-Cookie (`skip`) and disallowed headers left out (spec §1.2, §1.4).
    Values as functions see them (encoding.shown; ASCII, nearly all, as it is)."""
    out: EntryMap = {}
    for lower, (_, value) in zip(headers.lower_names(), headers):
        if lower == skip or lower in DISALLOWED_HEADERS or (lower[:2] == "x-" and lower.startswith(DISALLOWED_PREFIXES)):
            continue
        if lower in out:  # a repeated name: multiValue entries
            return _entry_map(_shown_pairs(headers, skip))
        out[lower] = {"value": value if value.isascii() else shown(value)}
    return out  # each name once, the common case


def _shown_pairs(headers: Headers, skip: str) -> list[tuple[str, str]]:
    """headers_json's (name, value) pairs, for a map with repeated names."""
    return [(lower, value if value.isascii() else shown(value))
            for lower, (_, value) in zip(headers.lower_names(), headers)
            if lower != skip and not is_disallowed(lower)]


def request_cookies(headers: Headers) -> EntryMap:
    return _cookie_map(headers.get_all("cookie"))


def _cookie_map(lines: list[str]) -> EntryMap:
    pairs: list[tuple[str, str]] = []
    for line in lines:
        if not line.isascii():
            line = shown(line)  # spec §1.4, as for any header value
        for part in line.split(";"):
            part = part.strip()
            if part:
                name, _, value = part.partition("=")
                pairs.append((name.strip(), value.strip()))
    return _entry_map(pairs)


def response_cookies(headers: Headers) -> EntryMap:
    """Each Set-Cookie line -> {value, attributes}; one name set twice gets multiValue (spec §1.2)."""
    if "set-cookie" not in headers.lower_names():  # most responses set none
        return {}
    pairs: list[tuple[str, str]] = []
    attributes: list[str] = []
    for line in headers.get_all("set-cookie"):
        if not line.isascii():
            line = shown(line)  # spec §1.4, as for any header value
        first, _, attrs = line.partition(";")
        name, _, value = first.partition("=")
        pairs.append((name.strip(), value.strip()))
        attributes.append(attrs.strip())
    return _entry_map(pairs, attributes)


@dataclass(slots=True)
class RequestView:
    """The request part of an event (`json`) for a request output.py wrote from a function's
    result, and what that request was then: request_json gives `json` while the request's method,
    URI, query string and header lines still are these (a viewer-response event's request is
    viewer-request's result, most often untouched since: its headers are not read again)."""

    method: str
    uri: str
    querystring: str
    lines: list[tuple[str, str]]  # a copy (Headers.items): the request's own may be changed after
    json: dict[str, Any]

    def describes(self, request: Request) -> bool:
        return (self.lines == request.headers.items() and self.uri == request.uri
                and self.querystring == request.querystring and self.method == request.method)


def request_json(request: Request) -> dict[str, Any]:
    view = request.function_view
    if isinstance(view, RequestView) and view.describes(request):
        return view.json
    # One pass over the headers: this runs on every request.
    headers: EntryMap = {}
    cookie_lines: list[str] = []
    for lower, (_, value) in zip(request.headers.lower_names(), request.headers):
        if lower == "cookie":
            cookie_lines.append(value)
        elif lower in DISALLOWED_HEADERS or (lower[:2] == "x-" and lower.startswith(DISALLOWED_PREFIXES)):
            continue
        elif lower in headers:  # a repeated name: multiValue entries
            headers = _entry_map(_shown_pairs(request.headers, "cookie"))
            cookie_lines = request.headers.get_all("cookie")  # the loop stops here: all of them
            break
        else:
            # Values, the URI and the query string as functions see them (spec §1.4, encoding.py).
            headers[lower] = {"value": value if value.isascii() else shown(value)}
    uri, query = request.uri, request.querystring
    return {
        "method": request.method,
        "uri": uri if uri.isascii() else shown(uri),
        "querystring": parse_querystring(query if query.isascii() else shown(query)) if query else {},
        "headers": headers,
        "cookies": _cookie_map(cookie_lines) if cookie_lines else {},
    }


@lru_cache(maxsize=1024)
def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def response_json(response: Response) -> dict[str, Any]:
    return {
        "statusCode": response.status,
        "statusDescription": response.status_description or _phrase(response.status),
        "headers": headers_json(response.headers, skip="set-cookie"),
        "cookies": response_cookies(response.headers),
    }


def build_event(
    event_type: EventType, request: Request, *, response: Response | None, context: Context,
) -> dict[str, Any]:
    """The whole event (spec §1.2): viewer-response events carry the viewer request too. It keeps
    `context` itself (not a copy): pass a dict of its own."""
    event: dict[str, Any] = {
        "version": "1.0",
        "context": context,
        "viewer": {"ip": request.client_ip},
        "request": request_json(request),
    }
    if event_type is EventType.VIEWER_RESPONSE:
        assert response is not None, "a viewer-response call needs the response"
        event["response"] = response_json(response)
    return event
