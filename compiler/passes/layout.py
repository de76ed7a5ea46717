"""Layout: a matmul whose result is only read transposed computes the
transpose instead, `permute(a @ b) -> b^T @ a^T` (XLA's algebraic
simplifier does the same).

Why: backward of `x @ w.T` (every nn.Linear) makes the weight's gradient as
`(x^T @ g)^T`. The matmul itself takes any strides for free (the GEMM packs
its operands), but the transposed result then feeds elementwise kernels, the
optimizer's update, that walk it a column at a time: on a 512x784 float32
gradient that read costs 13x the contiguous one. After the rewrite the
transposes sit on the matmul's operands, where they cost nothing.

Not bit-exact, so it is not part of simplification: every element still
sums the same products over k in the same order in our GEMM's blocked form,
but the matrix-vector forms (and NumPy's BLAS in the interpreter) may add
in another order. Matmul is an inexact op for every equivalence test.
"""
from __future__ import annotations

from collections import Counter

from ..ir.graph import Graph
from .cleanup import dce, rebuild


def _swaps_last_two(perm) -> bool:
    n = len(perm)
    return n >= 2 and tuple(perm) == (*range(n - 2), n - 1, n - 2)


def _transposed(out: Graph, v, loc):
    """v with its last two dims swapped: a permute, or what a permute of it undoes."""
    if v.node is not None and v.node.op == "permute" and _swaps_last_two(v.node.attrs["perm"]):
        return v.node.inputs[0]
    n = len(v.shape)
    return out.add("permute", (v,), {"perm": (*range(n - 2), n - 1, n - 2)}, loc)


def transpose_matmuls(graph: Graph) -> Graph:
    """permute(matmul(a, b)) -> matmul(b^T, a^T) where the permute swaps the
    last two dims and the matmul has no other use."""
    uses = Counter(v for node in graph.nodes for v in node.inputs)
    uses.update(graph.outputs)

    def rewrite(out, node, inputs):
        if node.op != "permute" or not _swaps_last_two(node.attrs["perm"]) or uses[node.inputs[0]] != 1:
            return None
        product = inputs[0].node
        if product is None or product.op != "matmul":  # (the primitive's operands are 2-D or batched)
            return None
        a, b = product.inputs
        return out.add("matmul", (_transposed(out, b, node.loc), _transposed(out, a, node.loc)), {}, product.loc)

    return dce(rebuild(graph, lambda node: True, lambda v: v, rewrite))
