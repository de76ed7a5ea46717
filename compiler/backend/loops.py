"""Counted loops for llvmlite, which has no loop helper of its own (numba's
cgutils.for_range is the model): a header block with an i64 phi, a body the
caller fills, a latch that increments, and an exit block where the builder
is left when the `with` block ends. `LoopHints` is the `!llvm.loop`
metadata that tells LLVM's loop passes what to do with one loop."""
from __future__ import annotations

import contextlib

import llvmlite.ir as ir

I64 = ir.IntType(64)


def const(n: int) -> ir.Constant:
    return ir.Constant(I64, n)


class LoopHints(ir.values.MDValue):
    """`distinct !{self, !{"llvm.loop.vectorize.enable", i1 false}, ...}`,
    set on a loop's back edge: `vectorize=False` keeps the loop vectorizer
    away, `unroll=False` the unroller, and `interleave=n` makes the
    vectorized loop work on n independent vectors per iteration."""

    def __init__(self, module: ir.Module, vectorize: bool = True, unroll: bool = True,
                 interleave: int | None = None):
        def hint(name, *value):
            return module.add_metadata([ir.MetaDataString(module, name), *value])
        hints = []
        if not vectorize:
            hints.append(hint("llvm.loop.vectorize.enable", ir.Constant(ir.IntType(1), 0)))
        if not unroll:
            hints.append(hint("llvm.loop.unroll.disable"))
        if interleave is not None:
            hints.append(hint("llvm.loop.interleave.count", ir.Constant(ir.IntType(32), interleave)))
        super().__init__(module, hints, name=str(len(module.metadata)))
        self.operands = (self, *hints)

    __hash__ = object.__hash__  # identity: the node refers to itself

    def __eq__(self, other):
        return self is other

    def descr(self, buf):
        buf.append("distinct ")
        super().descr(buf)


@contextlib.contextmanager
def for_range(builder: ir.IRBuilder, count, name: str = "i", start=0, hints: LoopHints | None = None):
    """`for i in range(start, count)` (each an int or an i64 value); yields i.
    `hints` go on the loop's back edge."""
    count = const(count) if isinstance(count, int) else count
    start = const(start) if isinstance(start, int) else start
    before = builder.block
    header = builder.append_basic_block(f"{name}.head")
    body = builder.append_basic_block(f"{name}.body")
    done = builder.append_basic_block(f"{name}.end")
    builder.branch(header)
    builder.position_at_end(header)
    index = builder.phi(I64, name)
    index.add_incoming(start, before)
    builder.cbranch(builder.icmp_signed("<", index, count), body, done)
    builder.position_at_end(body)
    yield index
    following = builder.add(index, const(1), name=f"{name}.next", flags=("nuw", "nsw"))
    index.add_incoming(following, builder.block)
    back = builder.branch(header)
    if hints is not None:
        back.set_metadata("llvm.loop", hints)
    builder.position_at_end(done)


@contextlib.contextmanager
def loop_nest(builder: ir.IRBuilder, counts, name: str = "i", start=0, innermost: LoopHints | None = None):
    """Nested loops over `counts`, outermost first (it from `start`); yields
    the indices. `innermost` hints go on the innermost loop."""
    last = len(counts) - 1
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(for_range(builder, n, f"{name}{d}", start if d == 0 else 0,
                                             innermost if d == last else None))
               for d, n in enumerate(counts)]


def linear_offset(builder: ir.IRBuilder, terms):
    """sum(index * stride) over (index, stride) pairs, zero strides skipped:
    an element's offset in a strided layout."""
    total = None
    for index, stride in terms:
        if stride == 0:
            continue
        term = index if stride == 1 else builder.mul(index, const(stride), flags=("nsw",))
        total = term if total is None else builder.add(total, term, flags=("nsw",))
    return total if total is not None else const(0)
