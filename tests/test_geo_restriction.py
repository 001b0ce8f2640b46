"""Geographic restrictions (DG/georestrictions): a whitelist or blacklist of countries for the whole
distribution, refused viewers get CloudFront's 403 (or the custom error response for 403), checked
before any function runs (geo_restriction.py, pipeline.py)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from edgesim.errors import ConfigError
from edgesim.request_log import printer
from edgesim.server import behaviors_text
from edgesim.testing import Distribution, resolve_config, viewer_headers

VIEWER_REQUEST = """function handler(event) {
    var request = event.request;
    request.headers['x-vr-ran'] = { value: 'yes' };
    return request;
}
"""


def config(tmp_path: Path, geo: dict[str, Any], **extra: Any) -> dict[str, Any]:
    (tmp_path / "vr.js").write_text(VIEWER_REQUEST, encoding="utf-8")
    return {
        "origins": [{"id": "app", "url": "http://app.example.com"}],
        "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingOptimized",
                                   "origin_request_policy": "AllViewer",
                                   "functions": {"viewer-request": {"cloudfront_function": "vr.js"}}},
        "geo_restriction": geo,
        **extra,
    }


def origin(request: Any) -> str:
    return f"origin saw {request.url_path_and_query} vr={request.headers.get('x-vr-ran')}"


async def get(tmp_path: Path, geo: dict[str, Any], country: str | None, path: str = "/a",
              **extra: Any) -> tuple[Any, Distribution]:
    async with Distribution(config(tmp_path, geo, **extra), base_dir=tmp_path,
                            origins={"app": origin}) as dist:
        async with dist.client() as client:
            headers = viewer_headers(country=country) if country else None
            return await client.get(path, headers=headers), dist


@pytest.mark.parametrize(("geo", "country", "served"), [
    ({"restriction_type": "whitelist", "locations": ["US", "CA"]}, "CA", True),
    ({"restriction_type": "whitelist", "locations": ["US", "CA"]}, "FR", False),
    ({"restriction_type": "blacklist", "locations": ["FR"]}, "FR", False),
    ({"restriction_type": "blacklist", "locations": ["FR"]}, "de", True),
    ({"restriction_type": "allowlist", "locations": ["li"]}, "LI", True),
    ({"restriction_type": "blocklist", "locations": ["LI"]}, "li", False),
    ({}, "FR", True),
])
async def test_the_viewers_country_decides(tmp_path: Path, geo: dict[str, Any], country: str, served: bool) -> None:
    response, dist = await get(tmp_path, geo, country)
    if served:
        assert response.status_code == 200
        assert response.text == "origin saw /a vr=yes"
        return
    assert response.status_code == 403
    assert response.headers["x-cache"] == "Error from cloudfront"
    assert response.headers["server"] == "CloudFront"
    assert "configured to block access from your country" in response.text
    trace = dist.traces[-1]
    assert trace.origin_requests == []  # nothing reached the origin
    assert trace.triggers == []  # no function ran: the check comes first (UNCERTAIN, pipeline.py)
    assert "GeoBlocked" in (trace.error or "") and country.upper() in (trace.error or "")


async def test_the_configured_viewer_country_is_the_default(tmp_path: Path) -> None:
    geo = {"restriction_type": "whitelist", "locations": ["DE"]}
    refused, _ = await get(tmp_path, geo, None)  # [viewer] country is US by default
    assert refused.status_code == 403
    served, _ = await get(tmp_path, geo, None, viewer={"country": "DE"})
    assert served.status_code == 200


async def test_a_custom_error_response_for_403_answers_instead(tmp_path: Path) -> None:
    geo = {"restriction_type": "blacklist", "locations": ["FR"]}
    rules = [{"error_code": 403, "response_code": 451, "response_page_path": "/blocked.html"}]
    response, dist = await get(tmp_path, geo, "FR", custom_error_responses=rules)
    assert response.status_code == 451
    assert response.text == "origin saw /blocked.html vr=None"  # fetched without the viewer's function
    assert response.headers["x-cache"] == "Error from cloudfront"
    trace = dist.traces[-1]
    assert [o.url.rsplit("/", 1)[-1] for o in trace.origin_requests] == ["blocked.html"]
    assert trace.triggers == []
    assert "GeoBlocked: viewer country FR" in (trace.error or "")


async def test_the_log_says_why_on_every_refused_request(tmp_path: Path) -> None:
    """With a custom error response for 403, the refusal was a note, said once per server: the
    second refused request's log line had no reason at all."""
    geo = {"restriction_type": "whitelist", "locations": ["DE"]}
    rules = [{"error_code": 403, "response_code": 403, "response_page_path": "/blocked.html"}]
    log = io.StringIO()
    write = printer("text", log)
    async with Distribution(config(tmp_path, geo, custom_error_responses=rules), base_dir=tmp_path,
                            origins={"app": origin}) as dist:
        async with dist.client() as client:
            for _ in range(2):
                assert (await client.get("/a")).status_code == 403
    for trace in dist.traces:
        write(trace)
    await asyncio.sleep(0)  # the printer writes once per event-loop turn
    assert log.getvalue().count("GeoBlocked: viewer country US is not in geo_restriction.locations") == 2, \
        log.getvalue()


@pytest.mark.parametrize(("geo", "message"), [
    ({"restriction_type": "none", "locations": ["US"]}, 'restriction_type is "none"'),
    ({"restriction_type": "whitelist"}, "needs at least one country"),
    ({"restriction_type": "blacklist", "locations": ["USA"]}, "not ISO 3166-1 alpha-2"),
    ({"restriction_type": "denylist", "locations": ["US"]}, "restriction_type"),
    ({"restriction_type": "whitelist", "locations": ["US", "uk"]}, "the United Kingdom is 'GB'"),
])
def test_a_list_cloudfront_would_refuse_is_a_config_error(tmp_path: Path, geo: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match="geo_restriction") as caught:
        resolve_config(config(tmp_path, geo), tmp_path)
    assert message in str(caught.value)


def test_the_banner_says_whether_the_simulated_viewer_is_served(tmp_path: Path) -> None:
    refused = behaviors_text(resolve_config(config(tmp_path, {"restriction_type": "whitelist", "locations": ["DE"]}),
                                            tmp_path))
    assert "geo restriction: whitelist DE" in refused and "refused (403)" in refused
    served = behaviors_text(resolve_config(config(tmp_path, {"restriction_type": "blacklist", "locations": ["DE"]}),
                                           tmp_path))
    assert "is served" in served
