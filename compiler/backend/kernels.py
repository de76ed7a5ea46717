"""One fused kernel as one loop nest (the contract is in ir/kernel.py).

The loops run over the kernel's output shape (its dims of size > 1, row
major, so the innermost loop walks contiguous memory and LLVM vectorizes
it); a kernel with a reduction adds inner loops over the reduced dims,
accumulating in a register, then computes the epilogue once per output
element, except a sum that keeps its source's innermost axis (a bias
gradient): that one keeps a row of sums and adds whole rows into it.
Every body value is evaluated at a *projection*: for each of its dims,
the loop whose index it takes (or none: a size-1 dim). Broadcasting,
`expand` and size-1 reshapes only change projections, and an input is read
at `sum(stride * index)` of its layout, so broadcasting and strided views
cost no code. Adjacent loops are merged when every access stays affine, so
a [256, 3] kernel over contiguous data is one loop of 768.

The outermost loop runs over [start, stop), the function's last two
arguments, so the entry can hand slices of it to other threads (see
program.py); a reduction's loops are all inside it, so every output element
is computed whole by one thread, in the same order as on one.

A loop without a reduction whose body is one long dependency chain (the
bench's chain: tanh, then exp, ~150 cycles a vector) is vectorized with
several independent vectors per iteration (`interleave_count`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import llvmlite.ir as ir

from .. import dtypes
from ..ops.registry import Group
from . import scalar_ops, types
from .loops import I64, LoopHints, const, for_range, linear_offset, loop_nest

MAX_COLUMN_SUMS = 1 << 13  # a row of sums on the stack (64 KiB at most)
# A body with inline math (mathfns) is one long dependency chain: LLVM's
# vectorizer keeps one vector per iteration for it, to save registers, and the
# core's scheduler fills with the chain's waiting ops (the bench's chain, tanh
# then exp, ran at 56 cycles a vector). Four or eight independent vectors fill
# the pipes; the constants they push out of registers become cheap memory
# operands. Measured on znver4, float32, 1M elements on two cores, LLVM's
# choice -> 4 -> 8 vectors an iteration: the chain 537 -> 448 -> 450 us (64K
# on one core: 64 -> 50 -> 45), exp(tanh(x)) 421 -> 347 -> 358 (55 -> 44 ->
# 44), tanh(1.5x + 0.5) * 2 - 1 283 -> 234 -> 262, tanh 421 -> 349 -> 488,
# log(x * x + 1) 307 -> 285 -> 343, exp 242 -> 220 -> 242. Arithmetic alone
# gained nothing (x * 1.1 * ... * 1.8: 94 -> 98 us).
MIN_INTERLEAVED_TRIP = 512       # innermost trip count below which the remainder loops do most of the work


@dataclass
class Kernel:
    """An emitted kernel: `void fn(ptr out, ptr in..., i64 start, i64 stop)`."""

    fn: ir.Function
    extent: int  # of the outermost loop, which start and stop bound (1 if none)
    work: int    # loop iterations times the body's cost: what splitting it across threads is worth


def body_cost(body) -> int:
    """One element of a kernel body, in units of a simple op (scalar_ops.cost).
    Constants count as one, as every node did when the thresholds that use
    this were measured: leaving them out kept an SGD update of 400K floats
    (w - lr * g) on one core, 2% of the large MLP step."""
    return sum(scalar_ops.cost(n.op, n.out.dtype) for n in body.nodes)


def interleave_count(body, trip: int) -> int | None:
    """Vectors per iteration of an innermost loop of `trip` iterations
    running `body`: 8 when a chain of dependent ops holds two inline math
    functions, 4 when it holds one, else None (LLVM's choice)."""
    if trip < MIN_INTERLEAVED_TRIP or any(scalar_ops.calls_libm(n.op, n.out.dtype) for n in body.nodes):
        return None
    chain = {}  # value -> the most inline math functions on a chain ending at it
    for node in body.nodes:
        chain[node.out] = (node.op in scalar_ops.INLINE_MATH) + max((chain.get(v, 0) for v in node.inputs), default=0)
    longest = max(chain.values(), default=0)
    return 8 if longest >= 2 else 4 if longest == 1 else None


@dataclass
class Loops:
    """The loop dims of one kernel: sizes, and which are reduction loops."""

    sizes: list[int]
    inner: list[bool]


def _broadcast(proj, shape, to_shape):
    """The projection of an operand of `shape` broadcast (right-aligned) to `to_shape`."""
    lead = len(to_shape) - len(shape)
    return tuple(None if n == 1 else proj[lead + d] for d, n in enumerate(shape))


def _unit_reshape(proj, shape, out_shape):
    """The projection of a reshape's input when the reshape only adds or drops size-1 dims."""
    it = iter([p for p, n in zip(proj, out_shape) if n != 1])
    return tuple(None if n == 1 else next(it) for n in shape)


class KernelEmitter:
    """Emits `body` as an LLVM function `void name(ptr out, ptr in0, ..., i64 start, i64 stop)`
    reading input i through `in_strides[i]` and writing through `out_strides`."""

    def __init__(self, module: ir.Module, name: str, body, in_strides, out_strides):
        self.body, self.in_strides, self.out_strides = body, list(in_strides), tuple(out_strides)
        reductions = [n for n in body.nodes if n.prim.group is Group.REDUCE]
        if len(reductions) > 1:
            raise NotImplementedError(f"kernel {name}: {len(reductions)} reductions; the fusion pass allows one")
        self.reduction = reductions[0] if reductions else None
        out_shape = body.outputs[0].shape
        self.loops = Loops([n for n in out_shape if n != 1], [False] * sum(n != 1 for n in out_shape))
        self.out_proj = self._leading_projection(out_shape)
        if self.reduction is not None:
            self._add_reduction_loops()
        fn_type = ir.FunctionType(ir.VoidType(), [types.PTR] * (1 + len(body.inputs)) + [I64, I64])
        self.fn = ir.Function(module, fn_type, name)
        self.fn.linkage = "internal"
        for arg in self.fn.args[:-2]:
            arg.add_attribute("noalias")
        self.accesses = self._collect_accesses()
        merged = self._merged_loops()
        self.outer = [g for g in merged if not self.loops.inner[g[0]]]
        self.inner = [g for g in merged if self.loops.inner[g[0]]]

    @staticmethod
    def _offset(b, strides, index):
        """The offset at the loop indices `index` (loop -> value; merged-away loops absent)."""
        return linear_offset(b, ((index[d], s) for d, s in enumerate(strides) if d in index))

    def _loop_strides(self, proj, strides) -> tuple[int, ...]:
        """A layout's strides per loop: how far one step of each loop moves
        an access at projection `proj` (0 for loops it does not take)."""
        per_loop = [0] * len(self.loops.sizes)
        for p, s in zip(proj, strides):
            if p is not None:
                per_loop[p] += s
        return tuple(per_loop)

    def _leading_projection(self, shape):
        it = iter(range(len(self.loops.sizes)))
        return tuple(None if n == 1 else next(it) for n in shape)

    def _add_reduction_loops(self):
        node = self.reduction
        (source,) = node.inputs
        axes = set(node.attrs["axes"]) if source.shape else set()
        kept = [a for a in range(len(source.shape)) if a not in axes]
        r_shape = node.out.shape
        # The reduction's result dims (keepdim or not) in terms of the kept axes.
        r_dims = kept if not node.attrs["keepdim"] else list(range(len(source.shape)))
        r_proj = _unit_reshape(self.out_proj, r_shape, self.body.outputs[0].shape) \
            if r_shape != self.body.outputs[0].shape else self.out_proj
        by_axis = {a: p for a, p in zip(r_dims, r_proj) if a not in axes}
        source_proj = []
        for a, n in enumerate(source.shape):
            if a in axes:
                if n == 1:
                    source_proj.append(None)
                else:
                    source_proj.append(len(self.loops.sizes))
                    self.loops.sizes.append(n)
                    self.loops.inner.append(True)
            else:
                source_proj.append(by_axis.get(a))
        self.r_proj, self.source_proj = tuple(r_proj), tuple(source_proj)

    # ---- which addresses the kernel touches, as strides over its loops --------
    def _collect_accesses(self):
        """(input position, per-loop strides) of every input read, found by
        walking projections as `evaluate` will; used to merge loops."""
        accesses, seen = set(), set()

        def walk(value, proj):
            if (value, proj) in seen:
                return
            seen.add((value, proj))
            if value.node is None:
                i = self.body.inputs.index(value)
                accesses.add((i, self._loop_strides(proj, self.in_strides[i])))
                return
            for operand, operand_proj in self._operand_projections(value.node, proj):
                walk(operand, operand_proj)

        walk(self.body.outputs[0], self.out_proj)
        return accesses

    def _operand_projections(self, node, proj):
        if node.op == "full":
            return []
        if node is self.reduction:
            return [(node.inputs[0], self.source_proj)]
        if node.op == "reshape":
            return [(node.inputs[0], _unit_reshape(proj, node.inputs[0].shape, node.out.shape))]
        return [(v, _broadcast(proj, v.shape, node.out.shape)) for v in node.inputs]

    # ---- emission ---------------------------------------------------------------
    def emit(self) -> Kernel:
        b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        out, *inputs, start, stop = self.fn.args
        self.inputs = inputs
        counts = [self._extent(g) for g in self.outer]
        bounds = [(start, stop)] + [(0, n) for n in counts[1:]]
        if self._sums_down_columns():
            self._emit_column_sum(b, bounds)
        else:
            with loop_nest(b, [hi for _, hi in bounds], "o", start, self._innermost_hints(counts)) as outer_index:
                index = self._spread(self.outer, outer_index)
                if self.reduction is not None:
                    self.reduced = self._reduce(b, self.inner, index)
                self._store(b, index)
        b.ret_void()
        return Kernel(self.fn, counts[0] if counts else 1, math.prod(self.loops.sizes) * max(1, body_cost(self.body)))

    def _innermost_hints(self, counts) -> LoopHints | None:
        """Interleaving for the innermost output loop, when it is the loop LLVM vectorizes (no reduction inside)."""
        count = interleave_count(self.body, counts[-1]) if counts and self.reduction is None else None
        return None if count is None else LoopHints(self.fn.module, interleave=count)

    def _store(self, b, index):
        """The body's output at the loop indices `index`, evaluated and stored."""
        value = self._evaluate(b, self.body.outputs[0], self.out_proj, index, {})
        out_strides = self._loop_strides(self.out_proj, self.out_strides)
        dtype = self.body.outputs[0].dtype
        types.store(b, value, types.element_pointer(b, self.fn.args[0], dtype, self._offset(b, out_strides, index)),
                    dtype)

    # ---- sums over leading axes -------------------------------------------------
    def _sums_down_columns(self) -> bool:
        """A sum whose source's innermost axis is kept (a [rows, C] -> [C]
        sum, a bias gradient): reduced innermost, every step would read a
        new row and nothing vectorizes. Instead the kernel keeps a row of C
        sums, adding one source row at a time, vectorized along it; each
        sum still adds its terms in row order."""
        if self.reduction is None or self.reduction.op != "sum" or not self.outer or not self.inner:
            return False
        kept = [p for p in self.source_proj if p is not None]
        return bool(kept) and kept[-1] in self.outer[-1] and self._extent(self.outer[-1]) <= MAX_COLUMN_SUMS

    def _emit_column_sum(self, b, bounds):
        """for the outer loops but the last: zero a row of sums; for every
        reduced index, add the source row into it; then compute and store
        the body's output for each column from its sum."""
        node = self.reduction
        acc_type = types.register(node.out.dtype)
        with b.goto_entry_block():
            sums = b.alloca(acc_type, self._extent(self.outer[-1]), name="column_sums")
        columns = bounds[-1] if len(bounds) > 1 else bounds[0]
        lead = bounds[:-1]

        def per_column(body):
            with for_range(b, columns[1], "col", columns[0]) as c:
                body(c, b.gep(sums, [c], inbounds=True, source_etype=acc_type))

        with loop_nest(b, [hi for _, hi in lead], "o", lead[0][0] if lead else 0) as lead_index:
            per_column(lambda c, slot: b.store(_reduction_init("sum", node.out.dtype), slot))
            with loop_nest(b, [self._extent(g) for g in self.inner], "r") as inner_index:
                def add_row(c, slot):
                    index = self._spread(self.outer, lead_index + [c])
                    index.update(self._spread(self.inner, inner_index))
                    value = self._evaluate(b, node.inputs[0], self.source_proj, index, {})
                    value = types.convert(b, value, node.inputs[0].dtype, node.out.dtype)
                    b.store(_add(b, b.load(slot, typ=acc_type), value), slot)
                per_column(add_row)

            def finish(c, slot):
                self.reduced = b.load(slot, typ=acc_type)
                self._store(b, self._spread(self.outer, lead_index + [c]))
            per_column(finish)

    def _extent(self, group):
        n = 1
        for d in group:
            n *= self.loops.sizes[d]
        return n

    def _spread(self, groups, indices):
        """Loop indices for each original loop dim, from the merged loops'
        indices: a merged loop's index times the inner dim's size-stride
        gives the same address, so each group's index stands for its last
        dim and its other dims read as 0."""
        index = {}
        for group, i in zip(groups, indices):
            for d in group[:-1]:
                index[d] = const(0)
            index[group[-1]] = i
        return index

    def _merged_loops(self):
        """Groups of adjacent loop dims (same kind) that can run as one loop:
        for every access (output included), stride[d] == stride[d+1] * size[d+1]."""
        all_strides = [s for _, s in self.accesses] + [self._loop_strides(self.out_proj, self.out_strides)]
        groups = []
        for d, n in enumerate(self.loops.sizes):
            if groups and self.loops.inner[groups[-1][-1]] == self.loops.inner[d] and \
                    all(s[groups[-1][-1]] == s[d] * n for s in all_strides):
                groups[-1].append(d)
            else:
                groups.append([d])
        return groups

    def _reduce(self, b: ir.IRBuilder, inner, outer_index):
        node = self.reduction
        source_dtype, out_dtype = node.inputs[0].dtype, node.out.dtype
        acc_type = types.register(out_dtype if node.op == "sum" else source_dtype)
        with b.goto_entry_block():
            acc = b.alloca(acc_type, name="acc")
            best_index = b.alloca(I64, name="best_index")
        fast_extremum = node.op in ("amax", "amin") and source_dtype.is_floating_point
        self._reduction_loop(b, inner, outer_index, acc, best_index, fast=fast_extremum)
        if fast_extremum:
            # llvm.maximum vectorizes but orders -0.0 below 0.0, where NumPy
            # keeps the later of two equal zeros: a zero result is redone
            # with NumPy's exact step (rare, so the fast loop pays off).
            zero = b.fcmp_ordered("==", b.load(acc, typ=acc_type), ir.Constant(acc_type, 0.0))
            with b.if_then(zero, likely=False):
                self._reduction_loop(b, inner, outer_index, acc, best_index, fast=False)
        if node.op.startswith("arg"):
            return b.load(best_index, typ=I64)
        return b.load(acc, typ=acc_type)

    def _reduction_loop(self, b, inner, outer_index, acc, best_index, fast):
        node = self.reduction
        source_dtype, out_dtype = node.inputs[0].dtype, node.out.dtype
        acc_type = acc.allocated_type
        b.store(_reduction_init(node.op, out_dtype if node.op == "sum" else source_dtype), acc)
        b.store(const(0), best_index)
        with loop_nest(b, [self._extent(g) for g in inner], "r") as inner_index:
            index = dict(outer_index)
            index.update(self._spread(inner, inner_index))
            value = self._evaluate(b, node.inputs[0], self.source_proj, index, {})
            current = b.load(acc, typ=acc_type)
            if node.op == "sum":
                value = types.convert(b, value, source_dtype, out_dtype)
                b.store(_add(b, current, value), acc)
            elif fast:
                b.store(types.intrinsic(b, "llvm.maximum" if node.op == "amax" else "llvm.minimum", current, value),
                        acc)
            elif node.op in ("amax", "amin"):
                b.store(_extremum(b, node.op, current, value), acc)
            else:
                take = _arg_better(b, node.op, value, current)
                b.store(b.select(take, value, current), acc)
                position = inner_index[0] if inner_index else const(0)
                b.store(b.select(take, position, b.load(best_index, typ=I64)), best_index)

    def _evaluate(self, b, value, proj, index, memo):
        key = (value, proj)
        if key in memo:
            return memo[key]
        node = value.node
        if node is None:
            i = self.body.inputs.index(value)
            strides = self._loop_strides(proj, self.in_strides[i])
            result = types.load(b, types.element_pointer(b, self.inputs[i], value.dtype,
                                                         self._offset(b, strides, index)), value.dtype)
        elif node is self.reduction:
            result = self.reduced
        elif node.op == "full":
            result = types.constant(value.dtype, node.attrs["value"])
        elif node.op in ("expand", "reshape"):
            ((operand, operand_proj),) = self._operand_projections(node, proj)
            result = self._evaluate(b, operand, operand_proj, index, memo)
        else:
            operands = [self._evaluate(b, v, p, index, memo) for v, p in self._operand_projections(node, proj)]
            result = scalar_ops.emit(b, node.op, node.attrs, operands, [v.aval for v in node.inputs],
                                     node.out.aval)
        memo[key] = result
        return result


def _reduction_init(op: str, dtype: dtypes.DType):
    if op == "sum":
        return types.constant(dtype, 0)
    low = op in ("amax", "argmax")
    if dtype.is_floating_point:
        return types.constant(dtype, float("-inf") if low else float("inf"))
    if dtype is dtypes.bool_:
        return types.constant(dtype, 0 if low else 1)
    bits = dtype.itemsize * 8
    return types.constant(dtype, -(2 ** (bits - 1)) if low else 2 ** (bits - 1) - 1)


def _add(b, x, y):
    if isinstance(x.type, (ir.FloatType, ir.DoubleType)):
        return b.fadd(x, y, flags=("reassoc",))  # lets LLVM keep vector partial sums
    return b.add(x, y)


def _extremum(b, op, acc, x):
    """NumPy's maximum/minimum reduction step, exactly: a NaN wins and stays;
    of equal values (-0.0 and 0.0) the later one wins."""
    if isinstance(acc.type, (ir.FloatType, ir.DoubleType)):
        keep = b.or_(b.fcmp_ordered(">" if op == "amax" else "<", acc, x), b.fcmp_unordered("uno", acc, acc))
        return b.select(keep, acc, x)
    if acc.type == types.I1:
        return b.or_(acc, x) if op == "amax" else b.and_(acc, x)
    return types.intrinsic(b, "llvm.smax" if op == "amax" else "llvm.smin", acc, x)


def _arg_better(b, op, value, best):
    """Whether `value` replaces `best`: strictly better, or the first NaN (NumPy)."""
    if isinstance(value.type, (ir.FloatType, ir.DoubleType)):
        better = b.fcmp_ordered(">" if op == "argmax" else "<", value, best)
        first_nan = b.and_(b.fcmp_unordered("uno", value, value), b.fcmp_ordered("ord", best, best))
        return b.or_(better, first_nan)
    compare = b.icmp_unsigned if value.type == types.I1 else b.icmp_signed
    return compare(">" if op == "argmax" else "<", value, best)


def emit_kernel(module: ir.Module, name: str, body, in_strides, out_strides) -> Kernel:
    return KernelEmitter(module, name, body, in_strides, out_strides).emit()
