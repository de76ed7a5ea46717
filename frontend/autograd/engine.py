"""The backward walk shared by `Tensor.backward` and `autograd.grad`.

Nodes run when every node that feeds them a gradient has run (dependency
counts), latest-created first among the ready ones, as PyTorch's engine does.
Gradients of values used several times are summed here; reduction over
broadcast dims and dtype casts happen in `PrimNode.apply`. With
`create_graph` the walk itself is recorded, giving higher-order gradients.
"""
from __future__ import annotations

import heapq

from .grad_mode import set_grad_enabled
from .node import AccumulateGrad, Node


def _edge(tensor):
    """The (node, output_nr) where a tensor's gradient enters the graph."""
    if tensor.grad_fn is not None:
        return tensor.grad_fn, tensor._output_nr
    return tensor._grad_accumulator(), 0


def _reachable(roots):
    """Nodes reachable from `roots`, parents before children (Kahn's order)."""
    seen, stack, nodes = set(), list(roots), []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(n for n, _ in node.next_functions if n is not None and id(n) not in seen)
    indegree = {id(n): 0 for n in nodes}
    for node in nodes:
        for n, _ in node.next_functions:
            if n is not None:
                indegree[id(n)] += 1
    order = [n for n in nodes if indegree[id(n)] == 0]
    for node in order:  # grows while iterating
        for n, _ in node.next_functions:
            if n is not None:
                indegree[id(n)] -= 1
                if indegree[id(n)] == 0:
                    order.append(n)
    return order


def _needed(order, targets):
    """Nodes from which some target can be reached: only these need to run.
    Children come after parents in `order`, so walk it backwards."""
    needed = {}
    for node in reversed(order):
        needed[id(node)] = id(node) in targets or any(
            needed[id(n)] for n, _ in node.next_functions if n is not None)
    return needed


def run_backward(outputs, grad_outputs, *, retain_graph, create_graph, inputs=None,
                 accumulate=True, allow_unused=False):
    """Propagate `grad_outputs` from `outputs`. With `inputs`, only paths to
    them run; when `accumulate` is False their gradients are returned instead
    of added to `.grad` (autograd.grad)."""
    roots = [(_edge(t), g) for t, g in zip(outputs, grad_outputs)]
    targets = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            targets.setdefault(id(_edge(t)[0]), []).append((i, _edge(t)[1], t))
    nodes = _reachable([node for (node, _), _ in roots])
    needed = _needed(nodes, targets) if inputs is not None else None

    def runs(node):
        return needed is None or needed[id(node)]

    dependencies = {}
    for node in nodes:
        if not runs(node):
            continue
        for n, _ in node.next_functions:
            if n is not None and runs(n):
                dependencies[id(n)] = dependencies.get(id(n), 0) + 1

    buffers, ready = {}, []
    for (node, nr), grad in roots:
        slot = buffers.setdefault(id(node), (node, {}))[1]
        slot[nr] = grad if nr not in slot else slot[nr] + grad
    for key, (node, _) in buffers.items():
        if dependencies.get(key, 0) == 0 and runs(node):
            heapq.heappush(ready, (-node.seq, key))

    captured = [None] * (len(inputs) if inputs is not None else 0)
    executed = []
    with set_grad_enabled(create_graph):
        while ready:
            _, key = heapq.heappop(ready)
            node, grads = buffers.pop(key)
            grads = _run_tensor_hooks(node, grads)
            for i, nr, tensor in targets.get(key, ()):
                captured[i] = grads.get(nr)
                if accumulate and tensor.grad_fn is node and grads.get(nr) is not None:
                    tensor._store_retained_grad(grads[nr])  # backward(inputs=[non-leaf])
            if isinstance(node, AccumulateGrad):
                if accumulate and (inputs is None or key in targets):
                    node.variable._accumulate_grad(grads.get(0), create_graph)
                continue
            n_out = 1 + max(grads, default=0)
            in_grads = node.apply([grads.get(i) for i in range(n_out)])
            executed.append(node)
            for (child, nr), grad in zip(node.next_functions, in_grads):
                if child is None or not runs(child):
                    continue
                slot = buffers.setdefault(id(child), (child, {}))[1]
                if grad is not None:
                    slot[nr] = grad if nr not in slot else slot[nr] + grad
                dependencies[id(child)] -= 1
                if dependencies[id(child)] == 0:
                    heapq.heappush(ready, (-child.seq, id(child)))
    if not retain_graph:
        for node in executed:
            node.release()
    if inputs is not None and not accumulate:
        for i, grad in enumerate(captured):
            if grad is None and not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior.")
    return captured


def _run_tensor_hooks(node: Node, grads: dict):
    """Hooks registered on a tensor run before its gradient flows on; a hook
    may return a replacement. retain_grad() stores the result last."""
    for nr, hooks in node._pre_hooks.items():
        if nr not in grads:
            continue
        for hook in list(hooks):
            result = hook(grads[nr])
            if result is not None:
                grads[nr] = result
    for nr, ref in node._retain_hooks.items():
        tensor = ref()
        if tensor is not None and nr in grads:
            tensor._store_retained_grad(grads[nr])
    return grads
