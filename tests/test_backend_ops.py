"""The LLVM backend computes what the reference interpreter computes, op by op.

Every primitive of the registry runs standalone (an unfused graph: each node
a step of its own) and inside a fused kernel (wrapped in elementwise ops,
pipeline FUSE) for every dtype it accepts (one graph per primitive, one node
per dtype, to keep LLVM compiles down); then the corners: 0-d,
size-0, size-1 and odd sizes, every broadcasting pattern, reductions over
each set of axes, argmax/argmin ties and NaN, and non-contiguous inputs.
Matmul, gather/scatter_add and special values are in
test_backend_corners.py.

Tolerances: integer and bool results, and float ops that are exactly
rounded (arithmetic, sqrt, comparisons, casts, where, max/min, movement,
gather), must match bit for bit (signed zeros too); the transcendental
functions (mathfns.py: <= 2 ulp) and libm's sin/cos/pow get a few ulp;
float sums and matmul get a relative tolerance scaled by the summands,
since native code sums in another order.

Helpers (`native`, `check`, `assert_same`, `sample`, `one_node`) are shared
with tests/test_backend_corners.py and tests/test_backend_programs.py."""
import zlib

import numpy as np
import pytest

from compiler import dtypes
from compiler.backend.native import compile_graph
from compiler.interpreter import interpret
from compiler.ir import Graph, print_graph
from compiler.ir.kernel import KERNEL_OP, fusible_kind
from compiler.ops import REGISTRY, Aval, Group
from compiler.passes import run_pipeline
from compiler.passes.pipeline import FUSE
from runtime.cache import DiskCache

NOCACHE = DiskCache(enabled=False)
ALL = dtypes.ALL  # bool, int32, int64, float32, float64
INTS = (dtypes.int32, dtypes.int64)
# Ops whose float results may differ from NumPy's by a few ulp (mathfns.py, libm).
ULP_OPS = frozenset({"exp", "log", "log1p", "tanh", "sigmoid", "erf", "sin", "cos", "pow"})
ULPS = 4
SUM_RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


# ---- running and comparing ------------------------------------------------------------------------
_EXECUTABLES = {}


def native(graph):
    """The compiled graph; identical graphs (same IR text) are compiled once per session."""
    key = print_graph(graph)
    if key not in _EXECUTABLES:
        _EXECUTABLES[key] = compile_graph(graph, cache=NOCACHE)
    return _EXECUTABLES[key]


def fused(graph):
    return run_pipeline(graph, FUSE)


def assert_same(got, want, tol="exact", what=""):
    """`got` (native) equals `want` (interpreter) in shape, dtype and value.
    Integer and bool results always compare exactly. For floats `tol` is
    "exact" (bit for bit but for NaN payloads: signed zeros too), "ulp"
    (ULPS ulp) or a number of ulp, "sum" (relative SUM_RTOL of the dtype,
    against the largest result) or ("sum", scale) with `scale` the summed
    magnitudes (an array broadcasting to the result), or a float rtol, or
    (rtol, scale). NaN positions and infinities must match in every case."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=what, strict=True)
        return
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan, err_msg=f"{what}: NaN positions")
    if tol == "exact":
        np.testing.assert_array_equal(got, want, err_msg=what, strict=True)
        np.testing.assert_array_equal(np.signbit(got[~nan]), np.signbit(want[~nan]), err_msg=f"{what}: signs")
        return
    inf = np.isinf(want) | np.isinf(got)
    np.testing.assert_array_equal(got[inf], want[inf], err_msg=f"{what}: infinities")
    finite = ~nan & ~inf
    with np.errstate(all="ignore"):
        _assert_close(got, want, tol, finite, what)


def _assert_close(got, want, tol, finite, what):
    g, w = got.astype(np.float64), want.astype(np.float64)
    if tol == "ulp" or isinstance(tol, int):
        ulps = ULPS if tol == "ulp" else tol
        tiny = float(np.finfo(want.dtype).smallest_normal)
        bound = ulps * np.spacing(np.abs(want)).astype(np.float64) + 4 * tiny
    else:
        kind, scale = tol if isinstance(tol, tuple) else (tol, None)
        rtol = SUM_RTOL[want.dtype] if kind == "sum" else kind
        if scale is None:
            scale = np.max(np.abs(w[finite]), initial=1.0)
        bound = rtol * (np.abs(w) + np.broadcast_to(scale, w.shape))
    bad = finite & ~(np.abs(g - w) <= bound)
    shown = tol[0] if isinstance(tol, tuple) else tol
    assert not bad.any(), (f"{what}: {bad.sum()} of {bad.size} differ beyond tol={shown}; "
                           f"got {g[bad][:5]}, want {w[bad][:5]} at {np.argwhere(bad)[:5].tolist()}")


def check(graph, arrays, tol="exact", fuse=False):
    """Run `graph` (fused first if `fuse`) natively and in the interpreter on
    `arrays` and compare every output (`tol`: one for all, or a list); the
    inputs must come back unchanged."""
    want = interpret(graph, arrays)
    before = [np.array(a, copy=True) for a in arrays]
    got = native(fused(graph) if fuse else graph)(arrays)
    for i, (a, b) in enumerate(zip(arrays, before)):
        assert a.tobytes() == b.tobytes(), f"input {i} was modified"
    assert len(got) == len(want)
    tols = tol if isinstance(tol, list) else [tol] * len(want)
    for name, g, w, t in zip(graph.output_names, got, want, tols):
        assert_same(g, w, t, what=f"{graph.name} {name}")
    return got, want


def tol_of(op):
    """The tolerance `op`'s float results get (module docstring)."""
    return "ulp" if op in ULP_OPS else "sum" if op in ("sum", "matmul") else "exact"


def seed_of(*parts):
    """A seed fixed by the test's parameters (str hashes vary between runs)."""
    return zlib.crc32(repr(parts).encode())


# ---- data -----------------------------------------------------------------------------------------
def sample(dtype, shape, rng, low=-20, high=20, scale=3.0):
    """Random data of `dtype`: bools, integers in [low, high], floats ~ N(0, scale)."""
    if dtype is dtypes.bool_:
        data = rng.random(shape) < 0.5
    elif dtype.category == dtypes.INT:
        data = rng.integers(low, high, shape, endpoint=True, dtype=np.int64)
    else:
        data = rng.standard_normal(shape) * scale
    return np.asarray(data, dtype.np)  # 0-d: an array, not a NumPy scalar


def aval_of(array):
    return Aval(array.shape, dtypes.from_numpy(array.dtype))


def _same_value(g, v):
    """An elementwise identity of two ops (a kernel's prologue)."""
    op = "logical_not" if v.dtype is dtypes.bool_ else "neg"
    return g.add(op, [g.add(op, [v])])


def _negated(g, v):
    return g.add("logical_not" if v.dtype is dtypes.bool_ else "neg", [v])


def build(name, arrays, body, wrap=False, names=None):
    """A graph over inputs typed like `arrays` whose outputs are `body(g, inputs)`.
    `wrap`: every input first goes through neg(neg(.)) (logical_not twice for
    bools) and every output through neg (or logical_not), so after FUSE the
    body's ops sit inside kernels, or between kernels if opaque."""
    g = Graph(name)
    ins = [g.add_input(f"a{i}", aval_of(a)) for i, a in enumerate(arrays)]
    if wrap:
        ins = [_same_value(g, v) for v in ins]
    outs = list(body(g, ins))
    if wrap:
        outs = [_negated(g, v) for v in outs]
    g.set_outputs(outs, names)
    return g


def one_node(op, arrays, attrs=None, name=None):
    """A graph whose inputs are typed like `arrays` and whose one node is `op`."""
    return build(name or f"one_{op}", arrays, lambda g, ins: [g.add(op, ins, attrs or {})])


# ---- every primitive, every dtype ------------------------------------------------------------------
def random_indices(rng, size, shape, dtype):
    return rng.integers(-size, size, shape).astype(dtype.np)


def _binary_inputs(op, dtype, rng):
    x, y = sample(dtype, (4, 33), rng), sample(dtype, (4, 33), rng)
    if op == "pow" and dtype.category == dtypes.INT:
        x, y = sample(dtype, (4, 33), rng, -4, 4), sample(dtype, (4, 33), rng, -3, 9)
    elif op == "pow" and dtype.is_floating_point:
        x = np.abs(x) * np.where(rng.random(x.shape) < 0.2, -1, 1).astype(dtype.np)
        y = y / 2
    elif op == "remainder" and dtype.is_floating_point:
        y[0, :3] = 0
    return [x, y]


def primitive_case(op, dtype, rng):
    """(arrays, attrs) running `op` on `dtype` data (`_accepts` says whether the interpreter runs it)."""
    group = REGISTRY[op].group
    if group is Group.UNARY:
        attrs = {"dtype": dtypes.float64 if dtype is not dtypes.float64 else dtypes.int32} if op == "cast" else {}
        return [sample(dtype, (4, 33), rng)], attrs
    if group is Group.BINARY:
        return _binary_inputs(op, dtype, rng), {}
    if op == "where":
        return [sample(dtypes.bool_, (4, 33), rng), sample(dtype, (4, 33), rng), sample(dtype, (33,), rng)], {}
    if group is Group.REDUCE:
        return [sample(dtype, (5, 7), rng, -3, 3)], {"axes": (1,), "keepdim": op in ("amax", "argmin")}
    x = sample(dtype, (4, 6), rng)
    cases = {
        "reshape": ([x], {"shape": (3, 8)}),
        "permute": ([sample(dtype, (2, 3, 4), rng)], {"perm": (2, 0, 1)}),
        "expand": ([sample(dtype, (3, 1), rng)], {"shape": (2, 3, 5)}),
        "slice": ([sample(dtype, (5, 7), rng)], {"starts": (1, 0), "stops": (5, 7), "steps": (2, 3)}),
        "pad": ([sample(dtype, (3, 4), rng)], {"config": ((1, 2, 1), (0, 1, 2))}),
        "concat": ([x, sample(dtype, (4, 1), rng), sample(dtype, (4, 3), rng)], {"axis": 1}),
        "matmul": ([sample(dtype, (3, 4), rng, -5, 5), sample(dtype, (4, 5), rng, -5, 5)], {}),
        "gather": ([sample(dtype, (5, 3), rng), random_indices(rng, 5, (2, 4), dtypes.int64)], {"axis": 0}),
        "scatter_add": ([sample(dtype, (5, 3), rng), random_indices(rng, 5, (6,), dtypes.int32),
                         sample(dtype, (6, 3), rng)], {"axis": 0}),
        "full": ([], {"value": sample(dtype, (), rng).item(), "shape": (3, 5), "dtype": dtype}),
        "iota": ([], {"length": 7, "dtype": dtype}),
    }
    return cases[op]


def _accepts(op, dtype):
    arrays, attrs = primitive_case(op, dtype, np.random.default_rng(0))
    try:
        interpret(one_node(op, arrays, attrs), arrays)
    except (TypeError, ValueError, RuntimeError, IndexError):
        return False
    return True


PRIMITIVES = [(op, d) for op in sorted(REGISTRY) for d in ALL if _accepts(op, d)]
# (op, dtype name) -> one line: a backend bug. That dtype leaves the op's
# graph and runs alone, marked xfail(strict), until the bug is fixed.
KNOWN_BUGS: dict = {}


def _primitive_params():
    """One case per op (all its dtypes in one graph: a node, or a kernel,
    per dtype, which keeps the number of compiled graphs down), plus one per
    known bug."""
    params = []
    for op in sorted(REGISTRY):
        good = tuple(d for o, d in PRIMITIVES if o == op and (op, d.name) not in KNOWN_BUGS)
        params.append(pytest.param(op, good, id=op))
        for o, d in PRIMITIVES:
            if o == op and (op, d.name) in KNOWN_BUGS:
                params.append(pytest.param(op, (d,), id=f"{op}-{d.name}", marks=pytest.mark.xfail(
                    strict=True, reason=f"backend bug: {KNOWN_BUGS[op, d.name]}")))
    return params


def test_every_registered_primitive_is_covered():
    """A newly registered primitive fails here until `primitive_case` runs it."""
    covered = {op for op, _ in PRIMITIVES}
    assert covered == set(REGISTRY), f"no backend test for {sorted(set(REGISTRY) - covered)}"
    for name, prim in REGISTRY.items():
        takes = {d for op, d in PRIMITIVES if op == name}
        assert takes, name
        if prim.group in (Group.UNARY, Group.BINARY, Group.TERNARY, Group.MOVEMENT, Group.INDEX, Group.SOURCE):
            assert len(takes) >= 4, f"{name} runs on {sorted(d.name for d in takes)} only"


def _per_dtype(op, dtype_list, salt):
    """Inputs for every dtype in `dtype_list`, and a body applying `op` to each set."""
    arrays, spans = [], []
    for d in dtype_list:
        case_arrays, attrs = primitive_case(op, d, np.random.default_rng(seed_of(op, d.name, salt)))
        spans.append((len(arrays), len(arrays) + len(case_arrays), attrs))
        arrays += case_arrays
    return arrays, lambda g, ins: [g.add(op, ins[i:j], attrs) for i, j, attrs in spans]


@pytest.mark.parametrize("op, dtype_list", _primitive_params())
def test_primitive_standalone(op, dtype_list):
    """Unfused: every node is a step of its own."""
    arrays, body = _per_dtype(op, dtype_list, "standalone")
    g = build(f"one_{op}", arrays, body, names=[d.name for d in dtype_list])
    check(g, arrays, tol_of(op))


@pytest.mark.parametrize("op, dtype_list", _primitive_params())
def test_primitive_inside_fused_graph(op, dtype_list):
    """Between elementwise ops, fused: inside a kernel, or between kernels."""
    arrays, body = _per_dtype(op, dtype_list, "fused")
    g = build(f"wrapped_{op}", arrays, body, wrap=True, names=[d.name for d in dtype_list])
    f = fused(g)
    kernels = [n for n in f.nodes if n.op == KERNEL_OP]
    in_kernels = [b.op for k in kernels for b in k.attrs["body"].nodes]
    if fusible_kind(next(n for n in g.nodes if n.op == op)) is not None:
        assert in_kernels.count(op) >= len(dtype_list) and op not in [n.op for n in f.nodes], print_graph(f)
    else:
        assert [n.op for n in f.nodes].count(op) == len(dtype_list) and kernels, print_graph(f)
    check(g, arrays, tol_of(op), fuse=True)


# ---- type promotion: pairs of dtypes, with dims and 0-d ----------------------------------------
BINARY_OPS = sorted(op for op, p in REGISTRY.items() if p.group is Group.BINARY)
B, I32, I64, F32, F64 = dtypes.ALL
# (x dtype, x is 0-d, y dtype, y is 0-d): across categories, within one, and
# 0-d operands, which only widen the category (dtypes.result_type).
PROMOTION_PAIRS = [(B, 0, I32, 0), (I32, 0, I64, 0), (I64, 0, F32, 0), (F32, 0, F64, 0), (B, 0, F64, 0),
                   (F32, 0, F64, 1), (I32, 0, I64, 1), (I32, 0, F64, 1), (F64, 1, I32, 0), (I64, 1, B, 1)]
FUSED_PROMOTION_OPS = ["add", "lt", "where"]  # kernels convert operands with the same code as single nodes


def _promotion_case(op, rng):
    arrays, pairs = [], []
    for dx, zx, dy, zy in PROMOTION_PAIRS:
        x, y = (sample(d, () if z else (2, 9), rng, -4, 6) for d, z in ((dx, zx), (dy, zy)))
        out = REGISTRY[op].infer(aval_of(x), aval_of(y)) if op != "where" else None
        if op != "where" and (op, out.dtype.name) in KNOWN_BUGS:
            continue  # those have their own xfail tests
        pairs.append((len(arrays), len(arrays) + 1))
        arrays += [x, y]
    if op == "where":
        arrays.append(sample(dtypes.bool_, (2, 9), rng))
        return arrays, lambda g, ins: [g.add("where", [ins[-1], ins[i], ins[j]]) for i, j in pairs]
    return arrays, lambda g, ins: [g.add(op, [ins[i], ins[j]]) for i, j in pairs]


@pytest.mark.parametrize("op, fuse", [(op, False) for op in BINARY_OPS + ["where"]]
                         + [(op, True) for op in FUSED_PROMOTION_OPS])
def test_binary_ops_promote_mixed_dtypes(op, fuse):
    arrays, body = _promotion_case(op, np.random.default_rng(seed_of(op, "promotion")))
    check(build(f"promote_{op}", arrays, body, wrap=fuse), arrays, tol_of(op), fuse=fuse)


# ---- shapes: 0-d, size 0, size 1, odd sizes ---------------------------------------------------------
SHAPES = [(), (0,), (3, 0), (0, 4), (1,), (1, 1), (3,), (7,), (17,), (33,), (1023,), (5, 33), (2, 1, 7)]


def _shape_body(g, ins):
    x, y = ins
    two = g.add("full", [], {"value": 2, "shape": (), "dtype": x.dtype})
    e = g.add("mul", [g.add("exp", [g.add("add", [g.add("mul", [x, two]), y])]), y])
    axes = tuple(range(len(x.shape))) or (0,)
    return [g.add("add", [x, y]), g.add("where", [g.add("gt", [x, y]), x, y]), e,
            g.add("sum", [x], {"axes": axes, "keepdim": False}),
            g.add("amax", [g.add("sub", [x, y])], {"axes": axes[-1:], "keepdim": True})
            if 0 not in x.shape else g.add("neg", [x])]


MODES = [(F32, False), (I32, True), (F32, True), (I32, False)]


@pytest.mark.parametrize("shape, dtype, fuse", [(s,) + MODES[i % 4] for i, s in enumerate(SHAPES)]
                         + [(s,) + MODES[(i + 1) % 4] for i, s in enumerate(SHAPES) if s in [(), (0,), (1,), (1023,)]],
                         ids=lambda c: c.name if hasattr(c, "name") else ("fused" if c is True else "unfused")
                         if isinstance(c, bool) else str(c))
def test_shapes(shape, dtype, fuse):
    rng = np.random.default_rng(seed_of(shape, dtype.name))
    arrays = [sample(dtype, shape, rng, -3, 3, 0.5), sample(dtype, shape, rng, -3, 3, 0.5)]
    g = build(f"shapes_{dtype.short}", arrays, _shape_body)
    scale = np.sum(np.abs(arrays[0]))
    check(g, arrays, ["exact", "exact", 8, ("sum", scale), "exact"], fuse=fuse)


# ---- broadcasting ---------------------------------------------------------------------------------
BROADCASTS = [((3, 1), (1, 4)), ((4,), (3, 4)), ((), (3, 4)), ((3, 4), ()), ((1,), (5,)), ((2, 1, 4), (3, 1)),
              ((0, 1), (1, 4)), ((1, 1, 1), (2, 3, 4)), ((7, 1, 1), (1, 1, 17)), ((1, 33), (5, 1))]


BROADCAST_TYPES = [(F32, F32), (I32, F64), (B, I64)]


@pytest.mark.parametrize("shapes, types, fuse", [(s, BROADCAST_TYPES[i % 3], bool(i % 2))
                                                 for i, s in enumerate(BROADCASTS + BROADCASTS[:4])],
                         ids=lambda c: ("fused" if c else "unfused") if isinstance(c, bool) else
                         f"{c[0].short}-{c[1].short}" if hasattr(c[0], "short") else str(c))
def test_broadcasting(shapes, types, fuse):
    rng = np.random.default_rng(seed_of(shapes, types[0].name, types[1].name))
    arrays = [sample(d, s, rng) for d, s in zip(types, shapes)]

    def body(g, ins):
        x, y = ins
        return [g.add("add", [x, y]), g.add("maximum", [y, x]), g.add("where", [g.add("lt", [x, y]), x, y]),
                g.add("mul", [g.add("sub", [y, x]), x])]
    check(build("broadcast", arrays, body, wrap=fuse), arrays, fuse=fuse)


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
def test_expand(fuse):
    rng = np.random.default_rng(7)
    arrays = [sample(dtypes.float32, (3, 1), rng), sample(dtypes.int64, (), rng), sample(dtypes.bool_, (1,), rng),
              sample(dtypes.float64, (1, 4, 1), rng)]
    targets = [(2, 3, 4), (5,), (0,), (2, 3, 4, 17)]
    body = lambda g, ins: [g.add("expand", [v], {"shape": t}) for v, t in zip(ins, targets)]  # noqa: E731
    check(build("expand", arrays, body, wrap=fuse), arrays, fuse=fuse)


# ---- reductions -----------------------------------------------------------------------------------
# (axes, keepdim): each axis and set of axes, each with keepdim true and false somewhere.
AXES = [((), False), ((0,), True), ((1,), False), ((2,), True), ((0, 1), False), ((0, 2), True), ((1, 2), False),
        ((0, 1, 2), True), ((2,), False), ((0, 1, 2), False)]
ARG_AXES = [((a,), k) for a in range(3) for k in (False, True)]


def _reduction_outputs(g, x, op, axes_list):
    return [g.add(op, [x], {"axes": axes, "keepdim": keep}) for axes, keep in axes_list]


def _sum_tols(x, op, axes_list):
    if op != "sum" or x.dtype.kind != "f":
        return "exact"
    return [("sum", np.sum(np.abs(x), axis=axes, keepdims=keep) if x.ndim else np.abs(x)) for axes, keep in axes_list]


@pytest.mark.parametrize("op, dtype, fuse", [(op, F32, fuse) for op in ("sum", "amax", "amin", "argmax", "argmin")
                                             for fuse in (False, True)] + [("sum", I32, True), ("argmin", I32, False)],
                         ids=lambda c: c.name if hasattr(c, "name") else ("fused" if c else "unfused")
                         if isinstance(c, bool) else c)
def test_reductions_over_every_set_of_axes(op, dtype, fuse):
    rng = np.random.default_rng(seed_of(op, dtype.name))
    x = sample(dtype, (3, 4, 5), rng, -3, 3)  # small integers: ties
    axes_list = ARG_AXES if op.startswith("arg") else AXES
    g = build(f"reduce_{op}", [x], lambda g, ins: _reduction_outputs(g, ins[0], op, axes_list), wrap=fuse)
    check(g, [x], _sum_tols(x, op, axes_list), fuse=fuse)


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("op", ["sum", "amax", "amin", "argmax", "argmin"])
def test_reductions_over_size_0_and_size_1_axes_and_0_d(op, fuse):
    rng = np.random.default_rng(seed_of(op, "degenerate"))
    arrays = [sample(dtypes.float32, (3, 0, 1, 4), rng), sample(dtypes.int64, (), rng),
              sample(dtypes.float64, (), rng), sample(dtypes.float32, (1, 1), rng)]
    both = lambda *axes: [(a, k) for a in axes for k in (False, True)]  # noqa: E731
    if op.startswith("arg"):
        cases = [(0, both((2,), (3,))), (1, both((0,))), (2, [((0,), True)]), (3, both((0,), (1,)))]
    elif op == "sum":
        cases = [(0, both((1,), (2,), (1, 2), (0, 3), (0, 1, 2, 3), ())), (1, both((0,), ())), (2, [((0,), False)]),
                 (3, both((0, 1), (1,)))]
    else:
        cases = [(0, both((2,), (0, 3), (0, 2, 3))), (1, both((0,))), (2, [((0,), False), ((), True)]),
                 (3, both((0, 1), (0,)))]

    def body(g, ins):
        return [out for i, axes_list in cases for out in _reduction_outputs(g, ins[i], op, axes_list)]
    check(build(f"degenerate_{op}", arrays, body, wrap=fuse), arrays, "sum", fuse=fuse)


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("n", [1, 3, 7, 17, 33, 1023, 100_003])
def test_long_reductions(n, fuse):
    rng = np.random.default_rng(n)
    arrays = [sample(dtypes.float32, (n,), rng), sample(dtypes.int32, (2, n), rng, -2**31, 2**31 - 1),
              sample(dtypes.float64, (n, 2), rng)]

    def body(g, ins):
        x, i, d = ins
        return [g.add("sum", [x], {"axes": (0,), "keepdim": False}),
                g.add("sum", [i], {"axes": (1,), "keepdim": False}),  # int64 result: no int32 overflow
                g.add("sum", [d], {"axes": (0,), "keepdim": True}),
                g.add("amax", [x], {"axes": (0,), "keepdim": False}),
                g.add("argmin", [d], {"axes": (0,), "keepdim": False})]
    tols = [("sum", np.abs(arrays[0]).sum()), "exact", ("sum", np.abs(arrays[2]).sum(0, keepdims=True)),
            "exact", "exact"]
    check(build("long", arrays, body, wrap=fuse), arrays, tols, fuse=fuse)


# Rows: the first extremum wins ties, the first NaN wins over everything, as NumPy.
ARG_ROWS = [[1, 3, 3, 2, 0, 3], [np.nan, 1, np.nan, 5, 0, 0], [1, np.nan, 5, np.nan, 9, -1],
            [-np.inf] * 6, [np.inf, 1, np.inf, 0, 0, 0], [np.nan] * 6, [2.0] * 6, [-1, -2, -3, -3, -2, -1],
            [-np.inf, -np.inf, np.inf, np.inf, -np.inf, np.inf], [5, 4, 3, 2, 1, np.nan]]
# Ties between -0.0 and 0.0: argmax/argmin take the first, amax/amin the later (NumPy's maximum step).
SIGNED_ZERO_ROWS = [[-0.0, 0.0, -0.0, 0.0, -1, -1], [0.0, -0.0, 0.0, -0.0, 1, 1], [-0.0, -0.0, 0.0, 0.0, 0.0, -1]]


def _extrema(g, ins):
    x, zeros = ins
    ops = ("argmax", "argmin", "amax", "amin")
    return ([g.add(op, [x], {"axes": (axis,), "keepdim": axis == 0}) for axis in (0, 1) for op in ops]
            + [g.add(op, [zeros], {"axes": (1,), "keepdim": False}) for op in ops])


@pytest.mark.parametrize("dtype, fuse", [(np.float32, False), (np.float32, True), (np.float64, False),
                                         (np.int64, True), (np.bool_, False)],
                         ids=lambda c: c.__name__ if isinstance(c, type) else ("fused" if c else "unfused"))
def test_extrema_with_ties_nan_and_signed_zeros(dtype, fuse):
    rows = np.array(ARG_ROWS)
    if dtype in (np.int32, np.int64):
        rows = np.nan_to_num(rows, nan=7, posinf=2**31 - 1, neginf=-2**31)
    arrays = [rows.astype(dtype), np.array(SIGNED_ZERO_ROWS, dtype)]
    check(build("extrema", arrays, _extrema, wrap=fuse), arrays, fuse=fuse)


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
def test_amax_amin_of_signed_zeros_in_long_rows(fuse):
    """Rows longer than any vector: the later of equal zeros still wins."""
    rng = np.random.default_rng(5)
    x = np.where(rng.random((4, 67)) < 0.5, -0.0, 0.0).astype(np.float32)
    x[1] = np.where(rng.random(67) < 0.3, -1.0, x[1])
    x[2, 66], x[3, 0] = -0.0, 0.0
    body = lambda g, ins: [g.add(op, ins, {"axes": (a,), "keepdim": False})  # noqa: E731
                           for op in ("amax", "amin") for a in (0, 1)]
    check(build("zeros", [x], body, wrap=fuse), [x], fuse=fuse)


# ---- non-contiguous inputs ------------------------------------------------------------------------
def _views(rng):
    a = sample(dtypes.float32, (6, 10), rng)
    return {
        "transposed": a[:5, :3].T,
        "stepped": a[::2, 1:6],
        "negative-rows": a[:3, :5][::-1],
        "negative-both": a[1:4, 2:7][::-1, ::-1],
        "negative-step-2": a[::-2, ::-2],
        "broadcast-row": np.broadcast_to(a[0, :5], (3, 5)),
        "broadcast-scalar": np.broadcast_to(np.float32(2.5), (3, 5)),
        "fortran": np.asfortranarray(a[:3, :5]),
    }


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
def test_non_contiguous_inputs(fuse):
    rng = np.random.default_rng(11)
    views = _views(rng)
    assert {k: v.shape for k, v in views.items()} == {k: (3, 5) for k in views}
    assert not any(v.flags.c_contiguous for v in views.values())
    idx = np.array([[4, -1, 0, 2, 1, 3, -5, 0]], np.int64)[:, ::-2]

    def body(g, ins):
        x, y, i, w = ins
        return [g.add("add", [x, y]), g.add("sum", [g.add("mul", [x, y])], {"axes": (1,), "keepdim": False}),
                g.add("gather", [x, i], {"axis": 1}), g.add("matmul", [x, w]), x]
    w = sample(dtypes.float32, (7, 5), rng).T
    for name, x in views.items():
        for other in ("negative-both", "broadcast-row"):
            arrays = [x, views[other], idx, w]
            g = build("views", [np.ascontiguousarray(a) for a in arrays], body, wrap=fuse)
            check(g, arrays, ["exact", "sum", "exact", "sum", "exact"], fuse=fuse)
