"""The IR: a static SSA graph of the registry's primitives.

A `Graph` has named inputs, a list of `Node`s in execution order and a list
of outputs. Every `Value` has a static shape and dtype (an `Aval`); every
node carries the `SourceLoc` of the user's line that created it, so any
later stage can point back at the program. Nodes are built through
`Graph.add`, which runs the primitive's shape rule: a graph is well-typed by
construction, and `verify` re-checks graphs that passes rewrote or the parser
read.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..ops.registry import REGISTRY, Aval, Primitive
from .kernel import KERNEL, KERNEL_OP, KernelPrimitive


@dataclass(frozen=True)
class SourceLoc:
    """Where in the user's program a node was created."""

    file: str
    line: int
    function: str

    def __str__(self):
        return f"{self.file}:{self.line} in {self.function}"


class Value:
    """One SSA value: a graph input (`node is None`) or a node's result."""

    __slots__ = ("aval", "node", "name")

    def __init__(self, aval: Aval, node: "Node | None" = None, name: str | None = None):
        self.aval, self.node, self.name = aval, node, name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def dtype(self):
        return self.aval.dtype

    def __repr__(self):
        return f"Value({self.name or '?'}: {format_aval(self.aval)})"


class Node:
    """One primitive application; `out` is its single result."""

    __slots__ = ("op", "inputs", "attrs", "out", "loc")

    def __init__(self, op: str, inputs: tuple[Value, ...], attrs: dict, loc: SourceLoc | None):
        self.op, self.inputs, self.attrs, self.loc = op, tuple(inputs), attrs, loc
        self.out: Value | None = None

    @property
    def prim(self) -> Primitive | KernelPrimitive:
        return KERNEL if self.op == KERNEL_OP else REGISTRY[self.op]

    def __repr__(self):
        return f"Node({self.op}, {len(self.inputs)} inputs)"


def format_aval(aval: Aval) -> str:
    return f"{aval.dtype.short}[{','.join(map(str, aval.shape))}]"


def normalize_attr(value):
    """Attributes as the printer and `==` expect them: tuples, Python scalars."""
    if isinstance(value, (list, tuple)):
        return tuple(normalize_attr(v) for v in value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


class Graph:
    """A function in IR: inputs, nodes in a valid execution order, outputs."""

    def __init__(self, name: str = "graph"):
        self.name = name
        self.inputs: list[Value] = []
        self.nodes: list[Node] = []
        self.outputs: list[Value] = []
        self.output_names: list[str] = []
        # Lines of provenance shown above the printed graph (recompile reasons).
        self.notes: list[str] = []

    # ---- building -------------------------------------------------------------
    def add_input(self, name: str, aval: Aval) -> Value:
        value = Value(aval, None, name)
        self.inputs.append(value)
        return value

    def fresh_input_name(self, text: str) -> str:
        """`text` as an input name the text form accepts (`model.fc.weight`,
        `xs.0`), made unique among this graph's inputs."""
        name = re.sub(r"\.+", ".", re.sub(r"[^\w.]", ".", text)).strip(".")
        if not name or not (name[0].isalpha() or name[0] == "_"):
            name = "_" + name
        taken = {v.name for v in self.inputs}
        base, n = name, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        return name

    def add(self, op: str, inputs=(), attrs=None, loc: SourceLoc | None = None) -> Value:
        """Append `op(*inputs, **attrs)`, typed by the primitive's shape rule."""
        prim = REGISTRY[op]
        attrs = {k: normalize_attr(v) for k, v in (attrs or {}).items()}
        aval = prim.infer(*[v.aval for v in inputs], **attrs)
        return self.append(Node(op, tuple(inputs), attrs, loc), aval)

    def add_kernel(self, body: "Graph", inputs, loc: SourceLoc | None = None) -> Value:
        """Append a kernel node running `body` on `inputs` (see ir/kernel.py)."""
        aval = KERNEL.infer(*[v.aval for v in inputs], body=body)
        return self.append(Node(KERNEL_OP, tuple(inputs), {"body": body}, loc), aval)

    def append(self, node: Node, aval: Aval) -> Value:
        node.out = Value(Aval(tuple(aval.shape), aval.dtype), node)
        self.nodes.append(node)
        return node.out

    def set_outputs(self, values, names=None):
        self.outputs = list(values)
        self.output_names = list(names) if names is not None else [f"out{i}" for i in range(len(values))]

    # ---- reading ----------------------------------------------------------------
    def users(self) -> dict[Value, list[Node]]:
        """Each value's consuming nodes, in order."""
        users: dict[Value, list[Node]] = {v: [] for v in self.inputs}
        for node in self.nodes:
            users[node.out] = []
            for v in node.inputs:
                users.setdefault(v, []).append(node)
        return users

    def structure(self):
        """A plain-data description of the graph, independent of object
        identity and print-time names; graphs compare equal on it."""
        position = {v: ("in", i) for i, v in enumerate(self.inputs)}
        nodes = []
        for i, node in enumerate(self.nodes):
            # A kernel's body takes part through its own structure.
            attrs = tuple(sorted((k, a.structure() if isinstance(a, Graph) else a)
                                 for k, a in node.attrs.items()))
            nodes.append((node.op, tuple(position.get(v, ("?", id(v))) for v in node.inputs),
                          attrs, node.out.aval, node.loc))
            position[node.out] = ("node", i)
        return (self.name, tuple((v.name, v.aval) for v in self.inputs), tuple(nodes),
                tuple(position.get(v, ("?", id(v))) for v in self.outputs), tuple(self.output_names))

    def __eq__(self, other):
        return isinstance(other, Graph) and _same(self.structure(), other.structure())

    __hash__ = None

    def __str__(self):
        from .text import print_graph
        return print_graph(self)

    def __repr__(self):
        return f"<Graph {self.name}: {len(self.inputs)} inputs, {len(self.nodes)} nodes, {len(self.outputs)} outputs>"


def _same(a, b) -> bool:
    """Equality that treats NaN attribute values as equal to themselves."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):  # NaN equals NaN; -0.0 differs from 0.0
        return (a != a and b != b) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return type(a) is type(b) and a == b if isinstance(a, (bool, int, float)) else a == b
