"""Steps that are not loop nests over a kernel body: gather, scatter-add,
iota and matmul (a loop over slabs of the output around the GEMM of gemm.py).

Gather, scatter-add and iota are LLVM functions `i32 name(ptr out, ptr inputs..., ptr error)`.
Gather and scatter-add check every index before using it; a bad one stops
the step, writes (error code, index) to `error` and returns the code, so
the runtime raises IndexError and nothing reads or writes out of bounds."""
from __future__ import annotations

import math
from typing import NamedTuple

import llvmlite.ir as ir

from .. import dtypes
from . import gemm, library, types
from .layout import Layout
from .loops import I64, const, for_range, linear_offset, loop_nest

# Column slabs: narrower than 128 reuse each A panel for too few tiles, and a
# product cut in more than 4 repacks A more often than the cores gain: 1024^3
# float32 on 2 threads took 13.2 ms in 8 slabs, 11.8 in 4, 12.7 in 2 (rows 4
# KiB apart, so A is packed per panel; numpy 11.6 ms in the same runs).
_MIN_SLAB = 128
_SLABS = 4
_MIN_ROW_SLAB = 48  # row slabs (narrow products): four tiles of rows at least

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


class MatmulSplit(NamedTuple):
    """How a matmul's work splits into items that threads can share: each
    batch entry cut into `slabs` slabs of `size` columns (or rows), the last
    taking the rest; items are batch entries times slabs."""
    items: int
    slabs: int
    size: int
    rows: bool  # slabs of rows, else of columns


def matmul_items(node) -> MatmulSplit:
    """Column slabs of up to _SLABS per entry, a multiple of the GEMM's tile
    width (threads never share a packed block of B); a product too narrow
    for two of them (a classifier's logits, N = 10) is cut into row slabs
    instead, a multiple of the tile height, each packing all of the small B.
    Small products stay one slab per entry."""
    *batch, m, n = node.out.shape
    entries = math.prod(batch)
    nr, mr = gemm.tile_columns(node.out.dtype.name), gemm.tile_rows(node.out.dtype.name)
    width = max(nr, _MIN_SLAB, n // _SLABS // nr * nr)  # rounded down: 784 makes 4 slabs, not 3 (2 threads: 2 each)
    if m >= 2 and n >= 2 * width:
        return MatmulSplit(entries * (n // width), n // width, width, False)
    height = max(mr, _MIN_ROW_SLAB, m // _SLABS // mr * mr)
    if m >= 2 * height:
        return MatmulSplit(entries * (m // height), m // height, height, True)
    return MatmulSplit(entries, 1, n, False)


def emit_matmul(module, name, node, x: Layout, y: Layout) -> ir.Function:
    """`void name(ptr out, ptr x, ptr y, ptr scratch, ptr gemm, i64 start, i64 stop)`:
    matmul items [start, stop) (see matmul_items) through the library GEMM
    (library.py) that `gemm` points at, packing in `scratch`; broadcast batch
    dims read with stride 0."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [types.PTR] * 5 + [I64, I64]), name)
    fn.linkage = "internal"
    out, xp, yp, scratch, kernel, start, stop = fn.args
    for arg in (out, xp, yp, scratch):
        arg.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    dtype = node.out.dtype
    *batch, m, n = node.out.shape
    k = x.shape[-1]
    xs = x.expanded(tuple(batch) + x.shape[-2:]).strides
    ys = y.expanded(tuple(batch) + y.shape[-2:]).strides
    split = matmul_items(node)
    with for_range(b, stop, "item", start) as item:
        entry, slab = b.udiv(item, const(split.slabs)), b.urem(item, const(split.slabs))
        index = []
        for size in reversed(batch):  # the entry's batch coordinates, row major
            index.insert(0, b.urem(entry, const(size)))
            entry = b.udiv(entry, const(size))
        first = b.mul(slab, const(split.size))  # the slab's first column (or row)
        extent = m if split.rows else n
        count = b.select(b.icmp_unsigned("==", slab, const(split.slabs - 1)), b.sub(const(extent), first),
                         const(split.size))
        row, column = (first, const(0)) if split.rows else (const(0), first)
        a = types.element_pointer(b, _address(b, xp, xs[:-2], index, dtype), dtype, b.mul(row, const(xs[-2])))
        bb = types.element_pointer(b, _address(b, yp, ys[:-2], index, dtype), dtype,
                                   b.mul(column, const(ys[-1])))
        c = types.element_pointer(b, _address(b, out, [m * n * s for s in _contiguous(batch)], index, dtype),
                                  dtype, b.add(b.mul(row, const(n)), column))
        rows, columns = (count, const(n)) if split.rows else (const(m), count)
        b.call(types.FunctionPointer(kernel, library.GEMM_TYPE),
               [rows, columns, const(k), a, const(xs[-2]), const(xs[-1]), bb, const(ys[-2]), const(ys[-1]),
                c, const(n), scratch])
    b.ret_void()
    return fn


def _contiguous(shape):
    return Layout.contiguous(None, shape).strides
