"""CloudFront's checks on what a Lambda@Edge handler returns; failures are 502 LambdaValidationError.

Pure functions over the event's own JSON (the `cf.request` / `cf.response` sent and what came
back), so `edgesim invoke --validate` and the pipeline apply the same rules (spec §1.4, §2.3–§2.6,
§2.8). Messages follow CloudFront's wording: "The Lambda function returned an invalid ...".
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any

from edgesim.errors import LambdaValidationError
from edgesim.messages import EventType, uri_problem
from edgesim.origin_config import custom_header_refused  # spec §2.3's deny-list, shared with the config

KB = 1024
MB = 1024 * 1024

# Spec §1.4: never shown to a function and may not be added by one.
DISALLOWED = frozenset({
    "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "proxy-connection", "trailer", "upgrade", "x-accel-buffering", "x-accel-charset",
    "x-accel-limit-rate", "x-accel-redirect", "x-amzn-auth", "x-amzn-cf-billing", "x-amzn-cf-id",
    "x-amzn-cf-xff", "x-amzn-errortype", "x-amzn-fle-profile", "x-amzn-header-count",
    "x-amzn-header-order", "x-amzn-lambda-integration-tag", "x-amzn-requestid", "x-cache",
    "x-forwarded-proto", "x-real-ip",
})
_DISALLOWED_PREFIXES = ("x-amz-cf-", "x-edge-")

# Spec §1.4 and §2.6: visible, but may not be added, changed or removed, per trigger.
READ_ONLY: dict[EventType, frozenset[str]] = {
    EventType.VIEWER_REQUEST: frozenset({"cdn-loop", "content-length", "host", "transfer-encoding", "via"}),
    EventType.ORIGIN_REQUEST: frozenset({
        "accept-encoding", "cdn-loop", "content-length", "if-modified-since", "if-none-match", "if-range",
        "if-unmodified-since", "transfer-encoding", "via"}),
    EventType.ORIGIN_RESPONSE: frozenset({"transfer-encoding", "via"}),
    EventType.VIEWER_RESPONSE: frozenset({
        "content-length", "content-encoding", "transfer-encoding", "warning", "via"}),
}

# Module globals: reading an enum member (EventType.X) costs ~0.2-0.5 us on Python 3.11.
_VIEWER_REQUEST = EventType.VIEWER_REQUEST
_ORIGIN_REQUEST = EventType.ORIGIN_REQUEST
_VIEWER_RESPONSE = EventType.VIEWER_RESPONSE

# Spec §2.6: headers CloudFront adds after viewer-request; a viewer-request handler may not add them.
CLOUDFRONT_ADDED = ("cloudfront-viewer-", "cloudfront-is-", "cloudfront-forwarded-proto")

_SSL_PROTOCOLS = frozenset({"TLSv1.2", "TLSv1.1", "TLSv1", "SSLv3"})
_BAD_QUERYSTRING = re.compile(r"[\s#\x00-\x1f\x7f]")
# An HTTP header name is a token (RFC 9110 §5.6.2); names here are already lowercase.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
# Names seen to be tokens: the same few dozen come on every request, so one set lookup instead of a
# regex. Bounded, since a handler can return arbitrarily many distinct names.
_TOKENS_SEEN: set[str] = set()


# Header names seen so far -> disallowed or not: a server meets the same few dozen names on every
# request, so this is one dict lookup instead of lower() and a prefix test. Bounded, since a
# client can send arbitrarily many distinct names.
DISALLOWED_SEEN: dict[str, bool] = {}
_SEEN_MAX = 4096


def is_disallowed(name: str) -> bool:
    try:
        return DISALLOWED_SEEN[name]
    except KeyError:
        pass
    lower = name.lower()
    answer = lower in DISALLOWED or lower.startswith(_DISALLOWED_PREFIXES)
    if len(DISALLOWED_SEEN) < _SEEN_MAX:
        DISALLOWED_SEEN[name] = answer
    return answer


def generated_limit(event_type: EventType) -> int:
    """Largest generated response, headers plus body: 40 KB viewer, 1 MB origin (spec §2.5, §2.7)."""
    return 40 * KB if event_type.is_viewer else 1 * MB


def _fail(what: str) -> LambdaValidationError:
    return LambdaValidationError(f"The Lambda function returned an invalid {what}")


# CloudFront's own words for a header rule broken, on the viewer's 502 page and in the
# /aws/cloudfront/LambdaEdge log (spec §2.8; OBS: opennextjs/opennextjs-aws#392 and #427,
# CodeGenieApp/serverless-express#369, Kludex/mangum#262). The page names no header; the log line
# does ("..., the function tried to delete read-only header, headerName : Transfer-Encoding.").
_READ_ONLY_PAGE = ("The Lambda function result failed validation: The function tried to add, delete, or change a "
                   "read-only header.")
_BLACKLISTED_PAGE = "The Lambda function result failed validation: The function tried to add a blacklisted header."


# CloudFront's page for a body it refuses: a response's that is not a string, a request's that is
# not an object, either over its size limit (spec §2.4, §2.5, §2.8). Quoted by sikei/cloudfront-edge's
# ResponseFactoryTest (a PHP adapter that makes every body a string because of it, citing AWS's
# http-502-bad-gateway page) and by a handler that returned `body: {message: ...}` through
# CloudFront. That the size rules say the same as the type rules is the sentence's own reading.
_BODY_PAGE = ("The Lambda function result failed validation: The body is not a string, is not an object, or "
              "exceeds the maximum size.")


def _body_failure(what: str) -> LambdaValidationError:
    err = _fail(what)
    err.page_reason = _BODY_PAGE
    return err


def _header_failure(log: str, page: str) -> LambdaValidationError:
    err = LambdaValidationError(f"Lambda function result failed validation, {log}")
    err.page_reason = page
    return err


def _key(name: str, *headers: dict[str, Any]) -> str:
    """The header as CloudFront's log names it: the entry's own `key`, else Title-Case."""
    for h in headers:
        entries = h.get(name)
        if entries and isinstance(entries[0], dict) and isinstance(entries[0].get("key"), str):
            return str(entries[0]["key"])
    return "-".join(part.capitalize() for part in name.split("-"))


def read_only_failure(event_type: EventType, name: str, before: dict[str, Any],
                      after: dict[str, Any]) -> LambdaValidationError:
    verb = "add" if name not in before else "delete" if name not in after else "change"
    return _header_failure(f"the function tried to {verb} read-only header, headerName : "
                           f"{_key(name, after, before)} (read-only for {event_type}).", _READ_ONLY_PAGE)


def blacklisted_failure(event_type: EventType, name: str, headers: dict[str, Any]) -> LambdaValidationError:
    # UNCERTAIN: the log line's wording is inferred from the read-only one; the page's is CloudFront's.
    return _header_failure(f"the function tried to add a blacklisted header, headerName : {_key(name, headers)} "
                           f"(disallowed for {event_type}).", _BLACKLISTED_PAGE)


def _got(value: Any) -> str:
    """What a handler returned instead, short: its type and a cut repr, or a dict's keys (the whole
    event, say, whose only key is 'Records')."""
    if isinstance(value, dict):
        keys = sorted(map(str, value))
        shown = repr(keys[:8])[:-1] + (", ...]" if len(keys) > 8 else "]")
        return f"got an object with keys {shown}" if keys else "got an empty object"
    if value is None:
        # Either language: a Python handler without `return`, an async Node handler that ended
        # without one (or called back with no value).
        return "got null: the handler returned nothing"
    # The result arrives as JSON from either language: named in words that fit both.
    kind = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "an array"}.get(
        type(value), type(value).__name__)
    text = repr(value)
    return f"got {kind}: {text if len(text) <= 60 else text[:57] + '...'}"


# CloudFront's page for a result that is JSON but not an object: aws-samples/react-ssr-lambda#28,
# whose edge handler's catch returns the string `Error ${error}`, got a 502 with this sentence
# (spec §2.8, "unparsable JSON"). That null, a number or an array get the same is our reading: none is
# an object either (UNCERTAIN: no source shows those).
NOT_AN_OBJECT_PAGE = "The Lambda function returned invalid JSON: The JSON output must be an object type."


def not_an_object(value: Any, wanted: str) -> LambdaValidationError:
    """A result that is not a JSON object: CloudFront's sentence on the page, and in the log what
    came back and what the trigger wants (`wanted`)."""
    err = LambdaValidationError(f"{NOT_AN_OBJECT_PAGE[:-1]}; {_got(value)}; {wanted}.")
    err.page_reason = NOT_AN_OBJECT_PAGE
    return err


def _shape_hint(out: dict[str, Any], otherwise: str) -> str:
    """What a returned object without the fields CloudFront reads most likely is, and what to return.

    `statusCode` is the response of API Gateway, a function URL and CloudFront Functions, and finds its
    way into Lambda@Edge handlers (a public copy of AWS SAM's cloudfront-http-redirect example returns
    `{statusCode: 302, headers: {Location: ...}, isBase64Encoded: false}`): naming it saves a search,
    where CloudFront only says the result is invalid (spec §2.5, §2.8)."""
    if "statusCode" in out:
        return ("'statusCode' is API Gateway's and CloudFront Functions' field: a Lambda@Edge response has "
                "'status', a string such as '302', and headers as {'location': [{'key': 'Location', 'value': ...}]}")
    if "Records" in out:
        return "return event.Records[0].cf.request or .response, not the whole event"
    return otherwise


def unreadable(why: str) -> LambdaValidationError:
    """A result CloudFront cannot parse: a 502 (spec §2.8, "unparsable JSON"), in its own words."""
    return LambdaValidationError(f"The Lambda function returned invalid JSON: {why}.")


def check_headers(headers: Any, where: str = "headers", sent: dict[str, Any] | None = None) -> None:
    """`{lowercase: [{key, value}, ...]}`, every key matching its name (spec §2.2).

    Entries equal to what was `sent` are CloudFront's own and skip the per-entry checks."""
    if not isinstance(headers, dict):
        raise _fail(f"entry in the {where} object: The {where} object must be an object.")
    _check_entries(headers.items() if sent is None else _changed(headers, sent), where)


# Never equal to a header's entries: a name the function added as null differs from one not sent.
_NOT_SENT = object()


def _changed(headers: dict[str, Any], sent: dict[str, Any]) -> list[tuple[str, Any]]:
    """The (name, entries) that differ from what was sent, in the headers' order."""
    return [(name, entries) for name, entries in headers.items() if entries != sent.get(name, _NOT_SENT)]


def _check_entries(items: Iterable[tuple[str, Any]], where: str) -> None:
    for name, entries in items:
        if not isinstance(entries, list):
            raise _fail(f"entry in the {where} object: Each header entry in the {where} object must be an array "
                        f"(header {name!r}).")
        if name != name.lower():
            raise _fail(f"entry in the {where} object: header name {name!r} must be lowercase.")
        if name not in _TOKENS_SEEN:
            if not _TOKEN.fullmatch(name):
                raise _fail(f"entry in the {where} object: {name!r} is not a valid HTTP header name.")
            if len(_TOKENS_SEEN) < _SEEN_MAX:
                _TOKENS_SEEN.add(name)
        for entry in entries:
            # CloudFront's own text for a non-string value says "the value of each header value must be of
            # string or array of string type" (seen in aws-samples/cloudfront-authorization-at-edge#12), so
            # it may take an array; no source shows how it would send one (one line each? joined with
            # ", "?), so an array stays refused here rather than guessed at.
            if not isinstance(entry, dict) or not isinstance(value := entry.get("value"), str):
                raise _fail(f"entry in the {where} object: Each header in {name!r} must be an object with a "
                            "string 'value'.")
            # Spec §2.8 (OBS): CloudFront refuses a CR in a header value ("invalid character : '%0D' in
            # header value"); CR, LF and NUL can never travel in a header line (RFC 9110 §5.5).
            if "\r" in value or "\n" in value or "\0" in value:
                raise _fail(f"entry in the {where} object: the value of {name!r} has an invalid character "
                            "(CR, LF or NUL).")
            key = entry.get("key", name)
            if not isinstance(key, str) or key.lower() != name:
                raise _fail(f"entry in the {where} object: The header key {key!r} does not match the header "
                            f"name {name!r}.")


def _check_sent_headers(event_type: EventType, sent: dict[str, Any] | None, headers: Any) -> None:
    """check_headers then check_header_rules on returned headers, with the entries that changed
    found once for both: the same checks in the same order, one pass over the headers fewer."""
    if not isinstance(headers, dict) or sent is None:
        check_headers(headers, sent=sent)
        check_header_rules(event_type, sent or {}, headers)
        return
    # _changed(headers, sent), written out; no entries changed, none to check.
    changed = [(name, entries) for name, entries in headers.items() if entries != sent.get(name, _NOT_SENT)]
    if changed:
        _check_entries(changed, "headers")
    check_header_rules(event_type, sent, headers, changed)


def _values(headers: dict[str, Any], name: str) -> list[str]:
    return [e.get("value") for e in headers.get(name, [])]


def check_header_rules(event_type: EventType, before: dict[str, Any], after: dict[str, Any],
                       changed: list[tuple[str, Any]] | None = None) -> None:
    """Disallowed headers may not appear, read-only ones may not change (spec §1.4, §2.6).

    `changed` is `_changed(after, before)` when the caller has it already."""
    seen = DISALLOWED_SEEN  # is_disallowed's own answers, read without a call per name
    for name, entries in _changed(after, before) if changed is None else changed:
        disallowed = seen.get(name)
        if disallowed is None:
            disallowed = is_disallowed(name)
        if disallowed and _values(after, name) != _values(before, name):
            raise blacklisted_failure(event_type, name, after)
        if event_type is _VIEWER_REQUEST and name.startswith(CLOUDFRONT_ADDED) and name not in before:
            raise _fail(f"entry in the headers object: {name!r} is added by CloudFront after viewer-request; "
                        "a viewer-request function cannot add it.")
    for name in READ_ONLY[event_type]:
        if after.get(name) != before.get(name) and _values(after, name) != _values(before, name):
            raise read_only_failure(event_type, name, before, after)


def check_request(event_type: EventType, before: dict[str, Any], after: Any) -> None:
    """A request returned by viewer-request or origin-request (spec §2.2–§2.4, §1.4)."""
    if not isinstance(after, dict):
        raise not_an_object(after, "return event.Records[0].cf.request or a response object")
    if "headers" not in after or "uri" not in after:
        missing = " or ".join(repr(k) for k in ("headers", "uri") if k not in after)
        raise _fail(f"request or response: the returned object has no {missing}, {_got(after)[4:]} "
                    f"({_shape_hint(after, 'return event.Records[0].cf.request, or a response with its status')}).")
    _check_sent_headers(event_type, before.get("headers"), after["headers"])
    if after.get("method", before.get("method")) != before.get("method"):
        raise _fail("request: 'method' is read-only.")
    uri, qs = after["uri"], after.get("querystring", "")
    if not isinstance(uri, str) or not uri.startswith("/"):
        raise _fail(f"request: 'uri' must be a string starting with '/', got {uri!r}.")
    if uri != before.get("uri"):
        problem = uri_problem(uri)
        if problem is not None:
            raise _fail(f"request: the specified URI is in an invalid format: {problem}.")
    if not isinstance(qs, str) or _BAD_QUERYSTRING.search(qs):
        raise _fail("request: 'querystring' must be a string without spaces, control characters or '#'.")
    if len(uri) + len(qs) >= 8192:  # spec §1.4
        raise _fail("request: the URI and query string must be shorter than 8,192 characters.")
    if "body" in after and after["body"] is not None:
        check_body(event_type, after["body"])
    if event_type is _ORIGIN_REQUEST:
        origin = after.get("origin")
        if origin != before.get("origin"):
            check_origin(origin, before.get("origin"))
        if isinstance(origin, dict):
            _check_custom_header_names(origin, after["headers"])


def _check_custom_header_names(origin: dict[str, Any], headers: dict[str, Any]) -> None:
    """Spec §2.3: "a header with the same name can't be present in request.headers or in
    request.origin.custom.customHeaders" (AD/lambda-event-structure)."""
    for o in origin.values():
        custom = o.get("customHeaders") if isinstance(o, dict) else None
        if isinstance(custom, dict):
            for name in custom:
                if name in headers:
                    raise _fail(f"origin: {name!r} is both in request.headers and in the origin's customHeaders; "
                                "a header can be in only one of them.")


def check_body(event_type: EventType, body: Any) -> None:
    """`action: replace` must carry a valid body within the replacement limits (spec §2.4)."""
    if not isinstance(body, dict):
        raise _body_failure(f"request body: 'body' must be an object ({{'action': 'replace', 'encoding': 'text', "
                            f"'data': ...}}), {_got(body)}.")
    action = body.get("action", "read-only")
    if action == "read-only":
        return  # edits are ignored; the original body goes on
    if action != "replace":
        raise _fail(f"request body: 'action' must be 'read-only' or 'replace', got {action!r}.")
    encoding, data = body.get("encoding", "base64"), body.get("data", "")
    if encoding not in ("text", "base64") or not isinstance(data, str):
        raise _fail("request body: 'encoding' must be 'text' or 'base64' and 'data' a string.")
    viewer = event_type.is_viewer
    # Spec §2.4: text 40 KB / 1 MB, base64 53.2 KB / 1.33 MB (viewer / origin).
    limit = (40 * KB if viewer else MB) if encoding == "text" else (int(53.2 * KB) if viewer else int(1.33 * MB))
    if len(data.encode()) > limit:
        raise _body_failure(f"request body: the replacement body is over {limit} bytes for {event_type}.")
    if encoding == "base64":
        decode_base64(data, "request body")


def _json_kind(value: Any) -> str:
    """The JSON kind of a handler's value, as a developer reads it in a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _excerpt(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def decode_base64(data: str, where: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(f"{where}: 'data' is not valid base64.") from None


def check_origin(origin: Any, sent: Any = None) -> None:
    """An edited `origin` object: exactly one of custom or s3, with valid fields (spec §2.3).

    Fields equal to what CloudFront `sent` are its own and pass: the configured origin may hold
    values the event rules do not list (a read timeout raised past 60 s, a local origin by IP
    address), and CloudFront does not refuse the values it wrote itself."""
    if not isinstance(origin, dict):
        # A handler that sets `request['origin'] = 'bucket.s3.amazonaws.com'` (a domain name in
        # place of the object) is refused as any malformed origin is (spec §2.3, §2.8); say what
        # it gave and where a domain name goes instead.
        raise _fail(f"origin: the origin must be an object with exactly one of 'custom' or 's3', not "
                    f"{_json_kind(origin)} ({_excerpt(origin)}); a domain name goes in "
                    f"origin.s3.domainName or origin.custom.domainName.")
    if len(origin) != 1 or next(iter(origin)) not in ("custom", "s3"):
        keys = ", ".join(repr(k) for k in origin) or "none"
        raise _fail(f"origin: the origin object must have exactly one of 'custom' or 's3' (it has {keys}).")
    kind, o = next(iter(origin.items()))
    if not isinstance(o, dict):
        raise _fail(f"origin: 'origin.{kind}' must be an object.")
    was = sent.get(kind) if isinstance(sent, dict) else None
    was = was if isinstance(was, dict) else {}

    def changed(key: str) -> bool:
        return key not in was or o.get(key) != was[key]

    domain = o.get("domainName")
    if changed("domainName"):
        _check_domain(kind, domain)
    path = o.get("path", "")
    if changed("path") and (
            not isinstance(path, str) or (path and (not path.startswith("/") or path.endswith("/"))) or len(path) > 255):
        raise _fail(f"origin: 'path' must be empty or start with '/' and not end with '/', got {path!r}.")
    custom_headers = o.get("customHeaders", {})
    sent_headers = was.get("customHeaders")
    check_headers(custom_headers, "customHeaders", sent=sent_headers if isinstance(sent_headers, dict) else None)
    for name in custom_headers:
        if custom_header_refused(name) and (
                not isinstance(sent_headers, dict) or name not in sent_headers):
            raise _fail(f"origin: {name!r} cannot be an origin custom header.")
    if kind == "s3":
        if changed("domainName") and isinstance(domain, str) and domain != domain.lower():
            raise _fail("origin: an S3 'domainName' must be lowercase.")
        auth = o.get("authMethod", "none")
        if auth not in ("origin-access-identity", "none") or (auth != "none" and not o.get("region")):
            raise _fail("origin: 'authMethod' must be 'none' or 'origin-access-identity' (with 'region').")
        return
    _check_custom_numbers(o, changed)


def _check_domain(kind: str, domain: Any) -> None:
    if not isinstance(domain, str) or not domain or ":" in domain or len(domain) > (253 if kind == "custom" else 128):
        raise _fail(f"origin: 'domainName' must be a host name without ':', got {domain!r}.")
    try:
        ipaddress.ip_address(domain)
        raise _fail(f"origin: 'domainName' must be a DNS name, not an IP address ({domain}); use e.g. localhost.")
    except ValueError:
        pass


def _check_custom_numbers(o: dict[str, Any], changed: Callable[[str], bool]) -> None:
    port, protocol = o.get("port"), o.get("protocol")
    if changed("port") and (not isinstance(port, int) or not (port in (80, 443) or 1024 <= port <= 65535)):
        raise _fail(f"origin: 'port' must be 80, 443 or 1024-65535, got {port!r}.")
    if changed("protocol") and protocol not in ("http", "https"):
        raise _fail(f"origin: 'protocol' must be 'http' or 'https', got {protocol!r}.")
    for key, low, high in (("keepaliveTimeout", 1, 60), ("readTimeout", 4, 60)):
        value = o.get(key, low)
        if changed(key) and (not isinstance(value, (int, float)) or not low <= value <= high):
            raise _fail(f"origin: '{key}' must be {low}-{high}, got {value!r}.")
    protocols = o.get("sslProtocols", ["TLSv1.2"])
    if changed("sslProtocols") and (not isinstance(protocols, list) or not all(isinstance(p, str) for p in protocols)
                                    or not set(protocols) <= _SSL_PROTOCOLS):
        raise _fail(f"origin: 'sslProtocols' must be a list from {sorted(_SSL_PROTOCOLS)}.")


def parse_status(status: Any) -> int:
    """A status as a string of digits or a whole number, 200-599 (spec §2.5).

    AWS documents `status: 'HTTP status code'` (a string) and its samples assign numbers
    (`response.status = 200`); nothing documents anything looser. Python's int() is far looser
    (" 200", "2_00", full-width digits, 200.5 truncated), so the form is checked first and only
    those two are accepted: our reading, as no source shows CloudFront taking either. A JSON
    number with no fraction (200.0, what Python's json writes for a float) is a whole number.
    """
    if isinstance(status, str):
        # ASCII digits only: isdigit() alone also takes "²" and other scripts' digits (isascii() first,
        # two C calls instead of a regex on every response). Bounded: int() refuses strings over
        # 4,300 digits with a ValueError, and a longer status is out of range anyway.
        if not (status.isascii() and status.isdigit() and len(status) <= 10):
            raise _fail(f"response: 'status' must be a string of digits or a whole number from 200 to 599, "
                        f"got {status!r}.")
        code = int(status)
    elif isinstance(status, int) and not isinstance(status, bool):
        code = status
    elif isinstance(status, float) and status.is_integer():
        code = int(status)
    else:
        raise _fail(f"response: 'status' must be a string of digits or a whole number from 200 to 599, "
                    f"got {status!r}.")
    if not 200 <= code <= 599:
        raise _fail(f"response: 'status' must be a number from 200 to 599, got {status!r}.")
    return code


def check_generated(event_type: EventType, out: dict[str, Any]) -> None:
    """A response generated by a request trigger (spec §2.5)."""
    code = parse_status(out["status"])
    headers = out.get("headers", {})
    check_headers(headers)
    for name in headers:
        if is_disallowed(name):
            raise blacklisted_failure(event_type, name, headers)
    # Spec §2.6: the trigger's read-only headers may not be added, and a generated response had none
    # to keep, so one there is added: CloudFront answers 502 "tried to add, delete, or change a
    # read-only header" for a Content-Length in a response generated at origin-request
    # (Kludex/mangum#262, opennextjs/opennextjs-aws#427; aws-samples/amazon-cloudfront-cache-graphql
    # strips the whole origin-request list from the responses it generates). It sets Content-Length
    # itself (pipeline._finish), and `chunked` next to that would make a message RFC 9112 §6.2
    # forbids. That the viewer-request list (Host, Via, ...) applies alike is our reading of the
    # same rule (UNCERTAIN: no source shows a viewer-request generated response with one).
    for name in READ_ONLY[event_type]:
        if name in headers:
            raise read_only_failure(event_type, name, {}, headers)
    _check_response_body(event_type, out, headers, code)


def _check_response_body(event_type: EventType, out: dict[str, Any], headers: dict[str, Any], code: int) -> None:
    body = out.get("body")
    if body is None:
        return
    if not isinstance(body, str):
        raise _body_failure(f"response: 'body' must be a string ('bodyEncoding': 'base64' for binary), {_got(body)}.")
    encoding = out.get("bodyEncoding", "text")
    if encoding not in ("text", "base64"):
        raise _fail(f"response: 'bodyEncoding' must be 'text' or 'base64', got {encoding!r}.")
    if encoding == "base64":
        decode_base64(body, "response body")
    if code == 204 and body:
        raise _fail("response: a 204 response cannot have a body.")
    size = len(body.encode()) + sum(len(n) + len(e.get("value", "")) for n, es in headers.items() for e in es)
    limit = generated_limit(event_type)
    if size > limit:
        raise _body_failure(f"response: the response is {size} bytes, over the {limit} bytes allowed for {event_type}.")


_NO_HEADERS: dict[str, Any] = {}  # a missing `headers`, read only


def check_response(event_type: EventType, before: dict[str, Any], after: Any) -> None:
    """A response returned by origin-response or viewer-response (spec §2.5, §2.6)."""
    if not isinstance(after, dict):
        raise not_an_object(after, "return event.Records[0].cf.response with its 'status'")
    if "status" not in after:
        raise _fail(f"response: the function must return event.Records[0].cf.response with its 'status'; {_got(after)}"
                    f" ({_shape_hint(after, 'the response it was given, changed')}).")
    status = after["status"]
    if status.__class__ is str and status.isascii() and status.isdigit() and len(status) <= 10 and (
            200 <= (code := int(status)) <= 599):
        pass  # parse_status's answer for the usual string status, without its call
    else:
        code = parse_status(status)
    # Spec §2.5: viewer-response cannot change the status. UNCERTAIN whether CloudFront ignores the
    # change or fails; we fail (502) so the developer learns of it rather than wondering.
    if event_type is _VIEWER_RESPONSE and code != int(before["status"]):
        raise _fail("response: a viewer-response function cannot change the status.")
    headers = after.get("headers", _NO_HEADERS)
    _check_sent_headers(event_type, before.get("headers"), headers)
    if after.get("body") is not None:  # _check_response_body returns at once without one
        _check_response_body(event_type, after, headers, code)


def lowercase_header_names(out: Any) -> Any:
    """`out` with its headers object's names in lowercase: `out` itself when they are (nearly
    always), else a copy whose `headers` has each name lowercased, the entries of names that differ
    only in case joined in the object's order.

    The event's names are lowercase (spec §2.2), but CloudFront takes a name a function wrote in
    another case: AWS's event-structure page says the key it inserts is Title-Case "regardless of
    how you've formatted the header name", and handlers that write one on every response have run
    on CloudFront for years (cloud-gov/federalist-proxy-edge's origin-response sets
    `headers['X-Frame-Options']`; a file-sharing origin-request adds
    `x-amz-server-side-encryption-customer-key-MD5`). Two spellings of one name keep both entries,
    as two header lines: from before a header held an array, handlers added a second Set-Cookie
    "by varying the case" (openstax's viewer-response writes `SeT-CoOkIe`, citing an AWS forum
    thread), which works only if CloudFront keeps both; no AWS page states it (UNCERTAIN)."""
    headers = out.get("headers") if out.__class__ is dict else None
    if headers.__class__ is not dict:
        return out
    for name in headers:
        if name.__class__ is str and name != name.lower():
            break
    else:
        return out
    merged: dict[Any, Any] = {}
    for name, entries in headers.items():
        lower = name.lower() if name.__class__ is str else name
        if lower in merged and isinstance(merged[lower], list) and isinstance(entries, list):
            merged[lower] = [*merged[lower], *entries]
        else:
            merged[lower] = entries
    return {**out, "headers": merged}


def check_output(event_type: EventType, cf: dict[str, Any], out: Any) -> bool:
    """Validate any trigger's output against the `cf` sent; True when it is a generated response."""
    if event_type.is_request:
        if isinstance(out, dict) and "status" in out:
            check_generated(event_type, out)
            return True
        check_request(event_type, cf["request"], out)
        return False
    check_response(event_type, cf["response"], out)
    return False
