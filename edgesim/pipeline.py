"""viewer-request -> cache -> origin-request -> origin -> origin-response -> viewer-response.

Every skip and short-circuit rule of CloudFront's request flow (spec §3.1) lives in `Pipeline.handle`
and reads top to bottom in CloudFront's order. Errors a function or an origin causes propagate as
`errors.ViewerError`; the simulator turns them into CloudFront's error page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.utils import formatdate

from edgesim import forwarding
from edgesim import stale as stale_rules
from edgesim.cache import CacheEntry, EdgeCache, LookupKind, compute_ttl, merge_not_modified, viewer_not_modified
from edgesim.cache_key import CacheKey, cache_key, is_cached_method, range_key
from edgesim.cloudfront_headers import add_cloudfront_headers, requested_headers, take_viewer_override
from edgesim.compression import compress_at_edge, would_compress
from edgesim.config import CustomErrorResponse, DefaultCacheBehavior, DistributionConfig, Origin, OriginGroup
from edgesim.error_responses import custom_error_answer, error_caching_min_ttl, find_rule, page_request
from edgesim.errors import MethodNotAllowed, OriginConnectionError, OriginTimeout, ViewerError
from edgesim.messages import BodyStream, EventType, Request, Response, StoredWhenComplete, include_body_limit
from edgesim.origin import OriginFetcher
from edgesim.origin_request_policy import set_cookies_for_viewer_and_cache, vary_for_viewer
from edgesim.ranges import edge_range
from edgesim.response_headers import apply_response_headers_policy, preflight_response
from edgesim.routing import compile_pattern
from edgesim.runtime import EdgeFunction, TriggerCall, TriggerResult
from edgesim.signed_access import TrustedKeys, check_viewer_access, trusted_keys
from edgesim.trace import OriginTrace, Trace, TriggerTrace
from edgesim.viewer_protocol import apply_viewer_protocol_policy

# The only methods an origin group fails over for (DG/RequestAndResponseBehaviorOriginGroups).
FAILOVER_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
GENERATED_X_CACHE = {
    "cloudfront-function": "FunctionGeneratedResponse from cloudfront",
    "lambda": "LambdaGeneratedResponse from cloudfront",
}


@dataclass(frozen=True)
class Behavior:
    """A cache behavior with the functions associated with its trigger points."""

    config: DefaultCacheBehavior
    functions: Mapping[EventType, EdgeFunction] = field(default_factory=dict)


@dataclass
class Exchange:
    """One request's state as it crosses the pipeline."""

    request: Request
    request_id: str
    behavior: Behavior
    trace: Trace
    now: float
    # Origin bodies opened as streams; those the viewer does not get are closed at the end (`handle`).
    streams: list[BodyStream] = field(default_factory=list)

    def track(self, inner: BodyStream, outer: BodyStream) -> BodyStream:
        """`outer` (wrapping `inner`) replaces it among the streams to close."""
        self.streams[self.streams.index(inner)] = outer
        return outer

    async def close_streams(self, keep: BodyStream | None = None, *, settle: bool = True) -> None:
        """Done with every stream but `keep`: settled (an object being stored is read whole into the
        cache, as CloudFront caches what the origin sent whatever a viewer trigger makes of it), or
        on cancellation only stopped."""
        for stream in self.streams:
            if stream is not keep:
                await (stream.settle() if settle else stream.aclose())
        self.streams.clear()


class Pipeline:
    """The request flow of one loaded distribution."""

    def __init__(
        self,
        config: DistributionConfig,
        behaviors: Sequence[Behavior],
        fetcher: OriginFetcher,
        clock: Callable[[], float] = time.time,
        cache: EdgeCache | None = None,
    ) -> None:
        # `behaviors` follows config.behaviors(): the ordered cache behaviors, then the default.
        self.config = config
        self.settings = config.distribution
        self.origins: dict[str, Origin | OriginGroup] = config.origin_map()
        self.fetcher = fetcher
        self.clock = clock
        self._ordered = [(compile_pattern(b.config.path_pattern), b) for b in behaviors[:-1]]
        self._default = behaviors[-1]
        self._via = f"1.1 {forwarding.via_host(self.settings)} (CloudFront)"
        # None turns the edge cache off (`serve --no-cache`): every request goes to the origin.
        self.cache = cache
        # Origin fetches for objects served within stale-while-revalidate (stale.py); closed with the pipeline.
        self.refreshes = stale_rules.BackgroundRefreshes()
        # The CloudFront-added headers each behavior's policies ask for (spec §2.6), by behavior.
        self._cloudfront_headers = {
            id(b): requested_headers(b.config.cache_policy, b.config.origin_request_policy) for b in behaviors
        }
        # Restricted viewer access: the public keys each such behavior trusts, loaded once here.
        self._trusted_keys: dict[int, TrustedKeys] = {
            id(b): trusted_keys(config.key_groups, b.config.trusted_key_groups)
            for b in behaviors if b.config.trusted_key_groups
        }

    def behavior_for(self, path: str) -> Behavior:
        """First match in declared order on the original path; the default last (spec §4.1)."""
        for regex, behavior in self._ordered:
            if regex.fullmatch(path) is not None:
                return behavior
        return self._default

    async def handle(self, viewer: Request, request_id: str, trace: Trace) -> Response:
        """The viewer's answer. Its body may be a stream from the origin, for the caller to send and
        close; any other origin body opened on the way is closed here."""
        behavior = self.behavior_for(viewer.uri)
        trace.behavior = behavior.config.path_pattern
        ex = Exchange(viewer, request_id, behavior, trace, self.clock())
        try:
            response = await self._request_flow(ex)
        except Exception:
            await ex.close_streams()
            raise
        except BaseException:
            await ex.close_streams(settle=False)
            raise
        await ex.close_streams(keep=response.stream)
        return response

    async def _request_flow(self, ex: Exchange) -> Response:
        """CloudFront's order, from the viewer's request to the viewer's response (spec §3.1)."""
        viewer, behavior, trace = ex.request, ex.behavior, ex.trace
        viewer.origin = self.origins[behavior.config.target_origin]
        # The developer's X-Edgesim-Viewer-* override is read and removed before anything sees it.
        profile = take_viewer_override(viewer, self.config.viewer)

        redirect = apply_viewer_protocol_policy(behavior.config.viewer_protocol_policy, viewer, self.settings,
                                                trace.notes)
        if redirect is not None:  # no edge function runs for the automatic redirect (spec §3.1)
            return self._finish(ex, redirect, "Redirect from cloudfront", generated=True)
        if viewer.method not in behavior.config.allowed_methods:
            raise MethodNotAllowed(f"{viewer.method} is not in the allowed methods of behavior "
                                   f"{behavior.config.path_pattern!r}: {list(behavior.config.allowed_methods)}")

        # Restricted viewer access: a signed URL or signed cookies, checked before any function runs
        # (UNCERTAIN, signed_access.py). Behaviors without trusted key groups pay this one check.
        if behavior.config.trusted_key_groups:
            check_viewer_access(viewer, self._trusted_keys[id(behavior)], now=ex.now)

        # CloudFront-added headers: a CloudFront Function at viewer-request sees them, a Lambda@Edge
        # viewer-request does not, as CloudFront adds them after it (spec §1.2, §2.6).
        cloudfront_headers = self._cloudfront_headers[id(behavior)]
        cff_first = self._viewer_request_kind(ex) == "cloudfront-function"
        if cloudfront_headers and cff_first:
            add_cloudfront_headers(ex.request, cloudfront_headers, profile)

        # viewer-request: a generated response goes straight to the viewer, not cached, and
        # viewer-response does not run for it (spec §3.1; UNCERTAIN for CFF, we follow the L@E rule).
        result = await self._trigger(ex, EventType.VIEWER_REQUEST)
        if result is not None and result.response is not None:
            return self._finish(ex, result.response, GENERATED_X_CACHE[self._kind(ex, EventType.VIEWER_REQUEST)],
                                generated=True)
        if result is not None and result.request is not None:
            ex.request = result.request
        if cloudfront_headers and not cff_first:
            add_cloudfront_headers(ex.request, cloudfront_headers, profile)

        # cache lookup on the key computed now, after viewer-request; origin triggers run on a miss only.
        response, x_cache, origin_status = await self._through_cache(ex)

        # The response headers policy: after the cache, before viewer-response (spec §3.1).
        apply_response_headers_policy(response, behavior.config.response_headers_policy, ex.request, now=ex.now)

        # viewer-response is skipped when the origin answered 400 or more (spec §3.1).
        response.headers.set("Via", self._via)
        if origin_status is None or origin_status < 400:
            result = await self._trigger(ex, EventType.VIEWER_RESPONSE, response)
            if result is not None and result.response is not None:
                response = result.response
        return self._finish(ex, response, x_cache, generated=False)

    async def _through_cache(self, ex: Exchange) -> tuple[Response, str, int | None]:
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
                response, x_cache, origin_status = await self._origin_side(ex)
            except (OriginConnectionError, OriginTimeout) as err:
                return await self._unreachable_origin_page(ex, err)
            response, _ = set_cookies_for_viewer_and_cache(response, ex.request, policy, config.origin_request_policy)
            return await self._custom_error(ex, response, origin_status), x_cache, origin_status
        key = cache_key(ex.request, policy)
        # A Range GET (DG/RangeGETs, ranges.py): the one lookup a request without Range pays.
        wanted = ex.request.headers.get("range")
        found = cache.lookup(key)
        if found.kind is LookupKind.HIT and found.entry is not None:
            ex.trace.cache = "Hit"
            return self._serve(ex, cache, found.entry, "Hit from cloudfront", wanted)
        if wanted is not None:  # a part the origin sent for the same Range, stored apart (cache_key.py)
            part = cache.lookup(range_key(key, wanted))
            if part.kind is LookupKind.HIT and part.entry is not None:
                ex.trace.cache = "Hit"
                return self._serve(ex, cache, part.entry, "Hit from cloudfront")
        expired = found.entry
        if (expired is not None and not expired.is_error
                and cache.clock.now() < stale_rules.windows(expired, policy.max_ttl).revalidate_until):
            return self._while_revalidate(ex, cache, key, expired, wanted)
        return await self._miss(ex, cache, key, expired, wanted)

    def _while_revalidate(self, ex: Exchange, cache: EdgeCache, key: CacheKey, expired: CacheEntry,
                          wanted: str | None) -> tuple[Response, str, int | None]:
        """Within the origin's stale-while-revalidate window: the expired object now, the origin asked
        in the background (DG/Expiration, stale-while-revalidate; stale.py)."""
        # The refresh's own copy of the request, taken now: the viewer's goes on to viewer-response.
        refresh = self._refresh_exchange(ex)
        started = self.refreshes.start(key, lambda: self._refresh(refresh, cache, key, expired))
        ex.trace.cache = "RefreshHit"
        ex.trace.notes.append("stale-while-revalidate: served the expired object; "
                              + ("origin asked in the background" if started else "a background refresh is running"))
        return self._serve(ex, cache, expired, stale_rules.STALE_WHILE_REVALIDATE_X_CACHE, wanted)

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
        try:
            await self._miss(ex, cache, key, expired)
        finally:
            await ex.close_streams()  # no viewer takes the refresh's answer: what is stored was read whole

    async def aclose(self) -> None:
        """Stop the background refreshes still running."""
        await self.refreshes.aclose()

    def _serve(self, ex: Exchange, cache: EdgeCache, entry: CacheEntry, x_cache: str,
               wanted: str | None = None) -> tuple[Response, str, int | None]:
        """A stored object with its Age; a 304 when it satisfies the viewer's conditional GET; the
        range `wanted` of it, a 206 or 416, when it is the whole object (DG/RangeGETs)."""
        served = cache.serve(entry)
        served = viewer_not_modified(ex.request, served) or served
        if wanted is not None:
            part = edge_range(ex.request, served, wanted)
            if part is not None and part.status == 416:
                # UNCERTAIN: an error, so Error from cloudfront and no viewer-response (spec §3.1).
                ex.trace.notes.append(f"Range {wanted}: 416, not satisfiable from the cached object")
                return part, "Error from cloudfront", 416
            if part is not None:
                ex.trace.notes.append(f"Range {wanted}: {part.status} from the cached object")
                served = part
        return served, _x_cache_hit(entry.origin_status, x_cache), entry.origin_status

    async def _miss(self, ex: Exchange, cache: EdgeCache, key: CacheKey, stale: CacheEntry | None,
                    wanted: str | None = None) -> tuple[Response, str, int | None]:
        """The origin side for a miss or an expired object, then the store (spec §4.3)."""
        # An expired object with an ETag or Last-Modified is revalidated: a 304 makes it a RefreshHit.
        conditional = stale.conditional_headers() if stale is not None else []
        unreachable: OriginConnectionError | OriginTimeout | None = None
        try:
            response, x_cache, origin_status = await self._origin_side(ex, conditional)
        except (OriginConnectionError, OriginTimeout) as err:
            if stale is None:
                return await self._unreachable_origin_page(ex, err)
            # No answer counts as a 5xx from the origin: CloudFront's own 502 / 504 (AD/HTTPStatusCodes).
            response, x_cache, origin_status, unreachable = stale.response, "", err.status, err
        rules = self.config.custom_error_responses
        policy = ex.behavior.config.cache_policy
        if stale is not None and not stale.is_error and origin_status is not None and origin_status >= 500:
            # An expired object is served rather than an origin's 5xx, and keeps being served from
            # the cache for the error caching minimum TTL before the origin is asked again
            # (AD/HTTPStatusCodes); with the origin's stale-if-error, only within its window
            # (DG/Expiration, stale-if-error; stale.py).
            now = cache.clock.now()
            until = stale_rules.windows(stale, policy.max_ttl).if_error_until
            if until is None or now < until:
                hold = float(error_caching_min_ttl(rules, origin_status))
                cache.extend(stale, hold if until is None else min(hold, until - now))
                ex.trace.cache = "Hit"
                ex.trace.notes.append(f"origin answered {origin_status}: served the expired cached object"
                                      + ("" if until is None else " (stale-if-error)"))
                return self._serve(ex, cache, stale, "Hit from cloudfront", wanted)
            ex.trace.notes.append(f"origin answered {origin_status}: past the object's stale-if-error window")
            if unreachable is not None:
                return await self._unreachable_origin_page(ex, unreachable)
        if stale is not None and conditional and origin_status == 304 and response.status == 304:
            merged = merge_not_modified(stale.response, response)
            stored = cache.store(key, merged, compute_ttl(merged, policy, now=ex.now), path=stale.path,
                                 origin_status=stale.origin_status)
            ex.trace.cache = "RefreshHit"
            return self._serve(ex, cache, stored or stale, "RefreshHit from cloudfront", wanted)
        ex.trace.cache = "Miss"
        ttl = compute_ttl(response, policy, now=ex.now,
                          error_caching_min_ttl=error_caching_min_ttl(rules, origin_status or response.status))
        response = await self._custom_error(ex, response, origin_status)
        response, to_cache = set_cookies_for_viewer_and_cache(response, ex.request, policy,
                                                              ex.behavior.config.origin_request_policy)
        # A HEAD answer has no body to serve a later GET from, so only other methods store. The
        # origin's answer to a Range (its 206 or 416) is a part, kept apart from the object
        # (DG/RangeGETs), a custom error page for its 416 too; one no Range asked for is not kept.
        store_key: CacheKey | None = key
        if to_cache.status in (206, 416) or origin_status in (206, 416):
            store_key = range_key(key, wanted) if wanted is not None else None
        if ex.request.method != "HEAD" and store_key is not None:
            path = ex.request.url_path_and_query
            if to_cache.stream is not None and ttl > 0:
                # Sent on as it arrives and stored once whole, as CloudFront caches an object while
                # serving it (`close_streams` reads it whole if the viewer does not get it). The
                # head is taken now: the viewer's copy goes on to be edited.
                head = to_cache.copy()

                def store(body: bytes, key: CacheKey = store_key) -> None:
                    cache.store(key, replace(head, body=body, stream=None), ttl, path=path,
                                origin_status=origin_status)

                assert response.stream is to_cache.stream  # one origin body, for the viewer and the cache
                response.stream = ex.track(to_cache.stream, StoredWhenComplete(to_cache.stream, store))
            else:
                cache.store(store_key, to_cache, ttl, path=path, origin_status=origin_status)
        return response, x_cache, origin_status

    async def _unreachable_origin_page(self, ex: Exchange, err: ViewerError) -> tuple[Response, str, int | None]:
        """A custom error page for CloudFront's own 502 / 504 when the origin could not be reached;
        re-raises `err` (CloudFront's error page) when no rule with a page covers its status."""
        rule = find_rule(self.config.custom_error_responses, err.status)
        if rule is None or rule.response_page_path is None:
            raise err
        page = custom_error_answer(rule, await self._error_page(ex, rule))
        if page is None:
            raise err
        ex.trace.notes.append(f"{type(err).__name__}: custom error page {rule.response_page_path} as {page.status}")
        return page, "Error from cloudfront", err.status

    async def _custom_error(self, ex: Exchange, response: Response, origin_status: int | None) -> Response:
        """The distribution's custom error page for the origin's error status, if one is configured."""
        if origin_status is None or origin_status < 400:
            return response
        rule = find_rule(self.config.custom_error_responses, origin_status)
        if rule is None or rule.response_page_path is None:
            return response
        replaced = custom_error_answer(rule, await self._error_page(ex, rule))
        if replaced is None:
            ex.trace.notes.append(f"custom error page {rule.response_page_path} could not be fetched")
            return response
        ex.trace.notes.append(f"origin {origin_status}: custom error page {rule.response_page_path} "
                              f"as {replaced.status}")
        return replaced

    async def _error_page(self, ex: Exchange, rule: CustomErrorResponse) -> Response | None:
        """Fetch the error page through the behavior matching its path, via that behavior's cache.

        No viewer trigger runs for it (spec §3.1). UNCERTAIN: whether the page behavior's origin
        triggers run; edgesim does not run them."""
        request = page_request(ex.request, rule)
        behavior = self.behavior_for(request.uri)
        config = behavior.config
        request.origin = self.origins[config.target_origin]
        cache = self.cache if not config.cache_policy.caching_disabled else None
        key = cache_key(request, config.cache_policy)
        if cache is not None:
            found = cache.lookup(key)
            if found.kind is LookupKind.HIT and found.entry is not None:
                return cache.serve(found.entry)
        origin = forwarding.primary(request.origin, self.origins)
        sent = forwarding.origin_request(request, origin, self.settings, ex.request_id,
                                         cache_policy=config.cache_policy, cached_methods=config.cached_methods,
                                         origin_request_policy=config.origin_request_policy)
        try:
            page = await self._fetch(ex, sent)
        except ViewerError:
            return None
        if cache is not None:
            cache.store(key, page, compute_ttl(page, config.cache_policy, now=ex.now), path=request.uri,
                        origin_status=page.status)
        return page

    async def _origin_side(self, ex: Exchange, conditional: Sequence[tuple[str, str]] = ()) -> tuple[Response, str, int | None]:
        """origin-request -> origin -> origin-response, with origin-group failover (spec §3.1).

        Returns the response, its X-Cache value and the origin's status (None when origin-request
        generated the response)."""
        target = ex.request.origin
        assert target is not None
        members = self._members(target)
        failover = target.failover_status_codes if isinstance(target, OriginGroup) else ()
        if ex.request.method.upper() not in FAILOVER_METHODS:
            # CloudFront fails over only for GET, HEAD and OPTIONS; another method gets the primary's
            # answer, error or not (DG/RequestAndResponseBehaviorOriginGroups).
            members, failover = members[:1], ()
        last_error: ViewerError | None = None
        response: Response | None = None
        config = ex.behavior.config
        for attempt, origin in enumerate(members):
            request = forwarding.origin_request(ex.request, origin, self.settings, ex.request_id,
                                                cache_policy=config.cache_policy, cached_methods=config.cached_methods,
                                                origin_request_policy=config.origin_request_policy)
            for name, value in conditional:  # revalidating an expired object (spec §4.3)
                request.headers.set(name, value)
            # Lambda@Edge origin-request runs again for the secondary on failover (spec §3.1).
            result = await self._trigger(ex, EventType.ORIGIN_REQUEST, request=request)
            if result is not None and result.response is not None:
                # Generated at origin-request: skips the origin and origin-response (spec §3.1).
                kind = self._kind(ex, EventType.ORIGIN_REQUEST)
                return result.response, GENERATED_X_CACHE[kind], None
            if result is not None and result.request is not None:
                request = result.request
            final = attempt == len(members) - 1
            try:
                response = await self._fetch(ex, request, stream=True)
            except (OriginConnectionError, OriginTimeout) as err:
                # Failover when CloudFront cannot connect to the primary or its response takes too
                # long (AD/high_availability_origin_failover).
                last_error = err
                if final:
                    raise
                continue
            if response.status in failover and not final:
                continue
            break
        if response is None:
            assert last_error is not None
            raise last_error
        origin_status = response.status
        vary_for_viewer(response, request.method, config.cache_policy, config.origin_request_policy,
                        self._cloudfront_headers[id(ex.behavior)])
        # origin-response runs for every status, 4xx and 5xx included (spec §3.1).
        result = await self._trigger(ex, EventType.ORIGIN_RESPONSE, response, request=request)
        if result is not None and result.response is not None:
            response = result.response
        # Compress objects automatically: after origin-response, before the cache (compression.py).
        if response.stream is not None and would_compress(ex.request, response, config):
            await response.read_whole()
        response = compress_at_edge(ex.request, response, ex.behavior.config, ex.trace.notes)
        x_cache = "Error from cloudfront" if origin_status >= 400 else "Miss from cloudfront"
        return response, x_cache, origin_status

    def _members(self, target: Origin | OriginGroup) -> list[Origin]:
        if isinstance(target, OriginGroup):
            return [forwarding.primary(self.origins[m], self.origins) for m in (target.primary, target.secondary)]
        return [target]

    async def _fetch(self, ex: Exchange, request: Request, *, stream: bool = False) -> Response:
        """The origin's answer; with `stream`, its body may still be arriving (origin_client.py)."""
        origin = request.origin
        if isinstance(origin, OriginGroup):  # a function chose a group: start with its primary
            origin = forwarding.primary(origin, self.origins)
        assert origin is not None
        record = OriginTrace(origin.id, request.method, request.url_path_and_query)
        ex.trace.origin_requests.append(record)
        try:
            response = await self.fetcher.fetch(request, origin, stream=stream)
        except ViewerError as err:
            record.error = err.reason
            raise
        record.status = response.status
        if response.stream is not None:
            ex.streams.append(response.stream)
        return response

    async def _trigger(
        self, ex: Exchange, event_type: EventType, response: Response | None = None, *, request: Request | None = None
    ) -> TriggerResult | None:
        function = ex.behavior.functions.get(event_type)
        if function is None:
            return None
        call_request = (request or ex.request).copy()
        upload = call_request.body_stream
        if upload is not None and event_type.is_request and getattr(ex.behavior.config.functions.get(event_type),
                                                                    "include_body", False):
            # A Lambda@Edge include_body sees at most 40 KB / 1 MB of the body (spec §2.4): that much,
            # and a byte more to tell inputTruncated, is read now and kept to go to the origin first;
            # the rest is forwarded as it arrives, whole, unless the function replaces the body.
            call_request.body = await upload.peek(include_body_limit(event_type) + 1)
        call = TriggerCall(
            event_type=event_type,
            request=call_request,
            request_id=ex.request_id,
            distribution=self.settings,
            behavior=ex.behavior.config,  # type: ignore[arg-type]
            origins=self.origins,
            response=response.copy() if response is not None else None,
            now=ex.now,
        )
        record = TriggerTrace(event_type, function.name, function.kind)
        ex.trace.triggers.append(record)
        started = time.perf_counter()
        try:
            result = await function.invoke(call)
        except ViewerError as err:
            record.duration_ms = (time.perf_counter() - started) * 1000
            record.error = f"{type(err).__name__}: {err.reason}"
            record.logs = list(err.logs)
            raise
        record.duration_ms = result.duration_ms or (time.perf_counter() - started) * 1000
        record.compute_utilization = result.compute_utilization
        record.cold_start = result.cold_start
        record.logs = list(result.logs)
        record.log_data = result.log_data
        record.event, record.output = result.event, result.output
        record.generated = result.generated
        if upload is not None and result.request is not None and result.request.body_stream is upload:
            result.request.body = b""  # not replaced: the stream still holds all of it, the part read included
        return result

    def _kind(self, ex: Exchange, event_type: EventType) -> str:
        return ex.behavior.functions[event_type].kind

    def _viewer_request_kind(self, ex: Exchange) -> str | None:
        function = ex.behavior.functions.get(EventType.VIEWER_REQUEST)
        return function.kind if function is not None else None

    def _finish(self, ex: Exchange, response: Response, x_cache: str, *, generated: bool) -> Response:
        """CloudFront's own response headers, added after every function has run (spec §1.3)."""
        headers = response.headers
        if generated:
            headers.set("Server", "CloudFront")
            headers.setdefault("Date", formatdate(usegmt=True))
        status = response.status
        if status == 204 or status == 304:
            # Neither has content (RFC 9110 §15.3.5, §15.4.5): a body a stub or a function gave is
            # dropped, as origin_client.py never reads one; a 204 has no Content-Length (§8.6).
            response.body, response.stream = b"", None
        if status == 204:
            headers.remove("content-length")
        elif response.stream is not None:
            pass  # sent on as it arrives: with the origin's Content-Length, else chunked (app.py)
        elif ex.request.method != "HEAD" or "content-length" not in headers:
            headers.set("Content-Length", str(len(response.body)))
        headers.set("Via", self._via)
        headers.set("X-Cache", x_cache)
        headers.set("X-Amz-Cf-Pop", self.settings.pop)
        headers.set("X-Amz-Cf-Id", ex.request_id)
        ex.trace.x_cache = x_cache
        ex.trace.status = response.status
        return response


def _x_cache_hit(origin_status: int | None, hit: str) -> str:
    """An error served from the cache still says Error (spec §4.3)."""
    return "Error from cloudfront" if origin_status is not None and origin_status >= 400 else hit
