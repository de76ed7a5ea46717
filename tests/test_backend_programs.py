"""The LLVM backend computes what the reference interpreter computes, on
whole programs: movement chains (views, copies, views returned as outputs),
random programs (hypothesis), models compiled through `torch.compile`
forward and backward against the interpreter backend and eager, and the
vectorized code of fused kernels.

Random programs are compared value by value with what the arithmetic
allows: a value computed by exactly rounded ops only must match bit for bit;
one downstream of an op that is a few ulp off (exp, a float sum, ...) only
within a tolerance scaled by the magnitudes it was computed from; and one
where such a value went through a discontinuous or ill-conditioned op
(floor, a comparison, a cast to int, division, ...) only in shape and dtype.
"""
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import frontend as torch
import frontend.nn.functional as F
from compiler import dtypes
from compiler.backend import native as backend
from compiler.backend.native import llvm_ir
from compiler.interpreter import interpret
from compiler.ir import Graph, print_graph
from compiler.ir.builder import Builder
from compiler.ops import REGISTRY, Aval
from tests.test_backend_ops import (ALL, ULP_OPS, assert_same, build, check, fused, native, sample, seed_of)
from tests.test_ir_text import random_graphs

F32, F64 = dtypes.float32, dtypes.float64


# ---- movement chains --------------------------------------------------------------------------------
def _chains(g, ins):
    x, y, z = ins  # f32[4,6], i32[2,3,4], f64[5,1,3]
    t = g.add("permute", [x], {"perm": (1, 0)})
    return [
        g.add("reshape", [t], {"shape": (3, 8)}),  # reshape of a transposed view: a copy
        g.add("add", [g.add("reshape", [t], {"shape": (6, 2, 2)}), g.add("full", [], {
            "value": 1.5, "shape": (), "dtype": F32})]),
        g.add("reshape", [g.add("slice", [x], {"starts": (1, 1), "stops": (4, 6), "steps": (2, 2)})],
              {"shape": (6,)}),
        g.add("pad", [t], {"config": ((1, 0, 2), (2, 1, 1))}),
        g.add("pad", [g.add("slice", [y], {"starts": (0, 2, 0), "stops": (2, 3, 4), "steps": (1, 1, 3)})],
              {"config": ((0, 0, 0), (1, 1, 0), (0, 3, 4))}),
        g.add("expand", [g.add("reshape", [g.add("slice", [z], {"starts": (4, 0, 0), "stops": (5, 1, 3),
                                                                   "steps": (1, 1, 1)})], {"shape": (3,)})],
              {"shape": (2, 4, 3)}),
        g.add("reshape", [g.add("expand", [z], {"shape": (5, 2, 3)})], {"shape": (10, 3)}),
        g.add("permute", [g.add("permute", [y], {"perm": (2, 0, 1)})], {"perm": (0, 2, 1)}),
        g.add("gather", [t, g.add("iota", [], {"length": 4, "dtype": dtypes.int32})], {"axis": 1}),
        g.add("matmul", [g.add("slice", [t], {"starts": (0, 0), "stops": (6, 4), "steps": (2, 1)}), x]),
        g.add("sum", [g.add("permute", [y], {"perm": (2, 1, 0)})], {"axes": (0,), "keepdim": False}),
    ]


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
def test_movement_chains(fuse):
    """Reshape after permute, slice then reshape, pad with interior padding
    of views, expand of reshaped slices, permute of permute, and views read
    by gather, matmul and reductions."""
    rng = np.random.default_rng(1)
    arrays = [sample(F32, (4, 6), rng), sample(dtypes.int32, (2, 3, 4), rng), sample(F64, (5, 1, 3), rng)]
    tols = ["exact"] * 9 + ["sum", "exact"]
    check(build("chains", arrays, _chains, wrap=fuse), arrays, tols, fuse=fuse)


@pytest.mark.parametrize("fuse", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_concat_along_each_axis(axis, fuse):
    """Of inputs, views (transposed, sliced) and computed values, one piece empty."""
    rng = np.random.default_rng(axis)
    shape = [2, 3, 4]

    def piece(n):
        s = list(shape)
        s[axis] = n
        return s
    x, y = sample(F32, piece(3), rng), sample(F32, piece(0), rng)
    big = sample(F32, [s + 2 for s in shape], rng)

    def body(g, ins):
        x, y, w = ins
        view = g.add("slice", [w], {"starts": (0, 0, 0), "stops": tuple(piece(2)), "steps": (1, 1, 1)})
        flipped = g.add("permute", [g.add("permute", [x], {"perm": (2, 1, 0)})], {"perm": (2, 1, 0)})
        return [g.add("concat", [x, y, view, g.add("exp", [x]), flipped], {"axis": axis}),
                g.add("concat", [view], {"axis": axis})]
    arrays = [x, y, big]
    check(build("concat", arrays, body, wrap=fuse), arrays, ["ulp", "exact"], fuse=fuse)


def test_movement_results_and_inputs_as_outputs():
    """Views returned as graph outputs get buffers of their own; an input
    returned as an output, and one value returned twice, come back right."""
    rng = np.random.default_rng(3)
    x = sample(F32, (3, 4), rng)

    def body(g, ins):
        (x,) = ins
        t = g.add("permute", [x], {"perm": (1, 0)})
        s = g.add("slice", [x], {"starts": (2, 0), "stops": (3, 4), "steps": (1, 2)})
        e = g.add("expand", [g.add("reshape", [x], {"shape": (1, 3, 4)})], {"shape": (2, 3, 4)})
        r = g.add("reshape", [x], {"shape": (12,)})
        return [t, s, e, r, x, t, g.add("neg", [t])]
    for fuse in (False, True):
        got, _ = check(build("outputs", [x], body), [x], fuse=fuse)
        for out in got:
            assert out.flags.c_contiguous
        got[0][0, 0] = 99.0  # a view returned as an output is a copy: writing it reaches neither x nor r
        assert x[0, 0] != 99.0 and got[3][0] != 99.0


# ---- random programs --------------------------------------------------------------------------------
EXACT, SMOOTH, UNSTABLE = 0, 1, 2
# Ops whose float results may be off by a few ulp (or summed in another order).
INEXACT = ULP_OPS | {"sum", "matmul"}
# Ops that turn a small error in an operand into a large one in the result.
FRAGILE = {"floor", "sign", "eq", "ne", "lt", "le", "gt", "ge", "remainder", "argmax", "argmin", "cast",
           "logical_and", "logical_or", "logical_xor", "logical_not", "where", "div", "pow", "log", "log1p",
           "sqrt", "exp", "sin", "cos", "gather", "scatter_add"}


def _all_values(graph, arrays):
    """Every value of `graph` on `arrays`, by each primitive's reference semantics."""
    env = dict(zip(graph.inputs, arrays))
    for node in graph.nodes:
        env[node.out] = node.prim.evaluate([env[v] for v in node.inputs], node.attrs, node.out.aval)
    return env


def classify(graph, arrays):
    """(level, magnitude) per value: EXACT, SMOOTH or UNSTABLE (module
    docstring), and the largest finite magnitude it was computed from
    (summed over reduced elements for sums and matmuls)."""
    env = _all_values(graph, arrays)
    level, magnitude = {}, {}

    def size(a):
        with np.errstate(all="ignore"):
            finite = np.abs(a[np.isfinite(a)]) if a.dtype.kind == "f" else np.abs(a.astype(np.float64))
        return float(np.max(finite, initial=0.0))
    for v in graph.inputs:
        level[v], magnitude[v] = EXACT, size(env[v])
    for node in graph.nodes:
        ins = node.inputs
        here = max((level[v] for v in ins), default=EXACT)
        if here and node.op in FRAGILE:
            here = UNSTABLE
        if node.op in INEXACT and node.out.dtype.is_floating_point:
            here = max(here, SMOOTH)
        count = 1
        if node.op == "sum":
            count = math.prod(ins[0].shape[a] for a in node.attrs["axes"] if a < len(ins[0].shape))
        elif node.op == "matmul":
            count = ins[0].shape[-1]
        level[node.out] = here
        magnitude[node.out] = max([size(env[node.out])] + [magnitude[v] * max(count, 1) for v in ins])
    return level, magnitude


def compare_program(graph, arrays, got):
    """Each output of `graph` as its class allows (module docstring)."""
    single = any(n.out.dtype is F32 for n in graph.nodes) or any(v.dtype is F32 for v in graph.inputs)
    smooth_rtol = 2e-4 if single else 1e-9
    want = interpret(graph, arrays)
    level, magnitude = classify(graph, arrays)
    for name, v, g, w in zip(graph.output_names, graph.outputs, got, want):
        what = f"{name} of\n{print_graph(graph)}"
        if level[v] == EXACT:
            assert_same(g, w, "exact", what)
        elif level[v] == SMOOTH:
            assert_same(g, w, (smooth_rtol, magnitude[v]), what)
        else:
            assert np.asarray(g).shape == np.asarray(w).shape and np.asarray(g).dtype == np.asarray(w).dtype, what


def random_inputs(graph, seed, index_sizes=None):
    rng = np.random.default_rng(seed)
    arrays = []
    for v in graph.inputs:
        if index_sizes and v.name in index_sizes:
            n = index_sizes[v.name]
            arrays.append(rng.integers(-n, n, v.shape).astype(v.dtype.np))
        else:
            arrays.append(sample(v.dtype, v.shape, rng, -5, 5, 2.0))
    return arrays


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs(max_nodes=12, movement=True), st.integers(0, 2**16), st.booleans())
def test_random_programs_from_the_ir_text_generator(graph, seed, fuse):
    arrays = random_inputs(graph, seed)
    got = native(fused(graph) if fuse else graph)(arrays)
    compare_program(graph, arrays, got)


# Exactly rounded ops only: every output of these programs must match bit for bit.
EXACT_UNARY = ["neg", "abs", "relu", "floor", "sign", "logical_not", "sqrt", "stop_gradient"]
EXACT_BINARY = ["add", "sub", "mul", "div", "remainder", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
                "logical_and", "logical_or", "logical_xor"]
KINDS = ["unary", "binary", "binary", "where", "cast", "reduce", "reshape", "permute", "expand", "slice", "pad",
         "concat", "gather", "scatter_add", "matmul"]


def _runs(op, avals):
    bools = [a.dtype is dtypes.bool_ for a in avals]
    return not (op == "neg" and bools[0] or op == "sub" and all(bools))


def _step(draw, g, values, index_sizes, kind):
    """(op, inputs, attrs) of one node of `kind` (new inputs added as needed), or None."""
    x = draw(st.sampled_from(values))
    rank = len(x.shape)
    if kind == "unary":
        return draw(st.sampled_from(EXACT_UNARY)), [x], {}
    if kind == "binary":
        return draw(st.sampled_from(EXACT_BINARY)), [x, draw(st.sampled_from(values))], {}
    if kind == "where":
        cond = draw(st.sampled_from([v for v in values if v.dtype is dtypes.bool_] or [None]))
        return None if cond is None else ("where", [cond, x, draw(st.sampled_from(values))], {})
    if kind == "cast":
        return "cast", [x], {"dtype": draw(st.sampled_from(ALL))}
    if kind == "reduce":
        op = draw(st.sampled_from(["amax", "amin", "argmax", "argmin"] + ["sum"] * (not x.dtype.is_floating_point)))
        dims = list(range(max(rank, 1)))
        axes = (draw(st.sampled_from(dims)),) if op.startswith("arg") else tuple(sorted(draw(st.sets(
            st.sampled_from(dims)))))
        return op, [x], {"axes": axes, "keepdim": draw(st.booleans())}
    if kind == "reshape":
        n = math.prod(x.shape)
        shapes = [(n,), x.shape[::-1], x.shape + (1,), (1,) + x.shape] + ([(n // 2, 2)] if n % 2 == 0 else [])
        return "reshape", [x], {"shape": draw(st.sampled_from(shapes))}
    if kind == "permute":
        return "permute", [x], {"perm": tuple(draw(st.permutations(range(rank))))}
    if kind == "expand":
        lead = tuple(draw(st.lists(st.sampled_from([1, 2, 3]), max_size=1)))
        return "expand", [x], {"shape": lead + tuple(draw(st.sampled_from([2, 5])) if s == 1 else s for s in x.shape)}
    if kind == "slice":
        starts = [draw(st.integers(0, n)) for n in x.shape]
        stops = [draw(st.integers(lo, n)) for lo, n in zip(starts, x.shape)]
        steps = [draw(st.integers(1, 3)) for _ in x.shape]
        return "slice", [x], {"starts": tuple(starts), "stops": tuple(stops), "steps": tuple(steps)}
    if kind == "pad":
        return "pad", [x], {"config": tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2)), draw(st.integers(0, 2)))
                                            for _ in x.shape)}
    if kind == "concat" and rank:
        axis = draw(st.integers(0, rank - 1))
        other = draw(st.sampled_from([v for v in values if v.dtype is x.dtype and len(v.shape) == rank] or [x]))
        return "concat", [x, other, x], {"axis": axis}
    if kind in ("gather", "scatter_add") and rank:
        axis = draw(st.integers(0, rank - 1))
        if x.shape[axis] == 0:
            return None
        idx_shape = tuple(draw(st.lists(st.sampled_from([1, 2, 3, 5]), max_size=2 if kind == "gather" else 1)))
        name = f"idx{len(g.inputs)}"
        index_sizes[name] = x.shape[axis]
        idx = g.add_input(name, Aval(idx_shape, draw(st.sampled_from([dtypes.int32, dtypes.int64]))))
        if kind == "gather":
            return "gather", [x, idx], {"axis": axis}
        src = g.add_input(f"src{len(g.inputs)}", Aval(x.shape[:axis] + idx_shape + x.shape[axis + 1:], x.dtype))
        return "scatter_add", [x, idx, src], {"axis": axis}
    if kind == "matmul" and rank >= 2 and x.dtype in (dtypes.int32, dtypes.int64):
        w = g.add_input(f"w{len(g.inputs)}", Aval((x.shape[-1], draw(st.sampled_from([1, 3, 17]))), x.dtype))
        return "matmul", [x, w], {}
    return None


@st.composite
def exact_programs(draw, max_nodes=12):
    """Well-typed programs of exactly rounded ops over every dtype (int32
    too), with odd sizes, slices, pads, concats, gathers, scatter-adds and
    integer matmuls; with the sizes of the axes each index input indexes."""
    base = tuple(draw(st.lists(st.sampled_from([0, 1, 1, 2, 3, 5, 7, 17, 33]), max_size=3)))
    if math.prod(base) > 2000:
        base = base[:1]
    g = Graph("exact")
    values = [g.add_input(f"in{i}", Aval(tuple(d if draw(st.booleans()) else 1 for d in base),
                                          draw(st.sampled_from(ALL)))) for i in range(draw(st.integers(1, 3)))]
    index_sizes = {}
    for _ in range(draw(st.integers(4, max_nodes))):
        step = _step(draw, g, values, index_sizes, draw(st.sampled_from(KINDS)))
        if step is None:
            continue
        op, inputs, attrs = step
        try:
            aval = REGISTRY[op].infer(*[v.aval for v in inputs], **attrs)
        except (TypeError, ValueError, RuntimeError, IndexError):
            continue
        if _runs(op, [v.aval for v in inputs]) and math.prod(aval.shape) <= 5000:
            values.append(g.add(op, inputs, attrs))
    computed = [v for v in values if v.node is not None] or values
    g.set_outputs([computed[-1]] + draw(st.lists(st.sampled_from(computed), max_size=2)))
    return g, index_sizes


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(exact_programs(), st.integers(0, 2**16), st.booleans())
def test_random_exact_programs_match_bit_for_bit(program, seed, fuse):
    graph, index_sizes = program
    arrays = random_inputs(graph, seed, index_sizes)
    check(graph, arrays, fuse=fuse)


# ---- models through torch.compile: llvm vs interpreter vs eager ------------------------------------
def mlp(x, y, W1, b1, W2, b2):
    h = F.relu(x @ W1 + b1)
    return F.nll_loss((h @ W2 + b2).log_softmax(1), y)  # log_softmax, then a gather of the targets


def cross_entropy_mlp(x, y, W1, b1, W2, b2):
    return F.cross_entropy(F.relu(x @ W1 + b1) @ W2 + b2, y)


def layer_norm_like(x, y, gain, bias):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) * (x - mean)).mean(-1, keepdim=True)
    out = (x - mean) / (var + 1e-5).sqrt() * gain + bias
    return (out.tanh() * out).sum() + F.layer_norm(x, (x.shape[-1],), gain, bias).amax()


def logistic_regression(x, y, w, b):
    p = (x @ w + b).sigmoid()
    manual = -(y * p.log() + (1 - y) * (1 - p).log()).mean()
    return manual + F.binary_cross_entropy(p, y) + F.binary_cross_entropy_with_logits(x @ w + b, y)


def attention(x, y, Wq, Wk, Wv):
    q, k, v = x @ Wq, x @ Wk, x @ Wv
    scores = (q @ k.transpose(0, 1) / math.sqrt(q.shape[-1])).softmax(-1)
    return ((scores @ v) * y).sum()


def _inputs(name, rng):
    if name == "logistic_regression":
        return [rng.standard_normal((16, 5)), (rng.random((16, 1)) < 0.5).astype(np.float32)], [(5, 1), (1,)]
    if name == "layer_norm_like":
        return [rng.standard_normal((6, 33)) * 3, None], [(33,), (33,)]
    if name == "attention":
        return [rng.standard_normal((7, 9)), rng.standard_normal((7, 4))], [(9, 4)] * 3
    return [rng.standard_normal((8, 7)), rng.integers(0, 3, 8)], [(7, 17), (17,), (17, 3), (3,)]


MODELS = [mlp, cross_entropy_mlp, layer_norm_like, logistic_regression, attention]


def _tensors(data, param_shapes, seed):
    rng = np.random.default_rng(seed)
    params = [torch.from_numpy((rng.standard_normal(s) * 0.5).astype(np.float32)).requires_grad_()
              for s in param_shapes]
    data = [None if a is None else torch.from_numpy(a.astype(np.float32) if a.dtype.kind == "f" else a)
            for a in data]
    return data, params


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_models_forward_and_backward_through_torch_compile(model):
    """The same model compiled for llvm, compiled for the interpreter, and
    eager: losses and every parameter's .grad agree, over two calls (the
    second reuses the compiled code)."""
    data, shapes = _inputs(model.__name__, np.random.default_rng(seed_of(model.__name__)))
    runs = {"llvm": torch.compile(model, fullgraph=True), "interpreter": torch.compile(
        model, fullgraph=True, backend="interpreter"), "eager": model}
    results = {}
    compiles = backend.STATS["llvm_compiles"] + backend.STATS["cache_hits"]
    for name, fn in runs.items():
        losses, grads = [], []
        for step in range(2):
            inputs, params = _tensors(data, shapes, seed=step)
            loss = fn(*inputs, *params)
            loss.backward()
            losses.append(loss.detach().numpy())
            grads.append([p.grad.numpy() for p in params])
        results[name] = losses, grads
    assert backend.STATS["llvm_compiles"] + backend.STATS["cache_hits"] > compiles, "no native code ran"
    for other in ("interpreter", "eager"):
        for step in range(2):
            what = f"{model.__name__} step {step}: llvm vs {other}"
            assert_same(results["llvm"][0][step], results[other][0][step], 1e-5, f"{what}: loss")
            for i, (g, w) in enumerate(zip(results["llvm"][1][step], results[other][1][step])):
                assert_same(g, w, 1e-5, f"{what}: grad {i}")


# ---- vectorized code --------------------------------------------------------------------------------
# A call to libm's or LLVM's math functions (LLVM lowers those to libm calls, one element at a time).
LIBM_CALL = re.compile(r"@(?:expf?|tanhf?|logf?|log1pf?|erff?)\("
                       r"|@llvm\.(?:exp2?|log2?|log10|tanh)\.(?:v\d+)?f(?:32|64)\b")


def _fused_graph(name, shapes, fn):
    g = Graph(name)
    b = Builder(g)
    ins = [b.sym(g.add_input(f"x{i}", Aval(s, F32))) for i, s in enumerate(shapes)]
    g.set_outputs([fn(b, *ins).value])
    return g, fused(g)


def test_fused_elementwise_kernel_is_vectorized_with_inline_math():
    g, f = _fused_graph("ew", [(1_000_000,), (1_000_000,)], lambda b, x, y: ((x * 2 + 1).exp() * y).tanh())
    assert [n.op for n in f.nodes] == ["kernel"]
    ir = llvm_ir(f)
    assert re.search(r"<\d+ x float>", ir), "no float vectors in the kernel"
    assert not LIBM_CALL.search(ir), LIBM_CALL.search(ir)
    rng = np.random.default_rng(0)
    arrays = [sample(F32, (1_000_000,), rng), sample(F32, (1_000_000,), rng)]
    check(g, arrays, 8, fuse=True)


def test_softmax_row_reduction_is_vectorized_with_inline_math():
    def softmax(b, x):
        m = b.add("amax", [x], {"axes": (1,), "keepdim": True})
        e = (x - m).exp()
        return e / b.add("sum", [e], {"axes": (1,), "keepdim": True})
    g, f = _fused_graph("softmax", [(256, 1000)], softmax)
    assert len(f.nodes) == 3, print_graph(f)
    ir = llvm_ir(f)
    assert re.search(r"<\d+ x float>", ir), "no float vectors"
    assert "llvm.vector.reduce.fadd" in ir or re.search(r"fadd reassoc <\d+ x float>", ir), "sum not vectorized"
    assert not LIBM_CALL.search(ir), LIBM_CALL.search(ir)
    x = sample(F32, (256, 1000), np.random.default_rng(1))
    check(g, [x], 1e-5, fuse=True)


# ---- interleaved vector loops -----------------------------------------------------------------------
def _chain(b, x):  # the bench's chain: tanh, then exp, on one chain of dependent ops
    y = (x * 1.5 + 0.5).tanh()
    return (-(y * y - 0.25)).exp() / 2.0


def _kernel_body(shape, fn):
    g, f = _fused_graph("k", [shape], fn)
    (node,) = [n for n in f.nodes if n.op == "kernel"]
    return node.attrs["body"]


@pytest.mark.parametrize("fn, count", [
    (_chain, 8),                                               # two inline math functions on one chain
    (lambda b, x: x.exp() * (x * 2).tanh(), 4),                # two, but side by side
    (lambda b, x: (x * 3 + 1).tanh() - x, 4),
    (lambda b, x: (x * 2 + 1) * x - 3, None),                  # arithmetic: LLVM's choice
    (lambda b, x: b.add("sin", [x], {}).exp().tanh(), None),   # a libm call per element: no vectors to interleave
], ids=["chain", "side by side", "one", "arithmetic", "libm"])
def test_interleave_count_follows_the_inline_math_on_one_chain(fn, count):
    from compiler.backend.kernels import MIN_INTERLEAVED_TRIP, interleave_count
    body = _kernel_body((4096,), fn)
    assert interleave_count(body, 4096) == count
    assert interleave_count(body, MIN_INTERLEAVED_TRIP - 1) is None  # mostly remainder loops


def test_long_math_chains_are_interleaved_and_exact_at_every_remainder():
    """The hint reaches the innermost loop of a 2-d kernel, and the
    interleaved loop and its remainder loops compute every element: trip
    counts just past the threshold and past whole interleaved iterations."""
    from compiler.backend import program
    g, f = _fused_graph("chain2d", [(3, 1000)], _chain)
    text = "\n".join(map(str, program.lower(f).modules))
    assert re.search(r'!"llvm.loop.interleave.count", i32 8', text), "no interleave hint on the kernel's loop"
    rng = np.random.default_rng(2)
    for n in (512, 513, 1000, 1031, 4099):
        g, _ = _fused_graph(f"chain{n}", [(n,)], _chain)
        check(g, [sample(F32, (n,), rng, scale=1.0)], 8, fuse=True)
    check(*_fused_graph("chain2d", [(3, 1000)], _chain)[:1], [sample(F32, (3, 1000), rng, scale=1.0)], 8, fuse=True)


def test_costly_ops_count_toward_splitting():
    """A kernel is split across threads by its cost, not its op count: one
    tanh on 400K floats is (three simple ops' worth), x + 1 is not."""
    from compiler.backend import program
    x = Aval((400_000,), F32)
    for fn, split in ((lambda b, x: x.tanh(), True), (lambda b, x: x + 1, False)):
        g, f = _fused_graph("one_op", [x.shape], fn)
        assert ("parallel_for" in program.lower(f).manifest.imports) is split
