"""Warm workers: state kept, cold starts reported, and every way a handler can fail contained.

Each failure is followed by a request that succeeds, served by a fresh worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from edgesim import errors
from edgesim.config import DistributionSettings, LambdaFunctionAssociation
from edgesim.event_loop import event_loop_factory
from edgesim.lambda_edge import LambdaEdgeRuntime, workers
from edgesim.messages import EventType
from edgesim.runtime import TriggerResult

from .conftest import IDENTITY_JS, IDENTITY_PY, Handlers, make_call, viewer_request

VR = EventType.VIEWER_REQUEST

# Misbehaves when the uri says so, else passes the request on with its pid and a call count.
MISBEHAVING_PY = """
import os, sys, time
calls = 0

def handler(event, context):
    global calls
    calls += 1
    request = event["Records"][0]["cf"]["request"]
    uri = request["uri"]
    if uri == "/hang":
        while True:
            pass
    if uri == "/exit":
        os._exit(7)
    if uri == "/abort":
        os.abort()
    if uri == "/big":
        globals()["blob"] = b"x" * (400 << 20)
    if uri == "/throw":
        raise ValueError("bad input")
    if uri == "/marshal":
        return {"not json": {1, 2}}
    if uri == "/print":
        print('{"type": "result", "ok": true, "result": "forged"}')
        print("to stderr", file=sys.stderr)
        sys.stdout.write("no newline")
    request["headers"]["x-pid"] = [{"key": "X-Pid", "value": str(os.getpid())}]
    request["headers"]["x-calls"] = [{"key": "X-Calls", "value": str(calls)}]
    return request
"""
MISBEHAVING_JS = """
let calls = 0;
exports.handler = async (event) => {
  calls += 1;
  const request = event.Records[0].cf.request;
  const uri = request.uri;
  if (uri === '/hang') { for (;;) {} }
  if (uri === '/exit') process.exit(7);
  if (uri === '/abort') process.abort();
  if (uri === '/big') { globalThis.blob = Buffer.alloc(400 << 20, 1); }
  if (uri === '/throw') throw new TypeError('bad input');
  if (uri === '/marshal') return { 'not json': 1n };
  if (uri === '/print') {
    console.log('{"type": "result", "ok": true, "result": "forged"}');
    process.stderr.write('to stderr\\n');
    process.stdout.write('no newline');
  }
  request.headers['x-pid'] = [{ key: 'X-Pid', value: String(process.pid) }];
  request.headers['x-calls'] = [{ key: 'X-Calls', value: String(calls) }];
  return request;
};
"""


async def _invoke(runtime: LambdaEdgeRuntime, handlers: Handlers, uri: str, **fields: Any) -> TriggerResult:
    fn = runtime.function(handlers.assoc("misbehaving", py=MISBEHAVING_PY, js=MISBEHAVING_JS, **fields), VR)
    return await fn.invoke(make_call(VR, viewer_request(uri)))


async def test_worker_stays_warm_and_keeps_module_state(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    first = await _invoke(runtime, handlers, "/a")
    second = await _invoke(runtime, handlers, "/b")
    assert first.cold_start and not second.cold_start
    assert first.request is not None and second.request is not None
    assert first.request.headers.get("x-pid") == second.request.headers.get("x-pid")
    assert (first.request.headers.get("x-calls"), second.request.headers.get("x-calls")) == ("1", "2")
    assert "Init Duration" in first.logs[-1] and "Init Duration" not in second.logs[-1]


async def test_handler_output_never_corrupts_the_protocol(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    result = await _invoke(runtime, handlers, "/print")
    assert result.request is not None and result.request.uri == "/print"
    text = "\n".join(result.logs)
    assert '"result": "forged"' in text and "to stderr" in text and "no newline" in text
    assert result.logs[0].startswith("START RequestId: ") and result.logs[-2].startswith("END RequestId: ")
    assert result.logs[-1].startswith("REPORT RequestId: ") and "Max Memory Used:" in result.logs[-1]


@pytest.mark.parametrize("uri, error, words", [
    ("/hang", errors.LambdaLimitExceeded, "Task timed out after 0.50 seconds"),
    ("/exit", errors.LambdaExecutionError, "exit status 7"),
    ("/abort", errors.LambdaExecutionError, "signal: abrt"),
    ("/big", errors.LambdaLimitExceeded, "OutOfMemory"),
    ("/throw", errors.LambdaExecutionError, "bad input"),
    ("/marshal", errors.LambdaExecutionError, "Runtime.MarshalError"),
])
async def test_failure_gives_503_and_the_next_request_succeeds(
        runtime: LambdaEdgeRuntime, handlers: Handlers, uri: str, error: type[errors.ViewerError], words: str) -> None:
    # A short timeout for the hang; room enough for everything else on a busy machine.
    timeout = 0.5 if uri == "/hang" else 5
    ok = await _invoke(runtime, handlers, "/ok", timeout=timeout)
    assert ok.request is not None
    with pytest.raises(error) as caught:
        await _invoke(runtime, handlers, uri, timeout=timeout)
    assert caught.value.status == 503 and words in caught.value.reason
    assert any(words in line or "Error" in line for line in caught.value.logs)
    after = await _invoke(runtime, handlers, "/ok", timeout=timeout)
    assert after.request is not None and after.request.uri == "/ok"
    # A thrown error leaves the worker warm; a killed or crashed one is replaced.
    survives = uri in ("/throw", "/marshal")
    same = after.request.headers.get("x-pid") == ok.request.headers.get("x-pid")
    assert same == survives
    assert after.cold_start == (not survives)


async def test_module_that_fails_to_import_then_is_fixed(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    broken = handlers.assoc("broken", py="raise RuntimeError('boom at import')\n",
                            js="throw new Error('boom at import');\n")
    with pytest.raises(errors.LambdaExecutionError) as caught:
        await runtime.function(broken, VR).invoke(make_call(VR))
    assert "boom at import" in caught.value.reason and str(broken.path) in caught.value.reason
    assert any("boom at import" in line for line in caught.value.logs)
    handlers.assoc("broken", py=IDENTITY_PY, js=IDENTITY_JS)
    result = await runtime.function(broken, VR).invoke(make_call(VR))
    assert result.request is not None and result.cold_start


async def test_missing_handler_function_is_named(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("nofn", py="def other(e, c):\n    return 1\n", js="exports.other = () => 1;\n")
    with pytest.raises(errors.LambdaExecutionError, match="HandlerNotFound"):
        await runtime.function(assoc, VR).invoke(make_call(VR))


async def test_syntax_error_is_reported_with_the_file(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("syntax", py="def handler(:\n", js="exports.handler = (;\n")
    with pytest.raises(errors.LambdaExecutionError, match="SyntaxError") as caught:
        await runtime.function(assoc, VR).invoke(make_call(VR))
    assert "syntax" in caught.value.reason


async def test_only_lambda_environment_reaches_the_handler(
        runtime: LambdaEdgeRuntime, handlers: Handlers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGESIM_TEST_SECRET", "leaked")
    assoc = handlers.assoc("env", py="""
        import os
        def handler(event, context):
            return {"status": "200", "body": ",".join(sorted(os.environ))}
        """, js="""
        exports.handler = async () => ({ status: '200', body: Object.keys(process.env).sort().join(',') });
        """)
    result = await runtime.function(assoc, VR).invoke(make_call(VR))
    assert result.response is not None
    names = set(result.response.body.decode().split(","))
    assert "EDGESIM_TEST_SECRET" not in names and "HOME" not in names
    assert {"AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"} <= names
    assert {n for n in names if not n.startswith("AWS_")} <= {"PATH", "LANG", "TZ", "LAMBDA_TASK_ROOT"}


async def test_context_fields_and_remaining_time_counts_down(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("ctx", timeout=2, py="""
        import json, time
        def handler(event, context):
            before = context.get_remaining_time_in_millis()
            time.sleep(0.2)
            fields = {k: getattr(context, k) for k in ("function_name", "function_version", "invoked_function_arn",
                      "memory_limit_in_mb", "aws_request_id", "log_group_name", "log_stream_name")}
            fields.update(before=before, after=context.get_remaining_time_in_millis())
            return {"status": "200", "body": json.dumps(fields)}
        """, js="""
        exports.handler = async (event, context) => {
          const before = context.getRemainingTimeInMillis();
          await new Promise((r) => setTimeout(r, 200));
          const keys = ['functionName', 'functionVersion', 'invokedFunctionArn', 'memoryLimitInMB',
                        'awsRequestId', 'logGroupName', 'logStreamName'];
          const fields = Object.fromEntries(keys.map((k) => [k, context[k]]));
          return { status: '200', body: JSON.stringify({ ...fields, before, after: context.getRemainingTimeInMillis() }) };
        };
        """)
    result = await runtime.function(assoc, VR).invoke(make_call(VR))
    assert result.response is not None
    fields = list(json.loads(result.response.body).values())
    name, version, arn, memory, request_id, group, stream, before, after = fields
    assert name == "us-east-1.ctx" and version == "1" and arn.endswith(":function:ctx:1")
    assert int(memory) == 128 and group == "/aws/lambda/us-east-1.ctx" and "[1]" in stream
    assert request_id in result.logs[0]
    assert 0 < before <= 2000 and before - after >= 190


# Answers its worker's pid after 0.3 s: which worker served a request, and time for others to queue.
SLOW_PID_HANDLER = {"py": """
        import os, time
        def handler(event, context):
            time.sleep(0.3)
            return {"status": "200", "body": str(os.getpid())}
        """, "js": """
        exports.handler = async () => {
          await new Promise((r) => setTimeout(r, 300));
          return { status: '200', body: String(process.pid) };
        };
        """}


async def test_concurrent_requests_start_workers_up_to_the_limit(handlers: Handlers) -> None:
    assoc = handlers.assoc("slow", **SLOW_PID_HANDLER)
    async with LambdaEdgeRuntime(DistributionSettings(), max_concurrency=2) as runtime:
        fn = runtime.function(assoc, VR)
        results = await asyncio.gather(*(fn.invoke(make_call(VR)) for _ in range(4)))
    pids = {r.response.body for r in results if r.response is not None}
    assert len(pids) == 2
    assert sum(r.cold_start for r in results) == 2


async def test_lambda_max_workers_caps_a_handlers_workers(handlers: Handlers) -> None:
    assoc = handlers.assoc("capped", **SLOW_PID_HANDLER)
    async with LambdaEdgeRuntime(DistributionSettings(lambda_max_workers=3)) as runtime:
        fn = runtime.function(assoc, VR)
        results = await asyncio.gather(*(fn.invoke(make_call(VR)) for _ in range(6)))
    assert len({r.response.body for r in results if r.response is not None}) == 3
    assert sum(r.cold_start for r in results) == 3


async def test_memory_over_the_limit_is_caught_while_the_handler_still_runs(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("hog", timeout=30, py="""
        import time
        def handler(event, context):
            blob = b"x" * (400 << 20)
            time.sleep(25)
            return {"status": "200", "body": str(len(blob))}
        """, js="""
        exports.handler = async () => {
          const blob = Buffer.alloc(400 << 20, 1);
          await new Promise((r) => setTimeout(r, 25000));
          return { status: '200', body: String(blob.length) };
        };
        """)
    started = time.monotonic()
    with pytest.raises(errors.LambdaLimitExceeded, match="OutOfMemory"):
        await runtime.function(assoc, EventType.ORIGIN_REQUEST).invoke(make_call(EventType.ORIGIN_REQUEST))
    assert time.monotonic() - started < 20  # polled, not found at the end


async def test_a_request_cancelled_while_queued_gives_up_its_turn(handlers: Handlers) -> None:
    assoc = handlers.assoc("queued", **SLOW_PID_HANDLER)
    async with LambdaEdgeRuntime(DistributionSettings(), max_concurrency=1) as runtime:
        fn = runtime.function(assoc, VR)
        first = asyncio.create_task(fn.invoke(make_call(VR)))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(fn.invoke(make_call(VR)))  # waits for the one worker
        await asyncio.sleep(0.05)
        queued.cancel()
        # The one slot is not lost with the cancelled request: the next one runs on the same worker.
        third = await asyncio.wait_for(fn.invoke(make_call(VR)), 30)
        done = await first
    assert queued.cancelled()
    assert done.response is not None and third.response is not None
    assert done.response.body == third.response.body and not third.cold_start


async def test_same_handler_shares_warm_workers_and_aclose_kills_them(handlers: Handlers) -> None:
    assoc = handlers.assoc("pid", py="""
        import os
        def handler(event, context):
            return {"status": "200", "body": str(os.getpid())}
        """, js="exports.handler = async () => ({ status: '200', body: String(process.pid) });\n")
    async with LambdaEdgeRuntime(DistributionSettings()) as runtime:
        viewer = await runtime.function(assoc, VR).invoke(make_call(VR))
        origin = await runtime.function(assoc, EventType.ORIGIN_REQUEST).invoke(make_call(EventType.ORIGIN_REQUEST))
    assert viewer.response is not None and origin.response is not None
    assert viewer.response.body == origin.response.body and not origin.cold_start
    with pytest.raises(ProcessLookupError):
        os.kill(int(viewer.response.body), 0)


async def test_warm_starts_a_worker_before_the_first_request(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    fn = runtime.function(handlers.assoc("warm", py=IDENTITY_PY, js=IDENTITY_JS), VR)
    await fn.warm()
    result = await fn.invoke(make_call(VR))
    assert not result.cold_start and result.request is not None


@pytest.mark.parametrize("lang", ["node"], indirect=True)
@pytest.mark.parametrize("source, words", [
    ("exports.handler = async () => { throw new Error('async boom'); };", "async boom"),
    ("exports.handler = () => Promise.reject(new RangeError('rejected'));", "RangeError: rejected"),
    ("exports.handler = (e, c, callback) => callback(new Error('cb boom'));", "cb boom"),
    ("exports.handler = (e, c, cb) => { setTimeout(() => { throw new Error('later'); }, 1); };", "later"),
])
async def test_node_error_styles_give_503(runtime: LambdaEdgeRuntime, handlers: Handlers, source: str, words: str) -> None:
    assoc = handlers.assoc("styles", py="", js=source)
    with pytest.raises(errors.LambdaExecutionError, match=words):
        await runtime.function(assoc, VR).invoke(make_call(VR))


@pytest.mark.parametrize("lang", ["node"], indirect=True)
@pytest.mark.parametrize("filename, package", [("esm.mjs", None), ("esm.js", '{"type": "module"}')])
async def test_node_es_modules(runtime: LambdaEdgeRuntime, handlers: Handlers, tmp_path: Path,
                               filename: str, package: str | None) -> None:
    if package:
        (tmp_path / "package.json").write_text(package)
    assoc = handlers.assoc("esm", filename=filename, py="", js="""
        import { basename } from 'node:path';
        export const handler = async (event) => ({ status: '200', body: basename(import.meta.url) });
        """)
    result = await runtime.function(assoc, VR).invoke(make_call(VR))
    assert result.response is not None and result.response.body == filename.encode()


@pytest.mark.parametrize("lang", ["python"], indirect=True)
async def test_python_module_path_handler(runtime: LambdaEdgeRuntime, handlers: Handlers, tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "edge.py").write_text("def main(event, context):\n    return {'status': '201'}\n")
    assoc = LambdaFunctionAssociation.model_validate({"lambda": "pkg.edge:main"}, context={"base_dir": tmp_path})
    result = await runtime.function(assoc, VR).invoke(make_call(VR))
    assert result.response is not None and result.response.status == 201 and result.generated


@pytest.mark.parametrize("lang", ["node"], indirect=True)
async def test_node_heap_growth_past_the_limit_is_stopped(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # JS objects live on V8's heap, capped by --max-old-space-size as well as by the RSS watch.
    assoc = handlers.assoc("heap", py="", js="""
        const keep = [];
        exports.handler = async (event) => {
          if (event.Records[0].cf.request.uri === '/grow') {
            for (let i = 0; ; i++) keep.push({ i, s: 'x'.repeat(64) + i });
          }
          return event.Records[0].cf.request;
        };
        """)
    fn = runtime.function(assoc, VR)
    with pytest.raises(errors.LambdaLimitExceeded, match="OutOfMemory"):
        await fn.invoke(make_call(VR, viewer_request("/grow")))
    result = await fn.invoke(make_call(VR, viewer_request("/ok")))
    assert result.request is not None and result.cold_start


@pytest.mark.parametrize("lang", ["node"], indirect=True)
async def test_node_sync_handler_without_callback_answers_null(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # As on Lambda: the returned value is discarded, CloudFront gets null and answers 502.
    assoc = handlers.assoc("sync", py="", js="exports.handler = (event) => event.Records[0].cf.request;\n")
    with pytest.raises(errors.LambdaValidationError) as caught:
        await runtime.function(assoc, VR).invoke(make_call(VR))
    assert any("Make the handler async" in line for line in caught.value.logs)


@pytest.mark.parametrize("lang", ["node"], indirect=True)
async def test_a_worker_that_ended_itself_after_answering_is_replaced_not_blamed(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # Lambda starts a new runtime for the next invocation; that request must not fail for it.
    assoc = handlers.assoc("quits", py="", js="""
        exports.handler = async (event) => {
          setImmediate(() => process.exit(0));
          return event.Records[0].cf.request;
        };
    """)
    fn = runtime.function(assoc, VR)
    for _ in range(3):
        result = await fn.invoke(make_call(VR))
        assert result.request is not None and result.cold_start


async def test_an_event_bigger_than_the_pipe_arrives_whole(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # Several reads of the control pipe, with two-byte characters split between them.
    assoc = handlers.assoc("measure", py="""
        def handler(event, context):
            request = event["Records"][0]["cf"]["request"]
            request["headers"]["x-uri"] = [{"key": "X-Uri", "value": f"{len(request['uri'])}:{request['uri'].count('é')}"}]
            request["uri"] = "/measured"  # CloudFront takes back no URI this long
            return request
    """, js="""
        exports.handler = async (event) => {
          const request = event.Records[0].cf.request;
          const value = `${request.uri.length}:${request.uri.split('é').length - 1}`;
          request.headers['x-uri'] = [{ key: 'X-Uri', value }];
          request.uri = '/measured'; // CloudFront takes back no URI this long
          return request;
        };
    """)
    uri = "/" + "é" * 300_000  # 600 KB of UTF-8, nine pipe-fulls
    result = await runtime.function(assoc, VR).invoke(make_call(VR, viewer_request(uri)))
    assert result.request is not None and result.request.headers.get("x-uri") == f"{len(uri)}:300000"


@pytest.mark.parametrize("lang", ["node"], indirect=True)
async def test_node_worker_is_frozen_between_invocations(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # Lambda freezes the execution environment once the handler has answered: a timer the handler
    # left running does not fire while no invocation runs.
    assoc = handlers.assoc("ticks", py="", js="""
        let ticks = 0;
        setInterval(() => { ticks += 1; }, 5).unref();
        exports.handler = async (event) => {
          const request = event.Records[0].cf.request;
          request.headers['x-ticks'] = [{ key: 'X-Ticks', value: String(ticks) }];
          return request;
        };
    """)
    fn = runtime.function(assoc, VR)
    first = await fn.invoke(make_call(VR))
    await asyncio.sleep(0.5)  # a running event loop would tick about 100 times meanwhile
    second = await fn.invoke(make_call(VR))
    assert first.request is not None and second.request is not None
    ticked = int(second.request.headers.get("x-ticks") or 0) - int(first.request.headers.get("x-ticks") or 0)
    assert ticked < 10


async def test_process_that_exits_while_starting_gives_an_error_not_a_hang(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # No ready frame and no initError: the control pipe's EOF ends the wait at once.
    assoc = handlers.assoc("exits", py="import os\nprint('bye')\nos._exit(5)\n", js="console.log('bye');\nprocess.exit(5);\n")
    with pytest.raises(errors.LambdaExecutionError, match="exit status 5") as caught:
        await runtime.function(assoc, VR).invoke(make_call(VR))
    assert any("bye" in line for line in caught.value.logs)


async def test_aclose_ends_an_invocation_in_flight(handlers: Handlers) -> None:
    assoc = handlers.assoc("sleepy", py="import time\ndef handler(e, c):\n    time.sleep(20)\n",
                           js="exports.handler = () => new Promise(() => { setInterval(() => {}, 1000); });\n")
    runtime = LambdaEdgeRuntime(DistributionSettings())
    pending = asyncio.create_task(runtime.function(assoc, EventType.ORIGIN_REQUEST).invoke(
        make_call(EventType.ORIGIN_REQUEST)))
    await asyncio.sleep(0.5)
    await runtime.aclose()
    with pytest.raises(errors.LambdaExecutionError):
        await asyncio.wait_for(pending, 5)


async def test_a_cancelled_invocation_kills_its_worker(runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("pidsleep", py="""
        import os, time
        def handler(event, context):
            if event["Records"][0]["cf"]["request"]["uri"] == "/sleep":
                time.sleep(20)
            return {"status": "200", "body": str(os.getpid())}
        """, js="""
        exports.handler = async (event) => {
          if (event.Records[0].cf.request.uri === '/sleep') await new Promise((r) => setTimeout(r, 20000));
          return { status: '200', body: String(process.pid) };
        };
        """)
    fn = runtime.function(assoc, VR)
    first = await fn.invoke(make_call(VR, viewer_request("/pid")))
    assert first.response is not None
    pid = int(first.response.body)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(fn.invoke(make_call(VR, viewer_request("/sleep"))), 0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    after = await fn.invoke(make_call(VR, viewer_request("/pid")))
    assert after.cold_start and after.response is not None and int(after.response.body) != pid


async def test_import_that_never_finishes_times_out(runtime: LambdaEdgeRuntime, handlers: Handlers,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "INIT_TIMEOUT_S", 0.5)
    assoc = handlers.assoc("slowimport", py="import time\ntime.sleep(30)\n",
                           js="const end = Date.now() + 30000;\nwhile (Date.now() < end) {}\n")
    with pytest.raises(errors.LambdaExecutionError, match="Init timed out after 0.5 seconds"):
        await runtime.function(assoc, VR).invoke(make_call(VR))


def test_the_banner_says_when_a_handlers_runtime_is_not_the_version_it_runs_on(tmp_path: Path) -> None:
    import platform
    import sys

    from edgesim.config import load_config
    from edgesim.lambda_edge.workers import interpreter_note, node_version
    from edgesim.server import banner
    from edgesim.simulator import Simulator

    here = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    other = "python3.13" if here != "python3.13" else "python3.12"
    assert interpreter_note(here) is None
    assert interpreter_note(other) == f"{other} handlers run on edgesim's own Python {platform.python_version()}"
    node = node_version()
    assert node is not None and node[0].isdigit()
    major = node.split(".")[0]
    assert interpreter_note(f"nodejs{major}.x") is None
    assert interpreter_note("nodejs99.x") == f"nodejs99.x handlers run on the node on PATH, Node.js {node}"

    (tmp_path / "a.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "edgesim.toml").write_text(
        '[[origins]]\nid = "app"\nurl = "http://127.0.0.1:1"\n[default_cache_behavior]\ntarget_origin = "app"\n'
        f'functions.origin-request = {{ lambda = "a.py:handler", runtime = "{other}" }}\n')
    text = banner(Simulator(load_config(tmp_path / "edgesim.toml")), "http://127.0.0.1:8080/")
    # The handler by its full path, as a CloudFront Function's is shown; then the runtime's note.
    assert f"[{other}] {tmp_path / 'a.py'}:handler" in text
    assert f"  note: {other} handlers run on edgesim's own Python {platform.python_version()}" in text


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_each_invocation_gets_its_own_log_lines_under_concurrency(handlers: Handlers, loop: str) -> None:
    # Every line a handler logs reaches its own invocation's log, not the next one's, with the
    # workers busy: the log pipe is read in the loop turn that reads the result (workers.py,
    # _on_control), on either event loop edgesim runs on.
    assoc = handlers.assoc("logs", py="""
        def handler(event, context):
            request = event["Records"][0]["cf"]["request"]
            print("line for " + request["uri"])
            return request
        """, js="""
        exports.handler = async (event) => {
          const request = event.Records[0].cf.request;
          console.log('line for ' + request.uri);
          return request;
        };
        """)

    async def invoke_all() -> list[TriggerResult]:
        async with LambdaEdgeRuntime(DistributionSettings(), max_concurrency=4) as rt:
            fn = rt.function(assoc, VR)
            return list(await asyncio.gather(*(fn.invoke(make_call(VR, viewer_request(f"/n{i}"))) for i in range(300))))

    factory = event_loop_factory() if loop == "uvloop" else None
    if loop == "uvloop" and factory is None:
        pytest.fail("uvloop is not installed (uvicorn[standard] brings it)")
    with asyncio.Runner(loop_factory=factory) as runner:
        results = runner.run(invoke_all())
    for i, result in enumerate(results):
        mine = [line for line in result.logs if "line for " in line]
        assert len(mine) == 1 and mine[0].endswith(f"line for /n{i}"), (i, result.logs)


LOADED_PY = """
import sys

def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    loaded = ",".join(m for m in ("json", "orjson", "typing", "re") if m in sys.modules)
    request["headers"]["x-loaded"] = [{"key": "X-Loaded", "value": loaded or "none"}]
    return request
"""


async def test_a_python_workers_first_answer_needs_no_json_module(tmp_path: Path) -> None:
    """A cold start imports neither json (it compiles regular expressions) nor orjson (it imports
    dataclasses, uuid, enum, inspect), nor typing: those were two thirds of a Python worker's cold
    start. The frames go through json's C core; orjson comes after the first answer (kept out of
    sys.modules, the handler's to import), for the warm ones."""
    (tmp_path / "loaded.py").write_text(LOADED_PY)
    assoc = LambdaFunctionAssociation.model_validate({"lambda": "loaded.py:handler"}, context={"base_dir": tmp_path})
    async with LambdaEdgeRuntime(DistributionSettings()) as runtime:
        fn = runtime.function(assoc, VR)
        first = await fn.invoke(make_call(VR, viewer_request("/a")))
        second = await fn.invoke(make_call(VR, viewer_request("/b")))
    assert first.request is not None and second.request is not None
    assert first.request.headers.get("x-loaded") == "none"
    assert second.request.uri == "/b" and second.request.headers.get("x-loaded")  # served after orjson's load


async def test_a_python_worker_starts_from_the_shims_cached_bytecode(tmp_path: Path) -> None:
    """python_worker.py is imported by a small boot script, so its bytecode is cached beside it and
    not compiled at every worker start (3 ms of a cold start); the handler's folder still gets none."""
    import importlib.util

    cached = Path(importlib.util.cache_from_source(str(workers.SHIMS / "python_worker.py")))
    cached.unlink(missing_ok=True)
    (tmp_path / "loaded.py").write_text(LOADED_PY)
    assoc = LambdaFunctionAssociation.model_validate({"lambda": "loaded.py:handler"}, context={"base_dir": tmp_path})
    async with LambdaEdgeRuntime(DistributionSettings()) as runtime:
        await runtime.function(assoc, VR).invoke(make_call(VR, viewer_request("/a")))
    if os.access(workers.SHIMS, os.W_OK):  # a read-only install compiles it each time, as before
        assert cached.is_file()
    assert not (tmp_path / "__pycache__").exists()
