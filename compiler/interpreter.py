"""The reference interpreter: runs any IR graph on NumPy through each
primitive's reference semantics (the same code eager tensors run). It is the
oracle every pass and the LLVM backend are tested against."""
from __future__ import annotations

import numpy as np

from .ir.graph import Graph, format_aval
from .ir.kernel import run_graph


def check_inputs(graph: Graph, arrays) -> None:
    """Raise before running if the arrays do not match the graph's inputs."""
    if len(arrays) != len(graph.inputs):
        raise ValueError(f"graph {graph.name} takes {len(graph.inputs)} inputs, got {len(arrays)}")
    for value, array in zip(graph.inputs, arrays):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"graph {graph.name}: input %{value.name} must be a numpy.ndarray, "
                            f"got {type(array).__name__}")
        if array.shape != value.shape or array.dtype != value.dtype.np:
            raise ValueError(f"graph {graph.name}: input %{value.name} expects {format_aval(value.aval)}, "
                             f"got {array.dtype}{list(array.shape)}")


def interpret(graph: Graph, arrays) -> list[np.ndarray]:
    """The graph's outputs for `arrays` (one per graph input, in order)."""
    check_inputs(graph, arrays)
    return run_graph(graph, arrays)
