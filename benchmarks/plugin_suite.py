"""What a test of the pytest plugin costs, and what the session-wide runtime pool saves.

1. In-process: N fresh Distributions of the embedded default distribution (a CloudFront Function
   and a Lambda@Edge function), one request each, with the session's RuntimePool (warm CloudFront
   Function shared) against a loader of their own (everything loaded per test). Reported as a ratio.
2. A generated pytest suite of N tests through the `edge_client` fixture, run as a user runs it,
   serially and with `-n 4`: wall time per test, including pytest's own work.

    python -m benchmarks.plugin_suite            # N = 200
    python -m benchmarks.plugin_suite --quick    # N = 40
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from edgesim.config import default_config_path
from edgesim.runtime_pool import RuntimePool
from edgesim.testing import Distribution

ROOT = Path(__file__).resolve().parent.parent


async def per_distribution(n: int, pool: RuntimePool | None) -> float:
    """Seconds per fresh Distribution plus one request."""
    config = default_config_path()
    started = time.perf_counter()
    for _ in range(n):
        async with Distribution(config, runtimes=pool, function_time_limit_ms=500) as dist:  # as the plugin
            response = await dist.get("/docs/")
            assert response.status_code == 200, response.text
    return (time.perf_counter() - started) / n


async def in_process(n: int) -> tuple[float, float, int, float]:
    pool = RuntimePool()
    try:
        shared = await per_distribution(n, pool)
    finally:
        await pool.aclose()
    own = await per_distribution(n, None)
    everything = RuntimePool(share_lambda=True)
    try:
        all_shared = await per_distribution(n, everything)
    finally:
        await everything.aclose()
    return shared, own, pool.loads, all_shared


def suite(n: int, workers: int | None) -> float:
    """Wall seconds per test of a generated suite of `n` tests through the plugin."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "edgesim.toml").write_text(default_config_path().read_text().replace(
            'directory = "site"', f'directory = "{default_config_path().parent / "site"}"').replace(
            "../functions", str(ROOT / "functions")))
        (project / "test_many.py").write_text(textwrap.dedent(f"""
            import pytest

            @pytest.mark.parametrize("n", range({n}))
            def test_page(edge_client, n):
                assert edge_client.get("/docs/").status_code == 200
        """))
        (project / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider -p no:benchmark\n"
                                            "asyncio_default_fixture_loop_scope = function\n")
        args = [sys.executable, "-m", "pytest", "-q"] + (["-n", str(workers)] if workers else [])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        started = time.perf_counter()
        result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(result.stdout[-3000:] + result.stderr[-3000:])
        return elapsed / n


def run(quick: bool) -> dict[str, float | int]:
    """For `python -m benchmarks` (benchmarks/micro.py): the figures as a dict."""
    n = 30 if quick else 200
    shared, own, loads, all_shared = asyncio.run(in_process(n))
    out: dict[str, float | int] = {
        "tests": n, "pooled_ms_per_test": round(shared * 1000, 1), "own_runtimes_ms_per_test": round(own * 1000, 1),
        "ratio_own_over_pooled": round(own / shared, 2), "function_loads_pooled": loads,
        "share_lambda_ms_per_test": round(all_shared * 1000, 1),
        "suite_serial_ms_per_test": round(suite(n, None) * 1000, 1),
    }
    if not quick:
        out["suite_n4_ms_per_test"] = round(suite(n, 4) * 1000, 1)
    return out


def main() -> None:
    n = 40 if "--quick" in sys.argv else 200
    shared, own, loads, all_shared = asyncio.run(in_process(n))
    print(f"in-process, {n} fresh distributions of the default config, one request each:")
    print(f"  with the session's runtime pool: {shared * 1000:7.1f} ms per test ({loads} function loads)")
    print(f"  each loading its own runtimes:   {own * 1000:7.1f} ms per test ({2 * n} function loads)")
    print(f"  ratio own / pooled: {own / shared:.1f}x")
    print(f"  with edgesim_share_lambda (2 loads in all): {all_shared * 1000:7.1f} ms per test")
    serial = suite(n, None)
    parallel = suite(n, 4)  # more workers than cores on small machines: a stress test
    print(f"generated suite of {n} tests via edge_client (wall time incl. pytest start-up):")
    print(f"  serial: {serial * 1000:7.1f} ms per test;  -n 4: {parallel * 1000:7.1f} ms per test")


if __name__ == "__main__":
    main()
