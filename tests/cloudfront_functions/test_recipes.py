"""The ready-made functions in functions/cff, run through the real runtime on both runtimes they support."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from cff_support import FUNCTIONS, NOW, RUNTIMES, call, load, request, viewer_response  # noqa: F401
from cwt_support import b64, mac0
from edgesim.messages import Headers, Response

BOTH_RUNTIME_RECIPES = ["add-index", "spa-rewrite", "security-headers", "redirect-by-country", "basic-auth",
                        "normalize-query-string", "ab-test-cookie"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", BOTH_RUNTIME_RECIPES)
async def test_recipe_loads_on_its_runtimes(load, runtime: str, name: str) -> None:  # noqa: F811
    await load(path=FUNCTIONS / f"{name}.js", runtime=runtime)


@pytest.mark.parametrize("uri, expected", [("/docs/", "/docs/index.html"), ("/docs", "/docs/index.html"), ("/a.css", "/a.css")])
async def test_add_index(load, uri: str, expected: str) -> None:  # noqa: F811
    fn = await load(path=FUNCTIONS / "add-index.js")
    assert (await fn.invoke(call(request(uri)))).request.uri == expected  # type: ignore[union-attr]


async def test_spa_rewrite(load) -> None:  # noqa: F811
    fn = await load(path=FUNCTIONS / "spa-rewrite.js", runtime="cloudfront-js-1.0")
    assert (await fn.invoke(call(request("/users/42")))).request.uri == "/index.html"  # type: ignore[union-attr]
    assert (await fn.invoke(call(request("/app.js")))).request.uri == "/app.js"  # type: ignore[union-attr]


async def test_security_headers(load) -> None:  # noqa: F811
    fn = await load(path=FUNCTIONS / "security-headers.js")
    out = (await fn.invoke(viewer_response(Response(200, Headers([("Content-Type", "text/html")]))))).response
    assert out is not None
    assert out.headers.get("Strict-Transport-Security", "").startswith("max-age=63072000")
    assert out.headers.get("X-Frame-Options") == "DENY"


async def test_redirect_by_country(load) -> None:  # noqa: F811
    fn = await load(path=FUNCTIONS / "redirect-by-country.js")
    result = await fn.invoke(call(request("/shop", headers=[("Host", "h"), ("CloudFront-Viewer-Country", "DE")])))
    assert result.generated and result.response is not None
    assert (result.response.status, result.response.headers.get("Location")) == (302, "/de/shop")
    stay = await fn.invoke(call(request("/shop", headers=[("Host", "h"), ("CloudFront-Viewer-Country", "US")])))
    assert stay.request is not None and stay.request.uri == "/shop"


async def test_basic_auth(load) -> None:  # noqa: F811
    fn = await load(path=FUNCTIONS / "basic-auth.js", runtime="cloudfront-js-1.0")
    denied = await fn.invoke(call())
    assert denied.response is not None and denied.response.status == 401
    assert denied.response.headers.get("WWW-Authenticate") == 'Basic realm="edgesim"'
    token = base64.b64encode(b"edgesim:secret").decode()
    allowed = await fn.invoke(call(request(headers=[("Host", "h"), ("Authorization", f"Basic {token}")])))
    assert allowed.request is not None


async def test_normalize_query_string(load) -> None:  # noqa: F811
    fn = await load(path=FUNCTIONS / "normalize-query-string.js")
    out = (await fn.invoke(call(request(query="b=2&UTM_SOURCE=x&A=1&flag&b=1")))).request
    assert out is not None and out.querystring == "a=1&b=1&b=2&flag"


async def test_ab_test_cookie(load) -> None:  # noqa: F811
    fn = await load(path=FUNCTIONS / "ab-test-cookie.js")
    with_cookie = (await fn.invoke(call(request("/page", headers=[("Host", "h"), ("Cookie", "ab=b")])))).request
    assert with_cookie is not None and with_cookie.uri == "/b/page"
    fresh = (await fn.invoke(call(request("/page")))).request  # viewer 203.0.113.10: 0x10 is even -> a
    assert fresh is not None and fresh.uri == "/a/page" and fresh.headers.get("Cookie") == "ab=a"


def jwt(payload: dict[str, object], secret: str = "edgesim-demo-secret") -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(payload).encode())
    return head + "." + b64(hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest())


DEMO_KEY = b"edgesim-demo-secret"


@pytest.mark.parametrize("recipe, token, status", [
    ("verify-jwt.js", jwt({"sub": "u1", "exp": NOW + 60}), None),
    ("verify-jwt.js", jwt({"sub": "u1", "exp": NOW - 1}), 401),  # expired at the pinned clock
    ("verify-jwt.js", jwt({"sub": "u1"}, secret="wrong"), 401),
    ("verify-jwt.js", "garbage", 401),
    ("verify-cwt.js", b64(mac0({2: "u1", 4: int(NOW) + 60}, key=DEMO_KEY)), None),
    # expired at the pinned clock, and not yet valid (nbf): the recipe checks exp and nbf itself
    ("verify-cwt.js", b64(mac0({2: "u1", 4: int(NOW)}, key=DEMO_KEY)), 401),
    ("verify-cwt.js", b64(mac0({2: "u1", 5: int(NOW) + 60}, key=DEMO_KEY)), 401),
    ("verify-cwt.js", b64(mac0({2: "u1"}, key=b"wrong")), 401),
    ("verify-cwt.js", "garbage", 401),
])
async def test_verify_token(load, recipe: str, token: str, status: int | None) -> None:  # noqa: F811
    fn = await load(path=FUNCTIONS / recipe)
    result = await fn.invoke(call(request("/private", query=f"token={token}&x=1")))
    if status is None:
        assert result.request is not None
        assert result.request.headers.get("X-User") == "u1" and result.request.querystring == "x=1"
    else:
        assert result.response is not None and result.response.status == status


async def test_kvs_redirects(load, tmp_path: Path) -> None:  # noqa: F811
    fn = await load(path=FUNCTIONS / "kvs-redirects.js", kvs=FUNCTIONS / "kvs-redirects.json")
    moved = await fn.invoke(call(request("/old")))
    assert moved.response is not None and (moved.response.status, moved.response.headers.get("Location")) == (301, "/new")
    passthrough = await fn.invoke(call(request("/other")))
    assert passthrough.request is not None and passthrough.request.uri == "/other"
