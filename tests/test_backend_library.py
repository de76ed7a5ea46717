"""Libraries (compiler/backend/library.py) built on a thread of their own
while the caller compiles its graph: LLVM compiles running at once give the
same object code as one by one, `resolve` collects a build `prefetch`
started (or raises its error), and a forked child does not wait for a build
its parent's thread was running."""
import os
import pathlib
import subprocess
import sys
import textwrap
import threading

import pytest

from compiler.backend import library, program, target
from compiler.ir import parse
from runtime.cache import DiskCache

ROOT = pathlib.Path(__file__).resolve().parent.parent
GRAPH = """
graph g(%x: f32[64,64], %w: f32[64,64]) {
  %0: f32[64,64] = matmul(%x, %w)
  %1: f32[64,64] = tanh(%0)
  return %1
}"""


def _compile(text: str, name: str, level: int) -> bytes:
    return target.emit_object(target.optimize(target.parse(text, name), level))


def test_modules_compiled_on_two_threads_at_once_equal_those_compiled_one_by_one():
    texts = [(str(library._gemm_module("float32", "blocked")), "gemm", library.LEVEL),
             (str(program.lower(parse(GRAPH)).modules[0]), "graph", 3)]
    alone = [_compile(*t) for t in texts]
    for _ in range(3):
        together = [None, None]
        start = threading.Barrier(2)

        def run(i):
            start.wait()
            together[i] = _compile(*texts[i])
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert together == alone


@pytest.fixture
def fresh_libraries(monkeypatch):
    """No library loaded or under way in this process, as at a cold start."""
    monkeypatch.setattr(library, "_LOADED", {})
    monkeypatch.setattr(library, "_BUILDING", {})


def test_resolve_collects_the_build_prefetch_started_on_another_thread(fresh_libraries, monkeypatch):
    built_on = []
    real = library._object_code

    def object_code(*args):
        built_on.append(threading.current_thread())
        return real(*args)
    monkeypatch.setattr(library, "_object_code", object_code)
    name = library.gemm_import("float32", "blocked")
    cache = DiskCache(None, enabled=False)
    library.prefetch([name], "test", cache)
    library.prefetch([name], "test", cache)  # already under way: not started twice
    ((address, code),) = library.resolve([name], "test", cache)
    assert address and code is library._LOADED[name]
    assert len(built_on) == 1 and built_on[0] is not threading.current_thread()
    assert not library._BUILDING


def test_a_failed_build_raises_in_resolve_and_the_next_resolve_tries_again(fresh_libraries, monkeypatch):
    def failing(*args):
        raise RuntimeError("LLVM ran out of luck")
    monkeypatch.setattr(library, "_object_code", failing)
    name = library.gemm_import("float64", "matvec")
    cache = DiskCache(None, enabled=False)
    library.prefetch([name], "test", cache)
    with pytest.raises(RuntimeError, match="out of luck"):
        library.resolve([name], "test", cache)
    monkeypatch.undo()
    monkeypatch.setattr(library, "_LOADED", {})
    assert library.resolve([name], "test", cache)[0][0]


def test_an_unknown_library_is_refused_on_the_callers_thread(fresh_libraries):
    with pytest.raises(LookupError, match="no library function 'gemm_blocked_float16'"):
        library.prefetch(["gemm_blocked_float16"], "test", DiskCache(None, enabled=False))


def test_a_child_forked_during_a_build_builds_for_itself(tmp_path):
    """The building thread does not exist in the child: waiting for its
    result would hang, so the child forgets the builds under way. (A fork
    first waits FORK_WAIT_S for them; this build waits on the parent, so
    the fork goes ahead without it.)"""
    script = textwrap.dedent("""
        import os, threading
        from compiler.backend import library
        from runtime.cache import DiskCache
        parent, release = os.getpid(), threading.Event()
        real = library._object_code
        def object_code(*args):
            if os.getpid() == parent:
                release.wait()  # the parent's build is still running at the fork
            return real(*args)
        library._object_code = object_code
        name, cache = library.gemm_import("float32", "blocked"), DiskCache(None, enabled=False)
        library.prefetch([name], "test", cache)
        pid = os.fork()
        if pid == 0:
            os._exit(0 if library.resolve([name], "test", cache)[0][0] else 1)
        release.set()
        library.resolve([name], "test", cache)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "JITGRAD_CACHE_DIR": str(tmp_path)})
    assert run.stdout.strip() == "child 0", run.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads have their own nice value on Linux")
def test_a_speculative_build_lowers_only_its_own_threads_priority():
    seen = {}

    def run():
        library._yield_cores()
        seen["build"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen["build"] == max(before, library.PREBUILD_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # the caller's is untouched


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads have their own nice value on Linux")
@pytest.mark.parametrize("speculative", [True, False])
def test_prebuilds_yield_the_cores_and_builds_a_graph_waits_for_do_not(speculative, monkeypatch):
    priority = {}

    def object_code(name, version, cache):
        priority[name] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return b"object code"
    monkeypatch.setattr(library, "_object_code", object_code)
    monkeypatch.setattr(library, "_LOADED", {})
    monkeypatch.setattr(library, "_BUILDING", {})
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    library.prefetch(["gemm_blocked_float64"], "test", DiskCache(enabled=False), speculative=speculative)
    library._BUILDING["gemm_blocked_float64"].result(timeout=60)
    assert priority["gemm_blocked_float64"] == (max(before, library.PREBUILD_NICE) if speculative else before)
