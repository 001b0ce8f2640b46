"""Headers: one entry per line, case-insensitive lookup, original case kept."""

from __future__ import annotations

import pytest

import dataclasses

from edgesim.messages import Headers, Request, capitalize_header


def test_headers_lines_lookup_and_edits() -> None:
    h = Headers([("Set-Cookie", "a=1"), ("Host", "x"), ("set-cookie", "b=2")])
    assert h.get_all("SET-COOKIE") == ["a=1", "b=2"]
    assert h.get("host") == "x" and "HOST" in h and "nope" not in h
    h.set("set-cookie", "c=3")
    assert h.items() == [("set-cookie", "c=3"), ("Host", "x")]
    h.add("X-A", "1")
    h.setdefault("x-a", "2")
    h.setdefault("X-B", "3")
    assert h.get_all("x-a") == ["1"] and h.get("x-b") == "3"
    h.remove("HOST")
    assert "host" not in h and h.names() == ["set-cookie", "x-a", "x-b"]
    c = h.copy()
    c.add("X-C", "4")
    assert "x-c" not in h and "x-c" in c


def test_headers_read_like_a_mapping() -> None:
    # What a test reads off edge_origins["app"].last.headers, as from an httpx response.
    h = Headers([("X-Count", "1"), ("x-count", "2")])
    assert h["X-COUNT"] == "1"  # the first line, as get()
    with pytest.raises(KeyError, match="x-missing"):
        h["x-missing"]
    # A missing header says which there are (one a function added may not be forwarded at all).
    with pytest.raises(KeyError, match=r"^\"no header 'x-api-client'; the headers are: X-Count, x-count\"$"):
        h["x-api-client"]
    with pytest.raises(KeyError, match="no header 'x'; the headers are: none"):
        Headers()["x"]


def test_capitalize_header() -> None:
    assert capitalize_header("example-header-name") == "Example-Header-Name"


def test_request_copy_keeps_every_field_and_its_own_headers() -> None:
    # Request.copy sets each field itself: a field added to Request must be added there too.
    values = {"method": "POST", "uri": "/a", "querystring": "q=1", "headers": Headers([("A", "1")]), "body": b"x",
              "client_ip": "203.0.113.9", "origin": None, "http_version": "2", "scheme": "https",
              "origin_host_header": "h.example", "body_stream": None, "function_view": object()}
    assert {f.name for f in dataclasses.fields(Request)} == set(values)
    original = Request(**values)  # type: ignore[arg-type]
    copy = original.copy()
    for name, value in values.items():
        if name == "function_view":
            assert copy.function_view is None  # a view of the original, not the copy's to keep
        elif name == "headers":
            assert copy.headers == original.headers and copy.headers is not original.headers
        else:
            assert getattr(copy, name) == value
    copy.headers.add("B", "2")
    assert list(original.headers) == [("A", "1")]
