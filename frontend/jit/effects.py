"""Side effects of a traced call, replayed on every run of its graph.

- In-place writes to the caller's tensors (`x.add_(1)`, `w[0] = 5`): the
  graph returns each written tensor's final value, which is copied back, and
  its version counter advances by as many writes as eager makes.
- Tensors stored into state the function can reach (`model.w = model.w * 0.5`,
  a new entry in a state dict): the graph returns the value, and each run
  stores a fresh tensor holding it at the same place.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tensor import Tensor
from .guards import Reading, swap_in
from .tracer import Trace, Tracer


@dataclass(frozen=True)
class Writeback:
    source: tuple  # ("arg", i): the call's i-th tensor; ("hidden", tensor)
    output: int
    writes: int  # in-place writes eager makes: the version counter's advance


@dataclass(frozen=True)
class Store:
    path: tuple  # a guard path (guards.py)
    output: int


def collect(trace: Trace, tracers: list, paths: list, after: Reading, outputs: list, names: list):
    """The call's effects; their values are appended to `outputs` (and `names`)."""
    writebacks, stores = [], []
    for i, tracer in enumerate(tracers):
        if tracer._current() is not trace.graph.inputs[i]:
            writebacks.append(Writeback(("arg", i), len(outputs), tracer._version_counter.value))
            outputs.append(tracer._current())
            names.append(f"{trace.graph.inputs[i].name}.updated")
    for value, tensor in trace.hidden:
        tracer = trace.inputs[id(tensor)][1]
        if tracer._current() is not value:
            writebacks.append(Writeback(("hidden", tensor), len(outputs), tracer._version_counter.value))
            outputs.append(tracer._current())
            names.append(f"{value.name}.updated")
    original = {path: tracer for path, tracer in zip(paths, tracers)}
    for path, tensor in after.tensors:
        if isinstance(tensor, Tracer) and tensor._trace is trace and original.get(path) is not tensor:
            if len(path) == 1 and path[0] in after.arg_labels:
                continue  # rebinding a parameter name is local to the function
            stores.append(Store(path, len(outputs)))
            outputs.append(tensor._current())
            names.append("store." + ".".join(str(step[1]) if isinstance(step, tuple) else step for step in path))
    return writebacks, stores


def replay(writebacks, stores, results, tensors, roots):
    """Apply the effects of one run; `roots()` gives the call's guard roots."""
    for w in writebacks:
        kind, ref = w.source
        target = tensors[ref] if kind == "arg" else ref
        np.copyto(target._data, results[w.output], casting="unsafe")
        target._version_counter.value += w.writes
    if stores:
        where = roots()
        for s in stores:
            swap_in(where, s.path, Tensor._wrap(np.array(results[s.output])))


def written_tensors(writebacks, tensors):
    return [tensors[w.source[1]] if w.source[0] == "arg" else w.source[1] for w in writebacks]
