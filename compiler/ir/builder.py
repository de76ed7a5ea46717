"""Building IR with tensor methods: `Sym` is an IR value that inherits
PyTorch's tensor math from `TensorOps`, so `a * b.exp()` on Syms appends
`exp` and `mul` nodes. The autodiff pass runs the registry's derivative
rules on Syms: the rules eager backward runs are the ones traced into IR."""
from __future__ import annotations

from ..ops import REGISTRY
from ..tensor_ops import TensorOps
from .graph import Graph, SourceLoc, Value


class Builder:
    """Appends nodes to `graph`, each stamped with the current `loc`."""

    def __init__(self, graph: Graph, loc: SourceLoc | None = None):
        self.graph, self.loc = graph, loc

    def sym(self, value: Value) -> "Sym":
        return Sym(self, value)

    def add(self, op, inputs, attrs) -> "Sym":
        return Sym(self, self.graph.add(op, [s.value for s in inputs], attrs, self.loc))


class Sym(TensorOps):
    __slots__ = ("builder", "value")

    def __init__(self, builder: Builder, value: Value):
        self.builder, self.value = builder, value

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def _apply(self, op, *inputs, **attrs):
        if REGISTRY[op].variadic and len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
            inputs = tuple(inputs[0])
        for v in inputs:
            if not isinstance(v, Sym) or v.builder.graph is not self.builder.graph:
                raise TypeError(f"{op}: every operand must be an IR value of graph {self.builder.graph.name}")
        return self.builder.add(op, inputs, attrs)

    def _lift(self, value, dtype):
        return self.builder.add("full", (), {"value": dtype.np.type(value).item(), "shape": (), "dtype": dtype})

    def detach(self):
        return self.builder.add("stop_gradient", (self,), {})

    def __repr__(self):
        return f"Sym({self.value!r})"
