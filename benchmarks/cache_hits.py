"""Cache-hit throughput against cache-miss throughput, in one run, in-process through the ASGI app.

A hit must not touch the origin nor any origin trigger; the report counts both. Requests enter the
EdgeApp through its ASGI interface (as uvicorn calls it). The origin is a small ASGI app reached
through httpx, as an HTTP origin is, and the behavior has a pass-through origin-request function at
the runtime seam, so a miss pays for the origin side a real one pays for.

Misses and hits are measured in alternating rounds, in this process's CPU time (every thread), and
`hit_over_miss` is the median of the rounds' ratios: one miss phase then one hit phase, timed by
the wall clock, put the same code anywhere from 3.0 to 4.2 on this shared machine.

    python -m benchmarks.cache_hits          # full run
    python -m benchmarks.cache_hits --quick  # a few hundred requests
"""

from __future__ import annotations

import asyncio
import json
import statistics
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


ROUNDS = 6


async def _measure(app: EdgeApp, paths: list[str]) -> tuple[float, list[str]]:
    """CPU seconds (all threads) for `paths` in turn, and each answer's X-Cache."""
    started = time.process_time()
    x_cache = [(await asgi_get(app, p))[1][b"x-cache"].decode() for p in paths]
    return time.process_time() - started, x_cache


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
            per_round = max(1, n // ROUNDS)
            miss_s: list[float] = []
            hit_s: list[float] = []
            miss_x: list[str] = []
            hit_x: list[str] = []
            origin_on_hits = triggers_on_hits = 0
            for _ in range(ROUNDS):
                seconds, x_cache = await _measure(app, [f"/miss/{i % 20}" for i in range(per_round)])
                miss_s.append(seconds)
                miss_x += x_cache
                before = (counter["requests"], function.calls)
                seconds, x_cache = await _measure(app, [warm[i % 20] for i in range(per_round)])
                hit_s.append(seconds)
                hit_x += x_cache
                origin_on_hits += counter["requests"] - before[0]
                triggers_on_hits += function.calls - before[1]
    total = per_round * ROUNDS
    return {
        "benchmark": "cache_hits",
        "requests_per_phase": total,
        "rounds": ROUNDS,
        "body_bytes": len(BODY),
        # Requests per CPU-second of this process (every thread), over all rounds.
        "hit_rps": round(total / sum(hit_s), 1),
        "miss_rps": round(total / sum(miss_s), 1),
        "hit_over_miss": round(statistics.median(m / h for m, h in zip(miss_s, hit_s)), 2),
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
