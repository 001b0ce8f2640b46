"""Example suite: a distribution without functions, its directory origin and a stubbed API origin.

Run with `pytest samples/`. The `edge_client` fixture sends requests through the distribution in
`edgesim.toml` beside this file, in-process; `edgesim_origins` replaces the API origin by a function.
"""

import json

import pytest

from edgesim.assertions import assert_origin_not_called, assert_triggers
from edgesim.messages import Request
from edgesim.testing import trace_of


@pytest.fixture
def edgesim_origins():
    def api(request: Request):
        if request.uri == "/api/echo":
            return 200, {"content-type": "application/json"}, {"method": request.method, "body": request.body.decode()}
        return 404, "no such API route"

    return {"api": api}


def test_pages_come_from_the_site_folder(edge_client):
    response = edge_client.get("/index.html")
    assert response.status_code == 200
    assert "<h1>Served by edgesim</h1>" in response.text
    assert response.headers["server"] == "AmazonS3"
    assert trace_of(response).behavior == "*"
    assert_triggers(response, [])


def test_a_missing_object_is_s3s_403(edge_client):
    response = edge_client.get("/no-such-page.html")
    assert response.status_code == 403
    assert response.headers["x-cache"] == "Error from cloudfront"


def test_api_paths_go_to_the_api_origin(edge, edge_client):
    response = edge_client.post("/api/echo", content=b'{"n": 1}')
    assert response.json() == {"method": "POST", "body": '{"n": 1}'}
    assert trace_of(response).behavior == "/api/*"
    assert edge.origins["api"].paths == ["/api/echo"]
    assert json.loads(edge.origins["api"].last.body) == {"n": 1}


@pytest.mark.edgesim(origins={"api": {"/api/status": {"status": 503, "body": "down"}}})
def test_canned_origin_responses_from_a_marker(edge_client):
    response = edge_client.get("/api/status")
    assert response.status_code == 503 and response.text == "down"


def test_methods_outside_the_behavior_get_cloudfronts_403(edge_client):
    response = edge_client.delete("/index.html")  # the default behavior allows GET and HEAD only
    assert response.status_code == 403
    assert_origin_not_called(response)
