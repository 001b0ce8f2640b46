"""An S3 origin served from a local directory: GET and HEAD of its objects as S3 answers them.

S3 without ListBucket: 403 AccessDenied for a missing key, ETag (the MD5 of the object, as for a
single-part upload), Last-Modified, a 304 for a conditional GET, one byte range per request
(`_s3_range`). Nothing outside the directory is ever read (`_safe_path`).

No file is held whole in memory for being large. One up to WHOLE_FILE_LIMIT is read in one pread;
a larger one, when the caller takes a stream (`stream=True`: the viewer's own fetch, not a custom
error page's), goes out as a `FileBody`, read CHUNK bytes at a time as the viewer takes them
(app.py `_send_stream`: uvicorn's send waits while the socket is full, so the reads keep the
viewer's pace). A HEAD or a 304 reads no body byte; a Range reads only its bytes. The MD5 of a file
over HASH_INLINE_LIMIT is computed in a thread (~440 MB/s here: a 2 GB video would hold the loop
~5 s), once per (path, mtime, size), however many requests wait for it.

The reads themselves stay on the event loop. Measured here: a 256 KiB pread takes ~40 µs from the
page cache and about as much at the median from disk (the kernel's readahead), with a tail of
0.2-8 ms at p99; handing each chunk to a thread costs 3-5x the CPU of the read (~60-90 µs on the
loop, ~130-190 µs in all). UNCERTAIN whether a slow disk's tail deserves that price; preadv's
RWF_NOWAIT (read inline what is cached, the rest in a thread) would remove the tail if it does.

A file that changes while it is read (an editor saving it in place: its size or mtime moves) is
never served as a mix of two versions with the first one's ETag and length: a whole read starts
again from the new file; a stream already under way breaks off (OriginConnectionError, which cuts
the viewer's connection, app.py `BodyBrokenOff`) rather than send bytes its Content-Length did not
announce. UNCERTAIN: S3 would finish the version the GET began with; edgesim keeps no copy of it,
so it breaks off as an origin that fails mid-body does. A file deleted or replaced by a rename
while it streams goes on from the open file: the version the viewer started, whole and as
announced, as S3 serves a GET begun before an overwrite.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import functools
import hashlib
import mimetypes
import os
import stat as stat_mode
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote
from xml.sax.saxutils import escape

from edgesim.not_modified import viewer_not_modified
from edgesim.errors import OriginConnectionError
from edgesim.messages import FileDescriptorBody, Headers, Request, Response
from edgesim.origin_config import S3Origin
from edgesim.ranges import ByteRange, content_range, if_range_matches, parse_range, resolve

# Measured through the ASGI app (cache off, CPU per GET): streamed rather than read whole, a 64-256
# KiB file costs ~60-110 µs more (the stream's own machinery), a 1 MiB one ~8% more, while a 1 MiB
# pread holds the loop ~0.1 ms: above 1 MiB a stream, whose memory is one CHUNK. 256 KiB chunks
# cost ~40% less CPU than 64 KiB ones on a 16 MiB file, and 1 MiB ones no less than 256 KiB.
WHOLE_FILE_LIMIT = 1 << 20
CHUNK = 256 << 10
HASH_INLINE_LIMIT = 1 << 20
# A whole read that finds the file changed under it starts again this many times, then gives up.
_ATTEMPTS = 3
# O_NOFOLLOW: `_safe_path` resolved every symlink, so a link found at open time was put there since.
# O_NONBLOCK: a FIFO put there would otherwise block the open until a writer came.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class _ObjectMeta(NamedTuple):
    """What S3 says of an object besides its bytes, worked out once per version of the file."""

    etag: str
    last_modified: str
    content_type: str


class _Changed(Exception):
    """The file's size or mtime moved while it was read."""


class S3Directory:
    """Answers for every directory origin; keeps their objects' ETags."""

    def __init__(self) -> None:
        # Per (path, mtime, size): a file edited gets a new entry, as S3 a new object.
        self._metas: dict[tuple[str, int, int], _ObjectMeta] = {}
        self._hashing: dict[tuple[str, int, int], asyncio.Future[str]] = {}

    async def fetch(self, request: Request, origin: S3Origin, *, stream: bool = False) -> Response:
        """S3's answer for a bucket without ListBucket: GET/HEAD of objects (a byte range of one too),
        403 otherwise. With `stream`, a large object's body comes as a FileBody."""
        if request.method not in ("GET", "HEAD"):
            return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
        path = _safe_path(origin.directory, origin.path + request.uri)
        for _ in range(_ATTEMPTS):
            fd = _open(path) if path is not None else None
            if fd is None:
                # S3 answers 403, not 404, when the caller may not list the bucket.
                denied = _s3_error(403, "AccessDenied", "Access Denied")
                denied.origin_note = (f"directory origin {origin.id!r}: no file for {origin.path + request.uri} in "
                                      f"{origin.directory} (S3 answers 403 AccessDenied for a key it lacks)")
                return denied
            assert path is not None
            handed_on = False
            try:
                response = await self._answer(request, origin, path, fd, stream)
                handed_on = response.stream is not None
                return response
            except _Changed:
                continue
            except OSError as exc:
                raise OriginConnectionError(f"cannot read {path} for origin {origin.id!r}: {exc}") from None
            finally:
                if not handed_on:
                    os.close(fd)
        raise OriginConnectionError(f"cannot read {path} for origin {origin.id!r}: it kept changing while it was read")

    async def _answer(self, request: Request, origin: S3Origin, path: str, fd: int, stream: bool) -> Response:
        stat = os.fstat(fd)
        if not stat_mode.S_ISREG(stat.st_mode):
            denied = _s3_error(403, "AccessDenied", "Access Denied")
            denied.origin_note = f"directory origin {origin.id!r}: {path} is not a file (S3 answers 403 AccessDenied)"
            return denied
        meta = await self._meta(path, fd, stat)
        headers = Headers([
            ("Date", _date()),
            ("Last-Modified", meta.last_modified),
            ("ETag", meta.etag),
            ("Accept-Ranges", "bytes"),
            ("Content-Type", meta.content_type),
            ("Server", "AmazonS3"),
        ])
        # A conditional GET is answered with the same rule the edge cache applies (RFC 9110 §13).
        not_modified = viewer_not_modified(request, Response(200, headers))
        if not_modified is not None:
            return not_modified
        status, reason, start, size = 200, None, 0, stat.st_size
        wanted = request.headers.get("range")
        if wanted is not None:
            selected = _s3_range(request, wanted, headers, stat.st_size)
            if isinstance(selected, Response):
                return selected
            if selected is not None:
                first, last = selected
                headers.add("Content-Range", content_range(selected, stat.st_size))
                status, reason, start, size = 206, "Partial Content", first, last - first + 1
        headers.add("Content-Length", str(size))
        if request.method == "HEAD":
            return Response(status, headers, b"", reason)
        if stream and size > WHOLE_FILE_LIMIT:
            return Response(status, headers, b"", reason, FileBody(fd, start, size, stat, path, origin.id))
        return Response(status, headers, _read(fd, start, size, stat), reason)

    async def _meta(self, path: str, fd: int, stat: os.stat_result) -> _ObjectMeta:
        key = (path, stat.st_mtime_ns, stat.st_size)
        meta = self._metas.get(key)
        if meta is not None:
            return meta
        if stat.st_size <= HASH_INLINE_LIMIT:
            digest = _md5(fd, stat)
        else:
            # Off the loop, shared by every request that asks meanwhile; the thread reads its own
            # copy of the descriptor, so a request that gives up waiting cannot close it under it.
            pending = self._hashing.get(key)
            if pending is None:
                copy = os.dup(fd)
                pending = asyncio.get_running_loop().run_in_executor(None, _md5_and_close, copy, stat)
                self._hashing[key] = pending
                pending.add_done_callback(functools.partial(self._hashing_done, key))
            digest = await asyncio.shield(pending)
        # S3's ETag for a single-part upload is the MD5 of the object.
        meta = self._metas[key] = _ObjectMeta(f'"{digest}"', email.utils.formatdate(stat.st_mtime, usegmt=True),
                                              mimetypes.guess_type(os.path.basename(path))[0] or "binary/octet-stream")
        return meta

    def _hashing_done(self, key: tuple[str, int, int], done: asyncio.Future[str]) -> None:
        self._hashing.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have left before it ended


class FileBody(FileDescriptorBody):
    """`size` bytes of an open file from `start`, read CHUNK at a time as they are taken. Owns the
    descriptor: closed at the end, on `aclose`, or when the body is dropped."""

    def __init__(self, fd: int, start: int, size: int, stat: os.stat_result, path: str, origin_id: str) -> None:
        self._fd: int | None = fd
        self._offset = start
        self._left = size
        self._stat = stat
        self._path = path
        self._origin_id = origin_id

    def __aiter__(self) -> FileBody:
        return self

    async def __anext__(self) -> bytes:
        fd = self._fd
        if fd is None or self._left == 0:
            self._close()
            raise StopAsyncIteration
        wanted = min(CHUNK, self._left)
        try:
            chunk = os.pread(fd, wanted, self._offset)
            if len(chunk) != wanted or _moved(fd, self._stat):
                raise _Changed
        except (OSError, _Changed) as exc:
            self._close()
            why = "it changed while it was being read" if isinstance(exc, _Changed) else str(exc)
            raise OriginConnectionError(f"cannot read {self._path} for origin {self._origin_id!r}: {why}") from None
        self._offset += wanted
        self._left -= wanted
        # Let the loop's other work in between chunks: a viewer's socket that never fills would
        # otherwise keep this stream going without a pause.
        await asyncio.sleep(0)
        return chunk



def _open(path: str) -> int | None:
    try:
        return os.open(path, _OPEN_FLAGS)
    except OSError:
        return None


def _moved(fd: int, stat: os.stat_result) -> bool:
    now = os.fstat(fd)
    return now.st_size != stat.st_size or now.st_mtime_ns != stat.st_mtime_ns


def _read(fd: int, start: int, size: int, stat: os.stat_result) -> bytes:
    """`size` bytes from `start`, in one read (a small file or a caller that wants it whole)."""
    parts = []
    offset, end = start, start + size
    while offset < end:  # one pread unless the kernel returns less (over 2 GiB on Linux)
        part = os.pread(fd, end - offset, offset)
        if not part:
            raise _Changed
        parts.append(part)
        offset += len(part)
    if _moved(fd, stat):
        raise _Changed
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _md5(fd: int, stat: os.stat_result) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    offset = 0
    while offset < stat.st_size:
        chunk = os.pread(fd, min(CHUNK, stat.st_size - offset), offset)
        if not chunk:
            raise _Changed
        digest.update(chunk)
        offset += len(chunk)
    if _moved(fd, stat):
        raise _Changed
    return digest.hexdigest()


def _md5_and_close(fd: int, stat: os.stat_result) -> str:
    try:
        return _md5(fd, stat)
    finally:
        os.close(fd)


def _safe_path(root: Path, uri: str) -> str | None:
    """The file for `uri` under `root`, or None when it would leave the root by any route:
    `..` segments, encoded traversal (%2e%2e, %2f), NUL bytes, or symlinks pointing out.

    Strings and os.path, not pathlib: half the CPU of a small file's GET went to pathlib here. The
    root's own resolution is kept (a root swapped for a link later can only make more of what is
    asked fall outside it); every file's is fresh."""
    key = unquote(uri)
    if "\x00" in key or "\\" in key:
        return None
    parts = [p for p in key.split("/") if p]
    if any(p in ("..", ".") for p in parts) or not parts:
        return None
    root_resolved = _resolved_roots.get(root)
    if root_resolved is None:
        root_resolved = _resolved_roots[root] = os.path.realpath(root)
    try:
        resolved = os.path.realpath(os.path.join(root_resolved, *parts), strict=True)
    except (OSError, ValueError):
        return None
    if not resolved.startswith(root_resolved.rstrip(os.sep) + os.sep):
        return None
    return resolved


_resolved_roots: dict[Path, str] = {}


def _s3_range(request: Request, wanted: str, headers: Headers, length: int) -> ByteRange | Response | None:
    """S3's answer to a Range GET or HEAD of an object of `length` bytes: the byte range for a 206,
    a 416 InvalidRange, or None for the whole object with 200.

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
    selected = resolve(specs[0], length)
    if selected is None:
        # S3's InvalidRange names what was asked and the object's size.
        return _s3_error(416, "InvalidRange", "The requested range is not satisfiable",
                         f"<RangeRequested>{escape(wanted)}</RangeRequested><ActualObjectSize>{length}</ActualObjectSize>")
    return selected


class _Date:
    """S3's Date header, on every answer as S3 sends it: origin-response events captured from CloudFront
    in front of S3 all show one (li0nel/terraform-aws-cloudfront-image-compression
    lambda/code/origin_response/event.js, a 404; tomas-nobile/imageResizerServerless
    functions/response/event/event.js, a 200), so a handler may read it (spec §2.2: the origin's
    response headers). Formatted once a second, not per request."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second, self._value = now, email.utils.formatdate(now, usegmt=True)
        return self._value


_date = _Date()


_REQUEST_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _s3_request_ids() -> tuple[str, str]:
    """A fresh (x-amz-request-id, x-amz-id-2) pair, shaped as S3's: 16 upper-case letters and digits,
    and 56 random bytes in base64 (76 characters)."""
    raw = os.urandom(16)
    request_id = "".join(_REQUEST_ID_ALPHABET[b % len(_REQUEST_ID_ALPHABET)] for b in raw)
    return request_id, base64.b64encode(os.urandom(56)).decode("ascii")


def _s3_error(status: int, code: str, message: str, details: str = "") -> Response:
    """S3's XML error answer. It carries S3's `x-amz-request-id` and `x-amz-id-2`, a new pair each
    time, named in lower case as S3 writes them, the same ids as the body's RequestId and HostId:
    origin-response events of S3 404s captured from CloudFront all show both (from a REST endpoint:
    an image-recovery project's test event with an origin access identity, a favicon.ico 404 with
    authMethod none, a resize walkthrough's event; from a website endpoint:
    li0nel/terraform-aws-cloudfront-image-compression lambda/code/origin_response/event.js).
    UNCERTAIN: viewers get them here as any origin header (no capture of an S3 error through
    CloudFront shows its headers); and a 200 to a GET carries neither, as viewers' captures of S3
    objects through CloudFront show none (awslabs/speke-reference-server#37, a hit and a miss;
    aws-amplify/amplify-hosting#592) and no captured origin-response event of one does."""
    request_id, host_id = _s3_request_ids()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{details}"
        f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
    ).encode()
    return Response(status, Headers([("x-amz-request-id", request_id), ("x-amz-id-2", host_id), ("Date", _date()),
                                     ("Content-Type", "application/xml"), ("Server", "AmazonS3"),
                                     ("Content-Length", str(len(body)))]), body)
