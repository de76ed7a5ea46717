"""Steps that are not loop nests over a kernel body: gather, scatter-add,
iota and matmul (a batch loop around the GEMM kernel of gemm.py).

Each is an LLVM function `i32 name(ptr out, ptr inputs..., ptr error)`.
Gather and scatter-add check every index before using it; a bad one stops
the step, writes (error code, index) to `error` and returns the code, so
the runtime raises IndexError and nothing reads or writes out of bounds."""
from __future__ import annotations

import llvmlite.ir as ir

from .. import dtypes
from . import library, types
from .layout import Layout
from .loops import I64, const, linear_offset, loop_nest

I32 = ir.IntType(32)


def _function(module, name, n_pointers) -> ir.Function:
    fn = ir.Function(module, ir.FunctionType(I32, [types.PTR] * n_pointers), name)
    fn.linkage = "internal"
    for arg in fn.args:
        arg.add_attribute("noalias")
    return fn


def _address(b, base, layout_strides, indices, dtype):
    return types.element_pointer(b, base, dtype, linear_offset(b, zip(indices, layout_strides)))


def _check_indices(b, fn, pointer, idx: Layout, dtype, size, code):
    """Before anything reads or writes through them: every index must lie in
    [-size, size). The first bad one (in row-major order, as the interpreter
    reports it) stores (code, index) in the error record and returns `code`."""
    with loop_nest(b, idx.shape, "c") as j:
        index = _index(b, types.load(b, _address(b, pointer, idx.strides, j, dtype), dtype), dtype)
        bad = b.or_(b.icmp_signed("<", index, const(-size)), b.icmp_signed(">=", index, const(size)))
        with b.if_then(bad, likely=False):
            error = fn.args[-1]
            b.store(const(code), error)
            b.store(index, b.gep(error, [const(1)], source_etype=I64))
            b.ret(ir.Constant(I32, code))


def _index(b, value, dtype):
    return b.sext(value, I64) if dtype.itemsize < 8 else value


def _wrapped(b, value, dtype, size):
    """A checked index as a position: negative ones count from the end."""
    index = _index(b, value, dtype)
    return b.select(b.icmp_signed("<", index, const(0)), b.add(index, const(size)), index)


def emit_gather(module, name, node, x: Layout, idx: Layout, code: int) -> ir.Function:
    """out[pre, j, post] = x[pre, idx[j], post] along `axis`."""
    fn = _function(module, name, 4)
    out, xp, ip, _ = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    axis, shape = node.attrs["axis"], node.out.shape
    idx_dtype = node.inputs[1].dtype
    n_idx = len(idx.shape)
    _check_indices(b, fn, ip, idx, idx_dtype, x.shape[axis], code)
    with loop_nest(b, shape) as index:
        pre, j, post = index[:axis], index[axis:axis + n_idx], index[axis + n_idx:]
        raw = types.load(b, _address(b, ip, idx.strides, j, idx_dtype), idx_dtype)
        k = _wrapped(b, raw, idx_dtype, x.shape[axis])
        value = types.load(b, _address(b, xp, x.strides, pre + [k] + post, node.out.dtype), node.out.dtype)
        types.store(b, value, _address(b, out, _contiguous(shape), index, node.out.dtype), node.out.dtype)
    b.ret(ir.Constant(I32, 0))
    return fn


def emit_scatter_add(module, name, node, idx: Layout, src: Layout, code: int) -> ir.Function:
    """out (already a copy of base) [pre, idx[j], post] += src[pre, j, post]."""
    fn = _function(module, name, 4)
    out, ip, sp, _ = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    axis, dtype = node.attrs["axis"], node.out.dtype
    n_idx = len(node.inputs[1].shape)
    out_strides = _contiguous(node.out.shape)
    idx_dtype = node.inputs[1].dtype
    _check_indices(b, fn, ip, idx, idx_dtype, node.out.shape[axis], code)
    with loop_nest(b, src.shape) as index:
        pre, j, post = index[:axis], index[axis:axis + n_idx], index[axis + n_idx:]
        raw = types.load(b, _address(b, ip, idx.strides, j, idx_dtype), idx_dtype)
        k = _wrapped(b, raw, idx_dtype, node.out.shape[axis])
        target = _address(b, out, out_strides, pre + [k] + post, dtype)
        value = types.load(b, _address(b, sp, src.strides, index, dtype), dtype)
        current = types.load(b, target, dtype)
        total = (b.fadd if dtype.is_floating_point else (b.or_ if dtype.itemsize == 1 else b.add))(current, value)
        types.store(b, total, target, dtype)
    b.ret(ir.Constant(I32, 0))
    return fn


def emit_iota(module, name, node) -> ir.Function:
    fn = _function(module, name, 1)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    dtype = node.out.dtype
    with loop_nest(b, node.out.shape) as (i,):
        value = types.convert(b, i, dtypes.int64, dtype)
        types.store(b, value, types.element_pointer(b, fn.args[0], dtype, i), dtype)
    b.ret(ir.Constant(I32, 0))
    return fn


def emit_matmul(module, name, node, x: Layout, y: Layout) -> ir.Function:
    """Each batch entry of [..., M, K] @ [..., K, N] through the GEMM kernel;
    broadcast batch dims read with stride 0. The last two pointers are the
    GEMM's packing scratch and the library GEMM to call (library.py)."""
    fn = _function(module, name, 5)
    out, xp, yp, scratch, kernel = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    dtype = node.out.dtype
    *batch, m, n = node.out.shape
    k = x.shape[-1]
    xs = x.expanded(tuple(batch) + x.shape[-2:]).strides
    ys = y.expanded(tuple(batch) + y.shape[-2:]).strides
    with loop_nest(b, batch, "b") as index:
        a = _address(b, xp, xs[:-2], index, dtype)
        bb = _address(b, yp, ys[:-2], index, dtype)
        c = _address(b, out, [m * n * s for s in _contiguous(batch)], index, dtype)
        b.call(_FunctionPointer(kernel, library.GEMM_TYPE), [const(m), const(n), const(k), a, const(xs[-2]), const(xs[-1]),
                        bb, const(ys[-2]), const(ys[-1]), c, scratch])
    b.ret(ir.Constant(I32, 0))
    return fn


class _FunctionPointer:
    """A function pointer as llvmlite's `call` wants its callee: a value
    that knows its function type (opaque pointers do not)."""

    def __init__(self, pointer, function_type):
        self.pointer, self.function_type = pointer, function_type
        self.type = pointer.type

    def get_reference(self):
        return self.pointer.get_reference()


def _contiguous(shape):
    return Layout.contiguous(None, shape).strides
