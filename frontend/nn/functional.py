"""`torch.nn.functional`: thin PyTorch-signature wrappers over the composites
in compiler/composites.py (one definition per op, shared with the compiler)."""
from __future__ import annotations

import functools
import inspect

from compiler import composites
from compiler.tensor_ops import TensorOps  # (frontend.Tensor's base: importing tensor.py here would be circular)


def _tensor_arguments(fn, name, required=("input",), optional=()):
    """`fn` refusing a list or NumPy array where a tensor belongs with
    PyTorch's TypeError, instead of an AttributeError from deep inside (or,
    for an array, NumPy quietly computing an array)."""
    positions = {p: i for i, p in enumerate(inspect.signature(fn).parameters)}

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        for arg in required + optional:
            i = positions[arg]
            value = args[i] if i < len(args) else kwargs.get(arg)
            if not isinstance(value, TensorOps) and (value is not None or arg in required):
                shown = "input" if arg == "x" else arg  # (composites name it x)
                raise TypeError(f"{name}(): argument '{shown}' (position {i + 1}) must be Tensor, "
                                f"not {type(value).__name__}")
        return fn(*args, **kwargs)
    checked.__name__ = checked.__qualname__ = name
    return checked


_LOSS = {"required": ("input", "target"), "optional": ("weight",)}
relu = _tensor_arguments(lambda input, inplace=False: input.relu_() if inplace else input.relu(), "relu")
sigmoid = _tensor_arguments(lambda input: input.sigmoid(), "sigmoid")
tanh = _tensor_arguments(lambda input: input.tanh(), "tanh")
gelu = _tensor_arguments(composites.gelu, "gelu", ("x",))
linear = _tensor_arguments(composites.linear, "linear", ("x", "weight"), ("bias",))
layer_norm = _tensor_arguments(composites.layer_norm, "layer_norm", ("x",), ("weight", "bias"))
mse_loss = _tensor_arguments(composites.mse_loss, "mse_loss", ("input", "target"))
binary_cross_entropy = _tensor_arguments(composites.binary_cross_entropy, "binary_cross_entropy", **_LOSS)
binary_cross_entropy_with_logits = _tensor_arguments(
    composites.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits",
    ("input", "target"), ("weight", "pos_weight"))
nll_loss = _tensor_arguments(composites.nll_loss, "nll_loss", **_LOSS)
cross_entropy = _tensor_arguments(composites.cross_entropy, "cross_entropy", **_LOSS)


@functools.partial(_tensor_arguments, name="softmax")
def softmax(input, dim=None, dtype=None):
    if dim is None:
        raise TypeError("softmax() requires dim: implicit dim selection is deprecated in PyTorch")
    return input.softmax(dim, dtype=dtype)


@functools.partial(_tensor_arguments, name="log_softmax")
def log_softmax(input, dim=None, dtype=None):
    if dim is None:
        raise TypeError("log_softmax() requires dim: implicit dim selection is deprecated in PyTorch")
    return input.log_softmax(dim, dtype=dtype)


__all__ = ["relu", "sigmoid", "tanh", "gelu", "linear", "layer_norm", "mse_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "softmax", "log_softmax"]
