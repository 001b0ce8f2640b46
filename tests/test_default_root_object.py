"""`distribution.default_root_object`: a request for the distribution's root URL gets that object
(CloudFront docs, "Specify a default root object"); the field was loaded and imported, then ignored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgesim.errors import ConfigError
from edgesim.testing import Distribution, resolve_config

VIEWER_REQUEST = """
function handler(event) {
    event.request.headers['x-seen-uri'] = { value: event.request.uri };
    return event.request;
}
"""


def config(root: str, **behaviors: Any) -> dict[str, Any]:
    return {
        "distribution": {"default_root_object": root},
        "origins": [{"id": "site", "url": "http://site.test"}],
        "default_cache_behavior": {"target_origin": "site", "cache_policy": "CachingDisabled",
                                   "origin_request_policy": "AllViewerExceptHostHeader",
                                   "functions": {"viewer-request": {"cloudfront_function": "seen.js"}}},
        **behaviors,
    }


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "seen.js").write_text(VIEWER_REQUEST)
    return tmp_path


async def test_the_root_url_gets_the_default_root_object(base: Path) -> None:
    routes = {"/index.html": "home page", "/docs/index.html": "docs page"}
    async with Distribution(config("index.html"), base_dir=base, origins={"site": routes}) as dist:
        async with dist.client() as client:
            root = await client.get("/?utm=1")
            assert root.status_code == 200 and root.text == "home page"
            origin = dist.origins["site"].last
            assert origin is not None and origin.uri == "/index.html" and origin.querystring == "utm=1"
            # The function sees the object's path: CloudFront substitutes it as the request arrives.
            assert origin.headers["x-seen-uri"] == "/index.html"
            # Only the root: a folder's URL is not given its index, unlike an S3 website.
            sub = await client.get("/docs/")
            assert dist.origins["site"].paths[-1] == "/docs/"
            assert sub.status_code == 404


async def test_a_path_to_the_root_object_and_its_behavior(base: Path) -> None:
    data = config("app/start.html", cache_behaviors=[
        {"path_pattern": "/app/*", "target_origin": "app", "cache_policy": "CachingDisabled"}])
    data["origins"].append({"id": "app", "url": "http://app.test"})
    origins = {"site": {"/app/start.html": "site's copy"}, "app": {"/app/start.html": "app's start page"}}
    async with Distribution(data, base_dir=base, origins=origins) as dist, dist.client() as client:
        response = await client.get("/")
        # UNCERTAIN: the behavior is chosen on the object's path (our reading, as the rewrite
        # happens before anything else the request meets).
        assert response.text == "app's start page"


async def test_without_one_the_root_is_asked_for_as_it_is(base: Path) -> None:
    async with Distribution(config(""), base_dir=base, origins={"site": {"/": "root"}}) as dist:
        async with dist.client() as client:
            assert (await client.get("/")).text == "root"


def test_a_leading_slash_is_refused_with_the_fix(base: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        resolve_config(config("/index.html"), base)
    message = str(refused.value)
    assert "distribution.default_root_object" in message and "'index.html'" in message


async def test_what_answers_the_viewers_url_still_sees_the_root(base: Path) -> None:
    """The redirect to https and a signed URL's resource are the URL the viewer used, `/`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from edgesim.testing import sign_url

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    (base / "public.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    data = config("index.html", key_groups=[{"id": "readers", "public_keys": [{"id": "K1", "pem": "public.pem"}]}])
    data["distribution"]["enforce_viewer_protocol_policy"] = True
    data["default_cache_behavior"].update(viewer_protocol_policy="redirect-to-https", trusted_key_groups=["readers"])
    async with Distribution(data, base_dir=base, origins={"site": {"/index.html": "home page"}}) as dist:
        async with dist.client() as client:
            redirect = await client.get("/")
            assert redirect.status_code == 301
            assert redirect.headers["location"] == "https://d111111abcdef8.cloudfront.net/"
            signed = sign_url("https://d111111abcdef8.cloudfront.net/", "K1", private, expires=4102444800)
            served = await client.get(signed)
            assert served.status_code == 200 and served.text == "home page"
