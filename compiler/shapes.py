"""Shape arithmetic shared by the registry, the tensor methods and the passes:
broadcasting, dim normalization and reshape inference, with PyTorch's errors."""
from __future__ import annotations

import math
import os
from typing import Iterable, Sequence

Shape = tuple[int, ...]

# Native code and NumPy compute sizes, loop counts and byte offsets in int64.
MAX_BYTES = 2**63 - 1


def _memory_bytes() -> int:
    try:
        return min(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), MAX_BYTES)
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): only the int64 bound
        return MAX_BYTES


MEMORY_BYTES = _memory_bytes()


def broadcast_shapes(*shapes: Shape) -> Shape:
    """NumPy/PyTorch broadcasting, folded pairwise as PyTorch does; the error
    names both sizes and the dim of the last mismatch."""
    out: Shape = ()
    for shape in shapes:
        out = _broadcast_pair(out, tuple(shape))
    return out


def _broadcast_pair(a: Shape, b: Shape) -> Shape:
    if a == b:
        return a
    ndim = max(len(a), len(b))
    out = [1] * ndim
    for axis in range(ndim - 1, -1, -1):
        ia, ib = axis - (ndim - len(a)), axis - (ndim - len(b))
        sa = a[ia] if ia >= 0 else 1
        sb = b[ib] if ib >= 0 else 1
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(
                f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) "
                f"at non-singleton dimension {axis}"
            )
        out[axis] = sa if sb == 1 else sb
    return tuple(out)


def check_size(shape: Shape, dtype, what: str) -> None:
    """Refuse a tensor that cannot exist on this machine, before anything
    allocates it or loops over it: past int64 its sizes and offsets overflow
    (a loop count wraps, a native loop reads the wrong memory); past physical
    memory NumPy fails deep inside (MemoryError) or a loop over a broadcast
    view runs for hours. Views count too, since ops iterate over them."""
    itemsize = getattr(dtype, "itemsize", None)  # (a malformed dtype is the verifier's to report)
    if itemsize is None:
        return
    nbytes = math.prod(shape) * itemsize
    if nbytes <= MEMORY_BYTES and all(s <= MAX_BYTES for s in shape):
        return
    described = f"{what}: a tensor of shape {list(shape)} and dtype {dtype} would take {nbytes} bytes"
    if nbytes > MAX_BYTES or any(s > MAX_BYTES for s in shape):
        raise RuntimeError(f"{described}, which overflows 64-bit size and index arithmetic")
    raise RuntimeError(f"{described} ({nbytes / 2**30:.4g} GiB), more than this machine's memory "
                       f"({MEMORY_BYTES / 2**30:.4g} GiB); nothing was allocated")


def broadcast_axes(from_shape: Shape, to_shape: Shape) -> tuple[int, ...]:
    """Axes of `to_shape` that broadcasting `from_shape` to it had to create or
    stretch: summing a gradient over them gives back `from_shape`."""
    lead = len(to_shape) - len(from_shape)
    axes = list(range(lead))
    axes += [lead + i for i, s in enumerate(from_shape) if s == 1 and to_shape[lead + i] != 1]
    return tuple(axes)


def normalize_dim(dim: int, ndim: int) -> int:
    """A possibly negative dim as an index; 0-d tensors accept dims -1 and 0."""
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {dim})"
        )
    return dim % bound if ndim else 0


def normalize_dims(dims, ndim: int) -> tuple[int, ...]:
    """`dims` (None = all, an int, or a sequence) as sorted unique indices."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    out = sorted({normalize_dim(d, ndim) for d in dims})
    if len(out) != len(tuple(dims)):
        raise RuntimeError(f"dim {list(dims)} appears multiple times in the list of dims")
    return tuple(d for d in out if d < ndim)


def infer_reshape(numel: int, shape: Sequence[int]) -> Shape:
    """Resolve one -1 in a requested shape; the error names both shapes."""
    shape = tuple(int(s) for s in shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[: unknown[0]] + (numel // known,) + shape[unknown[0] + 1 :]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def as_shape(args: Iterable) -> Shape:
    """Accept `f(2, 3)`, `f((2, 3))` and `f([2, 3])` as PyTorch does."""
    args = tuple(args)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for a in args:
        if isinstance(a, bool) or not isinstance(a, int) and not hasattr(a, "__index__"):
            raise TypeError(f"shape entries must be ints, got {type(a).__name__}")
    return tuple(int(a) for a in args)
