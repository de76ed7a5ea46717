"""Composite ops: decompositions into primitives, numerically stable, each
named after the grad_fn PyTorch shows for it. `nn.functional` and the tensor
methods call these; the compiler sees only their primitives."""
from __future__ import annotations

import math


from . import dtypes
from .op_naming import grad_name
from .tensor_ops import where


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


@grad_name("SoftmaxBackward0")
def softmax(x, dim):
    x = x if x.dtype.is_floating_point else x.float()
    shifted = x - x.amax(dim, keepdim=True).detach()
    e = shifted.exp()
    return e / e.sum(dim, keepdim=True)


@grad_name("LogSoftmaxBackward0")
def log_softmax(x, dim):
    x = x if x.dtype.is_floating_point else x.float()
    shifted = x - x.amax(dim, keepdim=True).detach()
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


@grad_name(lambda x, approximate="none": "GeluBackward0")
def gelu(x, approximate="none"):
    if approximate == "tanh":
        inner = (x + 0.044715 * x * x * x) * math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + inner.tanh())
    if approximate != "none":
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return 0.5 * x * (1 + x._apply("erf", x * (1 / math.sqrt(2))))


@grad_name("NativeLayerNormBackward0")
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(map(str, normalized_shape))}], but got input of size{list(x.shape)}")
    axes = tuple(range(x.ndim - k, x.ndim))
    centered = x - x.mean(axes, keepdim=True)
    var = (centered * centered).mean(axes, keepdim=True)
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def linear(x, weight, bias=None):
    mark = x._mark()
    out = x.matmul(weight.t())
    if bias is not None:
        out = out + bias
    if x.ndim == 2:
        name = "AddmmBackward0" if bias is not None else "MmBackward0"
    elif bias is not None:
        name = "ViewBackward0"
    else:
        return out  # matmul's own name
    return x._label(out, name, mark)


@grad_name("MseLossBackward0")
def mse_loss(input, target, reduction="mean"):
    _check_reduction(reduction)
    if input.shape != target.shape:
        import warnings
        warnings.warn(
            f"Using a target size ({_size(target)}) that is different to the input size ({_size(input)}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            UserWarning, stacklevel=3)
    diff = input - target
    return _reduce(diff * diff, reduction)


@grad_name("BinaryCrossEntropyBackward0")
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    _check_reduction(reduction)
    if input.shape != target.shape:
        raise ValueError(
            f"Using a target size ({_size(target)}) that is different to the input size ({_size(input)}) "
            "is deprecated. Please ensure they have the same size.")
    input._check_probabilities()
    # PyTorch clamps the logs at -100 so that 0 * log(0) stays finite.
    log_p = input.log().clamp(min=-100)
    log_q = (1 - input).log().clamp(min=-100)
    loss = -(target * log_p + (1 - target) * log_q)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


@grad_name("BinaryCrossEntropyWithLogitsBackward0")
def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    _check_reduction(reduction)
    if input.shape != target.shape:
        raise ValueError(f"Target size ({_size(target)}) must be the same as input size ({_size(input)})")
    # log(1 + exp(-|x|)) + max(-x, 0) is log(1 + exp(-x)) without overflow.
    softplus_neg = (-input.abs()).exp().log1p() + (-input).relu()
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * softplus_neg
    else:
        loss = (1 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


@grad_name("NllLossBackward0")
def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    _check_reduction(reduction)
    if input.ndim not in (1, 2):
        raise NotImplementedError(f"nll_loss supports (C,) or (N, C) input, got shape {list(input.shape)}")
    if target.dtype is not dtypes.int64:
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.legacy_name}")
    batched = input.ndim == 2
    if target.ndim != (1 if batched else 0) or batched and target.shape[0] != input.shape[0]:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0] if batched else 1}) to match target batch_size "
            f"({target.shape[0] if target.ndim else 1}).")
    classes = input.shape[-1]
    valid = target != ignore_index
    safe = input._checked_index(where(valid, target, 0), classes, 1, allow_negative=False)
    picked = input.reshape(-1, classes).gather_along_dim(safe.reshape(-1, 1), 1).reshape(target.shape)
    w = valid.to(input.dtype)
    if weight is not None:
        w = w * weight.gather_along(safe, 0)
    loss = -picked * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    return loss.sum() if reduction == "sum" else loss


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    if label_smoothing:
        raise NotImplementedError("cross_entropy: label_smoothing is not supported yet")
    dim = 1 if input.ndim >= 2 else 0
    log_p = log_softmax(input, dim)
    if target.dtype.is_floating_point:  # class probabilities
        if target.shape != input.shape:
            raise RuntimeError(f"Expected target size {list(input.shape)}, got {list(target.shape)}")
        mark = input._mark()
        loss = -(target * log_p if weight is None else target * log_p * weight).sum(dim)
        if reduction == "mean":
            return input._label(loss.sum() / (loss.numel() or 1), "DivBackward1", mark)
        return _reduce(loss, reduction)
    return nll_loss(log_p, target, weight, ignore_index, reduction)


def _size(t):
    return f"torch.Size({list(t.shape)})"

