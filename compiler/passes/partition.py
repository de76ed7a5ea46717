"""Split a joint forward+backward graph into a forward graph, which also
returns the values the backward needs ("saved"), and a backward graph that
starts from those values and the cotangents.

What to save is a minimum cut (networkx) in a flow network over the forward
values: each value costs its size in bytes to save; the network's source
feeds the primal inputs and every value that is not cheap to recompute
(matmul, reductions, gathers), and every forward value a backward node reads
drains into the sink. Any source-to-sink path must cross a saved value, so
the backward can recompute the rest (elementwise and movement ops) from what
was saved; the cut keeps the saved bytes minimal, preferring inputs (alive
anyway) on ties. This is the idea of
AOTAutograd's min-cut rematerialization partitioner, on our IR.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx

from ..ir.graph import Graph, Node, Value
from ..ops import Group
from .cleanup import dce

# Ops the backward may recompute instead of saving their result.
RECOMPUTABLE = frozenset({Group.UNARY, Group.BINARY, Group.TERNARY, Group.MOVEMENT, Group.SOURCE})


@dataclass
class Split:
    """`forward`: primal inputs -> forward outputs + saved values.
    `backward`: saved values + cotangents -> gradients."""

    forward: Graph
    backward: Graph
    n_saved: int


def nbytes(value: Value) -> int:
    return math.prod(value.shape) * value.dtype.np.itemsize


def partition(joint: Graph, n_primals: int, n_outputs: int) -> Split:
    """Split `joint`, whose first `n_primals` inputs are the forward inputs
    (the rest cotangents) and first `n_outputs` outputs the forward outputs
    (the rest gradients)."""
    forward_nodes = _ancestors(joint, joint.outputs[:n_outputs])
    backward_nodes = [n for n in joint.nodes if n not in forward_nodes]
    saved = _min_cut(joint.inputs[:n_primals], [n for n in joint.nodes if n in forward_nodes],
                     backward_nodes, joint.outputs[n_outputs:])
    forward = _forward_graph(joint, n_primals, n_outputs, saved)
    backward = _backward_graph(joint, n_primals, n_outputs, saved)
    return Split(forward, backward, len(saved))


def _ancestors(graph: Graph, values, stop=()) -> set[Node]:
    """The nodes `values` are computed from, not looking past `stop`."""
    live, nodes = set(values), set()
    for node in reversed(graph.nodes):
        if node.out in live and node.out not in stop:
            nodes.add(node)
            live.update(node.inputs)
    return nodes


def _min_cut(primals, forward_nodes, backward_nodes, gradients) -> list[Value]:
    """The forward values to save, in graph order: what the backward nodes
    read, or returns as a gradient, must be saved or recomputable from saved."""
    flow = nx.DiGraph()
    flow.add_nodes_from(["source", "sink"])
    candidates = list(primals) + [n.out for n in forward_nodes]
    for v in primals:  # saving an input costs its bytes (it stays alive longer) ...
        flow.add_edge((v, "in"), (v, "out"), capacity=nbytes(v))
    for node in forward_nodes:  # ... an intermediate its bytes and a store: ties go to inputs
        flow.add_edge((node.out, "in"), (node.out, "out"), capacity=nbytes(node.out) + 1)
    for v in primals:
        flow.add_edge("source", (v, "in"))  # no capacity: infinite
    for node in forward_nodes:
        if node.prim.group not in RECOMPUTABLE:
            flow.add_edge("source", (node.out, "in"))
        for v in node.inputs:
            flow.add_edge((v, "out"), (node.out, "in"))
    forward_values = set(candidates)
    for v in [v for node in backward_nodes for v in node.inputs] + list(gradients):
        if v in forward_values:
            flow.add_edge((v, "out"), "sink")
    _, (reachable, _) = nx.minimum_cut(flow, "source", "sink")
    return [v for v in candidates if (v, "in") in reachable and (v, "out") not in reachable]


def _saved_name(value: Value, index: int) -> str:
    return value.name if value.node is None else f"saved{index}"


def _forward_graph(joint, n_primals, n_outputs, saved) -> Graph:
    forward = Graph(f"{joint.name.removesuffix('_joint')}_forward")
    forward.notes = list(joint.notes)
    new = {v: forward.add_input(v.name, v.aval) for v in joint.inputs[:n_primals]}
    needed = _ancestors(joint, list(joint.outputs[:n_outputs]) + saved)
    for node in joint.nodes:
        if node in needed:
            new[node.out] = forward.append(_copy(node, new), node.out.aval)
    names = list(joint.output_names[:n_outputs]) + [f"saved.{_saved_name(v, i)}" for i, v in enumerate(saved)]
    forward.set_outputs([new[v] for v in list(joint.outputs[:n_outputs]) + saved], names)
    return dce(forward)


def _backward_graph(joint, n_primals, n_outputs, saved) -> Graph:
    backward = Graph(f"{joint.name.removesuffix('_joint')}_backward")
    new = {v: backward.add_input(_saved_name(v, i), v.aval) for i, v in enumerate(saved)}
    for v in joint.inputs[n_primals:]:
        new[v] = backward.add_input(v.name, v.aval)
    grads = joint.outputs[n_outputs:]
    needed = _ancestors(joint, grads, stop=new)
    for node in joint.nodes:
        if node in needed:
            missing = [v for v in node.inputs if v not in new]
            if missing:  # the cut guarantees this cannot happen; say so loudly if it does
                raise AssertionError(f"partition of {joint.name}: backward reads unsaved input %{missing[0].name}")
            new[node.out] = backward.append(_copy(node, new), node.out.aval)
    backward.set_outputs([new[v] for v in grads], joint.output_names[n_outputs:])
    return backward


def _copy(node: Node, new) -> Node:
    return Node(node.op, tuple(new[v] for v in node.inputs), dict(node.attrs), node.loc)
