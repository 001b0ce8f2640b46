"""The origin side of the request flow: origin-request -> origin -> origin-response, with failover.

What CloudFront does for a request the edge cache does not answer (spec §3.1): the request as the
origin gets it (forwarding.py), the origin-request trigger (again for the secondary when an origin
group fails over: DG/RequestAndResponseBehaviorOriginGroups), the origin's answer (the fetcher),
the Vary the viewer sees, the origin-response trigger for every status, and automatic compression
before the cache. Every origin fetch is recorded in the trace and its body stream registered on
the `Exchange`, so that `Pipeline.handle` closes what the viewer does not get.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from edgesim import forwarding
from edgesim.compression import compress_at_edge, would_compress
from edgesim.config import DistributionSettings
from edgesim.errors import OriginConnectionError, OriginTimeout, ViewerError
from edgesim.exchange import GENERATED_X_CACHE, Exchange
from edgesim.messages import EventType, Request, Response
from edgesim.origin import OriginFetcher
from edgesim.origin_config import Origin, OriginGroup
from edgesim.origin_request_policy import vary_for_viewer
from edgesim.runtime import TriggerResult
from edgesim.trace import OriginTrace

# The only methods an origin group fails over for (DG/RequestAndResponseBehaviorOriginGroups).
FAILOVER_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RunTrigger(Protocol):
    """Runs the function associated with a trigger point, if any (`Pipeline._trigger`)."""

    async def __call__(self, ex: Exchange, event_type: EventType, response: Response | None = None, *,
                       request: Request | None = None) -> TriggerResult | None: ...


class OriginSide:
    """origin-request -> origin -> origin-response for one loaded distribution."""

    def __init__(self, settings: DistributionSettings, origins: dict[str, Origin | OriginGroup],
                 fetcher: OriginFetcher, cloudfront_headers: Mapping[int, frozenset[str]],
                 trigger: RunTrigger) -> None:
        self.settings = settings
        self.origins = origins
        self.fetcher = fetcher
        # The CloudFront-added headers each behavior's policies ask for, by id(behavior) (spec §2.6).
        self._cloudfront_headers = cloudfront_headers
        self._trigger = trigger

    async def run(self, ex: Exchange, conditional: Sequence[tuple[str, str]] = ()) -> tuple[Response, str, int | None]:
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
                # CloudFront answered it, not an origin, so it says `Server: CloudFront` as a
                # viewer-request one does (pipeline._finish); set here, before the cache stores
                # it, so that a hit on it says so too (spec §2.5).
                result.response.headers.set("Server", "CloudFront")
                kind = ex.behavior.functions[EventType.ORIGIN_REQUEST].kind
                return result.response, GENERATED_X_CACHE[kind], None
            if result is not None and result.request is not None:
                request = result.request
            final = attempt == len(members) - 1
            try:
                response = await self.fetch(ex, request, stream=True)
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
        # The origin's status decides, whatever origin-response made of it (a 404 turned into a 302
        # or a generated 200 stays an Error). UNCERTAIN for Lambda@Edge: no capture shows one; by
        # analogy with a custom error response, where x-edge-result-type (X-Cache's value) "will
        # still contain the result type of the response from the origin" when the viewer gets 200
        # (AD/custom-error-pages-response-code).
        x_cache = "Error from cloudfront" if origin_status >= 400 else "Miss from cloudfront"
        return response, x_cache, origin_status

    def _members(self, target: Origin | OriginGroup) -> list[Origin]:
        if isinstance(target, OriginGroup):
            return [forwarding.primary(self.origins[m], self.origins) for m in (target.primary, target.secondary)]
        return [target]

    async def fetch(self, ex: Exchange, request: Request, *, stream: bool = False) -> Response:
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
        if response.origin_note is not None:
            ex.trace.notes.append(response.origin_note)
        if response.stream is not None:
            ex.streams.append(response.stream)
        return response
