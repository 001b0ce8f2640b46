"""Byte ranges: the Range header (RFC 9110 §14), If-Range, and what CloudFront's edge serves for a
Range GET from a cached object (DG/RangeGETs).

S3's narrower rules (one range only, its 416 InvalidRange) are in s3_origin.py; which key a part of an
object is cached under is in cache_key.py; when the edge looks at a range is in edge_cache_flow.py.

Not modelled (DG/RangeGETs): CloudFront "may request a larger range" than the viewer's, and sends
the whole object when the origin's answer is `Transfer-Encoding: chunked`; edgesim forwards the
viewer's Range as it is, and its origin responses no longer say how they were framed.
"""

from __future__ import annotations

import secrets
from email.utils import parsedate_to_datetime

from edgesim.messages import Headers, RangeableBody, Request, Response

# A byte-range-spec as written: (first, last) with last None for `a-`, or (None, n) for a suffix `-n`.
RangeSpec = tuple[int | None, int | None]
# What a spec selects of an object: first and last byte, both inclusive.
ByteRange = tuple[int, int]


def parse_range(value: str) -> list[RangeSpec] | None:
    """The byte-range-specs of a Range header, in order; None when the header is not a valid `bytes`
    range set, which a server ignores, sending the whole object (RFC 9110 §14.2)."""
    unit, sep, specs = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    out: list[RangeSpec] = []
    for part in specs.split(","):
        part = part.strip()
        if not part:
            continue  # empty list elements are allowed (RFC 9110 §5.6.1)
        first, dash, last = part.partition("-")
        if not dash or not _digits(last, empty_ok=True) or not _digits(first, empty_ok=True):
            return None
        if not first:
            if not last:
                return None
            out.append((None, int(last)))
            continue
        start, end = int(first), (int(last) if last else None)
        if end is not None and end < start:
            return None  # last before first makes the whole set invalid (RFC 9110 §14.1.1)
        out.append((start, end))
    return out or None


def _digits(text: str, *, empty_ok: bool) -> bool:
    return (empty_ok and not text) or (text.isascii() and text.isdigit())


def resolve(spec: RangeSpec, length: int) -> ByteRange | None:
    """The bytes `spec` selects of an object of `length` bytes; None when it selects none
    (unsatisfiable: a first byte past the end, a suffix of 0, any range of an empty object)."""
    first, last = spec
    if length == 0:
        return None
    if first is None:
        assert last is not None
        return None if last == 0 else (max(0, length - last), length - 1)
    if first >= length:
        return None
    return first, length - 1 if last is None or last >= length else last


def content_range(selected: ByteRange, length: int) -> str:
    return f"bytes {selected[0]}-{selected[1]}/{length}"


def if_range_matches(request: Request, response: Response) -> bool:
    """Whether the request's If-Range (if any) lets a range be served from `response` (RFC 9110
    §13.1.5): an entity tag must match the ETag by strong comparison (a weak tag never does), a date
    must equal Last-Modified exactly. A failed If-Range means the whole object, with 200."""
    condition = request.headers.get("if-range")
    if condition is None:
        return True
    condition = condition.strip()
    if condition.startswith(('"', "W/")):
        etag = response.headers.get("etag")
        return etag is not None and not condition.startswith("W/") and etag == condition
    modified = response.headers.get("last-modified")
    if modified is None:
        return False
    try:
        return parsedate_to_datetime(condition) == parsedate_to_datetime(modified)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False


# --- CloudFront: a range served from a cached object (DG/RangeGETs) ----------------------------


def edge_range(request: Request, response: Response, value: str) -> Response | None:
    """The 206 or 416 CloudFront answers for the Range `value` from a cached full object, or None
    to send the object whole (with its 200).

    DG/RangeGETs: with the entire object in its cache, CloudFront serves the requested range from
    it. It generally follows the RFC but sends the whole object with 200 unless several ranges are
    in ascending order, do not overlap and are each valid. Only a full 200 object is cut: a stored
    206 (a part the origin sent) or an error is served as it is.
    UNCERTAIN: the 416 (no range of a set satisfiable) is RFC 9110 §15.5.17's, with `Content-Range:
    bytes */length` and no body; the docs do not show CloudFront's. Several satisfiable ranges go
    out as multipart/byteranges (RFC 9110 §14.6) with a boundary of our own.

    A cached object kept in a file (its body a RangeableBody, cache_files.py) is cut the same way,
    the part a stream of only the range's bytes; any other streamed body is sent whole.
    """
    # A Range on any other method is ignored (RFC 9110 §14.2); HEAD gets the GET's headers.
    if response.status != 200 or request.method not in ("GET", "HEAD") or not if_range_matches(request, response):
        return None
    specs = parse_range(value)
    if specs is None:
        return None
    stream = response.stream
    if stream is not None and not isinstance(stream, RangeableBody):
        return None
    length = len(response.body) if stream is None else stream.size
    chosen = [r for r in (resolve(s, length) for s in specs) if r is not None]
    if not chosen:
        headers = Headers([("Content-Range", f"bytes */{length}"), ("Server", "CloudFront")])
        return Response(416, headers, b"", "Range Not Satisfiable")
    if any(later[0] <= earlier[1] for earlier, later in zip(chosen, chosen[1:])):
        return None  # out of order or overlapping: the whole object (DG/RangeGETs)
    headers = response.headers.copy()
    pieces: list[bytes | ByteRange]
    if len(chosen) == 1:
        pieces = [chosen[0]]
        headers.set("Content-Range", content_range(chosen[0], length))
    else:
        boundary = secrets.token_hex(12)
        pieces = _multipart(chosen, length, response.headers.get("content-type"), boundary)
        headers.set("Content-Type", f"multipart/byteranges; boundary={boundary}")
    # Set here as well as by the pipeline, since a HEAD keeps the Content-Length it is given.
    size = sum(len(p) if isinstance(p, bytes) else p[1] + 1 - p[0] for p in pieces)
    headers.set("Content-Length", str(size))
    if stream is not None:
        return Response(206, headers, b"", "Partial Content", stream.pieces(pieces))
    body = response.body
    part = b"".join(p if isinstance(p, bytes) else body[p[0]:p[1] + 1] for p in pieces)
    return Response(206, headers, part, "Partial Content")


def _multipart(chosen: list[ByteRange], length: int, content_type: str | None, boundary: str) -> list[bytes | ByteRange]:
    """The multipart/byteranges body: its delimiter and header lines, and the ranges between them."""
    out: list[bytes | ByteRange] = []
    for i, selected in enumerate(chosen):
        head = f"--{boundary}\r\n".encode()
        if content_type:
            head += f"Content-Type: {content_type}\r\n".encode("latin-1", "replace")
        head += f"Content-Range: {content_range(selected, length)}\r\n\r\n".encode()
        out += [head if i == 0 else b"\r\n" + head, selected]
    out.append(f"\r\n--{boundary}--\r\n".encode())
    return out
