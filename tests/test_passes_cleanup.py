"""CSE and DCE, tested the way compiler passes are: IR text in, pass, printed
IR checked with FileCheck directives (tests/filecheck.py). Every printed
result must re-parse to the same graph, verify, leave the input graph
untouched, and compute what the input graph computed (reference
interpreter), here and on random programs. Also: the pipeline names the pass
that produced an invalid graph."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import dtypes
from compiler.interpreter import interpret
from compiler.ir import Graph, VerifyError, parse, print_graph, verify
from compiler.ops import Aval
from compiler.passes import PASSES, Pass, cse, dce, run_pipeline
from compiler.passes import pipeline
from compiler.passes.pipeline import OPTIMIZE
from tests.filecheck import filecheck
from tests.test_ir_text import random_graphs

PIPELINES = {"cse": cse, "dce": dce, "cse+dce": lambda g: run_pipeline(g, ("cse", "dce"))}


def random_inputs(graph, seed=0):
    r = np.random.default_rng(seed)
    arrays = []
    for v in graph.inputs:
        if v.dtype is dtypes.bool_:
            data = r.standard_normal(v.shape) > 0
        elif v.dtype.is_floating_point:
            data = r.standard_normal(v.shape) * 3
        else:
            data = r.integers(-4, 5, v.shape)
        arrays.append(np.asarray(data, v.dtype.np))  # 0-d results come back as NumPy scalars
    return arrays


def assert_same_results(before, after, seed=0, arrays=None):
    arrays = random_inputs(before, seed) if arrays is None else arrays
    expected, got = interpret(before, arrays), interpret(after, arrays)
    assert len(got) == len(expected)
    for e, a in zip(expected, got):
        np.testing.assert_array_equal(a, e, strict=True)
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(e).tobytes()  # -0.0 and NaN too


def run_checked(pipeline, text, checks):
    """Parse, run `pipeline` (a name in PIPELINES, or a pass), FileCheck the
    printed result, and check the invariants."""
    before = verify(parse(text))
    original = print_graph(before)
    after = (PIPELINES[pipeline] if isinstance(pipeline, str) else pipeline)(before)
    printed = print_graph(after)
    filecheck(printed, checks)
    reparsed = parse(printed)
    assert reparsed == after and print_graph(reparsed) == printed
    verify(after)
    assert print_graph(before) == original, "the pass changed its input graph"
    assert_same_results(before, after)
    return after


# name -> (pipeline, IR text, checks). The first line of each entry says why it exists.
CASES = {
    # The basic CSE promise: identical pure nodes become one, and the first
    # (its location, which error messages will cite) survives.
    "cse merges duplicates keeping the first location": ("cse", """
graph f(%x: f32[4]) {
  %0: f32[4] = exp(%x)          # model.py:3 in f
  %1: f32[4] = exp(%x)          # model.py:4 in f
  %2: f32[4] = add(%0, %1)      # model.py:5 in f
  return out0=%2
}""", r"""
CHECK: graph f(%x: f32[4]) {
CHECK-NEXT: [[E:%\d+]]: f32[4] = exp(%x) # model.py:3 in f
CHECK-NEXT: add([[E]], [[E]]) # model.py:5 in f
CHECK-NOT: model.py:4
CHECK: }
"""),
    # Merging must see through earlier merges: exp(neg x) twice is one node
    # only if the two negs were first recognized as one.
    "cse merges transitively": ("cse", """
graph f(%x: f32[4]) {
  %0: f32[4] = neg(%x)
  %1: f32[4] = neg(%x)
  %2: f32[4] = exp(%0)
  %3: f32[4] = exp(%1)
  %4: f32[4] = mul(%2, %3)
  return out0=%4
}""", r"""
CHECK: [[N:%\d+]]: f32[4] = neg(%x)
CHECK-NEXT: [[E:%\d+]]: f32[4] = exp([[N]])
CHECK-NEXT: mul([[E]], [[E]])
CHECK-NEXT: return
"""),
    # Nodes with no inputs (constants, ranges) are merged too: same attributes, same value.
    "cse merges identical constants": ("cse", """
graph f() {
  %0: i64[3] = iota() {dtype=i64, length=3}    # a.py:1 in f
  %1: i64[3] = iota() {dtype=i64, length=3}    # a.py:2 in f
  %2: i64[3] = add(%0, %1)
  return out0=%2
}""", r"""
CHECK: [[I:%\d+]]: i64[3] = iota() {dtype=i64, length=3} # a.py:1 in f
CHECK-NEXT: add([[I]], [[I]])
"""),
    # Attributes are part of the key: keepdim (and axes) change the result's
    # shape, so sums differing only there must stay apart.
    "cse keeps nodes with different attributes apart": ("cse", """
graph f(%x: f32[2,3]) {
  %0: f32[3] = sum(%x) {axes=[0], keepdim=false}
  %1: f32[1,3] = sum(%x) {axes=[0], keepdim=true}
  %2: f32[1,3] = sum(%x) {keepdim=true, axes=[0]}
  %3: f32[2] = sum(%x) {axes=[1], keepdim=false}
  return a=%0, b=%1, c=%2, d=%3
}""", r"""
CHECK: [[A:%\d+]]: f32[3] = sum(%x) {axes=[0], keepdim=false}
CHECK-NEXT: [[B:%\d+]]: f32[1,3] = sum(%x) {axes=[0], keepdim=true}
CHECK-NEXT: [[D:%\d+]]: f32[2] = sum(%x) {axes=[1], keepdim=false}
CHECK-NEXT: return a=[[A]], b=[[B]], c=[[B]], d=[[D]]
"""),
    # True == 1 == 1.0 in Python: a key built from raw values would merge
    # constants the IR treats as different attributes.
    "cse keeps true, 1 and 1.0 apart": ("cse", """
graph f() {
  %0: f32[] = full() {dtype=f32, shape=[], value=true}
  %1: f32[] = full() {dtype=f32, shape=[], value=1}
  %2: f32[] = full() {dtype=f32, shape=[], value=1.0}
  %3: f32[] = full() {dtype=f32, shape=[], value=1}
  return a=%0, b=%1, c=%2, d=%3
}""", r"""
CHECK: [[T:%\d+]]: f32[] = full() {{.*}}value=true}
CHECK-NEXT: [[I:%\d+]]: f32[] = full() {{.*}}value=1}
CHECK-NEXT: [[F:%\d+]]: f32[] = full() {{.*}}value=1.0}
CHECK-NEXT: return a=[[T]], b=[[I]], c=[[F]], d=[[I]]
"""),
    # CSE is syntactic: different ops, or operands in another order, are different nodes.
    "cse does not merge different ops or swapped operands": ("cse", """
graph f(%x: f32[4], %y: f32[4]) {
  %0: f32[4] = add(%x, %y)
  %1: f32[4] = add(%y, %x)
  %2: f32[4] = sub(%x, %y)
  return a=%0, b=%1, c=%2
}""", r"""
CHECK: add(%x, %y)
CHECK-NEXT: add(%y, %x)
CHECK-NEXT: sub(%x, %y)
"""),
    # CSE only merges; a node made dead by merging stays for DCE to remove.
    "cse leaves dead code alone": ("cse", """
graph f(%x: f32[4]) {
  %0: f32[4] = sin(%x)
  %1: f32[4] = cos(%x)
  return out0=%0
}""", r"""
CHECK: sin(%x)
CHECK-NEXT: cos(%x)
"""),
    # The basic DCE promise: a chain nothing returns disappears entirely,
    # and the survivors keep their order and locations.
    "dce removes a dead chain": ("dce", """
graph f(%x: f32[4]) {
  %0: f32[4] = exp(%x)          # m.py:1 in f
  %1: f32[4] = log(%0)          # m.py:2 in f
  %2: f32[4] = neg(%x)          # m.py:3 in f
  %3: f32[4] = sin(%1)          # m.py:4 in f
  return out0=%2
}""", r"""
CHECK: graph f(%x: f32[4]) {
CHECK-NEXT: %0: f32[4] = neg(%x) # m.py:3 in f
CHECK-NEXT: return out0=%0
CHECK-NEXT: }
"""),
    # Outputs are roots: a returned value survives even if no node reads it,
    # also when returned twice, and an input may itself be an output.
    "dce keeps outputs": ("dce", """
graph f(%x: f32[4], %y: f32[4]) {
  %0: f32[4] = exp(%x)
  %1: f32[4] = mul(%0, %y)
  %2: f32[4] = tanh(%1)
  return a=%1, b=%x, c=%1
}""", r"""
CHECK: [[E:%\d+]]: f32[4] = exp(%x)
CHECK-NEXT: [[M:%\d+]]: f32[4] = mul([[E]], %y)
CHECK-NEXT: return a=[[M]], b=%x, c=[[M]]
CHECK-NOT: tanh
"""),
    # Inputs are the graph's signature: DCE must never drop one, even unused
    # or only read by dead code, or callers' argument lists would shift.
    "dce never removes inputs": ("dce", """
graph f(%x: f32[4], %unused: i64[2,2], %y: f32[]) {
  %0: i64[] = sum(%unused) {axes=[0, 1], keepdim=false}
  %1: f32[4] = mul(%x, %y)
  return out0=%1
}""", r"""
CHECK: graph f(%x: f32[4], %unused: i64[2,2], %y: f32[]) {
CHECK-NEXT: %0: f32[4] = mul(%x, %y)
CHECK-NOT: sum(
"""),
    # Notes (recompile reasons) are provenance and must survive every pass.
    "passes keep notes": ("cse+dce", """
// recompiled: %x changed shape
graph f(%x: f32[4]) {
  %0: f32[4] = exp(%x)
  %1: f32[4] = exp(%x)
  %2: f32[4] = add(%0, %1)
  %3: f32[4] = add(%0, %1)
  %4: f32[4] = neg(%3)
  return out0=%2
}""", r"""
CHECK: // recompiled: %x changed shape
CHECK-NEXT: graph f(%x: f32[4]) {
CHECK-NEXT: [[E:%\d+]]: f32[4] = exp(%x)
CHECK-NEXT: add([[E]], [[E]])
CHECK-NEXT: return
CHECK-NOT: neg(
"""),
    # The default pipeline: CSE exposes the second add as dead and DCE removes it.
    "cse then dce removes merged duplicates and the dead": ("cse+dce", """
graph f(%x: f32[2,3]) {
  %0: f32[2,1] = amax(%x) {axes=[1], keepdim=true}
  %1: f32[2,3] = sub(%x, %0)
  %2: f32[2,1] = amax(%x) {axes=[1], keepdim=true}
  %3: f32[2,3] = sub(%x, %2)
  %4: f32[2,3] = exp(%3)
  %5: f32[2,3] = exp(%1)
  return out0=%4, out1=%5
}""", r"""
CHECK: [[M:%\d+]]: f32[2,1] = amax(%x) {axes=[1], keepdim=true}
CHECK-NEXT: [[S:%\d+]]: f32[2,3] = sub(%x, [[M]])
CHECK-NEXT: [[E:%\d+]]: f32[2,3] = exp([[S]])
CHECK-NEXT: return out0=[[E]], out1=[[E]]
"""),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cleanup_pass_output_matches_checks(case):
    pipeline, text, checks = CASES[case]
    run_checked(pipeline, text, checks)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("pipeline", list(PIPELINES))
def test_every_pass_preserves_results_on_every_case(case, pipeline):
    before = verify(parse(CASES[case][1]))
    after = PIPELINES[pipeline](before)
    verify(after)
    for seed in range(3):
        assert_same_results(before, after, seed)


# ---- source bugs ------------------------------------------------------------------------------
NEG_ZERO = """
graph f() {
  %0: f32[] = full() {dtype=f32, shape=[], value=-0.0}
  %1: f32[] = full() {dtype=f32, shape=[], value=0.0}
  %2: f32[] = full() {dtype=f32, shape=[], value=1.0}
  %3: f32[] = div(%2, %0)
  %4: f32[] = div(%2, %1)
  return neg_inf=%3, pos_inf=%4
}"""


def test_cse_keeps_negative_zero_and_zero_apart():
    run_checked("cse", NEG_ZERO, r"""
CHECK: value=-0.0}
CHECK-NEXT: value=0.0}
""")


def test_cse_result_does_not_depend_on_where_the_graph_came_from():
    g = Graph("nans")
    nan = [g.add("full", (), {"value": math.nan, "shape": (), "dtype": dtypes.float32}) for _ in range(2)]
    g.set_outputs(nan)
    assert print_graph(cse(parse(print_graph(g)))) == print_graph(cse(g))


# ---- random programs --------------------------------------------------------------------------
def _keys(graph):
    return [(n.op, n.inputs, tuple(sorted((k, type(v).__name__, repr(v)) for k, v in n.attrs.items())))
            for n in graph.nodes]


@settings(max_examples=50, deadline=None)
@given(random_graphs(), st.integers(0, 2**16))
def test_passes_preserve_results_on_random_programs(g, seed):
    for name, run in PIPELINES.items():
        after = run(g)
        verify(after)
        assert len(after.nodes) <= len(g.nodes), name
        assert_same_results(g, after, seed)
        text = print_graph(after)
        assert parse(text) == after and print_graph(parse(text)) == text
    deduped, live = cse(g), dce(g)
    assert len(set(_keys(deduped))) == len(deduped.nodes), "cse left two identical nodes"
    assert cse(deduped) == deduped and dce(live) == live  # idempotent
    users = live.users()
    assert all(users[n.out] or n.out in live.outputs for n in live.nodes), "dce left a dead node"
    assert [v.name for v in live.inputs] == [v.name for v in g.inputs]


# ---- the pipeline ------------------------------------------------------------------------------
CHAIN = "graph f(%x: f32[4]) {\n  %0: f32[4] = exp(%x)  # m.py:1 in f\n  %1: f32[4] = neg(%0)\n  return out0=%1\n}\n"


def _retype_first_node(graph):
    graph = cse(graph)
    graph.nodes[0].out.aval = Aval((99,), graph.nodes[0].out.dtype)
    return graph


def _drop_first_node(graph):
    graph = cse(graph)
    del graph.nodes[0]
    return graph


@pytest.mark.parametrize("broken, detail", [
    (_retype_first_node, "%0: f32[99] = exp(%x)"),
    (_drop_first_node, "neg reads %<undefined> before it is defined"),
], ids=["wrong-type", "dropped-node"])
def test_pipeline_names_the_pass_that_produced_a_bad_graph(monkeypatch, broken, detail):
    monkeypatch.setitem(PASSES, "broken", Pass("broken", broken))
    seen = []
    with pytest.raises(VerifyError) as info:
        run_pipeline(parse(CHAIN), ("cse", "broken", "dce"), observe=lambda name, g, s: seen.append(name))
    message = str(info.value)
    assert message.startswith("pass broken produced an invalid graph:") and detail in message
    assert seen == ["cse"]  # caught where it broke: the observer never saw the bad graph


@pytest.mark.parametrize("broken, detail", [
    (_retype_first_node, "%0: f32[99] = exp(%x)"),
    (_drop_first_node, "neg reads %<undefined> before it is defined"),
], ids=["wrong-type", "dropped-node"])
def test_pipeline_without_observer_verifies_once_and_still_names_the_broken_pass(monkeypatch, broken, detail):
    """Without an observer only the input and the result are verified; a
    bad result (or a later pass tripping over a bad graph) reruns the
    passes, verifying each, to name the pass that broke it."""
    monkeypatch.setitem(PASSES, "broken", Pass("broken", lambda g: broken(parse(print_graph(g)))))
    verified = []
    monkeypatch.setattr(pipeline, "verify", lambda g: verified.append(g) or verify(g))
    assert run_pipeline(parse(CHAIN), ("cse", "dce")) is not None
    assert len(verified) == 2
    with pytest.raises(VerifyError) as info:
        run_pipeline(parse(CHAIN), ("cse", "broken", "dce"))
    message = str(info.value)
    assert message.startswith("pass broken produced an invalid graph:") and detail in message


def test_pipeline_without_observer_says_when_a_pass_broke_its_input_in_place(monkeypatch):
    monkeypatch.setitem(PASSES, "broken", Pass("broken", _retype_first_node))  # cse returns its input here
    with pytest.raises(VerifyError, match="a pass of cse, broken changed its input graph in place"):
        run_pipeline(parse(CHAIN), ("cse", "broken"))


def test_pipeline_without_observer_reraises_a_pass_failing_on_a_valid_graph(monkeypatch):
    def crash(graph):
        raise RuntimeError("pass bug")
    monkeypatch.setitem(PASSES, "crash", Pass("crash", crash))
    with pytest.raises(RuntimeError, match="pass bug"):
        run_pipeline(parse(CHAIN), ("cse", "crash"))


def test_pipeline_rejects_an_invalid_input_before_any_pass():
    bad = parse(CHAIN.replace("%0: f32[4] = exp", "%0: f32[5] = exp"))
    with pytest.raises(VerifyError) as info:
        run_pipeline(bad, observe=lambda *a: pytest.fail("no pass should run"))
    assert "pass " not in str(info.value) and "exp(%x)" in str(info.value) and "m.py:1 in f" in str(info.value)


def test_pipeline_runs_the_default_passes_in_order_and_reports_each():
    seen = []
    result = run_pipeline(parse(CASES["passes keep notes"][1]),
                          observe=lambda name, g, seconds: seen.append((name, print_graph(g), seconds)))
    assert [name for name, _, _ in seen] == list(OPTIMIZE) == ["simplify", "cse", "dce"]
    assert all(isinstance(s, float) and s >= 0 for _, _, s in seen)
    assert seen[-1][1] == print_graph(result)
    seen.clear()
    run_pipeline(parse(CASES["passes keep notes"][1]), ("cse", "dce"), lambda name, g, s: seen.append((name, str(g))))
    assert "neg(" in seen[0][1] and "neg(" not in seen[1][1]  # dce ran after cse
