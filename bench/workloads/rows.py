"""Row-wise workloads: softmax over rows, and layer_norm followed by gelu
(reductions fused with the elementwise work around them)."""
from __future__ import annotations

import numpy as np

from ..workload import Workload
from ._modes import pure_function_builders

LAYER_NORM_EPS = 1e-5


def _softmax_numpy(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_jax(x):
    import jax
    return jax.nn.softmax(x, axis=1)


def softmax_rows(rows: int, cols: int, quick: bool) -> Workload:
    def data():
        return {"x": np.random.default_rng(1).standard_normal((rows, cols)).astype(np.float32)}
    builders = pure_function_builders(["x"], lambda lib, x: lib.nn.functional.softmax(x, dim=1),
                                      _softmax_numpy, _softmax_jax)
    return Workload(f"softmax_{rows}x{cols}", f"softmax over rows of {rows}x{cols} float32", data, builders,
                    quick=quick)


def erf_numpy(x):
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): NumPy has no erf, and
    the NumPy mode is hand-written NumPy only."""
    t = 1 / (1 + np.float32(0.3275911) * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1 - poly * np.exp(-x * x))


def _layer_norm_gelu_numpy(x, w, b):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    y = (x - mean) / np.sqrt(var + np.float32(LAYER_NORM_EPS)) * w + b
    return 0.5 * y * (1 + erf_numpy(y / np.float32(np.sqrt(2))))


def _layer_norm_gelu_jax(x, w, b):
    import jax
    import jax.numpy as jnp
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    y = (x - mean) * jax.lax.rsqrt(var + LAYER_NORM_EPS) * w + b
    return jax.nn.gelu(y, approximate=False).astype(jnp.float32)


def layer_norm_gelu(rows: int, cols: int, quick: bool) -> Workload:
    def data():
        rng = np.random.default_rng(3)
        return {"x": rng.standard_normal((rows, cols)).astype(np.float32),
                "w": (1 + 0.1 * rng.standard_normal(cols)).astype(np.float32),
                "b": (0.1 * rng.standard_normal(cols)).astype(np.float32)}

    def torch_like(lib, x, w, b):
        F = lib.nn.functional
        return F.gelu(F.layer_norm(x, (cols,), w, b))
    builders = pure_function_builders(["x", "w", "b"], torch_like, _layer_norm_gelu_numpy, _layer_norm_gelu_jax)
    return Workload(f"layer_norm_gelu_{rows}x{cols}", f"gelu(layer_norm(x)) on {rows}x{cols} float32", data,
                    builders, quick=quick)
