"""The runtime-neutral values every module speaks: Request, Response, Headers, EventType.

The pipeline works on these; each runtime translates them to and from its own event JSON
(CloudFront Functions' value/multiValue maps, Lambda@Edge's key/value lists) at its own boundary.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgesim.origin_config import Origin, OriginGroup


class EventType(str, enum.Enum):
    """CloudFront's four trigger points, in pipeline order (spec §3.1)."""

    VIEWER_REQUEST = "viewer-request"
    ORIGIN_REQUEST = "origin-request"
    ORIGIN_RESPONSE = "origin-response"
    VIEWER_RESPONSE = "viewer-response"

    # Cached on each member: an enum property costs ~0.5 us a read on Python 3.11 (the member
    # lookups inside it), and the pipeline and the runtimes read these several times a request.
    @functools.cached_property
    def is_viewer(self) -> bool:
        return self in (EventType.VIEWER_REQUEST, EventType.VIEWER_RESPONSE)

    @functools.cached_property
    def is_request(self) -> bool:
        return self in (EventType.VIEWER_REQUEST, EventType.ORIGIN_REQUEST)

    def __str__(self) -> str:
        return self.value


def capitalize_header(name: str) -> str:
    """`example-header-name` -> `Example-Header-Name`, as CloudFront writes headers out (spec §1.2)."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


# The keys CloudFront gives Host and User-Agent in Lambda@Edge events whatever case the viewer wrote
# them in; every other header keeps the viewer's (spec §2.2). Events logged from CloudFront for HTTP/2
# viewers, whose names are lowercase on the wire, show `Host` and `User-Agent` beside `accept`,
# `sec-fetch-mode`, `te`: the viewer-request event in the README of
# serverless-plugin-cloudfront-lambda-edge-playground (Chrome), a Firefox one in a Python test module,
# the AWS docs' viewer-response example (curl). The origin side too: an origin-response event keys the
# viewer's `upgrade-insecure-requests` so beside CloudFront's own `Accept-Encoding`, `User-Agent`, `Via`
# (li0nel/terraform-aws-cloudfront-image-compression lambda/code/origin_response/event.js).
VIEWER_KEYS: dict[str, str] = {"host": "Host", "user-agent": "User-Agent"}


# What no HTTP request line can carry. A URI a function changed to hold one is refused (a
# validation error, 502: spec §1.9, §2.8; the spec's event sections, §1.2 and §2.2, state no URI
# format, so this is UNCERTAIN): Lambda@Edge's "The specified URI is in an invalid format" shows
# CloudFront checking it (marksteele/edge-rewrite#6); the same for CloudFront Functions is our reading. Without
# the check edgesim sent the origin a broken request line (`GET /[object Promise] HTTP/1.1`).
_NOT_IN_A_REQUEST_LINE = re.compile(r"[\x00-\x20\x7f]")


def uri_problem(uri: str) -> str | None:
    """Why a URI a function set cannot be sent (it holds a space or a control character), with
    what would do instead; None when it can."""
    found = _NOT_IN_A_REQUEST_LINE.search(uri)
    if found is None:
        return None
    what = "a space" if found.group() == " " else f"the control character {found.group()!r}"
    if "[object Promise]" in uri:  # `request.uri = '/' + kvsHandle.get(k)`, the await forgotten
        fix = "'[object Promise]' is a Promise made text: await it first (var v = await kvsHandle.get(k))"
    else:
        fix = "percent-encode it (%20 for a space; encodeURI() in JavaScript, urllib.parse.quote() in Python)"
    return f"{uri!r} has {what}, which no request line can carry; {fix}"


class Headers:
    """An ordered list of header lines, looked up case-insensitively, original case kept.

    One entry per header line: repeated headers (Set-Cookie above all) stay apart, as CloudFront
    keeps them (spec §1.2, §2.2). Values are kept as encoding.py says: the bytes received read as
    UTF-8, with each byte that is not UTF-8 escaped, so what nobody changed goes out byte for byte
    (spec §1.4).
    """

    # `_lower` mirrors `_items` with each name lowercased once, so lookups (dozens per request
    # on the hot path) compare strings instead of lowercasing every entry each time.
    __slots__ = ("_items", "_lower")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)
        self._lower: list[str] = [k.lower() for k, _ in self._items]

    @classmethod
    def _of(cls, items: list[tuple[str, str]], lower: list[str]) -> Headers:
        headers = cls.__new__(cls)
        headers._items, headers._lower = items, lower
        return headers

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lower

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def copy(self) -> Headers:
        return Headers._of(list(self._items), list(self._lower))

    def get(self, name: str, default: str | None = None) -> str | None:
        lower = name.lower()
        for i, k in enumerate(self._lower):
            if k == lower:
                return self._items[i][1]
        return default

    def __getitem__(self, name: str) -> str:
        """The first line's value, as get(); KeyError when there is none (a test reading a header,
        `edge_origins["app"].last.headers["x-id"]`: the error lists the headers there are, since one
        a function added is often missing only because no policy forwards it, spec §4.2)."""
        __tracebackhide__ = True  # pytest: the failure points at the test's line, not here
        value = self.get(name)
        if value is None:
            present = ", ".join(k for k, _ in self._items) or "none"
            raise KeyError(f"no header {name!r}; the headers are: {present}")
        return value

    def get_all(self, name: str) -> list[str]:
        lower = name.lower()
        return [self._items[i][1] for i, k in enumerate(self._lower) if k == lower]

    def set(self, name: str, value: str) -> None:
        """Replace every line of `name` with one line, keeping the first line's position."""
        lower = name.lower()
        if lower not in self._lower:
            self._items.append((name, value))
            self._lower.append(lower)
            return
        first = self._lower.index(lower)
        self._items[first] = (name, value)
        if self._lower.count(lower) > 1:
            keep = [i for i, k in enumerate(self._lower) if k != lower or i == first]
            self._items = [self._items[i] for i in keep]
            self._lower = [self._lower[i] for i in keep]

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))
        self._lower.append(name.lower())

    def remove(self, name: str) -> None:
        lower = name.lower()
        if lower not in self._lower:
            return
        keep = [i for i, k in enumerate(self._lower) if k != lower]
        self._items = [self._items[i] for i in keep]
        self._lower = [self._lower[i] for i in keep]

    def setdefault(self, name: str, value: str) -> None:
        if name.lower() not in self._lower:
            self.add(name, value)

    def names(self) -> list[str]:
        """Lowercase names in first-seen order, each once."""
        return list(dict.fromkeys(self._lower))

    def lower_names(self) -> list[str]:
        """Every line's name lowercased, in line order (zip with the lines); do not mutate."""
        return self._lower


@dataclass
class Request:
    """A viewer request as it moves through the pipeline; functions may edit it."""

    method: str
    uri: str
    querystring: str = ""  # raw, without the leading "?"; "" when absent
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    # The origin this request goes to; set from the cache behavior, changed only by the
    # origin-changing helpers or a Lambda@Edge `origin` edit (spec §4.1).
    origin: Origin | OriginGroup | None = None
    http_version: str = "1.1"
    scheme: str = "http"
    # The Host header the origin gets whatever the policies say: a CloudFront Function's
    # `hostHeader` to updateRequestOrigin / selectRequestOriginById (spec §1.7).
    origin_host_header: str | None = None
    # A viewer's body still arriving (app.py), forwarded to a custom origin as it comes; `body` is
    # then b"" and this holds the whole of it. Whoever replaces the body (a Lambda@Edge `replace`)
    # drops it: the viewer's bytes then go nowhere (app.py reads and discards them).
    body_stream: RequestBody | None = None
    # The request part of a CloudFront Functions event for this request, left by the function
    # whose result it is (cloudfront_functions/event.py RequestView): the next function's event
    # reuses it while the request still is what it describes. Not part of the request's value.
    function_view: object | None = field(default=None, compare=False, repr=False)

    def copy(self) -> Request:
        # Each field set in __init__'s order, without __init__'s keyword binding (a request copies
        # its Request several times). Not through __dict__: an instance whose __dict__ was
        # replaced reads and writes its attributes more slowly for the rest of its life (Python
        # 3.11's inline values). function_view is not copied (a copy is someone else's to change).
        request = Request.__new__(Request)
        request.method = self.method
        request.uri = self.uri
        request.querystring = self.querystring
        request.headers = self.headers.copy()
        request.body = self.body
        request.client_ip = self.client_ip
        request.origin = self.origin
        request.http_version = self.http_version
        request.scheme = self.scheme
        request.origin_host_header = self.origin_host_header
        request.body_stream = self.body_stream
        request.function_view = None
        return request

    @property
    def url_path_and_query(self) -> str:
        return self.uri + ("?" + self.querystring if self.querystring else "")


class ViewerLeft(Exception):
    """The viewer disconnected before the last byte of its request body: nobody is left to answer,
    and what reached the origin of the body must not pass for all of it (app.py, origin_upload.py)."""


def include_body_limit(event_type: EventType) -> int:
    """How much of the request body a Lambda@Edge include_body sees: 40 KB at viewer-request, 1 MB
    at origin-request, the rest cut off with inputTruncated (spec §2.4)."""
    return 40 * 1024 if event_type.is_viewer else 1024 * 1024


class RequestBody:
    """A viewer's request body still arriving, read once, no faster than it is forwarded (app.py
    makes them). `length` is the viewer's Content-Length, None for a chunked body. Iterating gives
    the body from its first byte; `peek` reads and keeps its first bytes for a Lambda@Edge
    include_body before that. Both raise ViewerLeft when the viewer disconnects mid-body."""

    length: int | None = None
    # The task forwarding it to an origin (origin_upload.py), for the app to wait for before it
    # reads and drops whatever that task left unread.
    sender: asyncio.Future[None] | None = None

    async def peek(self, size: int) -> bytes:
        """The first `size` bytes (all of them when the body is shorter), kept for iteration."""
        raise NotImplementedError

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise NotImplementedError


class BodyStream:
    """A response body still arriving from the origin (origin_client.py makes them).

    Iterating gives its chunks as they come, or raises OriginConnectionError / OriginTimeout when the
    origin breaks off; `aclose` stops it (the origin's connection is then closed, not reused)."""

    def __aiter__(self) -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def read(self) -> bytes:
        """The rest of the body, whole."""
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        raise NotImplementedError

    async def settle(self) -> None:
        """Done with by whoever holds it without sending it on: by default stopped, as `aclose`."""
        await self.aclose()


class FileDescriptorBody(BodyStream):
    """A body read from an open file descriptor it owns (s3_origin.py's FileBody, cache_files.py's
    CachedFileBody): closed once, at its end, on `aclose`, or when the body is dropped."""

    _fd: int | None = None

    async def aclose(self) -> None:
        self._close()

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        self._close()


class RangeableBody(BodyStream):
    """A body whose bytes can be read in any order (a cached object kept in a file, cache_files.py):
    a Range is cut from it without reading the rest (ranges.py `edge_range`)."""

    # Its length in bytes.
    size: int = 0

    def pieces(self, pieces: list[bytes | tuple[int, int]]) -> BodyStream:
        """A body of `pieces` in order: literal bytes, or (first, last) bytes of this one, both
        inclusive. Takes over what this body holds open: this one then yields nothing."""
        raise NotImplementedError


class BodyKeeper:
    """Where a streamed body being stored goes as it arrives (the edge cache's: cache_files.py)."""

    def add(self, chunk: bytes) -> None:
        raise NotImplementedError

    def complete(self) -> None:
        """The last chunk has arrived: keep the body."""
        raise NotImplementedError

    def discard(self) -> None:
        """The body will not arrive whole: keep nothing, free what was held."""
        raise NotImplementedError


class StoredWhenComplete(BodyStream):
    """A streamed body that is also kept: `keeper` gets each chunk as it is read and keeps the body
    once the last one has been. Given up half-read (`aclose`: the viewer left), nothing is kept; done
    with unsent (`settle`: a function replaced the body the viewer gets), the rest is read and kept.
    `on_end`, if given, is called once when the body ends in any of these ways or the origin breaks
    off (after the keeper kept it when it did): the requests collapsed into this fetch wait for it
    (request_collapsing.py)."""

    def __init__(self, inner: BodyStream, keeper: BodyKeeper, on_end: Callable[[], object] | None = None) -> None:
        self._inner = inner.__aiter__()
        self._closer = inner
        self._keeper: BodyKeeper | None = keeper
        self._on_end = on_end

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await self._inner.__anext__()
        except StopAsyncIteration:
            if self._keeper is not None:
                keeper, self._keeper = self._keeper, None
                keeper.complete()
            self._end()
            raise
        except Exception:  # the origin broke off: nothing whole to keep (a cancellation is followed by aclose)
            self._drop()
            self._end()
            raise
        if self._keeper is not None:
            self._keeper.add(chunk)
        return chunk

    def _drop(self) -> None:
        if self._keeper is not None:
            keeper, self._keeper = self._keeper, None
            keeper.discard()

    def _end(self) -> None:
        if self._on_end is not None:
            end, self._on_end = self._on_end, None
            end()

    async def aclose(self) -> None:
        self._drop()
        try:
            await self._closer.aclose()
        finally:
            self._end()

    async def settle(self) -> None:
        try:
            async for _ in self:
                pass
        except Exception:  # noqa: BLE001 - the origin broke off: there is nothing whole to keep
            pass
        await self.aclose()


@dataclass
class Response:
    """A response from an origin, the cache, a function or an error."""

    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    status_description: str | None = None
    # An origin's body that goes to the viewer as it arrives, `body` then being b"": set only where
    # nothing at the edge needs the body whole (pipeline.py, origin_side.py). Whoever replaces the
    # body drops it.
    stream: BodyStream | None = None
    # The origin's own Transfer-Encoding line (key, value): framing is edgesim's, so it is not in
    # `headers`, but an origin-response function sees it as on CloudFront (event.py, spec §2.6).
    origin_transfer_encoding: tuple[str, str] | None = None
    # What edgesim can tell the developer about this answer beyond what CloudFront shows (a local
    # folder's missing file behind S3's 403): the origin side puts it in the trace's notes.
    origin_note: str | None = None

    def copy(self) -> Response:
        return Response(self.status, self.headers.copy(), self.body, self.status_description, self.stream,
                        self.origin_transfer_encoding)

    async def read_whole(self) -> None:
        """Receive a streamed body whole into `body`: for the cache, compression, an error page."""
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                self.body = await stream.read()
            finally:
                await stream.aclose()
