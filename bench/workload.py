"""What a workload is: seeded NumPy data, and per mode a builder that turns
that data into a `Case` (what to time, what to compare). Every mode starts
from the same arrays, so agreement with ours-eager means something."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


def _no_state() -> list:
    return []


@dataclass(frozen=True)
class Case:
    """One mode's instance of a workload. `call` is what is timed; its result
    and `state()` (the parameters, for training steps) are what agreement
    compares after the workload's `check_calls` calls."""
    call: Callable[[], object]
    state: Callable[[], list] = _no_state


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    data: Callable[[], dict]  # seeded NumPy arrays shared by every mode
    builders: dict  # mode name -> builder(data) -> Case
    quick: bool = False
    check_calls: int = 1  # training steps: K calls, then the parameters are compared too
    ulps: float = 64.0  # tolerance in units of the dtype's epsilon, times max(1, |reference|)
    flops: float | None = None  # per call, for a GFLOP/s column
    notes: tuple = field(default_factory=tuple)


def to_numpy(value) -> list:
    """Results of any system as a flat list of NumPy copies (copies, because
    later calls may reuse or update the buffers in place)."""
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in to_numpy(v)]
    if isinstance(value, dict):
        return [a for k in sorted(value) for a in to_numpy(value[k])]
    if hasattr(value, "detach"):  # ours and torch tensors
        value = value.detach()
    if hasattr(value, "numpy"):
        value = value.numpy()
    return [np.array(value, copy=True)]
