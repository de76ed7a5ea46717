"""`compile(fn, check=True)` (or `JITGRAD_CHECK=1`): run eager beside the
compiled graph on a variant's first calls and raise on disagreement, naming
the output and the error. The caller's tensors and state (optimizer state a
first step creates) end up as eager leaves them."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .guards import path_name
from .placement import MISSING, lookup, remove, swap_in

CHECKED_CALLS = 2  # per variant


class CompiledMismatchError(AssertionError):
    """The compiled graph's result differs from eager's."""


def _tolerance(dtype):
    return {np.dtype(np.float32): (1e-4, 1e-5), np.dtype(np.float64): (1e-10, 1e-12)}.get(dtype, (0, 0))


def _leaves(result, path="out"):
    if isinstance(result, Tensor):
        yield path, result
    elif isinstance(result, (list, tuple)):
        for i, item in enumerate(result):
            yield from _leaves(item, f"{path}[{i}]")
    elif isinstance(result, dict):
        for k, item in result.items():
            yield from _leaves(item, f"{path}[{k!r}]")
    else:
        yield path, result


def compare(name, compiled, eager):
    """Raise CompiledMismatchError on the first leaf that differs."""
    got, want = list(_leaves(compiled)), list(_leaves(eager))
    if [p for p, _ in got] != [p for p, _ in want]:
        raise CompiledMismatchError(f"{name}: compiled returns {[p for p, _ in got]}, eager {[p for p, _ in want]}")
    for (path, a), (_, b) in zip(got, want):
        if isinstance(b, Tensor):
            a_data, b_data = a._data, b._data
            if a_data.shape != b_data.shape or a_data.dtype != b_data.dtype:
                raise CompiledMismatchError(f"{name}: {path} is {a_data.dtype}{list(a_data.shape)} compiled, "
                                            f"{b_data.dtype}{list(b_data.shape)} eager")
            rtol, atol = _tolerance(b_data.dtype)
            if not np.allclose(a_data, b_data, rtol=rtol, atol=atol, equal_nan=True):
                with np.errstate(all="ignore"):
                    err = np.nanmax(np.abs(a_data.astype(np.float64) - b_data.astype(np.float64)))
                raise CompiledMismatchError(f"{name}: {path} differs from eager (max abs error {err:.3g})")
        elif a != b and not (a != a and b != b):
            raise CompiledMismatchError(f"{name}: {path} is {a!r} compiled, {b!r} eager")


def checked_call(name, variant, tensors, roots, run_eager):
    """Run `variant` and eager on the same inputs; return the compiled result."""
    written, leaves = variant.written_tensors(tensors), variant.grad_leaves(tensors)
    where = roots() if variant.stores else None
    stored_before = [lookup(where, s.path) for s in variant.stores]
    before = [(t._data.copy(), t._version_counter.value) for t in written]
    grads_before = [_grad_snapshot(t) for t in leaves]
    compiled = variant.run(tensors, roots)
    after = [t._data.copy() for t in written]
    grads_after = [_grad_snapshot(t) for t in leaves]
    stored = [lookup(where, s.path) for s in variant.stores]
    for t, (data, version) in zip(written, before):
        np.copyto(t._data, data)
        t._version_counter.value = version
    for t, snapshot in zip(leaves, grads_before):
        _restore_grad(t, snapshot)
    for s, old in zip(variant.stores, stored_before):  # eager must find the state the compiled run found
        if old is MISSING:
            remove(where, s.path)
        else:
            swap_in(where, s.path, old)
    eager = run_eager()
    compare(name, compiled, eager)
    for s, value in zip(variant.stores, stored):
        eager_value = lookup(where, s.path)
        if not isinstance(eager_value, Tensor):
            raise CompiledMismatchError(f"{name}: the tensor stored at {path_name(s.path)} is a tensor compiled, "
                                        f"{eager_value!r} eager")
        compare(name + f" (stored at {path_name(s.path)})", value, eager_value)
    for t, data in zip(written, after):
        compare(name, Tensor._wrap(data), Tensor._wrap(t._data))
    for t, (_, data, _) in zip(leaves, grads_after):
        if (data is None) != (t._grad is None):
            raise CompiledMismatchError(f"{name}: a leaf's .grad is {'None' if data is None else 'set'} "
                                        f"compiled, {'None' if t._grad is None else 'set'} eager")
        if data is not None:
            compare(name + " (.grad)", Tensor._wrap(data), t._grad)
    return compiled


def _grad_snapshot(t):
    grad = t._grad
    return (grad, None, 0) if grad is None else (grad, grad._data.copy(), grad._version_counter.value)


def _restore_grad(t, snapshot):
    grad, data, version = snapshot
    t._grad = grad
    if grad is not None:
        np.copyto(grad._data, data)
        grad._version_counter.value = version
