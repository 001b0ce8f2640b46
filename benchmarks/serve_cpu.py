"""CPU per request of `edgesim serve` under wrk: its main thread, and its workers, per checkout.

Serves one scenario of benchmarks/edgesim_configs.py (lambda_python by default: Lambda@Edge on
origin-request and origin-response, cache off) from this checkout and from `--compare`, both under
load at the same time (one wrk each) against one nginx origin, so that whatever else loads the
machine loads both alike, and reports requests/s and CPU microseconds per request: the server's main thread (the event loop, which bounds throughput), its other threads, and
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
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
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


def _round(config: Path, sources: dict[str, Path], load: LoadGenerator, connections: int,
           seconds: float) -> dict[str, dict[str, float]]:
    """Every checkout's server under load at the same time (one wrk each), so that whatever else
    runs on the machine weighs on all of them alike."""
    with ExitStack() as stack:
        servers = {name: stack.enter_context(start_edgesim(config, source)) for name, source in sources.items()}
        with ThreadPoolExecutor(len(servers)) as pool:
            # Warm up: every worker started and hot.
            list(pool.map(lambda s: load.run(s.url + "/", connections, 1.0), servers.values()))
            before = {name: _cpu(s.pid) for name, s in servers.items()}
            results = dict(zip(servers, pool.map(lambda s: load.run(s.url + "/", connections, seconds),
                                                 servers.values())))
            after = {name: _cpu(s.pid) for name, s in servers.items()}
    out = {}
    for name, result in results.items():
        if result.errors:
            raise SystemExit(f"{sources[name]}: {result.errors} errors under load")
        per = {k: (after[name][k] - before[name][k]) / result.requests / 1000 for k in before[name]}
        out[name] = {"rps": result.rps, "main_us": per["main"], "threads_us": per["threads"],
                     "workers_us": per["workers"],
                     "preempted_per_100": per["preempted"] * 1000 * 100}  # the event loop preempted
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="lambda_python", choices=sorted(SCENARIOS))
    parser.add_argument("--compare", type=Path, help="another checkout, measured alongside this one")
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
                # Which checkout starts (and is loaded) first alternates: two identical checkouts
                # measured up to 7% apart in CPU per request when one always went first.
                order = dict(reversed(sources.items())) if i % 2 else sources
                for name, result in _round(config, order, load, args.connections, args.seconds).items():
                    runs[name].append(result)
    report: dict[str, Any] = {"scenario": args.scenario, "load": load.name}
    if args.compare:
        report["this/compare (median of rounds)"] = {  # workers_us is 0 where no Lambda@Edge runs
            k: round(statistics.median(a[k] / b[k] for a, b in zip(runs["this"], runs["compare"])), 3)
            for k in ("rps", "main_us", "workers_us") if all(b[k] for b in runs["compare"])}
    for name, results in runs.items():
        report[f"{name} ({sources[name]})"] = {
            **{k: round(statistics.median(r[k] for r in results), 1) for k in results[0]},
            "rounds": [" ".join(f"{k}={v:.0f}" for k, v in r.items()) for r in results]}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
