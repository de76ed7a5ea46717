"""Runs one workload in every mode: build and check agreement with
ours-eager (a mode that disagrees is not timed), time the modes that agree
side by side, measure peak memory and compile time, then the speedups
against ours-eager and the best other system."""
from __future__ import annotations

import time
from dataclasses import dataclass

from . import compile_time
from .agreement import compare
from .memory import peak_bytes
from .systems import BASELINE, OTHER_SYSTEMS
from .timing import measure_interleaved
from .workload import to_numpy

IN_PROCESS_COMPILERS = ("torch-compile", "jax-jit")


@dataclass(frozen=True)
class Settings:
    repeat: int
    min_seconds: float  # per mode, beyond `repeat` samples
    min_sample_seconds: float
    rounds: int = 1  # turns per mode, interleaved with the other modes' (timing.py)
    warmup_seconds: float = 0.0  # untimed calls at the start of each turn
    quiet_seconds: float = 0.0  # at most this long, waiting for other threads to go idle before a turn
    compile_samples: int = 1  # fresh cache directories ours' compile time is the median of


def check_results(case, calls: int):
    """The results of `calls` calls and then the state, and the first call's time."""
    results, first_call_s = [], None
    for _ in range(calls):
        start = time.perf_counter()
        value = case.call()
        first_call_s = time.perf_counter() - start if first_call_s is None else first_call_s
        results += to_numpy(value)
    return results + to_numpy(case.state()), first_call_s


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


def check_mode(workload, mode, data, reference, say) -> tuple[dict, object, list | None]:
    """Build the mode's case and compare its results with the reference:
    (row, case to time or None, results)."""
    row = {"workload": workload.name, "mode": mode, "status": "failed"}
    try:
        say(f"{mode}: checking agreement ({workload.check_calls} call(s))")
        case = workload.builders[mode](data)
        results, first_call_s = check_results(case, workload.check_calls)
    except Exception as exc:  # one broken mode must not hide the others' figures
        return dict(row, error=_error(exc)), None, None
    reference = results if reference is None else reference
    agreement = compare(results, reference, workload.ulps)
    row.update(max_abs_error=agreement.max_abs_error, first_call_s=first_call_s)
    if not agreement.agrees:
        return dict(row, status="disagrees", reason=agreement.reason), None, results
    return row, case, results


def finish_row(workload, row, case, timing, settings, probe_compile, say) -> None:
    """The row of a timed mode: its timing, peak memory, GFLOP/s and compile time."""
    mode = row["mode"]
    try:
        row.update(timing)
        row["peak_bytes"] = peak_bytes(mode, case.call)
        row["status"] = "ok"
        if workload.flops:
            row["gflops"] = workload.flops / row["median_s"] / 1e9
        if mode in IN_PROCESS_COMPILERS:
            row["compile"] = compile_time.in_process_overhead(row["first_call_s"], row["median_s"])
        if mode == "ours-compiled" and probe_compile:
            say(f"{mode}: compile time, cold and warm, in fresh processes")
            row["compile"] = compile_time.ours_cold_and_warm(workload.name, settings.compile_samples)
    except Exception as exc:
        row.update(status="failed", error=_error(exc))


def run_workload(workload, modes, settings, probe_compile, say) -> list:
    """Check every mode against ours-eager, time those that agree side by
    side (timing.measure_interleaved), then finish each row."""
    data = workload.data()
    rows, cases, reference = [], {}, None
    for mode in modes:
        if mode != BASELINE and reference is None:
            rows.append({"workload": workload.name, "mode": mode, "status": "failed",
                         "error": "ours-eager failed, so there is nothing to check this mode against"})
            continue
        row, case, results = check_mode(workload, mode, data, reference, say)
        if mode == BASELINE:
            reference = results if case is not None else None
        if case is not None:
            cases[mode] = case
        rows.append(row)
    say(f"timing {len(cases)} mode(s) in {settings.rounds} interleaved round(s)")
    timings, failures = measure_interleaved({mode: case.call for mode, case in cases.items()}, settings.repeat,
                                            settings.min_seconds, settings.min_sample_seconds, settings.rounds,
                                            settings.warmup_seconds, settings.quiet_seconds)
    for row in rows:
        mode = row["mode"]
        if mode in failures:
            row.update(status="failed", error=_error(failures[mode]))
        elif mode in timings:
            finish_row(workload, row, cases[mode], timings[mode], settings, probe_compile, say)
        say(f"{mode}: {row['status']}")
    add_speedups(rows)
    return rows


def add_speedups(rows: list) -> None:
    timed = [r for r in rows if r["status"] == "ok"]
    eager = next((r["median_s"] for r in timed if r["mode"] == BASELINE), None)
    others = [r for r in timed if r["mode"] in OTHER_SYSTEMS]
    best = min(others, key=lambda r: r["median_s"]) if others else None
    for r in timed:
        if eager is not None:
            r["speedup_vs_eager"] = eager / r["median_s"]
        if best is not None:
            r["speedup_vs_best_other"] = best["median_s"] / r["median_s"]
            r["best_other_mode"] = best["mode"]
