"""The named workloads, in the order they run; `quick` marks the subset
that `--quick` runs."""
from __future__ import annotations

from .gemm import gemm
from .logreg import logistic_regression_step
from .mlp import mlp_step
from .pointwise import elementwise_chain, tiny_call
from .rows import layer_norm_gelu, softmax_rows

WORKLOADS = [
    elementwise_chain(10 ** 3, "1e3", quick=True),
    elementwise_chain(10 ** 6, "1e6", quick=True),
    elementwise_chain(16 * 10 ** 6, "1.6e7", quick=False),
    softmax_rows(256, 1024, quick=True),
    softmax_rows(4096, 1024, quick=False),
    layer_norm_gelu(256, 1024, quick=True),
    logistic_regression_step(),
    mlp_step("small", 32, (64, 64, 10), quick=True),
    mlp_step("large", 256, (784, 512, 10), quick=False),
    gemm(512, quick=True),
    gemm(1024, quick=False),
    tiny_call(),
]


def workload_named(name: str):
    for workload in WORKLOADS:
        if workload.name == name:
            return workload
    raise KeyError(f"no workload named {name!r}; choose from {', '.join(w.name for w in WORKLOADS)}")
