"""Steps that are not loop nests over a kernel body: gather, scatter-add,
iota and matmul (a batch loop around the GEMM kernel of gemm.py).

Each is an LLVM function `i32 name(ptr out, ptr inputs..., ptr error)`.
Gather and scatter-add check every index before using it; a bad one stops
the step, writes (error code, index) to `error` and returns the code, so
the runtime raises IndexError and nothing reads or writes out of bounds."""
from __future__ import annotations

import llvmlite.ir as ir

from .. import dtypes
from . import gemm, types
from .layout import Layout
from .loops import I64, const, loop_nest

I32 = ir.IntType(32)


def _function(module, name, n_pointers) -> ir.Function:
    fn = ir.Function(module, ir.FunctionType(I32, [types.PTR] * n_pointers), name)
    fn.linkage = "internal"
    for arg in fn.args:
        arg.add_attribute("noalias")
    return fn


def _address(b, base, layout_strides, indices, dtype):
    offset = const(0)
    for i, s in zip(indices, layout_strides):
        if s:
            offset = b.add(offset, b.mul(i, const(s)))
    return types.element_pointer(b, base, dtype, offset)


def _checked_index(b, fn, value, dtype, size, code):
    """`value` (an index of `dtype`) wrapped from negative; on out-of-range,
    stores (code, value) in the error record and returns `code`."""
    index = b.sext(value, I64) if dtype.itemsize < 8 else value
    bad = b.or_(b.icmp_signed("<", index, const(-size)), b.icmp_signed(">=", index, const(size)))
    fail = fn.append_basic_block("bad_index")
    ok = fn.append_basic_block("index_ok")
    b.cbranch(bad, fail, ok)
    b.position_at_end(fail)
    error = fn.args[-1]
    b.store(const(code), error)
    b.store(index, b.gep(error, [const(1)], source_etype=I64))
    b.ret(ir.Constant(I32, code))
    b.position_at_end(ok)
    return b.select(b.icmp_signed("<", index, const(0)), b.add(index, const(size)), index)


def emit_gather(module, name, node, x: Layout, idx: Layout, code: int) -> ir.Function:
    """out[pre, j, post] = x[pre, idx[j], post] along `axis`."""
    fn = _function(module, name, 4)
    out, xp, ip, _ = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    axis, shape = node.attrs["axis"], node.out.shape
    idx_dtype = node.inputs[1].dtype
    n_idx = len(idx.shape)
    with loop_nest(b, shape) as index:
        pre, j, post = index[:axis], index[axis:axis + n_idx], index[axis + n_idx:]
        raw = types.load(b, _address(b, ip, idx.strides, j, idx_dtype), idx_dtype)
        k = _checked_index(b, fn, raw, idx_dtype, x.shape[axis], code)
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
    with loop_nest(b, src.shape) as index:
        pre, j, post = index[:axis], index[axis:axis + n_idx], index[axis + n_idx:]
        raw = types.load(b, _address(b, ip, idx.strides, j, node.inputs[1].dtype), node.inputs[1].dtype)
        k = _checked_index(b, fn, raw, node.inputs[1].dtype, node.out.shape[axis], code)
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
    broadcast batch dims read with stride 0. The last pointer is the GEMM's
    packing scratch."""
    fn = _function(module, name, 4)
    out, xp, yp, scratch = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    dtype = node.out.dtype
    *batch, m, n = node.out.shape
    k = x.shape[-1]
    xs = x.expanded(tuple(batch) + x.shape[-2:]).strides
    ys = y.expanded(tuple(batch) + y.shape[-2:]).strides
    kernel = gemm.define_gemm(module, dtype.name)
    with loop_nest(b, batch, "b") as index:
        a = _address(b, xp, xs[:-2], index, dtype)
        bb = _address(b, yp, ys[:-2], index, dtype)
        c = _address(b, out, [m * n * s for s in _contiguous(batch)], index, dtype)
        b.call(kernel, [const(m), const(n), const(k), a, const(xs[-2]), const(xs[-1]),
                        bb, const(ys[-2]), const(ys[-1]), c, scratch])
    b.ret(ir.Constant(I32, 0))
    return fn


def _contiguous(shape):
    return Layout.contiguous(None, shape).strides
