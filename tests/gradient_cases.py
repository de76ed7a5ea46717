"""The op cases that tests/test_gradients.py checks: (id, fn, float64 input
arrays), with inputs kept away from non-differentiable points. Shared input
builders live here too."""
import numpy as np
import pytest

from tests._backend import torch

_rng = np.random.default_rng(20240601)


# --------------------------------------------------------------------------
# deterministic input builders (NumPy only, evaluated at import time)
# --------------------------------------------------------------------------
def r(*shape, lo=-1.0, hi=1.0):
    """Uniform random float64 array (0-d when no shape is given)."""
    return np.asarray(_rng.uniform(lo, hi, size=shape), dtype=np.float64)


def pos(*shape):
    """Strictly positive values, safe for log/sqrt/rsqrt/pow/div."""
    return r(*shape, lo=0.5, hi=2.0)


def away(x, points=(0.0,), margin=0.05):
    """Push every element at least ``margin`` away from each of ``points``."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < margin
        x[near] = p + np.where(x[near] >= p, 2 * margin, -2 * margin)
    return x


def nz(*shape):
    """Random values with |x| >= 0.1 (no kinks of abs/relu nearby)."""
    return away(r(*shape), margin=0.1)


def probs(*shape):
    return r(*shape, lo=0.1, hi=0.9)


def distinct_from(x, shape_y):
    """A ``y`` broadcast-compatible with ``x`` whose values never tie with x."""
    y = r(*shape_y)
    while np.min(np.abs(np.broadcast_to(x, np.broadcast_shapes(x.shape, y.shape))
                        - np.broadcast_to(y, np.broadcast_shapes(x.shape, y.shape)))) < 0.02:
        y = r(*shape_y)
    return y


def F():
    return torch.nn.functional


def t64(a, requires_grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64,
                        requires_grad=requires_grad)


def long(values):
    return torch.tensor(values, dtype=torch.int64)


def boolt(values):
    return torch.tensor(np.asarray(values, dtype=bool))


MASK_3x4 = np.array([[True, False, True, True],
                     [False, False, True, False],
                     [True, True, False, True]])


# --------------------------------------------------------------------------
# the cases: (id, fn, input arrays); every array becomes a float64 leaf
# requiring grad.  Non-differentiable arguments are created inside ``fn``.
# --------------------------------------------------------------------------
CASES = []


def case(name, fn, *arrays):
    CASES.append(pytest.param(fn, arrays, id=name))


# ---- binary arithmetic, with broadcasting --------------------------------
case("add-same-shape", lambda a, b: a + b, r(3, 4), r(3, 4))
case("add-broadcast-3x1-1x4", lambda a, b: a + b, r(3, 1), r(1, 4))
case("add-broadcast-row", lambda a, b: a + b, r(3, 4), r(4))
case("add-python-scalar", lambda a: a + 1.5, r(3, 4))
case("radd-python-scalar", lambda a: 2.0 + a, r(3, 4))
case("add-0d-tensor-and-matrix", lambda a, s: a + s, r(3, 4), r())
case("add-0d-and-0d", lambda a, b: a + b, r(), r())
case("torch.add", lambda a, b: torch.add(a, b), r(2, 3), r(2, 3))
case("sub-same-shape", lambda a, b: a - b, r(3, 4), r(3, 4))
case("sub-broadcast", lambda a, b: a - b, r(4), r(3, 4))
case("rsub-python-scalar", lambda a: 1.0 - a, r(3, 4))
case("sub-0d-tensor", lambda a, s: s - a, r(2, 3), r())
case("mul-same-shape", lambda a, b: a * b, r(3, 4), r(3, 4))
case("mul-broadcast-3x1-1x4", lambda a, b: a * b, r(3, 1), r(1, 4))
case("mul-python-scalar", lambda a: a * 2.5, r(3, 4))
case("rmul-python-scalar", lambda a: -3.0 * a, r(3, 4))
case("mul-0d-tensor", lambda a, s: a * s, r(3, 4), r())
case("mul-0d-and-0d", lambda a, b: a * b, r(), r())
case("mul-same-tensor-twice", lambda a: a * a, r(3, 4))
case("torch.mul", lambda a, b: torch.mul(a, b), r(2, 3), r(3))
case("div-same-shape", lambda a, b: a / b, r(3, 4), pos(3, 4))
case("div-broadcast", lambda a, b: a / b, r(3, 4), pos(3, 1))
case("div-python-scalar", lambda a: a / 3.0, r(3, 4))
case("rdiv-python-scalar", lambda a: 2.0 / a, pos(3, 4))
case("div-0d-tensor", lambda a, s: a / s, r(3, 4), pos())
case("torch.div", lambda a, b: torch.div(a, b), r(2, 3), pos(2, 3))
case("neg", lambda a: -a, r(3, 4))

# ---- pow -------------------------------------------------------------------
case("pow-int-exponent-2", lambda a: a ** 2, r(3, 4))
case("pow-int-exponent-3", lambda a: a ** 3, r(3, 4))
case("pow-fractional-exponent", lambda a: a ** 0.5, pos(3, 4))
case("pow-negative-exponent", lambda a: a ** -1.5, pos(3, 4))
case("pow-method", lambda a: a.pow(2.5), pos(3, 4))
case("torch.pow-scalar-exponent", lambda a: torch.pow(a, 3), r(3, 4))
case("pow-tensor-tensor-broadcast", lambda a, b: a ** b, pos(3, 1), r(1, 4))
case("pow-tensor-0d-exponent", lambda a, e: a ** e, pos(3, 4), r())
case("rpow-scalar-base", lambda a: 2.0 ** a, r(3, 4))
case("torch.pow-scalar-base", lambda a: torch.pow(2.0, a), r(3, 4))
case("torch.pow-tensor-tensor", lambda a, b: torch.pow(a, b), pos(2, 3), r(2, 3))

# ---- matmul family ---------------------------------------------------------
case("matmul-1d-1d", lambda a, b: a @ b, r(4), r(4))
case("matmul-2d-1d", lambda a, b: a @ b, r(3, 4), r(4))
case("matmul-1d-2d", lambda a, b: a @ b, r(4), r(4, 5))
case("matmul-2d-2d", lambda a, b: a @ b, r(3, 4), r(4, 5))
case("matmul-3d-3d", lambda a, b: a @ b, r(2, 3, 4), r(2, 4, 5))
case("matmul-3d-2d", lambda a, b: a @ b, r(2, 3, 4), r(4, 5))
case("matmul-2d-3d", lambda a, b: a @ b, r(3, 4), r(2, 4, 5))
case("matmul-3d-1d", lambda a, b: a @ b, r(2, 3, 4), r(4))
case("matmul-1d-3d", lambda a, b: a @ b, r(4), r(2, 4, 5))
case("matmul-broadcast-batch", lambda a, b: a @ b, r(2, 1, 3, 4), r(5, 4, 2))
case("torch.matmul", lambda a, b: torch.matmul(a, b), r(3, 4), r(4, 2))
case("Tensor.matmul", lambda a, b: a.matmul(b), r(2, 3, 4), r(2, 4, 2))
case("torch.mm", lambda a, b: torch.mm(a, b), r(3, 4), r(4, 5))
case("Tensor.mm", lambda a, b: a.mm(b), r(2, 3), r(3, 2))
case("torch.bmm", lambda a, b: torch.bmm(a, b), r(2, 3, 4), r(2, 4, 5))
case("Tensor.bmm", lambda a, b: a.bmm(b), r(3, 2, 2), r(3, 2, 4))
case("matmul-same-tensor", lambda a: a @ a, r(3, 3))

# ---- unary elementwise ---------------------------------------------------
case("abs", lambda a: a.abs(), nz(3, 4))
case("torch.abs", lambda a: torch.abs(a), nz(3, 4))
case("exp", lambda a: a.exp(), r(3, 4))
case("torch.exp", lambda a: torch.exp(a), r(3, 4))
case("log", lambda a: a.log(), pos(3, 4))
case("torch.log", lambda a: torch.log(a), pos(3, 4))
case("log1p", lambda a: a.log1p(), r(3, 4, lo=-0.5, hi=2.0))
case("torch.log1p", lambda a: torch.log1p(a), r(3, 4, lo=-0.5, hi=2.0))
case("sqrt", lambda a: a.sqrt(), pos(3, 4))
case("torch.sqrt", lambda a: torch.sqrt(a), pos(3, 4))
case("rsqrt", lambda a: a.rsqrt(), pos(3, 4))
case("torch.rsqrt", lambda a: torch.rsqrt(a), pos(3, 4))
case("sin", lambda a: a.sin(), r(3, 4, lo=-3, hi=3))
case("torch.sin", lambda a: torch.sin(a), r(3, 4, lo=-3, hi=3))
case("cos", lambda a: a.cos(), r(3, 4, lo=-3, hi=3))
case("torch.cos", lambda a: torch.cos(a), r(3, 4, lo=-3, hi=3))
case("tanh", lambda a: a.tanh(), r(3, 4, lo=-2, hi=2))
case("torch.tanh", lambda a: torch.tanh(a), r(3, 4, lo=-2, hi=2))
case("sigmoid", lambda a: a.sigmoid(), r(3, 4, lo=-3, hi=3))
case("torch.sigmoid", lambda a: torch.sigmoid(a), r(3, 4, lo=-3, hi=3))
case("relu", lambda a: a.relu(), nz(3, 4))
case("torch.relu", lambda a: torch.relu(a), nz(3, 4))
case("unary-on-0d", lambda a: a.exp() * a.sin(), r())

# ---- clamp / maximum / minimum / where -------------------------------------
case("clamp-min", lambda a: a.clamp(min=-0.3), away(r(3, 4), (-0.3,)))
case("clamp-max", lambda a: a.clamp(max=0.4), away(r(3, 4), (0.4,)))
case("clamp-min-max", lambda a: a.clamp(-0.3, 0.4), away(r(4, 5), (-0.3, 0.4)))
case("torch.clamp-min-max-kwargs", lambda a: torch.clamp(a, min=-0.5, max=0.2),
     away(r(4, 5), (-0.5, 0.2)))
_mx = r(3, 4)
case("maximum-same-shape", lambda a, b: torch.maximum(a, b), _mx, distinct_from(_mx, (3, 4)))
_mx = r(3, 1)
case("maximum-broadcast", lambda a, b: torch.maximum(a, b), _mx, distinct_from(_mx, (1, 4)))
_mx = r(3, 4)
case("minimum-same-shape", lambda a, b: torch.minimum(a, b), _mx, distinct_from(_mx, (3, 4)))
_mx = r(4)
case("minimum-broadcast", lambda a, b: torch.minimum(a, b), _mx, distinct_from(_mx, (2, 4)))
case("where-same-shape", lambda a, b: torch.where(boolt(MASK_3x4), a, b), r(3, 4), r(3, 4))
case("where-broadcast", lambda a, b: torch.where(boolt([[True], [False], [True]]), a, b),
     r(1, 4), r(3, 4))
case("where-scalar-other", lambda a: torch.where(boolt(MASK_3x4), a, 0.0), r(3, 4))
case("where-cond-from-comparison", lambda a, b: torch.where(a > b, a * 2, b ** 2),
     _mx, distinct_from(_mx, (2, 4)))

# ---- reductions --------------------------------------------------------------
case("sum-all", lambda a: a.sum(), r(3, 4))
case("torch.sum-all", lambda a: torch.sum(a), r(3, 4))
case("sum-0d", lambda a: a.sum(), r())
case("sum-dim-None", lambda a: a.sum(dim=None), r(3, 4))
case("sum-dim0", lambda a: a.sum(0), r(3, 4))
case("sum-dim-neg", lambda a: a.sum(dim=-1), r(3, 4))
case("sum-keepdim", lambda a: a.sum(1, keepdim=True), r(3, 4))
case("sum-dim-tuple", lambda a: a.sum((0, 2)), r(2, 3, 4))
case("sum-dim-tuple-neg-keepdim", lambda a: a.sum(dim=(0, -1), keepdim=True), r(2, 3, 4))
case("torch.sum-dim", lambda a: torch.sum(a, 1), r(2, 3, 4))
case("mean-all", lambda a: a.mean(), r(3, 4))
case("torch.mean-all", lambda a: torch.mean(a), r(3, 4))
case("mean-dim-None-keepdim", lambda a: a.mean(dim=None, keepdim=True), r(3, 4))
case("mean-dim0", lambda a: a.mean(0), r(3, 4))
case("mean-dim-neg", lambda a: a.mean(dim=-1), r(3, 4))
case("mean-keepdim", lambda a: a.mean(1, keepdim=True), r(3, 4))
case("mean-dim-tuple", lambda a: a.mean((0, 2)), r(2, 3, 4))
case("mean-dim-tuple-keepdim", lambda a: a.mean(dim=(1, -1), keepdim=True), r(2, 3, 4))
case("var-all", lambda a: a.var(), r(3, 4))
case("var-dim-None", lambda a: a.var(dim=None), r(3, 4))
case("var-dim0", lambda a: a.var(0), r(3, 4))
case("var-dim-neg-keepdim", lambda a: a.var(-1, keepdim=True), r(3, 4))
case("var-dim-tuple", lambda a: a.var((0, 2)), r(2, 3, 4))
case("var-unbiased-false", lambda a: a.var(1, unbiased=False), r(3, 4))
case("torch.var", lambda a: torch.var(a, 0), r(4, 3))
case("std-all", lambda a: a.std(), r(3, 4))
case("std-dim-None-keepdim", lambda a: a.std(dim=None, keepdim=True), r(3, 4))
case("std-dim0", lambda a: a.std(0), r(3, 4))
case("std-dim-neg-keepdim", lambda a: a.std(-1, keepdim=True), r(3, 4))
case("std-dim-tuple", lambda a: a.std((0, 2)), r(2, 3, 4))
case("std-unbiased-false", lambda a: a.std(1, unbiased=False), r(3, 4))
case("torch.std", lambda a: torch.std(a, 1), r(4, 3))
case("max-all", lambda a: a.max(), r(3, 4))
case("torch.max-all", lambda a: torch.max(a), r(3, 4))
case("max-dim-values", lambda a: a.max(0).values, r(3, 4))
case("max-dim-neg-keepdim", lambda a: a.max(dim=-1, keepdim=True)[0], r(3, 4))
case("torch.max-dim", lambda a: torch.max(a, 1).values, r(2, 3, 4))
case("min-all", lambda a: a.min(), r(3, 4))
case("torch.min-all", lambda a: torch.min(a), r(3, 4))
case("min-dim-values", lambda a: a.min(1).values, r(3, 4))
case("min-dim-neg-keepdim", lambda a: a.min(dim=-2, keepdim=True)[0], r(3, 4))
case("torch.min-dim", lambda a: torch.min(a, 0)[0], r(2, 3, 4))
case("amax-all", lambda a: a.amax(), r(3, 4))
case("amax-dim0", lambda a: a.amax(0), r(3, 4))
case("amax-dim-neg-keepdim", lambda a: a.amax(-1, keepdim=True), r(3, 4))
case("amax-dim-tuple", lambda a: a.amax((0, 2)), r(2, 3, 4))
case("torch.amax", lambda a: torch.amax(a, dim=1), r(3, 4))
case("logsumexp-dim1", lambda a: a.logsumexp(1), r(3, 4))
case("logsumexp-dim-neg-keepdim", lambda a: torch.logsumexp(a, -1, keepdim=True), r(3, 4))
case("logsumexp-dim-tuple", lambda a: a.logsumexp((0, 1)), r(3, 4))
case("logsumexp-3d-dim0", lambda a: torch.logsumexp(a, dim=0), r(2, 3, 4))
case("norm-all", lambda a: a.norm(), r(3, 4))
case("torch.norm-all", lambda a: torch.norm(a), r(3, 4))
case("norm-dim1", lambda a: a.norm(dim=1), r(3, 4))
case("norm-dim-neg-keepdim", lambda a: a.norm(dim=-1, keepdim=True), r(3, 4))
case("norm-p2-dim0", lambda a: a.norm(2, dim=0), r(3, 4))
case("norm-dim-tuple", lambda a: a.norm(dim=(0, 2)), r(2, 3, 4))
case("norm-0d", lambda a: a.norm(), nz())
case("softmax-dim0", lambda a: a.softmax(0), r(3, 4))
case("softmax-dim-neg", lambda a: a.softmax(-1), r(3, 4))
case("torch.softmax", lambda a: torch.softmax(a, dim=1), r(3, 4))
case("softmax-3d-dim1", lambda a: a.softmax(dim=1), r(2, 3, 4))
case("log_softmax-dim0", lambda a: a.log_softmax(0), r(3, 4))
case("log_softmax-dim-neg", lambda a: a.log_softmax(-1), r(3, 4))
case("torch.log_softmax", lambda a: torch.log_softmax(a, dim=1), r(3, 4))
case("log_softmax-3d-dim1", lambda a: a.log_softmax(dim=1), r(2, 3, 4))

# ---- shape ops ------------------------------------------------------------
case("reshape", lambda a: a.reshape(2, 6), r(3, 4))
case("reshape-tuple-infer", lambda a: a.reshape((-1, 3)), r(3, 4))
case("torch.reshape", lambda a: torch.reshape(a, (4, 3)), r(3, 4))
case("reshape-noncontiguous", lambda a: a.t().reshape(12), r(3, 4))
case("view", lambda a: a.view(4, 3), r(3, 4))
case("view-infer", lambda a: a.view(-1, 2), r(3, 4))
case("view-to-0d-then-back", lambda a: a.view(()).view(1, 1), r(1))
case("flatten", lambda a: a.flatten(), r(2, 3, 4))
case("flatten-start-dim", lambda a: a.flatten(1), r(2, 3, 4))
case("flatten-start-end", lambda a: torch.flatten(a, 0, 1), r(2, 3, 4))
case("permute", lambda a: a.permute(2, 0, 1), r(2, 3, 4))
case("permute-tuple", lambda a: a.permute((1, 2, 0)), r(2, 3, 4))
case("transpose", lambda a: a.transpose(0, 2), r(2, 3, 4))
case("transpose-neg", lambda a: torch.transpose(a, -1, -2), r(2, 3, 4))
case("t", lambda a: a.t(), r(3, 4))
case("torch.t", lambda a: torch.t(a), r(3, 4))
case("T", lambda a: a.T, r(3, 4))
case("squeeze-all", lambda a: a.squeeze(), r(3, 1, 4, 1))
case("squeeze-dim", lambda a: a.squeeze(1), r(3, 1, 4))
case("squeeze-dim-neg", lambda a: torch.squeeze(a, -1), r(3, 4, 1))
case("squeeze-non-1-dim-is-noop", lambda a: a.squeeze(0) * 2, r(3, 4))
case("unsqueeze-0", lambda a: a.unsqueeze(0), r(3, 4))
case("unsqueeze-neg", lambda a: torch.unsqueeze(a, -1), r(3, 4))
case("expand", lambda a: a.expand(3, 4), r(3, 1))
case("expand-new-leading-dim", lambda a: a.expand(2, 3, 4), r(3, 1))
case("expand-minus-one", lambda a: a.expand(-1, 4), r(3, 1))
case("expand-0d", lambda a: a.expand(2, 3), r())
case("contiguous-after-transpose", lambda a: a.transpose(0, 1).contiguous().view(-1), r(3, 4))

# ---- cat / stack ----------------------------------------------------------
case("cat-dim0", lambda a, b: torch.cat([a, b]), r(2, 3), r(4, 3))
case("cat-dim1-three", lambda a, b, c: torch.cat((a, b, c), dim=1), r(2, 1), r(2, 3), r(2, 2))
case("cat-dim-neg", lambda a, b: torch.cat([a, b], -1), r(2, 2, 3), r(2, 2, 1))
case("cat-same-tensor-twice", lambda a: torch.cat([a, a * 2]), r(2, 3))
case("stack-dim0", lambda a, b: torch.stack([a, b]), r(2, 3), r(2, 3))
case("stack-dim1", lambda a, b, c: torch.stack((a, b, c), dim=1), r(2, 3), r(2, 3), r(2, 3))
case("stack-dim-neg", lambda a, b: torch.stack([a, b], -1), r(2, 3), r(2, 3))
case("stack-0d", lambda a, b: torch.stack([a, b]), r(), r())

# ---- indexing (getitem) ------------------------------------------------------
case("index-int", lambda a: a[1], r(4, 5))
case("index-negative-int", lambda a: a[-1], r(4, 5))
case("index-slice", lambda a: a[1:3], r(4, 5))
case("index-column", lambda a: a[:, 2], r(4, 5))
case("index-slice-step", lambda a: a[::2], r(4, 5))
case("index-slice-and-step", lambda a: a[1:, ::2], r(4, 5))
case("index-ellipsis", lambda a: a[..., -1], r(2, 3, 4))
case("index-none", lambda a: a[None, 1], r(4, 5))
case("index-scalar-element", lambda a: a[1, 2], r(4, 5))
case("index-3d-mixed", lambda a: a[:, 1, ::2], r(2, 3, 4))
case("index-long-tensor-repeats", lambda a: a[long([0, 2, 2])], r(4, 5))
case("index-list", lambda a: a[[0, 3]], r(4, 5))
case("index-two-long-tensors", lambda a: a[long([0, 1, 3]), long([4, 4, 0])], r(4, 5))
case("index-slice-then-long-tensor", lambda a: a[:, long([1, 1, 3])], r(4, 5))
case("index-bool-mask-2d", lambda a: a[boolt(MASK_3x4)], r(3, 4))
case("index-bool-mask-rows", lambda a: a[boolt([True, False, True])], r(3, 4))
case("index-mask-from-comparison", lambda a: a[a > 0.1], away(r(3, 4), (0.1,)))
case("index-negative-long-tensor", lambda a: a[long([-1, 0, -1])], r(4, 5))
case("index-broadcast-long-tensors", lambda a: a[long([[0], [2]]), long([1, 3, 4])], r(4, 5))
case("index-long-tensor-2d-result", lambda a: a[long([[0, 1], [3, 3]])], r(4, 5))

# ---- ops on non-contiguous (transposed / sliced) inputs --------------------------
case("noncontig-unary", lambda a: a.t().exp() * a.t().sin(), r(3, 4))
case("noncontig-binary", lambda a, b: a.t() * b[:, ::2], r(3, 4), r(4, 6))
case("noncontig-matmul", lambda a, b: a.t() @ b.t(), r(4, 3), r(2, 4))
case("noncontig-sum", lambda a: a.transpose(0, 2).sum(1), r(2, 3, 4))
case("noncontig-softmax", lambda a: a.t().softmax(-1), r(3, 4))
case("noncontig-reshape-then-reduce", lambda a: a.permute(2, 0, 1).reshape(4, 6).var(1), r(2, 3, 4))


# ---- setitem (CopySlices) -------------------------------------------------------
def _set_row(a, v):
    y = a.clone()
    y[1] = v
    return y


def _set_block_scalar(a):
    y = a.clone()
    y[:, 1:3] = 0.5
    return y


def _set_long_index(a, v):
    y = a.clone()
    y[long([0, 2])] = v
    return y


def _set_bool_mask(a, v):
    y = a.clone()
    y[boolt(MASK_3x4)] = v
    return y


def _set_broadcast(a, v):
    y = a.clone()
    y[0:2] = v
    return y


def _set_element_0d(a, s):
    y = a.clone()
    y[1, 2] = s
    return y


def _set_into_nonleaf_then_use(a, v):
    y = a * 2
    y[0] = v * 3
    return y * y


def _set_step_slice(a, v):
    y = a.clone()
    y[::2, 1] = v
    return y


def _set_augmented_slice(a, v):
    y = a * 1
    y[1:3] += v  # __iadd__ on a view, then __setitem__ with the result
    return y * y


def _set_through_transpose(a, v):
    y = a * 1
    y.t()[1] = v
    return y


def _set_into_plain_tensor(v):
    base = torch.zeros(3, 3, dtype=torch.float64)
    base[1:] = v * 2  # base becomes part of the graph
    return base


case("setitem-row", _set_row, r(3, 5), r(5))
case("setitem-block-scalar", _set_block_scalar, r(3, 4))
case("setitem-long-index", _set_long_index, r(3, 4), r(2, 4))
case("setitem-bool-mask", _set_bool_mask, r(3, 4), r(int(MASK_3x4.sum())))
case("setitem-broadcast-value", _set_broadcast, r(3, 4), r(4))
case("setitem-element-0d", _set_element_0d, r(3, 4), r())
case("setitem-into-nonleaf", _set_into_nonleaf_then_use, r(3, 4), r(4))
case("setitem-step-slice", _set_step_slice, r(5, 3), r(3))
case("setitem-augmented-slice", _set_augmented_slice, r(4, 3), r(3))
case("setitem-through-transposed-view", _set_through_transpose, r(3, 4), r(3))
case("setitem-requires-grad-value-into-plain-tensor", _set_into_plain_tensor, r(2, 3))


# ---- in-place arithmetic on non-leaves -----------------------------------------
def _inplace_chain(a, b):
    y = a * 1.0
    y.mul_(b)
    y.add_(b)
    y.sub_(0.5)
    y.div_(2.0)
    return y


def _inplace_on_base_then_use_view(a):
    y = a * 1
    v = y[0]
    y.mul_(3.0)  # v now shows the new values of row 0
    return v * v


def _inplace_on_view_then_use_other_view(a):
    y = a * 1
    r0 = y[0]
    c0 = y[:, 0]
    r0.mul_(3)  # element [0, 0] is shared with c0
    return c0


def _augmented_assignment(a, b):
    y = a * 1
    y += b
    y *= b
    y -= 1.0
    y /= 2.0
    return y


def _inplace_tensor_ops(a, b):
    y = a.exp()  # exp saves its output, so the in-place ops below work on a copy
    z = y + 0.0
    z.div_(b)
    z.sub_(a)
    return z


case("inplace-chain", _inplace_chain, r(3, 4), r(3, 4))
case("inplace-tensor-ops", _inplace_tensor_ops, r(3, 4), pos(4))
case("inplace-on-base-then-use-earlier-view", _inplace_on_base_then_use_view, r(3, 4))
case("inplace-on-view-then-use-overlapping-view", _inplace_on_view_then_use_other_view, r(3, 4))
case("augmented-assignment", _augmented_assignment, r(3, 4), r(4))
case("clone", lambda a: a.clone() * 2, r(3, 4))
case("to-float64-noop", lambda a: a.to(torch.float64) * a, r(3))

# ---- nn.functional -----------------------------------------------------------
case("F.relu", lambda a: F().relu(a), nz(3, 4))
case("F.gelu", lambda a: F().gelu(a), r(3, 4, lo=-3, hi=3))
case("F.gelu-tanh", lambda a: F().gelu(a, approximate="tanh"), r(3, 4, lo=-3, hi=3))
case("F.sigmoid", lambda a: F().sigmoid(a), r(3, 4, lo=-3, hi=3))
case("F.tanh", lambda a: F().tanh(a), r(3, 4, lo=-2, hi=2))
case("F.softmax", lambda a: F().softmax(a, dim=1), r(3, 4))
case("F.softmax-dim0", lambda a: F().softmax(a, 0), r(3, 4))
case("F.log_softmax", lambda a: F().log_softmax(a, dim=-1), r(3, 4))
case("F.log_softmax-dim0", lambda a: F().log_softmax(a, 0), r(3, 4))
case("F.linear", lambda x, w, b: F().linear(x, w, b), r(3, 4), r(5, 4), r(5))
case("F.linear-no-bias", lambda x, w: F().linear(x, w), r(3, 4), r(5, 4))
case("F.linear-1d-input", lambda x, w, b: F().linear(x, w, b), r(4), r(2, 4), r(2))
case("F.linear-3d-input", lambda x, w, b: F().linear(x, w, b), r(2, 3, 4), r(5, 4), r(5))
case("F.mse_loss", lambda a, b: F().mse_loss(a, b), r(3, 4), r(3, 4))
case("F.mse_loss-sum", lambda a, b: F().mse_loss(a, b, reduction="sum"), r(3, 4), r(3, 4))
case("F.mse_loss-none", lambda a, b: F().mse_loss(a, b, reduction="none"), r(3, 4), r(3, 4))
case("F.cross_entropy", lambda a: F().cross_entropy(a, long([0, 2, 1, 2])), r(4, 3))
case("F.cross_entropy-sum",
     lambda a: F().cross_entropy(a, long([1, 0, 2]), reduction="sum"), r(3, 3))
case("F.cross_entropy-none",
     lambda a: F().cross_entropy(a, long([3, 0]), reduction="none"), r(2, 4))
case("F.cross_entropy-prob-targets",
     lambda a: F().cross_entropy(a, t64([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])), r(2, 3))
case("F.nll_loss", lambda a: F().nll_loss(a, long([0, 2, 1, 2])), r(4, 3))
case("F.nll_loss-of-log_softmax",
     lambda a: F().nll_loss(F().log_softmax(a, 1), long([2, 0, 1])), r(3, 3))
case("F.nll_loss-sum", lambda a: F().nll_loss(a, long([1, 1, 0]), reduction="sum"), r(3, 2))
case("F.nll_loss-none", lambda a: F().nll_loss(a, long([3, 0]), reduction="none"), r(2, 4))
case("F.binary_cross_entropy",
     lambda p: F().binary_cross_entropy(p, t64([[0.0, 1.0, 1.0], [0.3, 0.0, 1.0]])), probs(2, 3))
case("F.binary_cross_entropy-sum",
     lambda p: F().binary_cross_entropy(p, t64([1.0, 0.0, 0.5, 1.0]), reduction="sum"), probs(4))
case("F.binary_cross_entropy-none",
     lambda p: F().binary_cross_entropy(p, t64([1.0, 0.0, 0.5]), reduction="none"), probs(3))
case("F.binary_cross_entropy_with_logits",
     lambda x: F().binary_cross_entropy_with_logits(x, t64([[0.0, 1.0, 1.0], [0.3, 0.0, 1.0]])),
     r(2, 3, lo=-3, hi=3))
case("F.binary_cross_entropy_with_logits-sum",
     lambda x: F().binary_cross_entropy_with_logits(x, t64([1.0, 0.0, 1.0]), reduction="sum"),
     r(3, lo=-3, hi=3))
case("F.binary_cross_entropy_with_logits-none",
     lambda x: F().binary_cross_entropy_with_logits(x, t64([1.0, 0.0, 0.2]), reduction="none"),
     r(3, lo=-3, hi=3))
case("F.layer_norm-weight-bias",
     lambda x, w, b: F().layer_norm(x, (4,), w, b), r(3, 4), r(4, lo=0.5, hi=1.5), r(4))
case("F.layer_norm-no-affine", lambda x: F().layer_norm(x, (4,)), r(3, 4))
case("F.layer_norm-2d-normalized-shape",
     lambda x, w, b: F().layer_norm(x, [3, 4], w, b, eps=1e-5),
     r(2, 3, 4), r(3, 4, lo=0.5, hi=1.5), r(3, 4))

# ---- composite: a tiny MLP step ----------------------------------------------
case("mlp-composite",
     lambda x, w1, b1, w2: F().cross_entropy(
         F().linear(torch.tanh(F().linear(x, w1, b1)), w2), long([0, 1, 2])),
     r(3, 4), r(5, 4), r(5), r(3, 5))
