"""Runs one workload in every mode: build, check agreement with ours-eager
(a mode that disagrees is not timed), time, measure peak memory and compile
time, then the speedups against ours-eager and the best other system."""
from __future__ import annotations

import time
from dataclasses import dataclass

from . import compile_time
from .agreement import compare
from .memory import peak_bytes
from .systems import BASELINE, OTHER_SYSTEMS
from .timing import measure
from .workload import to_numpy

IN_PROCESS_COMPILERS = ("torch-compile", "jax-jit")


@dataclass(frozen=True)
class Settings:
    repeat: int
    min_seconds: float  # per mode, beyond `repeat` samples
    min_sample_seconds: float
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


def run_mode(workload, mode, data, reference, settings, probe_compile, say) -> tuple[dict, list | None]:
    row = {"workload": workload.name, "mode": mode, "status": "failed"}
    try:
        say(f"{mode}: checking agreement ({workload.check_calls} call(s))")
        case = workload.builders[mode](data)
        results, first_call_s = check_results(case, workload.check_calls)
    except Exception as exc:  # one broken mode must not hide the others' figures
        return dict(row, error=_error(exc)), None
    reference = results if reference is None else reference
    agreement = compare(results, reference, workload.ulps)
    row.update(max_abs_error=agreement.max_abs_error, first_call_s=first_call_s)
    if not agreement.agrees:
        return dict(row, status="disagrees", reason=agreement.reason), results
    try:
        say(f"{mode}: timing")
        row.update(measure(case.call, settings.repeat, settings.min_seconds, settings.min_sample_seconds))
        row["peak_bytes"] = peak_bytes(mode, case.call)
        row["status"] = "ok"
        if workload.flops:
            row["gflops"] = workload.flops / row["median_s"] / 1e9
        if mode in IN_PROCESS_COMPILERS:
            row["compile"] = compile_time.in_process_overhead(first_call_s, row["median_s"])
        if mode == "ours-compiled" and probe_compile:
            say(f"{mode}: compile time, cold and warm, in fresh processes")
            row["compile"] = compile_time.ours_cold_and_warm(workload.name, settings.compile_samples)
    except Exception as exc:
        row.update(status="failed", error=_error(exc))
    return row, results


def run_workload(workload, modes, settings, probe_compile, say) -> list:
    data = workload.data()
    rows, reference = [], None
    for mode in modes:
        if mode != BASELINE and reference is None:
            rows.append({"workload": workload.name, "mode": mode, "status": "failed",
                         "error": "ours-eager failed, so there is nothing to check this mode against"})
            continue
        row, results = run_mode(workload, mode, data, reference, settings, probe_compile, say)
        if mode == BASELINE:
            reference = results if row["status"] == "ok" else None
        rows.append(row)
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
