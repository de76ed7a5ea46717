"""Finite-difference check of gradients: central differences against the
autograd Jacobian, column by column (PyTorch's `gradcheck` contract)."""
from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    pass


def _outputs(func, inputs):
    out = func(*inputs)
    return out if isinstance(out, tuple) else (out,)


def _numerical(func, inputs, i, j_out, eps):
    # Evaluated with grad mode on, as PyTorch does: `func` may itself call
    # autograd (gradcheck of a gradient is a second-order check).
    x = inputs[i]._data
    columns = []
    flat = x.reshape(-1)  # a view: perturbations land in the input
    for k in range(x.size):
        saved = flat[k]
        flat[k] = saved + eps
        plus = _outputs(func, inputs)[j_out]._data.astype(np.float64).reshape(-1)
        flat[k] = saved - eps
        minus = _outputs(func, inputs)[j_out]._data.astype(np.float64).reshape(-1)
        flat[k] = saved
        columns.append((plus - minus) / (2 * eps))
    out_size = _outputs(func, inputs)[j_out].numel() if not columns else columns[0].size
    return np.array(columns).reshape(x.size, out_size)


def _analytical(func, inputs, i, j_out):
    from . import grad
    from ..creation import zeros_like
    out = _outputs(func, inputs)[j_out]
    x = inputs[i]
    jac = np.zeros((x.numel(), out.numel()))
    if not out.requires_grad:
        return jac
    for k in range(out.numel()):
        seed = zeros_like(out)
        seed._data.reshape(-1)[k] = 1
        (g,) = grad([out], [x], [seed], retain_graph=True, allow_unused=True)
        if g is not None:
            jac[:, k] = g._data.astype(np.float64).reshape(-1)
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **unused):
    """True when autograd's Jacobian matches central differences for every
    input that requires grad; otherwise raises (or returns False)."""
    from ..tensor import Tensor
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and not x._data.flags.writeable:
            raise GradcheckError(f"gradcheck input {i} is not writable")
        if isinstance(x, Tensor) and x.requires_grad and x.dtype.name != "float64":
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          "This check will likely fail if all the inputs are not of double precision floating point.")
    n_out = len(_outputs(func, inputs))
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        for j in range(n_out):
            numerical = _numerical(func, inputs, i, j, eps)
            analytical = _analytical(func, inputs, i, j)
            if not np.allclose(analytical, numerical, rtol=rtol, atol=atol, equal_nan=True):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {j} with respect to input {i},\n"
                    f"numerical:{numerical}\nanalytical:{analytical}\n")
    return True
