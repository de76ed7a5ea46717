"""The readable table on stdout, with the machine line and a legend that
says what each column measures."""
from __future__ import annotations

LEGEND = (
    "median: per-call seconds; spread: interquartile range of the timed samples; a workload's modes are "
    "timed side by side, in rounds of one turn each (15 rounds in a full run, 4 in --quick)",
    "vs eager: ours-eager median / this median; vs best: the fastest agreeing of numpy, torch-eager, "
    "torch-compile and jax-jit / this median",
    "compile: ours-compiled's first call in a fresh process with an empty cache dir / with that cache warm "
    "(medians of 3 such pairs in a full run, 1 in --quick); "
    "* torch.compile and jax.jit: first call minus a steady call, in this process",
    "peak: tracemalloc peak over one call (Python and NumPy allocations); n/a where the system allocates "
    "outside them (torch, jax)",
)
HEADER = (f"{'workload':<24} {'mode':<13} {'median':>9} {'spread':>9} {'vs eager':>8} {'vs best':>8} "
          f"{'max err':>8} {'compile cold/warm':>17} {'peak MB':>8}  extra")


def seconds(value) -> str:
    if value is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value * 1e9:.3g}ns"


def _times(value) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def _compile(row) -> str:
    compiled = row.get("compile") or {}
    if "cold_s" in compiled:
        return f"{seconds(compiled['cold_s'])}/{seconds(compiled['warm_s'])}"
    if "first_call_minus_steady_s" in compiled:
        return seconds(compiled["first_call_minus_steady_s"]) + "*"
    return "-"


def format_row(row) -> str:
    head = f"{row['workload']:<24} {row['mode']:<13} "
    if row["status"] == "disagrees":
        return head + f"disagrees: max err {row['max_abs_error']:.2e} ({row.get('reason', '')})"
    if row["status"] == "failed":
        return head + f"failed: {row['error']}"[:200]
    peak = f"{row['peak_bytes'] / 2**20:.3g}" if row.get("peak_bytes") is not None else "n/a"
    extra = f"{row['gflops']:.1f} GFLOP/s" if "gflops" in row else ""
    return (head + f"{seconds(row['median_s']):>9} {seconds(row['q3_s'] - row['q1_s']):>9} "
            f"{_times(row.get('speedup_vs_eager')):>8} {_times(row.get('speedup_vs_best_other')):>8} "
            f"{row['max_abs_error']:8.1e} {_compile(row):>17} {peak:>8}  {extra}").rstrip()


def format_table(rows, machine_line: str, notes) -> str:
    lines = [HEADER, "-" * len(HEADER)]
    previous = None
    for row in rows:
        if previous is not None and row["workload"] != previous:
            lines.append("")
        lines.append(format_row(row))
        previous = row["workload"]
    lines += ["", machine_line]
    lines += [f"note: {note}" for note in notes]
    lines += [f"  {line}" for line in LEGEND]
    return "\n".join(lines)
