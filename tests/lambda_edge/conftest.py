"""Helpers for Lambda@Edge tests: one handler written in Python and Node, a TriggerCall, a runtime."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from edgesim.config import (
    CustomOrigin,
    DefaultCacheBehavior,
    DistributionSettings,
    LambdaFunctionAssociation,
    Origin,
    OriginGroup,
    S3Origin,
)
from edgesim.lambda_edge import LambdaEdgeRuntime
from edgesim.messages import EventType, Headers, Request, Response
from edgesim.runtime import TriggerCall

SITE = CustomOrigin(id="site", url="https://example.org")
API = CustomOrigin(id="api", url="http://api.example.com:8080/v1")
BUCKET = S3Origin(id="bucket", directory=Path("/tmp"), domain_name="bucket.s3.amazonaws.com")
ORIGINS: dict[str, Origin | OriginGroup] = {o.id: o for o in (SITE, API, BUCKET)}


@pytest.fixture(params=["python", "node"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Handlers:
    """Writes a handler's Python or Node source, whichever the test is parametrized with."""

    lang: str
    folder: Path

    def write(self, name: str, *, py: str, js: str, filename: str | None = None) -> Path:
        ext = ".py" if self.lang == "python" else ".js"
        path = self.folder / (filename or name + ext)
        path.write_text(textwrap.dedent(py if self.lang == "python" else js).lstrip())
        return path

    def assoc(self, name: str, *, py: str, js: str, filename: str | None = None,
              **fields: Any) -> LambdaFunctionAssociation:
        path = self.write(name, py=py, js=js, filename=filename)
        return LambdaFunctionAssociation.model_validate(
            {"lambda": f"{path.name}:handler", **fields}, context={"base_dir": self.folder})


@pytest.fixture
def handlers(lang: str, tmp_path: Path) -> Handlers:
    return Handlers(lang, tmp_path)


@pytest.fixture
async def runtime() -> AsyncIterator[LambdaEdgeRuntime]:
    async with LambdaEdgeRuntime(DistributionSettings(), max_concurrency=4) as rt:
        yield rt


def viewer_request(uri: str = "/index.html", *, method: str = "GET", body: bytes = b"",
                   headers: list[tuple[str, str]] | None = None, querystring: str = "") -> Request:
    lines = headers if headers is not None else [("Host", "d111111abcdef8.cloudfront.net"), ("User-Agent", "curl/8.4.0")]
    return Request(method=method, uri=uri, querystring=querystring, headers=Headers(lines), body=body,
                   client_ip="203.0.113.178", origin=SITE)


def make_call(event_type: EventType, request: Request | None = None, response: Response | None = None) -> TriggerCall:
    if request is None:
        request = viewer_request()
        if not event_type.is_viewer:
            request.headers = Headers([("Host", "example.org"), ("Via", "2.0 abc.cloudfront.net (CloudFront)"),
                                       ("X-Forwarded-For", "203.0.113.178"), ("User-Agent", "Amazon CloudFront")])
    if response is None and not event_type.is_request:
        response = Response(200, Headers([("Content-Type", "text/html"), ("Content-Length", "5")]), b"hello", "OK")
    return TriggerCall(event_type=event_type, request=request, request_id="req-1==", distribution=DistributionSettings(),
                       behavior=DefaultCacheBehavior(target_origin="site"),  # type: ignore[arg-type]
                       origins=ORIGINS, response=response)


# A handler that returns what it got: the request, or the response on response triggers.
IDENTITY_PY = """
def handler(event, context):
    cf = event["Records"][0]["cf"]
    return cf.get("response", cf["request"])
"""
IDENTITY_JS = """
exports.handler = async (event) => {
  const cf = event.Records[0].cf;
  return cf.response || cf.request;
};
"""
