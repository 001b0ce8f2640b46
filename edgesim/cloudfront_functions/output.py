"""A handler's result -> the output CloudFront keeps, then back onto a Request or Response.

`normalize_*` applies the shape rules TestFunction shows (unknown properties dropped, a string body
becomes {encoding, data}, spec §1.10) and raises InvalidOutput for what CloudFront refuses (§1.3);
`apply_*` writes the result back the way CloudFront does (multiValue precedence, a querystring
given as object or string, Cookie / Set-Cookie lines, capitalised header names; §1.2), with the
header rules of §1.4 checked when `header_rules` is on (TestFunction does not check them, §1.10).
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from edgesim.cloudfront_functions.event import READ_ONLY_HEADERS, Entry, EntryMap, RequestView, is_disallowed
from edgesim.docs_links import cite
from edgesim.encoding import clean, restore
from edgesim.messages import EventType, Headers, Request, Response, capitalize_header, uri_problem

MAX_URI_AND_QUERY = 8192  # spec §1.4: URI + query string under 8,192 characters
_BAD_QUERY = re.compile(r"[\x00-\x20\x7f#]")
_BAD_VALUE = re.compile(r"[\r\n\x00]")  # would split or end the header line
# The pages InvalidOutput messages name: the event object's shape, and the header / query string rules.
_EVENT_DOCS = cite("functions-event-structure")
_RESTRICTIONS_DOCS = cite("edge-function-restrictions-all")


# Both run for every header of every invocation, on a handful of distinct names: memoised.
_disallowed = lru_cache(maxsize=4096)(is_disallowed)


class InvalidOutput(Exception):
    """The function returned something CloudFront refuses (a FunctionValidationError, 502)."""


def is_response(output: Any) -> bool:
    return isinstance(output, dict) and "statusCode" in output


# --- normalisation ---------------------------------------------------------------------------


def _entries(value: Any, where: str, *, cookies_with_attributes: bool = False, lowercase: bool = False,
             controls: bool = True) -> EntryMap:
    """`controls` False: the answer's text held no CR, LF or NUL anywhere, so no value needs searching."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidOutput(f"{where} must be an object of {{name: {{value}}}} entries")
    # Fast path: every entry is the common {"value": "..."} with a lowercase name. Such a map is
    # already in the shape normalisation gives, so it is kept as it is (it is the parsed answer's
    # own dict, not shared with anything else) instead of being copied entry by entry.
    for name, entry in value.items():
        if not (type(entry) is dict and len(entry) == 1 and type(entry.get("value")) is str):
            break
        if lowercase and ((not name.islower() and name != name.lower()) or (controls and _BAD_VALUE.search(entry["value"]))):
            break
    else:
        return value
    out: EntryMap = {}
    for name, entry in value.items():
        if type(entry) is dict and len(entry) == 1 and type(entry.get("value")) is str and (not lowercase or name.islower() or name == name.lower()):
            if lowercase and _BAD_VALUE.search(entry["value"]):
                raise InvalidOutput(f"{where}.{name}: a header value may not contain CR, LF or NUL")
            out[name] = {"value": entry["value"]}
            continue
        if lowercase and name != name.lower():
            raise InvalidOutput(f"header name {name!r} must be lowercase: write {name.lower()!r} ({_EVENT_DOCS})")
        if not isinstance(entry, dict):
            raise InvalidOutput(f"{where}.{name} must be an object like {{\"value\": \"...\"}}")
        clean: Entry = {}
        multi = entry.get("multiValue")
        if multi is not None:
            if not isinstance(multi, list) or not multi:
                raise InvalidOutput(f"{where}.{name}.multiValue must be a non-empty array of {{value}} objects")
            clean_multi = [_item(m, f"{where}.{name}.multiValue", cookies_with_attributes) for m in multi]
        if "value" in entry:
            clean.update(_item(entry, f"{where}.{name}", cookies_with_attributes))
        elif multi is not None:
            clean.update(clean_multi[0])
        else:
            raise InvalidOutput(f"{where}.{name} has no value")
        if multi is not None:
            clean["multiValue"] = clean_multi
        if lowercase and any(_BAD_VALUE.search(item["value"]) for item in [clean, *clean.get("multiValue", [])]):
            raise InvalidOutput(f"{where}.{name}: a header value may not contain CR, LF or NUL")
        out[name] = clean
    return out


def _item(item: Any, where: str, with_attributes: bool) -> Entry:
    if not isinstance(item, dict) or not isinstance(item.get("value"), str):
        raise InvalidOutput(f"{where}: value must be a string")
    clean: Entry = {"value": item["value"]}
    if with_attributes and "attributes" in item:
        if not isinstance(item["attributes"], str):
            raise InvalidOutput(f"{where}: attributes must be a string")
        clean["attributes"] = item["attributes"]
    return clean


def normalize_request(output: Any, event_request: dict[str, Any], *, controls: bool = True) -> dict[str, Any]:
    if not isinstance(output, dict):
        raise InvalidOutput("the function must return event.request or a response object")
    try:
        return _normalize_request(output, event_request, controls)
    except InvalidOutput as exc:
        if "status" in output and "statusCode" not in output:
            # A response in Lambda@Edge's shape is taken for a request (it has no statusCode), and
            # its header arrays then fail as request headers: say which shape was meant.
            raise InvalidOutput(f"{exc}; the object has `status` but no `statusCode`, so it was read as the "
                                "request: a CloudFront Function's response is { statusCode: 302, headers: "
                                "{ location: { value: '/x' } } } (`status` and [{key, value}] header arrays are "
                                f"Lambda@Edge's) ({_EVENT_DOCS})") from None
        raise


def _normalize_request(output: dict[str, Any], event_request: dict[str, Any], controls: bool) -> dict[str, Any]:
    method = output.get("method", event_request.get("method"))
    if method != event_request.get("method"):
        raise InvalidOutput(f"request.method is read-only ({_EVENT_DOCS})")
    uri = output.get("uri", event_request.get("uri"))
    _check_uri(uri)
    qs = output.get("querystring")
    querystring: Any = qs.lstrip("?") if isinstance(qs, str) else _entries(qs, "request.querystring")
    if isinstance(querystring, str) and _BAD_QUERY.search(querystring):
        raise InvalidOutput("request.querystring may not contain spaces, control characters or '#' "
                            f"({_RESTRICTIONS_DOCS})")
    return {
        "method": method,
        "uri": uri,
        "querystring": querystring,
        "headers": _entries(output.get("headers"), "request.headers", lowercase=True, controls=controls),
        "cookies": _entries(output.get("cookies"), "request.cookies"),
    }


def normalize_response(output: Any, event_response: dict[str, Any] | None, *, controls: bool = True) -> dict[str, Any]:
    if not isinstance(output, dict):
        raise InvalidOutput("the function must return event.response")
    status = output.get("statusCode", (event_response or {}).get("statusCode"))
    _check_status(status)
    out: dict[str, Any] = {"statusCode": status}
    if "statusDescription" in output:
        if not isinstance(output["statusDescription"], str):
            raise InvalidOutput("response.statusDescription must be a string")
        out["statusDescription"] = output["statusDescription"]
    out["headers"] = _entries(output.get("headers"), "response.headers", lowercase=True, controls=controls)
    out["cookies"] = _entries(output.get("cookies"), "response.cookies", cookies_with_attributes=True)
    if "body" in output:
        out["body"] = _body(output["body"])
    return out


def _check_uri(uri: Any) -> None:
    if not isinstance(uri, str) or not uri.startswith("/"):
        raise InvalidOutput(f"request.uri must be a string starting with '/', got {uri!r} ({_EVENT_DOCS})")


def _check_status(status: Any) -> None:
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidOutput(f"response.statusCode must be an integer HTTP status, got {status!r} ({_EVENT_DOCS})")


# --- a change set (prelude.js changeSet) -------------------------------------------------------
# The handler returned the event's own request / response with only headers added, changed or
# removed, and prelude.js answered just those: {"headers": {name: entry}, "removed": [name]}.


def normalize_changes(changes: dict[str, Any], event_part: dict[str, Any], side: str, *,
                      controls: bool) -> dict[str, Any]:
    """What normalize_request / normalize_response give for `event_part` (the event's request or
    response, `side`) with `changes` applied, without reading the unchanged rest again: build_event
    made it, in normalised shape. Checked, in the same order, is what the event itself may carry
    that CloudFront refuses back (a URI not starting with '/', a status outside 100-599) and the
    headers (_changed)."""
    if side == "request":
        _check_uri(event_part["uri"])
        headers = _changed(changes, event_part["headers"], "request.headers", controls)
        return {"method": event_part["method"], "uri": event_part["uri"], "querystring": event_part["querystring"],
                "headers": headers, "cookies": event_part["cookies"]}
    _check_status(event_part["statusCode"])
    headers = _changed(changes, event_part["headers"], "response.headers", controls)
    return {"statusCode": event_part["statusCode"], "statusDescription": event_part["statusDescription"],
            "headers": headers, "cookies": event_part["cookies"]}


def _changed(changes: dict[str, Any], before: EntryMap, where: str, controls: bool) -> EntryMap:
    """The headers map the whole output would have had: the event's (`before`), less the names
    removed, with the entries changed or added, in the order prelude.js checked the output has.
    Only the changed entries need normalising (the event's are in shape); unless a value may hold
    CR, LF or NUL (`controls`, which counts the event's values too): then all of them are, to fail
    on the same entry first as the whole output would."""
    removed = changes["removed"]
    if not controls:
        merged = dict(before) if not removed else {name: e for name, e in before.items() if name not in removed}
        merged.update(_entries(changes["headers"], where, lowercase=True, controls=False))
        return merged
    merged = {name: e for name, e in before.items() if name not in removed}
    merged.update(changes["headers"])
    return _entries(merged, where, lowercase=True)


def _body(body: Any) -> dict[str, str]:
    """A string, or {encoding: text|base64, data}; a string comes back as {encoding: "text"} (spec §1.10)."""
    if isinstance(body, str):
        return {"encoding": "text", "data": body}
    if not isinstance(body, dict) or not isinstance(body.get("data"), str):
        raise InvalidOutput("response.body must be a string or {encoding: 'text'|'base64', data: string} "
                            f"({_EVENT_DOCS})")
    encoding = body.get("encoding", "text")
    if encoding not in ("text", "base64"):
        raise InvalidOutput(f"response.body.encoding must be 'text' or 'base64', got {encoding!r} ({_EVENT_DOCS})")
    if encoding == "base64":
        try:
            base64.b64decode(body["data"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidOutput(f"response.body.data is not valid base64 ({_EVENT_DOCS})") from None
    return {"encoding": encoding, "data": body["data"]}


# --- write-back ------------------------------------------------------------------------------


def _values(out: Entry, before: Entry | None, *, with_attributes: bool = False) -> list[tuple[str, str]]:
    """Spec §1.2: a changed multiValue wins; else a changed value replaces only the first value."""
    def pair(item: Entry) -> tuple[str, str]:
        return item["value"], item.get("attributes", "") if with_attributes else ""

    multi, multi_before = out.get("multiValue"), (before or {}).get("multiValue")
    if multi is not None and multi != multi_before:
        return [pair(m) for m in multi]
    if multi is not None and multi_before:
        return [pair(out)] + [pair(m) for m in multi_before[1:]]
    return [pair(out)]


def _check_headers(out: EntryMap, before: EntryMap, event_type: EventType,
                   changes: dict[str, Any] | None = None) -> None:
    """`changes`, for a change set: only the names it holds can be added, changed or removed."""
    if changes is not None:
        changed, removed = changes["headers"], changes["removed"]
        for name in changed:
            if name not in before and _disallowed(name):
                raise InvalidOutput(f"header {name!r} is disallowed: a function may not add it ({_RESTRICTIONS_DOCS})")
        if READ_ONLY_HEADERS[event_type].isdisjoint(changed) and (not removed or READ_ONLY_HEADERS[event_type].isdisjoint(removed)):
            return
        _check_read_only(out, before, event_type)
        return
    if out == before:  # nothing added, changed or removed
        return
    for name in out:
        # A name the event showed is never disallowed (event.py leaves those out).
        if name not in before and _disallowed(name):
            raise InvalidOutput(f"header {name!r} is disallowed: a function may not add it ({_RESTRICTIONS_DOCS})")
    _check_read_only(out, before, event_type)


def _check_read_only(out: EntryMap, before: EntryMap, event_type: EventType) -> None:
    for name in READ_ONLY_HEADERS[event_type]:
        entry, entry_before = out.get(name), before.get(name)
        if entry == entry_before:  # unchanged, or absent from both: the same values (event.py entries)
            continue
        old = _values(entry_before, None) if entry_before is not None else []
        new = _values(entry, entry_before) if entry is not None else []
        if old != new:
            if not old:
                how = "the function added it; leave it out"
            elif not new:
                how = (f"the function's result no longer has it; keep event.{'request' if event_type.is_request else 'response'}"
                       f".headers[{name!r}] (a {'request' if event_type.is_request else 'response'} built anew must carry it over)")
            elif old[0] != new[0]:
                how = f"the function changed it from {old[0][0]!r} to {new[0][0]!r}; leave it as it came"
            else:
                how = "the function changed its values; leave them as they came"
            raise InvalidOutput(f"header {name!r} is read-only in {event_type}: {how} ({_RESTRICTIONS_DOCS})")


def _write_headers(out: EntryMap, before: EntryMap, original: Headers, skip: str) -> tuple[Headers, bool]:
    """The headers written, and whether reading them back (event.py) gives `out` again, with the
    lines of `original` the function never saw: each entry one ASCII line under its own name."""
    if out == before:
        # Unchanged headers are forwarded byte for byte (spec §1.4), original case and order kept.
        return Headers._of(*_lines_but(original, skip)), True
    lines: list[tuple[str, str]] = []
    lower: list[str] = []
    plain = True
    for name, entry in out.items():
        written, written_lower = _capitalized(name)
        if "multiValue" not in entry:  # the common case; _values gives this one line
            value = entry["value"]
            # A value the function left as it saw it goes on as received, a changed one as UTF-8
            # (spec §1.4, encoding.py); ASCII, nearly every value, is the same either way.
            if value.isascii() and written_lower == name:
                lines.append((written, value))
            else:
                plain = False
                lines.append((written, value if value.isascii() else restore(value, original.get_all(name))))
            lower.append(written_lower)
            continue
        plain = False
        for value, _ in _values(entry, before.get(name)):
            lines.append((written, value if value.isascii() else restore(value, original.get_all(name))))
            lower.append(written_lower)
    # What the function never saw goes through unchanged. A name the event showed is never
    # disallowed (event.py leaves those out): a dict lookup spares the check for nearly every line.
    for line, line_lower in zip(original, original.lower_names()):
        if line_lower not in before and _disallowed(line_lower):
            lines.append(line)
            lower.append(line_lower)
    return Headers._of(lines, lower), plain


def _lines_but(headers: Headers, skip: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The lines (and their lowercase names) of `headers` whose name is not `skip`."""
    lines: list[tuple[str, str]] = []
    lower: list[str] = []
    for line, line_lower in zip(headers, headers.lower_names()):
        if line_lower != skip:
            lines.append(line)
            lower.append(line_lower)
    return lines, lower


def _set_cookie(name: str, value: str, attributes: str) -> str:
    return f"{name}={value}" + (f"; {attributes}" if attributes else "")


def _set_cookies_received(headers: Headers) -> list[str]:
    """Each Set-Cookie line as received, in the form the write-back gives it (event.response_cookies'
    parse, then _set_cookie), to tell a cookie the function left alone from one it changed."""
    lines = []
    for line in headers.get_all("set-cookie"):
        first, _, attrs = line.partition(";")
        name, _, value = first.partition("=")
        lines.append(_set_cookie(name.strip(), value.strip(), attrs.strip()))
    return lines


@lru_cache(maxsize=4096)
def _capitalized(name: str) -> tuple[str, str]:
    """The name as CloudFront writes it (spec §1.2), and that lowercased (Headers keeps both)."""
    written = capitalize_header(name)
    return written, written.lower()


def _querystring(out: Any, before: EntryMap, original_raw: str) -> str:
    if isinstance(out, str):
        # The query string as the function saw it goes on as received, a changed one as UTF-8,
        # characters outside ASCII as raw UTF-8 bytes like a changed URI's (spec §1.4, our reading).
        return out if out.isascii() else restore(out, (original_raw,))
    if out == before:
        return original_raw
    # Values are written as given; only what cannot travel in a URL is percent-encoded (characters
    # outside ASCII as their UTF-8 bytes, the encoding a changed query string takes, spec §1.4).
    parts = [f"{_q(name)}={_q(value)}" for name, entry in out.items() for value, _ in _values(entry, before.get(name))]
    return "&".join(parts)


_Q_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "#%") + "%"


def _q(text: str) -> str:
    return quote(text if text.isascii() else clean(text), safe=_Q_SAFE)


def apply_request(out: dict[str, Any], event_request: dict[str, Any], original: Request, *, header_rules: bool,
                  changes: dict[str, Any] | None = None) -> Request:
    """`changes`: `out` is a change set's (normalize_changes), for a quicker header check."""
    before_headers: EntryMap = event_request["headers"]
    if header_rules:
        _check_headers(out["headers"], before_headers, EventType.VIEWER_REQUEST, changes)
    # A new Request with every other field kept (headers are written below): copy.copy's result,
    # without its generic __reduce_ex__ round (the slowest step of the write-back).
    cls = type(original)
    request = cls.__new__(cls)
    request.__dict__.update(original.__dict__)
    uri = out["uri"]
    if uri != event_request["uri"]:
        # Checked here, where the request to send is made, not in normalize_request: TestFunction
        # is not known to refuse such a URI, and shows it in FunctionOutput.
        problem = uri_problem(uri)
        if problem is not None:
            raise InvalidOutput(f"request.uri {problem} ({_EVENT_DOCS})")
    # An unchanged URI goes on as received, a changed one as UTF-8, raw, not percent-encoded (spec
    # §1.4; our reading: "forwards the UTF-8 encoded values", and AWS asks functions to percent-encode).
    request.uri = uri if uri.isascii() else restore(uri, (original.uri,))
    request.querystring = _querystring(out["querystring"], event_request["querystring"], original.querystring)
    if len(request.uri) + len(request.querystring) + 1 >= MAX_URI_AND_QUERY:
        raise InvalidOutput(f"the URI and query string must be under {MAX_URI_AND_QUERY} characters "
                            f"({_RESTRICTIONS_DOCS})")
    request.headers, plain = _write_headers(out["headers"], before_headers, original.headers, "cookie")
    cookies_kept = out["cookies"] == event_request["cookies"]
    if cookies_kept:
        if "cookie" in original.headers.lower_names():  # most requests have none: no get_all loop
            for line in original.headers.get_all("cookie"):
                request.headers.add("Cookie", line)
        # What the next function's event (viewer-response) would read back from this request is
        # `out` itself when the request was written from it as it stands (event.py RequestView):
        # its headers one ASCII line each, the same cookies and query string, an ASCII URI.
        if (plain and uri.isascii() and isinstance(out["querystring"], dict) and "cookie" not in out["headers"]
                and out["querystring"] == event_request["querystring"]):
            request.function_view = RequestView(request.method, request.uri, request.querystring,
                                                request.headers.items(), out)
    elif out["cookies"]:
        pairs = [f"{n}={v}" for n, e in out["cookies"].items() for v, _ in _values(e, event_request["cookies"].get(n))]
        line = "; ".join(pairs)
        request.headers.add("Cookie", line if line.isascii() else clean(line))  # changed: UTF-8 (spec §1.4)
    return request


def apply_response(
    out: dict[str, Any], event_response: dict[str, Any] | None, original: Response | None,
    event_type: EventType, *, header_rules: bool, changes: dict[str, Any] | None = None,
) -> Response:
    """A viewer-response result (original given) or a response generated in viewer-request.
    `changes`: `out` is a change set's (normalize_changes), for a quicker header check."""
    before_headers: EntryMap = (event_response or {}).get("headers", {})
    before_cookies: EntryMap = (event_response or {}).get("cookies", {})
    if header_rules:
        _check_headers(out["headers"], before_headers, event_type, changes)
    headers, _ = _write_headers(out["headers"], before_headers, original.headers if original else Headers(), "set-cookie")
    # Each cookie is its own Set-Cookie line, never folded into one (spec §1.2).
    received: list[str] | None = None
    for name, entry in out["cookies"].items():
        for value, attributes in _values(entry, before_cookies.get(name), with_attributes=True):
            line = _set_cookie(name, value, attributes)
            if not line.isascii():  # as received if the function left it as shown, else UTF-8 (spec §1.4)
                if received is None:
                    received = _set_cookies_received(original.headers if original else Headers())
                line = restore(line, received)
            headers.add("Set-Cookie", line)
    body = original.body if original is not None else b""
    stream = original.stream if original is not None else None  # a body still arriving goes on unless replaced
    if "body" in out:
        data = out["body"]["data"]
        body = base64.b64decode(data) if out["body"]["encoding"] == "base64" else data.encode("utf-8")
        stream = None
    description = out.get("statusDescription")
    if description is None and original is not None and out["statusCode"] == original.status:
        description = original.status_description
    return Response(status=out["statusCode"], headers=headers, body=body, status_description=description,
                    stream=stream)
