"""Leaks and long runs (issue 7, item 3).

- 10,000 compiled forward+backward calls keep RSS flat. The bound, 4 MB, is
  a third of what leaking the smallest thing a call makes costs: keeping each
  call's 0-d output (a Tensor, its buffer and its CompiledFunctionBackward
  node) grows RSS by 12.4 MB over 10,000 calls here. Measured without a
  leak: ~0.1 MB (printed by the test; run pytest with -s to see it).
  The count of objects the garbage collector tracks must not grow either,
  which catches a leak of any Python container per call.
- With the garbage collector off, a backward frees the values the graph
  saved, and deleting the output frees the rest: autograd makes no
  reference cycles, so nothing waits for a collection.
- Deleting a compiled function frees its variants' native code (forward and
  backward Executables and their linked objects), also with the collector
  off; outputs still alive keep the backward code they need.
"""
import contextlib
import gc
import os
import weakref

import numpy as np
import pytest

import frontend as torch
from frontend.autograd.node import SavedTensor
from runtime.executable import Executable

CALLS = 10_000
RSS_BOUND = 4 * 2**20


@contextlib.contextmanager
def collector_off():
    """Only reference counts free anything in here; cycles are counted at the end."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def cycles_now() -> int:
    """Objects only a collection would free (unreachable cycles), collected."""
    return gc.collect()


def tensors_in_cycles() -> list:
    """Tensors and arrays only a collection would free, collected."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return [type(o).__name__ for o in gc.garbage if isinstance(o, (torch.Tensor, np.ndarray))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def loss(w, x):
    return ((x @ w).tanh() ** 2).mean()


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc (Linux)")
def test_ten_thousand_compiled_forward_backward_calls_keep_rss_flat():
    f = torch.compile(loss)
    w, x = torch.randn(8, 4, requires_grad=True), torch.randn(16, 8)

    def step():
        w.grad = None
        f(w, x).backward()

    for _ in range(500):  # warm up: compile, the allocator's pools, the grad buffer
        step()
    gc.collect()
    # Count objects before reading RSS, at both ends: the list gc.get_objects() builds (4 MB in a
    # full test run) can stay resident after it is freed, which read the other way round was growth.
    objects = len(gc.get_objects())
    rss = rss_bytes()
    for _ in range(CALLS):
        step()
    gc.collect()
    new_objects = len(gc.get_objects()) - objects
    growth = rss_bytes() - rss
    print(f"\nRSS growth over {CALLS} compiled forward+backward calls: {growth / 2**20:.2f} MB "
          f"({new_objects} more gc-tracked objects)")
    assert growth < RSS_BOUND, f"RSS grew {growth / 2**20:.2f} MB over {CALLS} calls"
    assert new_objects < 100, f"{new_objects} more objects over {CALLS} calls"
    assert f.trace_count == 1


def eager_graph(w, x):
    h = x @ w
    t = h.tanh()
    return (t ** 2).mean(), [h, t]


def compiled_graph(f):
    def run(w, x):
        out = f(w, x)
        saved = [s._data if isinstance(s, SavedTensor) else s for s in out.grad_fn.saved]
        return out, [a for a in saved if isinstance(a, np.ndarray)]
    return run


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_backward_frees_saved_values_and_deleting_the_output_frees_the_graph(compiled):
    run = compiled_graph(torch.compile(loss)) if compiled else eager_graph
    w, x = torch.randn(4, 3, requires_grad=True), torch.randn(5, 4)
    run(w, x)  # compile outside the measured part
    with collector_off():
        out, values = run(w, x)
        assert values, "nothing saved: the test would prove nothing"
        refs = [weakref.ref(v) for v in values]
        node = weakref.ref(out.grad_fn)
        del values
        out.backward()
        assert all(r() is None for r in refs), "saved values outlive backward"
        del out
        assert node() is None, "the graph outlives its output"
        assert cycles_now() == 0


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_calls_make_no_reference_cycles(compiled):
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters())

    def step(x, y):
        opt.zero_grad()
        out = torch.nn.functional.mse_loss(model(x), y)
        out.backward()
        opt.step()
        return out

    run = torch.compile(step) if compiled else step
    x, y = torch.randn(6, 4), torch.randn(6, 1)
    for _ in range(3):  # compile (and recompile once: .grad appears)
        run(x, y)
    with collector_off():
        for _ in range(20):
            run(x, y)
            loss(*[torch.randn(3, 2, requires_grad=True), torch.randn(4, 3)]).backward()
        assert cycles_now() == 0


def test_deleting_a_compiled_function_frees_its_native_code():
    f = torch.compile(loss)
    w, x = torch.randn(4, 3, requires_grad=True), torch.randn(5, 4)
    f(w, x).backward()
    (variant,) = f.cache.values()
    native = [variant.run_graph, variant.plan.run_backward]
    assert all(isinstance(e, Executable) for e in native)
    refs = [weakref.ref(obj) for e in native for obj in (e, e._code)] + [weakref.ref(f)]
    out = f(w, x)
    del variant, native
    with collector_off():
        del f
        assert refs[0]() is None and refs[1]() is None and refs[-1]() is None  # forward code, the function
        assert refs[2]() is not None  # the backward code: `out` still needs it
        out.backward()
        del out
        assert all(r() is None for r in refs)
        # (the variants' IR graphs are cyclic, Value <-> Node, and wait for a collection; no data does)
        assert tensors_in_cycles() == []
