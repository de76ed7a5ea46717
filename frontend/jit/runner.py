"""How a compiled variant runs its graph: native code from the LLVM backend
(the default), or the reference interpreter (`compile(backend="interpreter")`,
the oracle the backend is tested against)."""
from __future__ import annotations

import functools

import numpy as np

from compiler.backend.native import compile_graph
from compiler.interpreter import interpret
from runtime.executable import InputsOverlapError


def runner(graph, backend: str, in_place=None):
    """`graph` as a callable from input arrays to output arrays. `in_place`
    (graph output -> input position) names outputs the caller copies into an
    input: native code may write them there and return that input's array."""
    if backend == "llvm":
        return compile_graph(graph, donated=in_place)
    return functools.partial(_interpret, graph, sorted(set((in_place or {}).values())))


def _interpret(graph, written, arrays):
    """The interpreter under native code's rule: an input written in place
    shares memory with no other input (bounds compared, as native code does)."""
    for i in written:
        if any(j != i and np.may_share_memory(arrays[i], a) for j, a in enumerate(arrays)):
            raise InputsOverlapError(i)
    return interpret(graph, arrays)
