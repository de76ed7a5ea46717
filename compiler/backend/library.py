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
it starts its workers (runtime/threads.py)."""
from __future__ import annotations

import functools
import hashlib
import json
import threading
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
_I64, _PTR = ir.IntType(64), ir.PointerType()
GEMM_TYPE = ir.FunctionType(ir.VoidType(), [_I64] * 3 + [_PTR, _I64, _I64] * 2 + [_PTR, _I64, _PTR])


# The GEMMs are vectorized by hand, so O2 gives nearly O3's code (within ~5% on
# small products, the same at 512^3) for 60% of its time: 185 ms instead of
# 309 ms for the blocked float32 GEMM, paid on every cold start.
LEVEL = 2
PARALLEL_FOR = "parallel_for"  # the pool's entry, as manifests' `imports` name it


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


def resolve(names, backend_version: str, cache: DiskCache) -> list[tuple[int, LoadedCode]]:
    """(address, the code holding it) of each library function in `names`,
    compiling (or loading from the disk cache) each at most once per process."""
    found = []
    with _LOCK:
        for name in names:
            library = _library(name)
            if name not in _LOADED:
                key = _key(name, backend_version)
                code = cache.load(key) if cache.enabled else None
                if code is not None:
                    target.STATS["cache_hits"] += 1
                else:
                    module = target.optimize(target.parse(str(library.build()), name), LEVEL)
                    code = target.emit_object(module)
                    if cache.enabled:
                        cache.store(key, code)
                _LOADED[name] = LoadedCode(code)
                library.on_load(_LOADED[name])
            found.append((_LOADED[name].address(library.symbol), _LOADED[name]))
    return found
