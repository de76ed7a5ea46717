"""PyTorch's tensor math, written once over the primitives.

`TensorOps` is a mixin: a class that provides `shape`, `dtype`, `_apply(op,
*inputs, **attrs)` and `_lift(value, dtype)` inherits all of PyTorch's tensor
methods from it. The eager `frontend.Tensor` computes numbers through it; the
tracer's values record IR through it. Derivative rules and composite ops use
these same methods, so one rule serves eager backward and the autodiff pass.

Hosts that build autograd graphs name results after PyTorch's grad_fn classes
(`SumBackward1`, ...) through the `_mark`/`_label` hooks; others ignore them.
"""
from __future__ import annotations

import math

import numpy as np

from . import dtypes
from .op_naming import grad_name
from .shapes import as_shape, infer_reshape, normalize_dim, normalize_dims
from .tensor_reductions import ReductionOps

def is_scalar(value) -> bool:
    return isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating))


def where(cond, x, y):
    """`torch.where(cond, x, y)`; `x` or `y` may be Python scalars."""
    anchor = next(v for v in (cond, x, y) if isinstance(v, TensorOps))
    cond, x, y = anchor._operands(cond, x, y)
    return anchor._apply("where", cond, x, y)


class TensorOps(ReductionOps):
    """Tensor methods with PyTorch semantics; see the module docstring."""

    __array_priority__ = 1000  # NumPy defers `ndarray * tensor` to us
    __hash__ = object.__hash__  # comparisons return tensors, identity hashes

    # ---- hooks the host provides -------------------------------------------
    def _apply(self, op, *inputs, **attrs):
        raise NotImplementedError

    def _lift(self, value, dtype):
        """A 0-d constant of this host's kind."""
        raise NotImplementedError

    def _mark(self):
        return None

    def _label(self, out, name, mark):
        return out

    def _checked_index(self, idx, size, dim, allow_negative=True):
        """`idx` (entries for a dim of `size`) with negative entries counted
        from the end, every entry checked: PyTorch's IndexError naming the
        first bad one. Hosts holding data check at once (frontend/tensor.py);
        in a graph the check runs with it: gathering the index from an iota
        of the dim wraps it, and that gather's bounds check (interpreter and
        native code alike) names the entry, `dim` and `size` before anything
        reads through the index. (Checking only the flattened index of a
        multi-dim or per-row gather would let `x[0, 5]` of a 3x4 `x` read
        x[1, 1].)"""
        table = idx.arange_(size).reshape((1,) * dim + (size,))
        if not allow_negative:  # class targets: a negative entry falls out of range (reported shifted by -size)
            idx = where(idx < 0, idx - size, idx)
        return table.gather_along(idx, dim).reshape(idx.shape)

    def _check_probabilities(self):
        """Hosts holding data check that values lie in [0, 1] (binary_cross_entropy)."""

    def _nonzero(self):
        raise RuntimeError("boolean mask indexing needs concrete data")

    def _index_tensor(self, value):
        """A list or NumPy array used as an index, as an integer/bool tensor."""
        raise NotImplementedError

    def detach(self):
        """A value with no gradient history (stop-gradient)."""
        raise NotImplementedError

    # ---- basic properties ---------------------------------------------------
    @property
    def ndim(self):
        return len(self.shape)

    def dim(self):
        return len(self.shape)

    def numel(self):
        return math.prod(self.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[normalize_dim(dim, self.ndim)]

    def is_floating_point(self):
        return self.dtype.is_floating_point

    # ---- operands -------------------------------------------------------------
    def _scalar_dtype(self, value):
        """The dtype a Python scalar takes beside this tensor (PyTorch's rule)."""
        mine = [self.dtype]
        return dtypes.result_type(mine if self.ndim else [], [] if self.ndim else mine,
                                  [dtypes.python_scalar_dtype(value)])

    def _operands(self, *values):
        """Tensors stay; scalars become constants of the type promotion gives them."""
        tensors = [v for v in values if isinstance(v, TensorOps)]
        scalars = [v for v in values if not isinstance(v, TensorOps)]
        for v in scalars:
            if not is_scalar(v):
                raise TypeError(f"expected a Tensor or a Python number, got {type(v).__name__}")
        if not scalars:
            return values
        dtype = dtypes.result_type(
            [t.dtype for t in tensors if t.ndim], [t.dtype for t in tensors if not t.ndim],
            [dtypes.python_scalar_dtype(v) for v in scalars])
        return tuple(v if isinstance(v, TensorOps) else self._lift(v, dtype) for v in values)

    def _binary(self, op, other, reverse=False):
        if not isinstance(other, TensorOps) and not is_scalar(other):
            if isinstance(other, np.ndarray):  # NotImplemented would let NumPy turn the tensor into an array
                operands = ("numpy.ndarray", "Tensor") if reverse else ("Tensor", "numpy.ndarray")
                raise TypeError(f"unsupported operand types for {op}: '{operands[0]}' and '{operands[1]}' (array "
                                f"of shape {list(other.shape)}); convert it with torch.from_numpy() or "
                                "torch.as_tensor() first")
            return NotImplemented
        a, b = self._operands(self, other)
        return self._apply(op, *((b, a) if reverse else (a, b)))

    # ---- arithmetic -----------------------------------------------------------
    def __add__(self, other):
        return self._binary("add", other)

    def __radd__(self, other):
        return self._binary("add", other, reverse=True)

    def __sub__(self, other):
        return self._binary("sub", other)

    @grad_name("RsubBackward1")
    def __rsub__(self, other):
        return self._binary("sub", other, reverse=True)

    def __mul__(self, other):
        return self._binary("mul", other)

    def __rmul__(self, other):
        return self._binary("mul", other, reverse=True)

    def __truediv__(self, other):
        return self._binary("div", other)

    @grad_name(lambda self, other: "MulBackward0" if is_scalar(other) else "DivBackward0")
    def __rtruediv__(self, other):
        return self._binary("div", other, reverse=True)

    def __mod__(self, other):
        return self._binary("remainder", other)

    def __rmod__(self, other):
        return self._binary("remainder", other, reverse=True)

    def remainder(self, other):
        return self % other

    def floor(self):
        return self._apply("floor", self)

    @grad_name(lambda self, other: "PowBackward0" if is_scalar(other) else "PowBackward1")
    def __pow__(self, other):
        if is_scalar(other) and not isinstance(other, float) and other < 0 and not self.dtype.is_floating_point:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return self._binary("pow", other)

    @grad_name("PowBackward2")
    def __rpow__(self, other):
        return self._binary("pow", other, reverse=True)

    def __neg__(self):
        return self._apply("neg", self)

    def __abs__(self):
        return self.abs()

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return other.matmul(self) if isinstance(other, TensorOps) else NotImplemented

    def __eq__(self, other):
        return self._binary("eq", other)

    def __ne__(self, other):
        return self._binary("ne", other)

    def __lt__(self, other):
        return self._binary("lt", other)

    def __le__(self, other):
        return self._binary("le", other)

    def __gt__(self, other):
        return self._binary("gt", other)

    def __ge__(self, other):
        return self._binary("ge", other)

    def _logical(self, op, other):
        if self.dtype is not dtypes.bool_ or (isinstance(other, TensorOps) and other.dtype is not dtypes.bool_):
            raise NotImplementedError(f"bitwise {op.split('_')[1]} is supported for bool tensors only, got {self.dtype}")
        return self._binary(op, other)

    def __and__(self, other):
        return self._logical("logical_and", other)

    def __or__(self, other):
        return self._logical("logical_or", other)

    def __xor__(self, other):
        return self._logical("logical_xor", other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        if self.dtype is not dtypes.bool_:
            raise NotImplementedError(f"bitwise not is supported for bool tensors only, got {self.dtype}")
        return self._apply("logical_not", self)

    def logical_not(self):
        return self._apply("logical_not", self.to(dtypes.bool_) if self.dtype is not dtypes.bool_ else self)

    def add(self, other, *, alpha=1):
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other, *, alpha=1):
        return self - (other * alpha if alpha != 1 else other)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def pow(self, exponent):
        return self ** exponent

    def neg(self):
        return -self

    def exp(self):
        return self._apply("exp", self)

    def log(self):
        return self._apply("log", self)

    def log1p(self):
        return self._apply("log1p", self)

    def sqrt(self):
        return self._apply("sqrt", self)

    @grad_name("RsqrtBackward0")
    def rsqrt(self):
        return 1 / self.sqrt()

    def reciprocal(self):
        return 1 / self

    def sin(self):
        return self._apply("sin", self)

    def cos(self):
        return self._apply("cos", self)

    def tanh(self):
        return self._apply("tanh", self)

    def sigmoid(self):
        return self._apply("sigmoid", self)

    def relu(self):
        return self._apply("relu", self)

    def abs(self):
        return self._apply("abs", self)

    def sign(self):
        return self._apply("sign", self)

    def square(self):
        return self * self

    def maximum(self, other):
        return self._apply("maximum", *self._operands(self, other))

    def minimum(self, other):
        return self._apply("minimum", *self._operands(self, other))

    def where(self, condition, other):
        return where(condition, self, other)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        mark = self._mark()
        out = self
        # PyTorch's clamp passes the gradient where min <= x <= max, and
        # applies max last (so min > max gives max everywhere).
        if min is not None:
            out = where(out < min, min if is_scalar(min) else min.to(out.dtype), out)
        if max is not None:
            out = where(out > max, max if is_scalar(max) else max.to(out.dtype), out)
        scalar_bounds = all(b is None or is_scalar(b) for b in (min, max))
        return self._label(out, "ClampBackward1" if scalar_bounds else "ClampBackward0", mark)

    clip = clamp

    # ---- dtype ----------------------------------------------------------------
    def to(self, dtype=None, *args, **kwargs):
        dtype = kwargs.pop("dtype", dtype)
        if isinstance(dtype, TensorOps):  # to(other): other's dtype
            dtype = dtype.dtype
        if dtype is None or isinstance(dtype, str) and dtype == "cpu":
            return self
        dtype = dtypes.to_dtype(dtype)
        return self if dtype is self.dtype else self._apply("cast", self, dtype=dtype)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def bool(self):
        return self.to(dtypes.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    # ---- constants like this tensor ------------------------------------------
    def new_full(self, shape, value, dtype=None):
        return self._apply("full", value=value, shape=as_shape([shape]), dtype=dtype or self.dtype)

    def new_zeros(self, *shape, dtype=None):
        return self.new_full(as_shape(shape), 0, dtype)

    def new_ones(self, *shape, dtype=None):
        return self.new_full(as_shape(shape), 1, dtype)

    def sum_to_size(self, *shape):
        """Sum over the dims that broadcasting `shape` to ours created: the
        gradient of a broadcast, applied once by the backward walk."""
        shape = as_shape(shape)
        if self.shape == shape:
            return self
        lead = self.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and self.shape[lead + i] != 1)
        out = self.sum(axes, keepdim=True)
        return out.reshape(shape) if out.shape != shape else out

    def arange_(self, length, dtype=dtypes.int64):
        return self._apply("iota", length=length, dtype=dtype)

    # ---- shape ------------------------------------------------------------------
    def reshape(self, *shape):
        shape = infer_reshape(self.numel(), as_shape(shape))
        return self._apply("reshape", self, shape=shape)

    def view(self, *shape):
        return self.reshape(*shape)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def contiguous(self):
        return self

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = normalize_dim(start_dim, self.ndim), normalize_dim(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if s == e:
            return self
        shape = self.shape[:s] + (math.prod(self.shape[s:e + 1]),) + self.shape[e + 1:]
        return self.reshape(shape)

    def permute(self, *dims):
        dims = as_shape(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(
                f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                f"of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not equal to len(dims) = {len(dims)}")
        perm = tuple(normalize_dim(d, self.ndim) for d in dims)
        return self._apply("permute", self, perm=perm)

    @grad_name("TransposeBackward0")
    def transpose(self, dim0, dim1):
        a, b = normalize_dim(dim0, self.ndim), normalize_dim(dim1, self.ndim)
        perm = list(range(self.ndim))
        perm[a], perm[b] = perm[b], perm[a]
        return self._apply("permute", self, perm=tuple(perm))

    swapaxes = transpose

    @grad_name("TBackward0")
    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self._apply("reshape", self, shape=self.shape)

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
        return self.transpose(-2, -1)

    @grad_name(lambda self, dim=None: "SqueezeBackward0" if dim is None else "SqueezeBackward1")
    def squeeze(self, dim=None):
        axes = normalize_dims(dim, self.ndim) if dim is not None else range(self.ndim)
        shape = tuple(s for i, s in enumerate(self.shape) if not (i in axes and s == 1))
        return self._apply("reshape", self, shape=shape)

    @grad_name("UnsqueezeBackward0")
    def unsqueeze(self, dim):
        d = normalize_dim(dim, self.ndim + 1)
        return self._apply("reshape", self, shape=self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *sizes):
        sizes = as_shape(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
                f"the number of dimensions in the tensor ({self.ndim})")
        shape = tuple(self.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
        return self._apply("expand", self, shape=shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    def strided_slice(self, starts, stops, steps):
        return self._apply("slice", self, starts=tuple(starts), stops=tuple(stops), steps=tuple(steps))

    def interior_pad(self, config):
        return self._apply("pad", self, config=tuple(tuple(c) for c in config))

    def gather_along(self, idx, axis):
        """NumPy's take: `x[..., idx, ...]` at `axis`."""
        return self._apply("gather", self, idx, axis=axis)

    def scatter_add_along(self, idx, src, axis):
        return self._apply("scatter_add", self, idx, src, axis=axis)

    def gather_along_dim(self, index, dim):
        """PyTorch's `gather` for an index shaped like the input but for `dim`;
        the index must be in range (callers check it: `_checked_index`)."""
        d = normalize_dim(dim, self.ndim)
        moved = self.transpose(d, -1) if d != self.ndim - 1 else self
        idx = index.transpose(d, -1) if d != self.ndim - 1 else index
        n = moved.shape[-1]
        flat = moved.reshape(-1)
        base = (self.arange_(math.prod(idx.shape[:-1])) * n).reshape(idx.shape[:-1] + (1,))
        picked = flat.gather_along((where(idx < 0, idx + n, idx) + base).reshape(-1), 0).reshape(idx.shape)
        return picked.transpose(d, -1) if d != self.ndim - 1 else picked

    # ---- matmul -----------------------------------------------------------------
    def matmul(self, other):
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(
                f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
        mark = self._mark()
        if a.ndim == 1 and b.ndim == 1:
            if a.shape != b.shape:
                raise RuntimeError(
                    f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] "
                    "to have the same number of elements, but got "
                    f"{a.shape[0]} and {b.shape[0]} elements respectively")
            return self._label(a.reshape(1, -1)._mm(b.reshape(-1, 1)).reshape(()), "DotBackward0", mark)
        if b.ndim == 1:
            if a.shape[-1] != b.shape[0]:
                raise RuntimeError(f"size mismatch, got input ({a.shape[-2] if a.ndim > 1 else 1}x{a.shape[-1]}), "
                                   f"mat ({a.shape[-1]}), vec ({b.shape[0]})")
            out = a._mm(b.reshape(-1, 1)).squeeze(-1)
        elif a.ndim == 1:
            out = a.reshape(1, -1)._mm(b).squeeze(-2)
        else:
            out = a._mm(b)
        return self._label(out, _matmul_grad_name(a.ndim, b.ndim), mark)

    def _mm(self, other):
        a, b = self._operands(self, other)
        if a.shape[-1] != b.shape[-2]:
            sa = "x".join(map(str, a.shape[-2:]))
            sb = "x".join(map(str, b.shape[-2:]))
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
        return self._apply("matmul", a, b)

    def mm(self, other):
        if self.ndim != 2 or other.ndim != 2:
            raise RuntimeError(f"mm: expected 2D tensors, got {self.ndim}D and {other.ndim}D")
        return self.matmul(other)

    def bmm(self, other):
        if self.ndim != 3 or other.ndim != 3:
            raise RuntimeError(f"batch1 must be a 3D tensor (got {self.ndim}D and {other.ndim}D)")
        if self.shape[0] != other.shape[0]:
            raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {self.shape[0]} and {other.shape[0]}")
        mark = self._mark()
        return self._label(self._mm(other), "BmmBackward0", mark)

    def dot(self, other):
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        return self.matmul(other)

    # ---- indexing (see indexing_ops.py) -----------------------------------------
    def __getitem__(self, index):
        from .indexing_ops import getitem
        return getitem(self, index)


def _matmul_grad_name(a_ndim, b_ndim):
    """PyTorch's grad_fn for each form of matmul (it dispatches to different kernels)."""
    if a_ndim == 2 and b_ndim == 2:
        return "MmBackward0"
    if a_ndim == 2 and b_ndim == 1:
        return "MvBackward0"
    if a_ndim == 1 and b_ndim == 2:
        return "SqueezeBackward4"
    if a_ndim == 2:
        return "CloneBackward0"
    return "UnsafeViewBackward0"
