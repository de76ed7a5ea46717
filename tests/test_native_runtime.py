"""Compiled functions run native code: the runtime's contract around it.

The equivalence of native code with the interpreter, op by op, is in
test_backend_equivalence.py; this file checks what surrounds a native call:
a whole MLP training step runs natively and equals eager over several
steps, inputs are checked before native code runs, non-contiguous and
negative-stride inputs are read correctly, concurrent calls from threads
do not share scratch memory, compiled code is freed with its function, and
the disk cache serves a second process and rebuilds a corrupted entry."""
import ctypes
import gc
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
import weakref

import numpy as np
import pytest

import frontend as torch
from compiler.backend import native
from compiler.ir import parse
from compiler.backend.python_entry import WRONG_ARGUMENTS
from runtime import executable
from runtime.cache import DiskCache
from runtime.executable import SMALL_OUTPUTS, Executable, address
from tests.test_compile_autograd import assert_close, load_example

ROOT = pathlib.Path(__file__).resolve().parent.parent


def native_variants(compiled):
    return [v for v in compiled.cache.values() if isinstance(getattr(v, "run_graph", None), Executable)]


def test_mlp_training_step_runs_natively_and_equals_eager_after_several_steps():
    train = load_example("train", "train_example")
    step = torch.compile(train.step, fullgraph=True)
    torch.manual_seed(0)
    x, y = torch.randn(32, 784), torch.randint(0, 10, (32,))
    eager, compiled = train.init_params(), train.init_params()
    for _ in range(4):
        assert_close(step(compiled, x, y), train.step(eager, x, y))
    for p, q in zip(compiled, eager):
        assert_close(p, q)
        assert_close(p.grad, q.grad)
    (variant,) = native_variants(step)  # the whole step is one native graph
    assert step.trace_count == 2  # the second call recompiles once: .grad appeared


def test_compiled_backward_runs_natively():
    def loss(w, x):
        return ((x @ w).tanh() ** 2).mean()

    w, ew = (torch.randn(5, 3, requires_grad=True) for _ in range(2))
    with torch.no_grad():
        ew.copy_(w)
    x = torch.randn(4, 5)
    f = torch.compile(loss)
    f(w, x).backward()
    loss(ew, x).backward()
    assert_close(w.grad, ew.grad)
    (variant,) = native_variants(f)
    assert isinstance(variant.plan.run_backward, Executable)


@pytest.mark.parametrize("make", [
    lambda a: a.T,
    lambda a: a[::-1],
    lambda a: a[:, ::2],
    lambda a: np.broadcast_to(a[:1], a.shape),
], ids=["transposed", "negative-stride", "strided", "broadcast"])
def test_non_contiguous_eager_tensors_are_read_correctly(make):
    base = np.arange(48, dtype=np.float32).reshape(6, 8) / 7
    data = make(base)
    f = torch.compile(lambda t: (t * 2 + 1).sum(0))
    assert_close(f(torch.from_numpy(data)), torch.from_numpy((data * 2 + 1).sum(0)))


def test_executable_checks_inputs_before_native_code_runs():
    graph = parse("""
graph g(%x: f32[4], %y: f32[4]) {
  %0: f32[4] = add(%x, %y)
  return %0
}""")
    exe = native.compile_graph(graph, DiskCache(enabled=False))
    x = np.ones(4, np.float32)
    with pytest.raises(ValueError, match=r"input 1 expects float32\[4\], got float64\[4\]"):
        exe([x, np.ones(4)])
    with pytest.raises(ValueError, match=r"input 0 expects float32\[4\], got float32\[5\]"):
        exe([np.ones(5, np.float32), x])
    with pytest.raises(ValueError, match="takes 2 inputs, got 1"):
        exe([x])
    np.testing.assert_array_equal(exe([x, x])[0], 2 * x)


def add_graph(n: int):
    return parse(f"""
graph g(%x: f32[{n}], %y: f32[{n}]) {{
  %0: f32[{n}] = add(%x, %y)
  %1: f32[{n}] = mul(%x, %y)
  return %0, %1
}}""")


@pytest.mark.parametrize("n", [10, SMALL_OUTPUTS], ids=["small", "large"])
def test_each_call_gets_fresh_aligned_outputs(n):
    exe = native.compile_graph(add_graph(n), DiskCache(enabled=False))
    x, y = np.arange(n, dtype=np.float32), np.full(n, 2, np.float32)
    first = exe([x, y])
    second = exe([y, y])
    for a, b in zip(first, second):
        assert not np.shares_memory(a, b) and a.flags.writeable
    assert not np.shares_memory(*first)
    np.testing.assert_array_equal(first[0], x + 2)  # a later call wrote elsewhere
    np.testing.assert_array_equal(first[1], x * 2)
    assert all(out.ctypes.data % 64 == 0 for out in first + second)


@pytest.mark.parametrize("n", [10, SMALL_OUTPUTS], ids=["small", "large"])
@pytest.mark.parametrize("path", ["generated", "checked"])
def test_a_block_is_reused_only_once_nothing_holds_its_results(n, path):
    exe = native.compile_graph(add_graph(n), DiskCache(enabled=False))
    call = exe.fast_call if path == "generated" else exe._checked_call
    x, y = np.arange(n, dtype=np.float32), np.full(n, 2, np.float32)
    address = call([x, y])[0].ctypes.data  # dropped at once
    assert call([x, y])[0].ctypes.data == address
    held = call([x, y])
    view = held[1][1:]
    del held
    later = call([y, y])
    assert not np.shares_memory(view, later[0]) and not np.shares_memory(view, later[1])
    np.testing.assert_array_equal(view, (x * 2)[1:])  # the held view still reads its own call's values
    del later
    buffer = memoryview(call([x, y])[0])  # an exported buffer holds the block too
    np.testing.assert_array_equal(call([y, y])[0], y + y)
    np.testing.assert_array_equal(np.frombuffer(buffer, np.float32), x + y)


def test_only_brief_graphs_are_called_holding_the_gil():
    """Releasing the GIL costs more than a tiny graph's run; anything longer
    must release it, so that other Python threads run meanwhile."""
    brief = native.compile_graph(add_graph(10), DiskCache(enabled=False))
    long = native.compile_graph(add_graph(1 << 16), DiskCache(enabled=False))
    assert brief.manifest["brief"] and not long.manifest["brief"]
    assert brief._entry._flags_ & ctypes._FUNCFLAG_PYTHONAPI
    assert not long._entry._flags_ & ctypes._FUNCFLAG_PYTHONAPI
    x = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(brief([x, x])[0], 2 * x)


def test_a_brief_graph_is_called_through_its_python_entry():
    """A builtin function around the code: no ctypes conversion, the arrays
    passed as they are (compiler/backend/python_entry.py)."""
    brief = native.compile_graph(add_graph(10), DiskCache(enabled=False))
    long = native.compile_graph(add_graph(1 << 16), DiskCache(enabled=False))
    assert type(brief._python_entry) is type(len) and long._python_entry is None
    assert "entry_py(state.args_array, a0, a1, b0, b1)" in brief.fast_call.source
    assert "entry(state.args_address)" in long.fast_call.source
    x, y = np.arange(10, dtype=np.float32), np.full(10, 3, np.float32)
    for _ in range(3):  # a new block, then the same one reused
        added, multiplied = brief.fast_call([x, y])
        np.testing.assert_array_equal(added, x + y)
        np.testing.assert_array_equal(multiplied, x * y)


def test_the_python_entry_refuses_another_number_of_arguments():
    exe = native.compile_graph(add_graph(10), DiskCache(enabled=False))
    x = np.ones(10, np.float32)
    exe([x, x])
    state = exe._local.state
    for arrays in ([], [x], [x, x, x], [x, x, x, x, x]):
        assert exe._python_entry(state.args_array, *arrays) == WRONG_ARGUMENTS
    assert exe._python_entry(state.args_array, x, x, *exe([x, x])) == 0


def test_without_python_entries_the_generated_call_uses_ctypes(monkeypatch):
    """Where NumPy's array struct is not as the Python entry reads it."""
    monkeypatch.setattr(executable, "PYTHON_ENTRIES", False)
    exe = native.compile_graph(add_graph(10), DiskCache(enabled=False))
    assert exe._python_entry is None and "entry(state.args_address)" in exe.fast_call.source
    x = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(exe.fast_call([x, x])[0], 2 * x)


def test_the_generated_call_takes_the_common_case_and_declines_the_rest():
    exe = native.compile_graph(add_graph(4), DiskCache(enabled=False))
    x = np.arange(4, dtype=np.float32)
    assert exe.fast_call([x, x]) is not None
    declined = [[x], [x, x.astype(np.float64)], [x, np.arange(8, dtype=np.float32)[::2]], [x, x.tolist()],
                [x, np.ma.masked_array(x)], [x, np.arange(8, dtype=np.float32)[:4]]]
    assert [exe.fast_call(arrays) is None for arrays in declined] == [True] * 5 + [False]


def test_an_executable_is_freed_without_the_cycle_collector():
    exe = native.compile_graph(add_graph(4), DiskCache(enabled=False))
    exe([np.ones(4, np.float32)] * 2)
    code = weakref.ref(exe._code)
    gc.disable()
    try:
        del exe
        assert code() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("array", [np.arange(6.0), np.arange(6.0)[2:], np.arange(6.0)[::-2], np.empty(0),
                                   np.ones((2, 3), order="F"), np.broadcast_to(np.ones(1), (3,)),
                                   np.arange(3.0).view(np.recarray)])
def test_address_is_the_arrays_data_pointer(array):
    assert address(array) == array.ctypes.data


def test_out_of_range_gather_raises_before_any_bad_read():
    f = torch.compile(lambda t, i: t[i] * 2)
    t = torch.arange(5.0)
    assert_close(f(t, torch.tensor([4, -5, 0])), torch.tensor([8.0, 0.0, 0.0]))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 5"):
        f(t, torch.tensor([1, 5]))
    assert_close(t, torch.arange(5.0))


def test_concurrent_calls_from_threads_give_each_its_own_result():
    f = torch.compile(lambda a, b: ((a @ b).relu() + a.sum()).softmax(-1))
    inputs = [(torch.randn(16, 16), torch.randn(16, 16)) for _ in range(8)]
    want = [f.fn(a, b) for a, b in inputs]
    f(*inputs[0])  # compile once, then race
    results = [None] * len(inputs)
    barrier = threading.Barrier(len(inputs))

    def work(k):
        barrier.wait()
        for _ in range(50):
            results[k] = f(*inputs[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, expected in zip(results, want):
        assert_close(got, expected)


def test_native_code_is_freed_with_its_compiled_function():
    f = torch.compile(lambda t: t.exp() + 1)
    f(torch.randn(3))
    (variant,) = native_variants(f)
    code = weakref.ref(variant.run_graph._code)
    del f, variant
    gc.collect()
    assert code() is None


# ---- the disk cache across processes ------------------------------------------------
SCRIPT = textwrap.dedent("""
    import json, numpy as np
    import frontend as torch
    from compiler.backend import native
    f = torch.compile(lambda x, w: (x @ w).tanh().sum(1))
    x = torch.from_numpy(np.arange(12, dtype=np.float32).reshape(3, 4) / 10)
    w = torch.from_numpy(np.ones((4, 2), np.float32))
    out = f(x, w).tolist()
    print(json.dumps({"out": out, **native.STATS}))
""")


def run_fresh_process(cache_dir):
    env = dict(os.environ, JITGRAD_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_second_process_loads_from_the_disk_cache_and_a_corrupt_entry_is_rebuilt(tmp_path):
    first = run_fresh_process(tmp_path)  # builds the graph and the float32 GEMM
    assert first.get("llvm_compiles") == 2 and not first.get("cache_hits")
    second = run_fresh_process(tmp_path)
    assert second.get("cache_hits") == 2 and not second.get("llvm_compiles")
    assert second["out"] == first["out"]
    entries = sorted(tmp_path.glob("*.jgc"))
    # Object code of the graph and the GEMM, the pipeline's graphs, generated Python (guards, fast path, call).
    assert len(entries) == 6
    for entry in entries:
        data = bytearray(entry.read_bytes())
        data[-100] ^= 0xFF  # flip a byte of the object code
        entry.write_bytes(bytes(data))
    third = run_fresh_process(tmp_path)
    assert third.get("llvm_compiles") == 2 and not third.get("cache_hits")
    assert third["out"] == first["out"]
    fourth = run_fresh_process(tmp_path)  # the rebuilt entries are good again
    assert fourth.get("cache_hits") == 2 and not fourth.get("llvm_compiles")


PREBUILD_SCRIPT = textwrap.dedent("""
    import json, threading
    import frontend
    from compiler.backend import native
    builds = [t for t in threading.enumerate() if t.name.startswith("jitgrad-build-")]
    for t in builds:
        t.join()
    print(json.dumps({"builds": sorted(t.name for t in builds), **native.STATS}))
""")


def _import_in_fresh_process(cache_dir, **env):
    env = dict(os.environ, JITGRAD_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT), **env)
    done = subprocess.run([sys.executable, "-c", PREBUILD_SCRIPT], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_import_builds_the_float32_gemm_once_into_the_disk_cache(tmp_path):
    first = _import_in_fresh_process(tmp_path)
    assert first["builds"] == ["jitgrad-build-gemm_blocked_float32"] and first.get("llvm_compiles") == 1
    assert len(list(tmp_path.glob("*.jgc"))) == 1
    second = _import_in_fresh_process(tmp_path)  # the cache has it: nothing to build
    assert second["builds"] == [] and not second.get("llvm_compiles")
    off = _import_in_fresh_process(tmp_path / "off", JITGRAD_CACHE="0")  # nowhere to keep it: built when needed
    assert off["builds"] == [] and not off.get("llvm_compiles")


FORK_SCRIPT = textwrap.dedent("""
    import os, sys
    import frontend as torch
    from compiler.backend import library, native
    from runtime.cache import default_cache
    pid = os.fork()  # at once, while the import's prebuild would still be running
    if pid == 0:
        key = library._key(native.PREBUILT_LIBRARIES[0], native.BACKEND_VERSION)
        built = default_cache().path_for(key).exists()
        f = torch.compile(lambda a, b: (a @ b).sum())
        ok = f(torch.ones(8, 8), torch.ones(8, 8)).item() == 512.0
        os._exit(0 if built and ok else 3)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_waits_for_the_prebuild_and_the_child_compiles(tmp_path):
    """A process forked right after import (a worker pool's usual moment)
    forks only once the GEMM's build is done, so the child holds none of
    LLVM's locks half-taken and finds the GEMM in the cache."""
    env = dict(os.environ, JITGRAD_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", FORK_SCRIPT], env=env, capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_cache_key_depends_on_the_ir_not_on_provenance_notes():
    text = """
graph g(%x: f32[4]) {
  %0: f32[4] = exp(%x)
  return %0
}"""
    a, b = parse(text), parse(text)
    b.notes = ["g variant 2: recompiled"]
    assert native.cache_key(a) == native.cache_key(b)
    assert native.cache_key(a) != native.cache_key(parse(text.replace("exp", "log")))
    assert native.cache_key(a) != native.cache_key(parse(text.replace("%0: f32[4] = exp(%x)",
                                                                      "%0: f32[4] = exp(%x)  # m.py:2 in g")))
