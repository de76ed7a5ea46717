"""What a traced function returns, split into graph outputs and the Python
structure around them (tuples, lists, dicts, named tuples, numbers derived
from shapes), and rebuilt from the graph's results on every call."""
from __future__ import annotations

from dataclasses import dataclass

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .trace_state import GraphBreak
from .tracer import Trace

_PLAIN = (bool, int, float, complex, str, bytes, type(None))


@dataclass(frozen=True)
class Leaf:
    """`kind` 'out': graph output `ref`; 'input': the caller's tensor number
    `ref` returned unchanged; 'view': a `View` of one of the caller's
    tensors; 'py': the Python value `ref`."""

    kind: str
    ref: object


@dataclass(frozen=True)
class View:
    """A returned view of the caller's tensor number `input` (`x.t()`,
    `x[0]`, `x.view(-1)`), rebuilt on each call by replaying its view ops
    on that tensor, as eager ran them: the result shares the tensor's
    memory and version counter, so writes through it reach the tensor, and
    it has eager's grad_fn. The graph still computes it as output `output`
    (what the reference interpreter checks, and what a compiled backward
    differentiates). `grad`: whether the trace's view required grad (False
    under no_grad inside the function)."""

    input: int
    replay: object  # the tracer's _view_fn (tensor.py): its view ops and detach() from the tensor on
    grad: bool
    output: int

    def __call__(self, tensor: Tensor) -> Tensor:
        if self.grad:
            return self.replay(tensor)
        with no_grad():
            return self.replay(tensor)


def flatten(result, trace: Trace, input_index: dict, outputs: list, names: list, tracers: list, path="out"):
    """Describe `result`; graph outputs are appended to `outputs` (with
    `names`, and their `tracers`). `input_index` maps id(input tracer) to the
    caller's tensor number."""
    if isinstance(result, Tensor):
        if id(result) in input_index:  # the caller's own tensor (perhaps updated in place)
            return Leaf("input", input_index[id(result)])
        tracer = trace.lift(result)
        k = next((i for i, seen in enumerate(tracers) if seen is tracer), None)  # returned twice: one tensor
        if k is None:
            outputs.append(tracer._current())
            names.append(path)
            tracers.append(tracer)
            k = len(outputs) - 1
        if id(result._base) in input_index and result._view_fn is not None:
            return Leaf("view", View(input_index[id(result._base)], result._view_fn, result.requires_grad, k))
        return Leaf("out", k)
    if isinstance(result, _PLAIN):
        return Leaf("py", result)
    if isinstance(result, (list, tuple)):
        items = [flatten(v, trace, input_index, outputs, names, tracers, f"{path}.{i}")
                 for i, v in enumerate(result)]
        return (type(result), items)
    if isinstance(result, dict):
        return (dict, {k: flatten(v, trace, input_index, outputs, names, tracers, f"{path}.{_key(k)}")
                       for k, v in result.items()})
    raise GraphBreak(f"a compiled function returned a {type(result).__name__}; compiled functions return "
                     "tensors, numbers and tuples, lists and dicts of them")


def _key(k) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(k))
    return text or "_"


def rebuild(spec, outputs: list[Tensor], inputs: list[Tensor]):
    """The function's result: `outputs` are the graph outputs as tensors."""
    if isinstance(spec, Leaf):
        if spec.kind == "out":
            return outputs[spec.ref]
        if spec.kind == "view":
            return spec.ref(inputs[spec.ref.input])
        return inputs[spec.ref] if spec.kind == "input" else spec.ref
    container, items = spec
    if container is dict:
        return {k: rebuild(v, outputs, inputs) for k, v in items.items()}
    values = [rebuild(v, outputs, inputs) for v in items]
    if container in (list, tuple):
        return container(values)
    return container._make(values) if hasattr(container, "_fields") else container(values)
