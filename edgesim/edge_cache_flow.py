"""The edge cache's part of the request flow: Hit, RefreshHit, Miss, and what is stored.

Between viewer-request and the response headers policy (spec §3.1): a CORS preflight answered at
the edge, the bypass when caching is off for the behavior or the method, the lookup on the cache
key, a stored object served (with its Age, a 304 for a conditional GET, a byte range of it:
DG/RangeGETs), an expired object served within stale-while-revalidate while the origin is asked in
the background, revalidated with a conditional request (a 304 makes a RefreshHit), or held through
an origin's 5xx (stale-if-error, the error caching minimum TTL), and on a miss the origin side
(origin_side.py) then the store, streamed objects stored once whole, a large one spooled to a file
as it goes to the viewer (cache_files.py), served from it on later hits (spec §4, stale.py); a miss
for a key whose origin fetch is under way waits for it (request collapsing: request_collapsing.py).
cache.py is the store itself; this module decides when to look up and what to store.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from edgesim import stale as stale_rules
from edgesim.cache import CacheEntry, EdgeCache, LookupKind, compute_ttl, merge_not_modified, viewer_not_modified
from edgesim.cache_files import CachedFile, over_disk_limit
from edgesim.cache_key import CacheKey, cache_key, is_cached_method, range_key
from edgesim.config import CustomErrorResponse
from edgesim.custom_error_pages import CustomErrorPages
from edgesim.error_page import render_error
from edgesim.error_responses import error_caching_min_ttl
from edgesim.errors import CachedObjectLost, OriginConnectionError, OriginTimeout, ViewerError
from edgesim.exchange import Exchange
from edgesim.invalidation import InvalidationWatch
from edgesim.messages import Response, StoredWhenComplete
from edgesim.origin_request_policy import set_cookies_for_viewer_and_cache
from edgesim.origin_side import OriginSide
from edgesim.ranges import edge_range
from edgesim.request_collapsing import Flight, Flights
from edgesim.response_headers import preflight_response
from edgesim.trace import Trace


class EdgeCacheFlow:
    """The edge cache's part of one loaded distribution's request flow."""

    def __init__(self, cache: EdgeCache | None, origin_side: OriginSide, error_pages: CustomErrorPages,
                 rules: tuple[CustomErrorResponse, ...], clock: Callable[[], float], *,
                 request_collapsing: bool = True) -> None:
        # None turns the edge cache off (`serve --no-cache`): every request goes to the origin.
        self.cache = cache
        self.origin_side = origin_side
        self.error_pages = error_pages
        self.rules = rules  # the custom error responses, for their error caching minimum TTL
        self.clock = clock
        # Origin fetches for objects served within stale-while-revalidate (stale.py); closed with the pipeline.
        self.refreshes = stale_rules.BackgroundRefreshes()
        # The origin fetches under way by cache key, for request collapsing (request_collapsing.py);
        # None when the distribution turns it off.
        self.flights: Flights | None = Flights() if request_collapsing else None

    async def run(self, ex: Exchange) -> tuple[Response, str, int | None]:
        """Cache lookup, then on a miss the origin side, storing what may be stored (spec §3.1, §4).

        Returns the response, its X-Cache value and the origin's status (None when no origin answered)."""
        config = ex.behavior.config
        preflight = preflight_response(ex.request, config.response_headers_policy)
        if preflight is not None:  # a CORS preflight the response headers policy answers at the edge
            ex.trace.notes.append("CORS preflight answered at the edge by the response headers policy")
            return preflight, "Miss from cloudfront", None
        policy = config.cache_policy
        cache = self.cache
        if cache is None or policy.caching_disabled or not is_cached_method(ex.request.method, config.cached_methods):
            ex.trace.cache = "bypass"
            try:
                response, x_cache, origin_status = await self.origin_side.run(ex)
            except (OriginConnectionError, OriginTimeout) as err:
                return await self.error_pages.for_unreachable_origin(ex, err)
            response, _ = set_cookies_for_viewer_and_cache(response, ex.request, policy, config.origin_request_policy)
            return await self.error_pages.for_origin_status(ex, response, origin_status), x_cache, origin_status
        key = cache_key(ex.request, policy)
        # A Range GET (DG/RangeGETs, ranges.py): the one lookup a request without Range pays.
        wanted = ex.request.headers.get("range")
        found = cache.lookup(key)
        expired = found.entry
        if found.kind is LookupKind.HIT and expired is not None:
            ex.trace.cache = "Hit"
            try:
                return self._serve(ex, cache, expired, "Hit from cloudfront", wanted)
            except CachedObjectLost as lost:
                _lost(ex, lost)
                expired = None
        if wanted is not None:  # a part the origin sent for the same Range, stored apart (cache_key.py)
            part = cache.lookup(range_key(key, wanted))
            if part.kind is LookupKind.HIT and part.entry is not None:
                ex.trace.cache = "Hit"
                try:
                    return self._serve(ex, cache, part.entry, "Hit from cloudfront")
                except CachedObjectLost as lost:
                    _lost(ex, lost)
        if (expired is not None and not expired.is_error
                and cache.clock.now() < stale_rules.windows(expired, policy.max_ttl).revalidate_until):
            return await self._while_revalidate(ex, cache, key, expired, wanted)
        flights = self.flights
        if flights is None:
            return await self._miss(ex, cache, key, expired, wanted)
        return await self._collapsing_miss(ex, cache, flights, key, expired, wanted)

    async def _collapsing_miss(self, ex: Exchange, cache: EdgeCache, flights: Flights, key: CacheKey,
                               expired: CacheEntry | None, wanted: str | None) -> tuple[Response, str, int | None]:
        """A miss, collapsed into the origin fetch for the same key already under way if there is one
        (DG/RequestAndResponseBehaviorCustomOrigin, request collapsing; request_collapsing.py)."""
        # A Range is fetched and stored apart (DG/RangeGETs), so it collapses only with the same Range.
        flight_key = key if wanted is None else range_key(key, wanted)
        flight, leads = flights.board(flight_key, ex.trace)
        if not leads:
            return await self._after_flight(ex, cache, key, wanted, flight)
        if ex.request.method == "HEAD":
            # A HEAD's answer is not stored (`_store`): it would leave the requests it held nothing.
            flights.land(flight)
            return await self._miss(ex, cache, key, expired, wanted)
        try:
            return await self._miss(ex, cache, key, expired, wanted, flight)
        finally:
            if not flight.streaming:  # else it lands when the streamed object ends (`_store`)
                flights.land(flight)

    async def _after_flight(self, ex: Exchange, cache: EdgeCache, key: CacheKey, wanted: str | None,
                            flight: Flight) -> tuple[Response, str, int | None]:
        """A request collapsed into another's origin fetch: once that lands, the object it stored (a
        Hit), its unreachable origin's error, or else an origin fetch of this request's own
        (request_collapsing.py). It runs no origin trigger unless it fetches."""
        leader = flight.leader.request_id
        await flight.wait()
        if flight.unreachable is not None:
            ex.trace.collapsed_into = leader
            ex.trace.notes.append(f"request collapsing: waited for request {leader}, which could not reach the origin")
            err = flight.unreachable
            return await self.error_pages.for_unreachable_origin(ex, type(err)(err.reason))
        found = cache.lookup(key)
        stale = found.entry
        served = None
        try:
            if found.kind is LookupKind.HIT and found.entry is not None:
                served = self._serve(ex, cache, found.entry, "Hit from cloudfront", wanted)
            elif wanted is not None and (part := cache.lookup(range_key(key, wanted))).kind is LookupKind.HIT \
                    and part.entry is not None:
                served = self._serve(ex, cache, part.entry, "Hit from cloudfront")
        except CachedObjectLost as lost:
            _lost(ex, lost)
            stale = None
        if served is None:
            ex.trace.notes.append(f"request collapsing: waited for request {leader}, whose answer was not stored; "
                                  "asked the origin itself")
            return await self._miss(ex, cache, key, stale, wanted)
        # UNCERTAIN: a collapsed request's X-Cache is a Hit (request_collapsing.py).
        ex.trace.cache = "Hit"
        ex.trace.collapsed_into = leader
        ex.trace.notes.append(f"request collapsing: served the answer to request {leader}'s origin fetch")
        return served

    async def _while_revalidate(self, ex: Exchange, cache: EdgeCache, key: CacheKey, expired: CacheEntry,
                          wanted: str | None) -> tuple[Response, str, int | None]:
        """Within the origin's stale-while-revalidate window: the expired object now, the origin asked
        in the background (DG/Expiration, stale-while-revalidate; stale.py)."""
        try:
            served = self._serve(ex, cache, expired, stale_rules.STALE_WHILE_REVALIDATE_X_CACHE, wanted)
        except CachedObjectLost as lost:
            _lost(ex, lost)
            return await self._miss(ex, cache, key, None, wanted)
        # The refresh's own copy of the request, taken now: the viewer's goes on to viewer-response.
        refresh = self._refresh_exchange(ex)
        started = self.refreshes.start(key, lambda: self._refresh(refresh, cache, key, expired))
        ex.trace.cache = "RefreshHit"
        ex.trace.notes.append("stale-while-revalidate: served the expired object; "
                              + ("origin asked in the background" if started else "a background refresh is running"))
        return served

    def _refresh_exchange(self, viewer: Exchange) -> Exchange:
        """The background fetch's own exchange and trace: `_miss` on it runs origin-request, the
        origin, origin-response and the store as for any expired object (a 304 refreshes it, a 5xx
        keeps it within the rules of `_miss`)."""
        request = viewer.request.copy()
        # The whole object, whatever part the viewer asked for: a part would not refresh it (DG/RangeGETs).
        request.headers.remove("range")
        if request.method == "HEAD":
            # UNCERTAIN: a HEAD's answer has no body to store, so the refresh asks with GET.
            request.method = "GET"
        trace = Trace(viewer.request_id, method=request.method, uri=request.url_path_and_query)
        return Exchange(request, viewer.request_id, viewer.behavior, trace, self.clock())

    async def _refresh(self, ex: Exchange, cache: EdgeCache, key: CacheKey, expired: CacheEntry) -> None:
        # Watched from before its origin request to after its answer is stored: an invalidation
        # meanwhile means nothing it brings back is stored (invalidation.py says which reading).
        watch = cache.watch(key, expired.path)
        try:
            await self._miss(ex, cache, key, expired, watch=watch)
        finally:
            try:
                await ex.close_streams()  # no viewer takes the refresh's answer: what is stored was read whole
            finally:
                cache.unwatch(watch)

    def _serve(self, ex: Exchange, cache: EdgeCache, entry: CacheEntry, x_cache: str,
               wanted: str | None = None) -> tuple[Response, str, int | None]:
        """A stored object with its Age; a 304 when it satisfies the viewer's conditional GET; the
        range `wanted` of it, a 206 or 416, when it is the whole object (DG/RangeGETs)."""
        if entry.body_file is not None:  # its body in a file (cache_files.py)
            return self._serve_file(ex, cache, entry, entry.body_file, x_cache, wanted)
        served = cache.serve(entry)
        served = viewer_not_modified(ex.request, served) or served
        if wanted is not None:
            part = _cached_range(ex, served, wanted)
            if part is not None and part.status == 416:
                # UNCERTAIN: an error, so Error from cloudfront and no viewer-response (spec §3.1).
                return part, "Error from cloudfront", 416
            if part is not None:
                served = part
        if entry.origin_status is not None and entry.origin_status >= 400:
            _note_stored_error(ex, entry)
        return served, _x_cache_hit(entry.origin_status, x_cache), entry.origin_status

    def _serve_file(self, ex: Exchange, cache: EdgeCache, entry: CacheEntry, body_file: CachedFile, x_cache: str,
                    wanted: str | None) -> tuple[Response, str, int | None]:
        """`_serve` for an object kept in a file, streamed from it: the same answers, the stream
        closed with the exchange unless the viewer gets it (a 304, a 416, a HEAD, a function
        replacing the body), a range reading only its own bytes. Apart, so that a hit on an object
        in memory pays one test for it (benchmarks.instructions: +0.2% instructions a hit with
        the garbage collector off)."""
        served = cache.serve_file(entry, body_file)
        if entry.origin_status is not None and entry.origin_status >= 400:
            _note_stored_error(ex, entry)
        whole = served.stream
        assert whole is not None
        ex.streams.append(whole)
        not_modified = viewer_not_modified(ex.request, served)
        if not_modified is not None:
            return not_modified, _x_cache_hit(entry.origin_status, x_cache), entry.origin_status
        if wanted is not None:
            part = _cached_range(ex, served, wanted)
            if part is not None and part.status == 416:
                return part, "Error from cloudfront", 416
            if part is not None:
                if part.stream is not None:
                    ex.track(whole, part.stream)  # the part's stream took over the file
                served = part
        if ex.request.method == "HEAD":
            served.stream = None  # its Content-Length says the size; no byte is read
        return served, _x_cache_hit(entry.origin_status, x_cache), entry.origin_status

    async def _miss(self, ex: Exchange, cache: EdgeCache, key: CacheKey, stale: CacheEntry | None,
                    wanted: str | None = None, flight: Flight | None = None,
                    watch: InvalidationWatch | None = None) -> tuple[Response, str, int | None]:
        """The origin side for a miss or an expired object, then the store (spec §4.3). `flight`, the
        fetch other requests may be waiting for (request collapsing), learns what its waiters get;
        `watch`, a background refresh's, keeps what an invalidation covered from being stored; a
        viewer's own fetch is watched here, from before its origin request until its answer is
        stored (a streamed one once whole), and an invalidation meanwhile leaves it served to the
        viewer but not stored (invalidation.py says which reading)."""
        if watch is None:
            watch = cache.watch(key, ex.request.url_path_and_query)
            try:
                return await self._miss(ex, cache, key, stale, wanted, flight, watch)
            finally:
                if not watch.streaming:  # else once the streamed body ends (`_store`)
                    cache.unwatch(watch)
        body_file = stale.body_file if stale is not None else None
        if body_file is None:
            return await self._origin_then_store(ex, cache, key, stale, wanted, flight, watch)
        if not body_file.intact():
            # Its file was removed or cut short from outside: nothing to revalidate or to hold
            # through an error, so a plain miss (CloudFront refetches an object an edge lost).
            assert stale is not None
            cache.drop(stale)
            ex.trace.notes.append("the expired cached object's file was removed or cut short from outside; "
                                  "fetched anew")
            return await self._origin_then_store(ex, cache, key, None, wanted, flight, watch)
        # An expired object kept in a file stays there while the origin is asked, as one in memory
        # stays with its entry, whatever an invalidation or eviction does meanwhile (cache_files.py).
        body_file.pin()
        try:
            return await self._origin_then_store(ex, cache, key, stale, wanted, flight, watch)
        finally:
            body_file.unpin()

    async def _origin_then_store(self, ex: Exchange, cache: EdgeCache, key: CacheKey, stale: CacheEntry | None,
                                 wanted: str | None, flight: Flight | None,
                                 watch: InvalidationWatch | None) -> tuple[Response, str, int | None]:
        # An expired object with an ETag or Last-Modified is revalidated: a 304 makes it a RefreshHit.
        conditional = stale.conditional_headers() if stale is not None else []
        unreachable: OriginConnectionError | OriginTimeout | None = None
        try:
            response, x_cache, origin_status = await self.origin_side.run(ex, conditional)
        except (OriginConnectionError, OriginTimeout) as err:
            if stale is None:
                return await self._unreachable(ex, cache, key, err, flight, watch)
            # No answer counts as a 5xx from the origin: CloudFront's own 502 / 504 (AD/HTTPStatusCodes).
            response, x_cache, origin_status, unreachable = stale.response, "", err.status, err
        policy = ex.behavior.config.cache_policy
        if stale is not None and not stale.is_error and origin_status is not None and origin_status >= 500:
            # The expired object rather than the origin's 5xx, while the rules allow (AD/HTTPStatusCodes).
            held = self._hold_through_error(ex, cache, stale, origin_status, wanted)
            if held is not None:
                return held
            if unreachable is not None:
                return await self._unreachable(ex, cache, key, unreachable, flight, watch)
        if stale is not None and conditional and origin_status == 304 and response.status == 304:
            merged = merge_not_modified(stale.response, response)
            stored = cache.store(key, merged, compute_ttl(merged, policy, now=ex.now), path=stale.path,
                                 origin_status=stale.origin_status, body_file=stale.body_file, watch=watch,
                                 notes=ex.trace.notes)
            ex.trace.cache = "RefreshHit"
            try:
                return self._serve(ex, cache, stored or stale, "RefreshHit from cloudfront", wanted)
            except CachedObjectLost as lost:  # its file went while the origin answered: asked again, whole
                _lost(ex, lost)
                return await self._origin_then_store(ex, cache, key, None, wanted, flight, watch)
        ex.trace.cache = "Miss"
        ex.trace.expired = stale is not None
        ttl = compute_ttl(response, policy, now=ex.now,
                          error_caching_min_ttl=error_caching_min_ttl(self.rules, origin_status or response.status))
        response = await self.error_pages.for_origin_status(ex, response, origin_status)
        response, to_cache = set_cookies_for_viewer_and_cache(response, ex.request, policy,
                                                              ex.behavior.config.origin_request_policy)
        pending = self._store(ex, cache, key, wanted, response, to_cache, ttl, origin_status, flight, watch)
        if pending is not None:  # a large body written to its file off the loop
            await pending
        return response, x_cache, origin_status

    async def _unreachable(self, ex: Exchange, cache: EdgeCache, key: CacheKey,
                           err: OriginConnectionError | OriginTimeout, flight: Flight | None,
                           watch: InvalidationWatch | None) -> tuple[Response, str, int | None]:
        """CloudFront's own 502 / 504 for an origin it could not reach (or the custom error page for
        it), stored for the error caching minimum TTL like the origin's own 502 / 504: "If the origin
        doesn't respond ... [it] is considered an HTTP 5xx error from the origin", and 502 and 504
        are always cached (AD/HTTPStatusCodes, spec §4.3), so the origin is not asked again meanwhile;
        a custom error response with `error_caching_min_ttl = 0` keeps it from being stored.
        UNCERTAIN: a hit on the stored page shows the first request's id in its body (CloudFront's
        own bytes are not documented); its X-Amz-Cf-Id header is the request's own (pipeline.py)."""
        if flight is not None:
            flight.unreachable = err
        ttl = float(error_caching_min_ttl(self.rules, err.status))
        store = ttl > 0 and ex.request.method != "HEAD"  # a HEAD's answer has no body to serve (`_store`)
        try:
            answer = await self.error_pages.for_unreachable_origin(ex, err)
        except ViewerError:
            if store:
                # Via and X-Amz-Cf-Pop are set afresh on every answer (pipeline.py), a hit's too.
                page = render_error(err, ex.request_id, via="", pop="")
                cache.store(key, page, ttl, path=ex.request.url_path_and_query, origin_status=err.status,
                            watch=watch, notes=ex.trace.notes)
            raise
        if store:
            cache.store(key, answer[0].copy(), ttl, path=ex.request.url_path_and_query, origin_status=err.status,
                        watch=watch, notes=ex.trace.notes)
        return answer

    def _hold_through_error(self, ex: Exchange, cache: EdgeCache, stale: CacheEntry, origin_status: int,
                            wanted: str | None) -> tuple[Response, str, int | None] | None:
        """The expired object instead of the origin's 5xx, or None when past its stale-if-error window.

        An expired object is served rather than an origin's 5xx, and keeps being served from the
        cache for the error caching minimum TTL before the origin is asked again
        (AD/HTTPStatusCodes); with the origin's stale-if-error, only within its window
        (DG/Expiration, stale-if-error; stale.py)."""
        now = cache.clock.now()
        until = stale_rules.windows(stale, ex.behavior.config.cache_policy.max_ttl).if_error_until
        if until is None or now < until:
            hold = float(error_caching_min_ttl(self.rules, origin_status))
            cache.extend(stale, hold if until is None else min(hold, until - now))
            try:
                served = self._serve(ex, cache, stale, "Hit from cloudfront", wanted)
            except CachedObjectLost as lost:
                _lost(ex, lost)
                return None
            ex.trace.cache = "Hit"
            ex.trace.notes.append(f"origin answered {origin_status}: served the expired cached object"
                                  + ("" if until is None else " (stale-if-error)"))
            return served
        ex.trace.notes.append(f"origin answered {origin_status}: past the object's stale-if-error window")
        return None

    def _store(self, ex: Exchange, cache: EdgeCache, key: CacheKey, wanted: str | None, response: Response,
               to_cache: Response, ttl: float, origin_status: int | None, flight: Flight | None = None,
               watch: InvalidationWatch | None = None) -> Coroutine[Any, Any, object] | None:
        """Store the origin's answer (`to_cache`, the one the viewer gets being `response`), a
        streamed one once it has arrived whole: only then does `flight` land. A large one already
        whole is stored by the coroutine returned, which writes its file off the loop."""
        # A HEAD answer has no body to serve a later GET from, so only other methods store. The
        # origin's answer to a Range (its 206 or 416) is a part, kept apart from the object
        # (DG/RangeGETs), a custom error page for its 416 too; one no Range asked for is not kept.
        store_key: CacheKey | None = key
        if to_cache.status in (206, 416) or origin_status in (206, 416):
            store_key = range_key(key, wanted) if wanted is not None else None
        if ex.request.method == "HEAD" or store_key is None:
            return None
        path = ex.request.url_path_and_query
        if to_cache.stream is not None and ttl > 0:
            length = to_cache.headers.get("content-length")
            if length is not None and length.isdigit() and not cache.fits(int(length)):
                # Known too large for the disk cap before a byte is written: not spooled at all,
                # and said before the request's log line is (it is written as a stream starts).
                ex.trace.notes.append(over_disk_limit(cache.max_disk))
                cache.store(store_key, to_cache, 0)  # as any object not cached: no older copy kept
                return None
            # Sent on as it arrives and stored once whole (`close_streams` reads it whole if the
            # viewer does not get it), spooled chunk by chunk as it goes: a large body into a file,
            # never whole in memory (cache_files.py). UNCERTAIN: the spec (§4.3) says what is
            # stored, not when; our reading is that CloudFront caches an object while serving it,
            # and keeps it only whole. The head is taken now: the viewer's copy goes on to be edited.
            head = to_cache.copy()
            notes = ex.trace.notes  # a note made once the body has ended still reaches the trace kept

            def store(body: bytes | CachedFile, key: CacheKey = store_key) -> None:
                if isinstance(body, bytes):
                    cache.store(key, replace(head, body=body, stream=None), ttl, path=path,
                                origin_status=origin_status, watch=watch, notes=notes)
                else:
                    cache.store(key, replace(head, body=b"", stream=None), ttl, path=path,
                                origin_status=origin_status, body_file=body, watch=watch, notes=notes)

            assert response.stream is to_cache.stream  # one origin body, for the viewer and the cache
            on_end: Callable[[], object] | None = None
            if flight is not None and self.flights is not None:
                # The requests collapsed into this fetch wait for the whole object (request_collapsing.py).
                flight.streaming, on_end = True, functools.partial(self.flights.land, flight)
            if watch is not None:
                # Watched until the body ends: an invalidation while it streams is one during its fetch.
                watch.streaming, on_end = True, functools.partial(_body_ended, cache, watch, on_end)
            response.stream = ex.track(to_cache.stream,
                                       StoredWhenComplete(to_cache.stream, cache.spool(store, notes), on_end))
        elif ttl > 0 and cache.to_file(len(to_cache.body)):
            # A large body already whole (a stub origin's, one a function replaced): its file written off the loop.
            return cache.store_in_file(store_key, to_cache, ttl, path=path, origin_status=origin_status, watch=watch,
                                       notes=ex.trace.notes)
        else:
            cache.store(store_key, to_cache, ttl, path=path, origin_status=origin_status, watch=watch,
                        notes=ex.trace.notes)
        return None

    async def aclose(self) -> None:
        """Stop the background refreshes still running."""
        await self.refreshes.aclose()


def _cached_range(ex: Exchange, served: Response, wanted: str) -> Response | None:
    """The 206 or 416 a Range asks of a cached object, said in the trace; None for the whole object."""
    part = edge_range(ex.request, served, wanted)
    if part is not None:
        what = "416, not satisfiable" if part.status == 416 else str(part.status)
        ex.trace.notes.append(f"Range {wanted}: {what} from the cached object")
    return part


def _body_ended(cache: EdgeCache, watch: InvalidationWatch, then: Callable[[], object] | None) -> None:
    """A streamed body stored (or given up): its fetch is no longer watched; then `then` (a flight landing)."""
    cache.unwatch(watch)
    if then is not None:
        then()


def _lost(ex: Exchange, lost: CachedObjectLost) -> None:
    """A cached object whose file was lost (the cache has dropped it): said in the trace, then a miss."""
    ex.trace.notes.append(f"{lost}; fetched from the origin again")


def _x_cache_hit(origin_status: int | None, hit: str) -> str:
    """An error served from the cache still says Error (spec §4.3)."""
    return "Error from cloudfront" if origin_status is not None and origin_status >= 400 else hit


def _note_stored_error(ex: Exchange, entry: CacheEntry) -> None:
    """Why an error came from the cache, not the origin (a developer who just started the origin, or
    fixed it, sees the same 502 or 404 again): errors are kept for their error caching minimum TTL
    (spec §4.3), during which CloudFront does not ask the origin. Said on the first hit of each
    stored error only: a favicon.ico's stored 404, asked for on every page, would repeat it."""
    if entry.error_explained:
        return
    entry.error_explained = True
    left = max(0, int(entry.expires_at() - ex.now))
    ex.trace.notes.append(
        f"the {entry.origin_status} stored {entry.age(ex.now)} s ago, kept {left} s more (its error caching minimum "
        "TTL, or its max-age): the origin is not asked meanwhile; `edgesim invalidate '/*'` drops it, and a "
        "[[custom_error_responses]] entry with error_caching_min_ttl = 0 keeps such errors from being stored")
