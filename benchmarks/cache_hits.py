"""Cache-hit throughput against cache-miss throughput, in one run, in-process through the ASGI app.

A hit must not touch the origin nor any origin trigger; the report counts both. Requests enter the
EdgeApp through its ASGI interface (as uvicorn calls it). The origin is a small ASGI app reached
through httpx, as an HTTP origin is, and the behavior has a pass-through origin-request function at
the runtime seam, so a miss pays for the origin side a real one pays for.

    python -m benchmarks.cache_hits          # full run
    python -m benchmarks.cache_hits --quick  # a few hundred requests
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx

from edgesim.app import EdgeApp
from edgesim.config import DistributionSettings, parse_config
from edgesim.messages import EventType
from edgesim.runtime import EdgeFunction, FunctionKind, TriggerCall, TriggerResult
from edgesim.simulator import Simulator

BODY = b"x" * 16_384


class CountingFunction:
    """A pass-through origin-request function that counts its invocations."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kind: FunctionKind = "lambda"
        self.calls = 0

    async def invoke(self, call: TriggerCall) -> TriggerResult:
        self.calls += 1
        return TriggerResult(request=call.request)

    async def aclose(self) -> None:
        return None


class Loader:
    def __init__(self, function: CountingFunction) -> None:
        self.function = function

    async def load(self, assoc: Any, event_type: EventType, settings: DistributionSettings) -> EdgeFunction:
        return self.function

    async def aclose(self) -> None:
        return None


def origin(counter: dict[str, int]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        counter["requests"] += 1
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/octet-stream"), (b"cache-control", b"max-age=3600"),
            (b"content-length", str(len(BODY)).encode())]})
        await send({"type": "http.response.body", "body": BODY})
    return app


async def asgi_get(app: EdgeApp, path: str) -> tuple[int, dict[bytes, bytes]]:
    """One GET straight through the ASGI interface, as uvicorn would call it, without an HTTP
    client's own cost in the measurement."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"d111111abcdef8.cloudfront.net"), (b"user-agent", b"bench"),
                         (b"accept-encoding", b"gzip, br")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    # Names as edgesim sends them (their own case, server.py): compared lowercase here.
    return sent[0]["status"], {name.lower(): value for name, value in sent[0]["headers"]}


async def _measure(app: EdgeApp, paths: list[str]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    x_cache = [(await asgi_get(app, p))[1][b"x-cache"].decode() for p in paths]
    return time.perf_counter() - started, x_cache


async def _run(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "oreq.py").write_text("def handler(event, context):\n    return event['Records'][0]['cf']['request']\n")
        functions = {"origin-request": {"lambda": "oreq.py:handler"}}
        config = parse_config({
            "origins": [{"id": "app", "url": "http://app.internal"}],
            "default_cache_behavior": {"target_origin": "app", "cache_policy": "CachingOptimized", "functions": functions},
            "cache_behaviors": [{"path_pattern": "/miss/*", "target_origin": "app", "cache_policy": "CachingDisabled",
                                 "functions": functions}],
        }, base_dir=Path(tmp))
        counter = {"requests": 0}
        function = CountingFunction("oreq")
        simulator = Simulator(config, transports={"app": httpx.ASGITransport(app=origin(counter))},
                              loader_factory=lambda: Loader(function))
        async with simulator:
            app = EdgeApp(simulator)
            warm = [f"/hit/{i}" for i in range(20)]
            await _measure(app, warm + [f"/miss/{i}" for i in range(20)])  # warm up, fill the hit set
            miss_s, miss_x = await _measure(app, [f"/miss/{i % 20}" for i in range(n)])
            before = (counter["requests"], function.calls)
            hit_s, hit_x = await _measure(app, [warm[i % 20] for i in range(n)])
            origin_on_hits = counter["requests"] - before[0]
            triggers_on_hits = function.calls - before[1]
    hit_rps, miss_rps = n / hit_s, n / miss_s
    return {
        "benchmark": "cache_hits",
        "requests_per_phase": n,
        "body_bytes": len(BODY),
        "hit_rps": round(hit_rps, 1),
        "miss_rps": round(miss_rps, 1),
        "hit_over_miss": round(hit_rps / miss_rps, 2),
        "target_hit_over_miss": 3.0,
        "all_hits": all(x == "Hit from cloudfront" for x in hit_x),
        "all_misses": all(x == "Miss from cloudfront" for x in miss_x),
        "origin_requests_during_hits": origin_on_hits,
        "origin_triggers_during_hits": triggers_on_hits,
    }


def run(quick: bool) -> dict[str, Any]:
    return asyncio.run(_run(300 if quick else 3000))


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2))
