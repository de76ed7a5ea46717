"""Kernels every graph may call, compiled once: the GEMMs.

A GEMM is a large function (packing, register-blocked micro-kernel, edge
tiles) whose code does not depend on the graph: compiling it into every
graph's module would cost each graph ~0.3 s of LLVM time. Instead each
dtype's GEMM is compiled once per process (and kept in the disk cache
across processes) into its own loaded object; a graph that multiplies
matrices lists the GEMMs it calls in its manifest's `imports`, and the
runtime puts their addresses into the argument array the entry reads, so
the graph's code calls them through a pointer."""
from __future__ import annotations

import hashlib
import json
import threading

import llvmlite.ir as ir

from runtime.cache import DiskCache
from runtime.host import identity
from runtime.loader import LoadedCode

from . import gemm, target

_LOCK = threading.Lock()
_LOADED: dict[str, LoadedCode] = {}
GEMM_TYPE = ir.FunctionType(ir.VoidType(), [ir.IntType(64)] * 3 + [ir.PointerType()] + [ir.IntType(64)] * 2
                            + [ir.PointerType()] + [ir.IntType(64)] * 2 + [ir.PointerType()] * 2)


def gemm_import(dtype_name: str) -> str:
    """The name a manifest's `imports` uses for this dtype's GEMM."""
    return f"gemm_{dtype_name}"


def _module(dtype_name: str) -> ir.Module:
    """One exported wrapper around the internal GEMM (LLVM inlines it)."""
    module = ir.Module(f"jitgrad_{gemm_import(dtype_name)}")
    kernel = gemm.define_gemm(module, dtype_name)
    wrapper = ir.Function(module, GEMM_TYPE, gemm_import(dtype_name))
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
            if name not in _LOADED:
                dtype_name = name.removeprefix("gemm_")
                if dtype_name not in gemm.GEMM_DTYPES:
                    raise LookupError(f"no library function {name!r}")
                key = _key(name, backend_version)
                code = cache.load(key) if cache.enabled else None
                if code is not None:
                    target.STATS["cache_hits"] += 1
                else:
                    module = target.optimize(target.parse(str(_module(dtype_name)), name))
                    code = target.emit_object(module)
                    if cache.enabled:
                        cache.store(key, code)
                _LOADED[name] = LoadedCode(code)
            found.append((_LOADED[name].address(name), _LOADED[name]))
    return found
