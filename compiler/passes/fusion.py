"""Fusion: group ops into kernel nodes, each to run as one loop nest.

The kernel contract (ir/kernel.py, checked by the verifier): a kernel has one
output; its body holds map ops (elementwise ops and casts, broadcasts,
constants) and at most one reduction; the map ops feeding the reduction (its
prologue) may have any shape, and every node that reads the reduction (its
epilogue) has the reduction's output shape (up to size-1 dims). The LLVM
backend emits such a body as one loop nest over the output shape with one
inner reduction loop.
Everything else (matmul, other movement ops, gather, scatter_add, iota and
existing kernels) stays a node of its own and never joins a kernel: fusion
never crosses a matmul.

Grouping is choosing which values to *materialize* (store to memory); each
one roots a kernel. Nodes are visited in reverse schedule order, so all
users of a node are decided before it. A value is materialized when it is a
graph output, has no users, is read by an opaque node, or is read by a
kernel that did not absorb it. A root grows backward over its producers,
highest schedule position first (so every in-kernel user of a producer is
settled before the producer is considered):

* a map op all of whose users are in this kernel, and in no other, is absorbed;
* a map op used elsewhere too is duplicated into this kernel (recomputing a
  few flops is cheaper than a round trip through memory on a CPU), at most
  DUPLICATION_BUDGET nodes per kernel so work cannot blow up; constants are
  free;
* a reduction is absorbed only if the kernel has none yet, all its users are
  in this kernel and no other (a reduction is never computed twice), and
  every kernel node reading it has its output shape: `x - amax(x, keepdim)`
  broadcasts the maximum back up, so the amax ends its kernel (materialized).

When a value absorbed by some kernels turns out to be materialized, those
kernels shrink to read it instead; finally each kernel body is the backward
closure of its root stopping at materialized values, so no kernel
recomputes a value that is stored anyway. Refusals are logged (logger
`jitgrad.fusion`, DEBUG) with their reason.

A kernel's only value read outside it is its root, so contracting kernels
cannot create a cycle (a cycle through a kernel would be a cycle through its
root in the original graph); `check_acyclic` proves it with networkx on
every result. The same rule splits `a = f(x); b = a @ w; c = a + b`: `a` is
read by the matmul, so it is materialized and is not part of `c`'s kernel.
"""
from __future__ import annotations

import heapq
import logging
from collections import defaultdict

import networkx as nx

from ..ir.graph import Graph, Node
from ..ir.kernel import KERNEL_OP, REDUCE, fusible_kind, kernel_bodies, same_index_space
from ..ir.text import Namer
from ..ops import Group

log = logging.getLogger("jitgrad.fusion")

DUPLICATION_BUDGET = 8  # nodes a kernel may recompute that other kernels also compute


def fuse(graph: Graph) -> Graph:
    """`graph` with every map op and reduction inside a kernel node."""
    kernels = _Grouping(graph).kernels()
    check_acyclic(graph, kernels)
    return _build(graph, kernels)


# ---- grouping -----------------------------------------------------------------------------------
class _Grouping:
    """The reverse walk choosing roots, with each kernel's provisional members."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.position = {node: i for i, node in enumerate(graph.nodes)}
        self.users = graph.users()
        self.kind = {node: fusible_kind(node) for node in graph.nodes}
        self.outputs = set(graph.outputs)
        self.roots: set[Node] = set()
        self.members: dict[Node, set[Node]] = {}  # root -> its kernel's nodes
        self.owners: dict[Node, set[Node]] = defaultdict(set)  # node -> roots of the kernels holding it

    def kernels(self) -> dict[Node, set[Node]]:
        """Each root's kernel, in schedule order."""
        for node in reversed(self.graph.nodes):
            if self.kind[node] is not None and self._stored(node):
                self._materialize(node)
        return {n: self._closure(n, self.members[n]) for n in self.graph.nodes if n in self.roots}

    def _stored(self, node: Node) -> bool:
        """Whether `node`'s value must be materialized (its users are all decided)."""
        users = self.users[node.out]
        return (node.out in self.outputs or not users or any(self.kind[u] is None for u in users)
                or any(node not in self.members[k] for u in users for k in self.owners[u]))

    def _materialize(self, node: Node):
        self.roots.add(node)
        for root in list(self.owners[node]):  # they absorbed it: they read it now
            kept = self._closure(root, self.members[root])
            for dropped in self.members[root] - kept:
                self.owners[dropped].discard(root)
            self.members[root] = kept
        self._grow(node)

    def _closure(self, root: Node, allowed: set[Node]) -> set[Node]:
        """`root` and the `allowed` nodes it reads, transitively, up to materialized values."""
        found, stack = {root}, [root]
        while stack:
            for v in stack.pop().inputs:
                p = v.node
                if p is not None and p in allowed and p not in found and p not in self.roots:
                    found.add(p)
                    stack.append(p)
        return found

    def _grow(self, root: Node):
        members = self.members[root] = {root}
        self.owners[root].add(root)
        reduction = root if self.kind[root] == REDUCE else None
        budget = DUPLICATION_BUDGET
        heap, seen = [], set()

        def push_producers(node):
            for v in node.inputs:
                if v.node is not None and v.node not in seen:
                    seen.add(v.node)
                    heapq.heappush(heap, (-self.position[v.node], v.node))

        push_producers(root)
        while heap:
            _, node = heapq.heappop(heap)
            refusal, duplicated = self._refusal(node, root, reduction, budget)
            if refusal:
                log.debug("kernel rooted at %s %s: not fusing %s: %s", self.position[root], root.op,
                          self.position[node], refusal)
                continue
            members.add(node)
            self.owners[node].add(root)
            budget -= duplicated
            if self.kind[node] == REDUCE:
                reduction = node
            push_producers(node)

    def _refusal(self, node: Node, root: Node, reduction, budget) -> tuple[str | None, bool]:
        """Why `node` cannot join `root`'s kernel (None if it can), and
        whether joining duplicates it (costs budget)."""
        kind, users = self.kind[node], self.users[node.out]
        if kind is None:
            return f"{node.op} is not fusible", False
        if node.out in self.outputs:
            return "a graph output is stored anyway", False
        opaque = next((u for u in users if self.kind[u] is None), None)
        if opaque is not None:
            return f"read by {opaque.op}, so stored anyway", False
        exclusive = all(u in self.members[root] and self.owners[u] == {root} for u in users)
        if kind == REDUCE:
            return self._reduction_refusal(node, root, reduction, exclusive), False
        if exclusive or node.op == "full":
            return None, False
        return (None, True) if budget > 0 else ("duplication budget spent", False)

    def _reduction_refusal(self, node: Node, root: Node, reduction, exclusive) -> str | None:
        if reduction is not None:
            return f"the kernel already holds a reduction ({reduction.op})"
        if not exclusive:
            return "read outside this kernel, and a reduction is never computed twice"
        later = sorted((m for m in self.members[root] if self.position[m] > self.position[node]),
                       key=self.position.get)
        reached = {node.out}
        for m in later:
            if any(v in reached for v in m.inputs):
                if not same_index_space(m.out.shape, node.out.shape):
                    return (f"{m.op} reads it at shape {list(m.out.shape)}, not the reduced shape "
                            f"{list(node.out.shape)}")
                reached.add(m.out)
        return None


# ---- the cycle check ------------------------------------------------------------------------------
def check_acyclic(graph: Graph, kernels: dict[Node, set[Node]]) -> None:
    """Raise AssertionError, naming the cycle, if contracting each kernel
    (root -> its nodes) to one vertex makes the graph cyclic."""
    holders = defaultdict(list)  # node -> the vertices computing it
    for root, members in kernels.items():
        for node in members:
            holders[node].append(root)
    vertices = dict(kernels)
    vertices.update({node: {node} for node in graph.nodes if not holders[node]})
    quotient = nx.DiGraph()
    quotient.add_nodes_from(vertices)
    for vertex, members in vertices.items():
        for node in members:
            for v in node.inputs:
                if v.node is not None and v.node not in members:
                    quotient.add_edges_from((h, vertex) for h in holders[v.node] or [v.node])
    if not nx.is_directed_acyclic_graph(quotient):
        name_of = Namer(graph)
        cycle = " -> ".join(f"{name_of(a.out)} ({'kernel' if a in kernels else a.op})"
                            for a, _ in nx.find_cycle(quotient))
        raise AssertionError(f"fusion of graph {graph.name} would create a cycle: {cycle}")


# ---- building the fused graph -----------------------------------------------------------------
def _build(graph: Graph, kernels: dict[Node, set[Node]]) -> Graph:
    out = Graph(graph.name)
    out.notes = list(graph.notes)
    new = {v: out.add_input(v.name, v.aval) for v in graph.inputs}
    names = _kernel_names(graph)
    position = {node: i for i, node in enumerate(graph.nodes)}
    for node in graph.nodes:
        if node in kernels:
            body, reads = _body(next(names), node, sorted(kernels[node], key=position.get))
            new[node.out] = out.add_kernel(body, [new[v] for v in reads], node.loc)
        elif fusible_kind(node) is None:
            new[node.out] = _copy(out, node, new)
    out.set_outputs([new[v] for v in graph.outputs], graph.output_names)
    return out


def _kernel_names(graph: Graph):
    """k0, k1, ... skipping names the graph's kernels already have."""
    taken, i = set(kernel_bodies(graph)), 0
    while True:
        if f"k{i}" not in taken:
            yield f"k{i}"
        i += 1


def _body(name: str, root: Node, members: list[Node]):
    """The kernel body (`members` in schedule order) and the outer values it
    reads, in order of first read."""
    body, new, reads = Graph(name), {}, []
    for node in members:
        for v in node.inputs:
            if v not in new:
                new[v] = body.add_input(f"in{len(reads)}", v.aval)
                reads.append(v)
        new[node.out] = _copy(body, node, new)
    body.set_outputs([new[root.out]])
    return body, reads


def _copy(graph: Graph, node: Node, new):
    return graph.append(Node(node.op, tuple(new[v] for v in node.inputs), dict(node.attrs), node.loc),
                        node.out.aval)


# ---- the summary the CLI prints -----------------------------------------------------------------
def kernel_summary(graph: Graph) -> str:
    """`3 kernels (2 with a reduction), 1 matmul, 0 other ops`."""
    kernels = [n for n in graph.nodes if n.op == KERNEL_OP]
    reducing = sum(any(fusible_kind(b) == REDUCE for b in k.attrs["body"].nodes) for k in kernels)
    matmuls = sum(n.prim.group is Group.MATMUL for n in graph.nodes)
    others = sorted({n.op for n in graph.nodes if n.op != KERNEL_OP and n.prim.group is not Group.MATMUL})
    n_other = len(graph.nodes) - len(kernels) - matmuls
    text = f"{_count(len(kernels), 'kernel')} ({reducing} with a reduction), {_count(matmuls, 'matmul')}, "
    return text + _count(n_other, "other op") + (f" ({', '.join(others)})" if others else "")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
