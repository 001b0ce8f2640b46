"""Send a Request to an origin: HTTP origins over origin_client.py (or an httpx transport given
per origin id), local directories as S3 would answer.

HTTP origins go through edgesim's own keep-alive HTTP/1.1 client (origin_client.py: several times
cheaper per request than aiohttp's, see there). Tests swap in an httpx transport (MockTransport,
ASGITransport) per origin id; it is called directly, without httpx's client-level redirect, cookie
or auth machinery, as CloudFront passes redirects through untouched, and its exceptions stop here
as OriginConnectionError / OriginTimeout.
"""

from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote
from xml.sax.saxutils import escape

import httpx

from edgesim.cache import viewer_not_modified
from edgesim.config import CustomOrigin, S3Origin
from edgesim.encoding import decode, encode
from edgesim.errors import OriginConnectionError, OriginTimeout
from edgesim.forwarding import HOP_BY_HOP
from edgesim.messages import Headers, Request, Response
from edgesim.origin_client import OriginClient, transfer_encoding
from edgesim.ranges import content_range, if_range_matches, parse_range, resolve


class OriginFetcher:
    """Fetches from origins; owns the shared HTTP transport. An async context manager."""

    def __init__(self, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self._transports = dict(transports or {})
        self._direct = OriginClient()
        self._etags: dict[tuple[str, int, int], str] = {}

    async def __aenter__(self) -> OriginFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._direct.aclose()

    async def fetch(self, request: Request, origin: CustomOrigin | S3Origin, *, stream: bool = False) -> Response:
        """The origin's answer; with `stream`, a custom origin's body may still be arriving (origin_client.py)."""
        if isinstance(origin, S3Origin):
            # A body, even one still arriving, is nothing to S3's GET / HEAD: app.py reads and drops it.
            return self._fetch_directory(request, origin)
        if origin.id not in self._transports:
            return await self._direct.fetch(request, origin, stream=stream)
        return await self._fetch_http(request, origin)

    async def _fetch_http(self, request: Request, origin: CustomOrigin) -> Response:
        target = origin.path + request.uri
        if request.querystring:
            target += "?" + request.querystring
        url = f"{origin.protocol}://{origin.domain_name}:{origin.port}{_url_safe(target)}"
        timeout = {"connect": origin.connect_timeout, "read": origin.read_timeout,
                   "write": origin.read_timeout, "pool": origin.connect_timeout}
        body = request.body
        if request.body_stream is not None:
            # Test transports (MockTransport, ASGITransport) get the body whole, as they always did;
            # only origin_client.py forwards it as it arrives.
            body = b"".join([chunk async for chunk in request.body_stream])
        try:
            http_request = httpx.Request(
                request.method, url, content=body or None,
                # As bytes: values go as received or as UTF-8 (spec §1.4), where httpx would
                # encode a str as ASCII and refuse anything else.
                # Connection: Keep-Alive as origin_client.py sends it (headers table, AD/RequestAndResponseBehaviorCustomOrigin).
                headers=[*((encode(k), encode(v)) for k, v in request.headers), (b"Connection", b"Keep-Alive")],
                extensions={"timeout": timeout},
            )
            http_response = await self._transports[origin.id].handle_async_request(http_request)
            try:
                # The bytes as the origin sent them, as CloudFront passes them on: aread() would
                # decode a Content-Encoding (gzip) and leave its header on a body no longer gzip.
                # The stream itself, not aiter_raw(): a response built with content= (a stub's, a
                # MockTransport's) counts as read already, and its stream still holds the bytes.
                body = b"".join([chunk async for chunk in http_response.stream])  # type: ignore[union-attr]
            finally:
                await http_response.aclose()
        except (httpx.TransportError, httpx.UnsupportedProtocol) as exc:
            if isinstance(exc, httpx.TimeoutException):
                raise OriginTimeout(f"origin {origin.id!r} ({origin.url}) did not answer in time: {_describe(exc)}") from None
            raise OriginConnectionError(f"cannot connect to origin {origin.id!r} ({origin.url}): {_describe(exc)}") from None
        headers = Headers(
            (k.decode("latin-1"), decode(v))
            for k, v in http_response.headers.raw
            if k.decode("latin-1").lower() not in HOP_BY_HOP
        )
        reason = http_response.extensions.get("reason_phrase", b"")
        return Response(http_response.status_code, headers, body,
                        reason.decode("latin-1") if isinstance(reason, bytes) and reason else None,
                        origin_transfer_encoding=transfer_encoding(http_response.headers.raw))

    def _fetch_directory(self, request: Request, origin: S3Origin) -> Response:
        """Answer as S3 does for a bucket without ListBucket: GET/HEAD of objects (a byte range of
        one too), 403 otherwise."""
        if request.method not in ("GET", "HEAD"):
            return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
        path = _safe_path(origin.directory, origin.path + request.uri)
        if path is None or not path.is_file():
            # S3 answers 403, not 404, when the caller may not list the bucket.
            return _s3_error(403, "AccessDenied", "Access Denied")
        stat = path.stat()
        etag = self._etag(path, stat)
        last_modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        headers = Headers([
            ("Last-Modified", last_modified),
            ("ETag", etag),
            ("Accept-Ranges", "bytes"),
            ("Content-Type", mimetypes.guess_type(path.name)[0] or "binary/octet-stream"),
            ("Server", "AmazonS3"),
        ])
        # A conditional GET is answered with the same rule the edge cache applies (RFC 9110 §13).
        not_modified = viewer_not_modified(request, Response(200, headers))
        if not_modified is not None:
            return not_modified
        body = path.read_bytes()
        wanted = request.headers.get("range")
        if wanted is not None:
            partial = _s3_range(request, wanted, headers, body)
            if partial is not None:
                return partial
        headers.add("Content-Length", str(len(body)))
        return Response(200, headers, b"" if request.method == "HEAD" else body)

    def _etag(self, path: Path, stat: os.stat_result) -> str:
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        etag = self._etags.get(key)
        if etag is None:
            # S3's ETag for a single-part upload is the MD5 of the object.
            etag = '"' + hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() + '"'
            self._etags[key] = etag
        return etag


def _url_safe(target: str) -> str:
    """The path and query for an httpx URL: httpx cannot send a byte outside ASCII in a URL (it
    percent-encodes text as UTF-8 and refuses escaped bytes), so each such byte of what edgesim
    would send (encoding.py) is percent-encoded here. Only test transports take this path; real
    origins get the bytes themselves (origin_client.py)."""
    if target.isascii():
        return target
    return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in encode(target))


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


def _safe_path(root: Path, uri: str) -> Path | None:
    """The file for `uri` under `root`, or None when it would leave the root by any route:
    `..` segments, encoded traversal (%2e%2e, %2f), NUL bytes, or symlinks pointing out."""
    key = unquote(uri)
    if "\x00" in key or "\\" in key:
        return None
    parts = [p for p in key.split("/") if p]
    if any(p in ("..", ".") for p in parts) or not parts:
        return None
    candidate = root.joinpath(*parts)
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    root_resolved = root.resolve()
    if resolved != root_resolved and root_resolved not in resolved.parents:
        return None
    return resolved


def _s3_range(request: Request, wanted: str, headers: Headers, body: bytes) -> Response | None:
    """S3's answer to a Range GET or HEAD of an object: a 206 with Content-Range, a 416 InvalidRange,
    or None for the whole object with 200.

    S3 GetObject `Range`: one byte range (`bytes=a-b`, `a-`, `-n`), RFC 9110's syntax; "Amazon S3
    doesn't support retrieving multiple ranges of data per GET request", and S3 then sends the whole
    object, as it does for a Range header that is not a valid bytes range. HeadObject `Range`: a
    satisfiable range changes only the length; an unsatisfiable one is a 416.
    UNCERTAIN: If-Range is not among GetObject's documented parameters, but S3 is observed to honour
    it (OBS aws/aws-sdk-kotlin#1645): a validator that no longer matches gets the whole object.
    UNCERTAIN: a HEAD with a satisfiable range answers 206 with Content-Range, as GET does; a range of
    an empty object is a 416, as RFC 9110 §14.1.1 makes it unsatisfiable."""
    specs = parse_range(wanted)
    if specs is None or len(specs) != 1 or not if_range_matches(request, Response(200, headers)):
        return None
    length = len(body)
    selected = resolve(specs[0], length)
    if selected is None:
        # S3's InvalidRange names what was asked and the object's size.
        return _s3_error(416, "InvalidRange", "The requested range is not satisfiable",
                         f"<RangeRequested>{escape(wanted)}</RangeRequested><ActualObjectSize>{length}</ActualObjectSize>")
    first, last = selected
    headers = headers.copy()
    headers.add("Content-Range", content_range(selected, length))
    headers.add("Content-Length", str(last - first + 1))
    return Response(206, headers, b"" if request.method == "HEAD" else body[first:last + 1], "Partial Content")


def _s3_error(status: int, code: str, message: str, details: str = "") -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{details}"
        f"<RequestId>{hashlib.md5(code.encode(), usedforsecurity=False).hexdigest()[:16].upper()}</RequestId></Error>"
    ).encode()
    return Response(status, Headers([("Content-Type", "application/xml"), ("Server", "AmazonS3"),
                                     ("Content-Length", str(len(body)))]), body)
