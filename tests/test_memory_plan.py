"""Memory planning: hand-written IR with known answers (reuse along a chain,
a value used late, outputs and inputs kept out of the arena, a step's input
never reused for its output, sizes and alignment, size-0 and 0-d values),
a check that catches broken plans, and on random programs a simulation that
runs every intermediate out of one shared byte arena at its planned offset:
if reuse ever overwrote a live value, the outputs would differ from the
reference interpreter's."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import dtypes
from compiler.interpreter import interpret
from compiler.ir import Graph, parse, verify
from compiler.ops import Aval
from compiler.passes import MemoryPlan, plan_memory
from compiler.passes.autodiff import backward_graph
from compiler.passes.memory import Slot, format_bytes
from tests.test_ir_text import random_graphs
from tests.test_passes_cleanup import random_inputs


def planned(text, **options):
    """The graph read from `text` and its checked plan."""
    graph = verify(parse(text))
    return graph, plan_memory(graph, **options).check()


def slot(graph, plan, step) -> Slot:
    return plan.slots[graph.nodes[step].out]


def offsets(graph, plan):
    return [plan.slots[n.out].offset if n.out in plan.slots else None for n in graph.nodes]


# ---- known answers --------------------------------------------------------------
CHAIN = """
graph chain(%x: f32[16]) {
  %0: f32[16] = neg(%x)
  %1: f32[16] = exp(%0)
  %2: f32[16] = neg(%1)
  %3: f32[16] = exp(%2)
  return out0=%3
}"""


def test_a_chain_of_equal_values_needs_two_buffers_not_three():
    graph, plan = planned(CHAIN)
    assert offsets(graph, plan) == [0, 64, 0, None]  # %2 reuses %0, dead once %1 is written
    assert (plan.peak_bytes, plan.naive_bytes, plan.output_bytes) == (128, 192, 64)
    assert [(s.first, s.last) for s in plan.slots.values()] == [(0, 1), (1, 2), (2, 3)]


def test_a_value_used_late_keeps_its_bytes_until_its_last_reader():
    graph, plan = planned("""
graph late(%x: f32[16]) {
  %0: f32[16] = neg(%x)
  %1: f32[16] = exp(%0)
  %2: f32[16] = neg(%1)
  %3: f32[16] = exp(%2)
  %4: f32[16] = add(%3, %0)
  return out0=%4
}""")
    early = slot(graph, plan, 0)
    assert (early.first, early.last) == (0, 4)
    assert not any(early.shares_bytes_with(s) for s in plan.slots.values() if s is not early)
    assert slot(graph, plan, 1).offset == slot(graph, plan, 3).offset  # these two never live together
    assert (plan.peak_bytes, plan.naive_bytes) == (192, 256)


def test_a_step_never_writes_over_its_own_inputs():
    # %0 and %1 die at step 2, but step 2 still reads them while writing %2.
    graph, plan = planned("""
graph step(%x: f32[16]) {
  %0: f32[16] = neg(%x)
  %1: f32[16] = exp(%x)
  %2: f32[16] = add(%0, %1)
  %3: f32[16] = sin(%2)
  %4: f32[16] = cos(%3)
  return out0=%4
}""")
    written = slot(graph, plan, 2)
    assert written.live_with(slot(graph, plan, 0)) and written.live_with(slot(graph, plan, 1))
    assert offsets(graph, plan) == [0, 64, 128, 0, None] and plan.peak_bytes == 192


def test_outputs_get_dedicated_buffers_and_inputs_are_not_planned():
    graph, plan = planned("""
graph outs(%x: f32[16], %y: f32[16]) {
  %0: f32[16] = neg(%x)
  %1: f32[16] = exp(%0)
  %2: f32[16] = mul(%1, %y)
  %3: f32[16] = sin(%2)
  %4: f32[16] = cos(%3)
  return a=%0, b=%4, c=%y, d=%0
}""")
    outputs = {graph.nodes[0].out, graph.nodes[4].out}
    assert set(plan.outputs) == outputs and plan.output_bytes == 128  # %0 returned twice: one buffer
    assert not outputs & set(plan.slots) and not set(graph.inputs) & set(plan.slots)
    # %0 is read by step 1 and dead after it, yet %2 and %3 do not take its bytes: the caller keeps them.
    assert offsets(graph, plan) == [None, 0, 64, 0, None]


SIZES = """
graph sizes() {
  %0: f32[25] = full() {dtype=f32, shape=[25], value=1.0}
  %1: f64[5] = full() {dtype=f64, shape=[5], value=2.0}
  %2: f32[3] = full() {dtype=f32, shape=[3], value=3.0}
  %3: f32[] = sum(%0) {axes=[0], keepdim=false}
  %4: f32[10] = full() {dtype=f32, shape=[10], value=4.0}
  %5: f32[] = sum(%4) {axes=[0], keepdim=false}
  %6: f64[] = sum(%1) {axes=[0], keepdim=false}
  %7: f32[] = sum(%2) {axes=[0], keepdim=false}
  return a=%3, b=%5, c=%6, d=%7
}"""


@pytest.mark.parametrize("alignment, expected, peak, naive", [
    # 100, 40, 12 and 40 bytes; the largest go first, %4 takes the gap %0 leaves at step 4.
    (64, [0, 128, 192, 0], 256, 320),
    (8, [0, 104, 144, 0], 160, 200),
    (1, [0, 100, 140, 0], 152, 192),
])
def test_sizes_and_alignment(alignment, expected, peak, naive):
    graph, plan = planned(SIZES, alignment=alignment)
    assert [s.size for s in plan.slots.values()] == [100, 40, 12, 40]
    assert [s.offset for s in plan.slots.values()] == expected
    assert (plan.peak_bytes, plan.naive_bytes, plan.output_bytes) == (peak, naive, 20)


@pytest.mark.parametrize("alignment", [0, -8, 3, 48])
def test_alignment_must_be_a_power_of_two(alignment):
    with pytest.raises(ValueError, match=f"power of two, got {alignment}"):
        plan_memory(parse(CHAIN), alignment=alignment)


def test_size_zero_values_take_no_bytes_and_zero_d_values_take_one_element():
    graph, plan = planned("""
graph tiny(%x: f32[0,3], %s: f64[]) {
  %0: f32[0,3] = neg(%x)
  %1: f64[] = exp(%s)
  %2: f64[] = neg(%1)
  %3: f32[0,3] = exp(%0)
  return a=%2, b=%3
}""", alignment=1)
    assert [(s.offset, s.size) for s in plan.slots.values()] == [(0, 0), (0, 8)]
    assert (plan.peak_bytes, plan.naive_bytes) == (8, 8)
    assert list(plan.outputs.values()) == [8, 0]


@pytest.mark.parametrize("text", [
    "graph f(%x: f32[4]) {\n  return out0=%x\n}",
    "graph f() {\n  return\n}",
    "graph f(%x: f32[4]) {\n  %0: f32[4] = neg(%x)\n  return out0=%0\n}",
])
def test_a_graph_without_intermediates_needs_no_arena(text):
    _, plan = planned(text)
    assert not plan.slots and plan.peak_bytes == plan.naive_bytes == 0
    assert plan.summary().startswith("memory: peak 0 B for intermediates (naive 0 B)")


def test_a_dead_value_is_live_only_while_it_is_written():
    graph, plan = planned("""
graph dead(%x: f32[16]) {
  %0: f32[16] = neg(%x)
  %1: f32[16] = exp(%x)
  %2: f32[16] = sin(%x)
  return out0=%2
}""")
    assert [(s.first, s.last) for s in plan.slots.values()] == [(0, 0), (1, 1)]
    assert offsets(graph, plan) == [0, 0, None]


def test_reuse_can_be_turned_off():
    graph, plan = planned(CHAIN, reuse=False)
    assert offsets(graph, plan) == [0, 64, 128, None]
    assert plan.peak_bytes == plan.naive_bytes == 192


# ---- the check catches broken plans -------------------------------------------------
def _broken(plan, step, **change):
    value = list(plan.slots)[step]
    slots = {**plan.slots, value: Slot(**{**plan.slots[value].__dict__, **change})}
    return MemoryPlan(slots, plan.outputs, plan.peak_bytes, plan.naive_bytes, plan.alignment)


@pytest.mark.parametrize("step, change, message", [
    (1, {"offset": 0}, r"%0 \(live steps 0..1, bytes \[0, 64\)\) and %1 .* share bytes"),
    (1, {"offset": 32}, "misaligned"),
    (1, {"offset": 128}, "outside the 128-byte arena"),
])
def test_check_rejects_overlapping_misaligned_or_oversized_slots(step, change, message):
    _, plan = planned(CHAIN)
    with pytest.raises(AssertionError, match=message):
        _broken(plan, step, **change).check()


def test_check_rejects_an_output_in_the_arena():
    graph, plan = planned(CHAIN)
    plan.outputs[graph.nodes[2].out] = 64
    with pytest.raises(AssertionError, match="is a graph output"):
        plan.check()


def test_summary_and_byte_formatting():
    _, plan = planned(CHAIN)
    assert plan.summary() == "memory: peak 128 B for intermediates (naive 192 B, 67%), outputs 64 B"
    assert [format_bytes(n) for n in (0, 1023, 1024, 1536 * 1024, 3 * 2**30)] == [
        "0 B", "1023 B", "1.0 KiB", "1.5 MiB", "3.0 GiB"]


# ---- running out of one arena ------------------------------------------------------
JUNK = 0xA5


def run_in_arena(graph: Graph, plan: MemoryPlan, arrays, expected):
    """Interpret `graph` keeping every intermediate only in one shared byte
    arena at its planned offset (outputs get their own arrays), checking
    every value a step reads against `expected`. Each step fills its buffer
    with junk before reading, so a buffer reused too early, even by the step
    still reading it, is caught where it is read."""
    arena = np.full(plan.peak_bytes, JUNK, np.uint8)
    env = dict(zip(graph.inputs, arrays))
    for step, node in enumerate(graph.nodes):
        value = node.out
        if value in plan.slots:
            s = plan.slots[value]
            arena[s.offset:s.offset + s.size] = JUNK  # a kernel may write before it has read all its inputs
            buffer = arena[s.offset:s.offset + s.size].view(value.dtype.np).reshape(value.shape)
        else:
            buffer = np.empty(value.shape, value.dtype.np)
        for v in node.inputs:
            assert_same_bits(env[v], expected[v], f"step {step} ({node.op}) reads an overwritten value")
        result = node.prim.evaluate([env[v] for v in node.inputs], node.attrs, value.aval)
        np.copyto(buffer, result, casting="no")
        env[value] = buffer
    return [env[v] for v in graph.outputs]


def assert_same_bits(got, want, message=""):
    got, want = np.asarray(got), np.asarray(want)
    assert (got.dtype, got.shape) == (want.dtype, want.shape), message
    assert got.tobytes() == want.tobytes(), message  # bit for bit: NaN payloads and -0.0 too


def every_value(graph, arrays):
    """Each value of `graph` run on `arrays`, as the interpreter computes it."""
    env = dict(zip(graph.inputs, arrays))
    for node in graph.nodes:
        env[node.out] = node.prim.evaluate([env[v] for v in node.inputs], node.attrs, node.out.aval)
    return env


def assert_arena_run_matches_interpreter(graph, plan, seed=0):
    arrays = random_inputs(graph, seed)
    got = run_in_arena(graph, plan, arrays, every_value(graph, arrays))
    for want, output in zip(interpret(graph, arrays), got):
        assert_same_bits(output, want)


@settings(max_examples=60, deadline=None)
@given(random_graphs(), st.sampled_from([1, 8, 64]), st.integers(0, 2**16))
def test_random_programs_run_correctly_out_of_the_planned_arena(graph, alignment, seed):
    plan = plan_memory(graph, alignment=alignment).check()
    assert plan.peak_bytes <= plan.naive_bytes
    produced = {n.out for n in graph.nodes}
    assert set(plan.slots) == produced - set(plan.outputs) and set(plan.outputs) == produced & set(graph.outputs)
    assert_arena_run_matches_interpreter(graph, plan, seed)


# ---- a training step -------------------------------------------------------------
def mlp_loss() -> Graph:
    """x[32,784] @ W1 + b1 -> relu -> @ W2 + b2 -> mean squared error."""
    g = Graph("mlp")
    f32 = dtypes.float32
    x, w1, b1, w2, b2, y = (g.add_input(name, Aval(shape, f32)) for name, shape in [
        ("x", (32, 784)), ("w1", (784, 128)), ("b1", (128,)), ("w2", (128, 10)), ("b2", (10,)), ("y", (32, 10))])
    hidden = g.add("relu", (g.add("add", (g.add("matmul", (x, w1)), b1)),))
    error = g.add("sub", (g.add("add", (g.add("matmul", (hidden, w2)), b2)), y))
    total = g.add("sum", (g.add("mul", (error, error)),), {"axes": (0, 1), "keepdim": False})
    scale = g.add("full", (), {"value": 1 / error.aval.shape[0], "shape": (), "dtype": f32})
    g.set_outputs([g.add("mul", (total, scale))], ["loss"])
    return g


def test_a_training_step_reuses_memory():
    step = verify(backward_graph(mlp_loss(), wrt=[1, 2, 3, 4]))
    plan = plan_memory(step).check()
    assert plan.peak_bytes < plan.naive_bytes, plan.summary()
    assert plan.output_bytes >= 4 * (784 * 128 + 128 + 128 * 10 + 10)  # the loss and four gradients
    assert_arena_run_matches_interpreter(step, plan)
