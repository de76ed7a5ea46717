"""Times workloads per mode: warm-up, repeated timing, medians and spread,
after checking that every mode agrees with ours-eager."""
from __future__ import annotations

import statistics
import time

import numpy as np

BASELINE = "ours-eager"


def _time(fn, repeat, min_seconds):
    fn()  # warm-up
    samples = []
    deadline = time.perf_counter() + min_seconds
    while len(samples) < repeat or time.perf_counter() < deadline and len(samples) < 50 * repeat:
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def run_workload(workload, modes_wanted, repeat, min_seconds, log):
    modes = workload.make()
    if modes_wanted:
        modes = {m: f for m, f in modes.items() if m in modes_wanted or m == BASELINE}
    reference = np.asarray(modes[BASELINE]())
    rows = []
    for mode, fn in modes.items():
        result = np.asarray(fn())
        error = float(np.max(np.abs(result.astype(np.float64) - reference))) if result.size else 0.0
        agrees = result.shape == reference.shape and error <= workload.tolerance * max(1.0, float(np.max(np.abs(reference))))
        row = {"workload": workload.name, "mode": mode, "max_abs_error": error, "agrees": agrees}
        if agrees:
            samples = _time(fn, repeat, min_seconds)
            row.update(median_s=statistics.median(samples), spread_s=(max(samples) - min(samples)),
                       runs=len(samples))
        rows.append(row)
        log(f"  {workload.name:<24} {mode:<14} " + (f"{row['median_s'] * 1e3:10.4f} ms" if agrees else "DISAGREES"))
    base = next((r for r in rows if r["mode"] == BASELINE and r.get("median_s")), None)
    for r in rows:
        if base and r.get("median_s"):
            r["speedup_vs_eager"] = base["median_s"] / r["median_s"]
    return rows
