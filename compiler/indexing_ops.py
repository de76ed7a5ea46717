"""`x[index]` and its functional write `index_put`, lowered to primitives.

Basic indexing (ints, slices, None, Ellipsis) is one strided slice and one
reshape, so eager results are views. Integer-tensor (advanced) indexing is a
gather over the flattened indexed dims; boolean masks become integer indices
(which needs concrete data). Writing is where(mask, value placed, old): the
same primitives, so `__setitem__` is differentiable with no extra rules.
"""
from __future__ import annotations

import math

from . import dtypes
from .tensor_ops import TensorOps, where


class _Plan:
    """What one index expression does to a tensor of a given shape."""

    def __init__(self):
        self.starts, self.stops, self.steps = [], [], []
        self.sliced_shape = []  # shape after the strided slice
        self.out_dims = []  # ("keep", size) | ("new",) | ("adv", size); ints are dropped
        self.advanced = []  # (position among out_dims, index tensor, dim size, source dim)
        self.last_basic = None  # PyTorch's grad_fn name of the last basic step


def _as_index_tensor(x, item):
    if isinstance(item, TensorOps):
        return item
    return x._index_tensor(item)


def _items(x, index):
    items = list(index) if isinstance(index, tuple) else [index]
    out = []
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, slice):
            out.append(item)
        elif isinstance(item, bool):
            raise IndexError("indexing with a Python bool is not supported; use a bool tensor mask")
        elif isinstance(item, int) or hasattr(item, "__index__") and not isinstance(item, TensorOps):
            out.append(int(item.__index__()) if not isinstance(item, int) else item)
        elif isinstance(item, TensorOps) and item.ndim == 0 and item.dtype.category == dtypes.INT:
            out.append(int(item))  # PyTorch treats a 0-d integer tensor as an int
        elif isinstance(item, (list, TensorOps)) or type(item).__module__ == "numpy":
            t = _as_index_tensor(x, item)
            if t.dtype.category == dtypes.FLOAT:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(t)
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                f"are valid indices (got {type(item).__name__})")
    return out


def _consumed(item):
    if item is None or item is Ellipsis:
        return 0
    if isinstance(item, TensorOps) and item.dtype is dtypes.bool_:
        return max(item.ndim, 1)
    return 1


def plan_index(x, index) -> _Plan:
    items = _items(x, index)
    if sum(i is Ellipsis for i in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_consumed(i) for i in items)
    if used > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items[k:k + 1] = [slice(None)] * (x.ndim - used)
    else:
        items += [slice(None)] * (x.ndim - used)

    plan, d = _Plan(), 0
    lone_slice = isinstance(index, slice)  # `x[:]` is a SliceBackward0, `x[0, :]` a SelectBackward0
    for item in items:
        if item is None:
            plan.out_dims.append(("new",))
            plan.last_basic = "UnsqueezeBackward0"
            continue
        if isinstance(item, TensorOps) and item.dtype is dtypes.bool_:
            _plan_mask(x, plan, item, d)
            d += max(item.ndim, 1)
            continue
        n = x.shape[d]
        if isinstance(item, slice):
            if item.step is not None and item.step <= 0:
                raise ValueError("step must be greater than zero")
            start, stop, step = item.indices(n)
            stop = max(stop, start)
            _take(plan, start, stop, step)
            size = plan.sliced_shape[-1]
            plan.out_dims.append(("keep", size))
            if (start, stop, step) != (0, n, 1) or lone_slice:
                plan.last_basic = "SliceBackward0"
        elif isinstance(item, int):
            if not -n <= item < n:
                raise IndexError(f"index {item} is out of bounds for dimension {d} with size {n}")
            _take(plan, item % n, item % n + 1, 1)
            plan.last_basic = "SelectBackward0"
        else:  # integer index tensor
            _take(plan, 0, n, 1)
            plan.advanced.append((len(plan.out_dims), item, n, d))
            plan.out_dims.append(("adv", n))
        d += 1
    return plan


def _take(plan, start, stop, step):
    plan.starts.append(start)
    plan.stops.append(stop)
    plan.steps.append(step)
    plan.sliced_shape.append(max(0, -(-(stop - start) // step)))


def _plan_mask(x, plan, mask, d):
    span = x.shape[d:d + max(mask.ndim, 1)]
    for k, (m, s) in enumerate(zip(mask.shape, span)):
        if m != s:
            raise IndexError(
                f"The shape of the mask {list(mask.shape)} at index {k} does not match "
                f"the shape of the indexed tensor {list(x.shape)} at index {d + k}")
    if mask.ndim == 0:
        raise IndexError("indexing with a 0-d bool tensor is not supported")
    for k, idx in enumerate(mask._nonzero()):
        _take(plan, 0, span[k], 1)
        plan.advanced.append((len(plan.out_dims), idx, span[k], d + k))
        plan.out_dims.append(("adv", span[k]))


def _basic(x, plan):
    """The strided slice and reshape that apply the basic part of the plan."""
    y = x
    if tuple(plan.sliced_shape) != x.shape or any(s != 1 for s in plan.steps) or any(plan.starts):
        y = x.strided_slice(plan.starts, plan.stops, plan.steps)
    shape = tuple(1 if kind[0] == "new" else kind[1] for kind in plan.out_dims)
    return y.reshape(shape) if shape != y.shape or y is x else y


def _advanced(y, plan):
    """Gather the advanced-indexed dims of `y` (basic part already applied)."""
    positions = [p for p, *_ in plan.advanced]
    index_shape = _broadcast_index_shape(plan)
    consecutive = positions == list(range(positions[0], positions[0] + len(positions)))
    if not consecutive:  # NumPy's rule: the indexed dims go first
        rest = [i for i in range(y.ndim) if i not in positions]
        y = y.permute(*(positions + rest))
        positions = list(range(len(positions)))
    first = positions[0]
    linear = None
    for (_, idx, n, dim), pos in zip(plan.advanced, positions):
        idx = y._checked_index(idx, n, dim).expand(index_shape)
        linear = idx if linear is None else linear * n + idx
    sizes = y.shape[first:first + len(positions)]
    flat = y.reshape(y.shape[:first] + (math.prod(sizes),) + y.shape[first + len(positions):])
    return flat.gather_along(linear.to(dtypes.int64), first)


def _broadcast_index_shape(plan):
    from .shapes import broadcast_shapes
    try:
        return broadcast_shapes(*(idx.shape for _, idx, _, _ in plan.advanced))
    except RuntimeError:
        shapes = ", ".join(str(list(idx.shape)) for _, idx, _, _ in plan.advanced)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together with shapes {shapes}") from None


def getitem(x, index):
    plan = plan_index(x, index)
    mark = x._mark()
    y = _basic(x, plan)
    if plan.advanced:
        return x._label(_advanced(y, plan), "IndexBackward0", mark)
    if y is x:
        y = x.reshape(x.shape)
    return x._label(y, plan.last_basic or "AliasBackward0", mark)


def index_put(x, index, value):
    """A new tensor equal to `x` with `x[index] = value` (value broadcast and
    cast to x's dtype, as PyTorch's setitem does)."""
    plan = plan_index(x, index)
    if not isinstance(value, TensorOps):
        value = x._lift(value, x.dtype)
    value = value.to(x.dtype)
    if plan.advanced:
        return _put_advanced(x, index, value)
    selected = tuple(1 if k[0] == "new" else k[1] for k in plan.out_dims)
    if value.ndim > len(selected) and all(s == 1 for s in value.shape[: value.ndim - len(selected)]):
        value = value.reshape(value.shape[value.ndim - len(selected):])
    placed = value.expand(selected).reshape(tuple(plan.sliced_shape))
    config = [(lo, n - (lo + (k - 1) * st + 1 if k else lo), st - 1)
              for n, lo, st, k in zip(x.shape, plan.starts, plan.steps, plan.sliced_shape)]
    mask = x.new_full(tuple(plan.sliced_shape), True, dtypes.bool_).interior_pad(config)
    return where(mask, placed.interior_pad(config), x)


def _put_advanced(x, index, value):
    """Flat positions of the selected elements come from indexing an iota the
    same way; the values are scattered there."""
    return put_at_positions(x, getitem(x.arange_(x.numel()).reshape(x.shape), index), value)


def put_at_positions(x, positions, value):
    """`x` with the elements at flat `positions` replaced by `value` (broadcast)."""
    n = x.numel()
    value = value.to(x.dtype).expand(positions.shape).reshape(-1)
    flat_pos = positions.reshape(-1)
    hit = x.new_zeros(n, dtype=dtypes.int64).scatter_add_along(
        flat_pos, x.new_full(flat_pos.shape, 1, dtypes.int64), 0) > 0
    # Scattered onto -0.0, the additive identity: onto +0.0 a written -0.0 would become +0.0.
    scattered = x.new_full((n,), -0.0 if x.dtype.is_floating_point else 0).scatter_add_along(flat_pos, value, 0)
    return where(hit, scattered, x.reshape(-1)).reshape(x.shape)
