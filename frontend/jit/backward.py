"""Compiled forward, compiled backward (DESIGN.md §2, use 1).

When a traced call's outputs require grad, the autodiff pass turns the
traced graph into a joint forward+backward graph and the min-cut partition
splits it: the forward graph also returns the values the backward needs
(saved), and the backward graph maps saved values and the outputs'
cotangents to the inputs' gradients. Each run attaches one
`CompiledFunctionBackward` node (PyTorch's name for the same thing) to the
outputs that need gradients; the eager engine calls it like any grad_fn, so
accumulation into leaves, hooks, `retain_graph` and the error on a second
backward behave exactly as in eager.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np

from compiler.ir import Graph
from compiler.ir.text import Namer
from compiler.passes import run_pipeline, stage_cache
from compiler.passes.autodiff import backward_graph
from compiler.passes.pipeline import training_graphs
from compiler.passes.stage_cache import Derived

from ..autograd.engine import _edge
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.node import FREED_MESSAGE, Node, PrimNode, SavedTensor, node_class
from ..tensor import Tensor
from .runner import runner

DOUBLE_BACKWARD = ("backward(create_graph=True) through a compiled function: its backward graph runs "
                   "natively and records no history; call the function uncompiled (`f.fn`) for "
                   "higher-order gradients, or take them inside the compiled function")


@dataclass
class BackwardPlan:
    joint: Graph
    forward: Graph  # graph inputs -> graph outputs + saved values (fused)
    backward: Graph  # saved values + cotangents -> gradients of `wrt` (fused)
    differentiate: list[int]  # graph outputs that get the grad_fn
    wrt: list[int]  # graph inputs that receive gradients
    n_outputs: int
    saved_inputs: dict[int, int]  # saved value number -> graph input it is
    run_backward: object = None  # the backward graph as a callable on arrays (runner.py)


def backward_stages(graph: Graph, trace, differentiate: list[int], cache=None) -> Derived:
    """The joint, forward and backward graphs of the traced `graph`,
    differentiated at outputs `differentiate` with respect to every input
    whose tensor requires grad; `decided["wrt"]` lists the inputs that get
    gradients. From the stage cache (`cache`, a DiskCache) when it has them."""
    tracers = [trace.input_tracers.get(v) for v in graph.inputs]
    wrt = [i for i, t in enumerate(tracers) if t is not None and t.requires_grad]
    sources = {i: trace.leaf_versions.get(tracers[i], []) for i in wrt}
    passes = functools.partial(_training_stages, graph, wrt, sources, trace.recorded, differentiate)
    return stage_cache.derive(graph, passes, cache, _reads(graph, wrt, sources, trace.recorded, differentiate))


def _training_stages(graph, wrt, sources, through, differentiate, timings):
    """stage_cache.Passes for backward_stages: autodiff, the optimizing
    passes, the min cut and fusion."""
    start = time.perf_counter()

    def joint_graph(wrt, unreached=None):
        return backward_graph(graph, wrt, f"{graph.name}_joint", sources=sources, through=through,
                              differentiate=differentiate, unreached=unreached)
    unreached = []
    joint = joint_graph(wrt, unreached)
    if unreached and len(unreached) < len(wrt):  # no edge to them: their .grad stays as eager leaves it
        wrt = [i for i in wrt if i not in unreached]
        joint = joint_graph(wrt)
    joint = run_pipeline(joint)
    split = training_graphs(joint, len(graph.inputs), len(graph.outputs))
    timings["joint+forward+backward"] = time.perf_counter() - start
    return {"joint": joint, "forward": split.forward, "backward": split.backward}, {"wrt": wrt}


def _reads(graph, wrt, sources, through, differentiate) -> dict:
    """What the autodiff pass reads beside `graph`, with values named as the
    graph's text names them (`%x`, `%12`): the stage cache's key holds it."""
    name_of = Namer(graph)
    return {"wrt": wrt, "differentiate": differentiate,
            "sources": {i: [name_of(v) for v in values] for i, values in sources.items()},
            "through": [i for i, node in enumerate(graph.nodes) if node.out in through]}


def plan_backward(derived: Derived, differentiate: list[int], n_outputs: int, backend: str) -> BackwardPlan:
    """The compiled backward of `backward_stages`' graphs; it runs on `backend`."""
    forward, backward = derived.graphs["forward"], derived.graphs["backward"]
    position = {v: i for i, v in enumerate(forward.inputs)}
    saved = forward.outputs[n_outputs:]
    saved_inputs = {j: position[v] for j, v in enumerate(saved) if v in position}
    return BackwardPlan(derived.graphs["joint"], forward, backward, differentiate, derived.decided["wrt"], n_outputs,
                        saved_inputs, runner(backward, backend))


class CompiledBackward(Node):
    """The grad_fn of a compiled call's outputs; see the module docstring."""

    def __init__(self, plan: BackwardPlan, saved: list, next_functions):
        super().__init__(next_functions)
        self.plan, self.saved = plan, saved

    def apply(self, grads):
        if self.saved is None:
            raise RuntimeError(FREED_MESSAGE)
        if is_grad_enabled():
            raise RuntimeError(DOUBLE_BACKWARD)
        arrays = [s.unpack(self)._data if isinstance(s, SavedTensor) else s for s in self.saved]
        cotangents = []
        for nr, k in enumerate(self.plan.differentiate):
            aval = self.plan.forward.outputs[k].aval
            g = grads[nr] if nr < len(grads) else None
            cotangents.append(np.zeros(aval.shape, aval.dtype.np) if g is None
                              else np.asarray(g._data, aval.dtype.np))
        return [Tensor._wrap(r) for r in self.plan.run_backward(arrays + cotangents)]

    def release(self):
        self.saved = None


CompiledBackward.kind = CompiledBackward
_NODE = node_class(CompiledBackward, "CompiledFunctionBackward")


def attach(plan: BackwardPlan, results, outputs: list[Tensor], inputs: list[Tensor]):
    """Give `outputs` (graph outputs, as tensors) one grad_fn for this run;
    `results` are the forward graph's arrays and `inputs` the graph inputs'
    tensors (None where the input is not a tensor of the caller's)."""
    by_array = {id(t._data): t for t in outputs}
    saved = []
    for j, array in enumerate(results[plan.n_outputs:]):
        if j in plan.saved_inputs:  # checked on use: an in-place change since raises as eager does
            source = inputs[plan.saved_inputs[j]]  # a constant made inside the function is its array
            saved.append(source if isinstance(source, np.ndarray) else SavedTensor(source, False))
        elif id(array) in by_array:
            saved.append(SavedTensor(by_array[id(array)], True))
        else:
            saved.append(array)
    node = _NODE(plan, saved, [_edge(inputs[i]) for i in plan.wrt])
    for nr, k in enumerate(plan.differentiate):
        outputs[k].grad_fn, outputs[k]._output_nr = node, nr
    return node


def history_freed(grad_fn) -> bool:
    """Whether a backward() inside the traced function freed values this
    history needs (so a backward outside must raise, as eager's would)."""
    seen, stack = set(), [grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        for value in node.saved.values() if isinstance(node, PrimNode) else ():
            if any(s._freed for s in (value if isinstance(value, list) else [value])):
                return True
        stack.extend(n for n, _ in node.next_functions)
    return False


def freed_node() -> Node:
    """The grad_fn of an output whose history was freed inside: backward raises."""
    return _NODE(None, None, ())
