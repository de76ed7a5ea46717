"""Compiling a graph (after fusion) to native code the runtime runs.

    compile_graph(graph)  -> runtime.Executable   (disk-cached object code)
    llvm_ir(graph)        -> optimized LLVM IR text  (`jitgrad ir --stage llvm`)
    assembly(graph)       -> host assembly           (`jitgrad ir --stage asm`)

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

from runtime.cache import DiskCache, default_cache
from runtime.executable import Executable
from runtime.host import identity

from ..ir.flat import to_flat
from ..ir.graph import Graph
from . import library, program, target

log = logging.getLogger("jitgrad.backend")

# Bump when generated code changes for the same IR, so old cache entries miss.
BACKEND_VERSION = "23"
STATS = target.STATS  # llvm_compiles, cache_hits


def optimized_module(graph: Graph, donated=None):
    """The graph's LLVM module after O3 (without unrolling, see
    target.optimize), and its manifest; `donated` as in program.lower."""
    lowered = program.lower(graph, donated)
    return _optimize(target.parse(str(lowered.module), graph.name)), lowered.manifest


def _optimize(module):
    return target.optimize(module, unroll_loops=False)


def llvm_ir(graph: Graph) -> str:
    return str(optimized_module(graph)[0])


def assembly(graph: Graph) -> str:
    return target.emit_assembly(optimized_module(graph)[0])


def cache_key(graph: Graph, donated=None) -> str:
    text = repr(to_flat(graph))
    host = json.dumps(identity(), sort_keys=True)
    donations = json.dumps(sorted((donated or {}).items()))
    return hashlib.sha256(f"{BACKEND_VERSION}\n{host}\n{donations}\n{text}".encode()).hexdigest()


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
    lowered = program.lower(graph, donated)
    module, manifest = target.parse(str(lowered.module), graph.name), lowered.manifest.to_dict()
    # The libraries' builds start only now, so that their Python (building IR) and their
    # parsing (under llvmlite's lock) do not hold this thread back; then LLVM compiles
    # them and the graph at once (thread-safe: see target.py).
    library.prefetch(manifest["imports"], BACKEND_VERSION, cache)
    code = target.emit_object(_optimize(module))
    log.debug("%s: compiled in %.1f ms", graph.name, 1e3 * (time.perf_counter() - start))
    if cache.enabled:
        cache.store(key, _pack(manifest, code))
    return Executable(code, manifest, _imports(manifest, cache))


def _imports(manifest: dict, cache: DiskCache):
    return library.resolve(manifest["imports"], BACKEND_VERSION, cache)


def _pack(manifest: dict, code: bytes) -> bytes:
    text = json.dumps(manifest, sort_keys=True).encode()
    return struct.pack("<Q", len(text)) + text + code


def _unpack(payload: bytes):
    (n,) = struct.unpack_from("<Q", payload)
    if n > len(payload) - 8:
        raise ValueError("manifest length exceeds the entry")
    return json.loads(payload[8:8 + n]), payload[8 + n:]
