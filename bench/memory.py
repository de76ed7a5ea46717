"""Peak memory of one call, as tracemalloc sees it: every allocation through
Python's allocators and NumPy's (NumPy reports its data buffers to
tracemalloc, and our runtime allocates through NumPy). PyTorch and JAX
allocate outside them, so their modes get no figure ("n/a") rather than a
wrong one."""
from __future__ import annotations

import tracemalloc

MEASURED_MODES = {"ours-eager", "ours-compiled", "numpy"}


def peak_bytes(mode: str, fn) -> int | None:
    if mode not in MEASURED_MODES:
        return None
    if tracemalloc.is_tracing():
        raise RuntimeError("peak_bytes: tracemalloc is already tracing; the peak would include that caller's")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base
