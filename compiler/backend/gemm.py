"""Our own matrix multiply, emitted as LLVM IR: C = A @ B for any strides.

The structure is GotoBLAS/BLIS's, because a naive triple loop runs at a few
percent of the FPU's peak: the FMAs starve on memory. So, per call:

  for jc over N in blocks of NC:            B block (KC x NC) lives in L2
    for pc over K in blocks of KC:
      pack B[pc:pc+KC, jc:jc+NC] into NR-wide micro-panels
      for ir over M in steps of MR:         A micro-panel (MR x KC) lives in L1
        pack A[ir:ir+MR, pc:pc+KC] into one MR-tall micro-panel
        for jr over the block in steps of NR:
          micro-kernel: an MR x NR tile of C kept in vector registers,
          one NR-wide row of packed B and MR broadcasts of A per k

The BLIS "MC x KC block of A" shrinks to a single micro-panel here: A is
packed right before its only use (so it is hot in L1), while the B block is
the operand reused across all of M, so it gets the L2 budget. Full panels of
a row-major A are not packed at all: the kernel broadcasts straight from MR
row streams (unless the row stride is a multiple of 4 KiB, where the rows
would collide in one L1 set). Packing absorbs arbitrary strides (transposes,
stride-0 broadcasts, slices) and pads the edges with zeros, so the kernel only
sees full tiles; edge tiles go through a scratch tile and store their valid
part. Matrix-vector products (M == 1 or N == 1) skip all this, since padded
tiles would be mostly zeros, and stream the matrix once (see _matvec).

Vector widths are chosen from the host's features (the code is compiled for
exactly this host, see runtime/host.py): 512-bit vectors and 32 registers
with AVX-512, else 256-bit (AVX) or 128-bit vectors with 16 registers.
Integers use the same kernels with mul/add (wrapping, like NumPy)."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import llvmlite.ir as ir

from runtime.host import identity

from .loops import LoopHints

GEMM_DTYPES = ("float32", "float64", "int32", "int64")

_I64 = ir.IntType(64)
_ELEMENT = {"float32": (ir.FloatType(), 4, "f32"), "float64": (ir.DoubleType(), 8, "f64"),
            "int32": (ir.IntType(32), 4, "i32"), "int64": (ir.IntType(64), 8, "i64")}
_L1_PANEL_BYTES = 18 * 1024   # the A micro-panel: about half of a 32 KiB L1d
_L2_BLOCK_BYTES = 768 * 1024  # the B block: most of a 1 MiB (Zen 4) L2
_AXPY_ROWS = 8                # rows of a matrix-vector product's matrix streamed at once


@dataclass(frozen=True)
class _Plan:
    """Tile and block sizes for one dtype on this host."""
    etype: ir.Type
    size: int   # bytes per element
    lanes: int  # elements per vector
    mr: int     # micro-tile rows (broadcasts of A)
    nr: int     # micro-tile columns (vectors of B)
    kc: int
    nc: int

    @property
    def vtype(self) -> ir.VectorType:
        return ir.VectorType(self.etype, self.lanes)

    @property
    def offsets(self) -> tuple[int, int, int]:
        """Element offsets in scratch of the B block, the A panel, the edge tile."""
        a_panel = self.kc * self.nc
        return 0, a_panel, a_panel + self.kc * self.mr

    @property
    def scratch_elements(self) -> int:
        return self.offsets[2] + self.mr * self.nr


def _host_vectors() -> tuple[int, int]:
    """(vector bytes, vector registers) of the host this code is compiled for."""
    features = identity()["features"].split(",")
    if "+avx512f" in features:
        return 64, 32
    return (32 if "+avx" in features else 16), 16


def _plan(dtype_name: str) -> _Plan:
    if dtype_name not in _ELEMENT:
        raise ValueError(f"gemm supports {GEMM_DTYPES}, not {dtype_name!r}")
    return _make_plan(dtype_name, *_host_vectors())


@functools.cache
def _make_plan(dtype_name: str, vector_bytes: int, registers: int) -> _Plan:
    etype, size, _ = _ELEMENT[dtype_name]
    lanes = vector_bytes // size
    # NR = two vectors; MR rows of two accumulators each, leaving registers for
    # the B row and the broadcasts: 12 x 2 of 32 registers, 6 x 2 of 16
    mr, nr = (12 if registers >= 32 else 6), 2 * lanes
    kc = max(16, _L1_PANEL_BYTES // (mr * size) // 16 * 16)
    nc = max(nr, _L2_BLOCK_BYTES // (kc * size) // nr * nr)
    return _Plan(etype, size, lanes, mr, nr, kc, nc)


def tile_columns(dtype_name: str) -> int:
    """NR: the micro-tile's width, the unit in which to split N without edge tiles."""
    return _plan(dtype_name).nr


def tile_rows(dtype_name: str) -> int:
    """MR: the micro-tile's height, the unit in which to split M without edge tiles."""
    return _plan(dtype_name).mr


def scratch_bytes(dtype_name: str) -> int:
    """Bytes of scratch memory one gemm call needs for packing (a constant per dtype; the caller reserves it, 64-byte aligned)."""
    plan = _plan(dtype_name)
    return plan.scratch_elements * plan.size


def _loop_hints(module: ir.Module, unroll: bool) -> LoopHints:
    """No LLVM vectorizer: our loops are vectorized by hand where it pays,
    and LLVM's vectorizer would only add gathers, scatters and runtime
    checks to the scalar ones (packing with arbitrary strides, edge tiles),
    doubling compile time and code size. Unrolling pays only in the row
    loop of an edge tile's store (5% on 10 x 64 x 32); everywhere else it
    changed no timing but doubled the code (LLVM time on a cold start: ~165
    -> ~115 ms for the blocked float32 GEMM). The element-by-element packing
    loop was unrolled too while edge panels went through it; they take
    masked vectors now."""
    return LoopHints(module, vectorize=False, unroll=unroll)


class _Emit:
    """An IRBuilder plus one dtype's plan: the idioms every loop nest here uses."""

    def __init__(self, builder: ir.IRBuilder, plan: _Plan):
        self.b, self.plan, self.vtype = builder, plan, plan.vtype
        self.floats = isinstance(plan.etype, (ir.FloatType, ir.DoubleType))

    def loop(self, start, stop, step, body, carried=(), unroll=False):
        """Emit `for i in range(start, stop, step)` (step > 0) around `body(i, *carried)`.

        `body` returns the next values of `carried` (SSA values threaded through
        phis, so accumulators stay in registers); returns their final values.
        LLVM may unroll the loop only if `unroll` (see _loop_hints)."""
        b = self.b
        start, stop, step = (self.index(v) for v in (start, stop, step))
        entry = b.block
        head, loop, done = (b.append_basic_block(n) for n in ("for.head", "for.body", "for.end"))
        b.branch(head)
        b.position_at_end(head)
        index = b.phi(_I64)
        phis = [b.phi(value.type) for value in carried]
        for phi, value in zip([index, *phis], [start, *carried]):
            phi.add_incoming(value, entry)
        b.cbranch(self.lt(index, stop), loop, done)
        b.position_at_end(loop)
        after = body(index, *phis) or ()
        for phi, value in zip([index, *phis], [b.add(index, step), *after]):
            phi.add_incoming(value, b.block)
        b.branch(head).set_metadata("llvm.loop", _loop_hints(b.module, unroll))
        b.position_at_end(done)
        return phis

    def branch(self, cond, then, otherwise=lambda: None) -> None:
        """Emit both arms (callables taking no arguments) of an if/else."""
        with self.b.if_else(cond) as (yes, no):
            with yes:
                then()
            with no:
                otherwise()

    def index(self, *terms):
        """The i64 sum of `terms`: ints, i64 values, or (x, y) pairs meaning x * y."""
        total = None
        for term in terms:
            if isinstance(term, tuple):
                term = self.b.mul(self.index(term[0]), self.index(term[1]))
            elif isinstance(term, int):
                term = ir.Constant(_I64, term)
            total = term if total is None else self.b.add(total, term)
        return total

    def at(self, base, *terms):
        return self.b.gep(base, [self.index(*terms)], source_etype=self.plan.etype, inbounds=True)

    def lt(self, x, y):
        return self.b.icmp_signed("<", self.index(x), self.index(y))

    def eq(self, x, y):
        return self.b.icmp_signed("==", self.index(x), self.index(y))

    def min(self, x, y):
        x, y = self.index(x), self.index(y)
        return self.b.select(self.lt(x, y), x, y)

    def load(self, ptr, vector=False, align=None):
        return self.b.load(ptr, typ=self.vtype if vector else self.plan.etype, align=align or self.plan.size)

    def store(self, value, ptr, align=None):
        self.b.store(value, ptr, align=align or self.plan.size)

    def lanes_below(self, n):
        """The mask of lanes i < n, for an i64 n (any value: <= 0 is none, >= lanes all)."""
        iota = ir.Constant(ir.VectorType(_I64, self.plan.lanes), list(range(self.plan.lanes)))
        return self.b.icmp_signed("<", iota, self.splat(self.index(n), _I64))

    def load_masked(self, ptr, mask):
        """A vector of the lanes at ptr where `mask` is set, zero elsewhere; reads no other lane."""
        return self._masked("llvm.masked.load", self.vtype, [ptr, self._align(), mask, self.zero(True)])

    def store_lanes(self, value, ptr, n: int):
        """Store the first `n` lanes of `value` at ptr (masked unless n fills the vector)."""
        if n >= self.plan.lanes:
            self.store(value, ptr)
        else:
            self.store_masked(value, ptr, self._mask(n))

    def store_masked(self, value, ptr, mask):
        """Store the lanes of `value` where `mask` (a vector of i1) is set."""
        self._masked("llvm.masked.store", ir.VoidType(), [value, ptr, self._align(), mask])

    def _align(self) -> ir.Constant:
        return ir.Constant(ir.IntType(32), self.plan.size)

    def _mask(self, n: int) -> ir.Constant:
        return ir.Constant(ir.VectorType(ir.IntType(1), self.plan.lanes), [int(i < n) for i in range(self.plan.lanes)])

    def _masked(self, name: str, ret: ir.Type, args: list):
        return self._call(f"{name}.v{self.plan.lanes}{'f' if self.floats else 'i'}{self.plan.size * 8}.p0", ret, args)

    def zero(self, vector=False) -> ir.Constant:
        scalar = ir.Constant(self.plan.etype, 0.0 if self.floats else 0)
        return ir.Constant(self.vtype, [scalar] * self.plan.lanes) if vector else scalar

    def splat(self, scalar, etype=None):
        undef = ir.Constant(ir.VectorType(etype or self.plan.etype, self.plan.lanes), None)
        lanes = ir.Constant(ir.VectorType(ir.IntType(32), self.plan.lanes), [0] * self.plan.lanes)
        return self.b.shuffle_vector(self.b.insert_element(undef, scalar, ir.Constant(_I64, 0)), undef, lanes)

    def intrinsic(self, name: str, ret: ir.Type, args: list):
        """Call an LLVM intrinsic overloaded on the type of its last argument."""
        kind = args[-1].type
        suffix = f"{'f' if self.floats else 'i'}{self.plan.size * 8}"
        if isinstance(kind, ir.VectorType):
            suffix = f"v{kind.count}{suffix}"
        return self._call(f"{name}.{suffix}", ret, args, ("reassoc",) if "reduce" in name and self.floats else ())

    def _call(self, name: str, ret: ir.Type, args: list, fastmath=()):
        """Call the function `name` (an intrinsic's mangled name), declaring it on first use."""
        fn = self.b.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.b.module, ir.FunctionType(ret, [a.type for a in args]), name)
        return self.b.call(fn, args, fastmath=fastmath)

    def update(self, ptr, value, overwrite, vector=False):
        """*ptr = value if `overwrite` (the first K block) else *ptr + value."""
        old = self.load(ptr, vector)
        total = self.b.fadd(old, value) if self.floats else self.b.add(old, value)
        self.store(self.b.select(overwrite, value, total), ptr)

    def madd(self, x, y, acc):
        """x * y + acc: a fused multiply-add for floats (as BLAS does), wrapping mul/add for ints."""
        if self.floats:
            return self.intrinsic("llvm.fmuladd", x.type, [x, y, acc])
        return self.b.add(self.b.mul(x, y), acc)

    def sum(self, vector):
        """The sum of a vector's lanes, in any order (reassociated into a tree)."""
        if self.floats:
            return self.intrinsic("llvm.vector.reduce.fadd", self.plan.etype, [self.zero(), vector])
        return self.intrinsic("llvm.vector.reduce.add", self.plan.etype, [vector])


def _pack(e: _Emit, width: int, src, count, r_stride, k_stride, kc, dst) -> None:
    """Copy `count` x `kc` elements of `src` (element (r, k) at r*r_stride +
    k*k_stride) into `width`-wide micro-panels: dst[p][k][r] for r in the
    panel, zero where the panel runs past `count`. One routine packs both A
    (r = row, width MR) and B (r = column, width NR). A panel whose r is
    unit-stride is copied a (masked) vector per k; one whose k is
    unit-stride (B^T in `x @ W.t()`, a row-major A) is read as vectors along
    k and transposed in registers, whole blocks of k; what is left (other
    strides, the last k of a transposed panel) goes element by element.
    Edge panels take the vector paths too, with masks, so the element loop
    is rare and stays a loop: unrolled, it was most of the GEMM's LLVM time."""
    lanes = e.plan.lanes

    def panel(p):
        valid = e.min(width, e.b.sub(count, p))  # of the panel's `width`, those inside the matrix
        by_rows = e.eq(r_stride, 1)
        transposed = e.b.and_(e.eq(k_stride, 1), e.b.not_(by_rows))
        whole = e.b.mul(e.b.sdiv(kc, e.index(lanes)), e.index(lanes))
        e.branch(by_rows, lambda: _pack_rows(e, width, src, p, valid, k_stride, kc, dst))
        e.branch(transposed, lambda: _pack_transposed(e, width, src, p, valid, r_stride, whole, kc, dst))
        done = e.b.select(by_rows, kc, e.b.select(transposed, whole, e.index(0)))
        _pack_elements(e, width, src, count, p, r_stride, k_stride, done, kc, dst)
    e.loop(0, count, width, panel)


def _panel_row(e: _Emit, dst, p, kc, k, width):
    """Where row k of the micro-panel starting at element p (of `width`) goes."""
    return e.at(dst, (p, kc), (k, width))  # panel p // width starts at p * kc


def _pack_rows(e: _Emit, width: int, src, p, valid, k_stride, kc, dst) -> None:
    """A panel with unit-stride r: its `valid` contiguous elements per k,
    zeros after them (masked loads read nothing past the matrix)."""
    starts = range(0, width, e.plan.lanes)
    keeps = [e.lanes_below(e.b.sub(valid, e.index(v))) for v in starts]  # the same for every k

    def per_k(k):
        src_k, dst_k = e.at(src, p, (k, k_stride)), _panel_row(e, dst, p, kc, k, width)
        for v, keep in zip(starts, keeps):
            e.store_lanes(e.load_masked(e.at(src_k, v), keep), e.at(dst_k, v), width - v)
    e.loop(0, kc, 1, per_k)


def _pack_transposed(e: _Emit, width: int, src, p, valid, r_stride, whole, kc, dst) -> None:
    """A panel with unit-stride k, for k < `whole` (a multiple of the
    lanes): blocks of lanes x lanes (k by r) read as one vector per r and
    transposed in registers (_transpose_function), so each load and store
    moves a whole vector."""
    lanes = e.plan.lanes
    transpose = _transpose_function(e.b.module, e.plan)

    def block(k0):
        for g in range(0, width, lanes):
            rows = e.b.sub(valid, e.index(g))  # may be <= 0 at an edge: then the group is zeros
            first = e.b.select(e.lt(0, rows), e.index(p, g), p)  # a row inside the matrix either way
            e.b.call(transpose, [e.at(src, (first, r_stride), k0), r_stride, rows,
                                 e.at(_panel_row(e, dst, p, kc, k0, width), g), e.index(width),
                                 e.index(min(lanes, width - g))])
    e.loop(0, whole, lanes, block)


def _transpose_function(module: ir.Module, plan: _Plan) -> ir.Function:
    """`void transpose(ptr src, i64 r_stride, i64 rows, ptr dst, i64 dst_stride, i64 dst_lanes)`:
    dst[k*dst_stride + r] = src[r*r_stride + k] for k < lanes and r <
    dst_lanes <= lanes, zero for r >= rows; it reads rows min(r, rows-1)
    (row 0 when rows <= 0) of src. One function per module, called by both
    packers: its shuffles cost LLVM more time than the rest of the packing,
    so they are emitted once."""
    name = f"jitgrad_transpose_{plan.etype}"
    if name in module.globals:
        return module.globals[name]
    ptr = ir.PointerType()
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr, _I64, _I64, ptr, _I64, _I64]), name)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    fn.attributes.add("noinline")
    src, r_stride, rows, dst, dst_stride, dst_lanes = fn.args
    for arg in (src, dst):
        arg.add_attribute("noalias")
    e = _Emit(ir.IRBuilder(fn.append_basic_block("entry")), plan)
    last = e.b.select(e.lt(0, rows), e.b.sub(rows, e.index(1)), e.index(0))
    vectors = [e.load(e.at(src, (e.min(r, last), r_stride)), True) for r in range(plan.lanes)]
    inside, stored = e.lanes_below(rows), e.lanes_below(dst_lanes)
    for k, vector in enumerate(_transpose(e, vectors)):
        e.store_masked(e.b.select(inside, vector, e.zero(True)), e.at(dst, (k, dst_stride)), stored)
    e.b.ret_void()
    return fn


def _transpose(e: _Emit, vectors: list) -> list:
    """The lanes x lanes matrix whose rows are `vectors`, transposed: at each
    level d = lanes/2, ..., 1 the off-diagonal d x d blocks of every 2d x 2d
    block swap, one two-source shuffle per output row."""
    lanes, v = len(vectors), list(vectors)
    d = lanes // 2
    while d:
        for i in range(lanes):
            if i & d:
                continue
            low = [l if l & d == 0 else lanes + l - d for l in range(lanes)]
            high = [l + d if l & d == 0 else lanes + l for l in range(lanes)]
            v[i], v[i + d] = (e.b.shuffle_vector(v[i], v[i + d], ir.Constant(ir.VectorType(ir.IntType(32), lanes), m))
                              for m in (low, high))
        d //= 2
    return v


def _pack_elements(e: _Emit, width: int, src, count, p, r_stride, k_stride, k_start, kc, dst) -> None:
    """Element by element for k in [k_start, kc), zero past `count`."""
    def per_k(k):
        src_k, dst_k = e.at(src, (p, r_stride), (k, k_stride)), _panel_row(e, dst, p, kc, k, width)

        def element(r):  # clamp the index to stay in bounds, then zero the value
            valid = e.lt(e.index(p, r), count)
            value = e.load(e.at(src_k, (e.b.select(valid, r, e.index(0)), r_stride)))
            e.store(e.b.select(valid, value, e.zero()), e.at(dst_k, r))
        e.loop(0, width, 1, element)
    e.loop(k_start, kc, 1, per_k)


def _accumulate(e: _Emit, depth, a, a_step, rows: int, b, b_step, vectors: int, b_align=None, a_rows=1) -> list:
    """The register-blocked inner loop: for k < depth, acc[i][v] += a[k*a_step + i*a_rows] *
    b[k*b_step + v*lanes] (a broadcast times a vector) for `rows` x `vectors`
    accumulators, which stay in registers; returns them, row-major."""
    def step(k, *acc):
        b_row = e.at(b, (k, b_step))
        row = [e.load(e.at(b_row, v * e.plan.lanes), True, b_align) for v in range(vectors)]
        out = []
        for i in range(rows):
            scalar = e.splat(e.load(e.at(a, (k, a_step), (i, a_rows))))
            out += [e.madd(scalar, row[v], acc[i * vectors + v]) for v in range(vectors)]
        return out
    return e.loop(0, depth, 1, step, [e.zero(True)] * (rows * vectors))


def _kernel(e: _Emit, kc, a_panel, a_rows, a_step, b_panel, c_tile, ldc, m_valid, n_valid, first, tile) -> None:
    """The MR x NR micro-kernel on a packed B panel and an A panel with element
    (i, k) at a_panel[i*a_rows + k*a_step]; then the tile is written
    (first K block) or added (later ones) into C; edge tiles go through
    `tile` so that only their valid part is stored."""
    plan, b = e.plan, e.b
    mr, nv, lanes = plan.mr, plan.nr // plan.lanes, plan.lanes
    acc = _accumulate(e, kc, a_panel, a_step, mr, b_panel, plan.nr, nv, lanes * plan.size, a_rows)

    def full_tile():
        for i in range(mr):
            for v in range(nv):
                e.update(e.at(c_tile, (i, ldc), v * lanes), acc[i * nv + v], first, True)

    def edge_tile():
        for i in range(mr):
            for v in range(nv):
                e.store(acc[i * nv + v], e.at(tile, i * plan.nr + v * lanes), align=lanes * plan.size)
        e.loop(0, m_valid, 1, lambda i: e.loop(0, n_valid, 1, lambda j: e.update(
            e.at(c_tile, (i, ldc), j), e.load(e.at(tile, (i, plan.nr), j)), first), unroll=True))

    e.branch(b.and_(e.eq(m_valid, mr), e.eq(n_valid, plan.nr)), full_tile, edge_tile)


def _matvec(e: _Emit, rows, depth, x, xr, xk, v, vk, out) -> None:
    """out[i] = sum_k x[i*xr + k*xk] * v[k*vk] for i < rows: the M == 1 and
    N == 1 forms, where packed tiles would be mostly padding. Contiguous rows
    of x take dot products along k (4 rows at a time, clamped at the end, so
    the last rows are recomputed rather than special-cased); contiguous
    columns take axpys along i (the micro-kernel's loop with one row, the last
    block shifted back to overlap); other strides a scalar loop."""
    lanes, b = e.plan.lanes, e.b
    last = b.sub(rows, e.index(1))

    def scalar_rows():
        def row(i):
            total, = e.loop(0, depth, 1, lambda k, s: [e.madd(
                e.load(e.at(x, (i, xr), (k, xk))), e.load(e.at(v, (k, vk))), s)], [e.zero()])
            e.store(total, e.at(out, i))
        e.loop(0, rows, 1, row)

    def dots(group=4):
        def rows_from(i):
            starts = [e.at(x, (e.min(e.index(i, j), last), xr)) for j in range(group)]
            whole = b.sub(depth, b.srem(depth, e.index(lanes)))
            acc = e.loop(0, whole, lanes, lambda k, *acc: [
                e.madd(e.load(e.at(s, k), True), e.load(e.at(v, k), True), a) for s, a in zip(starts, acc)],
                [e.zero(True)] * group)
            sums = e.loop(whole, depth, 1, lambda k, *sums: [
                e.madd(e.load(e.at(s, k)), e.load(e.at(v, k)), t) for s, t in zip(starts, sums)],
                [e.sum(a) for a in acc])
            for j, total in enumerate(sums):
                e.store(total, e.at(out, e.min(e.index(i, j), last)))
        e.loop(0, rows, group, rows_from)

    def axpys(vectors):
        span = vectors * lanes

        def chunk(kk):  # a few rows of x at a time, read as that many sequential streams
            first = e.eq(kk, 0)

            def block(start):
                # the last block is shifted back to end at `rows`; where it overlaps
                # the block before, it must not add its terms a second time
                i = e.min(start, b.sub(rows, e.index(span)))
                fresh = e.splat(b.sub(start, i), _I64)
                acc = _accumulate(e, e.min(_AXPY_ROWS, b.sub(depth, kk)), e.at(v, (kk, vk)), vk, 1,
                                  e.at(x, i, (kk, xk)), xk, vectors)
                for w, value in enumerate(acc):
                    lane = ir.Constant(ir.VectorType(_I64, lanes), list(range(w * lanes, (w + 1) * lanes)))
                    value = b.select(b.icmp_signed(">=", lane, fresh), value, e.zero(True))
                    e.update(e.at(out, i, w * lanes), b.select(first, acc[w], value), first, True)
            e.loop(0, rows, span, block)
        e.loop(0, depth, _AXPY_ROWS, chunk)

    def by_columns():
        e.branch(e.lt(rows, lanes), scalar_rows, lambda: e.branch(
            e.lt(rows, 4 * lanes), lambda: axpys(1), lambda: axpys(4)))
    e.branch(b.and_(e.eq(xk, 1), e.eq(vk, 1)), dots,
             lambda: e.branch(e.eq(xr, 1), by_columns, scalar_rows))


def _blocked(e: _Emit, m, n, k, a, ars, acs, bm, brs, bcs, c, ldc, scratch) -> None:
    """The GotoBLAS loop nest of the module docstring."""
    plan = e.plan
    b_block, a_panel, tile = (e.at(scratch, offset) for offset in plan.offsets)

    def column_block(jc):
        nc = e.min(plan.nc, e.b.sub(n, jc))

        def depth_block(pc):
            kc = e.min(plan.kc, e.b.sub(k, pc))
            _pack(e, plan.nr, e.at(bm, (pc, brs), (jc, bcs)), nc, bcs, brs, kc, b_block)

            def row_panel(i):
                m_valid = e.min(plan.mr, e.b.sub(m, i))
                a_src = e.at(a, (i, ars), (pc, acs))
                # MR whole rows of a row-major A are read in place (each a sequential
                # stream; packing costs most when N is small), unless the row stride
                # is a multiple of 4 KiB: then all MR rows fall in one L1 set
                aliasing = e.eq(e.b.and_(e.index((ars, plan.size)), e.index(4095)), 0)
                direct = e.b.and_(e.b.and_(e.eq(acs, 1), e.eq(m_valid, plan.mr)), e.b.not_(aliasing))
                e.branch(direct, lambda: None, lambda: _pack(e, plan.mr, a_src, m_valid, ars, acs, kc, a_panel))
                a_ptr = e.b.select(direct, a_src, a_panel)
                a_rows, a_step = (e.b.select(direct, e.index(x), e.index(y)) for x, y in ((ars, 1), (1, plan.mr)))
                e.loop(0, nc, plan.nr, lambda j: _kernel(
                    e, kc, a_ptr, a_rows, a_step, e.at(b_block, (j, kc)), e.at(c, (i, ldc), jc, j), ldc, m_valid,
                    e.min(plan.nr, e.b.sub(nc, j)), e.eq(pc, 0), tile))
            e.loop(0, m, plan.mr, row_panel)
        e.loop(0, k, plan.kc, depth_block)
    e.loop(0, n, plan.nc, column_block)


def form(m: int, n: int) -> str:
    """Which GEMM computes an m x n product: the matrix-vector one when a side
    is 1 (padded tiles would be mostly zeros), else the blocked one. The
    library compiles each form on its own, so a graph only pays for the
    forms its shapes need."""
    return "matvec" if m == 1 or n == 1 else "blocked"


GEMM_FORMS = ("blocked", "matvec")


def define_gemm(module: ir.Module, dtype_name: str, gemm_form: str = "blocked") -> ir.Function:
    """Define (once per module: return the existing one if already defined, look it up by name e.g.
    `jitgrad_blocked_f32`) an internal function
        void gemm(i64 M, i64 N, i64 K,
                  ptr A, i64 a_row_stride, i64 a_col_stride,
                  ptr B, i64 b_row_stride, i64 b_col_stride,
                  ptr C, i64 ldc, ptr scratch)
    computing C = A @ B, where A is M x K and B is K x N given by element strides (any strides, including 0 for
    broadcast and transposed layouts), and C is a row-major M x N buffer with rows `ldc` elements apart that is
    overwritten (not accumulated). K may be 0 (C all zeros), and M, N any size the form takes (see `form`): the
    matvec form needs M == 1 or N == 1 (and N == 1 needs ldc == 1, a column of a wider C being a strided vector).
    ldc > N lets callers split the columns of one product across threads (indexing.emit_matmul)."""
    if gemm_form not in GEMM_FORMS:
        raise ValueError(f"gemm forms are {GEMM_FORMS}, not {gemm_form!r}")
    plan = _plan(dtype_name)
    name = f"jitgrad_{gemm_form}_{_ELEMENT[dtype_name][2]}"
    if name in module.globals:
        return module.globals[name]
    ptr = ir.PointerType()
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [_I64] * 3 + [ptr, _I64, _I64] * 2 + [ptr, _I64, ptr]),
                     name)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    names = "M N K A a_row_stride a_col_stride B b_row_stride b_col_stride C ldc scratch".split()
    for arg, arg_name in zip(fn.args, names):
        arg.name = arg_name
        if isinstance(arg.type, ir.PointerType):
            arg.add_attribute("noalias")
    m, n, k, a, ars, acs, bm, brs, bcs, c, ldc, scratch = fn.args
    e = _Emit(ir.IRBuilder(fn.append_basic_block("entry")), plan)
    def zeros():
        e.loop(0, m, 1, lambda i: e.loop(0, n, 1, lambda j: e.store(e.zero(), e.at(c, (i, ldc), j))))

    def product():
        if gemm_form == "blocked":
            _blocked(e, *fn.args)
        else:  # C^T = B^T A^T: a 1 x M row of C is the same memory as an M x 1 column
            e.branch(e.eq(n, 1), lambda: _matvec(e, m, k, a, ars, acs, bm, brs, c),
                     lambda: _matvec(e, n, k, bm, bcs, brs, a, acs, c))
    e.branch(e.eq(k, 0), zeros, product)
    e.b.ret_void()
    return fn
