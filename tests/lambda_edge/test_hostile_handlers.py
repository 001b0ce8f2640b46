"""Handlers that attack their own runtime: the proxy stays up, answers as CloudFront does, leaks nothing.

Huge results, text UTF-8 cannot carry, results too deep to marshal, forks and detached children.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import edgesim
from conftest import origin_app
from edgesim import errors
from edgesim.config import DistributionSettings
from edgesim.lambda_edge import LambdaEdgeRuntime
from edgesim.messages import EventType
from edgesim.testing import Distribution

from .conftest import Handlers, make_call, viewer_request

VR = EventType.VIEWER_REQUEST
OQ = EventType.ORIGIN_REQUEST


def _gone(pid: int) -> bool:
    """The process no longer runs: no such pid, or a zombie waiting for init to reap it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except FileNotFoundError:
        return True


async def _eventually_gone(pid: int) -> bool:
    for _ in range(100):  # SIGKILL lands within milliseconds; allow a loaded machine a second
        if _gone(pid):
            return True
        await asyncio.sleep(0.01)
    return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, 9)  # the test's own stray, if the code under test let it live
    except ProcessLookupError:
        pass


async def test_a_huge_result_is_cloudfront_s_502_and_does_not_stall_the_proxy(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # 40 MB of JSON arrives in some 600 pipe reads. Buffering it by joining the whole tail on every
    # read took seconds of the event loop's CPU (past this timeout); it must cost a fraction of one.
    assoc = handlers.assoc("huge", py="""
        def handler(event, context):
            request = event["Records"][0]["cf"]["request"]
            if request["uri"] == "/huge":
                return {"status": "200", "body": "z" * (40 << 20)}
            return request
    """, js="""
        exports.handler = async (event) => {
          const request = event.Records[0].cf.request;
          if (request.uri === '/huge') return { status: '200', body: 'z'.repeat(40 << 20) };
          return request;
        };
    """, timeout=5, memory=1024)
    fn = runtime.function(assoc, OQ)
    with pytest.raises(errors.LambdaValidationError, match="over the 1048576 bytes allowed") as caught:
        await fn.invoke(make_call(OQ, viewer_request("/huge")))
    assert caught.value.status == 502
    after = await fn.invoke(make_call(OQ, viewer_request("/next")))
    assert after.request is not None and after.request.uri == "/next" and not after.cold_start


LONE_SURROGATES_PY = """
def handler(event, context):
    cf = event["Records"][0]["cf"]
    request = cf["request"]
    if request["uri"] == "/generated":
        return {"status": "200", "headers": {"x-s": [{"key": "X-S", "value": "a\\ud800b"}]}, "body": "\\udcff!"}
    request["headers"]["x-s"] = [{"key": "X-S", "value": "a\\udfffb"}]
    return request
"""
LONE_SURROGATES_JS = """
exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  if (request.uri === '/generated') {
    return { status: '200', headers: { 'x-s': [{ key: 'X-S', value: 'a\\ud800b' }] }, body: '\\udcff!' };
  }
  request.headers['x-s'] = [{ key: 'X-S', value: 'a\\udfffb' }];
  return request;
};
"""


async def test_a_lone_surrogate_in_a_result_goes_on_as_u_fffd(handlers: Handlers, tmp_path: Path) -> None:
    # A JavaScript or Python string may hold one; UTF-8 cannot, and U+DCFF would otherwise pass for
    # a raw 0xFF byte edgesim received. Both a generated response and a changed request go on.
    path = handlers.write("lone", py=LONE_SURROGATES_PY, js=LONE_SURROGATES_JS)
    config = {"origins": [{"id": "app", "url": "http://app.internal"}],
              "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingDisabled",
                                         "origin_request_policy": "AllViewer",
                                         "functions": {"viewer-request": {"lambda": f"{path.name}:handler"}}}}
    seen: list[dict[str, Any]] = []
    async with Distribution(config, base_dir=tmp_path, origins={"app": origin_app(None, seen)}) as dist:
        generated = await dist.get("/generated")
        assert generated.status_code == 200
        assert generated.content == "\ufffd!".encode()
        assert {k.lower(): v for k, v in generated.headers.raw}[b"x-s"] == "a\ufffdb".encode()
        forwarded = await dist.get("/forwarded")
        assert forwarded.status_code == 200 and forwarded.text == "origin /forwarded"
        assert seen[-1]["headers"].get("x-s") == "a\ufffdb"


async def test_a_result_nested_too_deep_to_marshal_fails_the_invocation_not_the_worker(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    assoc = handlers.assoc("deep", py="""
        import os
        def handler(event, context):
            request = event["Records"][0]["cf"]["request"]
            if request["uri"] == "/deep":
                nested = []
                for _ in range(100000):
                    nested = [nested]
                return {"status": "200", "nested": nested}
            return {"status": "200", "body": str(os.getpid())}
    """, js="""
        exports.handler = async (event) => {
          const request = event.Records[0].cf.request;
          if (request.uri === '/deep') {
            let nested = [];
            for (let i = 0; i < 100000; i++) nested = [nested];
            return { status: '200', nested };
          }
          return { status: '200', body: String(process.pid) };
        };
    """)
    fn = runtime.function(assoc, VR)
    before = await fn.invoke(make_call(VR, viewer_request("/pid")))
    with pytest.raises(errors.LambdaExecutionError, match="Runtime.MarshalError") as caught:
        await fn.invoke(make_call(VR, viewer_request("/deep")))
    assert caught.value.status == 503
    after = await fn.invoke(make_call(VR, viewer_request("/pid")))
    assert before.response is not None and after.response is not None
    assert after.response.body == before.response.body and not after.cold_start  # the same warm worker


DEEP_PY = """
import sys
def handler(event, context):
    if event["Records"][0]["cf"]["request"]["uri"] != "/deep":
        return {"status": "200", "body": "shallow"}
    sys.setrecursionlimit(10 ** 6)  # json.dumps then writes what no reader takes
    nested = {}
    inner = nested
    for _ in range(DEPTH):
        inner["a"] = {}
        inner = inner["a"]
    return {"status": "200", "nested": nested}
"""


@pytest.mark.parametrize("lang", ["python"], indirect=True)
async def test_a_result_nested_deeper_than_edgesim_reads_is_invalid_json(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # Read by an orjson older than 3.9.15 this deep result took a lot of C stack (60,000 levels
    # crashed edgesim); a newer orjson refuses it and the stdlib's RecursionError escaped the loop's
    # reader, leaving the invocation to time out. CloudFront cannot parse it either (spec §2.8).
    assoc = handlers.assoc("deep", py=DEEP_PY.replace("DEPTH", "20000"), js="", memory=1024)
    fn = runtime.function(assoc, OQ)
    with pytest.raises(errors.LambdaValidationError, match="returned invalid JSON: the JSON is nested deeper") as caught:
        await fn.invoke(make_call(OQ, viewer_request("/deep")))
    assert caught.value.status == 502
    after = await fn.invoke(make_call(OQ, viewer_request("/next")))
    assert after.response is not None and after.response.body == b"shallow" and not after.cold_start


def test_a_result_deep_enough_to_overflow_the_c_stack_does_not_crash_edgesim() -> None:
    # 100,000 levels, as a worker's frame: in a process of its own, since before the fix reading it
    # killed the process with SIGSEGV (orjson before 3.9.15, CVE-2024-27454).
    script = (
        "from edgesim.lambda_edge import protocol\n"
        "deep = b'{\"a\":' * 100000 + b'1' + b'}' * 100000\n"
        "frame = protocol.decode(b'{\"type\":\"result\",\"ok\":true,\"result\":' + deep + b'}')\n"
        "print(frame['unreadable'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(edgesim.__file__).parents[1])}  # this edgesim, not an installed one
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, env=env)
    assert done.returncode == 0, (done.returncode, done.stderr.decode()[-2000:])
    assert done.stdout.startswith(b"the JSON is nested deeper than")


@pytest.mark.parametrize("lang", ["python"], indirect=True)
async def test_a_handler_that_forks_then_exits_fails_at_once_and_its_child_dies(
        runtime: LambdaEdgeRuntime, handlers: Handlers, tmp_path: Path) -> None:
    # The forked child inherits the worker's pipes: holding the control pipe it hid the worker's
    # exit until the timeout, and it lived on after the worker, in the worker's process group.
    pidfile = tmp_path / "child.pid"
    assoc = handlers.assoc("forks", py=f"""
        import os, time
        def handler(event, context):
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            with open({str(pidfile)!r}, "w") as f:
                f.write(str(pid))
            os._exit(3)
    """, js="", timeout=5)
    started = asyncio.get_running_loop().time()
    with pytest.raises(errors.LambdaExecutionError, match="exit status 3"):
        await runtime.function(assoc, VR).invoke(make_call(VR))
    child = int(pidfile.read_text())
    try:
        assert asyncio.get_running_loop().time() - started < 4  # not the 5 s timeout
        assert await _eventually_gone(child)
    finally:
        _kill(child)


SPAWNS_DETACHED_PY = """
import subprocess
def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    with open({pidfile!r}, "w") as f:
        f.write(str(child.pid))
    if request["uri"] == "/hang":
        while True:
            pass
    return request
"""
SPAWNS_DETACHED_JS = """
const fs = require('fs');
const { spawn } = require('child_process');
exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  child.unref();
  fs.writeFileSync({pidfile!r}, String(child.pid));
  if (request.uri === '/hang') for (;;) {}
  return request;
};
"""


@pytest.mark.parametrize("uri", ["/hang", "/answer"])
async def test_a_detached_child_dies_with_its_worker(handlers: Handlers, tmp_path: Path, uri: str) -> None:
    # In a session of its own the child escapes the kill of the worker's process group; on Lambda it
    # ends with the execution environment. Killed with the worker for the timeout (/hang, and the
    # next request is served), or at shutdown (/answer).
    pidfile = tmp_path / "child.pid"
    assoc = handlers.assoc("detaches", py=SPAWNS_DETACHED_PY.format(pidfile=str(pidfile)),
                           js=SPAWNS_DETACHED_JS.replace("{pidfile!r}", repr(str(pidfile))),
                           timeout=2.0)  # time to spawn the child first, on a loaded machine too
    children: list[int] = []
    runtime = LambdaEdgeRuntime(DistributionSettings())
    try:
        fn = runtime.function(assoc, VR)
        if uri == "/hang":
            with pytest.raises(errors.LambdaLimitExceeded):
                await fn.invoke(make_call(VR, viewer_request(uri)))
            children.append(int(pidfile.read_text()))
            assert await _eventually_gone(children[0])
        result = await fn.invoke(make_call(VR, viewer_request("/answer")))
        assert result.request is not None and result.cold_start
        children.append(int(pidfile.read_text()))
        assert not _gone(children[-1])  # a warm worker's child lives on, as on Lambda
    finally:
        await runtime.aclose()
        try:
            assert all([await _eventually_gone(child) for child in children])
        finally:
            for child in children:
                _kill(child)


@pytest.mark.parametrize("lang", ["node"], indirect=True)
async def test_a_large_process_stdout_write_lands_whole_in_its_own_invocation_s_log(
        runtime: LambdaEdgeRuntime, handlers: Handlers) -> None:
    # More than a pipe holds: Node kept the rest to write from its event loop, which is parked
    # between invocations, so it trickled into the logs of the invocations after.
    assoc = handlers.assoc("writes", py="", js="""
        exports.handler = async (event) => {
          const request = event.Records[0].cf.request;
          if (request.uri === '/big') process.stdout.write('A'.repeat(300000) + '\\nend of big\\n');
          return request;
        };
    """)
    fn = runtime.function(assoc, VR)
    big = await fn.invoke(make_call(VR, viewer_request("/big")))
    assert "end of big" in big.logs and sum(len(line) for line in big.logs) > 300000
    after = await fn.invoke(make_call(VR, viewer_request("/next")))
    assert not any("A" * 20 in line or "end of big" in line for line in after.logs)


# Each breaks a tool the runtime itself uses to answer; the invocation is answered all the same,
# and the same warm worker serves the next one.
RUNTIME_BREAKERS_PY = """
import os, sys
class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no str")
def handler(event, context):
    uri = event["Records"][0]["cf"]["request"]["uri"]
    if uri == "/stderr-none":
        sys.stderr = None
        raise ValueError("after stderr went")
    if uri == "/unprintable":
        raise Unprintable()
    if uri == "/close-stderr":
        os.close(2)
        raise ValueError("after fd 2 closed")
    return {"status": "200", "body": str(os.getpid())}
"""
RUNTIME_BREAKERS_JS = """
const fs = require('fs');
const saved = { stringify: JSON.stringify, writeSync: fs.writeSync, error: console.error };
exports.handler = async (event) => {
  const uri = event.Records[0].cf.request.uri;
  Object.assign(fs, { writeSync: saved.writeSync });
  JSON.stringify = saved.stringify;
  console.error = saved.error;
  if (uri === '/null-proto') throw Object.create(null);
  if (uri === '/message-getter') {
    const err = new Error('x');
    Object.defineProperty(err, 'message', { get() { throw new Error('no message'); } });
    throw err;
  }
  if (uri === '/console-error') { console.error = null; throw new Error('after console.error went'); }
  if (uri === '/close-stderr') { fs.closeSync(2); throw new Error('after fd 2 closed'); }
  if (uri === '/stringify') JSON.stringify = () => 'not a frame';
  if (uri === '/write-sync') fs.writeSync = () => 0;
  return { status: '200', body: String(process.pid) };
};
"""


@pytest.mark.parametrize("lang, uri, words", [
    ("python", "/stderr-none", "ValueError: after stderr went"),
    ("python", "/unprintable", "Unprintable: <exception str() failed>"),
    ("python", "/close-stderr", "ValueError: after fd 2 closed"),
    ("node", "/close-stderr", "Error: after fd 2 closed"),
    ("node", "/null-proto", "an unreadable [object Object] was thrown"),
    ("node", "/message-getter", "an unreadable [object Error] was thrown"),
    ("node", "/console-error", "Error: after console.error went"),
    ("node", "/stringify", ""),
    ("node", "/write-sync", ""),
], indirect=["lang"])
async def test_a_handler_that_breaks_the_runtime_s_tools_is_answered_and_the_worker_lives(
        runtime: LambdaEdgeRuntime, handlers: Handlers, uri: str, words: str) -> None:
    fn = runtime.function(handlers.assoc("breaker", py=RUNTIME_BREAKERS_PY, js=RUNTIME_BREAKERS_JS, timeout=3), VR)
    before = await fn.invoke(make_call(VR, viewer_request("/pid")))
    if words:
        with pytest.raises(errors.LambdaExecutionError) as caught:
            await fn.invoke(make_call(VR, viewer_request(uri)))
        assert caught.value.status == 503 and words in caught.value.reason
    else:
        answered = await fn.invoke(make_call(VR, viewer_request(uri)))
        assert answered.response is not None and answered.response.status == 200
    after = await fn.invoke(make_call(VR, viewer_request("/pid")))
    assert before.response is not None and after.response is not None
    assert after.response.body == before.response.body and not after.cold_start
