"""Run the product micro-benchmarks (benchmarks/cff_invoke.py, lambda_invoke.py, cache_hits.py,
plugin_suite.py).

Each module, written by the engineer who owns that product, exposes `run(quick: bool) -> dict`.
Each runs in a child interpreter of its own, so a crash or a hang in one (V8, a worker) costs its
own entry, never the whole report. A module not on this branch yet is skipped with a note.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.stacks import REPO, edgesim_env

MODULES = ("cff_invoke", "lambda_invoke", "cache_hits", "plugin_suite")
_MARK = "@@benchmark-result@@ "
_CHILD = """
import json, sys
from benchmarks.{name} import run
result = run(quick={quick})
print({mark!r} + json.dumps(result, default=str), flush=True)
"""


def run_module(name: str, quick: bool, timeout: float) -> dict[str, Any]:
    if not (Path(__file__).resolve().parent / f"{name}.py").is_file():
        return {"skipped": f"benchmarks/{name}.py is not on this branch yet"}
    code = _CHILD.format(name=name, quick=quick, mark=_MARK)
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=edgesim_env(), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:g} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(_MARK):
            result = json.loads(line[len(_MARK):])
            return result if isinstance(result, dict) else {"result": result}
    tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
    return {"error": f"exit {done.returncode}: " + " / ".join(tail)}


def run_all(quick: bool) -> dict[str, dict[str, Any]]:
    timeout = 50.0 if quick else 180.0
    return {name: run_module(name, quick, timeout) for name in MODULES}
