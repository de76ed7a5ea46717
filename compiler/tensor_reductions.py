"""PyTorch's reductions (sum, mean, var/std, max/min, amax/amin, argmax,
logsumexp, norm, softmax), written once over the primitives: the part of
`TensorOps` (tensor_ops.py) that reduces over dims."""
from __future__ import annotations

import math

from .op_naming import RETURN_TYPES, grad_name, overload
from .shapes import normalize_dim, normalize_dims


class ReductionOps:
    """Mixin of TensorOps; see tensor_ops.py for what a host provides."""

    def _reduce_dims(self, dim):
        return normalize_dims(dim, self.ndim)

    @grad_name(overload("SumBackward0", "SumBackward1"))
    def sum(self, dim=None, keepdim=False, *, dtype=None):
        x = self.to(dtype) if dtype is not None else self
        return x._apply("sum", x, axes=self._reduce_dims(dim), keepdim=keepdim)

    @grad_name(overload("MeanBackward0", "MeanBackward1"))
    def mean(self, dim=None, keepdim=False, *, dtype=None):
        x = self.to(dtype) if dtype is not None else self
        if not x.dtype.is_floating_point:
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating point "
                f"or complex dtype. Got: {x.dtype.legacy_name}")
        axes = self._reduce_dims(dim)
        count = math.prod(self.shape[a] for a in axes)
        return x.sum(axes, keepdim) / count if count else x.sum(axes, keepdim) * math.nan

    @grad_name("VarBackward0")
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return self._moment(dim, unbiased, keepdim, correction)

    @grad_name("StdBackward0")
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return _sqrt_zero_grad_at_zero(self._moment(dim, unbiased, keepdim, correction))

    def _moment(self, dim, unbiased, keepdim, correction):
        if isinstance(dim, bool):  # var(unbiased) positional form
            dim, unbiased = None, dim
        if correction is None:
            correction = 0 if unbiased is False else 1
        axes = self._reduce_dims(dim)
        count = math.prod(self.shape[a] for a in axes)
        centered = self - self.mean(axes, keepdim=True)
        return (centered * centered).sum(axes, keepdim) / max(count - correction, 0)

    def _extremum(self, op, arg_op, dim, keepdim, name):
        if dim is None:
            if self.numel() == 0:
                raise RuntimeError(
                    f"{name.lower()}(): Expected reduction dim to be specified for input.numel() == 0. "
                    "Specify the reduction dim with the 'dim' argument.")
            mark = self._mark()
            return self._label(self._apply(op, self, axes=tuple(range(self.ndim)), keepdim=False),
                               f"{name}Backward1", mark)
        if isinstance(dim, ReductionOps):
            return self.maximum(dim) if op == "amax" else self.minimum(dim)
        axis = normalize_dim(dim, self.ndim)
        mark = self._mark()
        indices = self._apply(arg_op, self, axes=(axis,), keepdim=True)
        values = self.gather_along_dim(indices, axis)
        if not keepdim:
            values, indices = values.squeeze(axis), indices.squeeze(axis)
        return RETURN_TYPES[name](self._label(values, f"{name}Backward0", mark), indices)

    def max(self, dim=None, keepdim=False):
        return self._extremum("amax", "argmax", dim, keepdim, "Max")

    def min(self, dim=None, keepdim=False):
        return self._extremum("amin", "argmin", dim, keepdim, "Min")

    @grad_name("AmaxBackward0")
    def amax(self, dim=(), keepdim=False):
        return self._apply("amax", self, axes=self._reduce_dims(dim if dim != () else None), keepdim=keepdim)

    @grad_name("AminBackward0")
    def amin(self, dim=(), keepdim=False):
        return self._apply("amin", self, axes=self._reduce_dims(dim if dim != () else None), keepdim=keepdim)

    def _arg(self, op, dim, keepdim):
        if dim is None:
            flat = self.reshape(-1)
            out = flat._apply(op, flat, axes=(0,), keepdim=False)
            return out.reshape((1,) * self.ndim) if keepdim else out
        return self._apply(op, self, axes=(normalize_dim(dim, self.ndim),), keepdim=keepdim)

    def argmax(self, dim=None, keepdim=False):
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg("argmin", dim, keepdim)

    @grad_name("LogsumexpBackward0")
    def logsumexp(self, dim, keepdim=False):
        axes = self._reduce_dims(dim)
        x = self if self.dtype.is_floating_point else self.float()
        peak = x.amax(axes, keepdim=True).detach()
        # An all -inf slice has peak -inf; shifting by 0 there keeps the result -inf, not nan.
        from .tensor_ops import where  # (tensor_ops imports this module)
        peak = where(peak.abs() == math.inf, 0.0, peak)
        out = (x - peak).exp().sum(axes, keepdim=True).log() + peak
        return out if keepdim else out.squeeze(axes)

    @grad_name("LinalgVectorNormBackward0")
    def norm(self, p="fro", dim=None, keepdim=False):
        if p in ("fro", 2, 2.0):
            return _sqrt_zero_grad_at_zero((self * self).sum(dim, keepdim))
        if p in (1, 1.0):
            return self.abs().sum(dim, keepdim)
        if p == math.inf:
            return self.abs().amax(dim if dim is not None else (), keepdim)
        if isinstance(p, (int, float)) and p > 0:
            return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)
        raise NotImplementedError(f"norm with p={p!r} is not supported (use 1, 2, 'fro', inf or p > 0)")

    def softmax(self, dim, dtype=None):
        from .composites import softmax
        return softmax(self if dtype is None else self.to(dtype), dim)

    def log_softmax(self, dim, dtype=None):
        from .composites import log_softmax
        return log_softmax(self if dtype is None else self.to(dtype), dim)


def _sqrt_zero_grad_at_zero(s):
    """sqrt whose gradient is 0 where s == 0 (PyTorch's convention for norm
    and std there) instead of 0 * inf = nan. The inner where keeps the
    untaken branch finite, so its zero gradient stays zero."""
    from .tensor_ops import where  # (tensor_ops imports this module)
    zero = s == 0
    return where(zero, 0.0, where(zero, 1.0, s).sqrt())
