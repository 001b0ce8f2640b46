"""CPU per request of `edgesim serve` under wrk: its main thread, and its workers, per checkout.

Serves one scenario of benchmarks/edgesim_configs.py (lambda_python by default: Lambda@Edge on
origin-request and origin-response, cache off) from this checkout and from `--compare`, in
alternating rounds against one nginx origin, and reports requests/s and CPU microseconds per
request: the server's main thread (the event loop, which bounds throughput), its other threads, and
its descendants (the workers), from /proc, and how often the main thread was preempted. CPU per request is what to compare on a shared machine;
requests/s is shown for reference.

    python -m benchmarks.serve_cpu --compare /work/main [--scenario lambda_node] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.edgesim_configs import SCENARIOS, write_scenario
from benchmarks.load import LoadGenerator
from benchmarks.processes import descendants
from benchmarks.stacks import REPO, start_edgesim, start_origin


def _ns(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except OSError:
        return 0


def _cpu(pid: int) -> dict[str, int]:
    """Run time (ns) of pid's main thread, its other threads, and all its descendants' threads."""
    tasks = os.listdir(f"/proc/{pid}/task")
    main = _ns(f"/proc/{pid}/task/{pid}/schedstat")
    threads = sum(_ns(f"/proc/{pid}/task/{t}/schedstat") for t in tasks if t != str(pid))
    kids = 0
    for kid in descendants(pid):
        try:
            kid_tasks = os.listdir(f"/proc/{kid}/task")
        except OSError:
            continue
        kids += sum(_ns(f"/proc/{kid}/task/{t}/schedstat") for t in kid_tasks)
    switches = 0
    try:
        with open(f"/proc/{pid}/task/{pid}/status") as f:
            switches = sum(int(line.split()[1]) for line in f if line.startswith("nonvoluntary_ctxt_switches"))
    except OSError:
        pass
    return {"main": main, "threads": threads, "workers": kids, "preempted": switches}


def _round(config: Path, source: Path, load: LoadGenerator, connections: int, seconds: float) -> dict[str, float]:
    with start_edgesim(config, source) as server:
        load.run(server.url + "/", connections, 1.0)  # warm up: every worker started and hot
        before = _cpu(server.pid)
        result = load.run(server.url + "/", connections, seconds)
        after = _cpu(server.pid)
    if result.errors:
        raise SystemExit(f"{source}: {result.errors} errors under load")
    per = {k: (after[k] - before[k]) / result.requests / 1000 for k in before}
    return {"rps": result.rps, "main_us": per["main"], "threads_us": per["threads"], "workers_us": per["workers"],
            # times the event loop was preempted, per 100 requests
            "preempted_per_100": per["preempted"] * 1000 * 100}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="lambda_python", choices=sorted(SCENARIOS))
    parser.add_argument("--compare", type=Path, help="another checkout, measured in alternating rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    sources = {"this": REPO} | ({"compare": args.compare.resolve()} if args.compare else {})
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in sources}
    load = LoadGenerator()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        origin, _ = start_origin(work)
        with origin:
            config = write_scenario(work, args.scenario, origin.url)
            for i in range(args.rounds):
                for name, source in list(sources.items())[:: 1 if i % 2 == 0 else -1]:
                    runs[name].append(_round(config, source, load, args.connections, args.seconds))
    report: dict[str, Any] = {"scenario": args.scenario, "load": load.name}
    for name, results in runs.items():
        report[f"{name} ({sources[name]})"] = {
            **{k: round(statistics.median(r[k] for r in results), 1) for k in results[0]},
            "rounds": [" ".join(f"{k}={v:.0f}" for k, v in r.items()) for r in results]}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
