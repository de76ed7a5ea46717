"""Each elementwise primitive on one element, as LLVM IR.

`emit(builder, op, attrs, operands, out)` computes one element of an
elementwise node from its operands' register values (with their avals).
Operands are first converted the way the primitive's NumPy semantics
convert them (registry: ops/elementwise.py): arithmetic in the result
dtype, comparisons in the promoted dtype, logical ops on truth values.
Every entry of `LOWERINGS` reproduces NumPy's answer bit for bit, NaN,
infinities and signed zeros included, except the transcendental functions
of mathfns.py (exp, log, log1p, tanh, sigmoid, erf: within 2 ulp, and they
vectorize). sin, cos and float pow are LLVM intrinsics that become libm
calls: as exact as libm, but not vectorized. A test checks that every
elementwise primitive of the registry has an entry here.
"""
from __future__ import annotations

import math

import llvmlite.ir as ir

from .. import dtypes
from ..ops.elementwise import promoted
from ..ops.registry import Aval
from . import mathfns
from .types import I1, convert
from .types import intrinsic as _intrinsic


class Operands:
    """An elementwise node's operands at one element, converted on demand."""

    def __init__(self, builder: ir.IRBuilder, values, avals, out: Aval, attrs):
        self.builder, self.values, self.avals, self.out, self.attrs = builder, values, avals, out, attrs

    def as_(self, dtype: dtypes.DType):
        return [convert(self.builder, v, a.dtype, dtype) for v, a in zip(self.values, self.avals)]

    @property
    def in_result_type(self):
        return self.as_(self.out.dtype)

    @property
    def in_promoted_type(self):
        return self.as_(promoted(*self.avals))

    @property
    def truths(self):
        return self.as_(dtypes.bool_)


def emit(builder: ir.IRBuilder, op: str, attrs: dict, values, avals, out: Aval):
    """One element of `op` applied to `values` (register values of `avals`)."""
    try:
        lowering = LOWERINGS[op]
    except KeyError:
        raise NotImplementedError(f"LLVM backend: no lowering for elementwise op {op!r}") from None
    return lowering(Operands(builder, values, avals, out, attrs))


def _is_float(value) -> bool:
    return isinstance(value.type, (ir.FloatType, ir.DoubleType))


def _zero(value):
    return ir.Constant(value.type, 0.0 if _is_float(value) else 0)


def _isnan(b, x):
    return b.fcmp_unordered("uno", x, x)


def _not_nan_constant(value) -> bool:
    return isinstance(value, ir.Constant) and not math.isnan(value.constant)


# ---- unary -------------------------------------------------------------------

def _float_unary(fn):
    """Ops that compute in floating point (integers convert to float32 first)."""
    return lambda o: fn(o.builder, o.in_result_type[0])


def _neg(o):
    (x,) = o.in_result_type
    return o.builder.fneg(x) if _is_float(x) else o.builder.neg(x)


def _abs(o):
    (x,) = o.in_result_type
    if x.type == I1:
        return x
    if _is_float(x):
        return _intrinsic(o.builder, "llvm.fabs", x)
    return _intrinsic(o.builder, "llvm.abs", x, ir.Constant(I1, 0))  # abs(INT_MIN) wraps, as NumPy's


def _relu(o):
    (x,) = o.in_result_type
    if x.type == I1:
        return x
    b = o.builder
    negative = b.fcmp_ordered("<", x, _zero(x)) if _is_float(x) else b.icmp_signed("<", x, _zero(x))
    return b.select(negative, _zero(x), x)  # NaN and -0.0 pass through, as NumPy's where(x < 0, 0, x)


def _floor(o):
    (x,) = o.in_result_type
    return _intrinsic(o.builder, "llvm.floor", x) if _is_float(x) else x


def _sign(o):
    (x,) = o.in_result_type
    b = o.builder
    if x.type == I1:
        return x
    one, minus_one = ir.Constant(x.type, 1.0 if _is_float(x) else 1), ir.Constant(x.type, -1.0 if _is_float(x) else -1)
    if _is_float(x):
        rest = b.select(_isnan(b, x), x, _zero(x))  # sign(NaN) is NaN, sign(-0.0) is +0.0
        return b.select(b.fcmp_ordered(">", x, _zero(x)), one,
                        b.select(b.fcmp_ordered("<", x, _zero(x)), minus_one, rest))
    return b.select(b.icmp_signed(">", x, _zero(x)), one,
                    b.select(b.icmp_signed("<", x, _zero(x)), minus_one, _zero(x)))


def _logical_not(o):
    (x,) = o.truths
    return o.builder.not_(x)


def _identity(o):
    return o.in_result_type[0]


# ---- binary ------------------------------------------------------------------

def _arith(float_op: str, int_op: str, bool_op: str):
    def lower(o):
        x, y = o.in_result_type
        if x.type == I1:
            return getattr(o.builder, bool_op)(x, y)
        return getattr(o.builder, float_op if _is_float(x) else int_op)(x, y)
    return lower


def _div(o):
    x, y = o.in_result_type  # true division: the result dtype is floating
    return o.builder.fdiv(x, y)


def _remainder(o):
    """NumPy's floor-mod: the result takes the divisor's sign; x % 0 is NaN
    for floats and 0 for integers."""
    x, y = o.in_result_type
    b = o.builder
    if _is_float(x):
        r = b.frem(x, y)
        fix = b.and_(b.fcmp_ordered("!=", r, _zero(r)),
                     b.xor(b.fcmp_ordered("<", r, _zero(r)), b.fcmp_ordered("<", y, _zero(y))))
        zero_signed = _intrinsic(b, "llvm.copysign", _zero(r), y)
        adjusted = b.select(fix, b.fadd(r, y), r)
        return b.select(b.fcmp_ordered("==", r, _zero(r)), zero_signed, adjusted)
    if x.type == I1:
        return ir.Constant(I1, 0)  # NumPy: x % True is 0, and x % False (division by zero) is 0 too
    one = ir.Constant(y.type, 1)
    # y == 0 (NumPy gives 0) and y == -1 (INT_MIN % -1 traps on x86) divide by 1.
    unsafe = b.or_(b.icmp_signed("==", y, _zero(y)), b.icmp_signed("==", y, ir.Constant(y.type, -1)))
    r = b.srem(x, b.select(unsafe, one, y))
    fix = b.and_(b.icmp_signed("!=", r, _zero(r)),
                 b.xor(b.icmp_signed("<", r, _zero(r)), b.icmp_signed("<", y, _zero(y))))
    return b.select(fix, b.add(r, y), r)


def _pow(o):
    x, y = o.in_result_type
    b = o.builder
    if _is_float(x):
        return _intrinsic(b, "llvm.pow", x, y)
    if x.type == I1:
        return b.or_(x, b.not_(y))  # x ** 0 is 1
    return b.call(_integer_power(b.module, x.type), [x, y])


def _integer_power(module: ir.Module, ty: ir.IntType) -> ir.Function:
    """Exponentiation by squaring, wrapping as NumPy's; negative exponents
    as PyTorch's: 1 ** -n = 1, (-1) ** -n = +-1, anything else ** -n = 0."""
    name = f"jitgrad_ipow_i{ty.width}"
    if name in module.globals:
        return module.globals[name]
    fn = ir.Function(module, ir.FunctionType(ty, [ty, ty]), name)
    fn.linkage = "internal"
    base, exponent = fn.args
    entry, head, body, done = (fn.append_basic_block(n) for n in ("entry", "head", "body", "done"))
    b = ir.IRBuilder(entry)
    zero, one = ir.Constant(ty, 0), ir.Constant(ty, 1)
    negative = b.icmp_signed("<", exponent, zero)
    odd_exponent = b.trunc(exponent, I1)
    inverse = b.select(b.icmp_signed("==", base, one), one,
                       b.select(b.icmp_signed("==", base, ir.Constant(ty, -1)),
                                b.select(odd_exponent, ir.Constant(ty, -1), one), zero))
    start = b.select(negative, zero, exponent)
    b.branch(head)
    b.position_at_end(head)
    result, square, rest = b.phi(ty), b.phi(ty), b.phi(ty)
    result.add_incoming(one, entry)
    square.add_incoming(base, entry)
    rest.add_incoming(start, entry)
    b.cbranch(b.icmp_signed(">", rest, zero), body, done)
    b.position_at_end(body)
    result.add_incoming(b.select(b.trunc(rest, I1), b.mul(result, square), result), body)
    square.add_incoming(b.mul(square, square), body)
    rest.add_incoming(b.lshr(rest, one), body)
    b.branch(head)
    b.position_at_end(done)
    b.ret(b.select(negative, inverse, result))
    return fn


def _extremum(float_order: str, int_order: str, bool_op: str):
    """NumPy's maximum/minimum: a NaN operand wins; otherwise `x > y ? x : y`
    (so maximum(-0.0, 0.0) is 0.0 and maximum(0.0, -0.0) is -0.0, as NumPy).
    Against a constant c that is not NaN one comparison does: maximum(c, y)
    is `c > y ? c : y` (a NaN y fails it and wins), maximum(x, c) is
    `c >= x ? c : x` (ties give c, as x > c ? x : c does), which x86's
    max/min instructions compute (the bench chain's maximum(y, 0.1): 5
    instructions a vector -> 1)."""
    def lower(o):
        x, y = o.in_result_type
        b = o.builder
        if x.type == I1:
            return getattr(b, bool_op)(x, y)
        if _is_float(x):
            if _not_nan_constant(x):
                return b.select(b.fcmp_ordered(float_order, x, y), x, y)
            if _not_nan_constant(y):
                return b.select(b.fcmp_ordered(float_order + "=", y, x), y, x)
            pick = b.select(b.fcmp_ordered(float_order, x, y), x, y)
            return b.select(_isnan(b, x), x, b.select(_isnan(b, y), y, pick))
        return b.select(b.icmp_signed(int_order, x, y), x, y)
    return lower


def _compare(order: str):
    def lower(o):
        x, y = o.in_promoted_type
        b = o.builder
        if _is_float(x):  # every ordered comparison with NaN is false; != is true
            return b.fcmp_unordered(order, x, y) if order == "!=" else b.fcmp_ordered(order, x, y)
        if x.type == I1:
            return b.icmp_unsigned(order, x, y)
        return b.icmp_signed(order, x, y)
    return lower


def _logical(method: str):
    def lower(o):
        x, y = o.truths
        return getattr(o.builder, method)(x, y)
    return lower


def _where(o):
    b = o.builder
    cond = convert(b, o.values[0], o.avals[0].dtype, dtypes.bool_)
    x, y = (convert(b, v, a.dtype, o.out.dtype) for v, a in zip(o.values[1:], o.avals[1:]))
    return b.select(cond, x, y)


def _cast(o):
    return o.in_result_type[0]  # the result dtype is attrs["dtype"]


LOWERINGS = {
    "neg": _neg,
    "exp": _float_unary(mathfns.exp),
    "log": _float_unary(mathfns.log),
    "log1p": _float_unary(mathfns.log1p),
    "sqrt": _float_unary(lambda b, x: _intrinsic(b, "llvm.sqrt", x)),
    "sin": _float_unary(lambda b, x: _intrinsic(b, "llvm.sin", x)),
    "cos": _float_unary(lambda b, x: _intrinsic(b, "llvm.cos", x)),
    "tanh": _float_unary(mathfns.tanh),
    "sigmoid": _float_unary(mathfns.sigmoid),
    "erf": _float_unary(mathfns.erf),
    "abs": _abs,
    "relu": _relu,
    "floor": _floor,
    "sign": _sign,
    "logical_not": _logical_not,
    "stop_gradient": _identity,
    "cast": _cast,
    "add": _arith("fadd", "add", "or_"),
    "sub": _arith("fsub", "sub", "xor"),
    "mul": _arith("fmul", "mul", "and_"),
    "div": _div,
    "remainder": _remainder,
    "pow": _pow,
    "maximum": _extremum(">", ">", "or_"),
    "minimum": _extremum("<", "<", "and_"),
    "eq": _compare("=="),
    "ne": _compare("!="),
    "lt": _compare("<"),
    "le": _compare("<="),
    "gt": _compare(">"),
    "ge": _compare(">="),
    "logical_and": _logical("and_"),
    "logical_or": _logical("or_"),
    "logical_xor": _logical("xor"),
    "where": _where,
}


# What one element of an op costs in a fused kernel, in units of a simple op
# (x * 3 on one float32 element, ~0.11 ns on one core here with its load and
# store); unlisted ops cost 1. Measured on znver4, float32, 1M elements, one
# core: x * 3 112 us, exp 198, sigmoid 274, tanh 299, sqrt(|x|) 211,
# log(|x|) 479, log1p(|x|) 691, gelu (erf and 5 ops) 715; a libm call per
# element: sin 7320, float pow 7939, float remainder (fmod) 14585.
_COST = {"sqrt": 2, "exp": 2, "sigmoid": 2, "tanh": 3, "log": 4, "erf": 4, "log1p": 6}
_LIBM_COST = {"sin": 65, "cos": 65, "pow": 70, "remainder": 130}
# mathfns' functions: straight-line polynomials, 16-45 vector instructions each, one long dependency chain
INLINE_MATH = ("exp", "log", "log1p", "tanh", "sigmoid", "erf")


def calls_libm(op: str, dtype: dtypes.DType) -> bool:
    """Whether `op` in `dtype` is a scalar libm call per element (sin, cos, float pow and remainder)."""
    return op in _LIBM_COST and dtype.is_floating_point


def cost(op: str, dtype: dtypes.DType) -> int:
    """Roughly what one element of `op` in `dtype` costs (see _COST): the
    runtime splits a kernel across cores by it."""
    return _LIBM_COST[op] if calls_libm(op, dtype) else _COST.get(op, 1)
