"""Instructions per request on edgesim's event loop thread, counted by valgrind: an A/B without noise.

CPU time on this kind of shared machine moves ±25-35% between identical runs, which hides the
5-10% a change to the request path makes. An instruction count does not move (repeat runs agree
within 0.2%). This counts, under callgrind, the instructions of the event loop's thread only (V8's
threads and Lambda@Edge workers, which run beside it, apart) while it serves one scenario of
benchmarks/edgesim_configs.py, --concurrency requests at a time:

- by default `edgesim serve` itself, in front of the benchmark's fast origin (nginx, else Node),
  sent exact numbers of keep-alive requests by a client in this process: the whole served path;
- with --in-process, `Simulator.handle` on uvloop against an in-memory httpx origin (quicker, no
  HTTP server, and the origin fetch takes httpx's path, not edgesim's own client).

Two runs, of --requests and of five times that, after the same warm-up; their difference over the
extra requests is the figure, so start-up and warm-up drop out. Instructions are not time (a cache
miss costs more than an add), but on the thread that bounds throughput, fewer of them is what a
change to the request path is after.

    python -m benchmarks.instructions --scenario cff                      # this checkout
    python -m benchmarks.instructions --scenario cff --compare /work/base # and another: new/old

Needs valgrind (`apt-get install valgrind`); about two minutes per scenario and checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
BODY = b"<!doctype html><title>edgesim bench</title><p>" + b"x" * 512 + b"</p>\n"
WARM = 200
# Under valgrind V8 runs some fifty times slower: a time limit that stops no benchmark function.
SLOW_V8 = "\n[distribution]\nfunction_time_limit_ms = 60000\n"
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
        path.write_text(path.read_text() + SLOW_V8)
        config = load_config(path)
        cache = config.default_cache_behavior.cache_policy != "CachingDisabled"
        async with Simulator(config, transports={"fast": httpx.MockTransport(origin)}, cache=cache) as sim:
            async def worker(n: int) -> None:
                for _ in range(n):
                    response, _trace = await sim.handle(viewer())
                    assert response.status == 200, response.status

            for count in (WARM, requests):
                await asyncio.gather(*(worker(count // concurrency) for _ in range(concurrency)))


def _valgrind(out: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}", sys.executable]


def _env(source: Path) -> dict[str, str]:
    # The checkout's edgesim (and scenarios) first on the path. PYTHONHASHSEED: set iteration
    # orders, and so the work, repeat from run to run.
    return dict(os.environ, PYTHONPATH=f"{source}{os.pathsep}{HERE.parent}", PYTHONHASHSEED="0",
                PYTHONDONTWRITEBYTECODE="1")


def _main_thread(out: Path) -> int:
    main = Path(f"{out}-01")  # callgrind's file for the first thread: the event loop's
    found = _TOTALS.search(main.read_bytes())
    if found is None:
        raise SystemExit(f"no totals in {main}")
    return int(found.group(1))


def _count_in_process(source: Path, scenario: str, requests: int, concurrency: int) -> int:
    """The event loop thread's instructions for one in-process child run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        # This file by path: the other checkout may not have it.
        argv = [*_valgrind(out), str(Path(__file__).resolve()), "--child", scenario, str(requests), str(concurrency)]
        done = subprocess.run(argv, cwd=source, env=_env(source), capture_output=True)
        if done.returncode != 0:
            raise SystemExit(f"{source} ({scenario}) failed under valgrind:\n{done.stderr.decode(errors='replace')[-2000:]}")
        return _main_thread(out)


async def _client(port: int, requests: int, concurrency: int) -> None:
    """`requests` GETs of / over `concurrency` keep-alive connections, each answer read whole."""
    async def connection(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        ask = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: wrk\r\n\r\n".encode()
        try:
            for _ in range(n):
                writer.write(ask)
                head = await reader.readuntil(b"\r\n\r\n")
                if head.split(b" ", 2)[1] != b"200":
                    raise SystemExit(f"the server answered {head.decode(errors='replace')}")
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                await reader.readexactly(length)
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(connection(requests // concurrency) for _ in range(concurrency)))


def _edgesim(config: Path) -> Callable[[int], list[str]]:
    return lambda port: ["-c", "from edgesim.cli import main; main()", "serve", "--config", str(config),
                         "--port", str(port), "--host", "127.0.0.1"]


def _count_serve(source: Path, server_argv: Callable[[int], list[str]], requests: int, concurrency: int) -> int:
    """The event loop thread's instructions for a server (`python` + server_argv(port)) answering
    WARM, then `requests` requests."""
    from benchmarks.processes import free_port

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        port = free_port()
        argv = [*_valgrind(out), *server_argv(port)]
        log = open(Path(tmp) / "serve.log", "wb")  # noqa: SIM115 - closed with the directory
        server = subprocess.Popen(argv, cwd=source, env=_env(source), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 600  # start-up runs some fifty times slower under valgrind
            while True:
                try:
                    asyncio.run(_client(port, 1, 1))  # one request as soon as it listens
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        tail = (Path(tmp) / "serve.log").read_text(errors="replace")[-2000:]
                        raise SystemExit(f"{' '.join(argv[5:])} ({source}) did not start under valgrind:\n{tail}") from None
                    time.sleep(1)
            asyncio.run(_client(port, WARM, concurrency))
            asyncio.run(_client(port, requests, concurrency))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=300)
            log.close()
        return _main_thread(out)


def per_request(source: Path, scenario: str, requests: int, concurrency: int, origin_url: str | None) -> float:
    """Instructions per request: the difference of two runs over the requests between them."""
    if origin_url is None:
        small = _count_in_process(source, scenario, requests, concurrency)
        large = _count_in_process(source, scenario, requests * 5, concurrency)
    else:
        from benchmarks.edgesim_configs import write_scenario

        with tempfile.TemporaryDirectory() as tmp:
            config = write_scenario(Path(tmp), scenario, origin_url)
            config.write_text(config.read_text() + SLOW_V8)
            small = _count_serve(source, _edgesim(config), requests, concurrency)
            large = _count_serve(source, _edgesim(config), requests * 5, concurrency)
    return (large - small) / (requests * 4 // concurrency * concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", help="a scenario of benchmarks/edgesim_configs.py "
                        "(repeatable; default passthrough and cff)")
    parser.add_argument("--requests", type=int, default=160)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--compare", type=Path, help="another checkout, measured the same way")
    parser.add_argument("--in-process", action="store_true", help="Simulator.handle, not `edgesim serve`")
    parser.add_argument("--reference", action="store_true",
                        help="count the raw aiohttp proxy (benchmarks/reference_proxy.py) the same way first")
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
    with ExitStack() as stack:
        origin_url = None
        if not args.in_process:
            from benchmarks.stacks import start_origin

            origin, _kind = start_origin(Path(stack.enter_context(tempfile.TemporaryDirectory())))
            origin_url = stack.enter_context(origin).url
        reference: float | None = None
        if args.reference and origin_url is not None:
            def proxy(port: int) -> list[str]:
                return ["-m", "benchmarks.reference_proxy", "--port", str(port), "--origin", str(origin_url)]

            counts = [_count_serve(HERE.parent, proxy, n, args.concurrency) for n in (args.requests, args.requests * 5)]
            reference = (counts[1] - counts[0]) / (args.requests * 4 // args.concurrency * args.concurrency)
            print("raw aiohttp proxy (reference)", json.dumps({"this": round(reference)}), flush=True)
        for scenario in args.scenario or ["passthrough", "cff"]:
            row: dict[str, float] = {name: round(per_request(source, scenario, args.requests, args.concurrency, origin_url))
                                     for name, source in sources.items()}
            if "other" in row:
                row["this/other"] = round(row["this"] / row["other"], 3)
            if reference is not None:  # as the benchmark's ratios: the reference's cost over this one's
                row["x reference"] = round(reference / row["this"], 3)
            print(scenario, json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
