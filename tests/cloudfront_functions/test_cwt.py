"""cf.cwt (runtime 2.0's CBOR Web Tokens, DG/cwt-support-cloudfront-functions) against tokens made and
read by an independent CBOR / COSE implementation written here from RFC 8949 and RFC 8152."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from cff_support import NOW, call, load, request  # noqa: F401
from cwt_support import KEY, Raw, Tag, b64, cbor, mac0, uncbor
from edgesim.errors import FunctionCodeError, FunctionExecutionError

VALIDATE = """import cf from 'cloudfront';
function handler(event) {
    var out = {};
    try {
        var cwt = cf.cwt.validateToken(Buffer.from(event.request.querystring.t.value, 'base64url'), {key: KEY});
        out.payload = cwt.payload;
        out.protectedHeaders = cwt.protectedHeaders;
        out.kid = cwt.unprotectedHeaders['4'] ? cwt.unprotectedHeaders['4'].toString('utf8') : null;
        out.claimType = typeof cwt.payload[4];
    } catch (e) { out.error = e.name + ': ' + e.message; }
    console.log(JSON.stringify(out));
    return event.request;
}"""

CLAIMS = {1: "https://iss.example.com", 2: "exampleUser", 4: int(NOW) - 3600, 6: int(NOW) - 7200, -70000: [1, "x", True],
          401: {2: {1: "/media/"}}, 501: 0.1, 502: Raw(b"\xf9\x3e\x00"), 503: Raw(b"\xfa\xc0\x20\x00\x00"),
          504: Raw(b"\x1b\x00\x1f\xff\xff\xff\xff\xff\xff"), 505: Tag(1, 1700000000), 506: None}


async def validated(load: Any, token: bytes, key: str = "'edgesim-cwt-key-0123456789abcdef'") -> dict[str, Any]:  # noqa: F811
    fn = await load(VALIDATE.replace("KEY", key))
    result = await fn.invoke(call(request(query=f"t={b64(token)}")))
    return json.loads(result.logs[0])  # type: ignore[no-any-return]


@pytest.mark.parametrize("cwt_tag", [True, False])
async def test_a_token_made_elsewhere_validates_and_claims_are_not_checked(load, cwt_tag: bool) -> None:  # noqa: F811
    out = await validated(load, mac0(CLAIMS, unprotected={4: b"Symmetric256"}, cwt_tag=cwt_tag))
    # exp is an hour past at the invocation's clock: the page says validateToken checks no claim
    assert out == {"payload": {"1": "https://iss.example.com", "2": "exampleUser", "4": int(NOW) - 3600, "6": int(NOW) - 7200,
                               "-70000": [1, "x", True], "401": {"2": {"1": "/media/"}}, "501": 0.1, "502": 1.5, "503": -2.5,
                               "504": 2**53 - 1, "505": 1700000000, "506": None},
                   "protectedHeaders": {"1": 5}, "kid": "Symmetric256", "claimType": "number"}


async def test_hmac_256_64_token_of_the_docs_example_validates(load) -> None:  # noqa: F811
    out = await validated(load, mac0({2: "exampleUser"}, alg=4))
    assert out["payload"] == {"2": "exampleUser"} and out["protectedHeaders"] == {"1": 4}


async def test_key_as_a_buffer(load) -> None:  # noqa: F811
    out = await validated(load, mac0({2: "u"}), key="Buffer.from('" + KEY.hex() + "', 'hex')")
    assert out["payload"] == {"2": "u"}


def tampered_tag() -> bytes:
    token = bytearray(mac0({2: "u"}))
    token[-1] ^= 1
    return bytes(token)


def tampered_payload() -> bytes:
    return mac0({2: "u"}).replace(b"\x61u", b"\x61v")


@pytest.mark.parametrize("token, error", [
    (tampered_tag(), "Error: CWT token signature verification failed"),
    (tampered_payload(), "Error: CWT token signature verification failed"),
    (mac0({2: "u"}, key=b"another key"), "Error: CWT token signature verification failed"),
    (mac0({2: "u", 3: "x" * 1000}), "Error: CWT token exceeds the maximum size of 1024 bytes"),
    (cbor(Tag(61, Tag(18, [b"", {}, b"", b""]))), "Error: Invalid CWT token: not a COSE_Mac0 structure (tag 17)"),
    (cbor([cbor({1: 5}), {}, cbor({2: "u"}), b"t"]), "Error: Invalid CWT token: not a COSE_Mac0 structure (tag 17)"),
    (mac0({2: "u"})[:-5], "Error: Invalid CWT token: truncated CBOR"),
    (mac0({2: "u"}) + b"\x00", "Error: Invalid CWT token: bytes after the token"),
    (cbor(Tag(17, [cbor({1: 5}), {}, cbor({2: "u"})])), "Error: Invalid CWT token: COSE_Mac0 is not an array of 4 items"),
    (mac0({2: "u"}, alg=-7), "Error: Unsupported CWT algorithm -7: only HS256 (HMAC-SHA256) is supported"),
    (b"not cbor at all", "Error: Invalid CWT token: not a COSE_Mac0 structure (tag 17)"),
], ids=["tampered-tag", "tampered-payload", "wrong-key", "over-1KB", "sign1-tag", "untagged", "truncated", "trailing-byte",
        "three-items", "es256", "not-cbor"])
async def test_bad_tokens_throw(load, token: bytes, error: str) -> None:  # noqa: F811
    assert (await validated(load, token))["error"] == error


async def test_token_must_be_a_buffer(load) -> None:  # noqa: F811
    fn = await load("import cf from 'cloudfront';\nfunction handler(e) { cf.cwt.validateToken('abc', {key: 'k'}); return e.request; }")
    with pytest.raises(FunctionExecutionError, match="TypeError: token must be a Buffer"):
        await fn.invoke(call())


GENERATE = """import cf from 'cloudfront';
function handler(event) {
    var cwt = {protected: {1: 5}, unprotected: {4: Buffer.from('kid-1')},
               payload: {1: 'edgesim', 4: 1740000000, 7: Buffer.from([1, 2, 3]), 401: {3: {3: ['.m3u8', '.ts']}}, 500: -2.5,
                         name: 'caf\\u00e9', flag: false, none: null}};
    var token = ARGS;
    var back = cf.cwt.validateToken(token, {key: 'edgesim-cwt-key-0123456789abcdef'});
    console.log(token.toString('base64url'));
    console.log(JSON.stringify(back.payload['401']) + ' ' + back.payload['7'].toString('hex'));
    return event.request;
}"""


@pytest.mark.parametrize("args, cwt_tag", [
    # the page's examples: (CWTObject, context); its signature: (generatorContext, payload)
    ("cf.cwt.generateToken(cwt, {cwtTag: true, coseTag: 'MAC0', key: 'edgesim-cwt-key-0123456789abcdef'})", True),
    ("cf.cwt.generateToken({coseTag: 'MAC0', key: Buffer.from('edgesim-cwt-key-0123456789abcdef')}, cwt)", False),
])
async def test_generated_token_validates_in_python(load, args: str, cwt_tag: bool) -> None:  # noqa: F811
    fn = await load(GENERATE.replace("ARGS", args))
    logs = (await fn.invoke(call())).logs
    assert logs[1] == '{"3":{"3":[".m3u8",".ts"]}} 010203'
    token = uncbor(base64.urlsafe_b64decode(logs[0] + "=" * (-len(logs[0]) % 4)))
    if cwt_tag:
        assert isinstance(token, Tag) and token.number == 61
        token = token.value
    assert isinstance(token, Tag) and token.number == 17
    protected, unprotected, body, tag = token.value
    assert uncbor(protected) == {1: 5} and unprotected == {4: b"kid-1"}
    assert uncbor(body) == {1: "edgesim", 4: 1740000000, 7: b"\x01\x02\x03", 401: {3: {3: [".m3u8", ".ts"]}},
                            500: -2.5, "name": "café", "flag": False, "none": None}
    assert tag == hmac.new(KEY, cbor(["MAC0", protected, b"", body]), hashlib.sha256).digest()


async def test_regenerating_what_validate_returned(load) -> None:  # noqa: F811
    """The page's refresh example feeds validateToken's result back to generateToken."""
    fn = await load("""import cf from 'cloudfront';
function handler(event) {
    var ctx = {coseTag: 'MAC0', key: 'edgesim-cwt-key-0123456789abcdef'};
    var cwt = cf.cwt.validateToken(Buffer.from(event.request.querystring.t.value, 'base64url'), ctx);
    cwt.payload['4'] = Math.floor(Date.now() / 1000) + 8 * 3600;
    console.log(cf.cwt.generateToken(cwt, ctx).toString('base64url'));
    return event.request;
}""")
    logs = (await fn.invoke(call(request(query=f"t={b64(mac0({2: 'u', 4: 1}, cwt_tag=False))}")))).logs
    assert cbor(uncbor(base64.urlsafe_b64decode(logs[0] + "==="))) == mac0({2: "u", 4: int(NOW) + 8 * 3600}, cwt_tag=False)


@pytest.mark.parametrize("body, error", [
    ("cf.cwt.generateToken({payload: {1: 'x'}}, {coseTag: 'SIGN1', key: 'k'})", "Error: Unsupported coseTag SIGN1: only MAC0 is supported"),
    ("cf.cwt.generateToken({payload: {1: 'x'}}, {coseTag: 'MAC0'})", "TypeError: key must be a string or a Buffer"),
    ("cf.cwt.generateToken({payload: {1: 'x'.repeat(1100)}}, {coseTag: 'MAC0', key: 'k'})",
     "Error: CWT token exceeds the maximum size of 1024 bytes"),
])
async def test_generate_errors(load, body: str, error: str) -> None:  # noqa: F811
    fn = await load("import cf from 'cloudfront';\nfunction handler(e) { " + body + "; return e.request; }")
    with pytest.raises(FunctionExecutionError, match=error):
        await fn.invoke(call())


async def test_runtime_1_has_no_cloudfront_module(load) -> None:  # noqa: F811
    """cf.cwt is 2.0's, as the whole cloudfront module: 1.0 refuses the import and has no such module."""
    with pytest.raises(FunctionCodeError, match="import"):
        await load("import cf from 'cloudfront';\nfunction handler(e) { cf.cwt.validateToken(Buffer.from(''), {key: 'k'}); return e.request; }",
                   runtime="cloudfront-js-1.0")
    fn = await load("function handler(e) { require('cloudfront').cwt; return e.request; }", runtime="cloudfront-js-1.0")
    with pytest.raises(FunctionExecutionError, match='Cannot find module "cloudfront"'):
        await fn.invoke(call())
    fn = await load("function handler(e) { console.log(typeof globalThis.__cf_cwt); return e.request; }", runtime="cloudfront-js-1.0")
    assert (await fn.invoke(call())).logs == ["undefined"]



async def test_the_pages_generate_example_with_its_string_algorithm(load) -> None:  # noqa: F811
    """The page's example writes the algorithm as "5" (a string): read as HS256 (UNCERTAIN), its token validates."""
    fn = await load("""import cf from 'cloudfront';
function handler(event) {
    const cat = {protected: {1: "5"}, unprotected: {},
                 payload: {1: "cloudfront-documentation", 4: 1740000000, 401: {1: {2: ".cloudfront.net"}}, 403: ["GET", "HEAD"]}};
    const token = cf.cwt.generateToken(cat, {cwtTag: true, coseTag: "MAC0", key: "edgesim-cwt-key-0123456789abcdef"});
    console.log(token.toString('base64url'));
    console.log(JSON.stringify(cf.cwt.validateToken(token, {key: "edgesim-cwt-key-0123456789abcdef"})));
    return event.request;
}""")
    logs = (await fn.invoke(call())).logs
    assert json.loads(logs[1]) == {"protectedHeaders": {"1": "5"}, "unprotectedHeaders": {},
                                   "payload": {"1": "cloudfront-documentation", "4": 1740000000, "401": {"1": {"2": ".cloudfront.net"}},
                                               "403": ["GET", "HEAD"]}}
    protected, _, body, tag = uncbor(base64.urlsafe_b64decode(logs[0] + "===")).value.value
    assert uncbor(protected) == {1: "5"} and len(tag) == 32
    assert tag == hmac.new(KEY, cbor(["MAC0", protected, b"", body]), hashlib.sha256).digest()
