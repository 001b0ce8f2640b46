"""viewer-request -> cache -> origin-request -> origin -> origin-response -> viewer-response.

Every skip and short-circuit rule of CloudFront's request flow (spec §3.1) lives in `Pipeline.handle`
and reads top to bottom in CloudFront's order. Errors a function or an origin causes propagate as
`errors.ViewerError`; the simulator turns them into CloudFront's error page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate

from edgesim import forwarding
from edgesim.config import DefaultCacheBehavior, DistributionConfig, Origin, OriginGroup
from edgesim.errors import HttpsRequired, MethodNotAllowed, OriginConnectionError, ViewerError
from edgesim.messages import EventType, Headers, Request, Response
from edgesim.origin import OriginFetcher
from edgesim.routing import compile_pattern
from edgesim.runtime import EdgeFunction, TriggerCall, TriggerResult
from edgesim.trace import OriginTrace, Trace, TriggerTrace

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


class Pipeline:
    """The request flow of one loaded distribution."""

    def __init__(
        self,
        config: DistributionConfig,
        behaviors: Sequence[Behavior],
        fetcher: OriginFetcher,
        clock: Callable[[], float] = time.time,
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

    def behavior_for(self, path: str) -> Behavior:
        """First match in declared order on the original path; the default last (spec §4.1)."""
        for regex, behavior in self._ordered:
            if regex.fullmatch(path) is not None:
                return behavior
        return self._default

    async def handle(self, viewer: Request, request_id: str, trace: Trace) -> Response:
        behavior = self.behavior_for(viewer.uri)
        trace.behavior = behavior.config.path_pattern
        ex = Exchange(viewer, request_id, behavior, trace, self.clock())
        viewer.origin = self.origins[behavior.config.target_origin]

        redirect = self._viewer_protocol(ex)
        if redirect is not None:  # no edge function runs for the automatic redirect (spec §3.1)
            return self._finish(ex, redirect, "Redirect from cloudfront", generated=True)
        if viewer.method not in behavior.config.allowed_methods:
            raise MethodNotAllowed(f"{viewer.method} is not in the allowed methods of behavior "
                                   f"{behavior.config.path_pattern!r}: {list(behavior.config.allowed_methods)}")

        # viewer-request: a generated response goes straight to the viewer, not cached, and
        # viewer-response does not run for it (spec §3.1; UNCERTAIN for CFF, we follow the L@E rule).
        result = await self._trigger(ex, EventType.VIEWER_REQUEST)
        if result is not None and result.response is not None:
            return self._finish(ex, result.response, GENERATED_X_CACHE[self._kind(ex, EventType.VIEWER_REQUEST)],
                                generated=True)
        if result is not None and result.request is not None:
            ex.request = result.request

        # cache lookup: a pass-through until the edge cache lands; origin triggers then run on misses only.
        trace.cache = "Miss"
        response, x_cache, origin_status = await self._origin_side(ex)

        # viewer-response is skipped when the origin answered 400 or more (spec §3.1).
        response.headers.set("Via", self._via)
        if origin_status is None or origin_status < 400:
            result = await self._trigger(ex, EventType.VIEWER_RESPONSE, response)
            if result is not None and result.response is not None:
                response = result.response
        return self._finish(ex, response, x_cache, generated=False)

    async def _origin_side(self, ex: Exchange) -> tuple[Response, str, int | None]:
        """origin-request -> origin -> origin-response, with origin-group failover (spec §3.1).

        Returns the response, its X-Cache value and the origin's status (None when origin-request
        generated the response)."""
        target = ex.request.origin
        assert target is not None
        members = self._members(target)
        failover = target.failover_status_codes if isinstance(target, OriginGroup) else ()
        last_error: ViewerError | None = None
        response: Response | None = None
        for attempt, origin in enumerate(members):
            request = forwarding.origin_request(ex.request, origin, self.settings, ex.request_id)
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
                response = await self._fetch(ex, request)
            except OriginConnectionError as err:
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
        # origin-response runs for every status, 4xx and 5xx included (spec §3.1).
        result = await self._trigger(ex, EventType.ORIGIN_RESPONSE, response, request=request)
        if result is not None and result.response is not None:
            response = result.response
        x_cache = "Error from cloudfront" if origin_status >= 400 else "Miss from cloudfront"
        return response, x_cache, origin_status

    def _members(self, target: Origin | OriginGroup | str) -> list[Origin]:
        if isinstance(target, str):
            target = self.origins[target]
        if isinstance(target, OriginGroup):
            return [forwarding.primary(self.origins[m], self.origins) for m in (target.primary, target.secondary)]
        return [target]

    async def _fetch(self, ex: Exchange, request: Request) -> Response:
        origin = request.origin
        if isinstance(origin, OriginGroup):  # a function chose a group: start with its primary
            origin = forwarding.primary(origin, self.origins)
        assert origin is not None
        record = OriginTrace(origin.id, request.method, request.url_path_and_query)
        ex.trace.origin_requests.append(record)
        try:
            response = await self.fetcher.fetch(request, origin)
        except ViewerError as err:
            record.error = err.reason
            raise
        record.status = response.status
        return response

    async def _trigger(
        self, ex: Exchange, event_type: EventType, response: Response | None = None, *, request: Request | None = None
    ) -> TriggerResult | None:
        function = ex.behavior.functions.get(event_type)
        if function is None:
            return None
        call = TriggerCall(
            event_type=event_type,
            request=(request or ex.request).copy(),
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
        record.event, record.output = result.event, result.output
        record.generated = result.generated
        return result

    def _kind(self, ex: Exchange, event_type: EventType) -> str:
        return ex.behavior.functions[event_type].kind

    def _viewer_protocol(self, ex: Exchange) -> Response | None:
        """redirect-to-https → 301, https-only → 403 for plain-http viewers (spec §3.1), when the
        distribution enforces it; otherwise the local connection is treated as https and noted."""
        policy = ex.behavior.config.viewer_protocol_policy
        request = ex.request
        if policy == "allow-all" or request.scheme == "https":
            return None
        if not self.settings.enforce_viewer_protocol_policy:
            ex.trace.notes.append(f"{policy}: plain http treated as https locally "
                                  "(set distribution.enforce_viewer_protocol_policy = true to enforce)")
            request.scheme = "https"
            return None
        if policy == "https-only":
            raise HttpsRequired()
        host = request.headers.get("host") or self.settings.domain_name
        location = f"https://{host.split(':')[0]}{request.url_path_and_query}"
        body = _redirect_page()
        return Response(301, Headers([("Location", location), ("Content-Type", "text/html"),
                                      ("Content-Length", str(len(body)))]), body, "Moved Permanently")

    def _finish(self, ex: Exchange, response: Response, x_cache: str, *, generated: bool) -> Response:
        """CloudFront's own response headers, added after every function has run (spec §1.3)."""
        headers = response.headers
        if generated:
            headers.set("Server", "CloudFront")
            headers.setdefault("Date", formatdate(usegmt=True))
        if ex.request.method != "HEAD" or "content-length" not in headers:
            headers.set("Content-Length", str(len(response.body)))
        headers.set("Via", self._via)
        headers.set("X-Cache", x_cache)
        headers.set("X-Amz-Cf-Pop", self.settings.pop)
        headers.set("X-Amz-Cf-Id", ex.request_id)
        ex.trace.x_cache = x_cache
        ex.trace.status = response.status
        return response


def _redirect_page() -> bytes:
    return (b"<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
            b"<center><h1>301 Moved Permanently</h1></center>\r\n<hr><center>CloudFront</center>\r\n"
            b"</body>\r\n</html>\r\n")
