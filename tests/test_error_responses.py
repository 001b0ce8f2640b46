"""Custom error responses: rule lookup, error caching minimum TTL, the page that replaces an error."""

from __future__ import annotations

from edgesim.config import CustomErrorResponse
from edgesim.error_responses import error_caching_min_ttl, error_page_response, find_rule, page_request
from edgesim.messages import Headers, Request, Response

RULES = (
    CustomErrorResponse(error_code=404, response_code=200, response_page_path="/index.html", error_caching_min_ttl=0),
    CustomErrorResponse(error_code=503, error_caching_min_ttl=60),
)


def test_rule_lookup_and_ttl() -> None:
    assert find_rule(RULES, 404) is RULES[0]
    assert find_rule(RULES, 500) is None
    assert error_caching_min_ttl(RULES, 404) == 0
    assert error_caching_min_ttl(RULES, 503) == 60
    assert error_caching_min_ttl(RULES, 500) == 10


def test_page_request_is_a_get_of_the_page_path() -> None:
    viewer = Request("POST", "/missing", querystring="a=1", headers=Headers([("Accept", "text/html")]), body=b"x")
    page = page_request(viewer, RULES[0])
    assert (page.method, page.uri, page.querystring, page.body) == ("GET", "/index.html", "", b"")
    assert page.headers.get("accept") == "text/html"
    assert viewer.uri == "/missing"


def test_page_replaces_the_error_with_the_response_code() -> None:
    page = Response(200, Headers([("Content-Type", "text/html"), ("Age", "5"), ("Content-Length", "99")]), b"<app/>")
    out = error_page_response(RULES[0], page)
    assert out is not None
    assert out.status == 200 and out.body == b"<app/>"
    assert out.headers.get("content-type") == "text/html"
    assert out.headers.get("age") is None and out.headers.get("content-length") == "6"


def test_no_page_answer_without_a_page_or_a_2xx_page() -> None:
    # error_page_response builds only from a page fetched successfully; what the viewer gets when
    # the page's origin answers an error is custom_error_answer's
    # (test_fidelity_pipeline.py: test_unavailable_custom_error_page_gives_the_status_of_the_pages_origin).
    assert error_page_response(RULES[1], Response(200)) is None
    assert error_page_response(RULES[0], None) is None
    assert error_page_response(RULES[0], Response(404)) is None
