"""Other views of a graph: a networkx DiGraph for analyses (fusion grouping,
min-cut partitioning, cycle checks) and Graphviz DOT text for people."""
from __future__ import annotations

import networkx as nx

from .graph import Graph, format_aval
from .text import Namer


def to_networkx(graph: Graph) -> nx.DiGraph:
    """One vertex per value, keyed by its print-time name ('%x', '%3'); an
    edge from each input value to each value computed from it. Vertex data:
    `op` ('input' for graph inputs), `aval`, `loc`, `node` (None for inputs),
    `output` (the output name, if returned)."""
    name_of = Namer(graph)
    g = nx.DiGraph(name=graph.name)
    for v in graph.inputs:
        g.add_node(name_of(v), op="input", aval=v.aval, loc=None, node=None, output=None)
    for node in graph.nodes:
        key = name_of(node.out)
        g.add_node(key, op=node.op, aval=node.out.aval, loc=node.loc, node=node, output=None)
        for i, v in enumerate(node.inputs):
            g.add_edge(name_of(v), key, operand=i)
    for name, v in zip(graph.output_names, graph.outputs):
        g.nodes[name_of(v)]["output"] = name
    return g


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph) -> str:
    """DOT text: inputs as ellipses, ops as boxes labelled with their type and
    source line, outputs highlighted."""
    g = to_networkx(graph)
    lines = [f"digraph {_quote(graph.name)} {{", "  rankdir=TB;", '  node [fontname="monospace"];']
    for key, data in g.nodes(data=True):
        label = [f"{key} {data['op']}", format_aval(data["aval"])]
        if data["loc"] is not None:
            label.append(str(data["loc"]))
        if data["output"] is not None:
            label.append(f"-> {data['output']}")
        shape = "ellipse" if data["op"] == "input" else "box"
        style = ', style=bold, color="blue"' if data["output"] is not None else ""
        text = '"' + "\\n".join(_quote(part)[1:-1] for part in label) + '"'
        lines.append(f"  {_quote(key)} [shape={shape}, label={text}{style}];")
    for a, b, data in g.edges(data=True):
        lines.append(f"  {_quote(a)} -> {_quote(b)} [label={data['operand']}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
