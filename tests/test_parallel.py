"""Compiled code on several threads (compiler/backend/parallel.py, runtime/threads.py).

Big kernels and matmuls are split into tasks at compile time; the thread
count only decides who runs them. So results must be bit-identical for any
thread count, equal eager's, and stay so when Python threads call
compiled code at once (the pool is then taken by one and the others run
inline) and in a forked child (whose copy of the pool has no workers)."""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import frontend as torch
from compiler.backend import program
from runtime import threads
from runtime.executable import Executable
from tests.test_native_runtime import ROOT


@pytest.fixture
def thread_count():
    before = threads.get_num_threads()
    yield threads.set_num_threads
    threads.set_num_threads(before)


def _imports(compiled) -> set:
    return {name for v in compiled.cache.values() if isinstance(getattr(v, "run_graph", None), Executable)
            for name in v.run_graph.manifest["imports"]}


def _randn(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


CASES = {
    "broadcast elementwise": (lambda x, y: (x * y + 1).tanh() - y, lambda: (_randn(600, 700), _randn(700))),
    "strided input": (lambda x: (x * 3).exp(), lambda: (_randn(1000, 2000)[:, ::2],)),
    "row softmax f64": (lambda x: torch.softmax(x, -1), lambda: (_randn(4096, 512, dtype=torch.float64),)),
    "column sums f64": (lambda x: (x * x).sum(0), lambda: (_randn(200000, 3, dtype=torch.float64),)),
    "row argmax int64": (lambda x: (x * 2).argmax(1), lambda: (torch.randint(-50, 50, (8192, 128)),)),
    "matmul, last slab wider": (lambda a, b: a @ b, lambda: (_randn(300, 200), _randn(200, 515))),
    "matmul, transposed operands f64": (lambda a, b: a.T @ b.T, lambda: (_randn(200, 300, dtype=torch.float64),
                                                                         _randn(260, 200, dtype=torch.float64))),
    "batched broadcast matmul": (lambda a, b: a @ b, lambda: (_randn(3, 64, 100), _randn(100, 300))),
    "int64 matmul": (lambda a, b: a @ b, lambda: (torch.randint(-9, 9, (256, 300)), torch.randint(-9, 9, (300, 256)))),
    "narrow matmul in row slabs": (lambda a, b: a @ b.T, lambda: (torch.rand(2000, 512), torch.rand(10, 512))),
    "batched narrow matmul f64": (lambda a, b: a @ b, lambda: (_randn(2, 800, 400, dtype=torch.float64),
                                                               _randn(400, 7, dtype=torch.float64))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_split_steps_equal_eager_and_every_thread_count(case, thread_count):
    fn, make = CASES[case]
    torch.manual_seed(0)
    args = make()
    compiled = torch.compile(fn)
    results = []
    for count in (1, 2, 3, 1, 4):
        thread_count(count)
        results.append(compiled(*args).numpy())
    assert "parallel_for" in _imports(compiled)  # the case is big enough to be split
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    expected = fn(*args).numpy()
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(results[0], expected, rtol=1e-5 if expected.dtype == np.float32 else 1e-12,
                                   atol=1e-5 if expected.dtype == np.float32 else 1e-12)
    else:
        np.testing.assert_array_equal(results[0], expected)


@pytest.mark.parametrize("shape, split", [
    ((256, 512), (4, 4, 128, False)),   # column slabs, multiples of the tile width
    ((256, 10), (4, 4, 60, True)),      # too narrow for columns: row slabs, multiples of the tile height
    ((3, 100, 10), (6, 2, 48, True)),   # per batch entry
    ((40, 10), (1, 1, 10, False)),      # too small either way
    ((1, 700), (1, 1, 700, False)),     # a row vector streams its matrix once (the matrix-vector GEMM)
], ids=["columns", "rows", "batched rows", "whole", "row vector"])
def test_matmul_items(shape, split):
    from compiler.backend import gemm, indexing
    from compiler.ops import Aval
    from compiler.ir import Graph
    if gemm.tile_columns("float32") != 32 or gemm.tile_rows("float32") != 12:
        pytest.skip("the sizes assume AVX-512's 12 x 32 float32 tile")
    g = Graph("g")
    x = g.add_input("x", Aval((*shape[:-1], 5), torch.float32))
    y = g.add_input("y", Aval((5, shape[-1]), torch.float32))
    assert tuple(indexing.matmul_items(g.add("matmul", [x, y]).node)) == split


def test_small_steps_stay_on_the_caller():
    compiled = torch.compile(lambda x, a, b: (x * 2 + 1).sum() + (a @ b).sum())
    compiled(_randn(1000), _randn(16, 16), _randn(16, 16))
    assert "parallel_for" not in _imports(compiled)


def test_task_counts_follow_the_work():
    assert program._tasks(100, 1000, 10, 64, 1000) == 1  # too little work
    assert program._tasks(10 ** 9, 1, 10, 64, 1000) == 1  # one item cannot be split
    assert program._tasks(10 ** 9, 5, 10, 64, 1000) == 5  # no more tasks than items
    assert program._tasks(10 ** 9, 1000, 10, 64, 1000) == 64  # capped
    assert program._tasks(5000, 1000, 1000, 64, 1000) == 5  # one grain each


def test_python_threads_calling_split_code_at_once(thread_count):
    thread_count(2)
    fns = [torch.compile(lambda x: (x * 1.5).tanh() + x), torch.compile(lambda a, b: a @ b)]
    inputs = [(_randn(1000, 1000),), (_randn(256, 200), _randn(200, 512))]
    expected = [f(*args).numpy() for f, args in zip(fns, inputs)]
    failures = []

    def work(k):
        try:
            for i in range(20):
                j = (k + i) % 2
                np.testing.assert_array_equal(fns[j](*inputs[j]).numpy(), expected[j])
        except Exception as e:  # noqa: BLE001  (reported below, with its thread)
            failures.append((k, e))

    workers = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not failures


def test_set_num_threads_checks_its_argument(thread_count):
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive int"):
            torch.set_num_threads(bad)
    torch.set_num_threads(3)
    assert torch.get_num_threads() == 3


@pytest.mark.parametrize("value, message", [("zero", "positive integer, got 'zero'"), ("0", "positive integer, got 0")])
def test_a_bad_thread_count_in_the_environment_is_named(value, message):
    code = "import frontend as torch; torch.get_num_threads()"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**_env(), "JITGRAD_NUM_THREADS": value})
    assert run.returncode != 0 and f"JITGRAD_NUM_THREADS must be a {message}" in run.stderr


def test_the_environment_sets_the_default_thread_count():
    code = "import frontend as torch; print(torch.get_num_threads())"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**_env(), "JITGRAD_NUM_THREADS": "3"})
    assert run.stdout.strip() == "3", run.stderr


def test_a_forked_child_runs_split_code(tmp_path):
    """The child has none of the parent's workers, and the parent's may hold
    the pool's lock at the fork: the child starts its own, and must not hang."""
    script = textwrap.dedent("""
        import os, threading
        import numpy as np
        import frontend as torch
        torch.set_num_threads(2)
        f = torch.compile(lambda x: (x * 1.5).tanh() + x)
        x = torch.randn(1000, 1000)
        expected = f(x).numpy()
        def hammer():  # keep the pool busy while forking
            for _ in range(50):
                f(x)
        t = threading.Thread(target=hammer)
        t.start()
        pid = os.fork()
        if pid == 0:
            ok = all(np.array_equal(f(x).numpy(), expected) for _ in range(5))
            names = sorted(t.name for t in threading.enumerate() if t.name.startswith("jitgrad-worker"))
            os._exit(0 if ok and names == ["jitgrad-worker-0"] else 1)
        t.join()
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**_env(), "JITGRAD_CACHE_DIR": str(tmp_path)})
    assert run.stdout.strip() == "child 0", run.stderr


def _env():
    return {k: v for k, v in os.environ.items() if k != "JITGRAD_NUM_THREADS"}
