"""An origin's Transfer-Encoding as origin-response functions see it (spec §2.6: read-only there).

CloudFront shows it in the event and refuses a result without it: "Lambda function result failed
validation, the function tried to delete read-only header, headerName : Transfer-Encoding."
(CodeGenieApp/serverless-express#369, a framework rebuilding the response's headers). The origins
are real sockets answering chunked or with a Content-Length.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edgesim.testing import Distribution

from .conftest import Handlers

BODY = b'{"ok": true}'

# Reports the header names it got in X-Seen; "/rebuilt" answers a response rebuilt from scratch,
# keeping only Content-Type, as serverless-express does.
HANDLER_PY = """
def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    seen = ",".join(sorted(response["headers"]))
    if event["Records"][0]["cf"]["request"]["uri"].startswith("/rebuilt"):
        return {"status": response["status"], "headers": {
            "content-type": response["headers"]["content-type"], "x-seen": [{"key": "X-Seen", "value": seen}]}}
    response["headers"]["x-seen"] = [{"key": "X-Seen", "value": seen}]
    return response
"""
HANDLER_JS = """
exports.handler = async (event) => {
  const response = event.Records[0].cf.response;
  const seen = Object.keys(response.headers).sort().join(',');
  if (event.Records[0].cf.request.uri.startsWith('/rebuilt')) {
    return { status: response.status, headers: {
      'content-type': response.headers['content-type'], 'x-seen': [{ key: 'X-Seen', value: seen }] } };
  }
  response.headers['x-seen'] = [{ key: 'X-Seen', value: seen }];
  return response;
};
"""


@pytest.fixture
async def origin() -> AsyncIterator[str]:
    """Chunked for paths with "chunked" in them, a Content-Length otherwise."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if b"chunked" in head.split(b"\r\n", 1)[0]:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                             + b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY))
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(BODY), BODY))
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def distribution(origin: str, handlers: Handlers, tmp_path: Path) -> AsyncIterator[Distribution]:
    path = handlers.write("framing", py=HANDLER_PY, js=HANDLER_JS)
    config = {"origins": [{"id": "app", "url": origin}],
              "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled",
                                         "functions": {"origin-response": {"lambda": f"{path.name}:handler"}}}}
    async with Distribution(config, base_dir=path.parent) as d:
        yield d


async def test_origin_response_sees_a_chunked_origins_transfer_encoding(distribution: Distribution) -> None:
    response = await distribution.get("/chunked")
    assert response.status_code == 200 and response.content == BODY
    assert response.headers["x-seen"] == "content-type,transfer-encoding"
    # Kept by the function, it does not go out a second time: the viewer's framing is edgesim's.
    assert response.headers.get_list("transfer-encoding") in ([], ["chunked"])


async def test_a_content_length_origin_shows_no_transfer_encoding(distribution: Distribution) -> None:
    response = await distribution.get("/plain")
    assert response.status_code == 200 and response.content == BODY
    assert response.headers["x-seen"] == "content-length,content-type"


async def test_dropping_the_origins_transfer_encoding_is_cloudfronts_502(distribution: Distribution) -> None:
    response = await distribution.get("/rebuilt-chunked")
    assert response.status_code == 502
    assert response.headers["x-cache"] == "LambdaValidationError from cloudfront"
    assert "The function tried to add, delete, or change a read-only header." in response.text
    # Without one to drop, the rebuilt response is fine.
    plain = await distribution.get("/rebuilt-plain")
    assert plain.status_code == 200 and plain.headers["x-seen"] == "content-length,content-type"
