"""Send a Request to an origin: HTTP origins over origin_client.py (or an httpx transport given
per origin id), local directories as S3 would answer (s3_origin.py).

HTTP origins go through edgesim's own keep-alive HTTP/1.1 client (origin_client.py: several times
cheaper per request than aiohttp's, see there). Tests swap in an httpx transport (MockTransport,
ASGITransport) per origin id; it is called directly, without httpx's client-level redirect, cookie
or auth machinery, as CloudFront passes redirects through untouched, and its exceptions stop here
as OriginConnectionError / OriginTimeout.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from edgesim.encoding import decode, encode
from edgesim.errors import OriginConnectionError, OriginTimeout
from edgesim.forwarding import HOP_BY_HOP
from edgesim.messages import Headers, Request, Response
from edgesim.origin_client import OriginClient, head_too_large, transfer_encoding
from edgesim.origin_config import CustomOrigin, S3Origin
from edgesim.s3_origin import S3Directory


class OriginFetcher:
    """Fetches from origins; owns the shared HTTP transport. An async context manager."""

    def __init__(self, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self._transports = dict(transports or {})
        self._direct = OriginClient()
        self._directory = S3Directory()

    async def __aenter__(self) -> OriginFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._direct.aclose()

    async def fetch(self, request: Request, origin: CustomOrigin | S3Origin, *, stream: bool = False) -> Response:
        """The origin's answer; with `stream`, the body may still be arriving (origin_client.py), or be
        read from a directory origin's file as the viewer takes it (s3_origin.py)."""
        if isinstance(origin, S3Origin):
            # A body, even one still arriving, is nothing to S3's GET / HEAD: app.py reads and drops it.
            return await self._directory.fetch(request, origin, stream=stream)
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
        reason = http_response.extensions.get("reason_phrase", b"")
        reason = reason if isinstance(reason, bytes) else b""
        # CloudFront's limit on an origin response's head holds for test transports too (origin_client.py).
        too_large = head_too_large(reason, http_response.headers.raw)
        if too_large is not None:
            raise OriginConnectionError(f"cannot connect to origin {origin.id!r} ({origin.url}): {too_large}")
        headers = Headers(
            (k.decode("latin-1"), decode(v))
            for k, v in http_response.headers.raw
            if k.decode("latin-1").lower() not in HOP_BY_HOP
        )
        return Response(http_response.status_code, headers, body, reason.decode("latin-1") or None,
                        origin_transfer_encoding=transfer_encoding(http_response.headers.raw))


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
