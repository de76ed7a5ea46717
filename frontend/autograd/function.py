"""`autograd.Function`: user-defined ops with their own backward. The ctx
object is the grad_fn node, as in PyTorch (`<MyFnBackward object at ...>`)."""
from __future__ import annotations

from compiler.ops.registry import fit_gradient

from .grad_mode import is_grad_enabled, no_grad
from .node import Node, SavedTensor, node_class


class FunctionCtx(Node):
    """What `forward` gets as `ctx` and what `backward` reads back."""

    def __init__(self):
        super().__init__(())
        self._saved = []
        self.needs_input_grad = ()
        self._non_differentiable = set()
        self._materialize_grads = True
        self._function = None
        self._tensor_positions = ()
        self._output_meta = ()

    def save_for_backward(self, *tensors):
        self._saved = [SavedTensor(t, False) if t is not None else None for t in tensors]

    @property
    def saved_tensors(self):
        return tuple(s.unpack(self) if s is not None else None for s in self._saved)

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        """Accepted for compatibility; in-place custom functions are not tracked specially."""

    def set_materialize_grads(self, value: bool):
        self._materialize_grads = bool(value)

    def release(self):
        for s in self._saved:
            if s is not None:
                s.free()

    def apply(self, grads):
        from ..creation import zeros
        if self._materialize_grads:
            grads = [g if g is not None else zeros(shape, dtype=dtype)
                     for g, (shape, dtype) in zip(grads + [None] * (len(self._output_meta) - len(grads)),
                                                  self._output_meta)]
        result = self._function.backward(self, *grads)
        result = result if isinstance(result, tuple) else (result,)
        if len(result) < len(self.needs_input_grad):
            raise RuntimeError(
                f"function {type(self).__name__} returned an incorrect number of gradients "
                f"(expected {len(self.needs_input_grad)}, got {len(result)})")
        per_tensor = [result[p] for p in self._tensor_positions]
        return [(fit_gradient(g, meta[0], meta[1]) if g is not None else None)
                for g, meta in zip(per_tensor, self._input_meta)]


FunctionCtx.kind = FunctionCtx


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`;
    call with `MyFn.apply(*args)`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("autograd.Function subclasses must implement forward")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("autograd.Function subclasses must implement backward")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor
        ctx = node_class(FunctionCtx, f"{cls.__name__}Backward")()
        ctx._function = cls
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outputs = (outputs,) if single else outputs
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in positions]
        if is_grad_enabled() and any(t.requires_grad for t in tensors):
            from .engine import _edge
            ctx._tensor_positions = positions
            ctx._input_meta = [(t.shape, t.dtype) for t in tensors]
            ctx.next_functions = tuple(_edge(t) if t.requires_grad else (None, 0) for t in tensors)
            wrapped = []
            for nr, out in enumerate(outputs):
                if isinstance(out, Tensor):
                    if any(out is t for t in tensors):  # returned an input: give it its own identity
                        out = Tensor._wrap(out._data, out._version_counter)
                    if out.dtype.is_floating_point and id(out) not in ctx._non_differentiable:
                        out.grad_fn, out._output_nr = ctx, nr
                wrapped.append(out)
            ctx._output_meta = [(o.shape, o.dtype) if isinstance(o, Tensor) else ((), None) for o in wrapped]
            outputs = tuple(wrapped)
        return outputs[0] if single else outputs
