"""Helpers for the CloudFront Functions tests: write a function, load it, build a TriggerCall."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from edgesim.cloudfront_functions import CloudFrontFunction, load_cloudfront_function
from edgesim.config import CloudFrontFunctionAssociation, CustomOrigin, DistributionSettings, OriginGroup, S3Origin
from edgesim.messages import EventType, Headers, Request, Response
from edgesim.runtime import TriggerCall

RUNTIMES = ("cloudfront-js-1.0", "cloudfront-js-2.0")
FUNCTIONS = Path(__file__).resolve().parents[2] / "functions" / "cff"
NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z

Loader = Callable[..., Awaitable[CloudFrontFunction]]


@pytest.fixture
async def load(tmp_path: Path) -> AsyncIterator[Loader]:
    """load(code, runtime=..., name=..., kvs=..., **settings) -> a warm CloudFrontFunction, closed after the test."""
    loaded: list[CloudFrontFunction] = []

    async def _load(code: str | None = None, *, runtime: str = "cloudfront-js-2.0", path: Path | None = None,
                    name: str = "fn", kvs: Path | None = None, defer_errors: bool = False, **settings: Any) -> CloudFrontFunction:
        if path is None:
            path = tmp_path / f"{name}.js"
            path.write_text(code or "", encoding="utf-8")
        assoc = CloudFrontFunctionAssociation(cloudfront_function=path, runtime=runtime, kvs=kvs)  # type: ignore[arg-type]
        function = await load_cloudfront_function(assoc, DistributionSettings(**settings), defer_errors=defer_errors)
        loaded.append(function)
        return function

    yield _load
    for function in loaded:
        await function.aclose()


ORIGINS: dict[str, Any] = {
    "app": CustomOrigin(id="app", url="http://app.internal:3000/base", custom_headers={"x-origin": "app"}),
    "other": CustomOrigin(id="other", url="https://other.example.com"),
    "bucket": S3Origin(id="bucket", directory=Path("/tmp")),
    "group": OriginGroup(id="group", primary="app", secondary="other"),
}


def request(uri: str = "/index.html", query: str = "", headers: list[tuple[str, str]] | None = None,
            method: str = "GET") -> Request:
    hdrs = Headers(headers if headers is not None else [("Host", "d111111abcdef8.cloudfront.net"), ("User-Agent", "test")])
    return Request(method=method, uri=uri, querystring=query, headers=hdrs, client_ip="203.0.113.10", origin=ORIGINS["app"])


def call(req: Request | None = None, *, event_type: EventType = EventType.VIEWER_REQUEST, response: Response | None = None,
         now: float | None = NOW, settings: DistributionSettings | None = None) -> TriggerCall:
    return TriggerCall(event_type=event_type, request=req or request(), request_id="req-1",
                       distribution=settings or DistributionSettings(), behavior=None,  # type: ignore[arg-type]
                       origins=ORIGINS, response=response, now=now)


def viewer_response(resp: Response, req: Request | None = None) -> TriggerCall:
    return call(req, event_type=EventType.VIEWER_RESPONSE, response=resp)
