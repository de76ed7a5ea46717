"""Resetting leaves' `.grad`, shared by `Module.zero_grad` and `Optimizer.zero_grad`."""
from __future__ import annotations


def zero_grads(params, set_to_none: bool = True) -> None:
    """Each parameter's `.grad` to None, or (set_to_none=False) to zeros in
    place, detached first as PyTorch does when it carries history."""
    for p in params:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
            continue
        if p.grad.grad_fn is not None:
            p.grad.detach_()
        else:
            p.grad.requires_grad_(False)
        p.grad.zero_()
