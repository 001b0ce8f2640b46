"""Send a Request to an origin: HTTP origins through httpx, local directories as S3 would answer.

httpx exceptions stop here and become OriginConnectionError / OriginTimeout. The HTTP client calls
the httpx transport directly (no client-level redirect, cookie or auth machinery: CloudFront passes
redirects through untouched), and defaults to the aiohttp transport, several times faster than
httpx's own on this path; tests swap in MockTransport or ASGITransport per origin id.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import mimetypes
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from yarl import URL

from edgesim.cache import viewer_not_modified
from edgesim.config import CustomOrigin, S3Origin
from edgesim.errors import OriginConnectionError, OriginTimeout
from edgesim.forwarding import HOP_BY_HOP
from edgesim.messages import Headers, Request, Response


class OriginFetcher:
    """Fetches from origins; owns the shared HTTP transport. An async context manager."""

    def __init__(self, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self._transports = dict(transports or {})
        self._default: httpx.AsyncBaseTransport | None = None
        self._direct = DirectAiohttpClient()
        self._etags: dict[tuple[str, int, int], str] = {}

    async def __aenter__(self) -> OriginFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._direct.aclose()
        if self._default is not None:
            await self._default.aclose()
            self._default = None

    def _transport(self, origin_id: str) -> httpx.AsyncBaseTransport:
        transport = self._transports.get(origin_id)
        if transport is not None:
            return transport
        if self._default is None:
            # CloudFront keeps connections to origins alive; so do we.
            self._default = AiohttpTransport(
                trust_env=False, limits=httpx.Limits(max_connections=256, max_keepalive_connections=64)
            )
        return self._default

    async def fetch(self, request: Request, origin: CustomOrigin | S3Origin) -> Response:
        if isinstance(origin, S3Origin):
            return self._fetch_directory(request, origin)
        if origin.id not in self._transports:
            return await self._direct.fetch(request, origin)
        return await self._fetch_http(request, origin)

    async def _fetch_http(self, request: Request, origin: CustomOrigin) -> Response:
        url = f"{origin.protocol}://{origin.domain_name}:{origin.port}{origin.path}{request.uri}"
        if request.querystring:
            url += "?" + request.querystring
        timeout = {"connect": origin.connect_timeout, "read": origin.read_timeout,
                   "write": origin.read_timeout, "pool": origin.connect_timeout}
        try:
            http_request = httpx.Request(
                request.method, url, headers=request.headers.items(), content=request.body or None,
                extensions={"timeout": timeout},
            )
            http_response = await self._transport(origin.id).handle_async_request(http_request)
            try:
                body = await http_response.aread()
            finally:
                await http_response.aclose()
        except (httpx.TransportError, httpx.UnsupportedProtocol) as exc:
            if _is_timeout(exc):
                raise OriginTimeout(f"origin {origin.id!r} ({origin.url}) did not answer in time: {_describe(exc)}") from None
            raise OriginConnectionError(f"cannot connect to origin {origin.id!r} ({origin.url}): {_describe(exc)}") from None
        headers = Headers(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in http_response.headers.raw
            if k.decode("latin-1").lower() not in HOP_BY_HOP
        )
        reason = http_response.extensions.get("reason_phrase", b"")
        return Response(http_response.status_code, headers, body,
                        reason.decode("latin-1") if isinstance(reason, bytes) and reason else None)

    def _fetch_directory(self, request: Request, origin: S3Origin) -> Response:
        """Answer as S3 does for a bucket without ListBucket: GET/HEAD of objects, 403 otherwise."""
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


def _is_timeout(exc: BaseException) -> bool:
    """httpx-aiohttp maps every aiohttp connection error, a refused connection included, to
    ConnectTimeout; the aiohttp cause says what really happened."""
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientConnectorError):  # refused, unreachable, DNS failure
        return False
    if cause is not None:
        return isinstance(cause, (asyncio.TimeoutError, aiohttp.ServerTimeoutError))
    return isinstance(exc, httpx.TimeoutException)


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


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{hashlib.md5(code.encode(), usedforsecurity=False).hexdigest()[:16].upper()}</RequestId></Error>"
    ).encode()
    return Response(status, Headers([("Content-Type", "application/xml"), ("Server", "AmazonS3"),
                                     ("Content-Length", str(len(body)))]), body)


class DirectAiohttpClient:
    """The default HTTP origin client: aiohttp straight from our Request, no httpx objects between.

    Building an httpx.Request (its URL parser above all) and wrapping aiohttp's answer in an
    httpx.Response cost about as much CPU as the fetch itself (benchmarks/, issue 6); origins given
    an httpx transport (tests: MockTransport, ASGITransport) still go through `_fetch_http`.
    """

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        # Keyed by value, not origin id: a reload may point the same id elsewhere.
        self._timeouts: dict[tuple[float, float], aiohttp.ClientTimeout] = {}
        self._bases: dict[str, str] = {}  # origin url -> scheme://host:port/path, parsed once

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # CloudFront keeps connections to origins alive; so do we. aiohttp adds no header of its
            # own: the origin gets exactly the headers the pipeline built (spec §2.2).
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256, limit_per_host=64),
                auto_decompress=False, trust_env=False,
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            )
        return self._session

    def _timeout(self, origin: CustomOrigin) -> aiohttp.ClientTimeout:
        key = (origin.connect_timeout, origin.read_timeout)
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(sock_connect=key[0], connect=key[0], sock_read=key[1])
            self._timeouts[key] = timeout
        return timeout

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, request: Request, origin: CustomOrigin) -> Response:
        base = self._bases.get(origin.url)
        if base is None:  # CustomOrigin's properties parse its URL on every access
            base = self._bases[origin.url] = f"{origin.protocol}://{origin.domain_name}:{origin.port}{origin.path}"
        target = base + request.uri
        if request.querystring:
            target += "?" + request.querystring
        try:
            # encoded=True: the URI goes to the origin as the viewer sent it, not re-quoted.
            async with self._client().request(
                request.method, URL(target, encoded=True), headers=list(request.headers.items()),
                data=request.body or None, allow_redirects=False, timeout=self._timeout(origin),
            ) as answer:
                body = await answer.read()
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise OriginTimeout(f"origin {origin.id!r} ({origin.url}) did not answer in time: "
                                f"{_describe(exc) if str(exc) else 'timed out'}") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise OriginConnectionError(f"cannot connect to origin {origin.id!r} ({origin.url}): {_describe(exc)}") from None
        headers = Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.raw_headers
                          if k.decode("latin-1").lower() not in HOP_BY_HOP)
        return Response(answer.status, headers, body, answer.reason or None)
