"""One request's state as it crosses the edge, shared by the request flow and its two sides.

pipeline.py (the request flow, spec §3.1), edge_cache_flow.py (the edge cache's part, spec §4) and
origin_side.py (origin-request -> origin -> origin-response) all work on an `Exchange`; it lives
here so that none of them imports another's module for it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from edgesim.config import DefaultCacheBehavior
from edgesim.messages import BodyStream, EventType, Request
from edgesim.runtime import EdgeFunction
from edgesim.trace import Trace

# The X-Cache of a response a function generated, by the function's kind (spec §3.1).
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
    # Origin bodies opened as streams; those the viewer does not get are closed at the end
    # (`Pipeline.handle`).
    streams: list[BodyStream] = field(default_factory=list)
    # When the edge got the request (time.perf_counter), for the Server-Timing header's durations.
    started: float = field(default_factory=time.perf_counter)

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
