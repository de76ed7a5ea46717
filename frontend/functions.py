"""`torch.<op>(tensor, ...)` functions: each forwards to the Tensor method of
the same name, so there is one implementation per op."""
from __future__ import annotations

from compiler import dtypes
from compiler.shapes import normalize_dim
from compiler.op_naming import grad_name
from compiler.tensor_ops import where as _where

from .tensor import Tensor

_METHODS = (
    "abs exp log log1p sqrt rsqrt sin cos tanh sigmoid relu neg sign square reciprocal floor remainder "
    "add sub mul div maximum minimum clamp clip matmul mm bmm dot "
    "sum mean var std max min amax amin argmax argmin logsumexp norm softmax log_softmax "
    "reshape flatten permute transpose swapaxes t squeeze unsqueeze clone detach numel "
    "logical_not eq ne lt le gt ge"
).split()


def _forward_to_method(name):
    def function(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"`torch.{name}(input, ...)`: same as `input.{name}(...)`."
    return function


for _name in _METHODS:
    globals()[_name] = _forward_to_method(_name)

__all__ = list(_METHODS) + ["pow", "where", "cat", "concat", "stack", "is_tensor", "result_type", "is_floating_point"]


def pow(input, exponent):
    """`torch.pow`; the base may be a Python number."""
    return input ** exponent if isinstance(input, Tensor) else exponent.__rpow__(input)


def where(condition, input=None, other=None):
    if input is None and other is None:
        raise NotImplementedError("where(condition) with one argument (nonzero) is not supported")
    return _where(condition, input, other)


def _common_dtype(tensors):
    return dtypes.result_type([t.dtype for t in tensors if t.ndim], [t.dtype for t in tensors if not t.ndim])


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    axis = normalize_dim(dim, tensors[0].ndim)
    dtype = _common_dtype(tensors)
    return tensors[0]._apply("concat", *[t.to(dtype) for t in tensors], axis=axis)


concat = cat


@grad_name("StackBackward0")
def _stack(first, tensors, dim):
    shape = first.shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                f"{list(t.shape)} at entry {i}")
    d = normalize_dim(dim, first.ndim + 1)
    return cat([t.unsqueeze(d) for t in tensors], d)


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    return _stack(tensors[0], tensors, dim)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t) -> bool:
    return t.dtype.is_floating_point


def result_type(a, b):
    """The dtype an arithmetic op on `a` and `b` gives (tensors or Python numbers)."""
    values = (a, b)
    tensors = [v for v in values if isinstance(v, Tensor)]
    return dtypes.result_type([t.dtype for t in tensors if t.ndim], [t.dtype for t in tensors if not t.ndim],
                              [dtypes.python_scalar_dtype(v) for v in values if not isinstance(v, Tensor)])
