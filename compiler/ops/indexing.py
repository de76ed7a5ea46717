"""Integer indexing: `gather` takes entries along one axis (NumPy's `take`),
`scatter_add` is its transpose (NumPy's `add.at`). Indices are checked before
anything reads memory; negative indices count from the end."""
from __future__ import annotations

import numpy as np

from .. import dtypes
from .registry import Aval, Group, Primitive, register


def _check_index_dtype(idx: Aval):
    if idx.dtype.category != dtypes.INT:
        raise IndexError(f"tensors used as indices must be long or int tensors, got {idx.dtype}")


def infer_gather(x: Aval, idx: Aval, *, axis) -> Aval:
    _check_index_dtype(idx)
    if not 0 <= axis < len(x.shape):
        raise IndexError(f"gather axis {axis} out of range for shape {list(x.shape)}")
    return Aval(x.shape[:axis] + idx.shape + x.shape[axis + 1:], x.dtype)


def infer_scatter_add(base: Aval, idx: Aval, src: Aval, *, axis) -> Aval:
    expected = infer_gather(base, idx, axis=axis).shape
    if src.shape != expected:
        raise RuntimeError(f"scatter_add: source shape {list(src.shape)} != expected {list(expected)}")
    if src.dtype is not base.dtype:
        raise RuntimeError(f"scatter_add: source dtype {src.dtype} != base dtype {base.dtype}")
    return base


def checked_index(idx: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Indices wrapped from negative and bounds-checked: IndexError, never a bad read."""
    if idx.size and (idx.min() < -size or idx.max() >= size):
        bad = idx[(idx < -size) | (idx >= size)].flat[0]
        raise IndexError(f"index {bad} is out of bounds for dimension {axis} with size {size}")
    return np.where(idx < 0, idx + size, idx)


def _gather(x, idx, axis):
    return np.take(x, checked_index(idx, x.shape[axis], axis), axis=axis)


def _scatter_add(base, idx, src, axis):
    out = np.array(base, copy=True)
    where = (slice(None),) * axis + (checked_index(idx, base.shape[axis], axis),)
    np.add.at(out, where, src)
    return out


register(Primitive(
    "gather", Group.INDEX, infer_gather, _gather, inputs=("x", "idx"), attrs=("axis",),
    vjp=(lambda g, shapes, idx, axis: g.new_zeros(shapes[0]).scatter_add_along(idx, g, axis), None),
    grad_name="IndexBackward0",
))
register(Primitive(
    "scatter_add", Group.INDEX, infer_scatter_add, _scatter_add, inputs=("base", "idx", "src"),
    attrs=("axis",),
    vjp=(lambda g: g, None, lambda g, idx, axis: g.gather_along(idx, axis)),
    grad_name="IndexAddBackward0",
))
