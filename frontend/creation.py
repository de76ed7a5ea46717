"""Tensor creation: from data, filled, ranges, random (NumPy's PCG64 under
`manual_seed`; values differ from PyTorch's generator, distributions match)."""
from __future__ import annotations

import math
import numbers

import numpy as np

from compiler import dtypes
from compiler.shapes import as_shape, check_size

from .jit.trace_state import GraphBreak, is_tracing
from .tensor import Tensor

_rng = [np.random.default_rng()]


def _draw(kind):
    """The generator, for a draw of `kind`; inside a traced function the draw
    would be frozen into the graph as a constant, so it is a graph break."""
    if is_tracing():
        raise GraphBreak(f"{kind} inside a compiled function: random numbers are not part of the graph "
                         "(draw them outside and pass them in as an argument)")
    return _rng[0]


def manual_seed(seed: int):
    _rng[0] = np.random.default_rng(int(seed))
    return _rng[0]


def _resolve(dtype):
    return None if dtype is None else dtypes.to_dtype(dtype)


def _infer_dtype(data) -> dtypes.DType:
    """PyTorch's dtype for Python data: bool < int64 < float32 (the default)."""
    kinds = set()

    def visit(x):
        if isinstance(x, Tensor):
            kinds.add(x.dtype.category)
        elif isinstance(x, np.ndarray):
            kinds.add(dtypes.from_numpy(x.dtype).category)
        elif isinstance(x, (list, tuple)):
            for item in x:
                visit(item)
        elif isinstance(x, (bool, np.bool_)):
            kinds.add(dtypes.BOOL)
        elif isinstance(x, numbers.Integral):
            kinds.add(dtypes.INT)
        elif isinstance(x, numbers.Real):
            kinds.add(dtypes.FLOAT)
        else:
            raise TypeError(f"Could not infer dtype of {type(x).__name__}")

    visit(data)
    top = max(kinds, default=dtypes.FLOAT)
    return {dtypes.BOOL: dtypes.bool_, dtypes.INT: dtypes.int64, dtypes.FLOAT: dtypes.DEFAULT_FLOAT}[top]


def _to_numpy(data):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        items = [_to_numpy(x) for x in data]
        if items and len({np.shape(x) for x in items}) > 1:
            raise ValueError(f"expected sequence of length {len(items[0]) if np.ndim(items[0]) else 1} "
                             f"at dim 1 (got {len(items[-1]) if np.ndim(items[-1]) else 1})")
        return np.array(items) if items else np.zeros((0,), np.float32)
    return np.asarray(data)


def _finish(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor holding a copy of `data`."""
    dtype = _resolve(dtype)
    if isinstance(data, np.ndarray):
        dtype = dtype or dtypes.from_numpy(data.dtype)
    elif isinstance(data, Tensor):
        dtype = dtype or data.dtype
    else:
        dtype = dtype or _infer_dtype(data)
    array = np.array(_to_numpy(data), dtype=dtype.np, copy=True)
    return _finish(array, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Shares memory with a NumPy array or tensor of the right dtype."""
    dtype = _resolve(dtype)
    if isinstance(data, Tensor):
        return data if dtype in (None, data.dtype) else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or dtype.np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy(array.dtype)
    return Tensor._wrap(array)


def legacy_constructor_data(args, dtype) -> np.ndarray:
    """`FloatTensor(2, 3)` allocates; `FloatTensor([[1, 2]])` converts."""
    if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray, Tensor)):
        return np.array(_to_numpy(args[0]), dtype=dtype.np)
    shape = as_shape(args)
    check_size(shape, dtype, "Tensor")
    return np.zeros(shape, dtype.np)


def FloatTensor(*args) -> Tensor:
    return Tensor._wrap(legacy_constructor_data(args, dtypes.float32))


def DoubleTensor(*args) -> Tensor:
    return Tensor._wrap(legacy_constructor_data(args, dtypes.float64))


def LongTensor(*args) -> Tensor:
    return Tensor._wrap(legacy_constructor_data(args, dtypes.int64))


def _filled(size, value, dtype, requires_grad, what):
    shape = as_shape(size)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    dtype = dtype or dtypes.DEFAULT_FLOAT
    check_size(shape, dtype, what)
    return _finish(np.full(shape, value, dtype.np), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(size, 1, _resolve(dtype), requires_grad, "ones")


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(size, 0, _resolve(dtype), requires_grad, "zeros")


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(size, 0, _resolve(dtype), requires_grad, "empty")


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype = _resolve(dtype) or (dtypes.python_scalar_dtype(fill_value) if not isinstance(fill_value, Tensor)
                                else fill_value.dtype)
    return _filled(size, fill_value, dtype, requires_grad, "full")


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    for name, value in (("n", n), ("m", m if m is not None else n)):
        if value < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {value}")
    dtype = _resolve(dtype) or dtypes.DEFAULT_FLOAT
    check_size((n, m if m is not None else n), dtype, "eye")
    return _finish(np.eye(n, m if m is not None else n, dtype=dtype.np), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    dtype = _resolve(dtype) or (dtypes.DEFAULT_FLOAT if any(isinstance(v, float) for v in values) else dtypes.int64)
    start, end, step = values
    count = max(0, math.ceil((end - start) / step))
    check_size((count,), dtype, "arange")
    return _finish((start + step * np.arange(count, dtype=np.float64)).astype(dtype.np)
                   if dtype.is_floating_point else np.arange(start, end, step, dtype=dtype.np), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = _resolve(dtype) or dtypes.DEFAULT_FLOAT
    check_size((steps,), dtype, "linspace")
    if steps <= 1:
        return _finish(np.full((steps,), start, dtype.np), requires_grad)
    # PyTorch's kernel: the first half steps up from start, the second half
    # steps down from end, in the output dtype (so rounding matches).
    # Its vectorized path fuses multiply and add (one rounding), which float64
    # arithmetic on the float32 operands reproduces.
    t = dtype.np.type
    step = np.float64(t((end - start) / (steps - 1)))
    i = np.arange(steps, dtype=np.float64)
    values = np.where(i < steps // 2, np.float64(t(start)) + step * i, np.float64(t(end)) - step * (steps - 1 - i))
    return _finish(values.astype(dtype.np), requires_grad)


def _random(sample, size, dtype, requires_grad):
    dtype = _resolve(dtype) or dtypes.DEFAULT_FLOAT
    if not dtype.is_floating_point:
        raise RuntimeError(f'"normal_kernel_cpu" not implemented for \'{dtype.legacy_name}\'')
    shape = as_shape(size)
    check_size(shape, dtype, "rand/randn")
    return _finish(np.asarray(sample(shape)).astype(dtype.np), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    return _random(lambda s: _draw('torch.rand').random(s), size, dtype, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    return _random(lambda s: _draw('torch.randn').standard_normal(s), size, dtype, requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dtype = _resolve(dtype) or dtypes.int64
    shape = as_shape([size])
    check_size(shape, dtype, "randint")
    return _finish(_draw("torch.randint").integers(low, high, shape).astype(dtype.np), requires_grad)


def _like(make):
    def like(input, *args, dtype=None, device=None, requires_grad=False, **kwargs):
        return make(input.shape, *args, dtype=dtype or input.dtype, requires_grad=requires_grad, **kwargs)
    like.__name__ = make.__name__ + "_like"
    return like


ones_like = _like(ones)
zeros_like = _like(zeros)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint_like(input, low, high=None, dtype=None, requires_grad=False) -> Tensor:
    return randint(low, high, input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)
