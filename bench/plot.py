"""`--plot FILE.png`: speedups over ours-eager per workload and mode, log
scale. matplotlib is the optional `bench` extra; without it the run goes on
and says how to get the plot."""
from __future__ import annotations

from .systems import BASELINE, MODES, load_optional

MISSING = ("--plot needs matplotlib, which is not installed: pip install -e '.[bench]' "
           "(the table and JSON are unaffected)")


def write_plot(rows, path: str) -> str | None:
    """Writes the chart; returns why it could not, or None."""
    matplotlib = load_optional("matplotlib")
    if matplotlib is None:
        return MISSING
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    modes = [m for m in MODES if m != BASELINE and any(r["mode"] == m and "speedup_vs_eager" in r for r in rows)]
    speedup = {(r["workload"], r["mode"]): r["speedup_vs_eager"] for r in rows if "speedup_vs_eager" in r}
    width = 0.8 / max(1, len(modes))
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(workloads)), 5))
    for i, mode in enumerate(modes):
        xs = [j + (i - (len(modes) - 1) / 2) * width for j, w in enumerate(workloads) if (w, mode) in speedup]
        ys = [speedup[(w, mode)] for w in workloads if (w, mode) in speedup]
        ax.bar(xs, ys, width, label=mode)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(workloads)), workloads, rotation=30, ha="right")
    ax.set_ylabel("speedup over ours-eager (log scale)")
    ax.set_title("jitgrad benchmark: median time of ours-eager / median time of the mode")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None
