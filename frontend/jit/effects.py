"""Side effects of a traced call, replayed on every run of its graph.

- In-place writes to the caller's tensors (`x.add_(1)`, `w[0] = 5`): the
  graph returns each written tensor's final value, which is copied back, and
  its version counter advances by as many writes as eager makes.
- Tensors stored into state the function can reach (`model.w = model.w * 0.5`,
  a new entry in a state dict, an optimizer's first momentum buffer, a
  constant made inside such as Adam's first step count): the graph returns
  the value, and each run stores a fresh tensor holding it at the same place.
- Leaves' `.grad` after a `backward()` inside (accumulated, zeroed, set to
  None): the graph returns the new values; each run does what eager did to
  the caller's `.grad`: add in place into the same tensor, set a new one, or
  clear it.

Native code may compute an output that is copied into an input in that
input's memory (`in_place_outputs`); the result is then the caller's own
array, and there is nothing to copy. A stored tensor or a new `.grad` holds
its result as it is when the result is a buffer of this run's own (`fresh`,
positions the runner names); otherwise (an input or constant returned as
it was) it holds a copy, so that it shares no memory the caller reaches
some other way.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inplace import unwritable_message
from ..tensor import Tensor
from .guards import Reading
from .placement import swap_in
from .trace_state import GraphBreak
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


@dataclass(frozen=True)
class GradUpdate:
    owner: tuple  # the leaf, as Writeback.source
    how: str  # "inplace" (into the existing .grad), "new" (a new tensor), "clear" (None), "input" (a caller's tensor)
    ref: int | None  # graph output, or for "input" the caller's tensor number
    writes: int = 0


def _no_history_escapes(tracer, what: str):
    """In-place writes to the caller's tensors and stored tensors carry values
    back, not autograd history: refuse rather than drop the history."""
    if tracer.grad_fn is not None:
        raise GraphBreak(f"{what} inside a compiled function with gradient history: autograd history "
                         "cannot leave the graph this way (return the tensor instead)")


def collect(trace: Trace, tracers: list, paths: list, after: Reading, outputs: list, names: list):
    """The call's effects; their values are appended to `outputs` (and `names`)."""
    writebacks, stores = [], []
    for i, tracer in enumerate(tracers):
        if tracer._current() is not trace.graph.inputs[i]:
            _no_history_escapes(tracer, f"writing %{trace.graph.inputs[i].name} in place")
            writebacks.append(Writeback(("arg", i), len(outputs), tracer._version_counter.value))
            outputs.append(tracer._current())
            names.append(f"{trace.graph.inputs[i].name}.updated")
    for value, tensor in trace.hidden:
        tracer = trace.inputs[id(tensor)][1]
        if tracer._current() is not value:
            _no_history_escapes(tracer, f"writing %{value.name} in place")
            writebacks.append(Writeback(("hidden", tensor), len(outputs), tracer._version_counter.value))
            outputs.append(tracer._current())
            names.append(f"{value.name}.updated")
    original = {path: tracer for path, tracer in zip(paths, tracers)}
    for path, tensor in after.tensors:
        traced = isinstance(tensor, Tracer) and tensor._trace is trace and original.get(path) is not tensor
        made_inside = not isinstance(tensor, Tracer) and trace.created.get(id(tensor)) is tensor
        if traced or made_inside:
            if len(path) == 1 and path[0] in after.arg_labels:
                continue  # rebinding a parameter name is local to the function
            _no_history_escapes(tensor, "storing a tensor into " + ".".join(map(str, path)))
            stores.append(Store(path, len(outputs)))
            outputs.append(trace.lift(tensor)._current())
            names.append("store." + ".".join(str(step[1]) if isinstance(step, tuple) else step for step in path))
    return writebacks, stores


def collect_grads(trace: Trace, owners: dict, outputs: list, names: list) -> list[GradUpdate]:
    """How each input leaf's `.grad` changed; `owners` maps an input tracer to
    its Writeback-style source. New values are appended to `outputs`."""
    callers = {id(tracer): ref for tracer, (kind, ref) in owners.items() if kind == "arg"}
    names_of = {id(tracer): value.name for value, tracer in trace.input_tracers.items()}
    updates = []
    for tracer, owner in owners.items():
        if tracer not in trace.grad_inputs:
            continue  # .grad never touched
        before, after = trace.grad_inputs[tracer][0], tracer._grad
        name = names_of[id(tracer)]
        if after is None:
            if before is not None:
                updates.append(GradUpdate(owner, "clear", None))
        elif after is before:
            if after._version_counter.value:  # written in place
                updates.append(GradUpdate(owner, "inplace", len(outputs), after._version_counter.value))
                outputs.append(after._current())
                names.append(f"{name}.grad.updated")
        elif id(after) in callers:
            updates.append(GradUpdate(owner, "input", callers[id(after)]))
        else:
            updates.append(GradUpdate(owner, "new", len(outputs), after._version_counter.value))
            outputs.append(trace.lift(after)._current())
            names.append(f"{name}.grad")
    return updates


def check_writable(targets):
    """Refuse a run that would write read-only or broadcast storage (the
    guards do not see it), before it runs: native code may write the others
    in place, and a refused call must change nothing. `targets`: the
    writebacks' tensors (`written_tensors`)."""
    for target in targets:
        if not target._is_writable():
            raise RuntimeError(unwritable_message(target))


def replay(writebacks, targets, stores, results, roots, fresh=frozenset()):
    """Apply the effects of one run whose `targets` passed `check_writable`;
    `roots()` gives the call's guard roots."""
    for w, target in zip(writebacks, targets):
        if results[w.output] is not target._data:  # else written in place by native code
            np.copyto(target._data, results[w.output], casting="unsafe")
        target._version_counter.value += w.writes
    if stores:
        where = roots()
        for s in stores:
            swap_in(where, s.path, Tensor._wrap(_owned(results, s.output, fresh)))


def replay_grads(updates, results, tensors, fresh=frozenset()):
    for u in updates:
        kind, ref = u.owner
        leaf = tensors[ref] if kind == "arg" else ref
        if u.how == "clear":
            leaf._grad = None
        elif u.how == "inplace":
            if results[u.ref] is not leaf._grad._data:
                np.copyto(leaf._grad._data, results[u.ref], casting="unsafe")
            leaf._grad._version_counter.value += u.writes
        elif u.how == "input":
            leaf._grad = tensors[u.ref]
        else:
            leaf._grad = Tensor._wrap(_owned(results, u.ref, fresh))
            leaf._grad._version_counter.value = u.writes


def _owned(results, k: int, fresh) -> np.ndarray:
    """Result k as an array that nothing else holds."""
    return results[k] if k in fresh else np.array(results[k])


def in_place_outputs(sources, writebacks, grad_updates) -> dict[int, int]:
    """Graph outputs that each run copies into a graph input's memory (a
    written tensor, a `.grad` added to in place): output -> input position.
    `sources` are the variant's per-input sources (compiled.Variant)."""
    position = {_place(source): i for i, source in enumerate(sources)}
    targets = [(w.output, _place(w.source)) for w in writebacks]
    targets += [(u.ref, _place(("grad", u.owner))) for u in grad_updates if u.how == "inplace"]
    return {output: position[place] for output, place in targets if place in position}


def _place(source) -> tuple:
    """A source as a hashable key: caller tensors by argument number, others by identity."""
    kind, ref = source[:2]
    if kind == "grad":
        return kind, _place(ref)
    return kind, ref if kind == "arg" else id(ref)


def written_tensors(writebacks, tensors):
    return [tensors[w.source[1]] if w.source[0] == "arg" else w.source[1] for w in writebacks]
