"""Autograd graph nodes (PyTorch's `grad_fn` objects).

A node's class name is PyTorch's (`MulBackward0`): `type(t.grad_fn).__name__`
and the repr `<MulBackward0 object at 0x...>` match. `next_functions` links a
node to the nodes of its inputs; leaves are reached through `AccumulateGrad`.
"""
from __future__ import annotations

from compiler.ops import Primitive

_sequence = [0]


def peek_sequence() -> int:
    """The number the next node gets: composites compare against it to find
    the nodes they created."""
    return _sequence[0]


def _next_sequence() -> int:
    _sequence[0] += 1
    return _sequence[0] - 1

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class Node:
    """Base of every grad_fn. `next_functions` holds (node, output_nr) per
    input, None where an input needs no gradient."""

    def __init__(self, next_functions):
        self.next_functions = tuple(next_functions)
        self.seq = _next_sequence()
        self._pre_hooks = {}  # output_nr -> [hook(grad) -> grad | None]
        self._retain_hooks = {}  # output_nr -> weakref to the tensor keeping .grad

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def apply(self, grads):
        """Gradients for the inputs, given the gradients of the outputs."""
        raise NotImplementedError

    def release(self) -> None:
        """Free saved values (after a backward without retain_graph)."""

    def register_prehook(self, output_nr, hook):
        hooks = self._pre_hooks.setdefault(output_nr, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)


class _RemovableHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class AccumulateGrad(Node):
    """The sink for a leaf: accumulates into `variable.grad`."""

    def __init__(self, variable):
        super().__init__(())
        self.variable = variable


class SavedTensor:
    """A value a derivative rule reads, checked on use: freed values and
    in-place changes since saving raise PyTorch's errors."""

    __slots__ = ("_tensor", "_data", "_kind", "_version", "_expected", "_dtype", "_freed", "_producer")

    def __init__(self, tensor, is_output: bool):
        self._freed = False
        self._expected = tensor._version_counter.value
        self._version = tensor._version_counter
        self._kind = type(tensor)  # a Tensor or a tracer: `_from_saved` rebuilds the same kind
        if is_output:  # keep data, not the tensor: the tensor owns this node
            self._tensor, self._data, self._dtype = None, tensor._payload(), tensor.dtype
        else:
            self._tensor, self._data, self._dtype = tensor, None, None
        self._producer = tensor.grad_fn.name() if tensor.grad_fn is not None and not is_output else None

    def rebind(self, tensor):
        """An in-place op's output is the mutated tensor itself."""
        self._data, self._version, self._expected = tensor._payload(), tensor._version_counter, tensor._version_counter.value

    def unpack(self, node):
        if self._freed:
            raise RuntimeError(FREED_MESSAGE)
        if self._version.value != self._expected:
            shape = list(self._tensor.shape if self._tensor is not None else self._data.shape)
            dtype = self._tensor.dtype if self._tensor is not None else self._dtype
            owner = f", which is output 0 of {node.name() if self._tensor is None else self._producer}" \
                if (self._tensor is None or self._producer) else ""
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: [torch.{dtype.legacy_name}Tensor {shape}]{owner}, is at version "
                f"{self._version.value}; expected version {self._expected} instead. Hint: enable anomaly "
                "detection to find the operation that failed to compute its gradient, with "
                "torch.autograd.set_detect_anomaly(True).")
        if self._tensor is not None:
            return self._tensor
        return self._kind._from_saved(self._data, self._version, node)

    def free(self):
        self._freed = True
        self._tensor = self._data = self._kind = None


class PrimNode(Node):
    """The grad_fn of one primitive application; its rules come from the registry."""

    def __init__(self, prim: Primitive, attrs, needs, shapes, dtypes_, next_functions, saved):
        super().__init__(next_functions)
        self.prim, self.attrs, self.needs = prim, attrs, needs
        self.shapes, self.dtypes = shapes, dtypes_
        self.saved = saved  # name -> SavedTensor, or list of them for variadic inputs

    def release(self):
        for value in self.saved.values():
            for s in value if isinstance(value, list) else (value,):
                s.free()

    def apply(self, grads):
        g = grads[0]
        if g is None:
            return [None] * len(self.needs)
        context = {"g": g, "shapes": self.shapes, **self.attrs}
        for name, value in self.saved.items():
            context[name] = ([s.unpack(self) for s in value] if isinstance(value, list)
                             else value.unpack(self))
        return self.prim.input_gradients(context, self.needs, self.shapes, self.dtypes)


_classes: dict[tuple[type, str], type] = {}


def node_class(base: type, name: str) -> type:
    """The subclass of `base` named `name` (PyTorch's grad_fn class name)."""
    key = (base, name)
    cls = _classes.get(key)
    if cls is None:
        cls = _classes[key] = type(name, (base,), {"__module__": "torch.autograd.graph"})
    return cls


def rename(node: Node, name: str) -> None:
    """Show a node under another PyTorch name (the name of a composite op)."""
    node.__class__ = node_class(type(node).kind, name)


Node.kind = Node
AccumulateGrad.kind = AccumulateGrad
PrimNode.kind = PrimNode
