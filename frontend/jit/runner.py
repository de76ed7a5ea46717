"""How a compiled variant runs its graph: native code from the LLVM backend
(the default), or the reference interpreter (`compile(backend="interpreter")`,
the oracle the backend is tested against)."""
from __future__ import annotations

import functools

from compiler.backend.native import compile_graph
from compiler.interpreter import interpret


def runner(graph, backend: str):
    """`graph` as a callable from input arrays to output arrays."""
    if backend == "llvm":
        return compile_graph(graph)
    return functools.partial(interpret, graph)
