"""Clean-up passes every pipeline runs: common-subexpression elimination and
dead-code elimination. All primitives are pure, so both are a few lines.
Both return their input graph itself when they have nothing to remove, so a
pass that runs them to a fixpoint sees "no change" without comparing graphs."""
from __future__ import annotations

from ..ir.graph import Graph, Node, Value


def rebuild(graph: Graph, keep, replace, rewrite=None) -> Graph:
    """A copy of `graph` with the nodes for which `keep(node)` holds, reading
    `replace(value)` wherever the original read `value`. `rewrite(out, node,
    inputs)` may return a value of the copy `out` to stand for `node` instead
    of a copy of it (None: copy), so rewriting passes build graphs the same way."""
    out = Graph(graph.name)
    out.notes = list(graph.notes)
    new = {v: out.add_input(v.name, v.aval) for v in graph.inputs}
    for node in graph.nodes:
        if keep(node):
            inputs = tuple(new[replace(v)] for v in node.inputs)
            value = rewrite(out, node, inputs) if rewrite is not None else None
            if value is None:
                value = out.append(Node(node.op, inputs, dict(node.attrs), node.loc), node.out.aval)
            new[node.out] = value
    out.set_outputs([new[replace(v)] for v in graph.outputs], graph.output_names)
    return out


def dce(graph: Graph) -> Graph:
    """Drop nodes no output depends on (`graph` itself when none is dead)."""
    live: set[Value] = set(graph.outputs)
    for node in reversed(graph.nodes):
        if node.out in live:
            live.update(node.inputs)
    if all(node.out in live for node in graph.nodes):
        return graph
    return rebuild(graph, lambda node: node.out in live, lambda v: v)


def _attr_key(value):
    """Equal keys for equal attributes only: True is not 1, -0.0 is not 0.0,
    and every NaN equals every NaN (so the pass is the same after a text round trip)."""
    if isinstance(value, tuple):
        return tuple(map(_attr_key, value))
    return (type(value).__name__, value.hex() if isinstance(value, float) else value)


def cse(graph: Graph) -> Graph:
    """Merge nodes applying the same op to the same values with equal
    attributes; the first one (and its source location) is kept (`graph`
    itself when nothing merges)."""
    canonical: dict[Value, Value] = {}
    seen: dict[tuple, Value] = {}
    for node in graph.nodes:
        inputs = tuple(canonical.get(v, v) for v in node.inputs)
        key = (node.op, inputs, tuple(sorted((k, _attr_key(v)) for k, v in node.attrs.items())))
        try:
            canonical[node.out] = seen.setdefault(key, node.out)
        except TypeError:  # an unhashable attribute: leave the node alone
            canonical[node.out] = node.out
    if all(canonical[node.out] is node.out for node in graph.nodes):
        return graph
    return rebuild(graph, lambda node: canonical[node.out] is node.out, lambda v: canonical.get(v, v))
