"""The IR verifier: checks what passes and the parser can get wrong.

Every value defined once and before use, every op registered with the
attributes and arity it declares, every node's declared type equal to what
its shape rule infers, outputs defined; kernel bodies verify in turn and keep
the kernel contract (ir/kernel.py). Errors print the offending node in IR
text with its source location, and say how to fix it.
"""
from __future__ import annotations

import re

from ..dtypes import DType
from ..ops.registry import REGISTRY
from .graph import Graph, format_aval
from .kernel import KERNEL, KERNEL_OP, body_problem
from .text import Namer, format_node


_INPUT_NAME = re.compile(r"[A-Za-z_][\w.]*")


class VerifyError(ValueError):
    """An ill-formed graph; the message shows the node in IR text."""


def verify(graph: Graph) -> Graph:
    """Raise VerifyError on the first problem; return the graph unchanged."""
    name_of = Namer(graph)
    defined = set()
    names = [v.name for v in graph.inputs]
    for name in names:
        if not isinstance(name, str) or not _INPUT_NAME.fullmatch(name):
            raise VerifyError(f"graph {graph.name}: input name {name!r} is not an identifier "
                              "(letters, digits, '_' and '.', not starting with a digit)")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise VerifyError(f"graph {graph.name}: input %{dup} is declared twice; give each input its own name")
    defined.update(graph.inputs)
    bodies: dict[str, Graph] = {}
    for node in graph.nodes:
        def fail(problem, fix):
            raise VerifyError(f"graph {graph.name}: {problem}\n  {format_node(node, name_of)}\n  {fix}")

        if node.op == KERNEL_OP:
            prim = KERNEL
            _check_kernel(node, bodies, fail)
        else:
            prim = REGISTRY.get(node.op)
            if prim is None:
                fail(f"unknown primitive {node.op!r}", f"registered primitives: {', '.join(sorted(REGISTRY))}")
        for v in node.inputs:
            if v not in defined:
                fail(f"{node.op} reads {name_of(v)} before it is defined",
                     "order nodes so every value is defined above its first use")
        if node.out in defined:
            fail(f"{name_of(node.out)} is defined twice", "SSA values have exactly one definition")
        if prim is not KERNEL:
            _check_signature(node, prim, fail)
        try:
            inferred = prim.infer(*[v.aval for v in node.inputs], **node.attrs)
        except Exception as e:  # noqa: BLE001  (any failure of the rule is the graph's fault)
            fail(f"{node.op}'s shape rule rejects its inputs: {type(e).__name__}: {e}",
                 "check the input types and attributes")
        if not isinstance(inferred.dtype, DType):
            fail(f"{node.op}'s attributes give no valid dtype ({inferred.dtype!r})", "pass a dtype such as f32")
        if tuple(inferred.shape) != node.out.shape or inferred.dtype is not node.out.dtype:
            fail(f"{name_of(node.out)} is declared {format_aval(node.out.aval)} but {node.op} gives "
                 f"{format_aval(inferred)}", "declare the type the shape rule infers")
        defined.add(node.out)
    if len(graph.outputs) != len(graph.output_names):
        raise VerifyError(f"graph {graph.name}: {len(graph.outputs)} outputs but {len(graph.output_names)} names")
    for name, v in zip(graph.output_names, graph.outputs):
        if v not in defined:
            raise VerifyError(f"graph {graph.name}: output {name} is {name_of(v)}, which no node defines")
    return graph


def _check_signature(node, prim, fail):
    if not prim.variadic and len(node.inputs) != len(prim.inputs):
        fail(f"{node.op} takes {len(prim.inputs)} inputs ({', '.join(prim.inputs) or 'none'}), "
             f"got {len(node.inputs)}", "pass one value per declared input")
    if prim.variadic and not node.inputs:
        fail(f"{node.op} needs at least one input", "pass the values to combine")
    if set(node.attrs) != set(prim.attrs):
        fail(f"{node.op} takes attributes {sorted(prim.attrs)}, got {sorted(node.attrs)}",
             "give exactly the declared attributes")


def _check_kernel(node, bodies: dict, fail):
    """The body: a well-formed graph keeping the kernel contract, its name
    naming one body only (`bodies` holds those met so far)."""
    body = node.attrs.get("body")
    if set(node.attrs) != {"body"} or not isinstance(body, Graph):
        fail(f"a kernel node has one attribute, its body graph; got {sorted(node.attrs)}",
             "build kernel nodes with Graph.add_kernel")
    if not isinstance(body.name, str) or not _INPUT_NAME.fullmatch(body.name):
        fail(f"kernel name {body.name!r} is not an identifier", "name kernel bodies k0, k1, ...")
    if body.name in bodies:
        if bodies[body.name] is not body and bodies[body.name] != body:
            fail(f"two different kernel bodies are named {body.name}", "give each kernel body its own name")
        return  # this body was checked already
    bodies[body.name] = body
    try:
        verify(body)
    except VerifyError as e:
        fail(f"kernel @{body.name} has an invalid body: {e}", "fix the body as the message says")
    problem = body_problem(body)
    if problem:
        fail(f"kernel @{body.name} breaks the kernel contract: {problem}",
             "keep in a kernel only elementwise ops, broadcasts, constants and one reduction, "
             "with the reduction's shape after it")
