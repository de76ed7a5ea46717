"""`compile(fn, check=True)` (or `JITGRAD_CHECK=1`): run eager beside the
compiled graph on a variant's first calls and raise on disagreement, naming
the output, in-place write, stored tensor, `.grad` or gradient and the max
abs and rel error. The caller's tensors and state end up as eager leaves
them. When the outputs get the compiled backward, the first backward through
them also runs eager's backward of the eager outputs with the same incoming
gradients and compares each input's gradient."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..autograd import grad
from ..tensor import Tensor
from .guards import path_name
from .placement import MISSING, lookup, remove, swap_in

CHECKED_CALLS = 2  # per variant


class CompiledMismatchError(AssertionError):
    """The compiled graph's result differs from eager's."""


def _tolerance(dtype):
    """(rtol, atol) of np.allclose: a few ulp of float32 summed in another order; exact otherwise."""
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


def _difference(a: np.ndarray, b: np.ndarray, rtol, atol) -> str:
    """How far `a` (compiled) is from `b` (eager), for the message."""
    with np.errstate(all="ignore"):
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        diff = np.abs(a64 - b64)
        nan = np.isnan(a64) != np.isnan(b64)
        abs_err = np.nanmax(np.where(nan, np.nan, diff), initial=0.0)
        rel_err = np.nanmax(np.where(nan | (diff == 0), 0.0, diff / np.abs(b64)), initial=0.0)
    where = f"; NaN in one and not the other at {int(nan.sum())} of {a.size} elements" if nan.any() else ""
    return (f"max abs error {abs_err:.3g}, max rel error {rel_err:.3g} ({a.dtype} tolerance: rtol {rtol:g}, "
            f"atol {atol:g}){where}")


def compare(name, compiled, eager, path="out"):
    """Raise CompiledMismatchError on the first leaf that differs; `path`
    names the whole value (`out`, `.grad of w`)."""
    got, want = list(_leaves(compiled, path)), list(_leaves(eager, path))
    if [p for p, _ in got] != [p for p, _ in want]:
        raise CompiledMismatchError(f"{name}: compiled returns {[p for p, _ in got]}, eager {[p for p, _ in want]}")
    for (where, a), (_, b) in zip(got, want):
        if isinstance(b, Tensor):
            if not isinstance(a, Tensor):
                raise CompiledMismatchError(f"{name}: {where} is {a!r} compiled, a tensor eager")
            a_data, b_data = a._data, b._data
            if a_data.shape != b_data.shape or a_data.dtype != b_data.dtype:
                raise CompiledMismatchError(f"{name}: {where} is {a_data.dtype}{list(a_data.shape)} compiled, "
                                            f"{b_data.dtype}{list(b_data.shape)} eager")
            rtol, atol = _tolerance(b_data.dtype)
            if not np.allclose(a_data, b_data, rtol=rtol, atol=atol, equal_nan=True):
                raise CompiledMismatchError(
                    f"{name}: {where} differs from eager: {_difference(a_data, b_data, rtol, atol)}")
        elif a != b and not (a != a and b != b):
            raise CompiledMismatchError(f"{name}: {where} is {a!r} compiled, {b!r} eager")


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
    names = _input_names(variant)
    for w, t, data in zip(variant.writebacks, written, after):
        compare(name, Tensor._wrap(data), Tensor._wrap(t._data), f"{names.get(_key(w.source), 'an input')} "
                                                                 "(written in place)")
    for s, value in zip(variant.stores, stored):
        eager_value = lookup(where, s.path)
        label = f"the tensor stored at {path_name(s.path)}"
        if not isinstance(eager_value, Tensor):
            raise CompiledMismatchError(f"{name}: {label} is a tensor compiled, {eager_value!r} eager")
        compare(name, value, eager_value, label)
    for u, t, (_, data, _) in zip(variant.grad_updates, leaves, grads_after):
        label = f".grad of {names.get(_key(u.owner), 'a leaf')}"
        if (data is None) != (t._grad is None):
            raise CompiledMismatchError(f"{name}: {label} is {'None' if data is None else 'set'} "
                                        f"compiled, {'None' if t._grad is None else 'set'} eager")
        if data is not None:
            compare(name, Tensor._wrap(data), t._grad, label)
    _check_backward(name, variant, compiled, eager, tensors, names)
    return compiled


def _check_backward(name, variant, compiled, eager, tensors, names):
    """Have the first backward through this call's compiled outputs compare
    its gradients with eager's backward of the eager outputs."""
    plan = variant.plan
    node = next((t.grad_fn for _, t in _leaves(compiled)
                 if isinstance(t, Tensor) and getattr(t.grad_fn, "plan", None) is plan and plan is not None), None)
    if node is None:
        return
    outputs, labels = [None] * len(plan.differentiate), [None] * len(plan.differentiate)
    for (path, a), (_, b) in zip(_leaves(compiled), _leaves(eager)):
        if isinstance(a, Tensor) and a.grad_fn is node:
            outputs[a._output_nr], labels[a._output_nr] = b, path
    if any(b is None or not isinstance(b, Tensor) or not b.requires_grad for b in outputs):
        return  # an output not returned as itself: eager cannot be seeded alike
    inputs = variant.differentiated_inputs(tensors)
    input_names = [names.get(_key(variant.sources[i]), "an input") for i in plan.wrt]

    def run_and_check(arrays):
        node.plan = plan  # once: later backwards (retain_graph) run unchecked
        grads = plan.run_backward(arrays)
        cotangents = [Tensor._wrap(np.array(c)) for c in arrays[len(arrays) - len(outputs):]]
        expected = grad(outputs, inputs, cotangents, allow_unused=True)
        for label, got, want, t in zip(input_names, grads, expected, inputs):
            if want is None:
                want = Tensor._wrap(np.zeros(t.shape, t.dtype.np))
            compare(name, Tensor._wrap(got), want, f"the gradient of {', '.join(labels)} w.r.t. {label}")
        return grads

    node.plan = dataclasses.replace(plan, run_backward=run_and_check)


def _key(source):
    kind, ref = source[:2]
    return (kind, ref if kind == "arg" else id(ref))


def _input_names(variant) -> dict:
    """Graph input names (`x`, `model.fc.weight`) by source."""
    return {_key(source): value.name for source, value in zip(variant.sources, variant.graph.inputs)
            if source[0] in ("arg", "hidden")}


def _grad_snapshot(t):
    grad = t._grad
    return (grad, None, 0) if grad is None else (grad, grad._data.copy(), grad._version_counter.value)


def _restore_grad(t, snapshot):
    grad, data, version = snapshot
    t._grad = grad
    if grad is not None:
        np.copyto(grad._data, data)
        grad._version_counter.value = version
