"""CPU time one CloudFront Function call costs inside the pipeline, per thread (issue 6).

Runs the distribution `python -m benchmarks --only cff` serves (benchmarks/functions/viewer_request.js
and viewer_response.js, cache off) in-process through `Simulator.handle`, against a stub origin, and
the same distribution without functions. CPU is read per thread from /proc, so the event loop's
thread (where edgesim's Python runs) and V8's threads are apart; wall-clock figures on a shared
machine mislead, CPU time much less so.

    python -m benchmarks.cff_cpu                            # this checkout
    python -m benchmarks.cff_cpu --compare /work/main       # A/B, alternating, --rounds times
    python -m benchmarks.cff_cpu --serve --compare /work/main   # `edgesim serve` under wrk instead

per_call_main_us: (event loop thread CPU per request with the two functions - without) / 2.
per_call_v8_us: the same for every other thread (V8's own).
--serve: each checkout's `edgesim serve` (cff, then passthrough) in front of the benchmark's nginx
origin under wrk at --concurrency connections for --seconds, CPU from /proc/PID/task.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FUNCTIONS = HERE / "functions"
BODY = b"<!doctype html><title>edgesim bench</title><p>" + b"x" * 512 + b"</p>\n"
TICK = os.sysconf("SC_CLK_TCK")


def _threads_cpu(pid: int | str = "self") -> dict[int, float]:
    """CPU seconds (user + system) of each thread of process `pid`."""
    out: dict[int, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def _config(directory: Path, with_functions: bool) -> Path:
    lines = ["[[origins]]", 'id = "fast"', 'url = "http://127.0.0.1:9"', "", "[default_cache_behavior]",
             'target_origin = "fast"', 'cache_policy = "CachingDisabled"']
    if with_functions:
        for event, file in (("viewer-request", "viewer_request.js"), ("viewer-response", "viewer_response.js")):
            quoted = json.dumps(str(FUNCTIONS / file))  # a JSON string is a valid TOML basic string
            lines.append(f'functions.{event} = {{ cloudfront_function = {quoted}, runtime = "cloudfront-js-2.0" }}')
    path = directory / ("cff.toml" if with_functions else "passthrough.toml")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _measure(config: Path, requests: int, concurrency: int) -> tuple[float, float, float]:
    """(event loop thread CPU µs, other threads' CPU µs, requests per second), per request."""
    import httpx

    from edgesim.config import load_config
    from edgesim.messages import Headers, Request
    from edgesim.simulator import Simulator

    def origin(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "text/html", "Cache-Control": "max-age=3600",
                                            "ETag": '"abc"', "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"},
                              content=BODY)

    def viewer() -> Request:  # what wrk sends
        return Request(method="GET", uri="/", headers=Headers([("Host", "127.0.0.1:8080")]))

    async with Simulator(load_config(config), transports={"fast": httpx.MockTransport(origin)}, cache=False) as sim:
        for _ in range(300):  # warm: V8's optimising compiler, caches
            await sim.handle(viewer())

        async def worker(n: int) -> None:
            for _ in range(n):
                response, _trace = await sim.handle(viewer())
                assert response.status == 200, response.status

        loop_thread = threading.get_native_id()
        before, wall = _threads_cpu(), time.perf_counter()
        await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
        after, wall = _threads_cpu(), time.perf_counter() - wall
    done = requests // concurrency * concurrency
    main = after.get(loop_thread, 0.0) - before.get(loop_thread, 0.0)
    other = sum(cpu - before.get(tid, 0.0) for tid, cpu in after.items() if tid != loop_thread)
    return main / done * 1e6, other / done * 1e6, done / wall


def measure(requests: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        bare = asyncio.run(_measure(_config(Path(tmp), False), requests, concurrency))
        cff = asyncio.run(_measure(_config(Path(tmp), True), requests, concurrency))
    return {
        "passthrough_main_us": round(bare[0], 1), "cff_main_us": round(cff[0], 1),
        "per_call_main_us": round((cff[0] - bare[0]) / 2, 1), "per_call_v8_us": round((cff[1] - bare[1]) / 2, 1),
        "passthrough_rps": round(bare[2]), "cff_rps": round(cff[2]),
    }


def serve(sources: dict[str, Path], rounds: int, connections: int, seconds: float) -> dict[str, list[dict[str, Any]]]:
    """`edgesim serve` from each checkout in turn under wrk; per request CPU of its threads."""
    from benchmarks.edgesim_configs import write_scenario
    from benchmarks.load import _run_wrk
    from benchmarks.stacks import start_edgesim, start_origin

    wrk = "wrk"
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
    with tempfile.TemporaryDirectory() as tmp:
        origin, _kind = start_origin(Path(tmp) / "origin")
        with origin:
            configs = {scenario: write_scenario(Path(tmp), scenario, origin.url) for scenario in ("cff", "passthrough")}
            for round_ in range(rounds):
                order = list(sources.items()) if round_ % 2 == 0 else list(reversed(sources.items()))
                for name, source in order:
                    row: dict[str, Any] = {}
                    for scenario, config in configs.items():
                        with start_edgesim(config, source=source) as server:
                            pid = server.pid  # the event loop's thread has the process's id
                            _run_wrk(wrk, server.url + "/", connections, 2)  # warm
                            before = _threads_cpu(pid)
                            load = _run_wrk(wrk, server.url + "/", connections, seconds)
                            after = _threads_cpu(pid)
                        if load.errors:  # e.g. the origin answering 404: not the request path meant
                            raise SystemExit(f"{source} ({scenario}): {load.errors} errors or non-2xx answers under load")
                        served = load.rps * round(seconds)
                        main = after.get(pid, 0.0) - before.get(pid, 0.0)
                        other = sum(cpu - before.get(tid, 0.0) for tid, cpu in after.items() if tid != pid)
                        row[f"{scenario}_rps"] = round(load.rps)
                        row[f"{scenario}_main_us"] = round(main / served * 1e6, 1)
                        row[f"{scenario}_other_us"] = round(other / served * 1e6, 1)
                    row["per_call_main_us"] = round((row["cff_main_us"] - row["passthrough_main_us"]) / 2, 1)
                    row["per_call_v8_us"] = round((row["cff_other_us"] - row["passthrough_other_us"]) / 2, 1)
                    rows[name].append(row)
                    print(name, json.dumps(row), flush=True)
    return rows


def _child(source: Path, requests: int, concurrency: int) -> dict[str, Any]:
    """One measurement in a fresh interpreter with the edgesim of `source` first on sys.path."""
    env = dict(os.environ, PYTHONPATH=str(source), PYTHONDONTWRITEBYTECODE="1")
    # This file by path: the other checkout may not have it.
    argv = [sys.executable, str(Path(__file__).resolve()), "--requests", str(requests), "--concurrency", str(concurrency)]
    done = subprocess.run(argv, cwd=source, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--compare", type=Path, help="another checkout to run alternately with this one")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help="measure `edgesim serve` under wrk")
    parser.add_argument("--seconds", type=float, default=8.0, help="wrk's duration per run (--serve)")
    args = parser.parse_args()
    if args.serve:
        sources = {"this": HERE.parent} | ({"other": args.compare.resolve()} if args.compare else {})
        runs = serve(sources, args.rounds, args.concurrency, args.seconds)
        for name, source in sources.items():
            medians = {key: statistics.median(row[key] for row in runs[name]) for key in runs[name][0]}
            print(f"{name} ({source}) median of {args.rounds}: {json.dumps(medians)}")
        return
    if args.compare is None:
        print(json.dumps(measure(args.requests, args.concurrency)))
        return
    trees = {"this": HERE.parent, "other": args.compare.resolve()}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for round_ in range(args.rounds):
        order = list(trees.items()) if round_ % 2 == 0 else list(reversed(trees.items()))
        for name, source in order:  # alternating, so drift in the machine's load hits both alike
            row = _child(source, args.requests, args.concurrency)
            rows[name].append(row)
            print(name, json.dumps(row), flush=True)
    for name, source in trees.items():
        medians = {key: statistics.median(row[key] for row in rows[name]) for key in rows[name][0]}
        print(f"{name} ({source}) median of {args.rounds}: {json.dumps(medians)}")


if __name__ == "__main__":
    main()
