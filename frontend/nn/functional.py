"""`torch.nn.functional`: thin PyTorch-signature wrappers over the composites
in compiler/composites.py (one definition per op, shared with the compiler)."""
from __future__ import annotations

from compiler import composites

relu = lambda input, inplace=False: input.relu_() if inplace else input.relu()  # noqa: E731
sigmoid = lambda input: input.sigmoid()  # noqa: E731
tanh = lambda input: input.tanh()  # noqa: E731
gelu = composites.gelu
linear = composites.linear
layer_norm = composites.layer_norm
mse_loss = composites.mse_loss
binary_cross_entropy = composites.binary_cross_entropy
binary_cross_entropy_with_logits = composites.binary_cross_entropy_with_logits
nll_loss = composites.nll_loss
cross_entropy = composites.cross_entropy


def softmax(input, dim=None, dtype=None):
    if dim is None:
        raise TypeError("softmax() requires dim: implicit dim selection is deprecated in PyTorch")
    return input.softmax(dim, dtype=dtype)


def log_softmax(input, dim=None, dtype=None):
    if dim is None:
        raise TypeError("log_softmax() requires dim: implicit dim selection is deprecated in PyTorch")
    return input.log_softmax(dim, dtype=dtype)


__all__ = ["relu", "sigmoid", "tanh", "gelu", "linear", "layer_norm", "mse_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "softmax", "log_softmax"]
