"""The functions/lambda recipes, each in Python and Node.js, through the real runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgesim.config import CustomOrigin, LambdaFunctionAssociation
from edgesim.lambda_edge import LambdaEdgeRuntime
from edgesim.messages import EventType, Headers, Response

from .conftest import SITE, make_call, viewer_request

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions" / "lambda"
TWINS = {"python": "py", "node": "js"}


def recipe(name: str, lang: str, **fields: Any) -> LambdaFunctionAssociation:
    matches = [p for p in FUNCTIONS.glob(f"{name}.*")
               if (p.suffix == ".py") == (lang == "python")]
    assert len(matches) == 1, f"{name}: expected one {lang} recipe, found {matches}"
    return LambdaFunctionAssociation.model_validate({"lambda": f"{matches[0].name}:handler", **fields},
                                                    context={"base_dir": FUNCTIONS})


def test_every_recipe_has_both_twins() -> None:
    stems: dict[str, set[str]] = {}
    for path in FUNCTIONS.iterdir():
        if path.suffix in (".py", ".js", ".mjs"):
            stems.setdefault(path.stem, set()).add("python" if path.suffix == ".py" else "node")
    assert len(stems) >= 5 and all(langs == {"python", "node"} for langs in stems.values()), stems


async def test_security_headers(runtime: LambdaEdgeRuntime, lang: str) -> None:
    fn = runtime.function(recipe("security_headers", lang), EventType.ORIGIN_RESPONSE)
    result = await fn.invoke(make_call(EventType.ORIGIN_RESPONSE))
    assert result.response is not None and result.response.body == b"hello"
    headers = result.response.headers
    assert headers.get("strict-transport-security") == "max-age=63072000; includeSubDomains; preload"
    assert ("X-Content-Type-Options", "nosniff") in headers.items() and headers.get("x-frame-options") == "DENY"


@pytest.mark.parametrize("country, mobile, location", [
    ("DE", "false", "/de/index.html?a=1"), ("JP", "true", "/jp/m/index.html?a=1"), ("US", "true", "/m/index.html?a=1"),
    ("US", "false", None)])
async def test_redirect_by_country(runtime: LambdaEdgeRuntime, lang: str, country: str, mobile: str,
                                   location: str | None) -> None:
    call = make_call(EventType.ORIGIN_REQUEST)
    call.request.querystring = "a=1"
    call.request.headers.add("CloudFront-Viewer-Country", country)
    call.request.headers.add("CloudFront-Is-Mobile-Viewer", mobile)
    result = await runtime.function(recipe("redirect_by_country", lang), EventType.ORIGIN_REQUEST).invoke(call)
    if location is None:
        assert result.request is not None and result.request.uri == "/index.html"
    else:
        assert result.generated and result.response is not None and result.response.status == 302
        assert result.response.headers.get("location") == location


async def test_robots_txt(runtime: LambdaEdgeRuntime, lang: str) -> None:
    fn = runtime.function(recipe("robots_txt", lang), EventType.VIEWER_REQUEST)
    robots = await fn.invoke(make_call(EventType.VIEWER_REQUEST, viewer_request("/robots.txt")))
    assert robots.generated and robots.response is not None and robots.response.status == 200
    assert robots.response.body.startswith(b"User-agent: *")
    other = await fn.invoke(make_call(EventType.VIEWER_REQUEST, viewer_request("/index.html")))
    assert other.request is not None and not other.generated


@pytest.mark.parametrize("body, status, forwarded", [
    (b"  name=edge  ", None, b"name=edge"), (b"x=<SCRIPT>alert(1)</script>", 403, None),
    (b"a" * (41 * 1024), 413, None)])
async def test_inspect_body(runtime: LambdaEdgeRuntime, lang: str, body: bytes, status: int | None,
                            forwarded: bytes | None) -> None:
    fn = runtime.function(recipe("inspect_body", lang, include_body=True), EventType.VIEWER_REQUEST)
    result = await fn.invoke(make_call(EventType.VIEWER_REQUEST, viewer_request("/form", method="POST", body=body)))
    if status is None:
        assert result.request is not None and result.request.body == forwarded
    else:
        assert result.generated and result.response is not None and result.response.status == status


async def test_switch_origin(runtime: LambdaEdgeRuntime, lang: str) -> None:
    fn = runtime.function(recipe("switch_origin", lang), EventType.ORIGIN_REQUEST)
    api = await fn.invoke(make_call(EventType.ORIGIN_REQUEST, viewer_request("/api/users")))
    assert api.request is not None and isinstance(api.request.origin, CustomOrigin)
    assert api.request.origin.url == "http://localhost:8080" and api.request.headers.get("host") == "localhost"
    page = await fn.invoke(make_call(EventType.ORIGIN_REQUEST, viewer_request("/about")))
    assert page.request is not None and page.request.origin is SITE


async def test_security_headers_keep_an_error_status(runtime: LambdaEdgeRuntime, lang: str) -> None:
    response = Response(404, Headers([("Content-Type", "text/html")]), b"", "Not Found")
    fn = runtime.function(recipe("security_headers", lang), EventType.ORIGIN_RESPONSE)
    result = await fn.invoke(make_call(EventType.ORIGIN_RESPONSE, response=response))
    assert result.response is not None and result.response.status == 404
    assert result.response.headers.get("x-frame-options") == "DENY"
