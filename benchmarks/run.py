"""Run every stack under the same bounded load, then the memory and micro-benchmarks, in one run.

The origin starts once and serves every stack. Every stack is started and checked (one request must
come back 200 with the origin's body and, where functions run, the headers they add), warmed up,
then measured in interleaved rounds; an idle stack costs nothing, so only the one under load runs.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import memory, micro, sls_reference
from benchmarks.edgesim_configs import SCENARIOS, write_scenario
from benchmarks.load import LoadGenerator
from benchmarks.processes import Service, ServiceError, cpu_seconds
from benchmarks.report import COMPARE, CONCURRENCIES, STACKS
from benchmarks.stacks import BODY, REPO, nginx_binary, start_edgesim, start_nginx_proxy, start_origin, start_reference_proxy

# Headers the benchmark functions add: their presence proves the functions really ran.
EXPECTED_HEADERS: dict[str, tuple[str, ...]] = {
    "cff": ("x-bench-viewer-response",),
    "lambda_python": ("x-bench-origin-response",),
    "lambda_node": ("x-bench-origin-response",),
    "lambda_node_one": ("x-bench-origin-response",),
    "sls_reference": ("x-bench-origin-response",),
}


# The Lambda@Edge reference and the edgesim scenario it is compared with add two starts (serverless
# alone takes about five seconds) and six seconds of load to --quick, some fifteen seconds of its
# minute; a quick run with them took 77 s while others shared this 2-core machine. --quick leaves
# them out unless --only names them.
QUICK_SKIPS = ("sls_reference", "lambda_node_one")
QUICK_SKIP_REASON = ("left out of --quick, which must finish within a minute: run without --quick, or name it "
                     "in --only")


@dataclass
class Options:
    quick: bool = False
    only: tuple[str, ...] = ()  # stack keys; empty means all
    memory: bool = True
    micro: bool = True
    wrk: bool = True  # False: the Python load generator, as on a machine without wrk
    compare: Path | None = None  # another checkout: its pass-through is measured too (before/after)

    @property
    def duration(self) -> float:
        return 1.0 if self.quick else 2.0

    @property
    def warmup(self) -> float:
        """Seconds per warm-up window."""
        return 1.0

    @property
    def warmup_requests(self) -> int:
        """Requests every stack serves before it is measured (--quick: one window only).

        A stack with a JIT is slow until it has run its hot code thousands of times: measured,
        serverless-offline-edge-lambda's CPU per request fell from ~1,260 to ~650 µs over its first
        ~8,000 requests, and edgesim's Node workers warm up alike. One second at 64 connections
        was about 1,000 of its requests, so its first round measured it cold."""
        return 0 if self.quick else 10_000

    @property
    def warmup_max_seconds(self) -> float:
        return 12.0

    @property
    def repeats(self) -> int:
        return 1 if self.quick else 3


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()


def check(key: str, url: str) -> str | None:
    """Why this stack's answer is not the origin's page, or None when it is."""
    try:
        status, headers, body = _get(url + "/index.html")
        if key == "cache_hits":
            status, headers, body = _get(url + "/index.html")
            if "hit" not in headers.get("x-cache", "").lower():
                return f"second request was not a cache hit (X-Cache: {headers.get('x-cache')!r})"
    except OSError as exc:
        return f"request failed: {exc}"
    if status != 200 or body != BODY:
        return f"answered {status} with {len(body)} bytes instead of the origin's page"
    missing = [h for h in EXPECTED_HEADERS.get(key, ()) if h not in headers]
    return f"functions did not run (missing {', '.join(missing)})" if missing else None


def _start_all(factories: dict[str, Callable[[], Any] | str], options: Options,
               stack: ExitStack) -> tuple[dict[str, Service], dict[str, Any]]:
    """Start and check every selected stack; the ones that fail are reported, not measured."""
    running: dict[str, Service] = {}
    results: dict[str, Any] = {}
    for key, factory in factories.items():
        if options.only and key not in options.only and key != COMPARE:
            continue
        if isinstance(factory, str):
            results[key] = {"skipped": factory}
            continue
        print(f"  starting {STACKS.get(key, key)} ...", file=sys.stderr, flush=True)
        try:
            service = stack.enter_context(factory())
        except ServiceError as exc:
            results[key] = {"skipped": f"failed to start: {str(exc)[:300]}"}
            continue
        problem = check(key, service.url)
        if problem:
            results[key] = {"skipped": f"failed: {problem}"}
            continue
        running[key] = service
    return running, results


# Stacks measured in a fresh process every round: serverless-offline-edge-lambda's speed differs
# from one process to the next far more than from round to round (measured on a quiet machine, the
# same code warmed alike: about 900 req/s in one process, about 1,450 in the next), so the best of
# three processes is its figure. That favours the reference, as a reference should be favoured.
FRESH_EACH_ROUND = ("sls_reference",)


def _measure_all(running: dict[str, Service], load: LoadGenerator, options: Options,
                 restart: Callable[[str], Service | None] | None = None) -> dict[str, Any]:
    """Every stack, round after round: each round measures every stack at every concurrency in turn.

    On a shared machine the load from other work drifts over minutes; interleaving spreads that
    drift over all stacks alike, and the best of the rounds is each stack's figure (other work
    only ever slows a run down). A stack of FRESH_EACH_ROUND is started anew (by `restart`, which
    stops the old process) and warmed again before each round after the first.
    """
    warmed = {key: _warm(load, service, options) for key, service in running.items()}
    best: dict[str, dict[str, Any]] = {key: {} for key in running}
    failed: dict[str, Any] = {}
    for round_no in range(options.repeats):
        print(f"  round {round_no + 1} of {options.repeats} ...", file=sys.stderr, flush=True)
        if round_no and restart is not None:
            for key in FRESH_EACH_ROUND:
                if key in running and key not in failed:
                    print(f"    {STACKS.get(key, key)}: a fresh process ...", file=sys.stderr, flush=True)
                    fresh = restart(key)
                    if fresh is None:
                        failed[key] = {"skipped": "failed to start again for another round"}
                        continue
                    running[key] = fresh
                    try:
                        warmed[key] = _warm(load, fresh, options)
                    except (RuntimeError, ValueError) as exc:
                        failed[key] = {"skipped": f"failed under load: {str(exc)[:300]}"}
        for conns in CONCURRENCIES:
            for key, service in running.items():
                if key in failed:
                    continue
                try:
                    result = _one_run(load, service, conns, options.duration)
                except (RuntimeError, ValueError) as exc:
                    failed[key] = {"skipped": f"failed under load: {str(exc)[:300]}"}
                    continue
                kept = best[key].get(str(conns))
                if kept is None or result["rps"] > kept["rps"]:
                    best[key][str(conns)] = result
    return {key: failed.get(key, {"runs": runs, "warmup_requests": warmed[key]}) for key, runs in best.items()}


def _restarter(factories: dict[str, Callable[[], Any] | str], running: dict[str, Service],
               stack: ExitStack) -> Callable[[str], Service | None]:
    """Stop a running stack and start it again from its factory, checked; None if it fails."""
    def restart(key: str) -> Service | None:
        factory = factories[key]
        assert not isinstance(factory, str)
        running[key].__exit__(None, None, None)  # stopping twice (the ExitStack's own) is a no-op
        try:
            service = stack.enter_context(factory())
        except ServiceError:
            return None
        return service if check(key, service.url) is None else None

    return restart


def _warm(load: LoadGenerator, service: Service, options: Options) -> int:
    """Load the stack at the highest concurrency until it has served `warmup_requests` (JIT,
    connection pools, Lambda@Edge worker pools), at least one window and at most
    `warmup_max_seconds`. How many requests it served."""
    served, spent = 0, 0.0
    while True:
        served += load.run(service.url + "/index.html", max(CONCURRENCIES), options.warmup).requests
        spent += options.warmup
        if served >= options.warmup_requests or spent >= options.warmup_max_seconds:
            return served


def _one_run(load: LoadGenerator, service: Service, conns: int, duration: float) -> dict[str, Any]:
    """One measurement, with the stack's own CPU time per request (its processes and their
    children, from /proc), which other load on the machine disturbs far less than throughput."""
    cpu_before = cpu_seconds(service.pid)
    result: dict[str, Any] = dict(load.run(service.url + "/index.html", conns, duration).to_json())
    cpu = cpu_seconds(service.pid) - cpu_before
    result["cpu_us_per_request"] = round(cpu / result["requests"] * 1e6, 1) if result["requests"] else None
    return result


def _stack_factories(work: Path, origin: Service, notes: list[str], options: Options
                     ) -> dict[str, Callable[[], Any] | str]:
    """Stack key -> a function starting it, or the reason it is skipped."""
    factories: dict[str, Callable[[], Any] | str] = {
        "origin": lambda: _Already(origin),
        "aiohttp_proxy": lambda: start_reference_proxy(origin.url),
        "nginx_proxy": (lambda: start_nginx_proxy(work, origin.url)) if nginx_binary()
        else "nginx is not installed (apt-get install nginx)",
    }
    if _quick_skip(options, "sls_reference"):
        factories["sls_reference"] = QUICK_SKIP_REASON
    elif not options.only or "sls_reference" in options.only:
        factories["sls_reference"] = _sls_factory(work, origin, notes, options)
    try:
        import edgesim.cli  # noqa: F401  (the serve command lands with the lead's pipeline)
    except ImportError as exc:
        reason = f"edgesim serve is not available on this branch ({exc})"
        notes.append(reason)
        return {**factories, **{name: reason for name in SCENARIOS}}
    for name in SCENARIOS:
        factories[name] = (QUICK_SKIP_REASON if _quick_skip(options, name)
                           else _edgesim_factory(write_scenario(work, name, origin.url)))
    if options.compare is not None:
        factories[COMPARE] = _edgesim_factory(work / "passthrough.toml", options.compare.resolve())
    return factories


def _quick_skip(options: Options, key: str) -> bool:
    return options.quick and key in QUICK_SKIPS and key not in options.only


def _sls_factory(work: Path, origin: Service, notes: list[str], options: Options) -> Callable[[], Any] | str:
    """serverless-offline-edge-lambda, installed first if need be; the reason it is skipped, else.

    --quick never installs: the npm install alone takes about a minute, the whole quick budget.
    """
    prefix = sls_reference.cache_dir()
    if not sls_reference.is_installed(prefix) and not options.quick and shutil.which("npm"):
        print(f"  installing serverless-offline-edge-lambda into {prefix} (once) ...", file=sys.stderr, flush=True)
    reason = sls_reference.ensure_installed(prefix, may_install=not options.quick)
    versions = ", ".join(f"{name} {version}" for name, version in sls_reference.VERSIONS.items())
    if reason:
        notes.append(f"serverless-offline-edge-lambda ({versions}) skipped: {reason}; the Lambda@Edge "
                     "target is not measured.")
        return reason
    notes.append(f"serverless-offline-edge-lambda: {versions} from npm, in {prefix}. It runs the same "
                 f"Node handler file as edgesim's one-handler scenario ({sls_reference.HANDLER.name}, "
                 f"{sls_reference.EVENT_TYPE}, every path) against the same origin. Its --disableCache does "
                 "not reach the plugin under serverless 3, but 1.3.1 never serves a cached response anyway: "
                 "every request goes to the origin, as with edgesim's CachingDisabled. It runs the handler "
                 "inside its server process, opens a new origin connection per request and rewrites its "
                 "cache file on every response: its own costs, measured as it is.")
    return lambda: sls_reference.start_sls_reference(work, origin.url, prefix)


def _edgesim_factory(config: Path, source: Path = REPO) -> Callable[[], Service]:
    return lambda: start_edgesim(config, source)


class _Already:
    """The origin is already running for everyone: measuring it alone must not stop it."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def __enter__(self) -> Service:
        return self.service

    def __exit__(self, *exc: object) -> None:
        return None


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine() -> str:
    model = "?"
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "?"
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def run(options: Options) -> dict[str, Any]:
    load = LoadGenerator(prefer_wrk=options.wrk)
    notes: list[str] = []
    if not nginx_binary():
        notes.append("nginx is not installed: the origin is Node http and the nginx proxy_pass stack is skipped.")
    if not load.wrk:
        notes.append("wrk is not installed: the Python load generator ran; it shares a core with the stack "
                     "under test and caps the fast stacks, so compare ratios, not absolute figures.")
    started = time.monotonic()
    load_at_start = _load_average()
    results: dict[str, Any] = {"stacks": {}, "notes": notes}
    with tempfile.TemporaryDirectory(prefix="edgesim-bench-") as tmp:
        work = Path(tmp)
        origin, origin_kind = start_origin(work)
        with origin:
            with ExitStack() as stacks:
                factories = _stack_factories(work, origin, notes, options)
                running, results["stacks"] = _start_all(factories, options, stacks)
                results["stacks"].update(_measure_all(running, load, options, _restarter(factories, running, stacks)))
            results["stacks"] = {key: results["stacks"][key] for key in STACKS if key in results["stacks"]}
            if options.compare is not None:
                results["compare"] = str(options.compare)
            if options.memory and "edgesim serve" not in " ".join(notes):
                print("  memory ...", file=sys.stderr, flush=True)
                try:
                    results["memory"] = memory.measure(work, origin.url)
                except (ServiceError, OSError) as exc:
                    results["memory"] = {"skipped": f"failed: {str(exc)[:300]}"}
    if options.micro:
        print("  micro-benchmarks ...", file=sys.stderr, flush=True)
        results["micro"] = micro.run_all(options.quick)
    results["meta"] = {
        "command": "python -m benchmarks" + (" --quick" if options.quick else ""),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_generator": load.name,
        "origin": origin_kind,
        "duration_s": options.duration,
        "repeats": options.repeats,
        "warmup_requests": options.warmup_requests,
        "warmup_max_s": options.warmup_max_seconds,
        "load_average": load_at_start,
        "quick": options.quick,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    return results
