"""Reductions over a set of axes, with keepdim: sum, amax, amin, argmax, argmin."""
from __future__ import annotations

import numpy as np

from .. import dtypes
from .registry import Aval, Group, Primitive, register


def reduced_shape(shape, axes, keepdim):
    if keepdim:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _check_axes(x: Aval, axes):
    for a in axes:
        if not 0 <= a < max(len(x.shape), 1):
            raise IndexError(f"reduction axis {a} out of range for shape {list(x.shape)}")


def infer_sum(x: Aval, *, axes, keepdim) -> Aval:
    _check_axes(x, axes)
    dtype = x.dtype if x.dtype.is_floating_point else dtypes.int64
    return Aval(reduced_shape(x.shape, axes, keepdim), dtype)


def _infer_extremum(name):
    def infer(x: Aval, *, axes, keepdim) -> Aval:
        _check_axes(x, axes)
        if any(x.shape[a] == 0 for a in axes if a < len(x.shape)):
            raise IndexError(
                f"{name}(): Expected reduction dim {list(axes)} to have non-zero size, "
                f"but the input has shape {list(x.shape)}"
            )
        if name.startswith("arg") and len(axes) != 1:
            raise ValueError(f"{name} reduces exactly one axis, got axes {list(axes)}")
        dtype = dtypes.int64 if name.startswith("arg") else x.dtype
        return Aval(reduced_shape(x.shape, axes, keepdim), dtype)
    return infer


def _np_axes(x, axes):
    """A 0-d value reduces over "axis 0" (PyTorch accepts dim 0 and -1); NumPy wants no axes."""
    return axes if x.ndim else ()


def _sum(x, axes, keepdim):
    dtype = x.dtype if x.dtype.kind == "f" else np.int64
    return np.sum(x, axis=_np_axes(x, axes), keepdims=keepdim, dtype=dtype)


def _arg(fn):
    def reference(x, axes, keepdim):
        if x.ndim == 0:
            return np.zeros((), np.int64)
        (axis,) = axes
        return fn(x, axis=axis, keepdims=keepdim).astype(np.int64)
    return reference


def _expand_back(g, shapes, axes, keepdim):
    """A reduced gradient broadcast back over the reduced axes."""
    (shape,) = shapes
    if not keepdim:
        g = g.reshape(reduced_shape(shape, axes, True))
    return g.expand(shape)


def _extremum_rule(g, x, out, shapes, axes, keepdim):
    """Ties share the gradient evenly, as PyTorch's amax/amin do."""
    out = _expand_back(out, shapes, axes, keepdim)
    hit = (x == out).to(g.dtype)
    count = hit.sum(axes, keepdim=True)
    return _expand_back(g, shapes, axes, keepdim) * hit / count


def reduction(name, reference, infer, vjp=None, grad_name=""):
    return register(Primitive(name, Group.REDUCE, infer, reference, vjp=vjp,
                              attrs=("axes", "keepdim"), grad_name=grad_name))


reduction("sum", _sum, infer_sum, (_expand_back,))
reduction("amax", lambda x, axes, keepdim: np.amax(x, axis=_np_axes(x, axes), keepdims=keepdim),
          _infer_extremum("amax"), (_extremum_rule,))
reduction("amin", lambda x, axes, keepdim: np.amin(x, axis=_np_axes(x, axes), keepdims=keepdim),
          _infer_extremum("amin"), (_extremum_rule,))
reduction("argmax", _arg(np.argmax), _infer_extremum("argmax"))
reduction("argmin", _arg(np.argmin), _infer_extremum("argmin"))
