"""Origins: S3-style directory origins (and their security), HTTP origin errors, failover."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import build_config, origin_app
from edgesim.config import S3Origin
from edgesim.messages import Headers, Request
from edgesim.origin import OriginFetcher
from edgesim.server import free_port


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "css").mkdir(parents=True)
    (root / "index.html").write_text("<h1>hi</h1>")
    (root / "css" / "a.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    os.symlink(tmp_path / "secret.txt", root / "link-out.txt")
    os.symlink(root / "index.html", root / "link-in.html")
    return root


def s3(root: Path) -> S3Origin:
    return S3Origin.model_validate({"id": "site", "directory": str(root)}, context={"base_dir": "/"})


async def fetch(root: Path, uri: str, method: str = "GET", headers: Headers | None = None) -> Any:
    return await OriginFetcher().fetch(Request(method, uri, headers=headers or Headers()), s3(root))


async def test_directory_serves_files_like_s3(site: Path) -> None:
    r = await fetch(site, "/index.html")
    assert r.status == 200 and r.body == b"<h1>hi</h1>"
    assert r.headers.get("content-type") == "text/html"
    assert r.headers.get("etag", "").startswith('"') and r.headers.get("last-modified")
    r = await fetch(site, "/css/a.css")
    assert r.headers.get("content-type") == "text/css"
    assert (await fetch(site, "/link-in.html")).status == 200


@pytest.mark.parametrize("uri", ["/nope.html", "/", "/css", "/css/"])
async def test_missing_key_is_403_access_denied(site: Path, uri: str) -> None:
    r = await fetch(site, uri)
    assert r.status == 403
    assert b"<Code>AccessDenied</Code>" in r.body


@pytest.mark.parametrize("uri", [
    "/../secret.txt", "/css/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt",
    "/css/..%2f..%2fsecret.txt", "/link-out.txt", "/..%5csecret.txt", "/index.html%00.txt",
])
async def test_nothing_outside_the_root_is_served(site: Path, uri: str) -> None:
    r = await fetch(site, uri)
    assert r.status == 403
    assert b"TOP SECRET" not in r.body


async def test_conditional_get_gives_304(site: Path) -> None:
    first = await fetch(site, "/index.html")
    etag = first.headers.get("etag")
    r = await fetch(site, "/index.html", headers=Headers([("If-None-Match", etag or "")]))
    assert r.status == 304 and r.body == b""
    r = await fetch(site, "/index.html", headers=Headers([("If-Modified-Since", first.headers.get("last-modified") or "")]))
    assert r.status == 304


async def test_writes_to_a_directory_origin_are_refused(site: Path) -> None:
    assert (await fetch(site, "/index.html", method="PUT")).status == 405


def http_config(tmp_path: Path, url: str, **origin: Any) -> Any:
    return build_config({"origins": [{"id": "app", "url": url, **origin}],
                         # AllViewerExceptHostHeader: query strings and viewer headers reach the origin (spec §2.6).
                         "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled",
                                                    "origin_request_policy": "AllViewerExceptHostHeader"}}, tmp_path)


async def test_connection_refused_is_502(harness_factory: Any, tmp_path: Path) -> None:
    port = free_port()
    h = await harness_factory(http_config(tmp_path, f"http://127.0.0.1:{port}"))
    r = await h.client.get("/")
    assert r.status_code == 502
    assert r.headers["x-cache"] == "Error from cloudfront"
    assert "502 ERROR" in r.text


async def test_unresolvable_origin_is_502(harness_factory: Any, tmp_path: Path) -> None:
    h = await harness_factory(http_config(tmp_path, "http://no-such-host.invalid"))
    r = await h.client.get("/")
    assert r.status_code == 502


async def test_slow_origin_is_504(harness_factory: Any, tmp_path: Path) -> None:
    # A real socket that accepts and never answers: the read timeout fires.
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until edgesim gives up and closes its end
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        h = await harness_factory(http_config(tmp_path, f"http://127.0.0.1:{port}", read_timeout=1))
        r = await h.client.get("/")
        assert r.status_code == 504
    finally:
        server.close()
        await server.wait_closed()


async def test_real_http_origin_over_a_socket(harness_factory: Any, tmp_path: Path) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        body = b"path=" + head.split(b" ")[1]
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\nX-Origin: yes\r\n\r\n%s"
                     % (len(body), body))
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        h = await harness_factory(http_config(tmp_path, f"http://127.0.0.1:{port}/base"))
        r = await h.client.get("/x?q=1")
        assert r.status_code == 200
        assert r.text == "path=/base/x?q=1"  # origin path prefixed
        assert r.headers["x-origin"] == "yes"
    finally:
        server.close()
        await server.wait_closed()


async def test_origin_group_fails_over_on_status_and_connection_error(harness_factory: Any, tmp_path: Path) -> None:
    data = {
        "origins": [{"id": "a", "url": "http://a.internal"}, {"id": "b", "url": "http://b.internal"},
                    {"id": "dead", "url": f"http://127.0.0.1:{free_port()}"}],
        "origin_groups": [{"id": "g", "primary": "a", "secondary": "b", "failover_status_codes": [503]},
                          {"id": "g2", "primary": "dead", "secondary": "b"}],
        "default_cache_behavior": {"target_origin": "g", "cache_policy": "CachingDisabled"},
        "cache_behaviors": [{"path_pattern": "/dead/*", "target_origin": "g2", "cache_policy": "CachingDisabled"}],
    }
    a_seen: list[Any] = []
    transports = {"a": httpx.ASGITransport(app=origin_app({"/down": (503, {}, b"a down"), "/404": (404, {}, b"a 404")}, a_seen)),
                  "b": httpx.ASGITransport(app=origin_app({"/down": (200, {}, b"b up"), "/404": (200, {}, b"b")}))}
    h = await harness_factory(build_config(data, tmp_path), transports)
    assert (await h.client.get("/down")).text == "b up"
    r = await h.client.get("/404")
    assert (r.status_code, r.text) == (404, "a 404")  # 404 is not a failover status here
    assert (await h.client.get("/dead/x")).text == "origin /dead/x"
    assert len(a_seen) == 2


@pytest.mark.parametrize(("uri", "said"), [("/nope.html", "no file for /nope.html in"), ("/css", "css is not a file"),
                                           ("/css/b.css", "no file for /css/b.css in")])
async def test_the_trace_and_log_say_which_local_file_an_s3_403_is_about(site: Path, uri: str, said: str) -> None:
    """A directory origin answers a missing key as S3 does (403 AccessDenied, nothing more), and the
    developer is told which file in which folder was not there."""
    from edgesim.request_log import text_line
    from edgesim.testing import Distribution

    config = {"origins": [{"id": "site", "directory": str(site)}],
              "default_cache_behavior": {"target_origin": "site", "cache_policy": "CachingDisabled"}}
    async with Distribution(config, base_dir=site.parent) as dist:
        async with dist.client() as client:
            response = await client.get(uri)
    assert response.status_code == 403 and b"<Code>AccessDenied</Code>" in response.content
    assert str(site) not in response.text  # the viewer sees S3's answer only
    notes = [n for n in dist.last_trace.notes if n.startswith("directory origin 'site':")]
    assert len(notes) == 1 and said in notes[0], dist.last_trace.notes
    assert said in text_line(dist.last_trace)


async def test_an_origin_response_head_over_the_limit_is_cloudfronts_502(harness_factory: Any, tmp_path: Path) -> None:
    # Over "Maximum length of a request or an origin response ... 20,480 bytes" (DG/cloudfront-limits):
    # CloudFront cannot take the response, so the viewer gets its 502, over a socket and through a
    # test transport alike.
    big = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 30_000 + b"\r\nContent-Length: 2\r\n\r\nok"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(big)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        h = await harness_factory(http_config(tmp_path, f"http://127.0.0.1:{port}"))
        r = await h.client.get("/")
        assert (r.status_code, r.headers["x-cache"]) == (502, "Error from cloudfront")
        error = h.distribution.last_trace.origin_requests[-1].error
        assert error is not None and "over CloudFront's 20,480 bytes" in error
    finally:
        server.close()
        await server.wait_closed()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, headers={"X-Big": "a" * 30_000}, content=b"ok"))
    h = await harness_factory(http_config(tmp_path, "http://app.internal"), {"app": transport})
    r = await h.client.get("/")
    assert (r.status_code, r.headers["x-cache"]) == (502, "Error from cloudfront")
    error = h.distribution.last_trace.origin_requests[-1].error
    assert error is not None and "over CloudFront's 20,480 bytes" in error
