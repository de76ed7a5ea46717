"""Agreement of a mode's results with ours-eager's before any timing: a mode
that computes something else has no speed worth reporting."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Agreement:
    agrees: bool
    max_abs_error: float
    reason: str = ""


def tolerance(reference: np.ndarray, ulps: float) -> float:
    """`ulps` epsilons of the reference's dtype, scaled by its magnitude (at
    least 1): float32 and float64 results get tolerances fit for each; integer
    results must match exactly."""
    if not np.issubdtype(reference.dtype, np.floating):
        return 0.0
    magnitude = float(np.max(np.abs(reference))) if reference.size else 0.0
    return ulps * float(np.finfo(reference.dtype).eps) * max(1.0, magnitude)


def compare(results: list, reference: list, ulps: float) -> Agreement:
    if len(results) != len(reference):
        return Agreement(False, float("inf"), f"{len(results)} results, ours-eager gives {len(reference)}")
    worst, agrees, reason = 0.0, True, ""
    for i, (got, want) in enumerate(zip(results, reference)):
        if got.shape != want.shape:
            return Agreement(False, float("inf"), f"result {i} has shape {got.shape}, ours-eager {want.shape}")
        if got.size == 0:
            continue
        error = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
        if not np.isfinite(error) or error > tolerance(want, ulps):
            agrees, reason = False, reason or f"result {i}: max err {error:.2e} > tolerance {tolerance(want, ulps):.2e}"
        worst = max(worst, error) if np.isfinite(error) else float("inf")
    return Agreement(agrees, worst, reason)
