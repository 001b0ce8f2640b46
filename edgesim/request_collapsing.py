"""Request collapsing: simultaneous requests for one object share the first one's origin fetch.

"If additional requests for the same object (with the same cache key) arrive at the edge location
before CloudFront receives the response to the first request, CloudFront pauses before forwarding
the additional requests to the origin [...] CloudFront sends the response from the original request
to all the requests that it received while it was paused" (DG/RequestAndResponseBehaviorCustomOrigin
and DG/RequestAndResponseBehaviorS3Origin, "Simultaneous requests for the same object (request
collapsing)"). Requests whose cache keys differ (a header, cookie or query string in the key) are not
collapsed ("if you configured CloudFront to cache based on request headers or cookies, CloudFront
forwards all of the unique requests to your origin", in the guide's older wording); nor is anything
when caching is off for the behavior (CachingDisabled: TTL 0, no cache to collapse into), as those
requests never reach the cache lookup (edge_cache_flow.py). What
an origin request policy alone forwards (cookies, an Authorization header) is not in the key: such
requests do collapse, and get the first one's answer when it is cached. The docs name no other
exception: a Lambda@Edge function on the behavior does not prevent it.

How edgesim models it: one `Flight` per cache key with an origin fetch under way. The first
request (the leader) runs the miss as usual, origin-request / origin-response Lambda@Edge
included; requests for the same key that arrive before it lands wait for it (they run their own
viewer-request and viewer-response, never the origin triggers). Once it lands, each waiter:
- finds the object in the cache (stored whole: a streamed object once its last byte arrived) and is
  served it as a Hit;
- gets CloudFront's own 502 / 504 when the leader could not reach the origin: the leader's answer;
- otherwise goes to the origin itself, without waiting again: the answer was not stored (not
  cacheable, a HEAD's), the leader's viewer left before a streamed object was whole, the origin
  broke off mid-body, or a function on the leader's origin side failed.

UNCERTAIN, three readings taken:
- An answer that is not cacheable (TTL 0: `no-store` / `no-cache` / `private` / `max-age=0` with
  MinTTL 0, or Vary: *) is not shared: the waiters, paused until it came, then go to the origin
  themselves. The Developer Guide: "If you would like to prevent request collapsing for specific
  objects, you can set the minimum TTL for the cache behavior to 0 and configure the origin to send
  Cache-Control: private, [...] no-store, [...] no-cache, [...] max-age=0, or [...] s-maxage=0";
  CloudFront cannot know that before the answer comes, hence the pause. A re:Post answer (QUe8vbIDvNTiy8ZSYDv85iTQ)
  says CloudFront collapses such answers too and logs them as "NonS3CollapsedHit", and the older
  standard-log page classed a collapsed `no-cache` answer as a Hit; we follow the current guide.
- A waiter's X-Cache is "Hit from cloudfront" ("Error from cloudfront" for a cached error, as any
  hit on one): the standard-log page's `Hit` result type names the traffic-spike case as one, and
  re:Post's "NonS3CollapsedHit" reads as a detailed result type of a Hit.
- A function failing on the leader's origin side (Lambda@Edge origin-request / origin-response) is
  that request's own error: no origin answer exists to share, so each waiter fetches for itself
  and runs the origin triggers on its own request.

A streamed object is shared once whole, not byte by byte as it arrives (the simple reading; the
docs say nothing of how): waiters of a large object get it after the leader has read all of it, at
the pace its viewer takes it (a viewer that stalls without leaving holds them; one that leaves frees
them). Sharing the bytes as they arrive (read-while-write) would serve large objects sooner, but
needs a reader of the origin that outlives the first viewer and a buffer each waiter reads at its
own pace, on the path every streamed miss takes; an answer that is not cacheable, an event stream
say, is known from its head and frees the waiters at once.
"""

from __future__ import annotations

import asyncio

from edgesim.cache_key import CacheKey
from edgesim.errors import OriginConnectionError, OriginTimeout
from edgesim.trace import Trace


class Flight:
    """One cache key's origin fetch under way, and the requests waiting for it."""

    __slots__ = ("key", "leader", "unreachable", "streaming", "waiting", "_landed", "_event")

    def __init__(self, key: CacheKey, leader: Trace) -> None:
        self.key = key
        self.leader = leader  # the trace of the request doing the fetch, for the waiters' notes
        # Set when the leader could not reach the origin: its waiters get the same error.
        self.unreachable: OriginConnectionError | OriginTimeout | None = None
        # Set when the answer is streamed and stored once whole: the flight lands when the body ends.
        self.streaming = False
        self.waiting = 0
        self._landed = False
        self._event: asyncio.Event | None = None  # made by the first waiter: a miss nobody joins pays none

    @property
    def landed(self) -> bool:
        return self._landed

    async def wait(self) -> None:
        """Until the leader lands (`Flights.land`)."""
        self.waiting += 1
        if self._landed:
            return
        if self._event is None:
            self._event = asyncio.Event()
        await self._event.wait()


class Flights:
    """The origin fetches under way in one loaded distribution's edge cache, by cache key."""

    def __init__(self) -> None:
        self._by_key: dict[CacheKey, Flight] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def board(self, key: CacheKey, trace: Trace) -> tuple[Flight, bool]:
        """The flight for `key`: the one under way (False), else a new one this request leads (True).

        One dict operation, as this is every miss's cost when nothing is under way."""
        new = Flight(key, trace)
        flight = self._by_key.setdefault(key, new)
        return flight, flight is new

    def land(self, flight: Flight) -> None:
        """The leader is done with the origin (whatever came of it): wake its waiters. Requests that
        arrive from now on look in the cache afresh. Idempotent."""
        if flight._landed:
            return
        flight._landed = True
        # Only its own land removes a flight, and a key has one at a time: this pops this one.
        self._by_key.pop(flight.key, None)
        if flight._event is not None:
            flight._event.set()
        if flight.waiting:
            # Its id is named: the waiters' notes name the request they got the answer of, and the
            # text log shows no request ids otherwise.
            flight.leader.notes.append(f"request collapsing: {flight.waiting} simultaneous request(s) for this "
                                       f"object waited for this request's origin fetch ({flight.leader.request_id})")
