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
    page.body, page.body_stream = b"", None  # a GET: the viewer's body, if still arriving, is not the page's
    page.origin = None  # routed afresh: the behavior matching the page path decides (AD/HTTPStatusCodes)
    return page


def custom_error_answer(rule: CustomErrorResponse, page: Response | None) -> Response | None:
    """What the viewer gets for an error a rule with a page covers, or None to keep the original error.

    The page as `response_code` when it could be fetched. When the page's own origin answers an
    error instead, "CloudFront returns to the viewer the status code that CloudFront received from
    the origin that contains the custom error pages" (DG/custom-error-pages: the page deleted from
    its bucket gives the viewer that bucket's answer, not the original error). UNCERTAIN: when
    that origin could not be reached at all, edgesim keeps the original error.
    """
    answer = error_page_response(rule, page)
    if answer is not None or page is None or page.status < 400:
        return answer
    out = page.copy()
    for name in _PAGE_ONLY:
        out.headers.remove(name)
    out.headers.set("Content-Length", str(len(out.body)))
    return out


def error_page_response(rule: CustomErrorResponse, page: Response | None) -> Response | None:
    """The viewer's answer built from a page fetched successfully, or None when there is none
    (no page configured, no answer, or an answer that is not 2xx: see `custom_error_answer`)."""
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
