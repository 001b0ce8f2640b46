"""Example suite for the embedded default distribution (`edgesim.toml` beside this file).

A CloudFront Function maps directory URLs to index.html at viewer-request; a Lambda@Edge function
adds security headers at origin-response; `/static/*` has no functions. Run `pytest` in this folder.
"""

from edgesim.assertions import (
    assert_cache,
    assert_header_set_by,
    assert_not_ran,
    assert_triggers,
    trigger_record,
)
from edgesim.testing import trace_of


def test_directory_urls_serve_their_index_html(edge_client):
    response = edge_client.get("/docs/")
    assert response.status_code == 200
    assert "<h1>Docs</h1>" in response.text
    assert_triggers(response, ["viewer-request", "origin-response"])
    # The origin was asked for the rewritten URI.
    assert trace_of(response).origin_requests[0].url == "/docs/index.html"


def test_security_headers_are_added_at_origin_response(edge_client):
    response = edge_client.get("/")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert_header_set_by(response, "x-frame-options", "origin-response", "DENY")


def test_the_viewer_request_function_reports_its_compute(edge_client):
    record = trigger_record(edge_client.get("/docs"), "viewer-request")
    assert record.kind == "cloudfront-function"
    assert record.compute_utilization is not None and 0 <= record.compute_utilization <= 100


def test_static_files_run_no_function(edge_client):
    response = edge_client.get("/static/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert_triggers(response, [])


def test_a_second_request_is_a_cache_hit_without_origin_triggers(edge_client):
    first = edge_client.get("/docs/")
    second = edge_client.get("/docs/")
    assert_cache(first, "Miss")
    assert_cache(second, "Hit")
    assert_not_ran(second, "origin-response")
    assert second.headers["x-frame-options"] == "DENY"  # the cached response kept the header


def test_each_test_starts_with_a_cold_cache(edge_client):
    assert_cache(edge_client.get("/docs/"), "Miss")


def test_an_invalidation_empties_the_cache(edge, edge_client):
    edge_client.get("/docs/")
    assert_cache(edge_client.get("/docs/"), "Hit")
    assert edge.invalidate("/docs/*") == 1
    assert_cache(edge_client.get("/docs/"), "Miss")


def test_an_expired_object_is_revalidated_with_the_origin(edge, edge_client):
    edge_client.get("/docs/")
    edge.advance(86400 + 1)  # CachingOptimized's default TTL is one day
    response = edge_client.get("/docs/")
    assert_cache(response, "RefreshHit")  # the S3 origin answered 304 to the ETag
