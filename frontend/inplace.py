"""In-place ops and `__setitem__` on eager tensors.

Each is computed out of place first (so a failing op leaves the tensor
untouched), then written into the tensor's storage, bumping its version. The
out-of-place result's grad_fn becomes the tensor's: autograd sees the
mutation as a new value, as PyTorch does. A write into a view made by
indexing is replayed on its base as `base[index] = view` (PyTorch's
CopySlices), so the base's history stays right.
"""
from __future__ import annotations

import numpy as np

from compiler import dtypes
from compiler.indexing_ops import index_put, put_at_positions
from compiler.tensor_ops import where

from .autograd.grad_mode import is_grad_enabled, no_grad
from .autograd.node import PrimNode, SavedTensor, rename
from .tensor import Tensor, through_detach


def _check_writable(t: Tensor):
    writable = t._is_writable()  # (a traced input with history outside refuses here: a graph break)
    if is_grad_enabled() and t.grad_fn is None and t._requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if not writable:
        raise RuntimeError(unwritable_message(t))


def unwritable_message(t: Tensor) -> str:
    """Why `t`'s storage refuses writes: a broadcast (stride-0) view, or a
    read-only NumPy array shared through from_numpy."""
    data = t._data
    if any(stride == 0 and n > 1 for stride, n in zip(data.strides, data.shape)):
        return ("unsupported operation: more than one element of the written-to tensor refers to a single "
                "memory location. Please clone() the tensor before performing the operation.")
    return ("unsupported operation: the written-to tensor's memory is read-only (it shares a NumPy array "
            "that is not writeable). Please clone() the tensor before performing the operation.")


def _check_result(t: Tensor, result: Tensor):
    if result.shape != t.shape:
        raise RuntimeError(
            f"output with shape {list(t.shape)} doesn't match the broadcast shape {list(result.shape)}")
    if result.dtype.category > t.dtype.category:
        raise RuntimeError(
            f"result type {result.dtype.legacy_name} can't be cast to the desired output type {t.dtype.legacy_name}")


def _tracks(t: Tensor, result: Tensor) -> bool:
    base = _history_base(t)
    return is_grad_enabled() and (result.requires_grad or t.requires_grad
                                  or base is not None and base.requires_grad)


def _history_base(t: Tensor):
    """The base whose history a write into view `t` rewrites: none for a
    view through detach() (a traced alias; eager's detach() is no view)."""
    return None if t._base is None or through_detach(t) else t._base


def _write(t: Tensor, result: Tensor, name: str | None = None) -> Tensor:
    """Store `result` (already checked) into `t`, values and history."""
    _check_result(t, result)
    if _tracks(t, result):
        if not result.requires_grad:
            # Values replaced by constants: the old history gets zero gradient.
            result = where(t.new_full(t.shape, True, dtypes.bool_), result.to(t.dtype), t)
        if result.dtype is not t.dtype:
            result = result.to(t.dtype)
        _snapshot_saved_self(t, result)
        base = _history_base(t)
        if base is not None and (base.requires_grad or result.requires_grad):
            _write_through_view(t, result)
        else:
            _adopt_history(t, result, name)
    t._store(result)
    t._view_version = t._version_counter.value  # its own history is current
    return t


def _snapshot_saved_self(t: Tensor, result: Tensor):
    """A rule of the in-place op may read the tensor's value from before the
    write (`y.mul_(b)` needs old y for b's gradient): save a copy of it, as
    PyTorch saves `original_self`."""
    saved = getattr(result.grad_fn, "saved", None)
    if not saved:
        return
    for name, value in saved.items():
        if name != "out" and isinstance(value, SavedTensor) and value._tensor is t:
            old = t._snapshot()
            old.grad_fn, old._output_nr, old._requires_grad = t.grad_fn, t._output_nr, t._requires_grad
            saved[name] = SavedTensor(old, False)


def _adopt_history(t: Tensor, result: Tensor, name: str | None):
    node = result.grad_fn
    if name is not None and isinstance(node, PrimNode):
        rename(node, name)
    t.grad_fn, t._output_nr = node, result._output_nr
    saved_out = getattr(node, "saved", {}).get("out")
    if saved_out is not None:
        saved_out.rebind(t)


def _write_through_view(view: Tensor, result: Tensor):
    """The base becomes `base` with the view's elements replaced (CopySlices);
    the view's history is regenerated from the new base."""
    base = view._base
    with no_grad():
        positions = view._view_fn(base.arange_(base.numel()).reshape(base.shape))
    new_base = put_at_positions(base, positions, result)
    _adopt_history(base, new_base, "CopySlices")
    regenerated = view._view_fn(base)
    view.grad_fn, view._output_nr = regenerated.grad_fn, 0


def _inplace(name, compute, grad_name=None):
    def method(self, *args, **kwargs):
        _check_writable(self)
        return _write(self, compute(self, *args, **kwargs), grad_name)
    method.__name__ = name
    method.__doc__ = f"In-place `{name.rstrip('_')}`: writes the result into this tensor."
    return method


def _fill(self, value):
    value = value.item() if isinstance(value, Tensor) else value
    return self.new_full(self.shape, value)


def _copy(self, src, non_blocking=False):
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    return src.to(self.dtype).expand(self.shape) if src.shape != self.shape else src.to(self.dtype)


for _name, _compute, _grad_name in [
    ("add_", lambda s, o, alpha=1: s.add(o, alpha=alpha), None),
    ("sub_", lambda s, o, alpha=1: s.sub(o, alpha=alpha), None),
    ("mul_", lambda s, o: s * o, None),
    ("div_", lambda s, o: s / o, None),
    ("pow_", lambda s, o: s ** o, None),
    ("neg_", lambda s: -s, None),
    ("exp_", lambda s: s.exp(), None),
    ("sqrt_", lambda s: s.sqrt(), None),
    ("abs_", lambda s: s.abs(), None),
    ("relu_", lambda s: s.relu(), None),
    ("sigmoid_", lambda s: s.sigmoid(), None),
    ("tanh_", lambda s: s.tanh(), None),
    ("clamp_", lambda s, min=None, max=None: s.clamp(min, max), None),
    ("zero_", lambda s: _fill(s, 0), "ZeroBackward0"),
    ("fill_", _fill, "FillBackward2"),
    ("copy_", _copy, "CopyBackwards"),
]:
    setattr(Tensor, _name, _inplace(_name, _compute, _grad_name))

Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_


def _setitem(self, index, value):
    _check_writable(self)
    if not isinstance(value, Tensor):
        if isinstance(value, (list, tuple, np.ndarray)):
            from .creation import tensor
            value = tensor(value, dtype=self.dtype)
    if not _tracks(self, value if isinstance(value, Tensor) else self):
        with no_grad():
            result = index_put(self, index, value)
        self._store(result)
        return
    _write(self, index_put(self, index, value), "CopySlices")


Tensor.__setitem__ = _setitem
