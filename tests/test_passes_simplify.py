"""The simplification pass, tested as the clean-up passes are (IR text in,
FileCheck on the printed result, which must re-parse to the same graph,
verify, leave the input untouched and compute bit for bit what the input
computed), one case per rewrite, cases that must NOT be rewritten (values
like x + 0.0 at x = -0.0, dtype promotion, non-uniform constants), and random
programs with broadcasting, reductions, movement, matmul and constants."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import dtypes
from compiler.interpreter import interpret
from compiler.ir import Graph, parse, print_graph, verify
from compiler.ops import Aval
from compiler.passes import PASSES, simplify
from compiler.passes.pipeline import OPTIMIZE
from compiler.passes.simplification import MAX_FOLD_ELEMENTS, full_value, lossless
from tests.test_ir_text import random_graphs
from tests.test_passes_cleanup import assert_same_results, random_inputs, run_checked

f32, f64, i32, i64, b8 = dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64, dtypes.bool_

# name -> (IR text, checks). The first line of each entry says why it exists.
CASES = {
    # The basic folding promise: constants computed now, with the location
    # of the node the constant replaces (errors will cite it).
    "folds arithmetic on constants": ("""
graph f(%x: f32[3]) {
  %0: f32[] = full() {dtype=f32, shape=[], value=2.0}     # m.py:1 in f
  %1: f32[] = full() {dtype=f32, shape=[], value=3.0}     # m.py:2 in f
  %2: f32[] = add(%0, %1)                                 # m.py:3 in f
  %3: f32[3] = mul(%x, %2)                                # m.py:4 in f
  return out0=%3
}""", r"""
CHECK: [[C:%\d+]]: f32[] = full() {dtype=f32, shape=[], value=5.0} # m.py:3 in f
CHECK-NEXT: mul(%x, [[C]]) # m.py:4 in f
CHECK-NEXT: return
"""),
    # Folding runs each primitive's own code: reductions, casts and
    # comparisons of constants fold to the dtype their shape rule gives.
    "folds reductions, casts and comparisons": ("""
graph f() {
  %0: f32[2,3] = full() {dtype=f32, shape=[2, 3], value=1.5}
  %1: f32[2] = sum(%0) {axes=[1], keepdim=false}
  %2: i64[2,3] = cast(%0) {dtype=i64}
  %3: bool[2,3] = lt(%2, %0)
  return s=%1, c=%2, b=%3
}""", r"""
CHECK: [[S:%\d+]]: f32[2] = full() {dtype=f32, shape=[2], value=4.5}
CHECK-NEXT: [[C:%\d+]]: i64[2,3] = full() {dtype=i64, shape=[2, 3], value=1}
CHECK-NEXT: [[B:%\d+]]: bool[2,3] = full() {dtype=bool, shape=[2, 3], value=true}
CHECK-NEXT: return s=[[S]], c=[[C]], b=[[B]]
"""),
    # The sign of zero is part of the value: -(0.0) folds to -0.0, not 0.0.
    "folding keeps negative zero": ("""
graph f() {
  %0: f32[] = full() {dtype=f32, shape=[], value=0.0}
  %1: f32[] = neg(%0)
  return out0=%1
}""", r"""
CHECK: full() {dtype=f32, shape=[], value=-0.0}
CHECK-NOT: neg(
"""),
    # A folded value is a constant for its users: exp(0) is 1, and x * 1 is x.
    "folded constants enable identities": ("""
graph f(%x: f32[2,3]) {
  %0: f32[] = full() {dtype=f32, shape=[], value=0.0}
  %1: f32[] = exp(%0)
  %2: f32[2,3] = mul(%x, %1)
  %3: f32[2,3] = tanh(%2)
  return out0=%3
}""", r"""
CHECK: graph f(%x: f32[2,3]) {
CHECK-NEXT: tanh(%x)
CHECK-NEXT: return
"""),
    # Nothing to compute in an empty result: it is a `full` of its shape.
    "folds size-zero results": ("""
graph f() {
  %0: f32[0,3] = full() {dtype=f32, shape=[0, 3], value=2.0}
  %1: f32[0,3] = exp(%0)
  return out0=%1
}""", r"""
CHECK: full() {dtype=f32, shape=[0, 3], value=0.0}
CHECK-NOT: exp(
"""),
    # No big literals: a non-uniform result (here iota + 1) is not a `full`,
    # so it stays a node; a uniform one (iota * 0) folds.
    "folds only uniform results": ("""
graph f() {
  %0: i64[3] = iota() {dtype=i64, length=3}
  %1: i64[] = full() {dtype=i64, shape=[], value=1}
  %2: i64[3] = add(%0, %1)
  %3: i64[] = full() {dtype=i64, shape=[], value=0}
  %4: i64[3] = mul(%0, %3)
  return a=%2, b=%4
}""", r"""
CHECK: [[I:%\d+]]: i64[3] = iota()
CHECK-NEXT: [[C:%\d+]]: i64[] = full()
CHECK-NEXT: [[A:%\d+]]: i64[3] = add([[I]], [[C]])
CHECK-NEXT: [[B:%\d+]]: i64[3] = full() {dtype=i64, shape=[3], value=0}
CHECK-NEXT: return a=[[A]], b=[[B]]
"""),
    # Folding materializes the constant at compile time: large ones stay nodes.
    "does not fold large constants": (f"""
graph f() {{
  %0: f32[{MAX_FOLD_ELEMENTS + 1}] = full() {{dtype=f32, shape=[{MAX_FOLD_ELEMENTS + 1}], value=2.0}}
  %1: f32[{MAX_FOLD_ELEMENTS + 1}] = exp(%0)
  return out0=%1
}}""", r"""
CHECK: exp(
"""),
    # stop_gradient is an identity on values, but autodiff must still see it.
    "keeps stop_gradient": ("""
graph f(%x: f32[3]) {
  %0: f32[] = full() {dtype=f32, shape=[], value=1.0}
  %1: f32[] = stop_gradient(%0)
  %2: f32[3] = stop_gradient(%x)
  %3: f32[3] = mul(%2, %1)
  return out0=%3
}""", r"""
CHECK: stop_gradient(
CHECK: stop_gradient(%x)
CHECK: mul(
"""),
    # Two reshapes in a row are one, at the location of the second.
    "reshape of reshape is one reshape": ("""
graph f(%x: f32[2,3,4]) {
  %0: f32[6,4] = reshape(%x) {shape=[6, 4]}           # m.py:1 in f
  %1: f32[4,6] = reshape(%0) {shape=[4, 6]}           # m.py:2 in f
  %2: f32[4,6] = exp(%1)
  return out0=%2
}""", r"""
CHECK: [[R:%\d+]]: f32[4,6] = reshape(%x) {shape=[4, 6]} # m.py:2 in f
CHECK-NEXT: exp([[R]])
CHECK-NEXT: return
"""),
    # A reshape back to the original shape, or to the same shape, is no reshape at all.
    "reshapes that change nothing disappear": ("""
graph f(%x: f32[2,3]) {
  %0: f32[6] = reshape(%x) {shape=[6]}
  %1: f32[2,3] = reshape(%0) {shape=[2, 3]}
  %2: f32[2,3] = reshape(%x) {shape=[2, 3]}
  %3: f32[2,3] = add(%1, %2)
  return out0=%3
}""", r"""
CHECK: graph f(%x: f32[2,3]) {
CHECK-NEXT: add(%x, %x)
"""),
    # permute(permute(x, p), q) is permute(x, [p[i] for i in q]).
    "permute of permute composes": ("""
graph f(%x: f32[2,3,4]) {
  %0: f32[3,2,4] = permute(%x) {perm=[1, 0, 2]}
  %1: f32[3,4,2] = permute(%0) {perm=[0, 2, 1]}
  %2: f32[3,4,2] = exp(%1)
  return out0=%2
}""", r"""
CHECK: [[P:%\d+]]: f32[3,4,2] = permute(%x) {perm=[1, 2, 0]}
CHECK-NEXT: exp([[P]])
"""),
    # A permutation and its inverse compose to the identity; so does perm=[] of a 0-d value.
    "identity permutes disappear": ("""
graph f(%x: f32[2,3,4], %s: f32[]) {
  %0: f32[3,4,2] = permute(%x) {perm=[1, 2, 0]}
  %1: f32[2,3,4] = permute(%0) {perm=[2, 0, 1]}
  %2: f32[2,3,4] = exp(%1)
  %3: f32[] = permute(%s) {perm=[]}
  %4: f32[] = neg(%3)
  return a=%2, b=%4
}""", r"""
CHECK: exp(%x)
CHECK-NEXT: neg(%s)
"""),
    # Expanding twice is expanding once; expanding to the same shape is nothing.
    "expand chains": ("""
graph f(%x: f32[3], %y: f32[2,3]) {
  %0: f32[1,3] = expand(%x) {shape=[1, 3]}
  %1: f32[4,2,3] = expand(%0) {shape=[4, 2, 3]}
  %2: f32[4,2,3] = exp(%1)
  %3: f32[2,3] = expand(%y) {shape=[2, 3]}
  %4: f32[2,3] = neg(%3)
  return a=%2, b=%4
}""", r"""
CHECK: [[E:%\d+]]: f32[4,2,3] = expand(%x) {shape=[4, 2, 3]}
CHECK-NEXT: exp([[E]])
CHECK-NEXT: neg(%y)
"""),
    # Broadcasting a scalar constant (how `x * 2.0` is traced) gives a
    # constant of the larger shape; so do other views of a constant.
    "views of constants are constants": ("""
graph f() {
  %0: f32[] = full() {dtype=f32, shape=[], value=-0.0}     # m.py:1 in f
  %1: f32[2,3] = expand(%0) {shape=[2, 3]}                # m.py:2 in f
  %2: f32[3,2] = permute(%1) {perm=[1, 0]}
  %3: f32[6] = reshape(%2) {shape=[6]}
  %4: f32[2] = slice(%3) {starts=[0], steps=[3], stops=[6]}
  return a=%1, b=%2, c=%3, d=%4
}""", r"""
CHECK: [[A:%\d+]]: f32[2,3] = full() {dtype=f32, shape=[2, 3], value=-0.0} # m.py:2 in f
CHECK-NEXT: [[B:%\d+]]: f32[3,2] = full() {dtype=f32, shape=[3, 2], value=-0.0}
CHECK-NEXT: [[C:%\d+]]: f32[6] = full() {dtype=f32, shape=[6], value=-0.0}
CHECK-NEXT: [[D:%\d+]]: f32[2] = full() {dtype=f32, shape=[2], value=-0.0}
CHECK-NEXT: return a=[[A]], b=[[B]], c=[[C]], d=[[D]]
"""),
    # A cast to the value's own dtype is no cast.
    "cast to the same dtype disappears": ("""
graph f(%x: f32[3]) {
  %0: f32[3] = cast(%x) {dtype=f32}
  %1: f32[3] = exp(%0)
  return out0=%1
}""", r"""
CHECK: exp(%x)
CHECK-NOT: cast(
"""),
    # Exact casts compose: f32 -> f64 -> f32 and i32 -> i64 -> i32 give x
    # back, and i32 -> i64 -> f64 is i32 -> f64.
    "exact cast chains collapse": ("""
graph f(%x: f32[3], %i: i32[3]) {
  %0: f64[3] = cast(%x) {dtype=f64}
  %1: f32[3] = cast(%0) {dtype=f32}
  %2: f32[3] = exp(%1)
  %3: i64[3] = cast(%i) {dtype=i64}
  %4: i32[3] = cast(%3) {dtype=i32}
  %5: i32[3] = neg(%4)
  %6: f64[3] = cast(%3) {dtype=f64}          # m.py:6 in f
  %7: f64[3] = exp(%6)
  return a=%2, b=%5, c=%7
}""", r"""
CHECK: exp(%x)
CHECK-NEXT: neg(%i)
CHECK-NEXT: [[C:%\d+]]: f64[3] = cast(%i) {dtype=f64} # m.py:6 in f
CHECK-NEXT: exp([[C]])
"""),
    # Lossy casts do not compose: f64 -> f32 rounds, f32 -> i64 truncates, i64 -> f64 rounds.
    "lossy cast chains stay": ("""
graph f(%x: f64[3], %y: f32[3], %i: i64[3]) {
  %0: f32[3] = cast(%x) {dtype=f32}
  %1: f64[3] = cast(%0) {dtype=f64}
  %2: i64[3] = cast(%y) {dtype=i64}
  %3: f32[3] = cast(%2) {dtype=f32}
  %4: f64[3] = cast(%i) {dtype=f64}
  %5: i64[3] = cast(%4) {dtype=i64}
  return a=%1, b=%3, c=%5
}""", r"""
CHECK: cast(%x) {dtype=f32}
CHECK-NEXT: cast(
CHECK-NEXT: cast(%y) {dtype=i64}
CHECK-NEXT: cast(
CHECK-NEXT: cast(%i) {dtype=f64}
CHECK-NEXT: cast(
"""),
    # A graph output computed into a fresh array must stay one: as x itself
    # (or a read-only broadcast view of x) it would share storage with an
    # input the caller may then write to; so must a fresh array an output
    # views. Views of x may become x.
    "outputs keep their own storage": ("""
graph f(%x: f32[3]) {
  %0: f32[] = full() {dtype=f32, shape=[], value=1.0}
  %1: f32[3] = mul(%x, %0)
  %2: f32[2,3] = full() {dtype=f32, shape=[2, 3], value=1.0}
  %3: f32[2,3] = mul(%x, %2)
  %4: f32[3] = cast(%x) {dtype=f32}
  %5: f32[3] = reshape(%x) {shape=[3]}
  %6: f32[3] = div(%x, %0)
  %7: f32[1,3] = reshape(%6) {shape=[1, 3]}
  return a=%1, b=%3, c=%4, d=%5, e=%7
}""", r"""
CHECK: [[A:%\d+]]: f32[3] = mul(%x,
CHECK: [[B:%\d+]]: f32[2,3] = mul(%x,
CHECK-NEXT: [[C:%\d+]]: f32[3] = cast(%x)
CHECK-NEXT: [[D:%\d+]]: f32[3] = div(%x,
CHECK-NEXT: [[E:%\d+]]: f32[1,3] = reshape([[D]])
CHECK-NEXT: return a=[[A]], b=[[B]], c=[[C]], d=%x, e=[[E]]
"""),
    # Rewrites feed each other: the identity multiply goes, then the two
    # reshapes meet and cancel, then the constant is dead.
    "rewrites reach a fixed point": ("""
// recompiled: %x changed shape
graph f(%x: f32[2,3]) {
  %0: f32[6] = reshape(%x) {shape=[6]}
  %1: f32[] = full() {dtype=f32, shape=[], value=1.0}
  %2: f32[6] = mul(%0, %1)
  %3: f32[2,3] = reshape(%2) {shape=[2, 3]}
  %4: f32[2,3] = exp(%3)
  %5: f32[2,3] = exp(%x)
  %6: f32[2,3] = add(%4, %5)
  return out0=%6
}""", r"""
CHECK: // recompiled: %x changed shape
CHECK-NEXT: graph f(%x: f32[2,3]) {
CHECK-NEXT: [[E:%\d+]]: f32[2,3] = exp(%x)
CHECK-NEXT: add([[E]], [[E]])
CHECK-NEXT: return
"""),
}


@pytest.mark.parametrize("case", list(CASES))
def test_simplify_output_matches_checks(case):
    text, checks = CASES[case]
    run_checked(simplify, text, checks)


# ---- neutral operands -------------------------------------------------------------------------------
def binary_program(op, x_dtype, const, const_first=False, x_shape=(2, 3)):
    """x op c (or c op x), summed: the result is not a graph output (nor viewed by one)."""
    c_dtype, c_shape, value = const
    g = Graph("f")
    x = g.add_input("x", Aval(x_shape, x_dtype))
    c = g.add("full", (), {"value": value, "shape": c_shape, "dtype": c_dtype})
    result = g.add(op, (c, x) if const_first else (x, c))
    g.set_outputs([g.add("sum", (result,), {"axes": tuple(range(len(result.shape))), "keepdim": False})])
    return print_graph(g)


# (op, x's dtype, (constant dtype, shape, value), constant first)
NEUTRAL = [
    ("mul", f32, (f32, (), 1.0), False),
    ("mul", f32, (i64, (), 1), True),  # a 0-d int constant does not promote f32
    ("mul", i64, (i64, (2, 3), 1), False),
    ("mul", b8, (b8, (), True), True),
    ("mul", f32, (f64, (), 1.0000000001), False),  # is 1.0 once converted to f32, as the op does
    ("add", f32, (f32, (), -0.0), False),
    ("add", f64, (f32, (), -0.0), True),
    ("add", f32, (f64, (), -1e-300), False),  # is -0.0 in f32
    ("add", i64, (i64, (), 0), True),
    ("add", i64, (b8, (), False), False),
    ("sub", f32, (f32, (), 0.0), False),
    ("sub", i64, (i64, (2, 3), 0), False),
    ("div", f32, (f32, (), 1.0), False),
    ("div", f64, (i64, (), 1), False),
    ("pow", f32, (f32, (), 1.0), False),
    ("pow", i64, (i64, (), 1), False),
    ("pow", b8, (b8, (), True), False),
]

NOT_NEUTRAL = [
    ("add", f32, (f32, (), 0.0), False),  # -0.0 + 0.0 is +0.0
    ("add", f32, (f32, (), 0.0), True),
    ("add", f32, (i64, (), 0), False),  # the int 0 becomes +0.0
    ("sub", f32, (f32, (), -0.0), False),  # -0.0 - (-0.0) is +0.0
    ("sub", f32, (f32, (), 0.0), True),  # 0 - x is -x
    ("mul", i64, (f32, (), 1.0), False),  # the result is f32: a conversion, not x
    ("mul", f32, (f64, (2, 3), 1.0), False),  # a tensor with dims promotes to f64
    ("mul", f32, (f32, (), 2.0), False),
    ("mul", f32, (f32, (), math.nan), False),
    ("div", i64, (i64, (), 1), False),  # true division of integers gives f32
    ("div", f32, (f32, (), 1.0), True),  # 1 / x
    ("pow", f32, (f32, (), 2.0), False),
    ("pow", f32, (f32, (), 1.0), True),  # 1 ** x
]


def _id(case):
    op, x_dtype, (c_dtype, c_shape, value), first = case
    c = f"{c_dtype.short}{list(c_shape)}({value!r})"
    return f"{c} {op} {x_dtype.short}" if first else f"{x_dtype.short} {op} {c}"


@pytest.mark.parametrize("case", NEUTRAL, ids=map(_id, NEUTRAL))
def test_neutral_operand_leaves_x(case):
    op, x_dtype, const, first = case
    run_checked(simplify, binary_program(op, x_dtype, const, first), f"""
CHECK: graph f(%x: {x_dtype.short}[2,3]) {{
CHECK-NEXT: sum(%x)
CHECK-NEXT: return
""")


@pytest.mark.parametrize("case", NOT_NEUTRAL, ids=map(_id, NOT_NEUTRAL))
def test_operand_that_is_not_neutral_for_every_input_stays(case):
    op, x_dtype, const, first = case
    after = run_checked(simplify, binary_program(op, x_dtype, const, first), f"""
CHECK: full()
CHECK-NEXT: = {op}(
""")
    special = [np.array([[-0.0, 0.0, math.nan], [math.inf, -math.inf, 1.5]], x_dtype.np)] \
        if x_dtype.is_floating_point else None
    assert_same_results(parse(binary_program(op, x_dtype, const, first)), after, arrays=special)


def test_a_constant_that_broadcasts_x_leaves_an_expand():
    text = binary_program("mul", f32, (f32, (2, 3), 1.0), x_shape=(3,))
    run_checked(simplify, text, r"""
CHECK: graph f(%x: f32[3]) {
CHECK-NEXT: [[E:%\d+]]: f32[2,3] = expand(%x) {shape=[2, 3]}
CHECK-NEXT: sum([[E]])
""")


def test_subtracting_false_from_bool_still_fails():
    # bool - bool raises in the interpreter (as in PyTorch); simplified, it still must.
    before = parse(binary_program("sub", b8, (b8, (), False)))
    after = simplify(before)
    assert "= sub(" in print_graph(after)
    for graph in (before, after):
        with pytest.raises(RuntimeError, match="Subtraction"):
            interpret(graph, random_inputs(before))


def test_folding_leaves_failing_nodes_to_fail_at_run_time():
    g = parse("graph f() {\n  %0: bool[] = full() {dtype=bool, shape=[], value=true}\n"
              "  %1: bool[] = neg(%0)\n  return out0=%1\n}\n")
    after = simplify(g)
    assert "neg(" in print_graph(after)
    with pytest.raises(RuntimeError, match="Negation"):
        interpret(after, [])


# ---- helpers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, dtype, expected", [
    (np.full((2, 2), 1.5, np.float32), f32, 1.5),
    (np.array([-0.0, -0.0]), f64, -0.0),
    (np.array([-0.0, 0.0]), f64, None),  # equal, but not the same bits
    (np.array([math.nan, math.nan], np.float32), f32, math.nan),
    (-np.array([math.nan], np.float32), f32, None),  # the text form has no negative NaN
    (np.array([1, 2]), i64, None),
    (np.zeros((0, 3), np.int64), i64, 0),
    (np.array(True), b8, True),
], ids=repr)
def test_full_value_reproduces_the_bits_or_refuses(data, dtype, expected):
    value = full_value(data, dtype)
    if expected is None:
        assert value is None
    else:
        assert type(value) is type(expected) and (value == expected or value != value and expected != expected)
        assert math.copysign(1, value) == math.copysign(1, expected)


def test_lossless_casts():
    exact = {(b8, f32), (b8, i64), (i32, i64), (i32, f64), (f32, f64), (i64, i64)}
    for src in dtypes.ALL:
        for dst in dtypes.ALL:
            expected = (src, dst) in exact or src is dst or src is b8
            assert lossless(src, dst) == expected, (src, dst)


def test_simplify_is_registered_and_runs_first_by_default():
    assert PASSES["simplify"].apply is simplify
    assert OPTIMIZE[0] == "simplify"


# ---- random programs --------------------------------------------------------------------------------
def edge_inputs(graph, seed):
    """Random inputs with the values identities get wrong: -0.0, NaN, infinities."""
    arrays = random_inputs(graph, seed)
    r = np.random.default_rng(seed)
    for a in arrays:
        if a.dtype.kind == "f" and a.size:
            specials = np.array([-0.0, 0.0, math.nan, math.inf, -math.inf, 1.0], a.dtype)
            mask = r.random(a.shape) < 0.3
            a[mask] = r.choice(specials, a.shape)[mask]
    return arrays


@settings(max_examples=60, deadline=None)
@given(random_graphs(max_nodes=12, movement=True), st.integers(0, 2**16))
def test_simplify_preserves_results_on_random_programs(g, seed):
    original = print_graph(g)
    after = simplify(g)
    verify(after)
    assert print_graph(g) == original, "simplify changed its input graph"
    assert len(after.nodes) <= len(g.nodes)
    text = print_graph(after)
    reparsed = parse(text)
    assert reparsed == after and print_graph(reparsed) == text
    for arrays in (random_inputs(g, seed), edge_inputs(g, seed)):
        assert_same_results(g, after, arrays=arrays)
        assert_same_results(g, reparsed, arrays=arrays)
    assert simplify(after) == after  # a fixed point
    users = after.users()
    assert all(users[n.out] or n.out in after.outputs for n in after.nodes), "simplify left a dead node"


def test_a_product_of_an_operand_simplify_turned_into_an_expand_rounds_alike():
    """Found by the property test above (seed 490): mul(x, ones) becomes
    expand(x), a stride-0 view, which NumPy multiplied in its own loop
    rather than BLAS, 1 ulp apart (compiler/ops/linalg.py)."""
    g = parse("""
graph f(%x: f32[6,1], %z: f32[5,1]) {
  %0: f32[1,5] = full() {dtype=f32, shape=[1, 5], value=1.0}
  %1: f32[6,5] = mul(%x, %0)
  %2: f32[6,1] = matmul(%1, %z)
  return %2
}""")
    after = simplify(g)
    assert "expand" in print_graph(after)
    for seed in range(20):
        assert_same_results(g, after, arrays=random_inputs(g, seed))
