"""Reverse-mode autodiff as a graph pass: forward IR -> joint IR.

The joint graph takes the forward inputs plus one cotangent per
differentiated output (`%out.grad`) and returns the forward outputs plus the
gradient of each requested input (`grad.x`). It is built by walking the
forward nodes in reverse and applying, through `Primitive.input_gradients`,
the registry's derivative rules to IR values (`builder.Sym`): the same rules,
the same broadcast reduction and casts, as eager backward. Gradients of a
value used more than once are summed; no gradient is built for values that
do not depend on a requested input, nor through `stop_gradient`. Every
backward node carries the source location of the forward node it
differentiates.

Traced programs add two facts the IR alone does not hold (see
`frontend/jit`): which nodes ran with gradients recorded (`through`: ops
under `no_grad` pass no gradient), and which values are the same leaf after
an in-place update under `no_grad` (`sources`: `p -= lr * p.grad` makes a new
value that is still the leaf `p`).
"""
from __future__ import annotations

from ..ir.builder import Builder, Sym
from ..ir.graph import Graph, Node, Value


def needs_gradient(forward: Graph, sources, through=None) -> set[Value]:
    """Floating values that depend on a `sources` value through
    differentiable ops (restricted to node outputs in `through` if given)."""
    needed = {v for v in sources if v.dtype.is_floating_point}
    for node in forward.nodes:
        if node.prim.rules and node.out.dtype.is_floating_point and any(v in needed for v in node.inputs) \
                and (through is None or node.out in through):
            needed.add(node.out)
    return needed


def backward_graph(forward: Graph, wrt, name: str | None = None, *, sources=None, through=None,
                   differentiate=None, unreached: list | None = None) -> Graph:
    """The joint forward+backward graph.

    `wrt` lists input positions; `sources` optionally maps a position to more
    forward values that are that input (a leaf updated in place without
    gradients); `differentiate` lists the output positions that get a
    cotangent input (default: every floating output). Inputs no
    differentiated output depends on get a zero gradient, and their
    positions are appended to `unreached` (eager leaves their `.grad` None)."""
    wrt = list(wrt)
    for i in wrt:
        if not forward.inputs[i].dtype.is_floating_point:
            raise TypeError(f"autodiff: input %{forward.inputs[i].name} is {forward.inputs[i].dtype}; "
                            "only floating-point inputs have gradients")
    joint = Graph(name or f"{forward.name}_joint")
    joint.notes = list(forward.notes)
    builder = Builder(joint)
    new = {v: joint.add_input(v.name, v.aval) for v in forward.inputs}
    for node in forward.nodes:
        copy = Node(node.op, tuple(new[v] for v in node.inputs), dict(node.attrs), node.loc)
        new[node.out] = joint.append(copy, node.out.aval)

    leaves = {i: [forward.inputs[i], *(sources or {}).get(i, ())] for i in wrt}
    needed = needs_gradient(forward, [v for vs in leaves.values() for v in vs], through)
    if differentiate is None:
        differentiate = [k for k, v in enumerate(forward.outputs) if v.dtype.is_floating_point]
    seeds = []
    for k in differentiate:
        value = forward.outputs[k]
        cotangent = joint.add_input(joint.fresh_input_name(f"{forward.output_names[k]}.grad"), value.aval)
        seeds.append((value, builder.sym(cotangent)))
    grads = _reverse_walk(forward, builder, new, seeds, needed, through)

    outputs = [new[v] for v in forward.outputs]
    names = list(forward.output_names)
    for i in wrt:
        parts = [grads[v] for v in leaves[i] if v in grads]
        if not parts and unreached is not None:
            unreached.append(i)
        grad = sum(parts[1:], parts[0]) if parts else builder.sym(new[forward.inputs[i]]).new_zeros(
            forward.inputs[i].shape)  # does not affect any output: PyTorch's zero gradient
        outputs.append(grad.value)
        names.append(f"grad.{forward.inputs[i].name}")
    joint.set_outputs(outputs, names)
    return joint


def _reverse_walk(forward, builder, new, seeds, needed, through) -> dict[Value, Sym]:
    """Each needed forward value's gradient, as joint-graph values, from the
    cotangents `seeds` [(forward output, cotangent Sym)]."""
    grads: dict[Value, Sym] = {}

    def accumulate(value, grad):
        grads[value] = grad if value not in grads else grads[value] + grad

    for value, cotangent in seeds:
        if value in needed:
            accumulate(value, cotangent)
    for node in reversed(forward.nodes):
        g = grads.get(node.out)
        if g is None or (through is not None and node.out not in through):
            continue
        needs = [v in needed for v in node.inputs]
        if not any(needs):
            continue
        builder.loc = node.loc
        syms = [builder.sym(new[v]) for v in node.inputs]
        context = {"g": g, "out": builder.sym(new[node.out]), "shapes": [v.shape for v in node.inputs],
                   **node.attrs}
        if node.prim.variadic:
            context[node.prim.inputs[0]] = syms
        else:
            context.update(zip(node.prim.inputs, syms))
        input_grads = node.prim.input_gradients(context, needs, context["shapes"], [v.dtype for v in node.inputs])
        for v, grad in zip(node.inputs, input_grads):
            if grad is not None:
                accumulate(v, grad)
    builder.loc = None
    return grads
