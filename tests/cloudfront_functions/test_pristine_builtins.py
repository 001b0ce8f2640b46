"""Each invocation sees the built-ins as the runtime made them (spec §1.5: CloudFront runs every
request in a fresh VM), whatever an earlier invocation of the same function did to them: through
a restore after each invocation of a function whose code could change one (lint: mutation.py,
pristine.js), or the cheap intact() check for the rest.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from cff_support import FUNCTIONS, RUNTIMES, call, load, request  # noqa: F401
from edgesim.app import EdgeApp
from edgesim.cloudfront_functions.lint import analyse
from edgesim.config import parse_config
from edgesim.errors import FunctionExecutionError
from edgesim.simulator import Simulator

# (what one invocation does to a built-in, what a later one evaluates, what it must see)
POLLUTIONS = [
    ("Object.keys = function () { throw new Error('x'); };", "Object.keys({a: 1}).join()", "a"),
    ("Object.prototype.leak = 'yes';", "String(({}).leak)", "undefined"),
    ("delete Array.prototype.join;", "typeof [].join", "function"),
    ("String.prototype.trim = function () { return 'polluted'; };", "' a '.trim()", "a"),
    ("JSON.stringify = function () { return 'polluted'; };", "JSON.stringify({a: 1})", '{"a":1}'),
    ("Math.max = function () { return -1; };", "String(Math.max(1, 2))", "2"),
    ("Object.defineProperty(Array.prototype, 'leak', {value: 'yes', enumerable: true});", "String([].leak)", "undefined"),
    ("[].__proto__.leak = 'yes';", "String([].leak)", "undefined"),
    ("globalThis.JSON = {stringify: function () { return 'polluted'; }};", "JSON.stringify([1])", "[1]"),
    ("parseInt = function () { return 42; };", "String(parseInt('7'))", "7"),
    ("Date.now = function () { return 0; };", "String(Date.now() > 0)", "true"),
    ("Error.prototype.toString = function () { return 'polluted'; };", "String(new TypeError('t'))", "TypeError: t"),
    ("Object.setPrototypeOf(Array.prototype, null);", "typeof [].hasOwnProperty", "function"),
    ("require('crypto').createHash('md5').constructor.prototype.digest = function () { return 'polluted'; };",
     "require('crypto').createHash('md5').update('').digest('hex')", "d41d8cd98f00b204e9800998ecf8427e"),
]
BUFFER = ("Buffer.prototype.toString = function () { return 'polluted'; };", "Buffer.from('hi').toString()", "hi")


def probing(pollute: str, probe: str) -> str:
    """A function that changes a built-in on /bad, and tells in X-Seen what `probe` evaluates to."""
    return f"""function handler(e) {{
    if (e.request.uri === '/bad') {{ {pollute} }}
    var seen;
    try {{ seen = {probe}; }} catch (x) {{ seen = 'threw'; }}
    e.request.headers['x-seen'] = {{value: seen}};
    return e.request;
}}"""


async def seen(fn: Any, uri: str = "/") -> str:
    return (await fn.invoke(call(request(uri)))).request.headers.get("X-Seen")


CASES = [(runtime, *case) for runtime in RUNTIMES for case in POLLUTIONS] + [("cloudfront-js-2.0", *BUFFER)]


@pytest.mark.parametrize(("runtime", "pollute", "probe", "expected"), CASES)
async def test_a_changed_built_in_does_not_reach_the_next_request(load, runtime: str, pollute: str, probe: str,  # noqa: F811
                                                                  expected: str) -> None:
    assert analyse(probing(pollute, probe), runtime).mutates_builtins  # type: ignore[arg-type]
    fn = await load(probing(pollute, probe), runtime=runtime)
    assert await seen(fn) == expected
    assert await seen(fn, "/bad") != expected  # the invocation that changed it sees its change
    for _ in range(3):
        assert await seen(fn) == expected


async def test_through_the_simulator(tmp_path: Path) -> None:
    (tmp_path / "bad.js").write_text(
        "function handler(e) {\n"
        "  if (e.request.uri === '/bad') { Object.keys = function () { throw new Error('x'); }; Object.prototype.leak = 'yes'; }\n"
        "  return {statusCode: 200, statusDescription: 'OK', headers: {'x-seen': {value: Object.keys({a: 1}).join() + ' ' + ({}).leak}}};\n"
        "}")
    config = parse_config({
        "origins": [{"id": "app", "url": "http://app.internal"}],
        "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled", "functions": {
            "viewer-request": {"cloudfront_function": str(tmp_path / "bad.js"), "runtime": "cloudfront-js-2.0"}}},
    }, base_dir=tmp_path)
    simulator = Simulator(config)
    await simulator.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=EdgeApp(simulator)),
                                     base_url="http://d111111abcdef8.cloudfront.net") as http:
            assert (await http.get("/")).headers["x-seen"] == "a undefined"
            assert (await http.get("/bad")).status_code == 503  # its own Object.keys throws
            for _ in range(3):
                response = await http.get("/")
                assert response.status_code == 200 and response.headers["x-seen"] == "a undefined"
    finally:
        await simulator.aclose()


@pytest.mark.parametrize(("code", "containers"), [
    ("Object.prototype.leak = 'y'; delete Array.prototype.join;", ("Array.prototype", "Object.prototype")),
    ("globalThis.JSON = {}; parseInt = 1; globalThis.Object.keys = 1;", ("Object", "globalThis")),
    ("Object.defineProperty(String.prototype, 'x', {}); Array.prototype.push(1); Math.PI++;",
     ("Array.prototype", "Math", "String.prototype")),
    ("Object.prototype.a = 1; [].constructor.prototype.x = 1;", ("*",)),  # the syntax cannot name it: all
    ("Object.getPrototypeOf([]).x = 1;", ("*",)),
    ("var k = 'x'; Object[k] = 1;", ("Object",)),
])
def test_the_lint_names_what_a_function_writes(code: str, containers: tuple[str, ...]) -> None:
    assert analyse(code + "\nfunction handler(e) { return e.request; }", "cloudfront-js-2.0").builtin_writes == containers


def test_the_sample_functions_are_not_guarded() -> None:
    """Ordinary functions pay no restore: none of the shipped samples writes to a built-in."""
    for path in FUNCTIONS.glob("*.js"):
        for runtime in RUNTIMES:
            assert not analyse(path.read_text(), runtime).mutates_builtins, path.name  # type: ignore[arg-type]


@pytest.mark.parametrize("code", [
    "function Page(n) { this.n = n; }\nPage.prototype.show = function () { return this.n; };",
    "var cache = {}; cache.keys = 1; globalThis.handler = handler; globalThis.hits = 1;",
    "var o = Object.assign({}, {a: 1}); Object.defineProperty(o, 'b', {value: 2}); var a = []; a.push(1);",
])
def test_what_is_not_flagged(code: str) -> None:
    assert not analyse(code + "\nfunction handler(e) { return e.request; }", "cloudfront-js-2.0").mutates_builtins


async def test_a_normal_function_is_not_restored(load) -> None:  # noqa: F811
    fn = await load("function handler(e) { var k = Object.keys(e.request.headers); return e.request; }")
    isolate = fn._isolate
    assert isolate._guard == ()
    event = {"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "127.0.0.1"},
             "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}}}
    for _ in range(3):
        outcome = await isolate.call(event, now_ms=0, event_type="viewer-request")
        assert outcome.ok and not outcome.restored


@pytest.mark.parametrize(("pollute", "probe", "expected"), [
    ("var O = Object; O.keys = function () { throw new Error('x'); };", "Object.keys({a: 1}).join()", "a"),
    ("var P = Object.prototype; P.leak = 'yes';", "String(({}).leak)", "undefined"),
    ("var S = String.prototype; S.split = function () { return ['polluted']; };", "'a,b'.split(',').join()", "a,b"),
])
async def test_an_alias_the_lint_cannot_see_is_caught_for_common_built_ins(load, pollute: str, probe: str,  # noqa: F811
                                                                           expected: str) -> None:
    code = probing(pollute, probe)
    assert not analyse(code, "cloudfront-js-2.0").mutates_builtins
    fn = await load(code)
    assert fn._isolate._guard == ()
    assert await seen(fn, "/bad") != expected
    for _ in range(3):
        assert await seen(fn) == expected
    assert fn._isolate._guard == ("*",)  # caught by intact(): every container restored from then on


def _n_call(uri: str, n: int) -> Any:
    return call(request(uri, headers=[("Host", "d.example"), ("X-N", str(n))]))


BATCHED = """function handler(e) {
    var n = e.request.headers['x-n'].value;
    if (n === '3') { %s }
    e.request.headers['x-seen'] = {value: JSON.stringify([Object.keys({a: 1}).join(), String(({}).leak)])};
    return e.request;
}"""


@pytest.mark.parametrize(("pollute", "own"), [
    ("Object.keys = function () { return ['polluted']; }; Object.prototype.leak = 'yes';", ["polluted", "yes"]),
    # through aliases, which intact() catches; join and slice are what the prelude's batch answer is made with
    ("var O = Object; O.keys = function () { return ['polluted']; }; var P = O.prototype; P.leak = 'yes';", ["polluted", "yes"]),
    ("var AP = Array.prototype, SP = String.prototype; AP.join = function () { return 'polluted'; };"
     "SP.slice = function () { return 'polluted'; };", ["polluted", "undefined"]),
])
async def test_a_change_in_a_batch_reaches_neither_its_batch_nor_later_ones(load, pollute: str, own: list[str]) -> None:  # noqa: F811
    fn = await load(BATCHED % pollute)
    isolate = fn._isolate
    batches = [0]
    many = isolate._many

    async def counted(payloads: list[bytes]) -> Any:
        batches[0] += 1
        return await many(payloads)

    isolate._many = counted
    for _ in range(2):
        results = await asyncio.gather(*(fn.invoke(_n_call("/", i)) for i in range(12)))
        for i, result in enumerate(results):
            got = json.loads(result.request.headers.get("X-Seen"))
            assert got == (own if i == 3 else ["a", "undefined"]), i
    assert batches[0] >= 2  # invocations did share trips


async def test_a_change_before_a_timeout_is_undone(load) -> None:  # noqa: F811
    fn = await load(probing("Object.prototype.leak = 'yes'; while (true) {}", "String(({}).leak)"),
                    function_time_limit_ms=30)
    with pytest.raises(FunctionExecutionError, match="ran longer than 30 ms"):
        await seen(fn, "/bad")
    assert await seen(fn) == "undefined"


async def test_a_frozen_built_in_gets_a_new_isolate(load) -> None:  # noqa: F811
    # Freezing cannot be undone in place: the next invocation runs in a new isolate.
    fn = await load(probing("Object.freeze(Object.prototype); Object.freeze(Math);",
                            "String(Object.isFrozen(Object.prototype)) + String(Object.isFrozen(Math))"))
    assert await seen(fn, "/bad") == "truetrue"
    for _ in range(2):
        assert await seen(fn) == "falsefalse"


async def test_a_guarded_function_keeps_its_2_mb(load) -> None:  # noqa: F811
    fn = await load("""function handler(e) {
        Object.prototype.leak = 'yes';
        var n = parseInt(e.request.querystring.kb.value, 10) * 1024 / 8, a = [];
        for (var i = 0; i < n; i++) a.push(i + 0.5);
        return e.request;
    }""", function_time_limit_ms=5000)
    assert fn._isolate._guard == ("Object.prototype",)
    for _ in range(5):
        assert (await fn.invoke(call(request(query="kb=1024")))).request is not None
    with pytest.raises(FunctionExecutionError, match="more than CloudFront's 2 MB"):
        await fn.invoke(call(request(query="kb=4096")))


async def test_a_renewed_isolate_keeps_its_key_value_store(load, tmp_path: Path) -> None:  # noqa: F811
    kvs = tmp_path / "s.json"
    kvs.write_text(json.dumps({"data": [{"key": "greeting", "value": "hello"}]}), encoding="utf-8")
    fn = await load("""import cf from 'cloudfront';
var store = cf.kvs();
async function handler(e) {
    if (e.request.uri === '/bad') { var O = Object; O.keys = function () { return ['polluted']; }; }
    var v = await store.get('greeting');
    e.request.headers['x-seen'] = {value: v + ' ' + Object.keys({a: 1}).join()};
    return e.request;
}""", kvs=kvs)
    assert await seen(fn, "/bad") == "hello polluted"
    assert await seen(fn) == "hello a"  # a new isolate (intact() caught the alias), with the store loaded
    assert fn._isolate._guard == ("*",)


async def test_a_getter_that_throws_on_a_built_in_does_not_break_the_restore(load) -> None:  # noqa: F811
    fn = await load(probing("Object.defineProperty(Object.prototype, 'get', {get: function () { throw new Error('no'); }});"
                            "Object.defineProperty(Math, 'max', {get: function () { throw new Error('no'); }});",
                            "typeof Math.max + ' ' + typeof ({}).get"))
    assert await seen(fn, "/bad") == "threw"
    for _ in range(2):
        assert await seen(fn) == "function undefined"
