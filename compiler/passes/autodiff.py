"""Reverse-mode autodiff as a graph pass: forward IR -> joint IR.

The joint graph takes the forward inputs plus one cotangent per floating
output (`%out.grad`) and returns the forward outputs plus the gradient of
each requested input (`grad.x`). It is built by walking the forward nodes in
reverse and applying, through `Primitive.input_gradients`, the registry's
derivative rules to IR values (`builder.Sym`): the same rules, the same
broadcast reduction and casts, as eager backward. Gradients of a value used
more than once are summed; no gradient is built for values that do not
depend on a requested input, nor through `stop_gradient`. Every backward node
carries the source location of the forward node it differentiates.
"""
from __future__ import annotations

from ..ir.builder import Builder, Sym
from ..ir.graph import Graph, Node, Value


def needs_gradient(forward: Graph, wrt) -> set[Value]:
    """Floating values that depend on a `wrt` input through differentiable ops."""
    needed = {forward.inputs[i] for i in wrt if forward.inputs[i].dtype.is_floating_point}
    for node in forward.nodes:
        if node.prim.rules and node.out.dtype.is_floating_point and any(v in needed for v in node.inputs):
            needed.add(node.out)
    return needed


def backward_graph(forward: Graph, wrt, name: str | None = None) -> Graph:
    """The joint forward+backward graph; `wrt` lists input positions."""
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

    needed = needs_gradient(forward, wrt)
    grads: dict[Value, Sym] = {}

    def accumulate(value, grad):
        grads[value] = grad if value not in grads else grads[value] + grad

    for out_name, value in zip(forward.output_names, forward.outputs):
        if value.dtype.is_floating_point:
            cotangent = builder.sym(joint.add_input(joint.fresh_input_name(f"{out_name}.grad"), value.aval))
            if value in needed:
                accumulate(value, cotangent)

    for node in reversed(forward.nodes):
        g = grads.get(node.out)
        if g is None:
            continue
        prim = node.prim
        needs = [v in needed for v in node.inputs]
        if not any(needs):
            continue
        builder.loc = node.loc
        syms = [builder.sym(new[v]) for v in node.inputs]
        context = {"g": g, "out": builder.sym(new[node.out]), "shapes": [v.shape for v in node.inputs],
                   **node.attrs}
        if prim.variadic:
            context[prim.inputs[0]] = syms
        else:
            context.update(zip(prim.inputs, syms))
        input_grads = prim.input_gradients(context, needs, context["shapes"], [v.dtype for v in node.inputs])
        for v, grad in zip(node.inputs, input_grads):
            if grad is not None:
                accumulate(v, grad)
    builder.loc = None

    outputs = [new[v] for v in forward.outputs]
    names = list(forward.output_names)
    for i in wrt:
        value = forward.inputs[i]
        grad = grads.get(value)
        if grad is None:  # does not affect any output: PyTorch's zero gradient
            grad = builder.sym(new[value]).new_zeros(value.shape)
        outputs.append(grad.value)
        names.append(f"grad.{value.name}")
    joint.set_outputs(outputs, names)
    return joint

