"""Turn a result dict into verdicts and a markdown report; write latest.json and latest.md.

Pure functions of the result dict (no timing here), so tests can feed a made-up result and check
the table and the met / not met verdicts. Every figure that matters is a ratio to a reference
measured in the same run, the Lambda@Edge target included (serverless-offline-edge-lambda runs in
the same run); the issue's old absolute figure stays as an informational line, judged nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.sls_reference import VERSIONS as SLS_VERSIONS

# Stack key -> label, in the order the issue lists them.
STACKS: dict[str, str] = {
    "origin": "origin alone",
    "aiohttp_proxy": "raw aiohttp proxy (reference)",
    "nginx_proxy": "nginx proxy_pass",
    "passthrough": "edgesim pass-through (no functions, cache off)",
    "cff": "edgesim + CloudFront Functions (viewer-request, viewer-response)",
    "lambda_python": "edgesim + Lambda@Edge Python (origin-request, origin-response)",
    "lambda_node": "edgesim + Lambda@Edge Node (origin-request, origin-response)",
    "lambda_node_one": "edgesim + Lambda@Edge Node, one handler (origin-response)",
    "sls_reference": (f"serverless-offline-edge-lambda {SLS_VERSIONS['serverless-offline-edge-lambda']} on "
                      f"serverless {SLS_VERSIONS['serverless']}, one Node handler (origin-response)"),
    "cache_hits": "edgesim cache hits",
    "passthrough_compare": "edgesim pass-through, the --compare checkout",
}
COMPARE = "passthrough_compare"
CONCURRENCIES = (16, 64)
REFERENCE = "aiohttp_proxy"

# (stack, reference stack, minimum ratio of throughputs), from the targets.
THROUGHPUT_TARGETS: list[tuple[str, str, float]] = [
    ("passthrough", "aiohttp_proxy", 0.7),
    ("cff", "aiohttp_proxy", 0.5),
    ("cache_hits", "passthrough", 1.0),
    ("passthrough_compare", "aiohttp_proxy", 0.7),  # with --compare: the "before" of a before/after
]
# The Lambda@Edge target: edgesim with one Lambda@Edge handler at least twice what
# serverless-offline-edge-lambda serves with the same one handler, both measured in this run.
SLS_REFERENCE = "sls_reference"
ONE_HANDLER = "lambda_node_one"
SLS_MINIMUM = 2.0
SLS_TARGET = "edgesim + Lambda@Edge (one Node handler) ≥ 2× serverless-offline-edge-lambda (same run)"
# The issue also quotes the figure behind that target: about 2.4k req/s, measured on another day and
# machine. Kept as an informational line (no verdict): an absolute figure from elsewhere is no fair
# bound on a shared 2-core machine where even the raw aiohttp proxy does 3.5-5k req/s.
SERVERLESS_OFFLINE_RPS = 2400.0
INFORMATIONAL_STACKS = (ONE_HANDLER, "lambda_python", "lambda_node")
# The micro-benchmarks' direction and default bound (the issue's), for modules that name no target.
MICRO_DEFAULTS: dict[str, tuple[str, float]] = {
    "cff_invoke": ("<=", 2.0),
    "lambda_invoke": ("<=", 2.0),
    "cache_hits": (">=", 3.0),
}


def _rps(results: dict[str, Any], stack: str, conns: int) -> float | None:
    run = results.get("stacks", {}).get(stack, {}).get("runs", {}).get(str(conns))
    if not run or run.get("rps") is None:
        return None
    return float(run["rps"])


def _cpu(results: dict[str, Any], stack: str, conns: int) -> float | None:
    run = results.get("stacks", {}).get(stack, {}).get("runs", {}).get(str(conns))
    value = run.get("cpu_us_per_request") if run else None
    return float(value) if value else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "not met")


def _ratio_target(results: dict[str, Any], stack: str, ref: str, minimum: float, conns: int,
                  title: str | None = None) -> dict[str, Any]:
    ratio = _ratio(_rps(results, stack, conns), _rps(results, ref, conns))
    # The same comparison in CPU time per request (reference's / stack's): requests per
    # CPU-second, steadier than throughput when other work shares the machine.
    by_cpu = _ratio(_cpu(results, ref, conns), _cpu(results, stack, conns))
    return {"target": f"{title or f'{STACKS[stack]} ≥ {minimum:g}× {STACKS[ref]}'}, {conns} connections",
            "measured": None if ratio is None else round(ratio, 2),
            "by_cpu": None if by_cpu is None else round(by_cpu, 2),
            "verdict": _verdict(None if ratio is None else ratio >= minimum)}


def _throughput_targets(results: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for stack, ref, minimum in THROUGHPUT_TARGETS:
        if stack == COMPARE and COMPARE not in results.get("stacks", {}):
            continue
        for conns in CONCURRENCIES:
            yield _ratio_target(results, stack, ref, minimum, conns)
    for conns in CONCURRENCIES:
        yield _ratio_target(results, ONE_HANDLER, SLS_REFERENCE, SLS_MINIMUM, conns, SLS_TARGET)
    for stack in INFORMATIONAL_STACKS:
        rps = _rps(results, stack, 16)
        yield {"target": (f"{STACKS[stack]} ≥ {SLS_MINIMUM * SERVERLESS_OFFLINE_RPS:g} req/s, 16 connections "
                          "(informational: 2× the 2.4k serverless-offline-edge-lambda did on another day and "
                          "machine, not in this run)"),
               "measured": None if rps is None else round(rps),
               "verdict": "informational",
               "reached": None if rps is None else rps >= SLS_MINIMUM * SERVERLESS_OFFLINE_RPS}


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested dicts as (dotted.key, leaf) pairs, in order."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from flatten(sub, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _judge(module: str, data: dict[str, Any], prefix: str, inherited: float | None) -> Iterator[dict[str, Any]]:
    """Verdicts for one (nested) dict of a module's result.

    A numeric `K` with a sibling `target_K` is judged against it; any other numeric key naming a
    ratio (`..ratio..`) against the nearest `target_ratio`, else the issue's bound for the module.
    The direction is the issue's: invocation ratios at most the bound, cache hit/miss at least.
    """
    op, default = MICRO_DEFAULTS.get(module, ("<=", 2.0))
    bound_here = data.get("target_ratio", inherited)
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _judge(module, value, f"{name}.", bound_here if isinstance(bound_here, (int, float)) else None)
            continue
        if key.startswith("target") or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        own = data.get(f"target_{key}")
        if isinstance(own, (int, float)) and not isinstance(own, bool):
            bound = float(own)
        elif "ratio" in key:
            bound = float(bound_here) if isinstance(bound_here, (int, float)) else default
        else:
            continue
        ok = value <= bound if op == "<=" else value >= bound
        yield {"target": f"{module} {name} {op.replace('<=', '≤').replace('>=', '≥')} {bound:g}",
               "measured": round(float(value), 2), "verdict": _verdict(ok)}


def _micro_targets(results: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for module, data in results.get("micro", {}).items():
        if not isinstance(data, dict) or "skipped" in data or "error" in data:
            continue
        # Only the micro-benchmarks have targets; the others (plugin_suite: what pooled
        # runtimes save a test suite) are figures, and a ratio there is no bound to meet.
        if module in MICRO_DEFAULTS or any(str(key).startswith("target") for key in data):
            yield from _judge(module, data, "", None)


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target of the issue, each with its measured figure and met / not met / not measured."""
    return [*_throughput_targets(results), *_micro_targets(results)]


# --- markdown ---------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def _stack_table(results: dict[str, Any]) -> list[str]:
    lines = ["| stack | conns | req/s | × raw aiohttp proxy | × origin | p50 ms | p99 ms | CPU µs/req | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    skipped = []
    for key, label in STACKS.items():
        stack = results.get("stacks", {}).get(key)
        if stack is None:
            continue
        if stack.get("skipped"):
            skipped.append(f"- {label}: skipped, {stack['skipped']}")
            continue
        for conns in CONCURRENCIES:
            run = stack.get("runs", {}).get(str(conns))
            if not run:
                continue
            rps = float(run["rps"])
            lines.append(f"| {label} | {conns} | {_fmt(rps)} | {_fmt(_ratio(rps, _rps(results, REFERENCE, conns)))} "
                         f"| {_fmt(_ratio(rps, _rps(results, 'origin', conns)))} | {_fmt(run['p50_ms'])} "
                         f"| {_fmt(run['p99_ms'])} | {_fmt(run.get('cpu_us_per_request'), 0)} | {_fmt(run['errors'])} |")
    return lines + ([""] + skipped if skipped else [])


def _targets_table(targets: list[dict[str, Any]]) -> list[str]:
    lines = ["| target | measured | by CPU time | verdict |", "|---|---:|---:|---|"]
    for t in targets:
        mark = {"met": "✅ met", "not met": "❌ not met"}.get(t["verdict"], t["verdict"])
        if t["verdict"] == "informational":  # a figure from elsewhere: shown, not judged
            reached = t.get("reached")
            mark = "ℹ️ informational" + ("" if reached is None else ", reached" if reached else ", not reached")
        lines.append(f"| {_fmt(t['target'])} | {_fmt(t['measured'])} | {_fmt(t.get('by_cpu'))} | {mark} |")
    return lines


def _micro_section(results: dict[str, Any]) -> list[str]:
    micro = results.get("micro", {})
    if not micro:
        return []
    lines = ["| micro-benchmark | figure | value |", "|---|---|---:|"]
    for module, data in micro.items():
        for key, value in flatten(data):
            lines.append(f"| {module} | {key} | {_fmt(value, 3)} |")
    return ["", "### Micro-benchmarks", ""] + lines


def _memory_section(results: dict[str, Any]) -> list[str]:
    memory = results.get("memory")
    if not memory:
        return []
    out = ["", "### Memory", ""]
    if memory.get("skipped"):
        return out + [f"Skipped: {memory['skipped']}"]
    out += [memory.get("scenario", ""), "", "| process | peak RSS MB | RSS MB |", "|---|---:|---:|"]
    for proc in memory.get("processes", []):
        out.append(f"| {_fmt(proc.get('role', proc.get('cmd')))} | {_fmt(proc.get('peak_rss_mb'), 1)} "
                   f"| {_fmt(proc.get('rss_mb'), 1)} |")
    if memory.get("total_peak_rss_mb") is not None:
        out.append(f"| total (sum of peaks) | {_fmt(memory['total_peak_rss_mb'], 1)} | |")
    return out


def _warmup(meta: dict[str, Any]) -> str:
    if not meta.get("warmup_requests"):
        return ""
    return (f", after each stack's warm-up of {meta['warmup_requests']:,} requests "
            f"(at most {meta.get('warmup_max_s', '?')} s)")


def render_markdown(results: dict[str, Any], *, micro_table: bool = True) -> str:
    meta = results.get("meta", {})
    head = [
        "## Benchmark results",
        "",
        f"`{meta.get('command', 'python -m benchmarks')}` at {meta.get('date', '?')} on {meta.get('machine', '?')}. "
        f"Load generator: {meta.get('load_generator', '?')}; origin: {meta.get('origin', '?')}; "
        f"best of {meta.get('repeats', 1)} × {meta.get('duration_s', '?')} s per figure{_warmup(meta)}; "
        f"load average at start {meta.get('load_average', '?')}.",
        "",
        "req/s and latency are the load generator's view; CPU µs/req is the stack's own processes' CPU time "
        "(server and any Lambda@Edge workers, not the origin's) per request, from /proc. Verdicts follow the "
        "issue and compare throughput; \"by CPU time\" makes the same comparison in requests per CPU-second, "
        "which other load on the machine disturbs far less.",
        "",
    ]
    body = _stack_table(results) + ["", "### Targets", ""] + _targets_table(evaluate_targets(results))
    notes = [f"- {n}" for n in results.get("notes", [])]
    tail = (["", "### Notes", ""] + notes) if notes else []
    micro = _micro_section(results) if micro_table else []
    return "\n".join(head + body + micro + _memory_section(results) + tail) + "\n"


def write_report(results: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """latest.json (the results plus the verdicts) and latest.md in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {**results, "targets": evaluate_targets(results)}
    json_path, md_path = out_dir / "latest.json", out_dir / "latest.md"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(results), encoding="utf-8")
    return json_path, md_path


README_START = "<!-- benchmarks: start (python -m benchmarks --update-readme rewrites this section) -->"
README_END = "<!-- benchmarks: end -->"


def readme_section(results: dict[str, Any]) -> str:
    """The README's Performance section: how to run it, then the latest table, between markers."""
    command = results.get("meta", {}).get("command", "python -m benchmarks")
    intro = [
        "## Performance",
        "",
        README_START,
        "",
        "`python -m benchmarks` (about five minutes; `--quick` under one) starts a fast origin, reference",
        "proxies and edgesim on 127.0.0.1, runs bounded loads at 16 and 64 connections, stops everything,",
        "writes `benchmarks/results/latest.json` and `latest.md`, and prints the table. Every figure that",
        "matters is a ratio to a reference measured in the same run. wrk and nginx are used when",
        "installed (`apt-get install wrk nginx`); without them a Python load generator runs and the nginx",
        "stack is skipped, with a note. The Lambda@Edge reference, serverless-offline-edge-lambda, is",
        "installed once with npm (pinned versions) into `~/.cache/edgesim-bench/sls`; without npm or a",
        "network it is skipped, with a note, and `--quick` never installs it. `--compare CHECKOUT` adds",
        "another checkout's pass-through to the same run, for the before/after of a change to the request",
        "path. Latest run, by `" + command + "`",
        "(the micro-benchmarks' raw figures are in `benchmarks/results/latest.md`):",
    ]
    # The targets already carry the micro-benchmarks' ratios; their raw figures stay in latest.md.
    table = render_markdown(results, micro_table=False).split("\n", 2)[2]  # without its "##" title
    return "\n".join(intro) + "\n\n" + table.strip("\n").replace("\n### ", "\n#### ") + "\n\n" + README_END + "\n"


def update_readme(results: dict[str, Any], readme: Path) -> None:
    """Replace the Performance section between the markers, or append it when there is none."""
    text = readme.read_text(encoding="utf-8")
    section = readme_section(results)
    if README_START in text and README_END in text:
        head = text[: text.index(README_START)]
        head = head[: head.rindex("## Performance")]
        tail = text[text.index(README_END) + len(README_END):].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text, encoding="utf-8")
