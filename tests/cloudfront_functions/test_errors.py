"""Validation (502) and execution (503) errors, as CloudFront raises them (spec §1.3, §1.4, §1.9)."""

from __future__ import annotations

import pytest

from cff_support import RUNTIMES, call, load, request, viewer_response  # noqa: F401
from edgesim.errors import FunctionExecutionError, FunctionValidationError
from edgesim.messages import Headers, Response


@pytest.mark.parametrize("body, reason", [
    ("e.request.method = 'POST'; return e.request;", "method is read-only"),
    ("e.request.uri = 'no-slash'; return e.request;", "must be a string starting with '/'"),
    ("e.request.headers.host = {value: 'evil'}; return e.request;", "'host' is read-only"),
    ("delete e.request.headers.host; return e.request;", "'host' is read-only"),
    ("e.request.headers['x-cache'] = {value: '1'}; return e.request;", "'x-cache' is disallowed"),
    ("e.request.headers['x-amz-cf-pop'] = {value: '1'}; return e.request;", "disallowed"),
    ("e.request.headers['X-Upper'] = {value: '1'}; return e.request;", "must be lowercase"),
    ("e.request.headers['x-num'] = {value: 5}; return e.request;", "value must be a string"),
    ("e.request.headers['x-inject'] = {value: 'a\\r\\nx-evil: 1'}; return e.request;", "CR, LF or NUL"),
    ("e.request.headers['x-lf'] = {value: 'a\\nb'}; return e.request;", "CR, LF or NUL"),
    ("e.request.headers['x-nul'] = {value: 'a\\u0000b'}; return e.request;", "CR, LF or NUL"),
    ("return {statusCode: 200, headers: {'x-cr': {value: 'a\\rb'}}};", "CR, LF or NUL"),
    ("e.request.querystring = 'a=1 2'; return e.request;", "spaces"),
    ("return {statusCode: '200'};", "statusCode must be an integer"),
    ("return {statusCode: 200, body: {encoding: 'base64', data: '*not base64*'}};", "not valid base64"),
    ("return {statusCode: 200, body: {encoding: 'gzip', data: 'x'}};", "encoding must be"),
    ("return;", "returned nothing"),
    # BigInt is not in either runtime (prelude.js), so a cycle is what cannot be serialised.
    ("var o = {value: 'a'}; o.self = o; e.request.headers.x = o; return e.request;", "cannot be serialised"),
    ("var o = {statusCode: 200}; Object.defineProperty(o, 'headers', {enumerable: true, get: function () "
     "{ throw new Error('getter'); }}); return o;", "cannot be serialised: Error: getter"),
    ("return {statusCode: 200, toJSON: function () { throw new Error('toJSON'); }};", "cannot be serialised: Error: toJSON"),
])
@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_invalid_results_are_502(load, runtime: str, body: str, reason: str) -> None:  # noqa: F811
    fn = await load(f"function handler(e) {{ console.log('before'); {body} }}", runtime=runtime)
    with pytest.raises(FunctionValidationError) as info:
        await fn.invoke(call())
    assert reason in info.value.reason
    assert info.value.status == 502 and info.value.x_cache == "FunctionValidationError from cloudfront"
    assert info.value.logs == ["before"]


async def test_viewer_response_read_only_via(load) -> None:  # noqa: F811
    fn = await load("function handler(e) { e.response.headers.via = {value: 'x'}; return e.response; }")
    with pytest.raises(FunctionValidationError, match="'via' is read-only in viewer-response"):
        await fn.invoke(viewer_response(Response(200, Headers([("Via", "1.1 a")]))))


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_thrown_error_is_503_with_line_and_logs(load, runtime: str) -> None:  # noqa: F811
    fn = await load("function handler(e) {\n  console.log('about to fail');\n  throw new TypeError('bad thing');\n}", runtime=runtime)
    with pytest.raises(FunctionExecutionError) as info:
        await fn.invoke(call())
    assert info.value.status == 503 and info.value.x_cache == "FunctionExecutionError from cloudfront"
    assert info.value.reason.startswith("TypeError: bad thing (")
    assert info.value.reason.endswith("fn.js:3)")
    assert info.value.logs == ["about to fail"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("body, message", [
    ("return e.request.headers.missing.value;", 'TypeError: cannot get property "value" of undefined'),
    ("var o = null; o.x = 1; return e.request;", 'TypeError: cannot set property "x" of null'),
    ("return undeclared;", 'ReferenceError: "undeclared" is not defined'),
    ("throw new Error('config is not defined');", "Error: config is not defined"),  # only the engine's own errors
])
async def test_run_time_errors_in_the_engine_s_words(load, runtime: str, body: str, message: str) -> None:  # noqa: F811
    # CloudFront's engine words these as njs does (spec §1.10), in the error and in a logged error.
    fn = await load(f"function handler(e) {{\n  try {{ (function () {{ {body} }})(); }} catch (err) {{ console.log(err); console.log('' + err); }}\n  {body}\n}}",
                    runtime=runtime)
    with pytest.raises(FunctionExecutionError) as info:
        await fn.invoke(call())
    assert info.value.reason.startswith(message + " (")
    assert info.value.logs == [message, message]


async def test_rejected_promise_is_503(load) -> None:  # noqa: F811
    fn = await load("async function handler(e) { await null; throw new Error('async boom'); }")
    with pytest.raises(FunctionExecutionError, match="Error: async boom"):
        await fn.invoke(call())


async def test_runaway_loop_is_stopped_and_next_request_served(load) -> None:  # noqa: F811
    fn = await load("""function handler(e) {
        if (e.request.uri === '/loop') { console.log('looping'); while (true) {} }
        return e.request;
    }""", function_time_limit_ms=100)
    with pytest.raises(FunctionExecutionError, match="ran longer than 100 ms") as info:
        await fn.invoke(call(request("/loop")))
    assert info.value.logs == ["looping"]
    result = await fn.invoke(call(request("/fine")))
    assert result.request is not None and result.request.uri == "/fine"


async def test_other_requests_keep_flowing_while_a_function_runs(load) -> None:  # noqa: F811
    import asyncio

    fn = await load("function handler(e) { while (true) {} }", function_time_limit_ms=300)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    with pytest.raises(FunctionExecutionError):
        await fn.invoke(call())
    task.cancel()
    assert ticks >= 10  # the event loop was free during the 300 ms the function spun


async def test_memory_limit_calibrated_above_the_runtime_baseline(load) -> None:  # noqa: F811
    """Spec §1.6: 2 MB for the user's allocations, on top of what the runtime itself holds."""
    fn = await load("""function handler(e) {
        var n = parseInt(e.request.querystring.kb.value, 10) * 1024 / 8, a = [];
        for (var i = 0; i < n; i++) a.push(i + 0.5);  // 8-byte doubles
        return e.request;
    }""", function_time_limit_ms=5000)  # allocation is slow on a busy machine; this test is about memory
    baseline = fn.memory_baseline_bytes
    # The prelude, V8's built-ins and the compiled function are the baseline, not the user's 2 MB.
    assert 100_000 < baseline < 8 * 1024 * 1024
    for _ in range(20):  # garbage from earlier invocations never adds up to the limit
        assert (await fn.invoke(call(request(query="kb=1024")))).request is not None
    with pytest.raises(FunctionExecutionError, match="more than CloudFront's 2 MB"):
        await fn.invoke(call(request(query="kb=4096")))
    assert (await fn.invoke(call(request(query="kb=512")))).request is not None


async def test_state_does_not_leak_between_invocations(load) -> None:  # noqa: F811
    # njs runs each request in a fresh clone of the VM: top-level variables start over each time.
    fn = await load("var count = 0;\nfunction handler(e) { count++; globalThis.g = (globalThis.g || 0) + 1;\n"
                    "  e.request.headers['x-count'] = {value: count + '/' + globalThis.g}; return e.request; }")
    for _ in range(3):
        out = (await fn.invoke(call())).request
        assert out is not None and out.headers.get("X-Count") == "1/1"


async def test_promise_that_never_settles_is_stopped(load) -> None:  # noqa: F811
    fn = await load("async function handler(e) { console.log('waiting'); await new Promise(function () {}); return e.request; }",
                    function_time_limit_ms=100)
    with pytest.raises(FunctionExecutionError, match="promise never settles") as info:
        await fn.invoke(call())
    assert info.value.logs == ["waiting"]
    with pytest.raises(FunctionExecutionError, match="promise never settles"):  # and again: the isolate is fine
        await fn.invoke(call())


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_a_lone_surrogate_goes_on_as_u_fffd(load, runtime: str) -> None:  # noqa: F811
    # A JavaScript string may hold a lone surrogate; UTF-8, in which CloudFront passes values on
    # (spec §1.4), cannot. Our reading: U+FFFD, as TextEncoder writes it (njs keeps strings as UTF-8;
    # what CloudFront does is UNCERTAIN). It used to fail the request with edgesim's own 500.
    fn = await load("function handler(e) {\n  if (e.request.uri === '/gen') return {statusCode: 200, "
                    "headers: {'x-s': {value: 'a\\ud800b'}}, body: '\\udcff!'};\n"
                    "  e.request.headers['x-s'] = {value: 'a\\udfffb'};\n  return e.request;\n}", runtime=runtime)
    generated = await fn.invoke(call(request("/gen")))
    assert generated.response is not None and generated.response.body == "\ufffd!".encode()
    assert generated.response.headers.get("x-s") == "a\ufffdb"
    changed = await fn.invoke(call())
    assert changed.request is not None and changed.request.headers.get("x-s") == "a\ufffdb"


async def test_an_answer_nested_too_deep_to_read_is_502_and_the_next_request_is_served(load) -> None:  # noqa: F811
    # 15,000 levels in well under 2 MB. An orjson older than 3.9.15 reads JSON of any depth on the C
    # stack (60,000 levels crashed edgesim); CloudFront cannot use such an answer either.
    fn = await load("function handler(e) {\n  if (e.request.uri === '/deep') {\n    console.log('deep');\n"
                    "    var d = {}, r = d;\n    for (var i = 0; i < 15000; i++) { d.a = {}; d = d.a; }\n"
                    "    return {statusCode: 200, x: r};\n  }\n  return e.request;\n}")
    with pytest.raises(FunctionValidationError, match="cannot be read: the JSON is nested deeper") as info:
        await fn.invoke(call(request("/deep")))
    assert info.value.status == 502 and info.value.logs == ["deep"]
    after = await fn.invoke(call())
    assert after.request is not None and after.request.uri == "/index.html"
