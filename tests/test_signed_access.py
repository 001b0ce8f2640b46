"""Restricted viewer access: signed URLs and signed cookies against trusted key groups, with a real
RSA key made here (signed_access.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from edgesim.errors import ConfigError
from edgesim.signed_access import cloudfront_b64decode, cloudfront_b64encode
from edgesim.testing import Distribution, sign_url, signed_cookies

DOMAIN = "http://d111111abcdef8.cloudfront.net"
KEY_ID = "K2JCJMDEHXQW5F"


def _pem_pair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return _pem_pair()


def config(tmp_path: Path, public_pem: bytes, **behavior: Any) -> dict[str, Any]:
    (tmp_path / "public_key.pem").write_bytes(public_pem)
    return {
        "origins": [{"id": "api", "url": "http://api.example.com"}],
        "key_groups": [{"id": "readers", "public_keys": [{"id": KEY_ID, "pem": "public_key.pem"}]}],
        "cache_behaviors": [{"path_pattern": "/private/*", "target_origin": "api", "cache_policy": "CachingDisabled",
                             "origin_request_policy": "AllViewerExceptHostHeader",
                             "trusted_key_groups": ["readers"], **behavior}],
        "default_cache_behavior": {"target_origin": "api", "cache_policy": "CachingDisabled",
                                   "origin_request_policy": "AllViewerExceptHostHeader"},
    }


def origin(request: Any) -> str:
    return f"origin {request.url_path_and_query}"


async def fetch(tmp_path: Path, public_pem: bytes, url: str, *, viewer: dict[str, str] | None = None,
                cookies: dict[str, str] | None = None, advance: float = 0) -> tuple[httpx.Response, Distribution]:
    async with Distribution(config(tmp_path, public_pem), base_dir=tmp_path, origins={"api": origin}) as dist:
        dist.clock.advance(advance)
        async with dist.client(viewer=viewer) as client:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else None
            return await client.get(url.removeprefix(DOMAIN), headers=headers), dist


def now() -> int:
    import time
    return int(time.time())


def denied(response: httpx.Response, message: str = "Access denied", code: str = "AccessDenied") -> bool:
    return (response.status_code == 403 and response.headers["x-cache"] == "Error from cloudfront"
            and f"<Code>{code}</Code><Message>{message}</Message>" in response.text
            and response.headers["content-type"] == "text/xml")


def test_cloudfront_base64_is_url_safe() -> None:
    data = bytes(range(250, 256)) + b"\xfb\xff"
    text = cloudfront_b64encode(data)
    assert not set("+=/") & set(text) and cloudfront_b64decode(text) == data


async def test_canned_signed_url_reaches_the_origin_without_the_signing_parameters(
        tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    url = sign_url(f"{DOMAIN}/private/a.txt?color=red", KEY_ID, keys[0], expires=now() + 300)
    response, dist = await fetch(tmp_path, keys[1], url)
    assert response.status_code == 200
    assert response.text == "origin /private/a.txt?color=red"
    assert dist.origins["api"].paths == ["/private/a.txt?color=red"]


async def test_custom_policy_wildcard_resource_and_sha256(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    policy = {"Statement": [{"Resource": f"{DOMAIN}/private/*",
                             "Condition": {"DateLessThan": {"AWS:EpochTime": now() + 300}}}]}
    url = sign_url(f"{DOMAIN}/private/deep/b.txt", KEY_ID, keys[0], policy=policy, hash_algorithm="SHA256")
    response, _ = await fetch(tmp_path, keys[1], url)
    assert response.status_code == 200 and response.text == "origin /private/deep/b.txt"


async def test_custom_policy_resource_that_does_not_match_is_denied(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    policy = {"Statement": [{"Resource": f"{DOMAIN}/private/other/*",
                             "Condition": {"DateLessThan": {"AWS:EpochTime": now() + 300}}}]}
    response, _ = await fetch(tmp_path, keys[1], sign_url(f"{DOMAIN}/private/b.txt", KEY_ID, keys[0], policy=policy))
    assert denied(response)


@pytest.mark.parametrize(("ip", "ok"), [("192.0.2.77", True), ("198.51.100.7", False)])
async def test_custom_policy_source_ip(tmp_path: Path, keys: tuple[bytes, bytes], ip: str, ok: bool) -> None:
    policy = {"Statement": [{"Resource": f"{DOMAIN}/private/*", "Condition": {
        "DateLessThan": {"AWS:EpochTime": now() + 300}, "IpAddress": {"AWS:SourceIp": "192.0.2.0/24"}}}]}
    url = sign_url(f"{DOMAIN}/private/c.txt", KEY_ID, keys[0], policy=policy)
    response, _ = await fetch(tmp_path, keys[1], url, viewer={"ip": ip})
    assert response.status_code == 200 if ok else denied(response)


@pytest.mark.parametrize(("source", "ip"), [("2001:db8::/32", "2001:db8::7"), ("::/0", "::1"),
                                            ("192.0.2.0/24", "2001:db8::7")])
async def test_an_ipv6_address_in_a_policy_or_viewer_is_never_granted_by_source_ip(
        tmp_path: Path, keys: tuple[bytes, bytes], source: str, ip: str) -> None:
    # DG/private-content-creating-signed-url-custom-policy, IpAddress: "IP addresses in IPv6 format ...
    # are not supported" (CIDR in IPv4 only; "do not enable IPv6 for the distribution"). A policy that
    # names an IPv6 range grants no viewer, so one that passes here would fail on CloudFront.
    policy = {"Statement": [{"Resource": f"{DOMAIN}/private/*", "Condition": {
        "DateLessThan": {"AWS:EpochTime": now() + 300}, "IpAddress": {"AWS:SourceIp": source}}}]}
    url = sign_url(f"{DOMAIN}/private/c.txt", KEY_ID, keys[0], policy=policy)
    response, _ = await fetch(tmp_path, keys[1], url, viewer={"ip": ip})
    assert denied(response)


async def test_a_policy_with_more_than_one_statement_is_malformed(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    # DG/private-content-creating-signed-url-custom-policy: "You can include only one statement."
    # UNCERTAIN which answer CloudFront gives; we take MalformedPolicy rather than reading the first
    # statement and ignoring the rest (which would serve what CloudFront may refuse).
    statement = {"Resource": f"{DOMAIN}/private/*", "Condition": {"DateLessThan": {"AWS:EpochTime": now() + 300}}}
    url = sign_url(f"{DOMAIN}/private/a.txt", KEY_ID, keys[0], policy={"Statement": [statement, statement]})
    response, _ = await fetch(tmp_path, keys[1], url)
    assert denied(response, "Malformed Policy", "MalformedPolicy")


@pytest.mark.parametrize(("advance", "ok"), [(0, False), (120, True)])
async def test_custom_policy_date_greater_than(tmp_path: Path, keys: tuple[bytes, bytes], advance: int, ok: bool) -> None:
    policy = {"Statement": [{"Resource": f"{DOMAIN}/private/*", "Condition": {
        "DateLessThan": {"AWS:EpochTime": now() + 300}, "DateGreaterThan": {"AWS:EpochTime": now() + 60}}}]}
    url = sign_url(f"{DOMAIN}/private/d.txt", KEY_ID, keys[0], policy=policy)
    response, _ = await fetch(tmp_path, keys[1], url, advance=advance)
    assert response.status_code == 200 if ok else denied(response)


async def test_expired_signed_url_is_denied(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    url = sign_url(f"{DOMAIN}/private/a.txt", KEY_ID, keys[0], expires=now() + 60)
    response, dist = await fetch(tmp_path, keys[1], url, advance=61)
    assert denied(response) and dist.origins["api"].paths == []


async def test_signature_by_another_key_is_denied(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    other_private, _ = _pem_pair()
    response, _ = await fetch(tmp_path, keys[1], sign_url(f"{DOMAIN}/private/a.txt", KEY_ID, other_private,
                                                          expires=now() + 300))
    assert denied(response)


async def test_tampered_url_is_denied(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    url = sign_url(f"{DOMAIN}/private/a.txt", KEY_ID, keys[0], expires=now() + 300)
    response, _ = await fetch(tmp_path, keys[1], url.replace("/a.txt", "/b.txt"))
    assert denied(response)


async def test_unknown_key_pair_id(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    response, _ = await fetch(tmp_path, keys[1], sign_url(f"{DOMAIN}/private/a.txt", "KOTHER", keys[0],
                                                          expires=now() + 300))
    # CloudFront's code for a key it does not trust is InvalidKey (captured answers: a Strava tile fetcher's notes,
    # the blog post behind aobao32/cloudfront-signature-demo: `<Code>InvalidKey</Code><Message>Unknown Key</Message>`).
    assert denied(response, "Unknown Key", "InvalidKey")


async def test_a_key_of_a_group_the_behavior_does_not_trust_is_unknown(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    # The distribution knows the key (another group, trusted by no behavior here): still InvalidKey.
    other_private, other_public = _pem_pair()
    (tmp_path / "other.pem").write_bytes(other_public)
    cfg = config(tmp_path, keys[1])
    cfg["key_groups"].append({"id": "others", "public_keys": [{"id": "KOTHERKEY", "pem": "other.pem"}]})
    url = sign_url(f"{DOMAIN}/private/a.txt", "KOTHERKEY", other_private, expires=now() + 300)
    async with Distribution(cfg, base_dir=tmp_path, origins={"api": origin}) as dist:
        async with dist.client() as client:
            response = await client.get(url.removeprefix(DOMAIN))
    assert denied(response, "Unknown Key", "InvalidKey")


@pytest.mark.parametrize("drop", ["Key-Pair-Id", "Signature", "Expires"])
async def test_missing_parameters(tmp_path: Path, keys: tuple[bytes, bytes], drop: str) -> None:
    url = sign_url(f"{DOMAIN}/private/a.txt", KEY_ID, keys[0], expires=now() + 300)
    base, _, query = url.partition("?")
    url = base + "?" + "&".join(p for p in query.split("&") if not p.startswith(drop + "="))
    response, _ = await fetch(tmp_path, keys[1], url)
    if drop == "Key-Pair-Id":
        assert denied(response, "Missing Key-Pair-Id query parameter or cookie value", "MissingKey")
    else:
        assert denied(response)


async def test_no_signature_at_all(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    response, _ = await fetch(tmp_path, keys[1], f"{DOMAIN}/private/a.txt")
    # CloudFront's code is MissingKey, not AccessDenied: 403 bodies captured from CloudFront in public
    # walkthroughs (the AWS China blog post behind aobao32/cloudfront-signature-demo) print
    # `<Code>MissingKey</Code>`.
    assert denied(response, "Missing Key-Pair-Id query parameter or cookie value", "MissingKey")


@pytest.mark.parametrize("signature", ["!!!notbase64", "abc%20def", "a=b=c"])
async def test_a_signature_that_is_not_cloudfront_base64_is_malformed_signature(
        tmp_path: Path, keys: tuple[bytes, bytes], signature: str) -> None:
    url = sign_url(f"{DOMAIN}/private/a.txt", KEY_ID, keys[0], expires=now() + 300)
    base, _, query = url.partition("?")
    url = base + "?" + "&".join(p if not p.startswith("Signature=") else f"Signature={signature}"
                                for p in query.split("&"))
    response, _ = await fetch(tmp_path, keys[1], url)
    assert denied(response, "Could not unencode Signature", "MalformedSignature")


async def test_a_signature_that_decodes_but_does_not_verify_is_access_denied(
        tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    url = sign_url(f"{DOMAIN}/private/a.txt", KEY_ID, keys[0], expires=now() + 300)
    base, _, query = url.partition("?")
    url = base + "?" + "&".join(p if not p.startswith("Signature=") else "Signature=QUJDRA__"
                                for p in query.split("&"))
    response, _ = await fetch(tmp_path, keys[1], url)
    assert denied(response)


async def test_malformed_policy(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    response, _ = await fetch(tmp_path, keys[1], f"{DOMAIN}/private/a.txt?Policy=!!!&Signature=x&Key-Pair-Id={KEY_ID}")
    assert denied(response, "Malformed Policy", "MalformedPolicy")


@pytest.mark.parametrize("statement", [
    {"Condition": {"DateLessThan": {"AWS:EpochTime": "soon"}}},
    {"Condition": "tomorrow"},
    {"Condition": {"DateLessThan": {"AWS:EpochTime": 4102444800}, "DateGreaterThan": [1]}},
    {"Resource": 5, "Condition": {"DateLessThan": {"AWS:EpochTime": 4102444800}}},
    {"Condition": {"DateLessThan": {"AWS:EpochTime": 4102444800}, "IpAddress": {"AWS:SourceIp": ["10.0.0.0/8"]}}},
], ids=["epoch-text", "condition-text", "greater-list", "resource-number", "source-ip-list"])
async def test_a_signed_policy_of_the_wrong_shape_is_malformed_not_an_edgesim_failure(
        tmp_path: Path, keys: tuple[bytes, bytes], statement: dict[str, Any]) -> None:
    # Signed with the right key, so only the policy's shape is wrong: the viewer's doing, a 403.
    url = sign_url(f"{DOMAIN}/private/a.txt", KEY_ID, keys[0], policy={"Statement": [statement]})
    response, _ = await fetch(tmp_path, keys[1], url)
    assert denied(response, "Malformed Policy", "MalformedPolicy")


async def test_a_policy_nested_too_deep_is_malformed(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    cookies = signed_cookies(f"{DOMAIN}/private/a.txt", KEY_ID, keys[0], policy="[" * 4000 + "]" * 4000)
    response, _ = await fetch(tmp_path, keys[1], f"{DOMAIN}/private/a.txt", cookies=cookies)
    assert denied(response, "Malformed Policy", "MalformedPolicy")


async def test_signed_cookies_instead_of_query(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    policy = {"Statement": [{"Resource": f"{DOMAIN}/private/*",
                             "Condition": {"DateLessThan": {"AWS:EpochTime": now() + 300}}}]}
    cookies = signed_cookies(f"{DOMAIN}/private/*", KEY_ID, keys[0], policy=policy)
    assert set(cookies) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    response, _ = await fetch(tmp_path, keys[1], f"{DOMAIN}/private/e.txt?x=1", cookies=cookies)
    assert response.status_code == 200 and response.text == "origin /private/e.txt?x=1"
    canned = signed_cookies(f"{DOMAIN}/private/f.txt", KEY_ID, keys[0], expires=now() + 300)
    response, _ = await fetch(tmp_path, keys[1], f"{DOMAIN}/private/f.txt", cookies=canned)
    assert response.status_code == 200
    response, _ = await fetch(tmp_path, keys[1], f"{DOMAIN}/private/g.txt", cookies=canned)
    assert denied(response)


async def test_behavior_without_trusted_key_groups_is_unaffected(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    response, _ = await fetch(tmp_path, keys[1], f"{DOMAIN}/public/a.txt?Signature=x")
    assert response.status_code == 200 and response.text == "origin /public/a.txt?Signature=x"


def test_unknown_key_group_is_refused_at_load(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    data = config(tmp_path, keys[1], trusted_key_groups=["nope"])
    with pytest.raises(ConfigError) as err:
        Distribution(data, base_dir=tmp_path)
    assert "cache_behaviors[0].trusted_key_groups: unknown key group id 'nope'" in str(err.value)


def test_duplicate_key_group_ids_are_refused_at_load(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    data = config(tmp_path, keys[1])
    data["key_groups"] = data["key_groups"] * 2
    with pytest.raises(ConfigError) as err:
        Distribution(data, base_dir=tmp_path)
    assert "key_groups: duplicate key group id(s) ['readers']" in str(err.value)


def test_a_key_that_is_not_a_public_key_is_refused_at_load(tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    data = config(tmp_path, keys[1])
    (tmp_path / "public_key.pem").write_bytes(keys[0])  # the private key by mistake
    with pytest.raises(ConfigError) as err:
        Distribution(data, base_dir=tmp_path)
    assert "key_groups[0].public_keys[0].pem" in str(err.value) and "not a PEM public key" in str(err.value)


async def test_viewer_request_function_runs_after_the_check_without_the_signing_parameters(
        tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    (tmp_path / "seen.js").write_text(
        "function handler(event) {\n  var r = event.request;\n"
        "  r.headers['x-seen'] = {value: Object.keys(r.querystring).join(',') || 'none'};\n  return r;\n}\n")
    data = config(tmp_path, keys[1], functions={"viewer-request": {"cloudfront_function": "seen.js"}})
    seen: list[str] = []

    def recording(request: Any) -> str:
        seen.append(request.headers.get("x-seen") or "")
        return "ok"

    async with Distribution(data, base_dir=tmp_path, origins={"api": recording}) as dist, dist.client() as client:
        url = sign_url(f"{DOMAIN}/private/a.txt?color=red", KEY_ID, keys[0], expires=now() + 300)
        ok = await client.get(url.removeprefix(DOMAIN))
        refused = await client.get("/private/a.txt?color=red")
    assert ok.status_code == 200 and seen == ["color"]
    # A refused request runs no function and reaches no origin.
    assert denied(refused, "Missing Key-Pair-Id query parameter or cookie value", "MissingKey") and len(seen) == 1


async def test_a_custom_error_response_for_403_answers_a_refused_signature(
        tmp_path: Path, keys: tuple[bytes, bytes]) -> None:
    # The distribution's custom error response for 403 replaces CloudFront's XML refusal, as it does the
    # geographic restrictions' 403: "You can replace 403's with a custom error page ... this replacement is
    # distribution-wide" (vrtdev's aws-cloudfront-authorizer write-up, about the MissingKey 403 above).
    # UNCERTAIN: the Developer Guide words custom error pages for the origin's statuses only.
    data = config(tmp_path, keys[1])
    data["custom_error_responses"] = [{"error_code": 403, "response_code": 200, "response_page_path": "/login.html"}]
    async with Distribution(data, base_dir=tmp_path, origins={"api": origin}) as dist, dist.client() as client:
        response = await client.get("/private/a.txt")
        trace = dist.traces[-1]
    assert response.status_code == 200 and response.text == "origin /login.html"
    assert response.headers["x-cache"] == "Error from cloudfront"
    assert "AccessDenied: Missing Key-Pair-Id" in (trace.error or "")
