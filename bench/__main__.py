"""Times named workloads in ours-eager and ours-compiled
(frontend.compile, native code from the LLVM backend), and against
hand-written NumPy, PyTorch eager, torch.compile and jax.jit where those are
installed. Every mode must agree with ours-eager before it is timed; the exit
status is nonzero if one disagrees or fails."""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys

from .machine import machine_info, machine_line
from .plot import write_plot
from .progress import Progress
from .runner import Settings, run_workload
from .systems import MODES, available_modes
from .table import LEGEND, format_table
from .workloads import WORKLOADS

# Many short turns, each after the process's threads went idle (timing.py): with five turns a
# mode and 0.2 s of untimed calls before each, a slow phase of the machine (0.4-1 s here) still fell
# on two or three of one mode's five turns now and then, and moved its median.
QUICK = Settings(repeat=5, min_seconds=0.2, min_sample_seconds=1e-3, rounds=4, warmup_seconds=0.01,
                 quiet_seconds=0.5)
FULL = Settings(repeat=10, min_seconds=1.0, min_sample_seconds=2e-3, rounds=15, warmup_seconds=0.01,
                quiet_seconds=0.5, compile_samples=3)
QUICK_COMPILE_PROBES = {"mlp_step_small"}  # keeps --quick short; a full run probes every workload


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     epilog="Columns: " + "; ".join(LEGEND))
    names = [w.name for w in WORKLOADS]
    parser.add_argument("--quick", action="store_true",
                        help="the quick workload subset, fewer and shorter timings, compile time of "
                             "mlp_step_small only (< 2 min)")
    parser.add_argument("--workload", action="append", choices=names, metavar="NAME",
                        help=f"run this workload (repeatable; overrides --quick's subset): {', '.join(names)}")
    parser.add_argument("--mode", action="append", choices=MODES, metavar="MODE",
                        help=f"run this mode (repeatable; ours-eager always runs as the baseline): {', '.join(MODES)}")
    parser.add_argument("--repeat", type=int, metavar="N",
                        help=f"timed samples per mode at least (default {FULL.repeat}, quick {QUICK.repeat})")
    parser.add_argument("--json", metavar="FILE", help="write the machine, settings and every row as JSON")
    parser.add_argument("--plot", metavar="FILE.png", help="write a bar chart of speedups (needs matplotlib)")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def json_safe(value):
    """Strict JSON has no inf or nan (a mode whose result has the wrong shape
    or NaNs has an infinite error): they are written as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def main(argv=None) -> int:
    args = parse_args(argv)
    base = QUICK if args.quick else FULL
    settings = dataclasses.replace(base, repeat=args.repeat or base.repeat)
    workloads = [w for w in WORKLOADS if (w.name in args.workload if args.workload else w.quick or not args.quick)]
    modes, notes = available_modes(args.mode)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    progress = Progress(len(workloads))
    rows = []
    for i, workload in enumerate(workloads, 1):
        progress.begin(i, workload.name)
        probe = workload.name in QUICK_COMPILE_PROBES if args.quick else True
        rows += run_workload(workload, modes, settings, probe, progress.say)
        progress.finish_workload()
        notes += [f"{workload.name}: {note}" for note in workload.notes]

    info = machine_info()
    print(format_table(rows, machine_line(info), notes))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(json_safe({"machine": info, "settings": {"quick": args.quick, **vars(settings)},
                                 "modes": modes, "notes": notes, "results": rows,
                                 "workloads": {w.name: w.description for w in workloads}}),
                      f, indent=2, allow_nan=False)
    if args.plot:
        problem = write_plot(rows, args.plot)
        print(problem or f"plot written to {args.plot}", file=sys.stderr)
    bad = [r for r in rows if r["status"] != "ok"]
    for r in bad:
        print(f"error: {r['workload']} {r['mode']}: {r['status']}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
