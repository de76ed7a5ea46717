"""Compiling a graph (after fusion) to native code the runtime runs.

    compile_graph(graph)  -> runtime.Executable   (disk-cached object code)
    llvm_ir(graph)        -> optimized LLVM IR text  (`jitgrad ir --stage llvm`)
    assembly(graph)       -> host assembly           (`jitgrad ir --stage asm`)

A graph of many steps is lowered into several modules (program.py); they
are optimized and emitted at once, one per thread (target.py says why
that is safe), and their objects are linked into one image.

The disk cache key hashes the graph (its flat form, ir/flat.py, which holds
what its IR text holds and is cheaper to build on a warm start), this
backend's version, and the host identity (triple, CPU, features, llvmlite
and LLVM versions), so a cached entry is only ever code this compiler would
build for this CPU.
"""
from __future__ import annotations

import hashlib
import json
import logging
import struct
import time
from concurrent.futures import ThreadPoolExecutor

from runtime.cache import DiskCache, default_cache
from runtime.executable import Executable
from runtime.host import identity

from ..ir.flat import to_flat
from ..ir.graph import Graph
from . import library, program, target

log = logging.getLogger("jitgrad.backend")

# Bump when generated code changes for the same IR, so old cache entries miss.
BACKEND_VERSION = "29"
STATS = target.STATS  # llvm_compiles, cache_hits


def optimized_modules(graph: Graph, donated=None):
    """The graph's LLVM modules after O3 (without unrolling, see
    target.optimize), and its manifest; `donated` as in program.lower."""
    lowered = program.lower(graph, donated)
    return [_optimize(module) for module in _parse(lowered)], lowered.manifest


def _parse(lowered):
    return [target.parse(str(module), module.name) for module in lowered.modules]


def _optimize(module):
    return target.optimize(module, unroll_loops=False)


def _object_code(modules) -> list[bytes]:
    """Each module optimized and emitted, the first on this thread and the
    others at once on threads of their own."""
    def build(module):
        return target.emit_object(_optimize(module))
    if len(modules) == 1:
        return [build(modules[0])]
    with ThreadPoolExecutor(len(modules) - 1, thread_name_prefix="jitgrad-llvm") as pool:
        others = [pool.submit(build, module) for module in modules[1:]]
        return [build(modules[0])] + [other.result() for other in others]


def llvm_ir(graph: Graph) -> str:
    return "\n".join(str(module) for module in optimized_modules(graph)[0])


def assembly(graph: Graph) -> str:
    return "\n".join(target.emit_assembly(module) for module in optimized_modules(graph)[0])


def cache_key(graph: Graph, donated=None) -> str:
    text = repr(to_flat(graph))
    host = json.dumps(identity(), sort_keys=True)
    donations = json.dumps(sorted((donated or {}).items()))
    return hashlib.sha256(f"{BACKEND_VERSION}\n{host}\n{donations}\n{text}".encode()).hexdigest()


# Libraries nearly every model calls, built when the package is imported if
# the disk cache lacks them (library.prebuild): the float32 GEMM took 0.2-0.3
# s of a cold first call's critical path, on the core the graph's second
# module needed (mlp_step_small: see the README).
PREBUILT_LIBRARIES = (library.gemm_import("float32", "blocked"),)


def prebuild_libraries() -> None:
    library.prebuild(PREBUILT_LIBRARIES, BACKEND_VERSION, default_cache())


def compile_graph(graph: Graph, cache: DiskCache | None = None, donated: dict[int, int] | None = None) -> Executable:
    """Native code for `graph`, from the disk cache when an entry exists.
    `donated` (graph output position -> input position) names outputs the
    caller copies into that input's memory; the code may write them there
    (program.py)."""
    cache = default_cache() if cache is None else cache
    key = cache_key(graph, donated)
    payload = cache.load(key) if cache.enabled else None
    if payload is not None:
        try:
            manifest, code = _unpack(payload)
            executable = Executable(code, manifest, _imports(manifest, cache))
            target.count("cache_hits")
            return executable
        except (ValueError, KeyError, LookupError) as e:  # a checksummed entry we cannot read: rebuild it
            log.warning("discarding unreadable cache entry %s: %s", key, e)
    start = time.perf_counter()
    lowered = program.lower(graph, donated, _free_cores(graph, cache))
    modules, manifest = _parse(lowered), lowered.manifest.to_dict()
    # The libraries' builds start only now, so that their Python (building IR) and their
    # parsing (under llvmlite's lock) do not hold this thread back; then LLVM compiles
    # them and the graph at once (thread-safe: see target.py).
    library.prefetch(manifest["imports"], BACKEND_VERSION, cache)
    code = _object_code(modules)
    log.debug("%s: compiled in %.1f ms", graph.name, 1e3 * (time.perf_counter() - start))
    if cache.enabled:
        cache.store(key, _pack(manifest, code))
    return Executable(code, manifest, _imports(manifest, cache))


def _free_cores(graph: Graph, cache: DiskCache) -> int:
    """The graph's parts at most: the cores, less one per GEMM it calls whose
    build would start now. Three compiles on two cores made mlp_step_small's
    cold first call slower, 272-300 -> 329-382 ms, where two parts beside a
    GEMM already built took 200-246. A build under way (the import's
    prebuild) is left out: it ends during the graph's lowering or soon after
    (mlp_step_small: 1 part 288-323 ms, 2 parts 200-246)."""
    gemms = {program.gemm_import_of(node) for node in graph.nodes if node.op == "matmul"}
    starting = sum(library.unstarted(name, BACKEND_VERSION, cache) for name in gemms)
    return max(1, program.most_parts() - starting)


def _imports(manifest: dict, cache: DiskCache):
    return library.resolve(manifest["imports"], BACKEND_VERSION, cache)


def _pack(manifest: dict, code: list[bytes]) -> bytes:
    text = json.dumps(manifest, sort_keys=True).encode()
    return struct.pack(f"<Q{len(code) + 1}Q", len(text), len(code), *map(len, code)) + text + b"".join(code)


def _unpack(payload: bytes):
    """(manifest, [object code, ...]) from a payload _pack made."""
    if len(payload) < 16:
        raise ValueError("the entry is shorter than its header")
    (n_text, n_objects) = struct.unpack_from("<QQ", payload)
    header = 8 * (n_objects + 2)
    if header > len(payload):
        raise ValueError("object count exceeds the entry")
    sizes = struct.unpack_from(f"<{n_objects}Q", payload, 16)
    if header + n_text + sum(sizes) != len(payload):
        raise ValueError("manifest and object sizes do not add up to the entry")
    manifest, start, code = json.loads(payload[header:header + n_text]), header + n_text, []
    for size in sizes:
        code.append(payload[start:start + size])
        start += size
    return manifest, code
