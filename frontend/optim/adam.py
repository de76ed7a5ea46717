"""`torch.optim.Adam`: PyTorch's single-tensor (non-fused) Adam, with amsgrad,
weight decay (L2 or decoupled, as AdamW) and maximize.

`state["step"]` is a 0-d float32 tensor updated in place, and the bias
corrections are tensor ops on it, so a compiled training step reads the step
count as an input instead of baking it in as a constant."""
from __future__ import annotations

from compiler import dtypes

from ..creation import tensor, zeros_like
from ..functions import maximum
from .optimizer import Optimizer, _use_grad
from .sgd import _check_supported


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_supported(foreach, differentiable, fused)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    _OPTION_DEFAULTS = dict(amsgrad=False, maximize=False, foreach=None, capturable=False, differentiable=False,
                            fused=None, decoupled_weight_decay=False)

    def __setstate__(self, state):
        super().__setstate__(state)
        for s in self.state.values():  # a step saved as a number becomes the 0-d tensor step() updates
            if isinstance(s, dict) and "step" in s and not hasattr(s["step"], "dtype"):
                s["step"] = tensor(float(s["step"]), dtype=dtypes.float32)

    @_use_grad
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = tensor(0.0, dtype=dtypes.float32)
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros_like(p)
                self._update(p, state, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
                             group["decoupled_weight_decay"])
        return loss

    @staticmethod
    def _update(p, state, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled):
        grad = -p.grad if maximize else p.grad
        exp_avg, exp_avg_sq, step_t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        step_t.add_(1)
        if weight_decay != 0:
            if decoupled:
                p.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(p, alpha=weight_decay)
        exp_avg.add_(grad - exp_avg, alpha=1 - beta1)  # lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).add_(grad * grad, alpha=1 - beta2)
        # Bias corrections from the step tensor, in float64 like PyTorch's Python floats.
        step = step_t.to(dtypes.float64)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step).sqrt()
        step_size = lr / bias_correction1
        if amsgrad:
            max_exp_avg_sq = state["max_exp_avg_sq"]
            max_exp_avg_sq.copy_(maximum(max_exp_avg_sq, exp_avg_sq))
            denom = max_exp_avg_sq.sqrt() / bias_correction2_sqrt + eps
        else:
            denom = exp_avg_sq.sqrt() / bias_correction2_sqrt + eps
        p.sub_(exp_avg / denom * step_size)
