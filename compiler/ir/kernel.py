"""Kernel nodes: a group of fused ops that runs as one unit.

A kernel node is a `Node` with op "kernel" whose `attrs["body"]` is a Graph:
one body input per node input (same avals, in order) and one output, whose
aval is the node's. It stands where its ops stood; the interpreter runs it
by running its body, so every pass stays testable against the plain graph.

The kernel contract, which the fusion pass builds, the verifier checks
(`body_problem`) and the LLVM backend emits as one loop nest:
  * a body holds only *map* ops, computed per output element: elementwise
    ops (casts included), broadcasts (`expand`, and a `reshape` that only
    inserts or removes size-1 dims) and constants (`full`),
  * plus at most one reduction: its prologue (the map ops it reads) may have
    any shape, and every body node that depends on it (its epilogue) has the
    reduction's output shape, up to size-1 dims (`sum(x, 0, keepdim)` then
    a reshape to drop the kept dim), so one loop nest over that shape with
    one inner reduction loop computes the whole body.
"""
from __future__ import annotations

from ..ops.registry import ELEMENTWISE, REGISTRY, Aval, Group

KERNEL_OP = "kernel"
MAP, REDUCE = "map", "reduce"  # the two kinds of ops a kernel body holds


def run_graph(graph, arrays) -> list:
    """Run a graph's nodes on `arrays` (one per input) through each
    primitive's NumPy reference semantics; the interpreter and kernel nodes
    both evaluate through this one loop."""
    env = dict(zip(graph.inputs, arrays))
    for node in graph.nodes:
        env[node.out] = node.prim.evaluate([env[v] for v in node.inputs], node.attrs, node.out.aval)
    return [env[v] for v in graph.outputs]


class KernelPrimitive:
    """What `Node.prim` gives for kernel nodes: the fields passes read of a
    primitive, with the body standing in for the reference semantics."""

    name = KERNEL_OP
    group = None
    attrs = ("body",)
    elementwise = False
    differentiable = False
    views = False

    @property
    def rules(self):
        raise TypeError("autodiff: the graph holds fused kernel nodes, which have no derivative rules; "
                        "differentiate the graph before the fuse pass")

    @staticmethod
    def infer(*avals: Aval, body) -> Aval:
        """The body's output aval, if `avals` match the body's inputs."""
        if len(body.outputs) != 1:
            raise ValueError(f"kernel @{body.name} must return one value, returns {len(body.outputs)}")
        if len(avals) != len(body.inputs):
            raise ValueError(f"kernel @{body.name} takes {len(body.inputs)} inputs, got {len(avals)}")
        from .graph import format_aval  # graph.py imports this module

        for i, (aval, param) in enumerate(zip(avals, body.inputs)):
            if tuple(aval) != tuple(param.aval):
                raise TypeError(f"kernel @{body.name} input {i} (%{param.name}) is "
                                f"{format_aval(param.aval)}, got {format_aval(aval)}")
        return body.outputs[0].aval

    @staticmethod
    def evaluate(arrays, attrs, out: Aval):
        return run_graph(attrs["body"], arrays)[0]

    def __repr__(self):
        return "KernelPrimitive()"


KERNEL = KernelPrimitive()


def same_index_space(shape_a, shape_b) -> bool:
    """Whether the shapes differ in size-1 dims only, so one loop nest walks both."""
    return [d for d in shape_a if d != 1] == [d for d in shape_b if d != 1]


def fusible_kind(node) -> str | None:
    """MAP or REDUCE for ops a kernel may hold, None for the rest (matmul,
    movement, indexing, iota, kernels): they run as their own nodes."""
    prim = REGISTRY.get(node.op)
    if prim is None:
        return None
    if prim.group is Group.REDUCE:
        return REDUCE
    if prim.group in ELEMENTWISE or node.op in ("full", "expand"):
        return MAP
    if node.op == "reshape" and same_index_space(node.inputs[0].shape, node.out.shape):
        return MAP
    return None


def depends_on(graph, value) -> list:
    """The nodes of `graph` that read `value`, directly or not, in order."""
    reached, found = {value}, []
    for node in graph.nodes:
        if any(v in reached for v in node.inputs):
            reached.add(node.out)
            found.append(node)
    return found


def body_problem(body) -> str | None:
    """What breaks the kernel contract in `body`, or None."""
    for node in body.nodes:
        if fusible_kind(node) is None:
            return (f"{node.op} cannot be part of a kernel (kernels hold elementwise ops, broadcasts, "
                    "constants and at most one reduction)")
    reductions = [n for n in body.nodes if fusible_kind(n) == REDUCE]
    if len(reductions) > 1:
        return f"{len(reductions)} reductions ({', '.join(n.op for n in reductions)}); a kernel holds at most one"
    if reductions:
        (r,) = reductions
        for node in depends_on(body, r.out):
            if not same_index_space(node.out.shape, r.out.shape):
                return (f"{node.op} reads the reduction {r.op} and has shape {list(node.out.shape)}; "
                        f"every node after the reduction must have its shape {list(r.out.shape)} "
                        "(up to size-1 dims)")
    return None


def kernel_bodies(graph) -> dict:
    """The bodies `graph`'s kernel nodes run, by name, in order of first use."""
    bodies = {}
    for node in graph.nodes:
        if node.op == KERNEL_OP:
            bodies.setdefault(node.attrs["body"].name, node.attrs["body"])
    return bodies
