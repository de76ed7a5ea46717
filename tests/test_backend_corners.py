"""The LLVM backend against the reference interpreter, continued from
test_backend_ops.py (same helpers and tolerances): matmul shapes and
dtypes, gather/scatter_add along each axis with bad indices, and special
values (NaN, infinities, signed zeros, integer overflow corners)."""
import re

import numpy as np
import pytest

from compiler import dtypes
from compiler.backend.kernels import MAX_COLUMN_SUMS
from compiler.backend.native import llvm_ir
from compiler.interpreter import interpret
from compiler.ops import REGISTRY, Group
from tests.test_backend_ops import (ALL, BINARY_OPS, F32, F64, I32, I64, INTS, build, check, fused, native, one_node,
                                    random_indices, sample, seed_of, tol_of)


# ---- matmul ---------------------------------------------------------------------------------------
MATMUL_SHAPES = [((3, 4), (4, 5)), ((0, 3), (3, 4)), ((3, 0), (0, 4)), ((3, 4), (4, 0)), ((1, 1), (1, 1)),
                 ((1, 7), (7, 1)), ((7, 1), (1, 9)), ((33, 17), (17, 5)), ((5, 65), (65, 67)),
                 ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((0, 3, 4), (4, 2))]
MATMUL_DTYPES = [dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64]


def _matmul_tol(x, y):
    """Float results: relative to the sum of |x_ik * y_kj| over k."""
    if x.dtype.kind != "f":
        return "exact"
    return ("sum", np.matmul(np.abs(x), np.abs(y)))


# Every shape in float32 (unfused and fused) and int64; float64 and int32 on a few.
MATMUL_CASES = ([(s, F32, fuse) for s in MATMUL_SHAPES for fuse in (False, True)]
                + [(s, I64, bool(i % 2)) for i, s in enumerate(MATMUL_SHAPES)]
                + [(s, d, bool(i % 2)) for d in (F64, I32)
                   for i, s in enumerate(MATMUL_SHAPES[:2] + MATMUL_SHAPES[7:10])])


@pytest.mark.parametrize("shapes, dtype, fuse", MATMUL_CASES,
                         ids=lambda c: c.name if hasattr(c, "name") else ("fused" if c else "unfused")
                         if isinstance(c, bool) else str(c))
def test_matmul_shapes_and_dtypes(shapes, dtype, fuse):
    rng = np.random.default_rng(seed_of(shapes, dtype.name))
    x, y = (sample(dtype, s, rng, -9, 9) for s in shapes)
    g = build("mm", [x, y], lambda g, ins: [g.add("matmul", ins)], wrap=fuse)
    check(g, [x, y], _matmul_tol(x, y), fuse=fuse)


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.int64], ids=lambda d: d.name)
def test_matmul_vector_forms_and_transposed_operands(dtype, fuse):
    """Vector @ matrix, matrix @ vector and dot, as the frontend writes them
    (reshapes around the primitive), and operands transposed by permute."""
    rng = np.random.default_rng(seed_of("vector", dtype.name))
    v, m, w, t = (sample(dtype, s, rng, -9, 9) for s in [(4,), (4, 5), (5,), (6, 4)])

    def body(g, ins):
        v, m, w, t = ins
        row = g.add("reshape", [v], {"shape": (1, 4)})
        col = g.add("reshape", [w], {"shape": (5, 1)})
        vm = g.add("reshape", [g.add("matmul", [row, m])], {"shape": (5,)})
        mv = g.add("reshape", [g.add("matmul", [m, col])], {"shape": (4,)})
        dot = g.add("reshape", [g.add("matmul", [row, g.add("reshape", [v], {"shape": (4, 1)})])], {"shape": ()})
        mt = g.add("matmul", [t, g.add("permute", [t], {"perm": (1, 0)})])
        tm = g.add("matmul", [g.add("permute", [m], {"perm": (1, 0)}), g.add("permute", [t], {"perm": (1, 0)})])
        return [vm, mv, dot, mt, tm]
    arrays = [v, m, w, t]
    tols = "exact" if dtype.category == dtypes.INT else "sum"
    check(build("mm_vec", arrays, body, wrap=fuse), arrays, tols, fuse=fuse)


# ---- gather and scatter_add ---------------------------------------------------------------------
GATHER_INDEX_SHAPES = [(), (5,), (2, 3), (0,)]


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_gather_along_each_axis(axis, fuse):
    """Index shapes 0-d, 1-D, 2-D and empty, int32 and int64 indices."""
    rng = np.random.default_rng(seed_of("gather", axis))
    x = sample(dtypes.float32, (2, 3, 4), rng)
    idxs = [random_indices(rng, x.shape[axis], s, INTS[i % 2]) for i, s in enumerate(GATHER_INDEX_SHAPES)]
    body = lambda g, ins: [g.add("gather", [ins[0], i], {"axis": axis}) for i in ins[1:]]  # noqa: E731
    check(build("gather", [x] + idxs, body, wrap=fuse), [x] + idxs, fuse=fuse)


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_scatter_add_along_each_axis(axis, fuse):
    """Repeated indices accumulate; negative ones count from the end; int32
    and int64 indices of shapes 1-D, 2-D and (axis 1) 0-d."""
    rng = np.random.default_rng(seed_of("scatter", axis))
    base = sample(dtypes.float64, (2, 3, 4), rng)
    ibase = sample(dtypes.int32, (2, 3, 4), rng)
    arrays = [base, ibase]
    for i, shape in enumerate([(7,), (2, 2)] if axis != 1 else [(5,), ()]):
        idx = random_indices(rng, base.shape[axis], shape, INTS[i % 2])
        src_shape = base.shape[:axis] + shape + base.shape[axis + 1:]
        arrays += [idx, sample(dtypes.float64, src_shape, rng), sample(dtypes.int32, src_shape, rng)]

    def body(g, ins):
        b, ib = ins[:2]
        outs = []
        for k in range(2, len(ins), 3):
            i, s, si = ins[k:k + 3]
            outs += [g.add("scatter_add", [b, i, s], {"axis": axis}), g.add("scatter_add", [ib, i, si], {"axis": axis})]
        return outs
    # float adds of repeated indices happen in index order in both: exact.
    check(build("scatter", arrays, body, wrap=fuse), arrays, fuse=fuse)


BAD_INDICES = [  # (x shape, axis, indices): the message names the first bad index in index order
    ((5, 3), 0, [0, 5, 2]), ((5, 3), 0, [-6]), ((5, 3), 1, [[1, -4], [7, 0]]), ((2, 3, 4), 2, [3, 4, -9]),
    ((5, 3), 0, [1, 2, -2**31]), ((5, 3), 0, [1, 2, 2**40]),
]


def _raises(fn):
    with pytest.raises(IndexError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("op", ["gather", "scatter_add"])
@pytest.mark.parametrize("shape, axis, bad, idx_dtype", [c + (INTS[i % 2],) for i, c in enumerate(BAD_INDICES)],
                         ids=lambda c: c.name if hasattr(c, "name") else str(c))
def test_out_of_range_indices_raise_the_interpreters_index_error(shape, axis, bad, idx_dtype, op, fuse):
    if idx_dtype is dtypes.int32:
        bad = np.clip(bad, -2**31, 2**31 - 1)
    rng = np.random.default_rng(seed_of(shape, axis, op))
    x = sample(dtypes.float32, shape, rng)
    idx = np.array(bad, idx_dtype.np)
    arrays = [x, idx]
    if op == "scatter_add":
        arrays.append(sample(dtypes.float32, shape[:axis] + idx.shape + shape[axis + 1:], rng))
    g = build(op, arrays, lambda g, ins: [g.add(op, ins, {"axis": axis})], wrap=fuse)
    saved = [a.copy() for a in arrays]
    exe = native(fused(g) if fuse else g)
    want = _raises(lambda: interpret(g, arrays))
    assert _raises(lambda: exe(arrays)) == want
    for a, b in zip(arrays, saved):
        np.testing.assert_array_equal(a, b, strict=True)
    # The executable stays usable after an error.
    good = [arrays[0], np.zeros_like(idx)] + arrays[2:]
    check(g, good, fuse=fuse)


@pytest.mark.parametrize("op", ["gather", "scatter_add"])
@pytest.mark.parametrize("shape, axis", [((0, 4), 1), ((4, 0), 0)], ids=str)
def test_out_of_range_index_with_empty_other_dims(shape, axis, op):
    x = np.zeros(shape, np.float32)
    idx = np.array([9], np.int64)
    arrays = [x, idx]
    if op == "scatter_add":
        arrays.append(np.zeros(shape[:axis] + (1,) + shape[axis + 1:], np.float32))
    g = one_node(op, arrays, {"axis": axis})
    want = _raises(lambda: interpret(g, arrays))
    assert _raises(lambda: native(g)(arrays)) == want


# ---- special values -------------------------------------------------------------------------------
def specials(dtype):
    info = np.finfo(dtype)
    return np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 1.5, -2.5,
                     0.7, 1e-3, -1e-3, 30.0, -30.0, 100.0, -100.0, 1e30, -1e30, info.max, -info.max,
                     info.smallest_normal, -info.smallest_normal, info.smallest_subnormal,
                     -info.smallest_subnormal, 89.0, -104.0, 710.0, -746.0], dtype)


FLOAT_UNARY = sorted(op for op, p in REGISTRY.items() if p.group is Group.UNARY and op not in ("cast", "logical_not"))
FLOAT_BINARY = sorted(op for op in BINARY_OPS if not op.startswith("logical"))


@pytest.mark.parametrize("op", FLOAT_UNARY + ["logical_not"])
def test_unary_special_values(op):
    """NaN, infinities, signed zeros, subnormals and overflow edges, float32
    and float64: NaN where the interpreter has NaN, the same infinities, the
    same zero signs."""
    arrays = [specials(np.float32), specials(np.float64)]
    check(build(f"special_{op}", arrays, lambda g, ins: [g.add(op, [v]) for v in ins]), arrays, tol_of(op))


@pytest.mark.parametrize("op", FLOAT_BINARY + ["where"])
def test_binary_special_values(op):
    """Every pair of special values (a 34 x 34 grid), float32 and float64."""
    arrays = []
    for dtype in (np.float32, np.float64):
        s = specials(dtype)
        x, y = np.repeat(s, len(s)), np.tile(s, len(s))
        arrays += [x, y] if op != "where" else [np.isnan(x) | (x > y), x, y]
    k = len(arrays) // 2
    body = lambda g, ins: [g.add(op, ins[:k]), g.add(op, ins[k:])]  # noqa: E731
    check(build(f"special_{op}", arrays, body), arrays, tol_of(op))


def test_special_values_in_a_fused_kernel():
    """The same corners through a fused kernel's vector loop (sizes not a
    multiple of the vector width, so the remainder loop runs too)."""
    for dtype in (np.float32, np.float64):
        s = specials(dtype)
        x, y = np.repeat(s, len(s))[:-3], np.tile(s, len(s))[:-3]

        def body(g, ins):
            x, y = ins
            return [g.add("maximum", [g.add("mul", [x, y]), g.add("neg", [y])]),
                    g.add("where", [g.add("ge", [x, y]), g.add("sqrt", [x]), g.add("remainder", [x, y])]),
                    g.add("minimum", [g.add("abs", [g.add("sub", [x, y])]), g.add("div", [y, x])]),
                    g.add("sign", [g.add("floor", [g.add("relu", [x])])])]
        check(build("specials", [x, y], body), [x, y], fuse=True)


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
def test_maximum_and_minimum_against_constants(fuse):
    """maximum/minimum with a constant on either side take one comparison
    (scalar_ops._extremum): still NumPy's answer bit for bit, NaN winning
    and ties between -0.0 and 0.0 resolved as `x > y ? x : y`, for constants
    that are zeros, infinities, ordinary and NaN (the general path)."""
    for dtype in (np.float32, np.float64):
        x = np.concatenate([specials(dtype), np.array([0.1, -0.1, 0.5, 2.0], dtype)])
        constants = [0.0, -0.0, 0.1, -2.0, np.inf, -np.inf, np.nan]

        def body(g, ins, dtype=dtypes.from_numpy(np.dtype(dtype))):
            out = []
            for c in constants:
                k = g.add("full", [], {"value": float(c), "shape": (), "dtype": dtype})
                out += [g.add(op, pair) for op in ("maximum", "minimum") for pair in ([ins[0], k], [k, ins[0]])]
            return out
        check(build("extremum_constants", [x], body, wrap=fuse), [x], fuse=fuse)


def _int_edges(dtype):
    info = np.iinfo(dtype)
    return np.array([info.min, info.min + 1, -7, -3, -2, -1, 0, 1, 2, 3, 7, info.max - 1, info.max], dtype)


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64], ids=lambda d: d.__name__)
def test_integer_edge_cases(dtype, fuse):
    """Overflow wraps, x % 0 is 0, INT_MIN % -1 is 0 (no trap), abs(INT_MIN)
    and -INT_MIN wrap to INT_MIN, as NumPy."""
    e = _int_edges(dtype)
    x, y = np.repeat(e, len(e)), np.tile(e, len(e))
    ops = ["add", "sub", "mul", "remainder", "maximum", "minimum", "eq", "lt", "ge", "div"]
    body = lambda g, ins: ([g.add(op, ins) for op in ops]  # noqa: E731
                           + [g.add(op, [ins[0]]) for op in ("abs", "neg", "sign", "relu", "floor")]
                           + [g.add("sum", [ins[0]], {"axes": (0,), "keepdim": False})])
    check(build("int_edges", [x, y], body, wrap=fuse), [x, y], fuse=fuse)


@pytest.mark.parametrize("dtype", [np.int32, np.int64], ids=lambda d: d.__name__)
def test_integer_pow_edge_cases(dtype):
    """Negative exponents as PyTorch (1, +-1 for base -1, else 0), overflow wraps."""
    bases = np.array([-3, -2, -1, 0, 1, 2, 3, 5, np.iinfo(dtype).min, np.iinfo(dtype).max], dtype)
    exponents = np.array([-3, -2, -1, 0, 1, 2, 3, 31, 62, 63, 64], dtype)
    x, y = np.repeat(bases, len(exponents)), np.tile(exponents, len(bases))
    check(one_node("pow", [x, y]), [x, y])


CAST_SOURCES = {
    np.float32: lambda: specials(np.float32).tolist() + [2.0**31, -2.0**31, 2.0**31 - 128, 2.0**63, -2.0**63,
                                                       4e9, -4e9, 0.99, -0.99, 1.5, -1.5, 2.5, 16777217.0],
    np.float64: lambda: specials(np.float64).tolist() + [2.0**31, -2.0**31, 2.0**31 - 1, 2.0**31 - 0.5,
                                                       -2.0**31 - 0.5, 2.0**63, -2.0**63, 2.0**63 - 1024,
                                                       4e9, -4e9, 0.99, -0.99, 16777217.0, 1 + 2.0**-30],
    np.int32: lambda: _int_edges(np.int32).tolist() + [16777217, -16777217],
    np.int64: lambda: _int_edges(np.int64).tolist() + [2**31, -2**31 - 1, 2**53 + 1, 2**24 + 1, 2**32 + 5],
    np.bool_: lambda: [True, False],
}


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("source", list(CAST_SOURCES), ids=lambda d: d.__name__)
def test_casts_of_edge_values(source, fuse):
    """Float to int: NaN, infinities and out-of-range give INT_MIN (NumPy on
    x86); truncation toward zero; int narrowing wraps; nonzero (NaN too) is
    True; int to float rounds to nearest even."""
    x = np.array(CAST_SOURCES[source](), source)
    body = lambda g, ins: [g.add("cast", ins, {"dtype": d}) for d in ALL]  # noqa: E731
    check(build("casts", [x], body, wrap=fuse), [x], fuse=fuse)


# ---- sums over leading axes (kernels.py keeps a row of sums) -----------------------------------------
COLUMN_SUMS = [((256, 512), (0,), False), ((7, 9), (0,), True), ((4, 5, 6), (0, 1), False), ((3, 4, 5), (0,), True),
               ((2, 3, 8), (1,), False), ((1, 33), (0,), False), ((9000, 2), (0,), False), ((3, MAX_COLUMN_SUMS), (0,), False),
               ((3, MAX_COLUMN_SUMS + 1), (0,), False)]


@pytest.mark.parametrize("shape, axes, keepdim", COLUMN_SUMS, ids=str)
@pytest.mark.parametrize("dtype", [F32, F64, I64, dtypes.bool_], ids=lambda d: d.name)
def test_sums_over_leading_axes(shape, axes, keepdim, dtype):
    """Each sum adds its terms in row order, as NumPy's sum over a leading
    axis does, so even float results are bit for bit (rows longer than
    MAX_COLUMN_SUMS are summed as before, reassociated); the epilogue (here
    `* 3`, then a broadcast add of the first row) reads each column's sum."""
    rng = np.random.default_rng(seed_of(shape, dtype.name))
    x = sample(dtype, shape, rng)

    def body(g, ins):
        total = g.add("sum", ins, {"axes": axes, "keepdim": keepdim})
        three = g.add("full", (), {"value": 3, "shape": (), "dtype": total.dtype})
        return [g.add("mul", (total, three))]
    graph = build(f"column_sum_{dtype.name}", [x], body)
    for fuse in (False, True):
        in_row_order = len(axes) == 1 and shape[-1] <= MAX_COLUMN_SUMS
        check(graph, [x], "exact" if in_row_order else "sum", fuse=fuse)


def test_a_column_sum_is_vectorized_along_the_row():
    """The point of the row of sums: the add loop reads contiguous columns,
    16 float32 lanes at a time on AVX-512 (8 with AVX, 4 SSE), where summing
    each column on its own gathered strided lanes."""
    x = np.zeros((256, 512), np.float32)
    graph = build("column_sum", [x], lambda g, ins: [g.add("sum", ins, {"axes": (0,), "keepdim": False})])
    ir_text = llvm_ir(graph)
    assert re.search(r"load <(4|8|16) x float>", ir_text) and "gather" not in ir_text
