"""Where the edge cache keeps its large objects: files in a private temp directory, not memory.

CloudFront caches objects up to tens of GB on disk; edgesim, a light local tool, keeps bodies in
memory up to a byte budget (`distribution.cache_memory_limit_mb`, cache.py) and each body over
FILE_THRESHOLD (or over the whole budget, when that is smaller) in a file of its own here. A body
arriving from the origin as a stream goes to the viewer and into a `BodySpool` chunk by chunk: in
memory until it passes the threshold, then into its file, so a 200 MB object is never held whole.
A hit on a file-backed object is served as a `CachedFileBody`, read CHUNK bytes at a time as the
viewer takes them, a Range reading only its own bytes.

The directory is created on first need and removed by `CacheFiles.close` (the cache's `close`) and,
for whatever is still there, at interpreter exit. Each file is removed when its entry leaves the
cache (eviction, invalidation, clear, replacement). A viewer being sent one at that moment goes on
from its own open descriptor: the kernel frees the bytes when it is done.

The writes and reads stay on the event loop, as s3_origin.py's reads do: a 256 KiB write to or
pread from the page cache takes some tens of µs, while handing each to a thread costs several times
that in CPU (measured in s3_origin.py).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from collections.abc import Callable

from edgesim.errors import SimulatorError
from edgesim.messages import BodyKeeper, BodyStream, FileDescriptorBody, RangeableBody

# A body larger than this is kept in a file. Large enough that the pages, scripts, styles and images
# a developer's requests are mostly made of stay in memory, served without a system call (the hit
# path benchmarks.serve_cpu measures); small enough that the default 256 MiB budget holds at least
# 32 of the largest in-memory objects, and that videos, archives and big bundles go to disk.
FILE_THRESHOLD = 8 << 20
# Read size when serving a file-backed object: s3_origin.py's CHUNK, measured there (256 KiB chunks
# cost ~40% less CPU than 64 KiB ones, 1 MiB ones no less).
CHUNK = 256 << 10

# Every cache directory still present, removed at exit if no `close` removed it first.
_LIVE_DIRECTORIES: set[str] = set()


def _remove_live_directories() -> None:
    for directory in list(_LIVE_DIRECTORIES):
        shutil.rmtree(directory, ignore_errors=True)
    _LIVE_DIRECTORIES.clear()


atexit.register(_remove_live_directories)


class CachedFile:
    """One cached body in a file of its own; `release` removes it, once no one has it pinned.

    A pin holds the file while an expired object is revalidated (edge_cache_flow.py `_miss`): an
    invalidation or eviction meanwhile must not take the body a 304 refreshes or a 5xx is answered
    with, as it cannot take one held in memory from the entry the request holds."""

    __slots__ = ("path", "size", "released", "pins")

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        self.released = False
        self.pins = 0

    @property
    def present(self) -> bool:
        return not self.released or self.pins > 0

    def release(self) -> None:
        self.released = True
        if self.pins == 0:
            self._remove()

    def pin(self) -> None:
        self.pins += 1

    def unpin(self) -> None:
        self.pins -= 1
        if self.released and self.pins == 0:
            self._remove()

    def adopt(self) -> None:
        """Kept by a new entry (a refreshed object) after its old entry let it go while pinned."""
        assert self.present, "a cached file is adopted only while it is still there"
        self.released = False

    def _remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def open(self) -> CachedFileBody:
        """The whole body, as a stream with its own descriptor (it outlives a `release`)."""
        return CachedFileBody(os.open(self.path, os.O_RDONLY | os.O_CLOEXEC), self.size, [(0, self.size - 1)])

    def read(self) -> bytes:
        """The whole body at once (a custom error page's, which is used whole)."""
        with open(self.path, "rb") as f:
            return f.read()


class CacheFiles:
    """The cache's private temp directory and the files in it."""

    def __init__(self) -> None:
        self._directory: str | None = None

    def _dir(self) -> str:
        if self._directory is None:
            self._directory = tempfile.mkdtemp(prefix="edgesim-cache-")
            _LIVE_DIRECTORIES.add(self._directory)
        return self._directory

    def _new(self) -> tuple[int, str]:
        return tempfile.mkstemp(dir=self._dir(), suffix=".body")

    def write(self, body: bytes) -> CachedFile:
        """`body`, already whole in memory, kept in a file (the memory goes with the response)."""
        fd, path = self._new()
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view[:CHUNK]):]
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)
        return CachedFile(path, len(body))

    def spool(self, limit: int, on_complete: Callable[[bytes | CachedFile], object]) -> BodySpool:
        return BodySpool(self, limit, on_complete)

    def close(self) -> None:
        directory, self._directory = self._directory, None
        if directory is not None:
            _LIVE_DIRECTORIES.discard(directory)
            shutil.rmtree(directory, ignore_errors=True)


class BodySpool(BodyKeeper):
    """A streamed body on its way into the cache: chunks in memory up to `limit` bytes, then all of
    it in a file. `on_complete` gets the whole body, bytes or the CachedFile it is in."""

    def __init__(self, files: CacheFiles, limit: int, on_complete: Callable[[bytes | CachedFile], object]) -> None:
        self._files = files
        self._limit = limit
        self._on_complete = on_complete
        self._parts: list[bytes] = []
        self._size = 0
        self._fd: int | None = None
        self._path = ""

    def add(self, chunk: bytes) -> None:
        if self._failed:
            return
        self._size += len(chunk)
        fd = self._fd
        if fd is None:
            self._parts.append(chunk)
            if self._size <= self._limit:
                return
            fd, self._path = self._files._new()
            self._fd = fd
            chunks, self._parts = self._parts, []
        else:
            chunks = [chunk]
        try:
            for part in chunks:
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view):]
        except OSError:
            self.discard()  # a full disk: this object is not kept, the viewer still gets it
            self._failed = True

    _failed = False

    def complete(self) -> None:
        if self._failed:
            return
        fd, self._fd = self._fd, None
        if fd is None:
            parts, self._parts = self._parts, []
            self._on_complete(b"".join(parts))
            return
        os.close(fd)
        self._on_complete(CachedFile(self._path, self._size))

    def discard(self) -> None:
        self._parts = []
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
            os.unlink(self._path)


class CachedFileBody(RangeableBody, FileDescriptorBody):
    """Pieces of a cached file (the whole of it, or a Range's parts with their multipart lines), read
    CHUNK bytes at a time as the viewer takes them. Owns its descriptor: closed at the end, on
    `aclose`, or when the body is dropped."""

    def __init__(self, fd: int, size: int, pieces: list[bytes | tuple[int, int]]) -> None:
        self._fd: int | None = fd
        self.size = size
        self._pieces = pieces
        self._index = 0
        self._offset = -1  # within the current (first, last) piece; -1 before it starts

    def pieces(self, pieces: list[bytes | tuple[int, int]]) -> BodyStream:
        fd, self._fd = self._fd, None
        assert fd is not None, "a cached file's body is cut once, before it is read"
        return CachedFileBody(fd, self.size, pieces)

    def __aiter__(self) -> CachedFileBody:
        return self

    async def __anext__(self) -> bytes:
        fd = self._fd
        while fd is not None and self._index < len(self._pieces):
            piece = self._pieces[self._index]
            if isinstance(piece, bytes):
                self._index += 1
                return piece
            first, last = piece
            offset = first if self._offset < 0 else self._offset
            if offset > last:
                self._index, self._offset = self._index + 1, -1
                continue
            chunk = os.pread(fd, min(CHUNK, last + 1 - offset), offset)
            if not chunk:  # a file the cache wrote and nobody else writes cannot be shorter than it was
                self._close()
                raise SimulatorError(f"the cached object's file {fd} ended before its {self.size:,} bytes")
            self._offset = offset + len(chunk)
            # Let the loop's other work in between chunks, as s3_origin.py's FileBody does.
            await asyncio.sleep(0)
            return chunk
        self._close()
        raise StopAsyncIteration
