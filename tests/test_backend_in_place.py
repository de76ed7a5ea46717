"""Donated outputs: native code computes an in-place update (an output the
caller copies into an input anyway) in that input's memory, only where
doing so cannot change a result.

The backend decides per output from the schedule (program.py `_in_place`):
each case below that must be refused writes the input where a later read,
a read at another index, or a failing step would see or leave the wrong
values. The runtime then decides per call: a read-only input, or one that
overlaps another input, gets a buffer of its own. Every case compares with
the reference interpreter and checks which memory the result is in.
"""
import numpy as np
import pytest

import frontend as torch
from frontend.jit import GraphBreakWarning
from compiler.backend import native
from compiler.interpreter import interpret
from compiler.ir import parse
from compiler.passes import run_pipeline
from compiler.passes.pipeline import FUSE
from runtime.cache import DiskCache
from runtime import executable
from runtime.executable import InputsOverlapError
from tests.test_compile_optim import assert_same_training, batches, make_model, train

N = 64  # elements: enough for the vector loop and its remainder

UPDATE = f"""
graph g(%x: f32[{N}], %y: f32[{N}]) {{
  %0: f32[{N}] = mul(%x, %y)
  %1: f32[{N}] = add(%0, %y)
  %2: f32[{N}] = exp(%1)
  return %2, %1
}}"""


@pytest.fixture(params=["python entry", "ctypes"])
def entry_kind(request, monkeypatch):
    """These graphs are brief: their generated call goes through the Python
    entry, unless the runtime cannot use one (then through ctypes)."""
    monkeypatch.setattr(executable, "PYTHON_ENTRIES", request.param == "python entry")
    return request.param


def compiled(text: str, donated: dict, fuse: bool = False):
    graph = parse(text)
    if fuse:
        graph = run_pipeline(graph, FUSE)
    return graph, native.compile_graph(graph, DiskCache(enabled=False), donated=donated)


def inputs(graph, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 1.5, v.shape).astype(v.dtype.np) for v in graph.inputs]


def run_both(graph, exe, arrays):
    """Native results (on the arrays themselves) and the interpreter's (on copies)."""
    want = interpret(graph, [a.copy() for a in arrays])
    return exe(arrays), want


@pytest.mark.parametrize("fuse", [False, True], ids=["single ops", "fused kernel"])
def test_an_elementwise_update_is_computed_in_its_input(fuse, entry_kind):
    graph, exe = compiled(UPDATE, {1: 0}, fuse)
    assert exe.manifest["donated"] and (exe._python_entry is not None) == (entry_kind == "python entry")
    for path in (exe.fast_call, exe._checked_call):
        arrays = inputs(graph)
        x = arrays[0]
        got, want = run_both(graph, exe, arrays)
        assert got[1] is x  # the update is the input's own array, now holding the new value
        np.testing.assert_array_equal(x, want[1])
        np.testing.assert_allclose(got[0], want[0], rtol=1e-6)


REFUSED = {
    "a later step reads the input": f"""
graph g(%x: f32[{N}], %y: f32[{N}]) {{
  %0: f32[{N}] = add(%x, %y)
  %1: f32[{N}] = mul(%x, %y)
  return %0, %1
}}""",
    "the step reads the input at other indices": """
graph g(%x: f32[8,8], %y: f32[8,8]) {
  %0: f32[8,8] = permute(%x) {perm=[1, 0]}
  %1: f32[8,8] = add(%x, %0)
  return %1, %y
}""",
    "a step after it can fail": f"""
graph g(%x: f32[{N}], %y: f32[{N}], %i: i64[4]) {{
  %0: f32[{N}] = add(%x, %y)
  %1: f32[4] = gather(%y, %i) {{axis=0}}
  return %0, %1
}}""",
    "the input is returned as itself": f"""
graph g(%x: f32[{N}], %y: f32[{N}]) {{
  %0: f32[{N}] = add(%x, %y)
  return %0, %x
}}""",
    "the value is returned twice": f"""
graph g(%x: f32[{N}], %y: f32[{N}]) {{
  %0: f32[{N}] = add(%x, %y)
  return %0, %0
}}""",
    "another dtype": f"""
graph g(%x: f64[{N}], %y: f32[{N}]) {{
  %0: f32[{N}] = mul(%y, %y)
  return %0, %y
}}""",
    "a matmul reads the input": """
graph g(%x: f32[8,8], %y: f32[8,8]) {
  %0: f32[8,8] = matmul(%x, %y)
  return %0, %y
}""",
}


@pytest.mark.parametrize("case", REFUSED)
def test_updates_that_would_change_a_result_are_refused(case):
    graph, exe = compiled(REFUSED[case], {0: 0})
    assert exe.manifest["donated"] == []
    arrays = inputs(graph)
    if case == "a step after it can fail":
        arrays[2] = np.array([0, 3, 7, N + 5])  # out of bounds: the call fails and x must be as it was
        before = arrays[0].copy()
        with pytest.raises(IndexError):
            exe(arrays)
        np.testing.assert_array_equal(arrays[0], before)
        arrays[2] = np.array([0, 3, 7, N - 1])
    got, want = run_both(graph, exe, arrays)
    assert not any(np.shares_memory(g, arrays[0]) for g in got if g is not arrays[0])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_a_later_step_may_read_the_update_itself():
    graph, exe = compiled(UPDATE, {1: 0})  # %2 = exp(%1) reads the update after it is written in x
    arrays = inputs(graph)
    got, want = run_both(graph, exe, arrays)
    assert got[1] is arrays[0]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)


@pytest.mark.parametrize("path", ["generated", "checked"])
def test_a_written_input_that_overlaps_another_is_refused_before_anything_runs(path, entry_kind):
    graph, exe = compiled(UPDATE, {1: 0})
    memory = np.arange(N + 1, dtype=np.float32)
    x, y = memory[:N], memory[1:]  # y[i] is x[i + 1]: writing x would change what is read of y
    call = exe.fast_call if path == "generated" else exe._checked_call
    with pytest.raises(InputsOverlapError, match="input 0 is written in place and shares memory"):
        call([x, y])
    np.testing.assert_array_equal(memory, np.arange(N + 1, dtype=np.float32))
    graph, exe = compiled(REFUSED["a later step reads the input"], {0: 0})  # written, though not in place
    with pytest.raises(InputsOverlapError):
        exe([x, y])
    assert exe([x, np.ones(N, np.float32)])  # no overlap, no refusal


def test_a_read_only_input_is_not_written(entry_kind):
    graph, exe = compiled(UPDATE, {1: 0})
    arrays = inputs(graph)
    arrays[0].flags.writeable = False
    before = arrays[0].copy()
    got, want = run_both(graph, exe, arrays)
    np.testing.assert_array_equal(arrays[0], before)
    np.testing.assert_array_equal(got[1], want[1])


def test_a_non_contiguous_input_is_updated_in_its_contiguous_copy():
    graph, exe = compiled(UPDATE, {1: 0})
    x = np.random.default_rng(2).uniform(0.5, 1.5, 2 * N).astype(np.float32)[::2]
    y = inputs(graph)[1]
    before = x.copy()
    got, want = run_both(graph, exe, [x, y])
    np.testing.assert_array_equal(x, before)  # the caller copies the result back, as without donation
    np.testing.assert_array_equal(got[1], want[1])


# ---- through compile: a training step's state is updated where it lives ----------------------------
def test_a_compiled_training_step_updates_parameters_and_buffers_where_they_live():
    model, data = make_model(), batches()
    memory = [p._data for p in model.parameters()]
    held = [p.detach() for p in model.parameters()]  # the caller's views of the parameters
    got = train("SGD momentum", True, data, model)
    assert_same_training(got, train("SGD momentum", False, data))
    assert all(p._data is m for p, m in zip(model.parameters(), memory))
    assert all(h._data is p._data or h._data.base is p._data for h, p in zip(held, model.parameters()))
    variant = list(got[3].cache.values())[-1]
    assert len(variant.run_graph.manifest["donated"]) == 8  # four parameters and their momentum buffers


@pytest.mark.parametrize("backend", ["llvm", "interpreter"])
def test_a_call_whose_written_tensor_shares_memory_with_another_input_runs_eagerly(backend):
    """The graph reads `whole` as a value of its own; eager's sum sees w's update."""
    def update(w, b, whole):
        w.add_(1)
        b.add_(whole.sum())

    def tensors():
        flat = torch.arange(10.0)
        return flat[:6].view(2, 3), flat[6:8], flat

    w, b, flat = tensors()
    update(w, b, flat)
    compiled_update = torch.compile(update, backend=backend)
    compiled_update(torch.zeros(2, 3), torch.zeros(2), torch.arange(10.0))  # distinct memory: compiled
    w, b, other = tensors()
    with pytest.warns(GraphBreakWarning, match="%w, which it writes in place, shares memory with another input"):
        compiled_update(w, b, other)
    np.testing.assert_array_equal(other._data, flat._data)
    assert compiled_update.trace_count == 1


def test_stored_tensors_and_new_grads_keep_their_results_uncopied_but_never_share_them():
    state = {}

    def f(x, w):
        state["a"] = x + 1  # the same value twice: one graph value after CSE, two tensors in eager
        state["b"] = x + 1
        (w * x).sum().backward()
        return x * 3

    compiled_f = torch.compile(f)
    w = torch.ones(4, requires_grad=True)
    out = compiled_f(torch.arange(4.0), w)
    state["a"].add_(10)
    np.testing.assert_array_equal(state["b"]._data, np.arange(4.0) + 1)
    assert w.grad._data.base is out._data.base  # both in the call's own block: no copy made
    assert not np.shares_memory(state["a"]._data, state["b"]._data)
