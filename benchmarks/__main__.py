"""python -m benchmarks [--quick]: run every stack, write results/latest.json and latest.md, print the table."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from benchmarks.report import STACKS, render_markdown, update_readme, write_report
from benchmarks.run import Options, run

RESULTS = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parent.parent / "README.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="short measurements: the whole run within a minute (without serverless-offline-edge-lambda "
                             "and its one-handler edgesim scenario, unless --only names them; never installs)")
    parser.add_argument("--only", default="", help=f"comma-separated stacks to run, of: {', '.join(STACKS)}")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--no-micro", action="store_true", help="skip the product micro-benchmarks")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.json and latest.md go")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator even if wrk is installed")
    parser.add_argument("--no-nginx", action="store_true", help="run as if nginx were not installed")
    parser.add_argument("--compare", type=Path, metavar="CHECKOUT",
                        help="also measure pass-through with the edgesim of another checkout (a before/after)")
    parser.add_argument("--update-readme", action="store_true", help="rewrite README.md's Performance section")
    args = parser.parse_args(argv)
    only = tuple(s for s in args.only.split(",") if s)
    unknown = sorted(set(only) - set(STACKS))
    if unknown:
        parser.error(f"unknown stack(s) {unknown}; choose from {list(STACKS)}")
    if args.no_nginx:
        os.environ["EDGESIM_BENCH_NO_NGINX"] = "1"
    results = run(Options(quick=args.quick, only=only, memory=not args.no_memory, micro=not args.no_micro,
                          wrk=not args.no_wrk, compare=args.compare))
    json_path, md_path = write_report(results, args.out)
    print(render_markdown(results))
    if args.update_readme:
        results["meta"]["command"] += " --update-readme"
        update_readme(results, README)
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
