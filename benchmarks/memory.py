"""Peak RSS of edgesim serving ten CloudFront Functions and four Lambda@Edge functions, and of each worker.

Read from /proc: VmHWM is the kernel's own high-water mark of a process's resident set, so no
sampling can miss the peak. Every behavior is requested a few times first, so lazily started
functions and workers are up and have served before the figures are read.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.edgesim_configs import write_memory_scenario
from benchmarks.processes import descendants, memory_of
from benchmarks.stacks import start_edgesim

SCENARIO = ("edgesim serving 5 behaviors with 10 CloudFront Functions (viewer-request and viewer-response "
            "on each) and 4 Lambda@Edge functions (Python and Node, origin-request and origin-response), "
            "after serving every behavior.")


def _role(cmd: str) -> str:
    if "read -r op group" in cmd:  # lifeline.py's script (the command line may come cut short)
        return "worker lifeline (sh, edgesim/lambda_edge/lifeline.py)"
    if "node" in cmd.split(" ")[0] or ".js" in cmd:
        return "Lambda@Edge worker (node)"
    if "python" in cmd.split(" ")[0] or ".py" in cmd:
        return "Lambda@Edge worker (python)"
    return " ".join(cmd.split())[:80]  # one line, whatever the command line holds


def measure(work: Path, origin_url: str, requests_per_path: int = 20) -> dict[str, Any]:
    config, paths = write_memory_scenario(work, origin_url)
    with start_edgesim(config) as service:
        for path in paths:
            for _ in range(requests_per_path):
                with urllib.request.urlopen(service.url + path, timeout=10) as answer:
                    answer.read()
        main = {**memory_of(service.pid), "role": "edgesim (server, 10 CloudFront Functions in V8)"}
        workers = [{**m, "role": _role(str(m["cmd"]))} for m in map(memory_of, descendants(service.pid))]
    processes = [main, *workers]
    peaks = [p["peak_rss_mb"] for p in processes if isinstance(p["peak_rss_mb"], (int, float))]
    return {"scenario": SCENARIO, "processes": processes, "workers": len(workers),
            "total_peak_rss_mb": round(sum(peaks), 1)}
