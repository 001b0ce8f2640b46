"""Lambda@Edge invocation cost, as ratios against the bare floor measured in the same run.

Measured on the loop `edgesim serve` runs on (uvloop when installed; the pytest plugin's clients
too), and again on asyncio's own loop, the one `edgesim.testing.Distribution` gets in a program on
asyncio (`asyncio_loop` in the report).

- warm: median of one viewer-request through `EdgeFunction.invoke` on a warm worker (event built,
  sent, handler run, result validated and applied) against a bare JSON-lines round trip of the same
  event to the same interpreter (a loop that parses and re-serialises each line). Target <= 2x.
  The bare floor is taken twice: with a blocking parent (`warm_ratio`), and with the parent waiting
  in an asyncio event loop as edgesim's server must (`warm_ratio_event_loop`). The three are
  measured in interleaved rounds of 50, so machine load hits them alike.
- one_core: the warm figures again with this process, its workers and the floor's echo on one core
  (Linux): across cores a round trip also pays for waking the other core, which on a virtual machine
  can outweigh what is measured, and pays it unevenly (the bare floor more than edgesim's worker).
- cold: median of a first invocation on a fresh runtime (spawn, import, ready, invoke) against the
  bare interpreter starting and importing the same handler module. Target <= 2x.

    python -m benchmarks.lambda_invoke [--quick]
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgesim.config import CustomOrigin, DefaultCacheBehavior, DistributionSettings, LambdaFunctionAssociation
from edgesim.lambda_edge import LambdaEdgeRuntime
from edgesim.lambda_edge.event import build_cf
from edgesim.lambda_edge.signal_guard import spawn_guarded
from edgesim.messages import EventType, Headers, Request
from edgesim.runtime import TriggerCall
from edgesim.event_loop import event_loop_factory

TARGET = 2.0
# The bare floors run with the environment edgesim gives its workers (none of the shell's), so both
# sides start alike: e.g. NODE_EXTRA_CA_CERTS in a shell adds ~100 ms to every bare node start.
BARE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC"}
VR = EventType.VIEWER_REQUEST
ORIGIN = CustomOrigin(id="site", url="https://example.org")

HANDLERS = {
    "python": ("edge.py", "def handler(event, context):\n    return event['Records'][0]['cf']['request']\n"),
    "node": ("edge.js", "exports.handler = async (event) => event.Records[0].cf.request;\n"),
}
# The floor: parse each line and write it back, nothing else.
ECHO = {
    "python": ("echo.py", "import json, sys\nfor line in sys.stdin:\n"
                          "    sys.stdout.write(json.dumps(json.loads(line)) + '\\n')\n    sys.stdout.flush()\n"),
    "node": ("echo.js", "const rl = require('readline').createInterface({ input: process.stdin });\n"
                        "rl.on('line', (l) => process.stdout.write(JSON.stringify(JSON.parse(l)) + '\\n'));\n"),
}


def _call() -> TriggerCall:
    request = Request("GET", "/index.html", "a=1", Headers([("Host", "d111111abcdef8.cloudfront.net"),
                                                              ("User-Agent", "curl/8.4.0"), ("Accept", "*/*")]),
                      client_ip="203.0.113.10", origin=ORIGIN)
    return TriggerCall(VR, request, "bench==", DistributionSettings(),
                       DefaultCacheBehavior(target_origin="site"),  # type: ignore[arg-type]
                       {"site": ORIGIN})


def _interpreter(lang: str) -> list[str]:
    node = shutil.which("node")
    if lang == "node" and node is None:
        raise SystemExit("node is not on PATH")
    # Python with -S, as edgesim starts its workers (workers.interpreter_argv: no site module, so no
    # site-packages scan), so the bare start is not slower than edgesim's for a reason of its own.
    return [sys.executable, "-S"] if lang == "python" else [str(node)]


def _assoc(folder: Path, lang: str) -> LambdaFunctionAssociation:
    name, source = HANDLERS[lang]
    (folder / name).write_text(source)
    return LambdaFunctionAssociation.model_validate({"lambda": f"{name}:handler"}, context={"base_dir": folder})


class _Echo:
    """The floor: the same interpreter parsing and re-serialising each JSON line on a pipe."""

    def __init__(self, folder: Path, lang: str) -> None:
        name, source = ECHO[lang]
        (folder / name).write_text(source)
        # Started as edgesim starts its workers (signal_guard.spawn_guarded: from the same thread,
        # under the same seccomp filter), so the two differ only in what edgesim does per invocation.
        self.proc = spawn_guarded([*_interpreter(lang), str(folder / name)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, env=BARE_ENV)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout

    def blocking(self, line: bytes) -> None:
        self.stdin.write(line)
        self.stdin.flush()
        json.loads(self.stdout.readline())

    async def on_event_loop(self, line: bytes) -> None:
        # The same round trip with the parent waiting in the event loop, as any async server must.
        # Raw reads: a loop may make the pipe non-blocking while it watches it (uvloop does), which
        # a buffered readline cannot take; blocking mode is restored for blocking().
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bytes] = loop.create_future()
        fd = self.stdout.fileno()
        got = bytearray()

        def readable() -> None:
            got.extend(os.read(fd, 65536))
            if got.endswith(b"\n") and not done.done():
                done.set_result(bytes(got))

        loop.add_reader(fd, readable)
        try:
            self.stdin.write(line)
            self.stdin.flush()
            json.loads(await done)
        finally:
            loop.remove_reader(fd)
            os.set_blocking(fd, True)

    def close(self) -> None:
        self.stdin.close()
        self.proc.wait()


async def warm_us(folder: Path, lang: str, n: int) -> dict[str, float]:
    """Medians of the three, measured in interleaved rounds so machine load hits them alike."""
    line = (json.dumps({"Records": [{"cf": dict(build_cf(_call(), include_body=False))}]}) + "\n").encode()
    echo = _Echo(folder, lang)
    samples: dict[str, list[float]] = {"bare": [], "bare_event_loop": [], "edgesim": []}
    try:
        async with LambdaEdgeRuntime(DistributionSettings()) as runtime:
            fn = runtime.function(_assoc(folder, lang), VR)
            call = _call()
            await fn.invoke(call)  # start the worker; cold starts are measured apart
            for _ in range(max(1, n // 50)):
                for _ in range(50):
                    started = time.perf_counter()
                    echo.blocking(line)
                    samples["bare"].append(time.perf_counter() - started)
                for _ in range(50):
                    started = time.perf_counter()
                    await echo.on_event_loop(line)
                    samples["bare_event_loop"].append(time.perf_counter() - started)
                for _ in range(50):
                    started = time.perf_counter()
                    result = await fn.invoke(call)
                    samples["edgesim"].append(time.perf_counter() - started)
                    assert result.request is not None
    finally:
        echo.close()
    return {k: statistics.median(v) * 1e6 for k, v in samples.items()}


def bare_start_ms(folder: Path, lang: str, n: int) -> float:
    """The interpreter starting on a one-line script that imports the handler, until it exits."""
    name = HANDLERS[lang][0]
    script = folder / ("start.py" if lang == "python" else "start.js")
    script.write_text(f"import sys\nsys.path.insert(0, {str(folder)!r})\nimport {Path(name).stem}\n" if lang == "python"
                      else f"require({str(folder / name)!r});\n")
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run([*_interpreter(lang), str(script)], check=True, env=BARE_ENV)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


async def cold_invoke_ms(folder: Path, lang: str, n: int) -> float:
    assoc = _assoc(folder, lang)
    samples = []
    for _ in range(n):
        async with LambdaEdgeRuntime(DistributionSettings()) as runtime:
            started = time.perf_counter()
            result = await runtime.function(assoc, VR).invoke(_call())
            samples.append(time.perf_counter() - started)
            assert result.cold_start
    return statistics.median(samples) * 1000


def _warm_figures(warm: dict[str, float]) -> dict[str, float]:
    return {
        "warm_invoke_us": round(warm["edgesim"], 1),
        "bare_round_trip_us": round(warm["bare"], 1),
        "bare_round_trip_event_loop_us": round(warm["bare_event_loop"], 1),
        "warm_ratio": round(warm["edgesim"] / warm["bare"], 2),
        "warm_ratio_event_loop": round(warm["edgesim"] / warm["bare_event_loop"], 2),
    }


@contextmanager
def _one_core() -> Iterator[bool]:
    """Every thread of this process (and so every process it starts meanwhile) on one core; False
    where that cannot be done. A round trip between cores pays for waking a process on the other one,
    which on a virtual machine can cost more than the work measured: measured on the 2-core machine
    of issue 6, the bare Python echo took 125 µs across cores and 22 µs on one. On one core the
    floor is its own work, and the ratio shows edgesim's."""
    if not hasattr(os, "sched_setaffinity"):
        yield False
        return
    threads = [int(t) for t in os.listdir("/proc/self/task")]
    before = {t: os.sched_getaffinity(t) for t in threads}
    core = {min(os.sched_getaffinity(0))}
    try:
        for t in threads:
            os.sched_setaffinity(t, core)
    except OSError:
        yield False
    else:
        yield True
    finally:
        for t, cpus in before.items():
            try:
                os.sched_setaffinity(t, cpus)
            except OSError:
                pass  # a thread that ended meanwhile


def run(quick: bool) -> dict[str, Any]:
    warm_n, cold_n = (300, 5) if quick else (3000, 25)
    serve_loop = event_loop_factory()
    report: dict[str, Any] = {"target_ratio": TARGET, "loop": "asyncio" if serve_loop is None else "uvloop"}
    with tempfile.TemporaryDirectory() as tmp:
        for lang in ("python", "node"):
            folder = Path(tmp) / lang
            folder.mkdir()
            with asyncio.Runner(loop_factory=serve_loop) as runner:
                warm = runner.run(warm_us(folder, lang, warm_n))
            start = bare_start_ms(folder, lang, cold_n)
            cold = asyncio.run(cold_invoke_ms(folder, lang, cold_n))
            report[lang] = {**_warm_figures(warm), "cold_invoke_ms": round(cold, 1),
                            "bare_start_import_ms": round(start, 1), "cold_ratio": round(cold / start, 2)}
            if serve_loop is not None:  # the same on asyncio's own loop
                report[lang]["asyncio_loop"] = _warm_figures(asyncio.run(warm_us(folder, lang, warm_n)))
            with _one_core() as pinned:  # the same with edgesim, its worker and the floor on one core
                if pinned:
                    with asyncio.Runner(loop_factory=serve_loop) as runner:
                        report[lang]["one_core"] = _warm_figures(runner.run(warm_us(folder, lang, warm_n)))
    return report


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
