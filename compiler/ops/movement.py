"""Movement primitives: they rearrange elements without arithmetic. Eager
results are NumPy views where PyTorch's are views; the compiler folds them
into index arithmetic."""
from __future__ import annotations

import math

import numpy as np

from .registry import Aval, Group, Primitive, register


def infer_reshape(x: Aval, *, shape) -> Aval:
    if math.prod(shape) != math.prod(x.shape):
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {math.prod(x.shape)}")
    return Aval(tuple(shape), x.dtype)


def infer_permute(x: Aval, *, perm) -> Aval:
    if sorted(perm) != list(range(len(x.shape))):
        raise RuntimeError(
            f"permute(): dims {list(perm)} are not a permutation of the {len(x.shape)} dims "
            f"of a tensor of shape {list(x.shape)}"
        )
    return Aval(tuple(x.shape[p] for p in perm), x.dtype)


def infer_expand(x: Aval, *, shape) -> Aval:
    if len(shape) < len(x.shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(shape)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({len(x.shape)})"
        )
    lead = len(shape) - len(x.shape)
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[lead + i]:
            raise RuntimeError(
                f"The expanded size of the tensor ({shape[lead + i]}) must match the existing size ({s}) "
                f"at non-singleton dimension {lead + i}.  Target sizes: {list(shape)}.  Tensor sizes: {list(x.shape)}"
            )
    return Aval(tuple(shape), x.dtype)


def slice_length(start, stop, step) -> int:
    return max(0, -(-(stop - start) // step))


def infer_slice(x: Aval, *, starts, stops, steps) -> Aval:
    if not len(starts) == len(stops) == len(steps) == len(x.shape):
        raise ValueError(f"slice needs one (start, stop, step) per dim of shape {list(x.shape)}")
    for a, (lo, hi, st, n) in enumerate(zip(starts, stops, steps, x.shape)):
        if st <= 0 or not 0 <= lo <= n or not 0 <= hi <= n:
            raise ValueError(f"slice [{lo}:{hi}:{st}] out of range for dim {a} of size {n}")
    return Aval(tuple(slice_length(*a) for a in zip(starts, stops, steps)), x.dtype)


def infer_pad(x: Aval, *, config) -> Aval:
    if len(config) != len(x.shape) or any(v < 0 for c in config for v in c):
        raise ValueError(f"pad needs one non-negative (low, high, interior) per dim of shape {list(x.shape)}")
    return Aval(tuple(lo + n + max(n - 1, 0) * it + hi for n, (lo, hi, it) in zip(x.shape, config)), x.dtype)


def infer_concat(*xs: Aval, axis) -> Aval:
    first = xs[0]
    for i, x in enumerate(xs[1:], 1):
        if len(x.shape) != len(first.shape):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(first.shape)} and {len(x.shape)}"
            )
        for d, (a, b) in enumerate(zip(first.shape, x.shape)):
            if d != axis and a != b:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {axis}. "
                    f"Expected size {a} but got size {b} for tensor number {i} in the list."
                )
        if x.dtype is not first.dtype:
            raise RuntimeError(f"concat expects one dtype, got {first.dtype} and {x.dtype}; cast first")
    shape = list(first.shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    return Aval(tuple(shape), first.dtype)


def _slice(x, starts, stops, steps):
    return x[tuple(slice(*a) for a in zip(starts, stops, steps))]


def padded_region(shape, config):
    """(starts, stops, steps) of the input's elements within a pad's result:
    the pad's reference, its derivative and the LLVM backend place them so."""
    starts = [lo for lo, _, _ in config]
    steps = [it + 1 for _, _, it in config]
    stops = [lo + (n - 1) * st + 1 if n else lo for n, lo, st in zip(shape, starts, steps)]
    return tuple(starts), tuple(stops), tuple(steps)


def _pad(x, config):
    out_shape = infer_pad(Aval(x.shape, None), config=config).shape
    out = np.zeros(out_shape, x.dtype)
    out[tuple(slice(*region) for region in zip(*padded_region(x.shape, config)))] = x
    return out


def _slice_rule(g, shapes, starts, stops, steps):
    """The gradient of a strided slice is the slice padded back in place."""
    config = []
    for n, lo, hi, st in zip(shapes[0], starts, stops, steps):
        k = slice_length(lo, hi, st)
        last = lo + (k - 1) * st + 1 if k else lo
        config.append((lo, n - last, st - 1))
    return g.interior_pad(tuple(config))


def _pad_rule(g, shapes, config):
    return g.strided_slice(*padded_region(shapes[0], config))


def _concat_rule(g, shapes, axis, index):
    start = sum(s[axis] for s in shapes[:index])
    starts = [0] * len(g.shape)
    stops = list(g.shape)
    starts[axis], stops[axis] = start, start + shapes[index][axis]
    return g.strided_slice(tuple(starts), tuple(stops), (1,) * len(g.shape))


def _inverse(perm):
    return tuple(sorted(range(len(perm)), key=lambda i: perm[i]))


def movement(name, infer, reference, vjp, attrs, **kw):
    return register(Primitive(name, Group.MOVEMENT, infer, reference, vjp=vjp, attrs=attrs, **kw))


movement("reshape", infer_reshape, lambda x, shape: np.reshape(x, shape),
         (lambda g, shapes: g.reshape(shapes[0]),), ("shape",), views=True, grad_name="ViewBackward0")
movement("permute", infer_permute, lambda x, perm: np.transpose(x, perm),
         (lambda g, perm: g.permute(_inverse(perm)),), ("perm",), views=True)
movement("expand", infer_expand, lambda x, shape: np.broadcast_to(x, shape),
         (lambda g: g,), ("shape",), views=True)
movement("slice", infer_slice, _slice, (_slice_rule,), ("starts", "stops", "steps"),
         views=True, grad_name="SliceBackward0")
movement("pad", infer_pad, _pad, (_pad_rule,), ("config",), grad_name="ConstantPadNdBackward0")
movement("concat", infer_concat, lambda *xs, axis: np.concatenate(xs, axis=axis),
         (_concat_rule,), ("axis",), inputs=("xs",), variadic=True, grad_name="CatBackward0")

