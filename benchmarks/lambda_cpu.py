"""CPU per Lambda@Edge invocation, in edgesim's process and in its warm workers.

Runs the benchmark's origin-request and origin-response handlers (benchmarks/functions) through
`LambdaEdgeRuntime` in-process on uvloop (as `edgesim serve` runs), `--concurrency` requests at a time as a loaded server would, and
reports CPU microseconds per invocation: the parent's and the workers' (every thread's schedstat
run time, so Node's helper threads count too). CPU, not wall time, because the
machine is shared and wall time is noise (issue 6).

    python -m benchmarks.lambda_cpu [--lang python|node] [-n INVOCATIONS] [--concurrency 8] [--runs 3]

An A/B against another checkout (its edgesim and its shims), both running at once so that machine
load hits both alike, the median of each pair's ratio the result:

    python -m benchmarks.lambda_cpu --compare /work/main --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from edgesim.config import CustomOrigin, DefaultCacheBehavior, DistributionSettings, LambdaFunctionAssociation
from edgesim.lambda_edge import LambdaEdgeRuntime
from edgesim.messages import EventType, Headers, Request, Response
from edgesim.runtime import TriggerCall

FUNCTIONS = Path(__file__).resolve().parent / "functions"
ORIGIN = CustomOrigin(id="fast", url="http://localhost:8081")
OR, ORS = EventType.ORIGIN_REQUEST, EventType.ORIGIN_RESPONSE


def _request() -> Request:
    # What wrk's GET looks like at origin-request under CachingDisabled: the viewer's few headers,
    # CloudFront's Via and X-Forwarded-For, and a hidden X-Amz-Cf-Id.
    return Request("GET", "/index.html", "", Headers([
        ("Host", "localhost:8081"), ("User-Agent", "wrk"), ("Via", "1.1 abcdef.cloudfront.net (CloudFront)"),
        ("X-Forwarded-For", "127.0.0.1"), ("X-Amz-Cf-Id", "abc==")]), client_ip="127.0.0.1", origin=ORIGIN)


def _response() -> Response:
    return Response(200, Headers([
        ("Server", "nginx/1.22.1"), ("Date", "Sun, 29 Nov 2026 00:00:00 GMT"), ("Content-Type", "text/html"),
        ("Content-Length", "612"), ("Last-Modified", "Sun, 29 Nov 2026 00:00:00 GMT"), ("Connection", "keep-alive"),
        ("ETag", '"6537cac7-264"'), ("Accept-Ranges", "bytes")]), b"x" * 612)


SETTINGS = DistributionSettings()
BEHAVIOR = DefaultCacheBehavior(target_origin="fast")


def _call(event_type: EventType) -> TriggerCall:
    # Fresh request and response per call, as the pipeline copies them per trigger.
    return TriggerCall(event_type, _request(), "abc==", SETTINGS, BEHAVIOR,  # type: ignore[arg-type]
                       {"fast": ORIGIN}, response=_response() if event_type is ORS else None)


def _assoc(file: str) -> LambdaFunctionAssociation:
    return LambdaFunctionAssociation.model_validate({"lambda": f"{file}:handler"}, context={"base_dir": FUNCTIONS})


def _worker_pids(runtime: LambdaEdgeRuntime) -> list[int]:
    # Internals on purpose: this is a measuring tool, and the pids are nowhere public.
    return [w._proc.pid for pool in runtime._pools.values() for w in pool._all if w._proc is not None]


def _task_cpu_ns(pid: int) -> int:
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


async def one_run(lang: str, n: int, concurrency: int) -> dict[str, float]:
    ext = "py" if lang == "python" else "js"
    async with LambdaEdgeRuntime(DistributionSettings()) as runtime:
        req_fn = runtime.function(_assoc(f"origin_request.{ext}"), OR)
        res_fn = runtime.function(_assoc(f"origin_response.{ext}"), ORS)

        async def pair() -> None:
            result = await req_fn.invoke(_call(OR))
            assert result.request is not None
            result = await res_fn.invoke(_call(ORS))
            assert result.response is not None

        # The handlers ran: their headers are there.
        first = await req_fn.invoke(_call(OR))
        assert first.request is not None and "x-bench-origin-request" in first.request.headers
        second = await res_fn.invoke(_call(ORS))
        assert second.response is not None and "x-bench-origin-response" in second.response.headers

        async def loop(pairs: int) -> None:
            for _ in range(pairs):
                await pair()

        # Warm every worker the concurrency needs, and the interpreter's caches.
        await asyncio.gather(*(loop(20) for _ in range(concurrency)))
        pids = _worker_pids(runtime)
        workers_before = sum(_task_cpu_ns(p) for p in pids)
        parent_before, times_before, wall_before = _task_cpu_ns(os.getpid()), os.times(), time.perf_counter()
        pairs = n // 2 // concurrency
        await asyncio.gather(*(loop(pairs) for _ in range(concurrency)))
        parent = (_task_cpu_ns(os.getpid()) - parent_before) / 1e9
        system = os.times().system - times_before.system  # clock ticks: a rough split only
        wall = time.perf_counter() - wall_before
        assert _worker_pids(runtime) == pids, "a worker was replaced mid-run"
        workers = (sum(_task_cpu_ns(p) for p in pids) - workers_before) / 1e9
    invocations = pairs * concurrency * 2
    return {"parent_us": parent / invocations * 1e6, "parent_sys_us": system / invocations * 1e6,
            "worker_us": workers / invocations * 1e6,
            "wall_us": wall / invocations * 1e6, "workers": len(pids)}


def _run(coro: Any) -> Any:
    """On uvloop when installed, as `edgesim serve` runs (edgesim.event_loop.run_event_loop)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}
    # The least CPU a run took is the least disturbed by the other processes on the machine.
    out["parent_min_us"] = round(min(r["parent_us"] for r in runs), 1)
    out["worker_min_us"] = round(min(r["worker_us"] for r in runs), 1)
    out["runs"] = [f"parent {r['parent_us']:.0f} worker {r['worker_us']:.0f}" for r in runs]
    return out


def _start_in(source: Path, lang: str, n: int, concurrency: int) -> subprocess.Popen[str]:
    """One run with `source`'s edgesim (and so its shims) first on sys.path, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(source), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen([sys.executable, __file__, "--one", "--lang", lang, "-n", str(n),
                             "--concurrency", str(concurrency)], env=env, stdout=subprocess.PIPE, text=True, cwd="/")


def _compare(here: Path, other: Path, lang: str, n: int, concurrency: int, runs: int) -> dict[str, Any]:
    """Both checkouts at the same time, so that whatever else loads the machine loads both alike;
    each pair's ratio is the measure, its median the result."""
    results: dict[str, list[dict[str, float]]] = {"this": [], "compare": []}
    for i in range(runs):
        order = [("this", here), ("compare", other)][:: 1 if i % 2 else -1]
        procs = [(name, _start_in(source, lang, n, concurrency)) for name, source in order]
        for name, proc in procs:
            out, _ = proc.communicate()
            if proc.returncode:
                raise SystemExit(f"{name} run failed")
            results[name].append(json.loads(out))
    ratio = {k: round(statistics.median(a[k] / b[k] for a, b in zip(results["this"], results["compare"])), 3)
             for k in ("parent_us", "worker_us")}
    return {"this/compare (median of pairs)": ratio, f"this ({here})": _summary(results["this"]),
            f"compare ({other})": _summary(results["compare"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=["python", "node"], action="append")
    parser.add_argument("-n", type=int, default=4000, help="invocations per run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="another checkout to run alongside this one")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    langs = args.lang or ["python", "node"]
    if args.one:
        print(json.dumps(_run(one_run(langs[0], args.n, args.concurrency))))
        return
    report: dict[str, Any] = {}
    here = Path(__file__).resolve().parent.parent
    for lang in langs:
        if args.compare is None:
            report[lang] = _summary([_run(one_run(lang, args.n, args.concurrency)) for _ in range(args.runs)])
            continue
        report[lang] = _compare(here, args.compare.resolve(), lang, args.n, args.concurrency, args.runs)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
