"""GEMM: our compiled `a @ b` (its column slabs on our threads) against the
BLAS behind numpy.matmul, PyTorch and XLA at their default thread counts."""
from __future__ import annotations

import numpy as np

from ..workload import Workload
from ._modes import pure_function_builders


def _matmul(a, b):
    return a @ b


def gemm(n: int, quick: bool) -> Workload:
    def data():
        rng = np.random.default_rng(4)
        return {"a": rng.standard_normal((n, n)).astype(np.float32),
                "b": rng.standard_normal((n, n)).astype(np.float32)}
    builders = pure_function_builders(["a", "b"], lambda lib, a, b: a @ b, np.matmul, _matmul)
    return Workload(f"gemm_{n}", f"{n}x{n} @ {n}x{n} float32", data, builders, quick=quick,
                    flops=2.0 * n ** 3)
