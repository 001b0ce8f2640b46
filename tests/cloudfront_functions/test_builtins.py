"""What each runtime provides and takes away (spec §1.5, §1.7), checked against Python's own implementations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from cff_support import NOW, RUNTIMES, call, load, request  # noqa: F401
from edgesim.cloudfront_functions import CloudFrontFunction
from edgesim.cloudfront_functions.edge_location import edge_location


async def logs_of(fn: CloudFrontFunction, **kw: Any) -> list[str]:
    return (await fn.invoke(call(**kw))).logs


def logging(body: str) -> str:
    """A handler that logs one JSON line of what `body` computes into `out`."""
    return f"var crypto = require('crypto'); var qs = require('querystring');\nfunction handler(e) {{ var out = {{}}; {body}; console.log(JSON.stringify(out)); return e.request; }}"


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("alg", ["md5", "sha1", "sha256"])
async def test_crypto_matches_hashlib(load, runtime: str, alg: str) -> None:  # noqa: F811
    data = "héllo wörld " * 20
    fn = await load(logging(f"""
        out.hex = crypto.createHash('{alg}').update(e.request.uri).update('{data}').digest('hex');
        out.b64 = crypto.createHash('{alg}').update('').digest('base64');
        out.mac = crypto.createHmac('{alg}', 'k'.repeat(100)).update('{data}').digest('base64url');
        out.raw = typeof crypto.createHash('{alg}').update('x').digest();
    """), runtime=runtime)
    out = json.loads((await logs_of(fn))[0])
    assert out["hex"] == hashlib.new(alg, ("/index.html" + data).encode()).hexdigest()
    assert out["b64"] == base64.b64encode(hashlib.new(alg, b"").digest()).decode()
    mac = hmac.new(b"k" * 100, data.encode(), alg).digest()
    assert out["mac"] == base64.urlsafe_b64encode(mac).decode().rstrip("=")
    # spec §1.5: a digest without an encoding is a byte string in 1.0 and a Buffer in 2.0
    assert out["raw"] == ("string" if runtime == "cloudfront-js-1.0" else "object")


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_querystring_module(load, runtime: str) -> None:  # noqa: F811
    fn = await load(logging("""
        out.parsed = qs.parse('a=1&b=x%20y&a=2&c');
        out.text = qs.stringify({a: ['1', '2'], b: 'x y', c: ''});
        out.esc = qs.escape('a b&c');
    """), runtime=runtime)
    out = json.loads((await logs_of(fn))[0])
    assert out == {"parsed": {"a": ["1", "2"], "b": "x y", "c": ""}, "text": "a=1&a=2&b=x%20y&c=", "esc": "a%20b%26c"}


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_what_cloudfront_takes_away(load, runtime: str) -> None:  # noqa: F811
    fn = await load(logging("""
        try { eval('1'); out.eval = 'ran'; } catch (x) { out.eval = x.name; }
        try { new Function('return 1'); out.fn = 'ran'; } catch (x) { out.fn = x.name; }
        try { (function () {}).constructor('return 1'); out.ctor = 'ran'; } catch (x) { out.ctor = x.name; }
        out.types = [typeof setTimeout, typeof setInterval, typeof process, typeof fetch, typeof Map, typeof Proxy, typeof Array.from];
        try { require('fs'); out.fs = 'loaded'; } catch (x) { out.fs = x.message; }
    """), runtime=runtime)
    out = json.loads((await logs_of(fn))[0])
    assert out["eval"] == out["fn"] == out["ctor"] == "EvalError"
    assert out["types"] == ["undefined"] * 7
    assert out["fs"] == 'Cannot find module "fs"'


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_built_ins_newer_than_the_engine_are_absent(load, runtime: str) -> None:  # noqa: F811
    # ES2024 and later: a function that uses them fails on CloudFront (spec §1.5's allow-lists).
    fn = await load(logging("""
        out.types = [typeof Temporal, typeof Float16Array, typeof Object.groupBy, typeof Promise.withResolvers,
                     typeof Promise.try, typeof Array.fromAsync, typeof RegExp.escape, typeof Uint8Array.prototype.toBase64,
                     typeof new ArrayBuffer(1).transfer];
    """), runtime=runtime)
    assert json.loads((await logs_of(fn))[0])["types"] == ["undefined"] * 9


async def test_runtime_1_lacks_what_2_0_added(load) -> None:  # noqa: F811
    body = """out.types = [typeof Object.getOwnPropertyDescriptors, typeof Symbol.for, typeof DataView, typeof Uint8Array.from,
                           typeof new Uint8Array(1).map, typeof new Uint8Array(1).indexOf];
              out.kept = [typeof new Uint8Array(2).subarray, typeof new Uint8Array(2).join, typeof new Uint8Array(2).fill]"""
    out = json.loads((await logs_of(await load(logging(body), runtime="cloudfront-js-1.0")))[0])
    assert out == {"types": ["undefined"] * 6, "kept": ["function"] * 3}
    out2 = json.loads((await logs_of(await load(logging(body), name="v2")))[0])
    assert out2["types"] == ["function"] * 6


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_date_frozen_at_invocation_start(load, runtime: str) -> None:  # noqa: F811
    fn = await load(logging("""
        var a = Date.now(); for (var i = 0; i < 200000; i++) {} var b = new Date().getTime();
        out.a = a; out.b = b; out.iso = new Date().toISOString(); out.explicit = new Date(0).getTime();
        out.inst = new Date() instanceof Date;
    """), runtime=runtime)
    out = json.loads((await logs_of(fn))[0])
    assert out == {"a": NOW * 1000, "b": NOW * 1000, "iso": "2023-11-14T22:13:20.000Z", "explicit": 0, "inst": True}


@pytest.mark.parametrize("runtime, expected", [("cloudfront-js-1.0", ["a 1 {\"b\":2}"]), ("cloudfront-js-2.0", ["a"])])
async def test_console_log_arguments_per_runtime(load, runtime: str, expected: list[str]) -> None:  # noqa: F811
    fn = await load("function handler(e) { console.log('a', 1, {b: 2}); return e.request; }", runtime=runtime)
    assert await logs_of(fn) == expected


async def test_logs_cut_at_10_kb(load) -> None:  # noqa: F811
    fn = await load("function handler(e) { for (var i = 0; i < 100; i++) console.log('x'.repeat(500)); return e.request; }")
    logs = await logs_of(fn)
    assert sum(len(line) for line in logs) == 10 * 1024
    assert len(logs) == 21


async def test_runtime_2_builtins(load) -> None:  # noqa: F811
    fn = await load(logging("""
        var b = Buffer.from('héllo', 'utf8');
        out.b64 = b.toString('base64'); out.hex = Buffer.from('00ff', 'hex').toString('hex');
        out.url = Buffer.from([251, 255]).toString('base64url'); out.len = Buffer.byteLength('é');
        out.concat = Buffer.concat([Buffer.from('a'), Buffer.from('b')]).toString();
        var w = Buffer.alloc(6); w.writeUInt16BE(258, 0); w.writeInt32LE(-2, 2);
        out.ints = [w.readUInt16BE(0), w.readInt32LE(2), w.readUInt8(0)];
        out.eq = Buffer.from('a').equals(Buffer.from('a')); out.isbuf = Buffer.isBuffer(b);
        out.atob = atob('aGk='); out.btoa = btoa('hi');
        out.te = Array.prototype.slice.call(new TextEncoder().encode('é'));
        out.td = new TextDecoder().decode(new Uint8Array([0xc3, 0xa9]));
        out.replaceAll = 'a-b-c'.replaceAll('-', '+');
        out.helpers = typeof String.bytesFrom;
    """))
    out = json.loads((await logs_of(fn))[0])
    assert out == {"b64": base64.b64encode("héllo".encode()).decode(), "hex": "00ff", "url": "-_8", "len": 2,
                   "concat": "ab", "ints": [258, -2, 1], "eq": True, "isbuf": True, "atob": "hi", "btoa": "aGk=",
                   "te": [0xc3, 0xa9], "td": "é", "replaceAll": "a+b+c", "helpers": "undefined"}


async def test_runtime_1_byte_string_helpers_and_no_2_0_builtins(load) -> None:  # noqa: F811
    fn = await load(logging("""
        out.hex = String.bytesFrom('68656c6c6f', 'hex'); out.b64 = 'aGk='.bytesFrom('base64');
        out.arr = String.bytesFrom([104, 105]); out.utf8 = 'é'.toUTF8().length; out.back = 'é'.toUTF8().fromUTF8();
        out.bad = '\\u00ff'.fromUTF8(); out.bytes = 'é'.toBytes();
        out.types = [typeof Buffer, typeof atob, typeof TextEncoder, typeof ''.replaceAll, typeof Promise.all];
    """), runtime="cloudfront-js-1.0")
    out = json.loads((await logs_of(fn))[0])
    assert out == {"hex": "hello", "b64": "hi", "arr": "hi", "utf8": 2, "back": "é", "bad": None, "bytes": "é",
                   "types": ["undefined"] * 5}


async def test_runtime_1_string_to_string_encodes_byte_and_ascii_strings(load) -> None:  # noqa: F811
    # njs's toString(encoding): the way 1.0 functions base64 a basic-auth pair.
    fn = await load(logging("""
        out.b64 = ('user' + ':' + 'pw').toString('base64'); out.hex = 'hi'.toString('hex'); out.plain = 'hi'.toString();
        out.digest = crypto.createHash('sha256').update('abc').digest().toString('base64url');
        try { 'é'.toString('base64'); } catch (err) { out.text = String(err); }
        try { 'hi'.toString('utf8'); } catch (err) { out.unknown = String(err); }
    """), runtime="cloudfront-js-1.0")
    out = json.loads((await logs_of(fn))[0])
    assert out == {"b64": base64.b64encode(b"user:pw").decode(), "hex": "6869", "plain": "hi",
                   "digest": base64.urlsafe_b64encode(hashlib.sha256(b"abc").digest()).decode().rstrip("="),
                   "text": "TypeError: argument must be a byte string", "unknown": 'TypeError: Unknown encoding: "utf8"'}
    fn2 = await load(logging("out.b64 = ('user' + ':' + 'pw').toString('base64')"), name="v2")
    assert json.loads((await logs_of(fn2))[0]) == {"b64": "user:pw"}  # 2.0 dropped it with the byte-string helpers


async def test_cloudfront_module_helpers(load) -> None:  # noqa: F811
    fn = await load("""import cf from 'cloudfront';
    function handler(e) {
        console.log(JSON.stringify(cf.edgeLocation));
        console.log(String(e.request.rawQueryString()));
        cf.logCustomData('abc');
        return e.request;
    }""")
    result = await fn.invoke(call(request(query="b=2&a=1")))
    assert json.loads(result.logs[0]) == {"name": "SFO", "serverIp": "127.0.0.1", "region": "us-west-1"}
    assert result.logs[1] == "b=2&a=1"
    assert "rawQueryString" not in result.output["request"]  # type: ignore[index]


@pytest.mark.parametrize("pop, name, region", [
    ("SFO53-P7", "SFO", "us-west-1"), ("FRA56-P1", "FRA", "eu-central-1"), ("nrt57-c1", "NRT", "ap-northeast-1"),
    ("XYZ1", "XYZ", "us-east-1"),  # an airport the table does not know
])
def test_edge_location_region_follows_the_pop(pop: str, name: str, region: str) -> None:
    assert edge_location(pop) == {"name": name, "serverIp": "127.0.0.1", "region": region}


@pytest.mark.parametrize("code, check", [
    ("cf.selectRequestOriginById('other')", lambda o: o.id == "other" and o.url == "https://other.example.com"),
    ("cf.updateRequestOrigin({domainName: 'new.example.com', originPath: '/v2', customHeaders: {'x-k': 'v'}})",
     lambda o: o.url == "http://new.example.com:3000/v2" and o.custom_headers == {"x-k": "v"} and o.id == "app"),
    ("cf.updateRequestOrigin({timeouts: {readTimeout: 60}})",
     lambda o: o.url == "http://app.internal:3000/base" and o.read_timeout == 60 and o.custom_headers == {"x-origin": "app"}),
    ("cf.createRequestOriginGroup({originIds: [{originId: 'other'}, 'app'], failoverCriteria: {statusCodes: [500, 503]}})",
     lambda o: (o.primary, o.secondary, o.failover_status_codes) == ("other", "app", (500, 503))),
])
async def test_origin_helpers_change_the_request_origin(load, code: str, check: Any) -> None:  # noqa: F811
    fn = await load(f"import cf from 'cloudfront';\nfunction handler(e) {{ {code}; return e.request; }}")
    result = await fn.invoke(call())
    assert result.request is not None and check(result.request.origin)


async def test_unknown_origin_id_is_a_validation_error(load) -> None:  # noqa: F811
    from edgesim.errors import FunctionValidationError

    fn = await load("import cf from 'cloudfront';\nfunction handler(e) { cf.selectRequestOriginById('nope'); return e.request; }")
    with pytest.raises(FunctionValidationError, match="no origin with id 'nope'"):
        await fn.invoke(call())
    bad = await load("import cf from 'cloudfront';\nfunction handler(e) { cf.updateRequestOrigin({hostHeader: 'a b'}); return e.request; }",
                     name="badhost")
    with pytest.raises(FunctionValidationError, match="hostHeader must be a host name"):
        await bad.invoke(call())


async def test_runtime_1_hmac_chain_over_byte_strings(load) -> None:  # noqa: F811
    """SigV4-style signing: each digest() byte string keys the next HMAC (spec §1.5, 1.0's byte strings)."""
    fn = await load(logging("""
        var k = crypto.createHmac('sha256', 'AWS4secret').update('20250101').digest();
        k = crypto.createHmac('sha256', k).update('us-east-1').digest();
        out.sig = crypto.createHmac('sha256', k).update('payload').digest('hex');
    """), runtime="cloudfront-js-1.0")
    k = hmac.new(b"AWS4secret", b"20250101", "sha256").digest()
    k = hmac.new(k, b"us-east-1", "sha256").digest()
    assert json.loads((await logs_of(fn))[0])["sig"] == hmac.new(k, b"payload", "sha256").hexdigest()


async def test_math_random_seeded_by_the_invocation_clock(load) -> None:  # noqa: F811
    fn = await load("function handler(e) { console.log(String(Math.random()) + ' ' + Math.random()); return e.request; }")
    first, again, later = (await logs_of(fn))[0], (await logs_of(fn))[0], (await logs_of(fn, now=NOW + 1))[0]
    a, b = (float(x) for x in first.split())
    assert first == again and first != later and a != b and 0 <= a < 1 and 0 <= b < 1
