"""How each DType lives in LLVM: its storage type in memory (bool is one
byte, as NumPy stores it), its type in registers (bool is i1), and the
conversions between dtypes with NumPy's results on x86 (a float that does
not fit the integer type becomes the minimum integer, never LLVM poison)."""
from __future__ import annotations

import llvmlite.ir as ir

from .. import dtypes

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
F32, F64 = ir.FloatType(), ir.DoubleType()
PTR = ir.PointerType()

_STORAGE = {"bool": I8, "int32": I32, "int64": I64, "float32": F32, "float64": F64}
_REGISTER = {"bool": I1, "int32": I32, "int64": I64, "float32": F32, "float64": F64}


class FunctionPointer:
    """A function pointer as llvmlite's `call` wants its callee: a value
    that knows its function type (opaque pointers do not)."""

    def __init__(self, pointer, function_type):
        self.pointer, self.function_type = pointer, function_type
        self.type = pointer.type

    def get_reference(self):
        return self.pointer.get_reference()


def storage(dtype: dtypes.DType) -> ir.Type:
    return _STORAGE[dtype.name]


def register(dtype: dtypes.DType) -> ir.Type:
    return _REGISTER[dtype.name]


def constant(dtype: dtypes.DType, value) -> ir.Constant:
    """`value` as a register constant of `dtype` (NaN and infinities included)."""
    if dtype.is_floating_point:
        return ir.Constant(register(dtype), float(value))
    return ir.Constant(register(dtype), int(value))


def intrinsic(builder: ir.IRBuilder, name: str, *args):
    """Call the LLVM intrinsic `name` overloaded on the first argument's type
    (declared with the argument types given, which llvmlite cannot infer
    for two-operand intrinsics such as llvm.maximum)."""
    ty = args[0].type
    fn_type = ir.FunctionType(ty, [a.type for a in args])
    return builder.call(builder.module.declare_intrinsic(name, [ty], fn_type), list(args))


def load(builder: ir.IRBuilder, pointer, dtype: dtypes.DType):
    value = builder.load(pointer, typ=storage(dtype))
    return builder.trunc(value, I1) if dtype is dtypes.bool_ else value


def store(builder: ir.IRBuilder, value, pointer, dtype: dtypes.DType):
    if dtype is dtypes.bool_:
        value = builder.zext(value, I8)
    builder.store(value, pointer)


def element_pointer(builder: ir.IRBuilder, base, dtype: dtypes.DType, offset):
    return builder.gep(base, [offset], inbounds=True, source_etype=storage(dtype))


def convert(builder: ir.IRBuilder, value, source: dtypes.DType, target: dtypes.DType):
    """NumPy's `astype` from `source` to `target` on a register value."""
    if source is target:
        return value
    to = register(target)
    if target is dtypes.bool_:
        if source.is_floating_point:
            return builder.fcmp_unordered("!=", value, ir.Constant(value.type, 0.0))
        return builder.icmp_unsigned("!=", value, ir.Constant(value.type, 0))
    if source is dtypes.bool_:
        return builder.uitofp(value, to) if target.is_floating_point else builder.zext(value, to)
    if source.is_floating_point and target.is_floating_point:
        return builder.fpext(value, to) if target.itemsize > source.itemsize else builder.fptrunc(value, to)
    if target.is_floating_point:
        return builder.sitofp(value, to)
    if source.is_floating_point:
        return _float_to_int(builder, value, to)
    if target.itemsize > source.itemsize:
        return builder.sext(value, to)
    return builder.trunc(value, to)


def _float_to_int(builder, value, to: ir.IntType):
    """x86 semantics (what NumPy gives): NaN and out-of-range -> INT_MIN."""
    limit = float(2 ** (to.width - 1))
    inside = builder.and_(builder.fcmp_ordered(">=", value, ir.Constant(value.type, -limit)),
                          builder.fcmp_ordered("<", value, ir.Constant(value.type, limit)))
    safe = builder.select(inside, value, ir.Constant(value.type, 0.0))
    return builder.select(inside, builder.fptosi(safe, to), ir.Constant(to, -(2 ** (to.width - 1))))
