"""The cache-hit benchmark runs and proves a hit touches neither the origin nor an origin trigger.

Its speed is reported by `python -m benchmarks.cache_hits`, never asserted here."""

from __future__ import annotations

from benchmarks.cache_hits import run


def test_quick_run_reports_hits_without_origin_work() -> None:
    report = run(quick=True)
    assert report["all_hits"] and report["all_misses"]
    assert report["origin_requests_during_hits"] == 0
    assert report["origin_triggers_during_hits"] == 0
    assert report["hit_rps"] > 0 and report["miss_rps"] > 0
