"""The runtime's built-ins as CloudFront's engine (njs) has them, where V8 or Node would take more.

Each test is a function that ran under edgesim before and fails on CloudFront (or the other way),
written from the runtime pages ("JavaScript runtime 1.0 / 2.0 features for CloudFront Functions")
and, where the pages name a built-in without its edges, from njs's source (nginx/njs).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cff_support import RUNTIMES, call, load  # noqa: F401
from edgesim.cloudfront_functions import CloudFrontFunction


async def out_of(fn: CloudFrontFunction) -> dict[str, Any]:
    logs = (await fn.invoke(call())).logs
    result: dict[str, Any] = json.loads(logs[0])
    return result


def logging(body: str) -> str:
    """A handler that logs one JSON line of `out`; `t(f)` is f()'s result or the error it threw."""
    return ("var crypto = require('crypto'); var qs = require('querystring');\n"
            "function t(f) { try { return f(); } catch (x) { return x.name + ': ' + x.message; } }\n"
            f"function handler(e) {{ var out = {{}}; {body}; console.log(JSON.stringify(out)); return e.request; }}")


async def test_buffer_takes_only_the_five_encodings_njs_has(load) -> None:  # noqa: F811
    # 2.0's page lists utf8, hex, base64 and base64url; njs_buffer_encodings[] is those and "utf-8".
    fn = await load(logging("""
        out.latin1 = t(function () { return Buffer.from('hé', 'latin1').length; });
        out.binary = t(function () { return Buffer.from([104, 105]).toString('binary'); });
        out.ascii = t(function () { return Buffer.byteLength('hi', 'ascii'); });
        out.upper = t(function () { return Buffer.from('hi', 'UTF8').length; });
        out.notString = t(function () { return Buffer.from('hi', 5).length; });
        out.isEncoding = ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'latin1', 'binary', 'UTF8'].map(Buffer.isEncoding);
        out.ok = Buffer.from('aGk', 'base64url').toString('utf-8');
    """))
    assert await out_of(fn) == {
        "latin1": 'TypeError: "latin1" encoding is not supported',
        "binary": 'TypeError: "binary" encoding is not supported',
        "ascii": 'TypeError: "ascii" encoding is not supported',
        "upper": 'TypeError: "UTF8" encoding is not supported',
        "notString": "TypeError: encoding must be a string",
        "isEncoding": [True, True, True, True, True, False, False, False],
        "ok": "hi",
    }


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_crypto_errors_are_njs_type_errors(load, runtime: str) -> None:  # noqa: F811
    # The page names md5, sha1 and sha256, and hex, base64 and base64url; what else is asked for
    # throws njs's TypeErrors (nginx/njs external/njs_crypto_module.c), which FunctionErrorMessage shows.
    fn = await load(logging("""
        out.alg = t(function () { return crypto.createHash('sha512'); });
        out.hmacAlg = t(function () { return crypto.createHmac('SHA256', 'k'); });
        out.algType = t(function () { return crypto.createHash(); });
        out.digest = t(function () { return crypto.createHash('md5').update('a').digest('latin1'); });
        out.digestType = t(function () { return crypto.createHash('md5').update('a').digest(null); });
        out.data = t(function () { return crypto.createHash('md5').update(42); });
        out.key = t(function () { return crypto.createHmac('sha1', {}); });
        out.again = t(function () { var h = crypto.createHash('sha1'); h.digest('hex'); return h.digest('hex'); });
    """), runtime=runtime)
    assert await out_of(fn) == {
        "alg": 'TypeError: not supported algorithm: "sha512"',
        "hmacAlg": 'TypeError: not supported algorithm: "SHA256"',
        "algType": "TypeError: algorithm must be a string",
        "digest": 'TypeError: Unknown digest encoding: "latin1"',
        "digestType": "TypeError: encoding must be a string",
        "data": 'TypeError: data argument "number" is not a string or Buffer-like object',
        "key": 'TypeError: key argument "object" is not a string or Buffer-like object',
        "again": "Error: Digest already called",
    }


async def test_atob_refuses_what_is_not_base64_and_btoa_what_is_above_latin1(load) -> None:  # noqa: F811
    # njs_string_atob is WHATWG's forgiving-base64 without its other whitespace: spaces dropped,
    # a length of 4n+1, a character outside the alphabet or a misplaced "=" refused.
    fn = await load(logging("""
        out.ok = [atob('aGk='), atob('aGk'), atob(' aG k= '), atob('')];
        out.bad = ['a', 'aG=k', 'a*Gk', 'aGk-', '-_8=', 'aGk=\\n'].map(function (s) { return t(function () { return atob(s); }); });
        out.btoa = t(function () { return btoa('\\u20ac'); });
        out.btoaLatin1 = btoa('\\u00ff');
    """))
    bad = "TypeError: the string to be decoded is not correctly encoded"
    assert await out_of(fn) == {"ok": ["hi", "hi", "hi", ""], "bad": [bad] * 6,
                                "btoa": "TypeError: invalid character (>= U+00FF)", "btoaLatin1": "/w=="}


async def test_text_encoder_and_decoder_as_njs_has_them(load) -> None:  # noqa: F811
    fn = await load(logging("""
        var dest = new Uint8Array(4);
        out.into = new TextEncoder().encodeInto('h\\u00e9\\u00e9', dest);
        out.bytes = Array.prototype.slice.call(dest);
        out.astral = new TextEncoder().encodeInto('\\ud83d\\ude00x', new Uint8Array(5));
        out.intoArray = t(function () { return new TextEncoder().encodeInto('a', []); });
        out.label = t(function () { return new TextDecoder('UTF-8').encoding; });
        out.latin1 = t(function () { return new TextDecoder('latin1'); });
        out.buffer = t(function () { return new TextDecoder().decode(new Uint8Array([104, 105]).buffer); });
        out.view = t(function () { return new TextDecoder().decode(new DataView(new ArrayBuffer(1))); });
        out.options = t(function () { return new TextDecoder('utf-8', 'fatal'); });
        out.call = t(function () { return TextDecoder(); });
        out.ok = new TextDecoder('utf8').decode(Buffer.from('h\\u00e9'));
    """))
    typed = 'TypeError: The "input" argument must be an instance of TypedArray'
    assert await out_of(fn) == {
        "into": {"read": 2, "written": 3}, "bytes": [0x68, 0xc3, 0xa9, 0],
        "astral": {"read": 3, "written": 5},
        "intoArray": 'TypeError: The "destination" argument must be an instance of Uint8Array',
        "label": 'RangeError: The "UTF-8" encoding is not supported',
        "latin1": 'RangeError: The "latin1" encoding is not supported',
        "buffer": typed, "view": typed,
        "options": 'TypeError: The "options" argument must be of type object',
        "call": "TypeError: Constructor of TextDecoder requires 'new'",
        "ok": "h\u00e9",
    }


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_querystring_parse_as_njs(load, runtime: str) -> None:  # noqa: F811
    # njs_query_string_parse makes its result with no prototype (as Node does) and calls a
    # decodeURIComponent option only for a non-empty key or value.
    fn = await load(logging("""
        var p = qs.parse('a=1&b=');
        out.proto = Object.getPrototypeOf(p) === null;
        out.own = t(function () { return p.hasOwnProperty('a'); });
        out.decoded = qs.parse('a=&=b&c', null, null, {decodeURIComponent: function (s) { return '[' + s + ']'; }});
        out.plus = qs.parse('a+b=c+d');
    """), runtime=runtime)
    assert await out_of(fn) == {
        "proto": True, "own": "TypeError: p.hasOwnProperty is not a function",
        "decoded": {"[a]": "", "": "[b]", "[c]": ""}, "plus": {"a b": "c d"},
    }


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_the_error_objects_each_runtime_lists(load, runtime: str) -> None:  # noqa: F811
    # Both pages list InternalError; 1.0's also MemoryError, which 2.0's list drops.
    fn = await load(logging("""
        out.internal = t(function () { throw new InternalError('too deep'); });
        out.called = InternalError('x') instanceof Error;
        out.kind = new InternalError('x') instanceof InternalError;
        out.str = String(new InternalError('y'));
        out.memory = typeof MemoryError;
    """), runtime=runtime)
    assert await out_of(fn) == {"internal": "InternalError: too deep", "called": True, "kind": True,
                                "str": "InternalError: y",
                                "memory": "function" if runtime == "cloudfront-js-1.0" else "undefined"}


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_what_neither_runtime_lists_is_absent(load, runtime: str) -> None:  # noqa: F811
    # BigInt (lint.py already refuses a 5n literal) and its typed arrays, and the ES2022+ typed
    # array methods whose Array twins were already taken away.
    fn = await load(logging("""
        var a = new Uint8Array([1, 2]);
        out.types = [typeof BigInt, typeof BigInt64Array, typeof BigUint64Array, typeof a.at, typeof a.findLast,
                     typeof a.findLastIndex, typeof a.toSorted, typeof a.toReversed, typeof a.with];
        out.kept = [typeof a.subarray, typeof a.fill, typeof Float64Array, typeof Uint8ClampedArray];
    """), runtime=runtime)
    assert await out_of(fn) == {"types": ["undefined"] * 9, "kept": ["function"] * 4}


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_string_has_the_listed_methods_only(load, runtime: str) -> None:  # noqa: F811
    # 1.0's String list is njs's String.prototype table; 2.0's adds replaceAll. 'é'.normalize(),
    # a.localeCompare(b) or s.matchAll(re) ran under V8 and throw a TypeError on CloudFront.
    fn = await load(logging("""
        var s = 'abc';
        out.gone = [typeof s.normalize, typeof s.localeCompare, typeof s.matchAll, typeof s.toLocaleLowerCase,
                    typeof s.toLocaleUpperCase, typeof s.trimLeft, typeof s.trimRight, typeof s.anchor, typeof s.bold,
                    typeof String.raw];
        out.kept = [typeof s.codePointAt, typeof s.padStart, typeof s.trimStart, typeof s.trimEnd, typeof s.repeat,
                    typeof s.includes, typeof String.fromCodePoint];
    """), runtime=runtime)
    assert await out_of(fn) == {"gone": ["undefined"] * 10, "kept": ["function"] * 7}


async def test_buffer_is_made_by_from_and_alloc_only(load) -> None:  # noqa: F811
    # njs_buffer_constructor refuses every `new Buffer(...)`; njs_buffer_alloc_safe checks the size.
    fn = await load(logging("""
        out.ctor = [t(function () { return new Buffer(4).length; }), t(function () { return new Buffer(new ArrayBuffer(2)).length; })];
        out.alloc = [t(function () { return Buffer.alloc('4').length; }), t(function () { return Buffer.alloc(-1).length; }),
                     t(function () { return Buffer.allocUnsafe(3).length; })];
        var b = Buffer.from([1, 2, 3]);
        out.made = [b.map(function (x) { return x * 2; }).toString('hex'), Buffer.isBuffer(b.filter(function (x) { return x > 1; })),
                    b.subarray(1) instanceof Buffer, Buffer.alloc(2, 'a').toString()];
    """))
    assert await out_of(fn) == {
        "ctor": ["TypeError: Buffer is not a constructor"] * 2,
        "alloc": ['TypeError: "size" argument must be of type number', "RangeError: invalid size", 3],
        "made": ["020406", True, True, "aa"],
    }
