"""Elementwise primitives: unary, binary (with broadcasting and PyTorch type
promotion) and `where`. Each entry: shape/dtype rule, NumPy semantics,
derivative rules (one per input)."""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..shapes import broadcast_shapes
from .registry import Aval, Group, Primitive, register
from ..tensor_ops import where


# ---- shape and dtype rules -------------------------------------------------

def promoted(*avals: Aval) -> dtypes.DType:
    """Promotion among tensor operands: 0-d tensors only widen the category."""
    return dtypes.result_type(
        [a.dtype for a in avals if a.shape], [a.dtype for a in avals if not a.shape]
    )


def _float_of(dtype: dtypes.DType) -> dtypes.DType:
    return dtype if dtype.is_floating_point else dtypes.DEFAULT_FLOAT


def infer_float_unary(x: Aval) -> Aval:
    return Aval(x.shape, _float_of(x.dtype))


def infer_same_unary(x: Aval) -> Aval:
    return x


def infer_arith(x: Aval, y: Aval) -> Aval:
    return Aval(broadcast_shapes(x.shape, y.shape), promoted(x, y))


def infer_true_div(x: Aval, y: Aval) -> Aval:
    return Aval(broadcast_shapes(x.shape, y.shape), _float_of(promoted(x, y)))


def infer_bool_binary(x: Aval, y: Aval) -> Aval:
    """Comparisons and logical ops: broadcast shape, bool result."""
    return Aval(broadcast_shapes(x.shape, y.shape), dtypes.bool_)


def infer_where(cond: Aval, x: Aval, y: Aval) -> Aval:
    if cond.dtype is not dtypes.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {cond.dtype.name}")
    return Aval(broadcast_shapes(cond.shape, x.shape, y.shape), promoted(x, y))


def infer_cast(x: Aval, *, dtype) -> Aval:
    return Aval(x.shape, dtype)


# ---- NumPy semantics -------------------------------------------------------

def _operands(*arrays):
    """Cast NumPy operands to their promoted type (NumPy's own promotion
    differs from PyTorch's: float32 + int64 is float64 there)."""
    avals = [Aval(a.shape, dtypes.from_numpy(a.dtype)) for a in arrays]
    dt = promoted(*avals).np
    return [a.astype(dt, copy=False) for a in arrays]


def _binary(fn, float_result=False):
    def reference(x, y):
        x, y = _operands(x, y)
        if float_result and x.dtype.kind != "f":
            x, y = x.astype(dtypes.DEFAULT_FLOAT.np), y.astype(dtypes.DEFAULT_FLOAT.np)
        return fn(x, y)
    return reference


def _float_unary(fn):
    def reference(x):
        if x.dtype.kind != "f":
            x = x.astype(dtypes.DEFAULT_FLOAT.np)
        return fn(x)
    return reference


def _pow(x, y):
    if x.dtype.kind in "iu" and np.any(y < 0):
        # As PyTorch: 1 ** -n = 1, (-1) ** -n = +-1, anything else ** -n = 0.
        x, y = np.broadcast_arrays(x, y)
        negative = y < 0
        out = np.power(x, np.where(negative, 0, y))
        inverse = np.where(x == 1, 1, np.where(x == -1, np.where(y % 2 == 0, 1, -1), 0))
        return np.where(negative, inverse, out).astype(x.dtype)
    return np.power(x, y)


def _sigmoid(x):
    # exp of a non-positive number only: no overflow for large |x|.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def _erf(x):
    # NumPy has no erf; math.erf is exact to double precision.
    return np.asarray(_erf_scalar(x)).astype(x.dtype)  # frompyfunc gives a Python float for 0-d


def _where(cond, x, y):
    x, y = _operands(x, y)
    return np.where(cond, x, y)


def _neg(x):
    if x.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return np.negative(x)


def _sub(x, y):
    if x.dtype == np.bool_ and y.dtype == np.bool_:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead."
        )
    return np.subtract(x, y)


# ---- the primitives --------------------------------------------------------

def unary(name, reference, vjp=None, infer=infer_float_unary, **kw):
    return register(Primitive(name, Group.UNARY, infer, reference, vjp=vjp, **kw))


def binary(name, reference, vjp=None, infer=infer_arith, **kw):
    return register(Primitive(name, Group.BINARY, infer, reference, inputs=("x", "y"), vjp=vjp, **kw))


unary("neg", _neg, (lambda g: -g,), infer=infer_same_unary)
unary("exp", _float_unary(np.exp), (lambda g, out: g * out,))
unary("log", _float_unary(np.log), (lambda g, x: g / x,))
unary("log1p", _float_unary(np.log1p), (lambda g, x: g / (x + 1),), grad_name="Log1PBackward0")
unary("sqrt", _float_unary(np.sqrt), (lambda g, out: g / (out * 2),))
unary("sin", _float_unary(np.sin), (lambda g, x: g * x.cos(),))
unary("cos", _float_unary(np.cos), (lambda g, x: -(g * x.sin()),))
unary("tanh", _float_unary(np.tanh), (lambda g, out: g * (1 - out * out),))
unary("sigmoid", _float_unary(_sigmoid), (lambda g, out: g * out * (1 - out),))
unary("abs", np.abs, (lambda g, x: g * x.sign(),), infer=infer_same_unary)
unary("relu", lambda x: np.where(x < 0, x.dtype.type(0), x), (lambda g, out: where(out > 0, g, 0),),
      infer=infer_same_unary)
unary("erf", _float_unary(_erf), (lambda g, x: g * (-(x * x)).exp() * (2 / math.sqrt(math.pi)),))
unary("floor", np.floor, (lambda g: g * 0,), infer=infer_same_unary)
unary("sign", lambda x: x.copy() if x.dtype == np.bool_ else np.sign(x), (lambda g: g * 0,),
      infer=infer_same_unary)
unary("logical_not", np.logical_not, infer=lambda x: Aval(x.shape, dtypes.bool_))
# Identity with no derivative rule: `detach()` in a traced graph, so the
# autodiff pass stops there. A copy, so no graph output aliases its input.
unary("stop_gradient", np.array, infer=infer_same_unary)
unary("cast", lambda x, dtype: x.astype(dtype.np, order="C"), (lambda g: g,), infer=infer_cast,
      attrs=("dtype",), grad_name="ToCopyBackward0")

binary("add", _binary(np.add), (lambda g: g, lambda g: g))
binary("sub", _binary(_sub), (lambda g: g, lambda g: -g))
binary("mul", _binary(np.multiply), (lambda g, y: g * y, lambda g, x: g * x))
binary("div", _binary(np.true_divide, float_result=True),
       (lambda g, y: g / y, lambda g, x, y: -g * x / (y * y)), infer=infer_true_div)
binary("remainder", _binary(np.remainder), (lambda g: g, lambda g, x, y: -g * (x / y).floor()))
binary("pow", _binary(_pow), (
    lambda g, x, y: where(y == 0, 0, g * y * x ** (y - 1)),
    lambda g, x, out: where((x == 0) & (out >= 0), 0, g * out * x.log()),
))
binary("maximum", _binary(np.maximum), (
    lambda g, x, y: where(x == y, g / 2, where(x > y, g, 0)),
    lambda g, x, y: where(x == y, g / 2, where(y > x, g, 0)),
))
binary("minimum", _binary(np.minimum), (
    lambda g, x, y: where(x == y, g / 2, where(x < y, g, 0)),
    lambda g, x, y: where(x == y, g / 2, where(y < x, g, 0)),
))
for _name, _fn in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                   ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)]:
    binary(_name, _binary(_fn), infer=infer_bool_binary)
binary("logical_and", np.logical_and, infer=infer_bool_binary)
binary("logical_or", np.logical_or, infer=infer_bool_binary)
binary("logical_xor", np.logical_xor, infer=infer_bool_binary)

register(Primitive(
    "where", Group.TERNARY, infer_where, _where, inputs=("cond", "x", "y"),
    vjp=(None, lambda g, cond: where(cond, g, 0), lambda g, cond: where(cond, 0, g)),
))
