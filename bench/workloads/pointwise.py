"""Elementwise workloads: a chain of 8 ops at three sizes (fusion and
vectorized transcendental functions), and a tiny call (per-call overhead)."""
from __future__ import annotations

import numpy as np

from ..workload import Workload
from ._modes import pure_function_builders


def chain(x, ns, floor):
    """The same 8 ops in any namespace with tanh, exp and maximum."""
    y = x * 1.5 + 0.5
    y = ns.tanh(y)
    y = y * y - 0.25
    y = ns.exp(-y)
    return ns.maximum(y, floor) / 2.0


def _chain_jax(x):
    import jax.numpy as jnp
    return chain(x, jnp, jnp.float32(0.1))


def elementwise_chain(n: int, label: str, quick: bool) -> Workload:
    def data():
        return {"x": np.random.default_rng(0).standard_normal(n).astype(np.float32)}
    builders = pure_function_builders(["x"], lambda lib, x: chain(x, lib, lib.tensor(0.1)),
                                      lambda x: chain(x, np, np.float32(0.1)), _chain_jax)
    return Workload(f"elementwise_chain_{label}", f"8 elementwise ops on {n:,} float32", data, builders,
                    quick=quick)


def _tiny(x):
    return x * 2 + 1


def tiny_call() -> Workload:
    def data():
        return {"x": np.arange(10, dtype=np.float32)}
    return Workload("tiny_call", "x*2+1 on 10 float32 (per-call overhead)", data,
                    pure_function_builders(["x"], lambda lib, x: _tiny(x), _tiny, _tiny), quick=True)
