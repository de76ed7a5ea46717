"""`python -m bench [--quick] [--workload NAME ...] [--mode MODE ...] [--repeat N] [--json FILE]`

Compares ours-eager with ours-compiled (`frontend.compile`, native code
from the LLVM backend), hand-written NumPy and, when
installed, PyTorch eager. No speedup is printed for a mode whose results
disagree with ours-eager."""
from __future__ import annotations

import argparse
import json
import platform
import sys

from .harness import run_workload
from .workloads import WORKLOADS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small workloads, few repetitions (< 2 min)")
    parser.add_argument("--workload", action="append", help="run only these workloads (repeatable)")
    parser.add_argument("--mode", action="append", help="run only these modes besides ours-eager")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per mode (default 5, quick 3)")
    parser.add_argument("--json", help="write the results as JSON to this file")
    args = parser.parse_args(argv)

    chosen = [w for w in WORKLOADS if (not args.workload or w.name in args.workload) and (w.quick or not args.quick)]
    if args.workload and not chosen:
        parser.error(f"no workload named {args.workload}; choose from {[w.name for w in WORKLOADS]}")
    repeat = args.repeat or (3 if args.quick else 5)
    min_seconds = 0.05 if args.quick else 0.5
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    log(f"running {len(chosen)} workloads, {repeat} timed runs each")
    rows = []
    for workload in chosen:
        rows += run_workload(workload, args.mode, repeat, min_seconds, log)

    print(f"\n{'workload':<24} {'mode':<14} {'median':>12} {'spread':>10} {'vs eager':>9} {'max err':>9}")
    for r in rows:
        if r.get("median_s") is None:
            print(f"{r['workload']:<24} {r['mode']:<14} {'disagrees with ours-eager: not timed':>44}")
            continue
        print(f"{r['workload']:<24} {r['mode']:<14} {r['median_s'] * 1e3:10.4f}ms {r['spread_s'] * 1e3:8.3f}ms "
              f"{r['speedup_vs_eager']:8.2f}x {r['max_abs_error']:9.1e}")
    print(f"\nmachine: {platform.machine()} {platform.processor() or ''}, Python {platform.python_version()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "results": rows}, f, indent=2)
    return 0 if all(r["agrees"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
