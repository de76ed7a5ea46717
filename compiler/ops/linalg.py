"""Matrix multiplication: [..., M, K] @ [..., K, N] with broadcast batch dims.
The 1-D forms of `matmul` are reshapes around this one primitive."""
from __future__ import annotations

import numpy as np

from ..shapes import broadcast_shapes
from .registry import Aval, Group, Primitive, register


def infer_matmul(x: Aval, y: Aval) -> Aval:
    if len(x.shape) < 2 or len(y.shape) < 2:
        raise RuntimeError(f"matmul primitive needs 2-D or batched operands, got {list(x.shape)} and {list(y.shape)}")
    if x.shape[-1] != y.shape[-2]:
        a = "x".join(map(str, x.shape[-2:]))
        b = "x".join(map(str, y.shape[-2:]))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a} and {b})")
    if x.dtype is not y.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {x.dtype.name} != {y.dtype.name}"
        )
    if x.dtype.category == 0:
        raise RuntimeError('"addmm_impl_cpu_" not implemented for \'Bool\'')
    batch = broadcast_shapes(x.shape[:-2], y.shape[:-2])
    return Aval(batch + (x.shape[-2], y.shape[-1]), x.dtype)


def matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """np.matmul, with operands that have a stride-0 (broadcast) axis made
    contiguous first: NumPy hands those to its own loop instead of BLAS,
    which adds in another order, so a product would round differently only
    because of its operand's layout (`simplify` turning mul(x, ones) into
    expand(x) changed a result by 1 ulp)."""
    return np.matmul(*(np.ascontiguousarray(a) if 0 in a.strides else a for a in (x, y)))


register(Primitive(
    "matmul", Group.MATMUL, infer_matmul, matmul, inputs=("x", "y"),
    vjp=(lambda g, y: g @ y.mT, lambda g, x: x.mT @ g),
    grad_name="MmBackward0",
))
