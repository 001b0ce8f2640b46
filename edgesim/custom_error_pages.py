"""Custom error pages in the request flow: when one replaces an error, and fetching the page.

The rules themselves (which rule covers a status, what the viewer's answer is made of) are in
error_responses.py; this module applies them where the edge cache's part of the flow meets an
error: the origin's 4xx / 5xx, or CloudFront's own 502 / 504 when the origin could not be reached
(AD/HTTPStatusCodes, DG/custom-error-pages). The page is fetched through the cache behavior its
path matches and that behavior's cache, with no trigger run for it (spec §3.1).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from edgesim import forwarding
from edgesim.cache import EdgeCache, LookupKind, compute_ttl
from edgesim.cache_key import cache_key
from edgesim.config import CustomErrorResponse, DistributionSettings
from edgesim.error_responses import custom_error_answer, find_rule, page_request
from edgesim.errors import ViewerError
from edgesim.exchange import Behavior, Exchange
from edgesim.messages import Request, Response
from edgesim.origin_config import Origin, OriginGroup


class CustomErrorPages:
    """The distribution's custom error responses, applied to one request's errors."""

    def __init__(self, rules: Sequence[CustomErrorResponse], settings: DistributionSettings,
                 origins: dict[str, Origin | OriginGroup], behavior_for: Callable[[str], Behavior],
                 cache: EdgeCache | None, fetch: Callable[[Exchange, Request], Awaitable[Response]]) -> None:
        self.rules = rules
        self.settings = settings
        self.origins = origins
        self._behavior_for = behavior_for  # the page is routed on its own path (spec §4.1)
        self.cache = cache
        self._fetch = fetch  # the origin side's fetch: recorded in the trace like any origin request

    async def for_unreachable_origin(self, ex: Exchange, err: ViewerError) -> tuple[Response, str, int | None]:
        """A custom error page for CloudFront's own 502 / 504 when the origin could not be reached;
        re-raises `err` (CloudFront's error page) when no rule with a page covers its status."""
        return await self.for_cloudfront_error(ex, err)

    async def for_cloudfront_error(self, ex: Exchange, err: ViewerError) -> tuple[Response, str, int | None]:
        """A custom error page in place of an error CloudFront itself answers (an unreachable
        origin's 502 / 504, the geographic restrictions' 403); re-raises `err` when no rule with a
        page covers its status."""
        rule = find_rule(self.rules, err.status)
        if rule is None or rule.response_page_path is None:
            raise err
        page = custom_error_answer(rule, await self._page(ex, rule))
        if page is None:
            raise err
        # The error stays the request's, as when CloudFront's own page answers: the log says why on
        # every such request (a note is said once per server), the custom page as a note.
        ex.trace.error = f"{type(err).__name__}: {err.reason}"
        ex.trace.notes.append(f"{type(err).__name__}: custom error page {rule.response_page_path} as {page.status}")
        return page, "Error from cloudfront", err.status

    async def for_origin_status(self, ex: Exchange, response: Response, origin_status: int | None) -> Response:
        """The distribution's custom error page for the origin's error status, if one is configured."""
        if origin_status is None or origin_status < 400:
            return response
        rule = find_rule(self.rules, origin_status)
        if rule is None or rule.response_page_path is None:
            return response
        replaced = custom_error_answer(rule, await self._page(ex, rule))
        if replaced is None:
            ex.trace.notes.append(f"custom error page {rule.response_page_path} could not be fetched")
            return response
        ex.trace.notes.append(f"origin {origin_status}: custom error page {rule.response_page_path} "
                              f"as {replaced.status}")
        return replaced

    async def _page(self, ex: Exchange, rule: CustomErrorResponse) -> Response | None:
        """Fetch the error page through the behavior matching its path, via that behavior's cache.

        No viewer trigger runs for it (spec §3.1). UNCERTAIN: whether the page behavior's origin
        triggers run; edgesim does not run them."""
        request = page_request(ex.request, rule)
        behavior = self._behavior_for(request.uri)
        config = behavior.config
        request.origin = self.origins[config.target_origin]
        cache = self.cache if not config.cache_policy.caching_disabled else None
        key = cache_key(request, config.cache_policy)
        if cache is not None:
            found = cache.lookup(key)
            if found.kind is LookupKind.HIT and found.entry is not None:
                whole = cache.serve_whole(found.entry)
                if whole is not None:  # else its file was lost: fetched again
                    return whole
        origin = forwarding.primary(request.origin, self.origins)
        sent = forwarding.origin_request(request, origin, self.settings, ex.request_id,
                                         cache_policy=config.cache_policy, cached_methods=config.cached_methods,
                                         origin_request_policy=config.origin_request_policy)
        fetched_from = len(ex.trace.origin_requests)
        try:
            page = await self._fetch(ex, sent)
        except ViewerError:
            return None
        finally:
            # The log's origin status stays the one the request's own origin answered (trace.py).
            for record in ex.trace.origin_requests[fetched_from:]:
                record.error_page = True
        if cache is not None:
            ttl = compute_ttl(page, config.cache_policy, now=ex.now)
            if ttl > 0 and cache.to_file(len(page.body)):
                # A large page goes to a file as any large object does, written off the loop (cache_files.py).
                await cache.store_in_file(key, page, ttl, path=request.uri, origin_status=page.status)
            else:
                cache.store(key, page, ttl, path=request.uri, origin_status=page.status)
        return page
