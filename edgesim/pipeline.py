"""viewer-request -> cache -> origin-request -> origin -> origin-response -> viewer-response.

Every skip and short-circuit rule of CloudFront's request flow (spec §3.1) lives in `Pipeline.handle`
and reads top to bottom in CloudFront's order; the trigger points run here (`_trigger`) and
CloudFront's own headers are added here (`_finish`, spec §1.3). The two sides of the flow have
modules of their own: the edge cache's part (edge_cache_flow.py: Hit, RefreshHit, Miss, the store,
custom error pages through custom_error_pages.py) and the origin side (origin_side.py:
origin-request -> origin -> origin-response, with origin-group failover). Errors a function or an
origin causes propagate as `errors.ViewerError`; the simulator turns them into CloudFront's error page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from email.utils import formatdate
from urllib.parse import quote

from edgesim import forwarding
from edgesim.cache import EdgeCache
from edgesim.cloudfront_headers import add_cloudfront_headers, requested_headers, take_viewer_override
from edgesim.config import DistributionConfig
from edgesim.custom_error_pages import CustomErrorPages
from edgesim.edge_cache_flow import EdgeCacheFlow
from edgesim.errors import AccessDenied, GeoBlocked, MethodNotAllowed, ViewerError
from edgesim.exchange import GENERATED_X_CACHE, Behavior, Exchange
from edgesim.geo_restriction import refusal as geo_refusal
from edgesim.messages import EventType, Request, Response, include_body_limit
from edgesim.origin import OriginFetcher
from edgesim.origin_config import Origin, OriginGroup
from edgesim.origin_side import OriginSide
from edgesim.response_headers import add_server_timing, apply_response_headers_policy
from edgesim.routing import compile_pattern, first_match
from edgesim.runtime import TriggerCall, TriggerResult
from edgesim.signed_access import TrustedKeys, check_viewer_access, trusted_keys
from edgesim.stale import BackgroundRefreshes
from edgesim.trace import Trace, TriggerTrace
from edgesim.viewer_protocol import apply_viewer_protocol_policy

# Behavior and Exchange stay importable from here, where the simulator and readers look for them.
__all__ = ["Behavior", "Exchange", "Pipeline"]


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
        self.clock = clock
        self._ordered = [(compile_pattern(b.config.path_pattern), b) for b in behaviors[:-1]]
        self._default = behaviors[-1]
        # The default root object as a request path, percent-encoded as a viewer would send it.
        root = self.settings.default_root_object
        self._root_object = "/" + quote(root, safe="/!$&'()*+,;=:@-._~") if root else ""
        self._via = f"1.1 {forwarding.via_host(self.settings)} (CloudFront)"
        # The CloudFront-added headers each behavior's policies ask for (spec §2.6), by behavior.
        self._cloudfront_headers = {
            id(b): requested_headers(b.config.cache_policy, b.config.origin_request_policy) for b in behaviors
        }
        # Restricted viewer access: the public keys each such behavior trusts, loaded once here.
        self._trusted_keys: dict[int, TrustedKeys] = {
            id(b): trusted_keys(config.key_groups, b.config.trusted_key_groups)
            for b in behaviors if b.config.trusted_key_groups
        }
        # The two sides of the flow, built once per loaded distribution. They get the parts they
        # need (the origins, the fetcher, this pipeline's `_trigger` and `behavior_for`), not the
        # pipeline; the calls per request are the same as when they were methods here. A `cache`
        # of None turns the edge cache off (`serve --no-cache`): every request goes to the origin.
        self.origin_side = OriginSide(self.settings, self.origins, fetcher, self._cloudfront_headers, self._trigger)
        self._geo = config.geo_restriction if config.geo_restriction.restriction_type != "none" else None
        self._error_pages = error_pages = CustomErrorPages(config.custom_error_responses, self.settings,
                                                           self.origins, self.behavior_for, cache,
                                                           self.origin_side.fetch)
        self.edge_cache = EdgeCacheFlow(cache, self.origin_side, error_pages, config.custom_error_responses, clock,
                                        request_collapsing=self.settings.request_collapsing)
        # Origin fetches for objects served within stale-while-revalidate (stale.py), run by the
        # edge cache's part and closed with the pipeline (`aclose`); the simulator waits on them.
        self.refreshes: BackgroundRefreshes = self.edge_cache.refreshes

    def behavior_for(self, path: str) -> Behavior:
        """First match in declared order on the original path, as CloudFront normalizes it (no `//`,
        `.` or `..` segments: routing.matching_path); the default last (spec §4.1)."""
        return first_match(self._ordered, self._default, path)

    async def handle(self, viewer: Request, request_id: str, trace: Trace) -> Response:
        """The viewer's answer. Its body may be a stream from the origin, for the caller to send and
        close; any other origin body opened on the way is closed here."""
        behavior = self.behavior_for(self._object_path(viewer))
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

    def _object_path(self, viewer: Request) -> str:
        """The path of the object asked for: the default root object's for the root URL, and only
        for it (CloudFront docs, "Specify a default root object"), else the viewer's.

        UNCERTAIN where CloudFront substitutes it; no source places it exactly. Our reading: the
        behavior is chosen on the object's path and every function sees it (CloudFront "rewrites the
        request" to it), while what answers the URL the viewer used, before any function (the
        viewer protocol policy's redirect, a signed URL's resource), still sees `/`."""
        return self._root_object if viewer.uri == "/" and self._root_object else viewer.uri

    async def _request_flow(self, ex: Exchange) -> Response:
        """CloudFront's order, from the viewer's request to the viewer's response (spec §3.1)."""
        viewer, behavior, trace = ex.request, ex.behavior, ex.trace
        viewer.origin = self.origins[behavior.config.target_origin]
        # The developer's X-Edgesim-Viewer-* override is read and removed before anything sees it.
        profile = take_viewer_override(viewer, self.config.viewer)

        # Geographic restrictions hold for the whole distribution: checked first, before anything a
        # behavior does (UNCERTAIN: the docs place them only as the edge "looks up your
        # distribution"; we take it that the viewer protocol policy, signed URLs and every function
        # come after). A custom error response for 403 may answer in place of CloudFront's page.
        if self._geo is not None and (why := geo_refusal(self._geo, profile.country)) is not None:
            page, x_cache, _ = await self._error_pages.for_cloudfront_error(ex, GeoBlocked(why))
            return self._finish(ex, page, x_cache, generated=False)

        redirect = apply_viewer_protocol_policy(behavior.config.viewer_protocol_policy, viewer, self.settings,
                                                trace.notes)
        if redirect is not None:  # no edge function runs for the automatic redirect (spec §3.1)
            return self._finish(ex, redirect, "Redirect from cloudfront", generated=True)
        if viewer.method not in behavior.config.allowed_methods:
            raise MethodNotAllowed(f"{viewer.method} is not in the allowed methods of behavior "
                                   f"{behavior.config.path_pattern!r}: {list(behavior.config.allowed_methods)}")

        # Restricted viewer access: a signed URL or signed cookies, checked before any function runs
        # (UNCERTAIN, signed_access.py). Behaviors without trusted key groups pay this one check. A
        # custom error response for 403 answers a refusal, as for the geographic restrictions
        # (UNCERTAIN: one practitioner's account, vrtdev's aws-cloudfront-authorizer write-up; the
        # Developer Guide words custom error pages for the origin's statuses only).
        if behavior.config.trusted_key_groups:
            try:
                check_viewer_access(viewer, self._trusted_keys[id(behavior)], now=ex.now)
            except AccessDenied as refused:
                page, x_cache, _ = await self._error_pages.for_cloudfront_error(ex, refused)
                return self._finish(ex, page, x_cache, generated=False)

        viewer.uri = self._object_path(viewer)
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

        # cache lookup on the key computed now, after viewer-request; origin triggers run on a miss
        # only (edge_cache_flow.py, then origin_side.py).
        response, x_cache, origin_status = await self.edge_cache.run(ex)

        # The response headers policy: after the cache, before viewer-response (spec §3.1).
        headers_policy = behavior.config.response_headers_policy
        apply_response_headers_policy(response, headers_policy, ex.request, now=ex.now)
        if headers_policy is not None and headers_policy.server_timing is not None:
            # The cache step's time stands for the origin's first-byte latency (edgesim does not
            # time the origin's first byte apart from it).
            elapsed_ms = (time.perf_counter() - ex.started) * 1000
            upstream_ms = elapsed_ms if ex.trace.origin_requests else None
            add_server_timing(response, headers_policy, ex.request, x_cache=x_cache, pop=self.settings.pop,
                              request_id=ex.request_id, upstream_ms=upstream_ms, downstream_ms=elapsed_ms)

        # viewer-response is skipped when the origin answered 400 or more (spec §3.1). CloudFront's own
        # Via is not in its event: _finish sets it after the function (read-only there, spec §1.4: a
        # function adding one is refused). A viewer-response event captured from CloudFront has none
        # (tomas-nobile/imageResizerServerless, Lambda@Edge), and aws-samples/amazon-cloudfront-functions'
        # redirect_maintain_uri_querystring, a viewer-response function, answers a response of its own
        # without one (our reading for CloudFront Functions: before, edgesim refused it with a 502).
        if origin_status is None or origin_status < 400:
            result = await self._trigger(ex, EventType.VIEWER_RESPONSE, response)
            if result is not None and result.response is not None:
                response = result.response
        return self._finish(ex, response, x_cache, generated=False)

    async def aclose(self) -> None:
        """Stop the background refreshes still running."""
        await self.edge_cache.aclose()

    async def _trigger(
        self, ex: Exchange, event_type: EventType, response: Response | None = None, *, request: Request | None = None
    ) -> TriggerResult | None:
        """Run the function associated with `event_type`, if any, recorded in the trace (spec §3.1).

        The origin side runs origin-request and origin-response through this too (origin_side.py)."""
        function = ex.behavior.functions.get(event_type)
        if function is None:
            return None
        # A CloudFront Function's runtime reads the call's request and response (its event is built
        # before its first await) and writes its result onto new objects (output.py): it gets this
        # exchange's own, not copies (two copies a request saved). A Lambda@Edge runtime may hand
        # them back as its result or fill in the body: it gets copies.
        shared = function.kind == "cloudfront-function"
        call_request = (request or ex.request) if shared else (request or ex.request).copy()
        upload = call_request.body_stream
        if upload is not None and not shared and event_type.is_request and getattr(
                ex.behavior.config.functions.get(event_type), "include_body", False):
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
            response=response.copy() if response is not None and not shared else response,
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
        record.logs = result.logs  # not copied: a Lambda@Edge invocation's are formatted only when read
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

