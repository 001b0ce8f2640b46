"""The edge cache: TTL rules, hit/stale/miss, invalidation; time from a Clock (clock.py).

Synchronous (but for writing a large body's file off the loop): the pipeline decides when to look
up and store (spec §3.1); this module knows how long a response may live (spec §4.3) and which
entries an invalidation removes (its paths: invalidation.py). The key itself comes from
cache_key.py, the 304s of revalidation from not_modified.py. Bodies are kept in memory up to a byte
budget, large ones in files up to a disk cap (cache_files.py).
"""

from __future__ import annotations

import enum
import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from edgesim.cache_files import FILE_THRESHOLD, BodySpool, CachedFile, CacheFiles, over_disk_limit
from edgesim.cache_key import CacheKey
# ManualClock / SystemClock are imported from here too, where they were before clock.py.
from edgesim.clock import CallableClock, Clock
from edgesim.clock import ManualClock as ManualClock
from edgesim.clock import SystemClock as SystemClock
from edgesim.errors import CachedObjectLost
# InvalidationPathError is imported from here too, where it was before invalidation.py.
from edgesim.invalidation import InvalidationPathError as InvalidationPathError
from edgesim.invalidation import InvalidationWatch, covers, invalidation_matcher
from edgesim.messages import Headers, Response
# Imported from here too, where they were before not_modified.py.
from edgesim.not_modified import merge_not_modified as merge_not_modified
from edgesim.not_modified import viewer_not_modified as viewer_not_modified
from edgesim.policies import CachePolicy

if TYPE_CHECKING:
    from edgesim.stale import StaleWindows

# --- TTL --------------------------------------------------------------------------------------

# Spec §4.3: cached for the error caching minimum TTL whatever the headers say ...
ERRORS_ALWAYS_CACHED = frozenset({404, 414, 500, 501, 502, 503, 504})
# ... and these only when the origin sends max-age or s-maxage.
ERRORS_CACHED_WITH_MAX_AGE = frozenset({400, 403, 405, 412, 415})
# ... and for these an origin's no-store / no-cache / private means "do not cache the error"; for
# every other cached error status CloudFront ignores them (DG/custom-error-pages-expiration; 410 is
# named there too but is not in the spec's list of cached statuses, so it is never cached here).
ERRORS_NOT_CACHED_WHEN_FORBIDDEN = frozenset({404, 410, 414, 501})
# Cached only when the origin sends Cache-Control; DefaultTTL does not apply (DG/http-3xx-status-codes).
REDIRECTS_CACHED_WITH_CACHE_CONTROL = frozenset({307, 308})
DEFAULT_ERROR_CACHING_MIN_TTL = 10


@dataclass(frozen=True)
class CacheControl:
    max_age: int | None = None
    s_maxage: int | None = None
    no_store: bool = False
    no_cache: bool = False
    private: bool = False
    stale_while_revalidate: int | None = None  # stale.py
    stale_if_error: int | None = None

    @classmethod
    def parse(cls, headers: Headers) -> CacheControl:
        values: dict[str, str | None] = {}
        for line in headers.get_all("cache-control"):
            for part in line.split(","):
                name, sep, value = part.strip().partition("=")
                if name:
                    values.setdefault(name.strip().lower(), value.strip().strip('"') if sep else None)
        return cls(
            max_age=_seconds(values.get("max-age")),
            s_maxage=_seconds(values.get("s-maxage")),
            no_store="no-store" in values,
            # `no-cache="Set-Cookie"` names fields, it does not forbid caching the response.
            no_cache="no-cache" in values and values["no-cache"] is None,
            private="private" in values and values["private"] is None,
            stale_while_revalidate=_seconds(values.get("stale-while-revalidate")),
            stale_if_error=_seconds(values.get("stale-if-error")),
        )


def _seconds(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)


def header_ttl(headers: Headers, now: float) -> float | None:
    """`s-maxage`, else `max-age`, else `Expires` - now; None when the origin said nothing (spec §4.3)."""
    cc = CacheControl.parse(headers)
    if cc.s_maxage is not None:
        return float(cc.s_maxage)
    if cc.max_age is not None:
        return float(cc.max_age)
    expires = headers.get("expires")
    if expires is None:
        return None
    try:
        when = parsedate_to_datetime(expires).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0  # an invalid Expires (`0`, `-1`) means already expired (RFC 9111 §5.3)
    return max(0.0, when - now)


def compute_ttl(response: Response, policy: CachePolicy, *, now: float,
                error_caching_min_ttl: int = DEFAULT_ERROR_CACHING_MIN_TTL) -> float:
    """Seconds `response` may be served from the cache; 0 means do not store it (spec §4.3)."""
    if policy.max_ttl == 0:
        return 0.0  # caching disabled (CachingDisabled: 0/0/0)
    status = response.status
    from_headers = header_ttl(response.headers, now)
    if status >= 400:
        cc = CacheControl.parse(response.headers)
        if status in ERRORS_NOT_CACHED_WHEN_FORBIDDEN and (cc.no_store or cc.no_cache or cc.private):
            return 0.0
        if status in ERRORS_ALWAYS_CACHED or (
            status in ERRORS_CACHED_WITH_MAX_AGE and (cc.max_age is not None or cc.s_maxage is not None)
        ):
            # The longer of the error caching minimum TTL and the origin's max-age / s-maxage /
            # Expires, which cannot exceed the behavior's MaxTTL (AD/HTTPStatusCodes,
            # DG/custom-error-pages-expiration).
            return float(max(error_caching_min_ttl, min(from_headers or 0.0, policy.max_ttl)))
        return 0.0
    if status < 200 or status == 304:
        return 0.0
    if status in REDIRECTS_CACHED_WITH_CACHE_CONTROL and "cache-control" not in response.headers:
        return 0.0
    # UNCERTAIN: the spec lists no other 2xx/3xx exclusions; 301 and 302 follow the TTL rules as a
    # 200 does (DG/http-3xx-status-codes).
    if policy.min_ttl == 0 and "vary" in response.headers and _varies_on_everything(response.headers):
        # "If your origin returns Vary:* ... and Minimum TTL is 0, CloudFront caches the object but
        # still forwards every subsequent request ... [without] any conditional headers"
        # (AD/RequestAndResponseBehaviorCustomOrigin, "Content negotiation"): as good as not stored.
        return 0.0
    cc = CacheControl.parse(response.headers)
    if cc.no_store or cc.no_cache or cc.private:
        # Respected only when MinTTL is 0; otherwise cached for MinTTL (spec §4.3).
        return float(policy.min_ttl)
    if from_headers is None:
        return float(max(policy.min_ttl, policy.default_ttl))
    return float(min(max(from_headers, policy.min_ttl), policy.max_ttl))


def _varies_on_everything(headers: Headers) -> bool:
    return any(part.strip() == "*" for value in headers.get_all("vary") for part in value.split(","))


# --- the cache --------------------------------------------------------------------------------


@dataclass
class CacheEntry:
    key: CacheKey
    response: Response
    stored_at: float
    ttl: float
    path: str  # uri plus "?query" as requested, for invalidation
    # The origin's status when the object was fetched: a custom error page stored as 200 still
    # skips viewer-response on later hits, as it did on the miss (spec §3.1).
    origin_status: int | None = None
    # Its stale-while-revalidate / stale-if-error windows, worked out when first found expired (stale.py).
    stale_windows: StaleWindows | None = None
    # A large body is kept in a file (cache_files.py), `response.body` then being b"".
    body_file: CachedFile | None = None
    # Bytes of body held in memory: what counts against the cache's memory budget.
    size: int = 0
    # A stored error's first hit said why the origin was not asked (edge_cache_flow._note_stored_error).
    error_explained: bool = False

    def expires_at(self) -> float:
        return self.stored_at + self.ttl

    def is_fresh(self, now: float) -> bool:
        return now < self.expires_at()

    def age(self, now: float) -> int:
        return max(0, int(now - self.stored_at))

    @property
    def is_error(self) -> bool:
        """A cached error (the origin's 4xx / 5xx, a custom error page included): not an object
        CloudFront serves expired in place of the origin's new 5xx (AD/HTTPStatusCodes)."""
        return self.origin_status is not None and self.origin_status >= 400

    @property
    def etag(self) -> str | None:
        return self.response.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.response.headers.get("last-modified")

    @property
    def revalidatable(self) -> bool:
        return self.etag is not None or self.last_modified is not None

    def conditional_headers(self) -> list[tuple[str, str]]:
        """What CloudFront sends the origin to revalidate an expired object (RefreshHit on 304)."""
        out: list[tuple[str, str]] = []
        if self.etag is not None:
            out.append(("If-None-Match", self.etag))
        if self.last_modified is not None:
            out.append(("If-Modified-Since", self.last_modified))
        return out


class LookupKind(str, enum.Enum):
    HIT = "hit"      # fresh: serve it, no origin
    STALE = "stale"  # expired but present: revalidate if it has validators, else fetch again
    MISS = "miss"


@dataclass(frozen=True)
class Lookup:
    kind: LookupKind
    entry: CacheEntry | None = None


DEFAULT_MEMORY_LIMIT = 256 << 20
DEFAULT_DISK_LIMIT = 2048 << 20


class EdgeCache:
    """One edge location's cache: keyed by CacheKey, reading time from a Clock, bounded by entry
    count, by the bytes of body it holds in memory and by those in files (least recently used out
    first for each), a body over FILE_THRESHOLD or over the whole memory budget kept in a file
    instead (cache_files.py), one over the whole disk cap served but not cached.

    UNCERTAIN: CloudFront evicts "less popular" objects when an edge needs room (DG/Expiration,
    spec §4 is silent on how); least recently used is our reading."""

    def __init__(self, clock: Clock | Callable[[], float] | None = None, *, max_entries: int = 10_000,
                 max_memory: int = DEFAULT_MEMORY_LIMIT, max_disk: int = DEFAULT_DISK_LIMIT) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if clock is None:
            clock = SystemClock()
        self.clock: Clock = clock if hasattr(clock, "now") else CallableClock(clock)  # type: ignore[arg-type]
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, CacheEntry] = OrderedDict()
        self._files = CacheFiles()
        self.memory_used = 0  # bytes of body held in memory, over every entry
        self.max_memory = max_memory
        self._file_above = FILE_THRESHOLD
        self.disk_used = 0  # bytes of body in files, over every entry
        self.max_disk = max_disk
        # The origin fetches under way, which an invalidation covering them marks (invalidation.py).
        self._watches: set[InvalidationWatch] = set()
        self.limit_memory(max_memory)
        self.limit_disk(max_disk)

    def limit_memory(self, max_memory: int) -> None:
        """Hold at most `max_memory` bytes of body in memory from now on (a reloaded config's budget)."""
        if max_memory < 1:
            raise ValueError("max_memory must be at least 1 byte")
        self.max_memory = max_memory
        # A body larger than the whole budget is not held in memory either: it goes to a file.
        self._file_above = min(FILE_THRESHOLD, max_memory)
        self._evict()

    def limit_disk(self, max_disk: int) -> None:
        """Keep at most `max_disk` bytes of body in files from now on (a reloaded config's cap)."""
        if max_disk < 1:
            raise ValueError("max_disk must be at least 1 byte")
        self.max_disk = max_disk
        self._evict()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: CacheKey) -> Lookup:
        entry = self._entries.get(key)
        if entry is None:
            return Lookup(LookupKind.MISS)
        self._entries.move_to_end(key)
        if entry.is_fresh(self.clock.now()):
            return Lookup(LookupKind.HIT, entry)
        return Lookup(LookupKind.STALE, entry)

    def store(self, key: CacheKey, response: Response, ttl: float, *, path: str | None = None,
              origin_status: int | None = None, body_file: CachedFile | None = None,
              watch: InvalidationWatch | None = None, notes: list[str] | None = None) -> CacheEntry | None:
        """Keep `response` for `ttl` seconds; a ttl of 0 stores nothing and drops any older copy.
        Its body is `body_file` when given (a streamed body spooled to a file, or a refreshed
        object's), else `response.body`, moved to a file of its own when large. Nothing is stored
        (nor dropped) for a fetch `watch`ed by an invalidation that covered it (invalidation.py); an
        object larger than the disk cap is not stored. `notes` (a trace's) hears why not."""
        if watch is not None and watch.invalidated:
            if notes is not None:
                notes.append("not cached: invalidated while its origin fetch was under way")
            if body_file is not None and body_file.pins == 0:
                body_file.release()  # a spooled file no entry has (a pinned one is its unpinner's)
            return None
        if ttl <= 0:
            old = self._entries.pop(key, None)
            if old is not None:
                self._forget(old)
            return None
        stored = response.copy()
        size_on_disk = body_file.size if body_file is not None else len(stored.body)
        if (body_file is not None or size_on_disk > self._file_above) and size_on_disk > self.max_disk:
            if notes is not None:
                notes.append(over_disk_limit(self.max_disk))
            if body_file is not None and body_file.pins == 0:
                body_file.release()
            return self.store(key, response, 0)
        if body_file is None and len(stored.body) > self._file_above:
            try:
                body_file = self._files.write(stored.body)
            except OSError:  # a full disk: not cached, as a body the cache could not take
                return self.store(key, response, 0)
        if body_file is not None:
            if not body_file.present:
                return self.store(key, response, 0)  # cannot happen: `_miss` pins what it refreshes
            body_file.adopt()
            stored.body, stored.stream = b"", None
        entry = CacheEntry(key, stored, self.clock.now(), ttl, path or key.uri, origin_status,
                           body_file=body_file, size=len(stored.body))
        old = self._entries.pop(key, None)
        if old is not None:
            self._forget(old, keep=body_file)
        self._entries[key] = entry
        self.memory_used += entry.size
        if body_file is not None:
            self.disk_used += body_file.size
        self._evict()
        return entry

    def to_file(self, size: int) -> bool:
        """Whether a whole body of `size` bytes would be kept in a file (within the disk cap)."""
        return self._file_above < size <= self.max_disk

    async def write_file(self, body: bytes) -> CachedFile | None:
        """A file holding `body`, written off the event loop (cache_files.py), for `store`'s
        `body_file`; None when the disk would not take it."""
        try:
            return await self._files.write_off_loop(body)
        except OSError:
            return None

    async def store_in_file(self, key: CacheKey, response: Response, ttl: float, *, path: str | None = None,
                            origin_status: int | None = None, watch: InvalidationWatch | None = None,
                            notes: list[str] | None = None) -> CacheEntry | None:
        """`store` for a body already whole in memory that `to_file` says goes to a file (a stub
        origin's, one a function replaced, a custom error page): the file written by a worker
        thread, so the loop serves other requests meanwhile; not cached on a full disk."""
        body_file = await self.write_file(response.body)
        if body_file is None:
            return self.store(key, response, 0)
        return self.store(key, response, ttl, path=path, origin_status=origin_status, body_file=body_file,
                          watch=watch, notes=notes)

    def fits(self, size: int) -> bool:
        """Whether a body of `size` bytes may be cached: in memory, or in a file within the disk cap."""
        return size <= self._file_above or size <= self.max_disk

    def spool(self, on_complete: Callable[[bytes | CachedFile], object], notes: list[str] | None = None) -> BodySpool:
        """Where a streamed body goes as it arrives, to be stored by `on_complete` once whole: in
        memory while it is small, else in a file (cache_files.py); given up once past the disk cap."""
        return self._files.spool(self._file_above, on_complete, disk_limit=self.max_disk, notes=notes)

    def _evict(self) -> None:
        """Least recently used first, until within the entry count, the memory budget and the disk cap."""
        entries = self._entries
        while len(entries) > self.max_entries:
            self._forget(entries.popitem(last=False)[1])
        if self.memory_used > self.max_memory:
            self._evict_bodies(self.memory_used - self.max_memory, on_disk=False)
        if self.disk_used > self.max_disk:
            self._evict_bodies(self.disk_used - self.max_disk, on_disk=True)

    def _evict_bodies(self, excess: int, *, on_disk: bool) -> None:
        """The least recently used entries whose bodies (in memory, or in files) free `excess` bytes."""
        entries = self._entries
        doomed = []
        for key, entry in entries.items():  # oldest first; only bodies where room is wanted count
            freed = (entry.body_file.size if entry.body_file is not None else 0) if on_disk else entry.size
            if freed:
                doomed.append(key)
                excess -= freed
                if excess <= 0:
                    break
        for key in doomed:
            self._forget(entries.pop(key))

    def _forget(self, entry: CacheEntry, keep: CachedFile | None = None) -> None:
        """`entry` has left the cache: its memory is freed, its file removed unless its successor
        `keep`s it (a 304 refreshing a file-backed object)."""
        self.memory_used -= entry.size
        if entry.body_file is not None:
            self.disk_used -= entry.body_file.size
            if entry.body_file is not keep:
                entry.body_file.release()

    def drop(self, entry: CacheEntry) -> None:
        """Remove `entry` if it is still the cache's object for its key: its file was lost."""
        if self._entries.get(entry.key) is entry:
            self._forget(self._entries.pop(entry.key))

    def watch(self, key: CacheKey, path: str) -> InvalidationWatch:
        """Watch an origin fetch for the object at `path` until `unwatch`: an invalidation covering
        it meanwhile marks it, and `store` then keeps nothing it brings back (invalidation.py)."""
        watch = InvalidationWatch(path, key.uri)
        self._watches.add(watch)
        return watch

    def unwatch(self, watch: InvalidationWatch) -> None:
        self._watches.discard(watch)


    def extend(self, entry: CacheEntry, seconds: float) -> None:
        """Keep an expired `entry` fresh for `seconds` more, its Age still counted from its fetch:
        how CloudFront goes on serving an expired object while the origin answers 5xx (AD/HTTPStatusCodes)."""
        if seconds > 0 and self._entries.get(entry.key) is entry:
            entry.ttl = max(entry.ttl, self.clock.now() + seconds - entry.stored_at)

    def serve(self, entry: CacheEntry) -> Response:
        """A copy of the stored response with its `Age` (spec §4.3), its body in memory; one kept in
        a file is served by `serve_file` or `serve_whole` (edge_cache_flow.py tells them apart)."""
        response = entry.response.copy()
        response.headers.set("Age", str(entry.age(self.clock.now())))
        return response

    def serve_file(self, entry: CacheEntry, body_file: CachedFile) -> Response:
        """`serve` for a body kept in a file: a stream read from it (a RangeableBody), with its
        Content-Length.
        Raises CachedObjectLost, having dropped `entry`, when its file was removed or cut short
        from outside; one cut short while read drops it then (cache_files.py)."""
        try:
            stream = body_file.open(functools.partial(self.drop, entry))
        except CachedObjectLost:
            self.drop(entry)
            raise
        response = self.serve(entry)
        response.stream = stream
        response.headers.set("Content-Length", str(body_file.size))
        return response

    def serve_whole(self, entry: CacheEntry) -> Response | None:
        """`serve`, a body in a file read whole (a custom error page's, which is used whole); None,
        having dropped `entry`, when its file was lost (removed or cut short from outside)."""
        response = self.serve(entry)
        if entry.body_file is not None:
            try:
                response.body = entry.body_file.read()
            except CachedObjectLost:
                self.drop(entry)
                return None
        return response

    def invalidate(self, paths: Iterable[str]) -> int:
        """Remove every object an invalidation of `paths` covers; returns how many went.

        An exact path removes every variant of that path (query strings, headers, cookies in the
        key) unless it names a query string itself; `/images/*` removes everything under /images/.
        """
        matchers = [invalidation_matcher(p) for p in paths]
        doomed = [key for key, entry in self._entries.items()
                  if any(covers(m, entry.path, key.uri) for m in matchers)]
        for key in doomed:
            self._forget(self._entries.pop(key))
        for watch in self._watches:
            watch.see(matchers)
        return len(doomed)

    def clear(self) -> int:
        """Remove every object (a reload's fresh start); the origin fetches under way store nothing."""
        for watch in self._watches:
            watch.invalidated = True
        count = len(self._entries)
        for entry in self._entries.values():
            self._forget(entry)
        self._entries.clear()
        return count

    def close(self) -> None:
        """Empty the cache and remove its files' directory."""
        self.clear()
        self._files.close()

