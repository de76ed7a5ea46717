"""`torch.autograd`: backward, grad, custom Functions, gradcheck, grad modes."""
from __future__ import annotations

from .engine import run_backward
from .function import Function, FunctionCtx
from .gradcheck import gradcheck
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "FunctionCtx", "backward", "enable_grad", "grad", "gradcheck",
           "is_grad_enabled", "no_grad", "set_grad_enabled"]


def _as_list(x):
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _initial_grads(outputs, grad_outputs):
    from ..creation import ones_like
    from ..tensor import Tensor
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None and i < len(grad_outputs) else None
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = ones_like(out)
        elif not isinstance(g, Tensor):
            raise TypeError(f"gradient must be a Tensor or None, got {type(g).__name__}")
        elif g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] has a shape of {out.shape}.")
        grads.append(g.to(out.dtype) if g.dtype is not out.dtype else g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of `tensors` into the leaves' `.grad`."""
    tensors = _as_list(tensors)
    grads = _initial_grads(tensors, _as_list(grad_tensors))
    inputs = _as_list(inputs)
    if inputs is not None and not inputs:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    run_backward(tensors, grads, retain_graph=create_graph if retain_graph is None else retain_graph,
                 create_graph=create_graph, inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False,
         materialize_grads=False):
    """Gradients of `outputs` with respect to `inputs`, returned, not accumulated."""
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    grads = _initial_grads(outputs, _as_list(grad_outputs))
    result = run_backward(outputs, grads, retain_graph=create_graph if retain_graph is None else retain_graph,
                          create_graph=create_graph, inputs=inputs, accumulate=False,
                          allow_unused=allow_unused or materialize_grads)
    if materialize_grads:
        from ..creation import zeros_like
        result = [g if g is not None else zeros_like(t) for g, t in zip(result, inputs)]
    return tuple(result)
