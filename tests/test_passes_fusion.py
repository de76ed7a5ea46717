"""The fusion pass and kernel nodes, tested as compiler passes are: IR text
in, `fuse`, printed IR checked with FileCheck directives. Every result must
re-parse to the same graph, verify, leave the input graph untouched, hold
every elementwise op and reduction inside a kernel, and compute bit for bit
what the input graph computed (reference interpreter), here, on the model
functions traced through the frontend, and on random programs.

Kernel counts are asserted exactly, so a change in the grouping shows."""
from collections import Counter
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import frontend as torch
import frontend.nn.functional as F
from compiler import dtypes
from compiler.interpreter import interpret
from compiler.ir import Graph, IRParseError, VerifyError, parse, print_graph, verify
from compiler.ir.kernel import KERNEL_OP, fusible_kind
from compiler.ops import Aval
from compiler.passes import cse, dce, fuse, fusion, kernel_summary, run_pipeline
from compiler.passes.autodiff import backward_graph
from compiler.passes.pipeline import FUSE, PASSES
from tests.filecheck import filecheck
from tests.test_ir_text import random_graphs
from tests.test_passes_cleanup import assert_same_results, random_inputs


def kernel_nodes(graph):
    return [n for n in graph.nodes if n.op == KERNEL_OP]


def body_ops(node):
    return [n.op for n in node.attrs["body"].nodes]


def _key(node):
    return node.op, node.out.aval, node.loc, tuple(sorted((k, repr(v)) for k, v in node.attrs.items()))


def assert_all_fused(before, after):
    """No elementwise op or reduction is left outside a kernel, each one of
    `before` is in some kernel, and the other nodes are kept one for one."""
    assert [n.op for n in after.nodes if fusible_kind(n) is not None] == []
    inside = {_key(b) for k in kernel_nodes(after) for b in k.attrs["body"].nodes}
    missing = [n.op for n in before.nodes if fusible_kind(n) is not None and _key(n) not in inside]
    assert missing == [], f"not in any kernel: {missing}"
    kept = Counter(_key(n) for n in before.nodes if fusible_kind(n) is None)
    assert kept == Counter(key for key in map(_key, after.nodes) if key in kept)


def check_fused(before: Graph, inputs=None) -> Graph:
    """Fuse `before` and check every promise of the pass (on `inputs(graph,
    seed)`, random by default)."""
    original = print_graph(before)
    after = fuse(before)
    verify(after)
    text = print_graph(after)
    reparsed = parse(text)
    assert reparsed == after and print_graph(reparsed) == text
    assert print_graph(before) == original, "the pass changed its input graph"
    assert_all_fused(before, after)
    for seed in range(2):
        assert_same_results(before, after, seed, inputs(before, seed) if inputs else None)
    return after


def fused_text(text: str, checks: str, summary: str) -> Graph:
    after = check_fused(verify(parse(text)))
    filecheck(print_graph(after), checks)
    assert kernel_summary(after) == summary
    return after


# `y = x + 2; z = y * y * 3; out = z.mean()` as the tracer writes it (`jitgrad ir --stage optimized`).
SEED = """  %0: f32[] = full() {dtype=f32, shape=[], value=2.0}      # seed.py:5 in seed
  %1: f32[4,5] = add(%x, %0)                               # seed.py:5 in seed
  %2: f32[4,5] = mul(%1, %1)                               # seed.py:6 in seed
  %3: f32[] = full() {dtype=f32, shape=[], value=3.0}      # seed.py:6 in seed
  %4: f32[4,5] = mul(%2, %3)                               # seed.py:6 in seed
  %5: f32[] = sum(%4) {axes=[0, 1], keepdim=false}         # seed.py:7 in seed
  %6: f32[] = full() {dtype=f32, shape=[], value=20.0}     # seed.py:7 in seed
  %7: f32[] = div(%5, %6)                                  # seed.py:7 in seed
"""

# name -> (IR text, checks, kernel summary). The comment above each says why it exists.
CASES = {
    # The seed chain: the prologue, the sum and the division by N after it (at
    # the reduced shape) are one kernel.
    "seed chain is one kernel": ("""
graph seed(%x: f32[4,5]) {
""" + SEED + """  return out=%7
}""", r"""
CHECK: graph seed(%x: f32[4,5]) {
CHECK-NEXT: [[K:%\d+]]: f32[] = kernel @k0(%x) # seed.py:7 in seed
CHECK-NEXT: return out=[[K]]
CHECK-NEXT: }
CHECK: kernel k0(%in0: f32[4,5]) {
CHECK-NEXT: full() {dtype=f32, shape=[], value=2.0} # seed.py:5 in seed
CHECK-NEXT: [[Y:%\d+]]: f32[4,5] = add(%in0, {{%\d+}}) # seed.py:5 in seed
CHECK-NEXT: mul([[Y]], [[Y]])
CHECK: [[S:%\d+]]: f32[] = sum(
CHECK: [[M:%\d+]]: f32[] = div([[S]],
CHECK-NEXT: return [[M]]
CHECK-NOT: kernel
""", "1 kernel (1 with a reduction), 0 matmuls, 0 other ops"),
    # Its joint forward+backward graph (`--stage backward --wrt x`). The forward
    # is one kernel as above; the whole backward is one more: scale the
    # cotangent, broadcast it (reshape to [1,1] only adds size-1 dims, then
    # expand) and apply the chain rule of y*y*3, recomputing y = x + 2 (a
    # duplicated add) instead of storing it from the forward kernel.
    "seed backward is one kernel besides the forward": ("""
graph seed_joint(%x: f32[4,5], %out.grad: f32[]) {
""" + SEED + """  %8: f32[] = div(%out.grad, %6)                           # seed.py:7 in seed
  %9: f32[1,1] = reshape(%8) {shape=[1, 1]}                # seed.py:7 in seed
  %10: f32[4,5] = expand(%9) {shape=[4, 5]}                # seed.py:7 in seed
  %11: f32[4,5] = mul(%10, %3)                             # seed.py:6 in seed
  %12: f32[4,5] = mul(%11, %1)                             # seed.py:6 in seed
  %13: f32[4,5] = add(%12, %12)                            # seed.py:6 in seed
  return out=%7, grad.x=%13
}""", r"""
CHECK: graph seed_joint(%x: f32[4,5], %out.grad: f32[]) {
CHECK-NEXT: [[F:%\d+]]: f32[] = kernel @k0(%x) # seed.py:7 in seed
CHECK-NEXT: [[B:%\d+]]: f32[4,5] = kernel @k1(%x, %out.grad) # seed.py:6 in seed
CHECK-NEXT: return out=[[F]], grad.x=[[B]]
CHECK: kernel k0(%in0: f32[4,5]) {
CHECK: sum(
CHECK: kernel k1(%in0: f32[4,5], %in1: f32[]) {
CHECK-NOT: sum(
CHECK: add(%in0,
CHECK: div(%in1,
CHECK-NEXT: reshape(
CHECK-NEXT: expand(
CHECK: return
""", "2 kernels (1 with a reduction), 0 matmuls, 0 other ops"),
    # The cycle case: `c = a + a @ w` must not put `a` and `c` in one kernel,
    # since the kernel would both feed the matmul and read its result. `a` is
    # read by the matmul, so it is stored, and `c`'s kernel reads it.
    "never fused across a matmul": ("""
graph f(%x: f32[4,4], %w: f32[4,4]) {
  %0: f32[4,4] = exp(%x)            # m.py:1 in f
  %1: f32[4,4] = matmul(%0, %w)     # m.py:2 in f
  %2: f32[4,4] = add(%0, %1)        # m.py:3 in f
  return out=%2
}""", r"""
CHECK: [[A:%\d+]]: f32[4,4] = kernel @k0(%x) # m.py:1 in f
CHECK-NEXT: [[B:%\d+]]: f32[4,4] = matmul([[A]], %w) # m.py:2 in f
CHECK-NEXT: [[C:%\d+]]: f32[4,4] = kernel @k1([[A]], [[B]]) # m.py:3 in f
CHECK: kernel k0(
CHECK-NEXT: exp(%in0)
CHECK-NEXT: return
CHECK: kernel k1(
CHECK-NEXT: add(%in0, %in1)
CHECK-NEXT: return
CHECK-NOT: exp(
""", "2 kernels (0 with a reduction), 1 matmul, 0 other ops"),
    # A cheap producer read by two kernels is computed in each instead of
    # stored and read back: exp(x) appears in both, and no kernel returns it.
    "a shared elementwise producer is duplicated": ("""
graph f(%x: f32[4,5]) {
  %0: f32[4,5] = exp(%x)                            # m.py:1 in f
  %1: f32[4] = sum(%0) {axes=[1], keepdim=false}    # m.py:2 in f
  %2: f32[] = full() {dtype=f32, shape=[], value=2.0}
  %3: f32[4,5] = mul(%0, %2)                        # m.py:3 in f
  return total=%1, scaled=%3
}""", r"""
CHECK: [[T:%\d+]]: f32[4] = kernel @k0(%x) # m.py:2 in f
CHECK-NEXT: [[S:%\d+]]: f32[4,5] = kernel @k1(%x) # m.py:3 in f
CHECK-NEXT: return total=[[T]], scaled=[[S]]
CHECK: kernel k0(
CHECK-NEXT: exp(%in0) # m.py:1 in f
CHECK-NEXT: sum(
CHECK: kernel k1(
CHECK-NEXT: exp(%in0) # m.py:1 in f
CHECK: mul(
""", "2 kernels (1 with a reduction), 0 matmuls, 0 other ops"),
    # `x - amax(x, keepdim)` broadcasts the reduction back up to [4,5]; the
    # loop nest of a reduction runs over its [4,1] result, so the amax ends
    # its kernel and the subtraction reads it from memory.
    "a reduction broadcast back up ends its kernel": ("""
graph f(%x: f32[4,5]) {
  %0: f32[4,1] = amax(%x) {axes=[1], keepdim=true}  # m.py:1 in f
  %1: f32[4,5] = sub(%x, %0)                        # m.py:2 in f
  %2: f32[4,5] = exp(%1)                            # m.py:3 in f
  return out=%2
}""", r"""
CHECK: [[M:%\d+]]: f32[4,1] = kernel @k0(%x) # m.py:1 in f
CHECK-NEXT: [[E:%\d+]]: f32[4,5] = kernel @k1(%x, [[M]]) # m.py:3 in f
CHECK: kernel k0(%in0: f32[4,5]) {
CHECK-NEXT: amax(%in0)
CHECK-NEXT: return
CHECK: kernel k1(%in0: f32[4,5], %in1: f32[4,1]) {
CHECK-NEXT: sub(%in0, %in1)
CHECK-NEXT: exp(
CHECK-NOT: amax
""", "2 kernels (1 with a reduction), 0 matmuls, 0 other ops"),
    # A bias gradient: sum over the batch keeping the dim, then a reshape that
    # drops it. The epilogue differs from the reduced shape in a size-1 dim
    # only, so one loop nest still covers it: one kernel.
    "an epilogue may drop the kept dim": ("""
graph f(%g: f32[8,10]) {
  %0: f32[1,10] = sum(%g) {axes=[0], keepdim=true}  # m.py:1 in f
  %1: f32[10] = reshape(%0) {shape=[10]}            # m.py:1 in f
  %2: f32[] = full() {dtype=f32, shape=[], value=0.5}
  %3: f32[10] = mul(%1, %2)                         # m.py:2 in f
  return out=%3
}""", r"""
CHECK: kernel @k0(%g)
CHECK: kernel k0(%in0: f32[8,10]) {
CHECK-NEXT: sum(%in0)
CHECK-NEXT: reshape(
CHECK: mul(
""", "1 kernel (1 with a reduction), 0 matmuls, 0 other ops"),
    # One reduction per kernel: a reduction of a reduction starts a new kernel,
    # which takes the elementwise ops between them as its prologue.
    "a kernel holds one reduction": ("""
graph f(%x: f32[4,5]) {
  %0: f32[4] = sum(%x) {axes=[1], keepdim=false}
  %1: f32[4] = exp(%0)
  %2: f32[] = amax(%1) {axes=[0], keepdim=false}
  %3: f32[] = log(%2)
  return out=%3
}""", r"""
CHECK: [[S:%\d+]]: f32[4] = kernel @k0(%x)
CHECK-NEXT: kernel @k1([[S]])
CHECK: kernel k0(
CHECK-NEXT: sum(%in0)
CHECK-NEXT: return
CHECK: kernel k1(
CHECK-NEXT: exp(%in0)
CHECK-NEXT: amax(
CHECK-NEXT: log(
""", "2 kernels (2 with a reduction), 0 matmuls, 0 other ops"),
    # A reduction is never computed twice. The kernel of b absorbs exp and
    # the sum first; a's kernel then duplicates exp, so the sum is read by two
    # kernels: it is stored, and b's kernel shrinks to read it.
    "a reduction read by two kernels is stored": ("""
graph f(%x: f32[4,5]) {
  %0: f32[4,1] = sum(%x) {axes=[1], keepdim=true}
  %1: f32[4,1] = exp(%0)
  %2: f32[] = full() {dtype=f32, shape=[], value=1.0}
  %3: f32[4,1] = add(%1, %2)
  %4: f32[] = full() {dtype=f32, shape=[], value=2.0}
  %5: f32[4,1] = mul(%1, %4)
  return a=%3, b=%5
}""", r"""
CHECK: [[S:%\d+]]: f32[4,1] = kernel @k0(%x)
CHECK-NEXT: [[A:%\d+]]: f32[4,1] = kernel @k1([[S]])
CHECK-NEXT: [[B:%\d+]]: f32[4,1] = kernel @k2([[S]])
CHECK-NEXT: return a=[[A]], b=[[B]]
CHECK: kernel k0(
CHECK-NEXT: sum(%in0)
CHECK-NEXT: return
CHECK: kernel k1(
CHECK-NEXT: exp(%in0)
CHECK: add(
CHECK: kernel k2(
CHECK-NEXT: exp(%in0)
CHECK-NOT: sum(
""", "3 kernels (1 with a reduction), 0 matmuls, 0 other ops"),
    # Movement, gather and iota stay nodes of their own, in order, and their
    # elementwise neighbours become (one-op) kernels around them.
    "other ops stay outside kernels": ("""
// recompiled: %x changed shape
graph f(%x: f32[2,3], %i: i64[2]) {
  %0: f32[2,3] = exp(%x)
  %1: f32[3,2] = permute(%0) {perm=[1, 0]}
  %2: f32[6] = reshape(%1) {shape=[6]}
  %3: f32[2] = gather(%2, %i) {axis=0}
  %4: f32[2] = neg(%3)
  %5: i64[3] = iota() {dtype=i64, length=3}
  %6: f32[3] = cast(%5) {dtype=f32}
  return a=%4, b=%6
}""", r"""
CHECK: // recompiled: %x changed shape
CHECK-NEXT: graph f(%x: f32[2,3], %i: i64[2]) {
CHECK-NEXT: [[E:%\d+]]: f32[2,3] = kernel @k0(%x)
CHECK-NEXT: [[P:%\d+]]: f32[3,2] = permute([[E]])
CHECK-NEXT: [[R:%\d+]]: f32[6] = reshape([[P]])
CHECK-NEXT: [[G:%\d+]]: f32[2] = gather([[R]], %i)
CHECK-NEXT: kernel @k1([[G]])
CHECK-NEXT: [[I:%\d+]]: i64[3] = iota()
CHECK-NEXT: kernel @k2([[I]])
CHECK: kernel k2(%in0: i64[3]) {
CHECK-NEXT: cast(%in0) {dtype=f32}
""", "3 kernels (0 with a reduction), 0 matmuls, 4 other ops (gather, iota, permute, reshape)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fusion_output_matches_checks(case):
    fused_text(*CASES[case])


BUDGET_CHAIN = """
graph f(%x: f32[4,5]) {
  %0: f32[4,5] = exp(%x)
  %1: f32[4,5] = neg(%0)
  %2: f32[4,5] = tanh(%1)
  %3: f32[4,5] = sin(%2)
  %4: f32[4] = sum(%3) {axes=[1], keepdim=false}
  %5: f32[5] = amax(%3) {axes=[0], keepdim=false}
  return rows=%4, cols=%5
}"""


def test_duplication_stops_at_the_budget(monkeypatch):
    # Within the budget the shared chain is recomputed by both reductions' kernels.
    within = fused_text(BUDGET_CHAIN, "CHECK: kernel k1(", "2 kernels (2 with a reduction), 0 matmuls, 0 other ops")
    assert [body_ops(k) for k in kernel_nodes(within)] == [["exp", "neg", "tanh", "sin", "sum"],
                                                           ["exp", "neg", "tanh", "sin", "amax"]]
    # The kernel that grows second pays for what it recomputes: with two nodes
    # allowed it takes sin and tanh, and neg (with exp) is stored instead.
    monkeypatch.setattr(fusion, "DUPLICATION_BUDGET", 2)
    capped = fused_text(BUDGET_CHAIN, r"""
CHECK: [[N:%\d+]]: f32[4,5] = kernel @k0(%x)
CHECK-NEXT: kernel @k1([[N]])
CHECK-NEXT: kernel @k2([[N]])
""", "3 kernels (2 with a reduction), 0 matmuls, 0 other ops")
    assert [body_ops(k) for k in kernel_nodes(capped)] == [["exp", "neg"], ["tanh", "sin", "sum"],
                                                           ["tanh", "sin", "amax"]]


def test_the_cycle_check_catches_a_cyclic_grouping():
    g = parse(CASES["never fused across a matmul"][0])
    a, matmul, c = g.nodes
    with pytest.raises(AssertionError, match=r"would create a cycle: .*kernel.*matmul"):
        fusion.check_acyclic(g, {c: {a, c}})  # one kernel would feed the matmul and read it
    fusion.check_acyclic(g, {a: {a}, c: {c}})


def test_fusing_twice_changes_nothing_and_new_kernels_get_fresh_names():
    fused = fuse(parse(CASES["seed chain is one kernel"][0]))
    assert fuse(fused) == fused
    # A graph holding kernel k0 and an unfused op: the new kernel is k1.
    text = print_graph(fused).replace("  return out=%0", "  %1: f32[] = neg(%0)\n  return out=%1")
    refused = check_fused(parse(text))
    assert [k.attrs["body"].name for k in kernel_nodes(refused)] == ["k0", "k1"]


def test_cleanup_passes_leave_kernels_alone():
    # CSE keys nodes by their attributes; a body is unhashable, so kernels are never merged.
    fused = fuse(parse(CASES["a shared elementwise producer is duplicated"][0]))
    twice = parse(print_graph(fused).replace("  return total=%0, scaled=%1",
                                             "  %2: f32[4] = kernel @k0(%x)\n  return total=%0, scaled=%2"))
    assert cse(twice) == twice and dce(fused) == fused
    assert run_pipeline(fused, ("cse", "dce")) == fused


def test_autodiff_refuses_kernels():
    fused = fuse(parse(CASES["seed chain is one kernel"][0]))
    with pytest.raises(TypeError, match="differentiate the graph before the fuse pass"):
        backward_graph(fused, [0])


def test_fuse_is_a_named_pass():
    assert PASSES["fuse"].apply is fuse and FUSE[-1] == "fuse"
    g = parse(CASES["seed chain is one kernel"][0])
    assert run_pipeline(g, FUSE) == fuse(g)


# ---- model functions through the frontend --------------------------------------------------------
def zeros(*shape, dtype=np.float32):
    return torch.from_numpy(np.zeros(shape, dtype))


def mlp(x, W1, b1, W2, b2):
    return F.relu(x @ W1 + b1) @ W2 + b2


def softmax(x):
    return x.softmax(dim=-1)


def log_softmax(x):
    return F.log_softmax(x, dim=-1)


def layer_norm(x, w, b):
    return F.layer_norm(x, (5,), w, b)


def cross_entropy(x, y):
    return F.cross_entropy(x, y)


def mse_loss(x, t):
    return F.mse_loss(x, t)


def bce_with_logits(x, t):
    return F.binary_cross_entropy_with_logits(x, t)


X = zeros(4, 5)
# function -> (example arguments, kernel summary after fusion)
MODELS = {
    # amax; sum(exp(x - max)); exp(x - max) / sum
    softmax: ((X,), "3 kernels (2 with a reduction), 0 matmuls, 0 other ops"),
    # amax; sum(exp(x - max)); x - max - log(sum)
    log_softmax: ((X,), "3 kernels (2 with a reduction), 0 matmuls, 0 other ops"),
    # sum(x); sum((x - mean)^2); (x - mean) / sqrt(var + eps) * w + b
    layer_norm: ((X, zeros(5), zeros(5)), "3 kernels (2 with a reduction), 0 matmuls, 0 other ops"),
    # log_softmax (3 kernels, the last stored for the gather), the target check
    # (an iota, reshaped, gathered from at the masked targets), the gather's
    # index arithmetic, the masked sum of the picked values, the count and division.
    cross_entropy: ((X, zeros(4, dtype=np.int64)),
                    "8 kernels (4 with a reduction), 0 matmuls, 5 other ops (gather, iota, reshape)"),
    mse_loss: ((X, X), "1 kernel (1 with a reduction), 0 matmuls, 0 other ops"),
    bce_with_logits: ((X, X), "1 kernel (1 with a reduction), 0 matmuls, 0 other ops"),
    # bias-add + relu is one kernel, the second bias-add another; matmuls stay out.
    mlp: ((zeros(4, 6), zeros(6, 8), zeros(8), zeros(8, 3), zeros(3)),
          "2 kernels (0 with a reduction), 2 matmuls, 0 other ops"),
}


def optimized(fn):
    return torch.compile(fn).lower(*MODELS[fn][0]).stages["optimized"]


@pytest.mark.parametrize("fn", list(MODELS), ids=lambda fn: fn.__name__)
def test_model_functions_fuse_into_few_kernels(fn):
    fused = check_fused(optimized(fn), class_targets)
    assert kernel_summary(fused) == MODELS[fn][1]


def class_targets(graph, seed):
    """Random inputs, integers made valid class targets (0..4 of X's 5): a
    negative or past-the-end target is an IndexError."""
    return [np.abs(a) if a.dtype.kind == "i" else a for a in random_inputs(graph, seed)]


def test_mlp_bias_add_and_relu_are_one_kernel():
    fused = check_fused(optimized(mlp))
    assert [n.op for n in fused.nodes] == ["matmul", "kernel", "matmul", "kernel"]
    assert body_ops(fused.nodes[1]) == ["add", "relu"] and body_ops(fused.nodes[3]) == ["add"]
    assert all("matmul" not in body_ops(k) for k in kernel_nodes(fused))


# Joint graphs: the forward's kernels as above, plus the backward's. mse_loss:
# one backward kernel (2 * (x - t) * g / N). softmax: two, one for the row
# sums of g * y, one for the gradient itself.
@pytest.mark.parametrize("fn, summary", [
    (mse_loss, "2 kernels (1 with a reduction), 0 matmuls, 0 other ops"),
    (softmax, "5 kernels (3 with a reduction), 0 matmuls, 0 other ops"),
], ids=["mse_loss", "softmax"])
def test_joint_graphs_of_model_functions_fuse(fn, summary):
    forward = optimized(fn)
    joint = run_pipeline(backward_graph(forward, [0]))
    assert kernel_summary(check_fused(joint)) == summary


# ---- random programs ------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(random_graphs(max_nodes=16, movement=True), st.integers(0, 2**16),
       st.sampled_from([0, 1, fusion.DUPLICATION_BUDGET]))
def test_fusion_preserves_results_on_random_programs(g, seed, budget):
    verify(g)
    with mock.patch.object(fusion, "DUPLICATION_BUDGET", budget):  # small budgets store more values
        fused = check_fused(g)
    assert_same_results(g, fused, seed)
    assert fuse(fused) == fused


# ---- kernel nodes in the IR: text, verifier, construction -------------------------------------------
KERNEL_GRAPH = """graph f(%x: f32[4,5]) {
  %0: f32[4] = kernel @k0(%x)                              # m.py:1 in f
  return out=%0
}

kernel k0(%in0: f32[4,5]) {
  %0: f32[4,5] = exp(%in0)                                 # m.py:1 in f
  %1: f32[4] = sum(%0) {axes=[1], keepdim=false}           # m.py:1 in f
  return %1
}
"""


def test_kernel_text_round_trips_and_runs():
    g = verify(parse(KERNEL_GRAPH))
    assert print_graph(g) == KERNEL_GRAPH and parse(print_graph(g)) == g
    x = np.arange(20, dtype=np.float32).reshape(4, 5) / 10
    np.testing.assert_array_equal(interpret(g, [x])[0], np.exp(x).sum(1))
    # A body's result prints unnamed only under the parser's default name.
    g.nodes[0].attrs["body"].output_names = ["total"]
    assert "  return total=%1\n}" in print_graph(g) and parse(print_graph(g)) == g


def test_kernel_bodies_take_part_in_equality():
    g = parse(KERNEL_GRAPH)
    assert g != parse(KERNEL_GRAPH.replace("exp(%in0)", "neg(%in0)"))
    assert g != parse(KERNEL_GRAPH.replace("k0", "k7"))
    assert g != parse(KERNEL_GRAPH.replace("                                 # m.py:1 in f\n  %1", "\n  %1"))


def test_add_kernel_checks_the_inputs_against_the_body():
    body = parse(KERNEL_GRAPH).nodes[0].attrs["body"]
    g = Graph("g")
    x = g.add_input("x", Aval((4, 5), dtypes.float32))
    assert g.add_kernel(body, [x]).aval == Aval((4,), dtypes.float32)
    with pytest.raises(ValueError, match="kernel @k0 takes 1 inputs, got 2"):
        g.add_kernel(body, [x, x])
    y = g.add_input("y", Aval((5, 4), dtypes.float32))
    with pytest.raises(TypeError, match=r"kernel @k0 input 0 \(%in0\) is f32\[4,5\], got f32\[5,4\]"):
        g.add_kernel(body, [y])


def _with_call(call):
    return KERNEL_GRAPH.replace("kernel @k0(%x)  ", call, 1)


BAD_TEXT = {
    "unknown kernel": (_with_call("kernel @k9(%x)  "), 2, "unknown kernel @k9 (kernels defined after the graph: @k0)"),
    "kernel arity": (_with_call("kernel @k0(%x, %x)"), 2, "kernel @k0 takes 1 inputs, got 2"),
    "call without a name": (_with_call("kernel(%x)     "), 2, "a kernel call names its body"),
    "primitive with a name": (_with_call("exp @k0(%x)    "), 2, "exp is a primitive, not a kernel call"),
    "kernel call with attributes": (_with_call("kernel @k0(%x) {axes=[1]}"), 2, "takes no attributes"),
    "kernel defined twice": (KERNEL_GRAPH + "\n" + KERNEL_GRAPH.split("\n\n")[1], 12, "kernel k0 is defined twice"),
    "kernel never called": (KERNEL_GRAPH + "\n" + KERNEL_GRAPH.split("\n\n")[1].replace("k0", "k1"), 12,
                            "kernel k1 is defined but no node of graph f calls it"),
    "unclosed kernel": (KERNEL_GRAPH.rstrip().rstrip("}"), 9, "ends without '}' closing the kernel"),
    "bad kernel header": (KERNEL_GRAPH.replace("kernel k0(%in0: f32[4,5])", "kernel k0(%in0 f32[4,5])"), 6,
                          "bad input declaration"),
    "kernel inside a kernel": (KERNEL_GRAPH.replace("exp(%in0)", "kernel @k0(%in0)"), 7, "unknown kernel @k0"),
}


@pytest.mark.parametrize("why", sorted(BAD_TEXT))
def test_malformed_kernel_text_raises_parse_error_naming_the_line(why):
    text, line, fragment = BAD_TEXT[why]
    with pytest.raises(IRParseError) as info:
        parse(text)
    assert str(info.value).startswith(f"line {line}:") and fragment in str(info.value), str(info.value)


TWO_BODIES = """graph f(%x: f32[4,5]) {
  %0: f32[4] = kernel @k0(%x)
  %1: f32[4] = kernel @k0(%x)
  return a=%0, b=%1
}
"""


def _body_text(lines):
    return "\nkernel k0(%in0: f32[4,5]) {\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


BAD_KERNELS = {
    "opaque op in a body": (["%0: f32[5,4] = permute(%in0) {perm=[1, 0]}", "%1: f32[4] = sum(%0) {axes=[0], "
                             "keepdim=false}", "return %1"], "permute cannot be part of a kernel"),
    "two reductions": (["%0: f32[4] = sum(%in0) {axes=[1], keepdim=false}",
                        "%1: f32[4] = amax(%in0) {axes=[1], keepdim=false}", "%2: f32[4] = add(%0, %1)",
                        "return %2"], "2 reductions (sum, amax); a kernel holds at most one"),
    "epilogue broadcast back": (["%0: f32[4,1] = amax(%in0) {axes=[1], keepdim=true}",
                                 "%1: f32[4,5] = sub(%in0, %0)", "return %1"],
                                "sub reads the reduction amax and has shape [4, 5]; every node after the "
                                "reduction must have its shape [4, 1] (up to size-1 dims)"),
    "invalid body": (["%0: f32[4] = sum(%in0) {axes=[1], keepdim=true}", "return %0"],
                     "kernel @k0 has an invalid body: graph k0: %0 is declared f32[4] but sum gives f32[4,1]"),
}


@pytest.mark.parametrize("why", sorted(BAD_KERNELS))
def test_verifier_rejects_kernels_breaking_the_contract(why):
    lines, fragment = BAD_KERNELS[why]
    g = parse(TWO_BODIES + _body_text(lines))
    with pytest.raises(VerifyError) as info:
        verify(g)
    message = str(info.value)
    assert fragment in message and "kernel @k0(%x)" in message, message


def test_verifier_checks_kernel_types_and_names():
    g = parse(KERNEL_GRAPH.replace("%0: f32[4] = kernel", "%0: f32[5] = kernel"))
    with pytest.raises(VerifyError, match=r"%0 is declared f32\[5\] but kernel gives f32\[4\]"):
        verify(g)
    g = parse(KERNEL_GRAPH)
    other = parse(KERNEL_GRAPH.replace("exp(%in0)", "neg(%in0)")).nodes[0].attrs["body"]
    g.add_kernel(other, [g.inputs[0]])
    with pytest.raises(VerifyError, match="two different kernel bodies are named k0"):
        verify(g)
    g = parse(KERNEL_GRAPH)
    g.nodes[0].attrs["extra"] = 1
    with pytest.raises(VerifyError, match="a kernel node has one attribute, its body graph"):
        verify(g)
