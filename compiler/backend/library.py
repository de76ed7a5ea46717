"""Code every graph may call, compiled once: the GEMMs and the thread pool.

A GEMM is a large function (packing, register-blocked micro-kernel, edge
tiles) whose code does not depend on the graph: compiling it into every
graph's module would cost each graph ~0.3 s of LLVM time. Instead each
dtype's GEMM, in each of its two forms (blocked and matrix-vector, see
gemm.form), is compiled once per process (and kept in the disk cache across
processes) into its own loaded object, only when a graph needs it; a graph that multiplies
matrices lists the GEMMs it calls in its manifest's `imports`, and the
runtime puts their addresses into the argument array the entry reads, so
the graph's code calls them through a pointer.

The thread pool (parallel.py) is a library for a second reason: its state
must be one per process, so every graph has to call the same copy. Loading
it starts its workers (runtime/threads.py).

A cold start needs both a library and the graph that calls it compiled,
each ~0.2 s of LLVM time. `prefetch` starts a library's build on a thread of
its own as soon as the graph's imports are known, so LLVM compiles the two
on two cores (target.py says why that is safe); `resolve` then waits for it.
`prebuild` starts the builds the disk cache lacks before any graph exists
(native.prebuild_libraries, at import): the float32 GEMM then compiles
while the program imports and sets up, not during its first call."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable

import llvmlite.ir as ir

from runtime import threads
from runtime.cache import DiskCache
from runtime.host import identity
from runtime.loader import LoadedCode

from . import gemm, parallel, target

_LOCK = threading.Lock()
_LOADED: dict[str, LoadedCode] = {}
_BUILDING: dict[str, Future] = {}  # object code on its way (see prefetch), by library name
_I64, _PTR = ir.IntType(64), ir.PointerType()
GEMM_TYPE = ir.FunctionType(ir.VoidType(), [_I64] * 3 + [_PTR, _I64, _I64] * 2 + [_PTR, _I64, _PTR])


# The GEMMs are vectorized by hand, so O2 gives nearly O3's code (within ~5% on
# small products, the same at 512^3) for 60% of its time: 185 ms instead of
# 309 ms for the blocked float32 GEMM, paid on every cold start.
LEVEL = 2
PARALLEL_FOR = "parallel_for"  # the pool's entry, as manifests' `imports` name it
PREBUILD_NICE = 10  # a prebuild's thread priority (nice): CFS gives it ~1/10 of a core others want
FORK_WAIT_S = 2.0  # how long a fork waits for builds under way (_finish_builds_before_fork)


def gemm_import(dtype_name: str, gemm_form: str) -> str:
    """The name a manifest's `imports` uses for this dtype's GEMM of this form (gemm.form)."""
    return f"gemm_{gemm_form}_{dtype_name}"


@dataclass(frozen=True)
class _Library:
    build: Callable[[], ir.Module]
    symbol: str  # the function graphs call
    on_load: Callable[[LoadedCode], None] = lambda code: None


def _start_pool(code: LoadedCode):
    threads.attach_pool({"worker": code.address(parallel.WORKER), "set_limit": code.address(parallel.SET_LIMIT),
                         "init": code.address(parallel.INIT)}, code)


def _library(name: str) -> _Library:
    if name == PARALLEL_FOR:
        return _Library(parallel.module, parallel.PARALLEL_FOR, _start_pool)
    gemm_form, _, dtype_name = name.removeprefix("gemm_").partition("_")
    if name.startswith("gemm_") and gemm_form in gemm.GEMM_FORMS and dtype_name in gemm.GEMM_DTYPES:
        return _Library(functools.partial(_gemm_module, dtype_name, gemm_form), name)
    raise LookupError(f"no library function {name!r}")


def _gemm_module(dtype_name: str, gemm_form: str) -> ir.Module:
    """One exported wrapper around the internal GEMM (LLVM inlines it)."""
    module = ir.Module(f"jitgrad_{gemm_import(dtype_name, gemm_form)}")
    kernel = gemm.define_gemm(module, dtype_name, gemm_form)
    wrapper = ir.Function(module, GEMM_TYPE, gemm_import(dtype_name, gemm_form))
    b = ir.IRBuilder(wrapper.append_basic_block("entry"))
    b.call(kernel, wrapper.args)
    b.ret_void()
    return module


def _key(name: str, backend_version: str) -> str:
    host = json.dumps(identity(), sort_keys=True)
    return hashlib.sha256(f"library {name} {backend_version}\n{host}".encode()).hexdigest()


def _object_code(name: str, backend_version: str, cache: DiskCache) -> bytes:
    """The library's object code, from the disk cache or compiled (and stored)."""
    key = _key(name, backend_version)
    code = cache.load(key) if cache.enabled else None
    if code is not None:
        target.count("cache_hits")
        return code
    code = target.emit_object(target.optimize(target.parse(str(_library(name).build()), name), LEVEL))
    if cache.enabled:
        cache.store(key, code)
    return code


def prefetch(names, backend_version: str, cache: DiskCache, speculative: bool = False) -> None:
    """Start getting the object code of the libraries in `names` that this
    process has not loaded, each on a new thread, for `resolve` to collect.
    `speculative`: no graph needs them yet, so the threads yield the cores
    to the process's other threads (see _yield_cores)."""
    with _LOCK:
        for name in names:
            _library(name)  # an unknown name raises here, on the caller's thread
            if name in _LOADED or name in _BUILDING:
                continue
            future = _BUILDING[name] = Future()

            def build(name=name, future=future):
                try:
                    if speculative:
                        _yield_cores()
                    future.set_result(_object_code(name, backend_version, cache))
                except BaseException as e:  # noqa: BLE001 -- handed to resolve, which raises it
                    future.set_exception(e)
            # not a daemon: interpreter exit waits for the build instead of tearing LLVM down under it
            threading.Thread(target=build, name=f"jitgrad-build-{name}").start()


def _yield_cores() -> None:
    """Lower this thread's scheduling priority (Linux, where threads have
    their own nice value), so that a build no graph waits for takes less
    from compiles that one does. A prebuild under way slowed the cold first
    call of the bench's chain at 1M (no matmul) from 89-102 to 110-144 ms;
    at nice 10, 96-127 (alternating fresh processes; the GIL it still takes
    for its Python accounts for the rest)."""
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        try:  # never raised: a process already niced past PREBUILD_NICE keeps its value
            os.setpriority(os.PRIO_PROCESS, thread, max(PREBUILD_NICE, os.getpriority(os.PRIO_PROCESS, thread)))
        except OSError:  # not allowed here: build at the priority we have
            pass


def prebuild(names, backend_version: str, cache: DiskCache) -> None:
    """Start building those of `names` the disk cache lacks (see prefetch),
    into it: once per machine and backend version, ahead of any graph."""
    if cache.enabled:
        prefetch([name for name in names if not _on_disk(name, backend_version, cache)],
                 backend_version, cache, speculative=True)


def _on_disk(name: str, backend_version: str, cache: DiskCache) -> bool:
    return cache.enabled and cache.path_for(_key(name, backend_version)).exists()


def unstarted(name: str, backend_version: str, cache: DiskCache) -> bool:
    """Whether getting `name` would start an LLVM build: it is not loaded,
    not being built (a prefetch or prebuild), and not in the disk cache."""
    with _LOCK:
        if name in _LOADED or name in _BUILDING:
            return False
    return not _on_disk(name, backend_version, cache)


def resolve(names, backend_version: str, cache: DiskCache) -> list[tuple[int, LoadedCode]]:
    """(address, the code holding it) of each library function in `names`,
    compiling (or loading from the disk cache) each at most once per process."""
    found = []
    with _LOCK:
        for name in names:
            library = _library(name)
            if name not in _LOADED:
                building = _BUILDING.pop(name, None)
                code = building.result() if building else _object_code(name, backend_version, cache)
                _LOADED[name] = LoadedCode(code)
                library.on_load(_LOADED[name])
            found.append((_LOADED[name].address(library.symbol), _LOADED[name]))
    return found


def _forget_builds_after_fork():
    """A forked child has none of the parent's threads: builds they had under
    way never finish there, and the lock may be held by one of them."""
    global _LOCK
    _LOCK = threading.Lock()
    _BUILDING.clear()


def _finish_builds_before_fork():
    """Wait for the builds under way (the import's prebuild, a graph's
    prefetch): forked in the middle of one, a child would inherit LLVM's
    and llvmlite's locks held by a thread it does not have, and hang at its
    first compile. A build takes ~0.3 s; one still running after
    FORK_WAIT_S is waiting on something else, and the fork goes ahead (the
    child then builds for itself, see _forget_builds_after_fork)."""
    deadline = time.monotonic() + FORK_WAIT_S
    for building in list(_BUILDING.values()):
        try:
            building.result(timeout=max(0.0, deadline - time.monotonic()))
        except BaseException:  # noqa: BLE001 -- a timeout, or a failure resolve raises where it is needed
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_finish_builds_before_fork, after_in_child=_forget_builds_after_fork)
