"""Instructions per request on edgesim's event loop thread, counted by valgrind: an A/B without noise.

CPU time on this kind of shared machine moves ±25-35% between identical runs, which hides the
5-10% a change to the request path makes. An instruction count does not move: this runs one
scenario of benchmarks/edgesim_configs.py in-process through `Simulator.handle` (the path `edgesim
serve` runs, without the HTTP server), against an in-memory origin, on uvloop, --concurrency requests
at a time, under callgrind, and counts the instructions of the event loop's thread only (V8's
threads and Lambda@Edge workers, which run beside it, apart). Two runs, of --requests and of five
times that, after the same warm-up; their difference over the extra requests is the figure, so start
up and warm-up drop out. Instructions are not time (a cache miss costs more than an add), but on
the thread that bounds throughput, fewer of them is what a change to the request path is after.

    python -m benchmarks.instructions --scenario cff                      # this checkout
    python -m benchmarks.instructions --scenario cff --compare /work/base # and another: new/old

Needs valgrind (`apt-get install valgrind`); it takes about a minute per scenario and checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BODY = b"<!doctype html><title>edgesim bench</title><p>" + b"x" * 512 + b"</p>\n"
WARM = 200
_TOTALS = re.compile(rb"^totals:\s+(\d+)", re.MULTILINE)


async def _serve(scenario: str, requests: int, concurrency: int) -> None:
    """The child: WARM requests, then `requests` more, through this interpreter's edgesim."""
    import httpx

    from benchmarks.edgesim_configs import write_scenario
    from edgesim.config import load_config
    from edgesim.messages import Headers, Request
    from edgesim.simulator import Simulator

    def origin(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "text/html", "Cache-Control": "max-age=3600",
                                            "ETag": '"abc"', "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"},
                              content=BODY)

    def viewer() -> Request:  # what wrk sends
        return Request(method="GET", uri="/", headers=Headers([("Host", "127.0.0.1:8080"), ("User-Agent", "wrk")]))

    with tempfile.TemporaryDirectory() as tmp:
        path = write_scenario(Path(tmp), scenario, "http://127.0.0.1:9")
        # Under valgrind V8 runs some fifty times slower: a limit that stops no benchmark function.
        path.write_text(path.read_text() + "\n[distribution]\nfunction_time_limit_ms = 60000\n")
        config = load_config(path)
        cache = config.default_cache_behavior.cache_policy != "CachingDisabled"
        async with Simulator(config, transports={"fast": httpx.MockTransport(origin)}, cache=cache) as sim:
            async def worker(n: int) -> None:
                for _ in range(n):
                    response, _trace = await sim.handle(viewer())
                    assert response.status == 200, response.status

            for count in (WARM, requests):
                await asyncio.gather(*(worker(count // concurrency) for _ in range(concurrency)))


def _count(source: Path, scenario: str, requests: int, concurrency: int) -> int:
    """The event loop thread's instructions for one child run under callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        # PYTHONHASHSEED: set iteration orders, and so the work, repeat from run to run.
        # This file by path, the other checkout's edgesim (and scenarios) first on the path: the
        # other checkout may not have this file.
        env = dict(os.environ, PYTHONPATH=f"{source}{os.pathsep}{HERE.parent}", PYTHONHASHSEED="0",
                   PYTHONDONTWRITEBYTECODE="1")
        argv = ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
                sys.executable, str(Path(__file__).resolve()), "--child", scenario, str(requests), str(concurrency)]
        done = subprocess.run(argv, cwd=source, env=env, capture_output=True)
        if done.returncode != 0:
            raise SystemExit(f"{source} ({scenario}) failed under valgrind:\n{done.stderr.decode(errors='replace')[-2000:]}")
        main = Path(f"{out}-01")  # callgrind's file for the first thread: the event loop's
        found = _TOTALS.search(main.read_bytes())
        if found is None:
            raise SystemExit(f"no totals in {main}")
        return int(found.group(1))


def per_request(source: Path, scenario: str, requests: int, concurrency: int) -> float:
    small = _count(source, scenario, requests, concurrency)
    large = _count(source, scenario, requests * 5, concurrency)
    return (large - small) / (requests * 4 // concurrency * concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", help="a scenario of benchmarks/edgesim_configs.py "
                        "(repeatable; default passthrough and cff)")
    parser.add_argument("--requests", type=int, default=160)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--compare", type=Path, help="another checkout, measured the same way")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        scenario, requests, concurrency = args.child
        import uvloop

        uvloop.run(_serve(scenario, int(requests), int(concurrency)))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    sources = {"this": HERE.parent} | ({"other": args.compare.resolve()} if args.compare else {})
    rows = {}
    for scenario in args.scenario or ["passthrough", "cff"]:
        row = {name: round(per_request(source, scenario, args.requests, args.concurrency))
               for name, source in sources.items()}
        if "other" in row:
            row["this/other"] = round(row["this"] / row["other"], 3)
        rows[scenario] = row
        print(scenario, json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
