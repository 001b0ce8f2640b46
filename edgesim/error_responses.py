"""Custom error responses: which rule covers an error status, and the page that replaces the error.

CloudFront fetches `response_page_path` through the cache behavior matching that path, answers with
`response_code`, and caches the result for the error caching minimum TTL (AD/HTTPStatusCodes).
Viewer-response still does not run, because the rule is about the ORIGIN's status (spec §3.1).
"""

from __future__ import annotations

from collections.abc import Iterable

from edgesim.cache import DEFAULT_ERROR_CACHING_MIN_TTL
from edgesim.config import CustomErrorResponse
from edgesim.messages import Request, Response

# Headers that belong to the page's own fetch, not to the answer the viewer gets.
_PAGE_ONLY = ("age", "x-cache", "content-length")


def find_rule(rules: Iterable[CustomErrorResponse], status: int) -> CustomErrorResponse | None:
    for rule in rules:
        if rule.error_code == status:
            return rule
    return None


def error_caching_min_ttl(rules: Iterable[CustomErrorResponse], status: int) -> int:
    """The error caching minimum TTL for `status`: the rule's, else CloudFront's 10 s (spec §4.3)."""
    rule = find_rule(rules, status)
    return rule.error_caching_min_ttl if rule is not None else DEFAULT_ERROR_CACHING_MIN_TTL


def page_request(viewer_request: Request, rule: CustomErrorResponse) -> Request:
    """The GET CloudFront makes for the error page: the page path, no query string, the viewer's headers."""
    assert rule.response_page_path is not None
    page = viewer_request.copy()
    page.method = "GET"
    page.uri = rule.response_page_path
    page.querystring = ""
    page.body = b""
    page.origin = None  # routed afresh: the behavior matching the page path decides (AD/HTTPStatusCodes)
    return page


def error_page_response(rule: CustomErrorResponse, page: Response | None) -> Response | None:
    """The viewer's answer built from the fetched page, or None to keep the original error.

    UNCERTAIN: when the page itself cannot be fetched (an error status or no answer) CloudFront's
    exact behaviour is not documented; edgesim keeps the original error response.
    """
    if rule.response_page_path is None or rule.response_code is None or page is None:
        return None
    if not 200 <= page.status < 300:
        return None
    out = page.copy()
    out.status = rule.response_code
    out.status_description = None
    for name in _PAGE_ONLY:
        out.headers.remove(name)
    out.headers.set("Content-Length", str(len(out.body)))
    return out
