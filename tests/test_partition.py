"""The min-cut partition of a joint graph (compiler/passes/partition.py).

IR text in, `backward_graph` then `partition`, FileCheck on the printed
forward and backward graphs: what the min cut saves (the fewest bytes; a
primal the backward never reads is not saved), what the backward recomputes
(cheap elementwise and movement ops) and what it must not (matmuls,
reductions: their results are read from saved values). On every case and on
random programs the split must verify, print/parse round-trip, and compute
bit for bit what the joint graph computes; the saved bytes never exceed
those of saving every forward value the backward reads directly."""
import collections

import numpy as np
import pytest
from hypothesis import given, settings

from compiler.interpreter import interpret
from compiler.ir import parse, print_graph, verify
from compiler.passes.autodiff import backward_graph
from compiler.passes.partition import RECOMPUTABLE, nbytes, partition
from tests.filecheck import filecheck
from tests.test_ir_text import assert_round_trips, random_graphs
from tests.test_passes_cleanup import random_inputs


def split_of(graph, wrt):
    joint = backward_graph(graph, wrt)
    return joint, partition(joint, len(graph.inputs), len(graph.outputs))


def assert_split_equals_joint(graph, joint, split, seed=0):
    """Forward then backward (fed the saved values and the cotangents)
    computes exactly the joint graph's outputs and gradients."""
    arrays = random_inputs(graph, seed)
    cotangents = random_inputs(joint, seed + 1)[len(graph.inputs):]
    n_outputs = len(graph.outputs)
    with np.errstate(all="ignore"):
        want = interpret(joint, arrays + cotangents)
        forward = interpret(split.forward, arrays)
        grads = interpret(split.backward, forward[n_outputs:] + cotangents)
    got = forward[:n_outputs] + grads
    assert len(got) == len(want) and len(forward) == n_outputs + split.n_saved
    for g, w, name in zip(got, want, joint.output_names):
        np.testing.assert_array_equal(g, w, strict=True, err_msg=name)
        assert np.ascontiguousarray(g).tobytes() == np.ascontiguousarray(w).tobytes(), name


def check_split(graph, wrt):
    """Partition and check the invariants every split must keep."""
    joint, split = split_of(graph, wrt)
    for part in (split.forward, split.backward):
        verify(part)
        assert_round_trips(part)
    n_outputs = len(graph.outputs)
    assert split.forward.output_names[:n_outputs] == joint.output_names[:n_outputs]
    assert all(n.startswith("saved.") for n in split.forward.output_names[n_outputs:])
    assert split.backward.output_names == joint.output_names[n_outputs:]
    assert [v.aval for v in split.backward.inputs[:split.n_saved]] == \
        [v.aval for v in split.forward.outputs[n_outputs:]]
    assert_split_equals_joint(graph, joint, split)
    return joint, split


def saved_bytes(split, n_outputs):
    return sum(nbytes(v) for v in split.forward.outputs[n_outputs:])


MATMUL_TANH = """
graph f(%x: f32[4,8], %w: f32[8,16]) {
  %0: f32[4,16] = matmul(%x, %w)
  %1: f32[4,16] = tanh(%0)
  %2: f32[] = sum(%1) {axes=[0, 1], keepdim=false}
  return out=%2
}"""

# name -> (IR text, wrt, forward checks, backward checks). The first line says why the case exists.
CASES = {
    # exp's derivative is its output: saving x or exp(x) costs the same bytes;
    # the tie goes to the input (alive anyway, no extra store), the backward
    # recomputes exp(x), and the reduction is not redone.
    "exp squared saves one value of x's size": ("""
graph f(%x: f32[4,8]) {
  %0: f32[4,8] = exp(%x)
  %1: f32[4,8] = mul(%0, %0)
  %2: f32[] = sum(%1) {axes=[0, 1], keepdim=false}
  return out=%2
}""", [0], r"""
CHECK: graph f_forward(%x: f32[4,8]) {
CHECK: return out=%2, saved.x=%x
""", r"""
CHECK: graph f_backward(%x: f32[4,8], %out.grad: f32[]) {
CHECK-NOT: sum(
CHECK: [[E:%\w+]]: f32[4,8] = exp(%x)
CHECK-NOT: sum(
CHECK: mul({{.*}}[[E]]
CHECK-NOT: sum(
CHECK: return grad.x=
"""),
    # A broadcast makes the elementwise chain 4x larger than its inputs:
    # saving the two small inputs and recomputing add and exp is cheaper.
    "broadcast: save the small inputs, recompute the large elementwise values": ("""
graph f(%x: f32[8,1], %c: f32[1,8]) {
  %0: f32[8,8] = add(%x, %c)
  %1: f32[8,8] = exp(%0)
  %2: f32[] = sum(%1) {axes=[0, 1], keepdim=false}
  return out=%2
}""", [0, 1], r"""
CHECK: return out=%2, saved.x=%x, saved.c=%c
""", r"""
CHECK: graph f_backward(%x: f32[8,1], %c: f32[1,8], %out.grad: f32[]) {
CHECK: [[A:%\d+]]: f32[8,8] = add(%x, %c)
CHECK: exp([[A]])
"""),
    # The matmul's result (or tanh's) is saved; the backward reads it and
    # never multiplies x by w again. Its own matmuls take the cotangent.
    "matmul is saved, not recomputed": (MATMUL_TANH, [0, 1], r"""
CHECK: return out=%2, saved.x=%x, saved.w=%w, saved.{{\w+}}=%{{0|1}}
""", r"""
CHECK: graph f_backward(%x: f32[4,8], %w: f32[8,16], %{{\w+}}: f32[4,16], %out.grad: f32[]) {
CHECK-NOT: matmul(%x, %w)
CHECK: matmul(
CHECK-NOT: matmul(%x, %w)
CHECK: matmul(
CHECK-NOT: matmul(%x, %w)
"""),
    # Only w's gradient is wanted: it reads x, never w, so w is not saved.
    "a primal the backward does not read is not saved": (MATMUL_TANH, [1], r"""
CHECK: return out=%2, saved.x=%x, saved.{{\w+}}=%{{0|1}}
CHECK-NOT: saved.w
""", r"""
CHECK: graph f_backward(%x: f32[4,8], %{{\w+}}: f32[4,16], %out.grad: f32[]) {
CHECK-NOT: matmul(%x
CHECK: return grad.w=
"""),
    # Recomputing s = sum(x * x) from x alone would save 4 bytes, but
    # reductions are never recomputed: the scalar is saved and read.
    "a reduction is saved even where recomputing it would save bytes": ("""
graph f(%x: f32[64]) {
  %0: f32[64] = mul(%x, %x)
  %1: f32[] = sum(%0) {axes=[0], keepdim=false}
  %2: f32[64] = mul(%x, %1)
  %3: f32[64] = sin(%2)
  %4: f32[] = sum(%3) {axes=[0], keepdim=false}
  return out=%4
}""", [0], r"""
CHECK: return out=%4, saved.x=%x, saved.[[S:\w+]]=%1
""", r"""
CHECK: graph f_backward(%x: f32[64], %[[S:\w+]]: f32[], %out.grad: f32[]) {
CHECK-NOT: mul(%x, %x)
CHECK: [[Y:%\d+]]: f32[64] = mul(%x, %[[S]])
CHECK-NOT: mul(%x, %x)
CHECK: cos([[Y]])
CHECK-NOT: mul(%x, %x)
"""),
    # An int output gets no cotangent; a float one under stop_gradient gets
    # one (every float output does) that reaches no gradient.
    "several outputs: cotangents for the float ones": ("""
graph f(%x: f32[3,4]) {
  %0: f32[3,4] = sin(%x)
  %1: i64[3] = argmax(%0) {axes=[1], keepdim=false}
  %2: f32[3,4] = stop_gradient(%0)
  %3: f32[3] = sum(%0) {axes=[1], keepdim=false}
  return idx=%1, detached=%2, rows=%3
}""", [0], r"""
CHECK: return idx=%1, detached=%2, rows=%3, saved.x=%x
""", r"""
CHECK: graph f_backward(%x: f32[3,4], %detached.grad: f32[3,4], %rows.grad: f32[3]) {
CHECK-NOT: detached.grad)
CHECK: cos(%x)
CHECK-NOT: detached.grad)
CHECK: return grad.x=
"""),
}


@pytest.mark.parametrize("name", list(CASES))
def test_partition_case(name):
    text, wrt, forward_checks, backward_checks = CASES[name]
    graph = verify(parse(text))
    _, split = check_split(graph, wrt)
    filecheck(print_graph(split.forward), forward_checks)
    filecheck(print_graph(split.backward), backward_checks)


def test_exp_squared_saves_exactly_one_value_of_xs_bytes():
    graph = parse(CASES["exp squared saves one value of x's size"][0])
    _, split = split_of(graph, [0])
    assert split.n_saved == 1 and saved_bytes(split, 1) == 4 * 8 * 4


def test_saved_order_is_deterministic():
    text, wrt, _, _ = CASES["matmul is saved, not recomputed"]
    printed = {tuple(print_graph(g) for g in (split.forward, split.backward))
               for split in (split_of(parse(text), wrt)[1] for _ in range(4))}
    assert len(printed) == 1


def forward_nodes_of(joint, n_outputs) -> set:
    """The joint graph's nodes the forward outputs depend on."""
    live, nodes = set(joint.outputs[:n_outputs]), set()
    for node in reversed(joint.nodes):
        if node.out in live:
            nodes.add(node)
            live.update(node.inputs)
    return nodes


def naive_saved_bytes(joint, n_primals, n_outputs) -> int:
    """The bytes of saving every forward value (primal or forward node) that a
    backward node reads or that is returned as a gradient."""
    forward_nodes = forward_nodes_of(joint, n_outputs)
    forward_values = set(joint.inputs[:n_primals]) | {n.out for n in forward_nodes}
    read = {v for n in joint.nodes if n not in forward_nodes for v in n.inputs} | set(joint.outputs[n_outputs:])
    return sum(nbytes(v) for v in read & forward_values)


def unrecomputable_ops(nodes) -> collections.Counter:
    return collections.Counter((n.op, tuple(sorted(n.attrs.items()))) for n in nodes
                               if n.prim.group not in RECOMPUTABLE)


@settings(max_examples=60, deadline=None)
@given(random_graphs(movement=True))
def test_random_programs_split_exactly_and_save_no_more_than_naive(graph):
    """Bitwise joint == forward + backward; saved bytes <= naive; the backward
    adds no matmul or reduction beyond the joint graph's own backward nodes."""
    wrt = [i for i, v in enumerate(graph.inputs) if v.dtype.is_floating_point]
    if not wrt:
        return
    joint, split = check_split(graph, wrt)
    n_primals, n_outputs = len(graph.inputs), len(graph.outputs)
    assert saved_bytes(split, n_outputs) <= naive_saved_bytes(joint, n_primals, n_outputs)
    forward_nodes = forward_nodes_of(joint, n_outputs)
    joint_backward = unrecomputable_ops(n for n in joint.nodes if n not in forward_nodes)
    assert not unrecomputable_ops(split.backward.nodes) - joint_backward, "a matmul or reduction was recomputed"
