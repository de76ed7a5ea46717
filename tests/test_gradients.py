"""Finite-difference gradient checks for every differentiable op of the frontend.

Each case is checked twice:

* ``test_gradcheck``: the module's own ``torch.autograd.gradcheck``;
* ``test_grad_matches_central_difference``: an independent central difference
  computed here with NumPy, so that a broken ``gradcheck`` cannot hide a broken
  gradient.  The forward pass is evaluated by the module on plain float64
  tensors, turned into NumPy arrays, and dotted with fixed random weights;
  the analytic side is ``(out * w).sum().backward()``.

A few ops also get a second-order check (``create_graph=True``) against a
Hessian computed purely from function values by a 4-point finite difference.

All inputs are float64 and kept away from non-differentiable points (abs and
relu at 0, clamp edges, ties in max/min/maximum).  Inputs are built lazily, at
test time, so that a missing function only fails the tests that use it.
"""
import numpy as np
import pytest

from tests._backend import torch
from tests.gradient_cases import CASES, F, long, pos, r, t64


# --------------------------------------------------------------------------
# machinery
# --------------------------------------------------------------------------
def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _to_numpy(t):
    return np.array(t.detach().numpy(), dtype=np.float64)  # copy: numpy() may share memory


def _loss_numpy(fn, arrays, weights):
    outs = _as_tuple(fn(*[t64(a) for a in arrays]))
    return sum(float(np.sum(_to_numpy(o) * w)) for o, w in zip(outs, weights))


def _central_difference(fn, arrays, weights, eps=1e-6):
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [x.copy() for x in arrays]
            minus = [x.copy() for x in arrays]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            g[idx] = (_loss_numpy(fn, plus, weights) - _loss_numpy(fn, minus, weights)) / (2 * eps)
        grads.append(g)
    return grads


def _weighted_loss(outs, weights):
    loss = None
    for o, w in zip(outs, weights):
        term = (o * t64(w)).sum()
        loss = term if loss is None else loss + term
    return loss


@pytest.mark.parametrize("fn, arrays", CASES)
def test_grad_matches_central_difference(fn, arrays):
    inputs = [t64(a, requires_grad=True) for a in arrays]
    outs = _as_tuple(fn(*inputs))
    for o in outs:
        assert o.dtype == torch.float64, "float64 inputs must give a float64 output"
        assert o.requires_grad
    rng = np.random.default_rng(7)  # fixed cotangent, shaped like the outputs
    weights = [rng.uniform(-1.0, 1.0, size=tuple(o.shape)) for o in outs]
    _weighted_loss(outs, weights).backward()

    expected = _central_difference(fn, arrays, weights)
    for k, (x, g) in enumerate(zip(inputs, expected)):
        assert x.grad is not None, f"input {k} got no gradient"
        got = _to_numpy(x.grad)
        assert got.shape == g.shape, f"input {k}: grad shape {got.shape} != {g.shape}"
        np.testing.assert_allclose(got, g, rtol=1e-5, atol=1e-6, err_msg=f"input {k}")


@pytest.mark.parametrize("fn, arrays", CASES)
def test_gradcheck(fn, arrays):
    inputs = tuple(t64(a, requires_grad=True) for a in arrays)
    assert torch.autograd.gradcheck(fn, inputs)


def test_numeric_checker_catches_a_wrong_gradient():
    """Sanity check of the independent checker itself: a custom Function with a
    deliberately wrong backward must be rejected by the central difference."""

    class WrongSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x  # should be 2 * x

    arrays = (r(3),)
    x = t64(arrays[0], requires_grad=True)
    w = np.ones(3)
    _weighted_loss((WrongSquare.apply(x),), [w]).backward()
    expected = _central_difference(lambda a: WrongSquare.apply(a), arrays, [w])[0]
    assert not np.allclose(_to_numpy(x.grad), expected, rtol=1e-5, atol=1e-6)


def test_module_gradcheck_rejects_a_wrong_gradient():
    class WrongExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y * 1.5

    x = t64(r(3), requires_grad=True)
    # PyTorch raises GradcheckError (a RuntimeError) by default ...
    with pytest.raises(RuntimeError):
        torch.autograd.gradcheck(WrongExp.apply, (x,))
    # ... and returns False when asked not to raise.
    assert torch.autograd.gradcheck(WrongExp.apply, (x,), raise_exception=False) is False


# --------------------------------------------------------------------------
# second order: Hessian-vector products through create_graph=True, compared
# with a Hessian computed from function values alone.
# --------------------------------------------------------------------------
SECOND_ORDER = [
    pytest.param(lambda a: a.tanh(), (r(2, 3),), id="tanh"),
    pytest.param(lambda a: a.sigmoid(), (r(2, 3, lo=-2, hi=2),), id="sigmoid"),
    pytest.param(lambda a, b: a * b * a * b, (r(2, 2), r(2, 2)), id="mul-chain"),
    pytest.param(lambda a: a ** 3, (r(2, 3),), id="pow-3"),
    pytest.param(lambda a, b: a ** b, (pos(3), r(3)), id="pow-tensor-tensor"),
    pytest.param(lambda a: a.softmax(dim=1), (r(2, 3),), id="softmax"),
    pytest.param(lambda a, b: a @ b, (r(2, 3), r(3, 2)), id="matmul"),
    pytest.param(lambda a, b: (a @ b).tanh() @ a.t(), (r(2, 3), r(3, 3)), id="matmul-tanh-chain"),
    pytest.param(lambda a: a.log_softmax(dim=-1), (r(2, 3),), id="log_softmax"),
    pytest.param(lambda a: F().cross_entropy(a, long([2, 0])), (r(2, 3),), id="cross_entropy"),
]


def _flat_loss(fn, arrays, weights):
    shapes = [a.shape for a in arrays]
    sizes = [a.size for a in arrays]

    def loss(vec):
        parts, start = [], 0
        for shape, size in zip(shapes, sizes):
            parts.append(vec[start:start + size].reshape(shape))
            start += size
        return _loss_numpy(fn, parts, weights)

    return loss


def _numeric_hessian(loss, x0, h=1e-4):
    n = x0.size
    hess = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            def at(si, sj):
                x = x0.copy()
                x[i] += si * h
                x[j] += sj * h
                return loss(x)
            hess[i, j] = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h)
    return hess


@pytest.mark.parametrize("fn, arrays", SECOND_ORDER)
def test_second_order_matches_finite_difference(fn, arrays):
    inputs = [t64(a, requires_grad=True) for a in arrays]
    outs = _as_tuple(fn(*inputs))
    rng = np.random.default_rng(11)
    weights = [rng.uniform(-1.0, 1.0, size=tuple(o.shape)) for o in outs]
    vs = [rng.uniform(-1.0, 1.0, size=a.shape) for a in arrays]

    first = torch.autograd.grad(_weighted_loss(outs, weights), inputs, create_graph=True)
    assert all(g.requires_grad for g in first), "create_graph=True must give differentiable grads"
    hvp = torch.autograd.grad(_weighted_loss(first, vs), inputs)

    loss = _flat_loss(fn, arrays, weights)
    x0 = np.concatenate([a.ravel() for a in arrays])
    expected = _numeric_hessian(loss, x0) @ np.concatenate([v.ravel() for v in vs])
    got = np.concatenate([_to_numpy(g).ravel() for g in hvp])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fn, arrays", SECOND_ORDER)
def test_second_order_gradcheck_of_gradient(fn, arrays):
    """gradgradcheck is not in the API; apply gradcheck to the gradient function."""
    rng = np.random.default_rng(13)
    weights = [rng.uniform(-1.0, 1.0, size=tuple(o.shape))
               for o in _as_tuple(fn(*[t64(a) for a in arrays]))]

    def grad_fn(*xs):
        outs = _as_tuple(fn(*xs))
        return torch.autograd.grad(_weighted_loss(outs, weights), xs, create_graph=True)

    inputs = tuple(t64(a, requires_grad=True) for a in arrays)
    assert torch.autograd.gradcheck(grad_fn, inputs)


# --------------------------------------------------------------------------
# PyTorch's conventions where the derivative is undefined (literal values
# recorded from PyTorch 2.13): subgradients at kinks and how ties share it.
# --------------------------------------------------------------------------
def _grad_of(fn, *values):
    xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad.tolist() for x in xs]


KINKS = [
    ("abs-at-0", lambda x: x.abs(), ([0.0, -1.0, 2.0],), [[0.0, -1.0, 1.0]]),
    ("relu-at-0", lambda x: x.relu(), ([0.0, -1.0, 2.0],), [[0.0, 0.0, 1.0]]),
    ("F.relu-at-0", lambda x: F().relu(x), ([0.0, 3.0],), [[0.0, 1.0]]),
    ("clamp-at-edges-passes-gradient", lambda x: x.clamp(-1.0, 1.0),
     ([-1.0, 1.0, 0.5, 2.0, -2.0],), [[1.0, 1.0, 1.0, 0.0, 0.0]]),
    ("clamp-min-at-edge", lambda x: x.clamp(min=0.0), ([0.0, 1.0, -1.0],), [[1.0, 1.0, 0.0]]),
    ("clamp-max-at-edge", lambda x: x.clamp(max=0.0), ([0.0, 1.0, -1.0],), [[1.0, 0.0, 1.0]]),
    ("max-all-ties-share-evenly", lambda x: x.max(), ([1.0, 3.0, 3.0, 2.0],), [[0.0, 0.5, 0.5, 0.0]]),
    ("min-all-ties-share-evenly", lambda x: x.min(), ([1.0, 1.0, 1.0, 2.0],), [[1 / 3, 1 / 3, 1 / 3, 0.0]]),
    ("max-dim-ties-go-to-first", lambda x: x.max(1).values, ([[3.0, 3.0, 1.0], [0.0, 5.0, 5.0]],),
     [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]),
    ("min-dim-ties-go-to-first", lambda x: x.min(0).values, ([[1.0, 2.0], [1.0, 2.0]],),
     [[[1.0, 1.0], [0.0, 0.0]]]),
    ("amax-ties-share-evenly", lambda x: x.amax(1), ([[3.0, 3.0, 1.0], [0.0, 5.0, 5.0]],),
     [[[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]]),
    ("amax-all-ties-share-evenly", lambda x: x.amax(), ([[3.0, 3.0, 1.0], [0.0, 3.0, 2.0]],),
     [[[1 / 3, 1 / 3, 0.0], [0.0, 1 / 3, 0.0]]]),
    ("maximum-ties-split", lambda x, y: torch.maximum(x, y), ([1.0, 2.0, 3.0], [1.0, 0.0, 4.0]),
     [[0.5, 1.0, 0.0], [0.5, 0.0, 1.0]]),
    ("minimum-ties-split", lambda x, y: torch.minimum(x, y), ([1.0, 2.0, 3.0], [1.0, 0.0, 4.0]),
     [[0.5, 0.0, 1.0], [0.5, 1.0, 0.0]]),
    ("norm-at-zero-is-zero", lambda x: x.norm(), ([0.0, 0.0],), [[0.0, 0.0]]),
    ("norm-dim-at-zero-row", lambda x: x.norm(dim=1), ([[0.0, 0.0], [3.0, 4.0]],),
     [[[0.0, 0.0], [0.6, 0.8]]]),
    ("std-of-constant-is-zero", lambda x: x.std(), ([1.0, 1.0],), [[0.0, 0.0]]),
    ("layer_norm-of-constant-row", lambda x: F().layer_norm(x, (3,)), ([[2.0, 2.0, 2.0]],),
     [[[0.0, 0.0, 0.0]]]),
    ("sqrt-at-zero-is-inf", lambda x: x.sqrt(), ([0.0, 4.0],), [[float("inf"), 0.25]]),
    ("pow-half-at-zero-is-inf", lambda x: x ** 0.5, ([0.0],), [[float("inf")]]),
    ("pow-zero-exponent", lambda x: x ** 0, ([0.0, 2.0],), [[0.0, 0.0]]),
    ("pow-two-at-zero", lambda x: x ** 2, ([0.0],), [[0.0]]),
    ("log-at-zero-is-inf", lambda x: x.log(), ([0.0],), [[float("inf")]]),
]


@pytest.mark.parametrize("fn, values, expected", [pytest.param(f, v, e, id=i) for i, f, v, e in KINKS])
def test_gradient_convention_at_non_differentiable_point(fn, values, expected):
    got = _grad_of(fn, *values)
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(expected, dtype=float),
                               rtol=1e-12, atol=1e-12)


def test_max_and_argmax_indices_pick_first_of_ties():
    x = torch.tensor([[3.0, 3.0, 1.0], [0.0, 5.0, 5.0]])
    assert x.max(1).indices.tolist() == [0, 1]
    assert x.argmax(1).tolist() == [0, 1]
    assert torch.tensor([3.0, 3.0, 1.0]).argmax().item() == 0
    assert x.min(0).indices.tolist() == [1, 0, 0]


# --------------------------------------------------------------------------
# numerically stable forward and backward for large inputs
# --------------------------------------------------------------------------
def test_softmax_family_is_stable_for_large_logits():
    x = torch.tensor([1000.0, 1001.0], dtype=torch.float64)
    np.testing.assert_allclose(x.softmax(0).tolist(), [0.2689414213699951, 0.7310585786300049], rtol=1e-12)
    np.testing.assert_allclose(torch.tensor([1000.0, 0.0]).log_softmax(0).tolist(), [0.0, -1000.0])
    np.testing.assert_allclose(torch.tensor([1000.0, 1000.0], dtype=torch.float64).logsumexp(0).item(),
                               1000.0 + np.log(2.0), rtol=1e-12)
    assert torch.tensor([-float("inf"), -float("inf")]).logsumexp(0).item() == -float("inf")


def test_cross_entropy_stable_for_large_logits_and_its_gradient():
    x = torch.tensor([[1000.0, 0.0, -1000.0]], dtype=torch.float64, requires_grad=True)
    loss = F().cross_entropy(x, long([2]))
    assert loss.item() == 2000.0
    loss.backward()
    np.testing.assert_allclose(x.grad.tolist(), [[1.0, 0.0, -1.0]], atol=1e-12)


def test_bce_with_logits_stable_for_large_logits_and_its_gradient():
    x = torch.tensor([1000.0, -1000.0], dtype=torch.float64, requires_grad=True)
    loss = F().binary_cross_entropy_with_logits(x, t64([0.0, 1.0]))
    assert loss.item() == 1000.0
    loss.backward()
    np.testing.assert_allclose(x.grad.tolist(), [0.5, -0.5], atol=1e-12)


def test_sigmoid_and_tanh_saturate_without_nan():
    x = torch.tensor([-1000.0, 1000.0], dtype=torch.float64, requires_grad=True)
    assert x.sigmoid().tolist() == [0.0, 1.0]
    (x.sigmoid() + x.tanh()).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_binary_cross_entropy_clamps_log_at_minus_100():
    # PyTorch clamps log(p) and log(1 - p) to >= -100, so p = 0 with target 1 costs 100
    loss = F().binary_cross_entropy(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 1.0]))
    assert loss.item() == 50.0


def test_empty_reductions():
    assert torch.tensor([]).sum().item() == 0.0
    assert np.isnan(torch.tensor([]).mean().item())
    assert torch.zeros(0, 3).sum(0).tolist() == [0.0, 0.0, 0.0]


def test_deep_graph_backward_does_not_overflow_the_stack():
    x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(5000):  # well beyond Python's default recursion limit of 1000
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
