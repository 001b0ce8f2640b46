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
cache (eviction, invalidation, clear, replacement, the disk cap `distribution.cache_disk_limit_mb`).
A viewer being sent one at that moment goes on from its own open descriptor: the kernel frees the
bytes when it is done.

A file removed or cut short by someone else (a temp cleaner, the user) is found on the hit that
opens it (one fstat) and raises CachedObjectLost: the cache drops the object and the request goes
to the origin as a miss, as CloudFront refetches an object an edge lost. One cut short while a hit
reads it breaks that viewer's body off (it has had all there was) and drops the object too. A
removed directory is made again for the next file.

The writes of a streamed body and the reads stay on the event loop, as s3_origin.py's reads do: a
256 KiB write to or pread from the page cache takes some tens of µs, while handing each to a thread
costs several times that in CPU (measured in s3_origin.py). A large body already whole in memory (a
stub origin's, one a function replaced, a custom error page) is written by a worker thread in one
hand-off (`write_off_loop`, through the cache's `store_in_file`): all of it at once would hold the
loop for some ms per 10 MB.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from collections.abc import Callable

from edgesim.errors import CachedObjectLost
from edgesim.messages import BodyKeeper, BodyStream, FileDescriptorBody, RangeableBody

# A body larger than this is kept in a file. Large enough that the pages, scripts, styles and images
# a developer's requests are mostly made of stay in memory, served without a system call (the hit
# path benchmarks.serve_cpu measures); small enough that the default 256 MiB budget holds at least
# 32 of the largest in-memory objects, and that videos, archives and big bundles go to disk.
FILE_THRESHOLD = 8 << 20
# Read size when serving a file-backed object: s3_origin.py's CHUNK, measured there (256 KiB chunks
# cost ~40% less CPU than 64 KiB ones, 1 MiB ones no less).
CHUNK = 256 << 10


def over_disk_limit(limit: int) -> str:
    """The trace's note for an object served but not cached: larger than the whole disk cap."""
    return f"not cached: the object is larger than cache_disk_limit_mb ({limit >> 20} MiB)"


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

    def intact(self) -> bool:
        """Whether the file is still there with all its bytes (no one removed or cut it short)."""
        try:
            return os.stat(self.path).st_size == self.size
        except OSError:
            return False

    def open(self, lost: Callable[[], object] | None = None) -> CachedFileBody:
        """The whole body, as a stream with its own descriptor (it outlives a `release`). Raises
        CachedObjectLost when the file was removed or is not its size (cut short from outside);
        `lost` is called if it goes short while read."""
        fd = self._open()
        return CachedFileBody(fd, self.size, [(0, self.size - 1)], lost)

    def read(self) -> bytes:
        """The whole body at once (a custom error page's, which is used whole); CachedObjectLost as `open`."""
        fd = self._open()
        try:
            with open(fd, "rb", closefd=False) as f:
                data = f.read()
        except OSError as err:
            raise self._lost(f"could not be read ({err.strerror})") from None
        finally:
            os.close(fd)
        if len(data) != self.size:
            raise self._lost(f"has {len(data):,} bytes of its {self.size:,}")
        return data

    def _open(self) -> int:
        # One fstat a hit, beside the open: a file cut short would otherwise be served with the
        # Content-Length of the whole and broken off mid-body (or answer a HEAD with a wrong size).
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as err:
            raise self._lost(f"could not be opened ({err.strerror})") from None
        size = os.fstat(fd).st_size
        if size != self.size:
            os.close(fd)
            raise self._lost(f"has {size:,} bytes of its {self.size:,}")
        return fd

    def _lost(self, what: str) -> CachedObjectLost:
        return CachedObjectLost(f"the cached object's file {self.path} {what}: removed or cut short from outside")


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
        directory = self._dir()
        try:
            return tempfile.mkstemp(dir=directory, suffix=".body")
        except FileNotFoundError:
            # The directory was removed from outside (a temp cleaner, the user): made again, so
            # large objects are cached again rather than every miss failing to spool.
            os.makedirs(directory, mode=0o700, exist_ok=True)
            return tempfile.mkstemp(dir=directory, suffix=".body")

    def write(self, body: bytes) -> CachedFile:
        """`body`, already whole in memory, kept in a file (the memory goes with the response)."""
        fd, path = self._new()
        _write_all(fd, path, body)
        return CachedFile(path, len(body))

    async def write_off_loop(self, body: bytes) -> CachedFile:
        """`write`, the bytes written by a worker thread: a body over FILE_THRESHOLD takes some ms
        per 10 MB to write (more on a slow disk), time the loop would otherwise not serve in. The
        file is made on the loop, so only one thread ever makes the directory."""
        fd, path = self._new()
        try:
            await asyncio.to_thread(_write_all, fd, path, body)
        except asyncio.CancelledError:
            # The thread finishes on its own and closes the file; nothing keeps it.
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            raise
        return CachedFile(path, len(body))

    def spool(self, limit: int, on_complete: Callable[[bytes | CachedFile], object], *, disk_limit: int,
              notes: list[str] | None = None) -> BodySpool:
        return BodySpool(self, limit, on_complete, disk_limit, notes)

    def close(self) -> None:
        directory, self._directory = self._directory, None
        if directory is not None:
            _LIVE_DIRECTORIES.discard(directory)
            shutil.rmtree(directory, ignore_errors=True)


def _write_all(fd: int, path: str, body: bytes) -> None:
    """All of `body` into the new file `fd` at `path`, closed after; removed if it could not be."""
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view[:CHUNK]):]
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)


class BodySpool(BodyKeeper):
    """A streamed body on its way into the cache: chunks in memory up to `limit` bytes, then all of
    it in a file. `on_complete` gets the whole body, bytes or the CachedFile it is in. A body past
    `disk_limit` (the cache's whole disk cap) is given up as soon as it passes it, said in `notes`."""

    def __init__(self, files: CacheFiles, limit: int, on_complete: Callable[[bytes | CachedFile], object],
                 disk_limit: int, notes: list[str] | None = None) -> None:
        self._files = files
        self._limit = limit
        self._on_complete = on_complete
        # A body kept in memory is not bounded by the disk cap: only one bound for a file counts.
        self._disk_limit = max(disk_limit, limit)
        self._notes = notes
        self._parts: list[bytes] = []
        self._size = 0
        self._fd: int | None = None
        self._path = ""

    def add(self, chunk: bytes) -> None:
        if self._failed:
            return
        self._size += len(chunk)
        fd = self._fd
        if self._size > self._disk_limit:
            # Larger than the whole disk cap: served, not cached, and not written any further.
            self.discard()
            self._failed = True
            if self._notes is not None:
                self._notes.append(over_disk_limit(self._disk_limit))
            return
        if fd is None:
            self._parts.append(chunk)
            if self._size <= self._limit:
                return
            chunks, self._parts = self._parts, []
        else:
            chunks = [chunk]
        try:
            if fd is None:
                fd, self._path = self._files._new()
                self._fd = fd
            for part in chunks:
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view):]
        except OSError:
            # A full disk, a directory that cannot be made: not kept, the viewer still gets it.
            self.discard()
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
            try:
                os.unlink(self._path)
            except FileNotFoundError:  # removed from outside already
                pass


class CachedFileBody(RangeableBody, FileDescriptorBody):
    """Pieces of a cached file (the whole of it, or a Range's parts with their multipart lines), read
    CHUNK bytes at a time as the viewer takes them. Owns its descriptor: closed at the end, on
    `aclose`, or when the body is dropped. A file cut short from outside while read calls `lost`
    (the cache drops the object, so the next request refetches it) and breaks the body off."""

    def __init__(self, fd: int, size: int, pieces: list[bytes | tuple[int, int]],
                 lost: Callable[[], object] | None = None) -> None:
        self._fd: int | None = fd
        self.size = size
        self._pieces = pieces
        self._index = 0
        self._offset = -1  # within the current (first, last) piece; -1 before it starts
        self._lost = lost

    def pieces(self, pieces: list[bytes | tuple[int, int]]) -> BodyStream:
        fd, self._fd = self._fd, None
        assert fd is not None, "a cached file's body is cut once, before it is read"
        return CachedFileBody(fd, self.size, pieces, self._lost)

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
            try:
                chunk = os.pread(fd, min(CHUNK, last + 1 - offset), offset)
            except OSError as err:
                raise self._broken(f"could not be read at byte {offset:,} ({err.strerror})") from None
            if not chunk:  # cut short by someone else (the cache never writes a file it serves)
                raise self._broken(f"ended at byte {offset:,} of its {self.size:,}")
            self._offset = offset + len(chunk)
            # Let the loop's other work in between chunks, as s3_origin.py's FileBody does.
            await asyncio.sleep(0)
            return chunk
        self._close()
        raise StopAsyncIteration

    def _broken(self, what: str) -> CachedObjectLost:
        self._close()
        if self._lost is not None:
            lost, self._lost = self._lost, None
            lost()
        return CachedObjectLost(f"the cached object's file {what}: cut short from outside")
