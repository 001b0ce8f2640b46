"""The benchmark report: a given result dict becomes the table and the met / not met verdicts.

No timings here: speed is measured by `python -m benchmarks`, never asserted in tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.load import LoadGenerator, parse_wrk
from benchmarks.report import README_END, evaluate_targets, render_markdown, update_readme, write_report
from benchmarks.processes import Service
from benchmarks.run import Options, _measure_all, _warm
from benchmarks.stacks import start_origin


def run(rps: float, p50: float = 1.0, p99: float = 5.0, cpu: float | None = 100.0) -> dict[str, Any]:
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": int(rps * 2), "errors": 0, "cpu_us_per_request": cpu}


def both(rps16: float, rps64: float) -> dict[str, Any]:
    return {"runs": {"16": run(rps16), "64": run(rps64)}}


RESULT: dict[str, Any] = {
    "meta": {"command": "python -m benchmarks --quick", "load_generator": "wrk", "origin": "nginx static file"},
    "stacks": {
        "origin": both(40000, 40000),
        "aiohttp_proxy": both(4000, 4000),
        "nginx_proxy": {"skipped": "nginx is not installed"},
        "passthrough": both(3000, 2000),  # 0.75x (met) and 0.5x (not met)
        "cff": both(2000, 1000),  # 0.5x (met, the bound itself) and 0.25x (not met)
        "lambda_python": both(5000, 5000),  # over 4,800 req/s: reached (informational only)
        "lambda_node": both(1000, 1000),
        "lambda_node_one": both(1300, 900),  # 2.6x (met) and 1.8x (not met) serverless-offline-edge-lambda
        "sls_reference": {"runs": {"16": run(500, cpu=1300.0), "64": run(500, cpu=1300.0)}},
        # cache_hits missing: its targets are "not measured"
    },
    "micro": {
        "cff_invoke": {"median_us": 90.0, "bare_median_us": 60.0, "ratio": 1.5, "ok": True},
        "lambda_invoke": {"target_ratio": 2.0, "python": {"warm_ratio": 2.5, "cold_ratio": 1.9},
                          "node": {"warm_ratio": 1.2, "cold_ratio": 2.1}},
        "cache_hits": {"hit_over_miss": 2.5, "target_hit_over_miss": 3.0, "all_hits": True},
    },
    "memory": {"scenario": "ten functions", "processes": [
        {"role": "edgesim", "peak_rss_mb": 120.5, "rss_mb": 110.0},
        {"role": "Lambda@Edge worker (node)", "peak_rss_mb": 45.0, "rss_mb": 44.0}], "total_peak_rss_mb": 165.5},
    "notes": ["a note"],
}


def verdicts() -> dict[str, str]:
    return {t["target"]: t["verdict"] for t in evaluate_targets(RESULT)}


def find(fragment: str, connections: str = "") -> str:
    matches = [v for k, v in verdicts().items() if fragment in k and connections in k]
    assert len(matches) == 1, (fragment, connections, verdicts())
    return matches[0]


def test_throughput_targets_also_compare_cpu_time_per_request() -> None:
    result = {**RESULT, "stacks": {**RESULT["stacks"], "passthrough": {"runs": {
        "16": run(3000, cpu=200.0), "64": run(2000, cpu=None)}}}}
    rows = {t["target"]: t for t in evaluate_targets(result) if "pass-through (no functions, cache off) ≥" in t["target"]}
    by_cpu = sorted((t["target"][-14:], t["by_cpu"]) for t in rows.values())
    assert by_cpu == [("16 connections", 0.5), ("64 connections", None)]  # reference 100 µs / 200 µs


def test_throughput_targets_are_ratios_to_references_in_the_same_run() -> None:
    assert find("pass-through (no functions, cache off) ≥ 0.7×", "16 connections") == "met"
    assert find("pass-through (no functions, cache off) ≥ 0.7×", "64 connections") == "not met"
    assert find("CloudFront Functions (viewer-request, viewer-response) ≥ 0.5×", "16 connections") == "met"
    assert find("CloudFront Functions (viewer-request, viewer-response) ≥ 0.5×", "64 connections") == "not met"
    assert find("cache hits ≥ 1×", "16 connections") == "not measured"


def test_lambda_edge_target_is_a_ratio_to_serverless_offline_edge_lambda_in_the_same_run() -> None:
    target = "edgesim + Lambda@Edge (one Node handler) ≥ 2× serverless-offline-edge-lambda (same run)"
    rows = {t["target"]: t for t in evaluate_targets(RESULT) if t["target"].startswith(target)}
    assert sorted(rows) == [f"{target}, 16 connections", f"{target}, 64 connections"]
    assert rows[f"{target}, 16 connections"]["measured"] == 2.6
    assert rows[f"{target}, 16 connections"]["verdict"] == "met"
    assert rows[f"{target}, 64 connections"]["measured"] == 1.8
    assert rows[f"{target}, 64 connections"]["verdict"] == "not met"
    assert rows[f"{target}, 16 connections"]["by_cpu"] == 13.0  # 1,300 µs / 100 µs per request


def test_lambda_edge_target_is_not_measured_when_the_reference_was_skipped() -> None:
    stacks = {**RESULT["stacks"], "sls_reference": {"skipped": "npm/node are not installed"}}
    targets = evaluate_targets({**RESULT, "stacks": stacks})
    verdicts = {t["verdict"] for t in targets if "≥ 2× serverless-offline-edge-lambda (same run)" in t["target"]}
    assert verdicts == {"not measured"}
    assert "serverless-offline-edge-lambda 1.3.1 on serverless 3.40.0, one Node handler (origin-response): " \
           "skipped, npm/node are not installed" in render_markdown({**RESULT, "stacks": stacks})


def test_the_fixed_4800_figure_is_informational_and_judges_nothing() -> None:
    rows = [t for t in evaluate_targets(RESULT) if "4800 req/s" in t["target"]]
    assert {t["verdict"] for t in rows} == {"informational"}
    reached = {t["target"].split(" ≥ ")[0]: t["reached"] for t in rows}
    assert reached == {"edgesim + Lambda@Edge Node, one handler (origin-response)": False,
                       "edgesim + Lambda@Edge Python (origin-request, origin-response)": True,
                       "edgesim + Lambda@Edge Node (origin-request, origin-response)": False}
    text = render_markdown(RESULT)
    assert "| 5,000 | – | ℹ️ informational, reached |" in text
    assert "| 1,300 | – | ℹ️ informational, not reached |" in text


def test_micro_benchmarks_are_judged_on_their_ratios_and_targets() -> None:
    assert find("cff_invoke ratio ≤ 2") == "met"  # no target of its own: the issue's bound applies
    assert find("lambda_invoke python.warm_ratio ≤ 2") == "not met"
    assert find("lambda_invoke python.cold_ratio ≤ 2") == "met"
    assert find("lambda_invoke node.warm_ratio ≤ 2") == "met"
    assert find("lambda_invoke node.cold_ratio ≤ 2") == "not met"
    assert find("cache_hits hit_over_miss ≥ 3") == "not met"  # a hit must be at least 3x a miss
    assert len([k for k in verdicts() if k.startswith(("cff_invoke", "lambda_invoke", "cache_hits"))]) == 6


def test_micro_benchmarks_without_an_issue_target_are_figures_not_verdicts() -> None:
    result = {**RESULT, "micro": {"plugin_suite": {"ratio_own_over_pooled": 2.4, "pooled_ms_per_test": 45.1}}}
    assert not any(t["target"].startswith("plugin_suite") for t in evaluate_targets(result))


def test_skipped_or_failed_micro_benchmarks_judge_nothing() -> None:
    result = {**RESULT, "micro": {"cff_invoke": {"skipped": "not here"}, "lambda_invoke": {"error": "exit 1"}}}
    assert not any(t["target"].startswith(("cff_invoke", "lambda_invoke")) for t in evaluate_targets(result))


def test_markdown_has_the_table_ratios_skips_and_verdicts() -> None:
    text = render_markdown(RESULT)
    assert "| stack | conns | req/s | × raw aiohttp proxy |" in text
    # pass-through at 16 connections: 3,000 req/s, 0.75x the aiohttp proxy, 0.07x the origin.
    assert "| edgesim pass-through (no functions, cache off) | 16 | 3,000 | 0.75 | 0.07 |" in text
    assert "nginx proxy_pass: skipped, nginx is not installed" in text
    assert "✅ met" in text and "❌ not met" in text and "| not measured |" in text
    assert "| lambda_invoke | python.warm_ratio | 2.500 |" in text
    assert "| Lambda@Edge worker (node) | 45.0 | 44.0 |" in text
    # The reference's row names the pinned versions it ran.
    assert "| serverless-offline-edge-lambda 1.3.1 on serverless 3.40.0, one Node handler (origin-response) " \
           "| 16 | 500.00 | 0.12 |" in text
    assert "- a note" in text


def test_write_report_writes_json_with_verdicts_and_the_markdown(tmp_path: Path) -> None:
    json_path, md_path = write_report(RESULT, tmp_path)
    data = json.loads(json_path.read_text())
    assert data["stacks"]["passthrough"]["runs"]["16"]["rps"] == 3000
    assert {t["verdict"] for t in data["targets"]} == {"met", "not met", "not measured", "informational"}
    assert md_path.read_text() == render_markdown(RESULT)


WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:8080/index.html
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.01ms  300.00us   9.00ms   90.00%
  Latency Distribution
     50%  850.00us
     75%    1.20ms
     90%    2.00ms
     99%    1.50s
  9000 requests in 2.00s, 5.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   4500.25
Transfer/sec:      2.50MB
"""


def test_wrk_output_is_read_with_units_and_errors() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert (result.rps, result.p50_ms, result.p99_ms, result.requests, result.errors) == (4500.2, 0.85, 1500.0, 9000, 7)


def test_readme_section_is_replaced_in_place(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# edgesim\n\nintro\n")
    update_readme(RESULT, readme)
    first = readme.read_text()
    assert first.startswith("# edgesim\n\nintro\n\n## Performance\n") and README_END in first
    readme.write_text(first + "\n## After\n\nkept\n")
    changed = {**RESULT, "stacks": {**RESULT["stacks"], "passthrough": both(3900, 3900)}}
    update_readme(changed, readme)
    second = readme.read_text()
    assert second.count("## Performance") == 1 and second.endswith("## After\n\nkept\n")
    assert "| edgesim pass-through (no functions, cache off) | 16 | 3,900 | 0.97 |" in second


class _ShortWarmup(Options):
    @property
    def warmup(self) -> float:
        return 0.3

    @property
    def warmup_requests(self) -> int:
        return 400

    @property
    def warmup_max_seconds(self) -> float:
        return 3.0


def test_a_stack_is_warmed_for_its_requests_not_one_fixed_window(tmp_path: Path) -> None:
    # A real origin under the real load generator: warming goes on, window after window, until the
    # stack served the warm-up's requests (a JIT needs thousands), and no longer than its cap.
    origin, _kind = start_origin(tmp_path)
    with origin:
        assert _warm(LoadGenerator(), origin, _ShortWarmup()) >= 400


class _TwoShortRounds(_ShortWarmup):
    @property
    def duration(self) -> float:
        return 1.0

    @property
    def repeats(self) -> int:
        return 2


def test_the_reference_is_measured_in_a_fresh_process_each_round(tmp_path: Path) -> None:
    # serverless-offline-edge-lambda's speed differs from process to process: each round after the
    # first stops it, starts another, warms it and measures that one.
    started: list[Service] = []

    def restart(key: str) -> Service:
        assert key == "sls_reference"
        running[key].__exit__(None, None, None)
        service, _kind = start_origin(tmp_path / f"fresh{len(started)}")
        started.append(service.__enter__())
        return service

    first, _kind = start_origin(tmp_path / "first")
    running = {"sls_reference": first.__enter__()}
    try:
        result = _measure_all(running, LoadGenerator(), _TwoShortRounds(), restart)
    finally:
        for service in (first, *started):
            service.__exit__(None, None, None)
    assert len(started) == 1 and running["sls_reference"] is started[0]
    assert first.proc is None  # the first process was stopped before the second round
    assert result["sls_reference"]["warmup_requests"] >= 400  # the fresh one was warmed too
    assert set(result["sls_reference"]["runs"]) == {"16", "64"}


def test_one_core_pins_this_process_and_what_it_starts_then_restores() -> None:
    import json
    import os
    import subprocess
    import sys

    from benchmarks.lambda_invoke import _one_core

    before = os.sched_getaffinity(0)
    with _one_core() as pinned:
        assert pinned
        here = os.sched_getaffinity(0)
        out = subprocess.run([sys.executable, "-c", "import json, os; print(json.dumps(sorted(os.sched_getaffinity(0))))"],
                             capture_output=True, text=True, check=True).stdout
    assert len(here) == 1 and set(json.loads(out)) == here
    assert os.sched_getaffinity(0) == before
