"""`serve --inspect` under a real Simulator: debugger ports on 127.0.0.1, a port kept across a
reload, one warm worker per handler, and the Lambda@Edge time limits lifted (real workers)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import origin_app
from edgesim.config import DistributionConfig, parse_config
from edgesim.lambda_edge import inspector as inspector_module
from edgesim.lambda_edge.inspector import DEBUGPY_HINT, Inspector, node_inspector_url
from edgesim.messages import Headers, Request
from edgesim.request_log import text_line
from edgesim.server import free_port
from edgesim.simulator import Simulator

from .conftest import Handlers

# Sleeps 1.5 s on /slow: past the 1 s timeout the config gives its viewer-request association.
SLOW_PY = """
import time

def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    if request["uri"] == "/slow":
        time.sleep(1.5)
    request["headers"]["x-edge"] = [{"key": "X-Edge", "value": "ran"}]
    return request
"""
SLOW_JS = """
exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  if (request.uri === '/slow') await new Promise((resolve) => setTimeout(resolve, 1500));
  request.headers['x-edge'] = [{ key: 'X-Edge', value: 'ran' }];
  return request;
};
"""


def config_for(handlers: Handlers, tmp_path: Path) -> DistributionConfig:
    path = handlers.write("slow", py=SLOW_PY, js=SLOW_JS)
    return parse_config({
        "origins": [{"id": "app", "url": "http://app.internal"}],
        "default_cache_behavior": {
            "target_origin": "app", "cache_policy": "CachingDisabled",
            "functions": {"viewer-request": {"lambda": f"{path.name}:handler", "timeout": 1}}},
    }, base_dir=tmp_path)


def get(uri: str) -> Request:
    return Request("GET", uri, headers=Headers([("Host", "d111111abcdef8.cloudfront.net")]))


def json_list(port: int) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
        targets: list[dict[str, Any]] = json.load(answer)
    return targets


@pytest.fixture
def inspector() -> Inspector:
    # A free base port, not 9229: a developer's own `node --inspect` may hold it, and tests run in parallel.
    return Inspector(free_port())


@pytest.fixture
async def inspected(handlers: Handlers, tmp_path: Path, inspector: Inspector) -> AsyncIterator[Simulator]:
    transports = {"app": httpx.ASGITransport(app=origin_app())}
    async with Simulator(config_for(handlers, tmp_path), transports=transports, inspector=inspector) as sim:
        yield sim


async def test_a_slow_handler_is_killed_at_its_timeout_without_inspect(handlers: Handlers, tmp_path: Path) -> None:
    transports = {"app": httpx.ASGITransport(app=origin_app())}
    async with Simulator(config_for(handlers, tmp_path), transports=transports) as sim:
        response, trace = await sim.handle(get("/slow"))
    assert response.status == 503 and response.headers.get("x-cache") == "LambdaLimitExceeded from cloudfront"
    assert trace.error is not None and "Task timed out after 1.00 seconds" in trace.error


async def test_under_inspect_a_slow_handler_runs_to_its_end(inspected: Simulator) -> None:
    response, trace = await inspected.handle(get("/slow"))
    assert response.status == 200, trace.render()
    assert trace.triggers[0].duration_ms >= 1500
    # The request log says the limit was off (text_line is what `serve` prints per request).
    assert text_line(trace, inspecting=True).splitlines()[0].endswith(
        "[Lambda@Edge time limits off while inspecting]")
    assert "time limits off" not in text_line(trace)


@pytest.mark.parametrize("lang", ["node"], indirect=True)  # the Node inspector
async def test_the_node_inspector_answers_on_the_handler_port(inspected: Simulator, inspector: Inspector,
                                                              lang: str) -> None:
    [(port, (language, where))] = inspector.ports.items()
    assert port >= inspector.base_port and language == "node" and where.endswith("slow.js:handler")
    # Started with the distribution, before any request: a debugger attaches first.
    targets = json_list(port)
    assert any(t["url"].endswith("/lambda_edge/shims/node_worker.js") for t in targets)
    assert node_inspector_url(port) == targets[0]["webSocketDebuggerUrl"]
    assert targets[0]["webSocketDebuggerUrl"].startswith(f"ws://127.0.0.1:{port}/")
    response, _ = await inspected.handle(get("/page"))
    assert response.status == 200
    lines = await inspector.banner_lines(python_handlers=False)
    assert lines[1].startswith("    time limits off while inspecting:")
    assert lines[2:] == [f"    {where}  node inspector {targets[0]['webSocketDebuggerUrl']}",
                         f"      open chrome://inspect or attach VS Code to 127.0.0.1:{port}"]


@pytest.mark.parametrize("lang", ["node"], indirect=True)  # the Node inspector
async def test_one_worker_per_handler_and_concurrent_requests_queue(inspected: Simulator, inspector: Inspector,
                                                                    lang: str) -> None:
    port = next(iter(inspector.ports))
    first = json_list(port)[0]["id"]
    results = await asyncio.gather(*(inspected.handle(get(f"/p{i}")) for i in range(4)))
    assert [r.status for r, _ in results] == [200] * 4
    assert [t["id"] for t in json_list(port)] == [first]  # the same one process served them all


@pytest.mark.parametrize("lang", ["node"], indirect=True)  # the Node inspector
async def test_a_reload_brings_the_worker_back_on_the_same_port(handlers: Handlers, tmp_path: Path,
                                                                inspector: Inspector, lang: str) -> None:
    config = config_for(handlers, tmp_path)
    transports = {"app": httpx.ASGITransport(app=origin_app())}
    async with Simulator(config, transports=transports, inspector=inspector) as sim:
        port = next(iter(inspector.ports))
        before = node_inspector_url(port)
        await sim.reload(config_for(handlers, tmp_path))
        assert list(inspector.ports) == [port]
        after = node_inspector_url(port)
        assert after is not None and after != before  # a new process, on the handler's port
        response, _ = await sim.handle(get("/page"))
        assert response.status == 200
        assert (await inspector.reload_lines()) == [
            f"  {tmp_path / 'slow.js'}:handler: debugger back on node inspector {after}"]


@pytest.mark.parametrize("lang", ["python"], indirect=True)  # debugpy
async def test_without_debugpy_python_handlers_get_no_port_and_the_banner_says_how(
        handlers: Handlers, tmp_path: Path, inspector: Inspector, lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inspector_module, "debugpy_available", lambda: False)
    transports = {"app": httpx.ASGITransport(app=origin_app())}
    async with Simulator(config_for(handlers, tmp_path), transports=transports, inspector=inspector) as sim:
        response, _ = await sim.handle(get("/slow"))  # time limits are off all the same
        assert response.status == 200
    assert inspector.ports == {}
    lines = await inspector.banner_lines(python_handlers=True)
    assert lines[-1] == f"    {DEBUGPY_HINT}"
    assert DEBUGPY_HINT == "pip install debugpy to debug Python handlers under --inspect"


@pytest.mark.parametrize("lang", ["python"], indirect=True)  # debugpy
async def test_with_debugpy_python_handlers_listen_for_a_debugger(inspected: Simulator, inspector: Inspector,
                                                                   lang: str) -> None:
    if not inspector_module.debugpy_available():
        pytest.skip("debugpy is not installed (pip install debugpy)")
    [(port, (language, where))] = inspector.ports.items()
    assert language == "python" and where.endswith("slow.py:handler")
    _, writer = await asyncio.open_connection("127.0.0.1", port)  # debugpy's adapter answers there
    writer.close()
    response, _ = await inspected.handle(get("/slow"))
    assert response.status == 200
    lines = await inspector.banner_lines(python_handlers=True)
    assert lines[2:] == [f"    {where}  debugpy on 127.0.0.1:{port}",
                         f"      attach VS Code (Python Debugger: Remote Attach) to 127.0.0.1:{port}"]


def test_debugpy_is_asked_of_a_worker_like_child() -> None:
    try:
        import debugpy  # noqa: F401
    except ImportError:
        assert inspector_module.debugpy_available() is False
    else:
        assert inspector_module.debugpy_available() is True


def test_a_port_in_use_is_skipped() -> None:
    import socket

    from edgesim.lambda_edge.workers import WorkerSpec

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        inspector = Inspector(busy)
        spec = WorkerSpec(language="node", path=Path("/h.js"), function="handler", runtime="nodejs20.x",
                          name="h", memory=128)
        port = inspector.port_for(spec)
        assert port is not None and port > busy and inspector.skipped[0] == busy
        assert inspector.port_for(spec) == port  # kept for the handler


@pytest.mark.parametrize("lang", ["node"], indirect=True)  # the Node inspector
async def test_a_handler_paused_at_a_breakpoint_is_not_killed(inspected: Simulator, inspector: Inspector,
                                                              lang: str) -> None:
    """A debugger (the Chrome DevTools protocol, as chrome://inspect and VS Code speak it) sets a
    breakpoint in the handler, holds it there past its 1 s limit, and resumes: the viewer gets 200."""
    import aiohttp

    port = next(iter(inspector.ports))
    ws_url = node_inspector_url(port)
    assert ws_url is not None
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url) as ws:
        ids = iter(range(1, 1000))

        async def call(method: str, **params: Any) -> None:
            await ws.send_json({"id": next(ids), "method": method, "params": params})

        async def until(key: str, value: Any) -> None:
            async for message in ws:
                if json.loads(message.data).get(key) == value:
                    return
            raise AssertionError(f"the inspector's socket closed before a message with {key} = {value!r}")

        await call("Debugger.enable")
        # Line 3 (0-based 2) of slow.js: `if (request.uri === '/slow') ...`
        await call("Debugger.setBreakpointByUrl", lineNumber=2, urlRegex=r"slow\.js$")
        # The breakpoint is set once the inspector answers (id 2); sent without waiting, a loaded
        # machine could run the handler first, and the pause below would never come.
        await asyncio.wait_for(until("id", 2), 30)
        request = asyncio.create_task(inspected.handle(get("/page")))
        await asyncio.wait_for(until("method", "Debugger.paused"), 30)
        await asyncio.sleep(1.5)  # paused, past the handler's 1 s timeout
        assert not request.done()
        await call("Debugger.resume")
        response, trace = await asyncio.wait_for(request, 10)
    assert response.status == 200, trace.render()
    assert trace.triggers[0].duration_ms >= 1500
