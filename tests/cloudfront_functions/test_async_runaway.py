"""A runaway loop inside a promise continuation is stopped like any other (spec §1.6), and V8's
natives syntax, which edgesim's prelude uses for that, stays out of reach of user code."""

from __future__ import annotations

import json
from pathlib import Path

from edgesim.cloudfront_functions import test_function

EVENT = {"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "1.2.3.4"},
         "request": {"method": "GET", "uri": "/a", "querystring": {}, "headers": {}, "cookies": {}}}


async def test_endless_loop_after_await_is_stopped_and_the_next_call_runs(tmp_path: Path) -> None:
    fn = tmp_path / "spin.js"
    fn.write_text("async function handler(event) {\n  await null;\n  if (event.request.uri === '/spin') { while (true) {} }\n"
                  "  return event.request;\n}\n")
    spin = {**EVENT, "request": {**EVENT["request"], "uri": "/spin"}}
    result = (await test_function(fn, spin, runtime="cloudfront-js-2.0", kvs=None, now=None))["TestResult"]
    assert "could not run" in result["FunctionErrorMessage"] and "was stopped" in result["FunctionErrorMessage"]
    ok = (await test_function(fn, EVENT, runtime="cloudfront-js-2.0", kvs=None, now=None))["TestResult"]
    assert ok["FunctionErrorMessage"] == ""
    assert json.loads(ok["FunctionOutput"])["request"]["uri"] == "/a"


async def test_async_handler_result_is_read_in_one_call(tmp_path: Path) -> None:
    fn = tmp_path / "a.js"
    fn.write_text("async function handler(event) {\n  var x = await Promise.resolve('/b');\n"
                  "  event.request.uri = x;\n  return event.request;\n}\n")
    result = (await test_function(fn, EVENT, runtime="cloudfront-js-2.0", kvs=None, now=None))["TestResult"]
    assert json.loads(result["FunctionOutput"])["request"]["uri"] == "/b"


async def test_v8_natives_syntax_is_refused(tmp_path: Path) -> None:
    fn = tmp_path / "n.js"
    fn.write_text("function handler(event) {\n  %DebugPrint(event);\n  return event.request;\n}\n")
    result = (await test_function(fn, EVENT, runtime="cloudfront-js-2.0", kvs=None, now=None))["TestResult"]
    assert 'SyntaxError: Token "%" not supported in this version in 2' in result["FunctionErrorMessage"]
