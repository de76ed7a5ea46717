"""torch.optim: SGD and Adam against hand-written NumPy updates and real
PyTorch, param groups, zero_grad, state_dict round trips, errors, repr, and
a training step under torch.compile."""

import numpy as np
import pytest

import frontend as torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}
TOL = {"float32": dict(rtol=2e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-14)}


def _problem(dtype, steps=4, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(steps)]
    return p0, grads


def _run(cls, p0, grads, dtype, **kwargs):
    p = torch.tensor(p0, dtype=DTYPES[dtype], requires_grad=True)
    opt = cls([p], **kwargs)
    for g in grads:
        p.grad = torch.tensor(g, dtype=DTYPES[dtype])
        opt.step()
    return p, opt


def _sgd_numpy(p0, grads, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    p, buf = p0.copy(), None
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p, buf


def _adam_numpy(p0, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False):
    b1, b2 = betas
    p = p0.copy()
    m, v, vmax = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for step, g in enumerate(grads, 1):
        g = -g if maximize else g
        g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v) / np.sqrt(1 - b2 ** step) + eps
        p = p - lr / (1 - b1 ** step) * m / denom
    return p, m, v, vmax


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True, maximize=True),
    dict(lr=0.1, maximize=True, dampening=0.5, momentum=0.5),
]
ADAM_CASES = [
    dict(),
    dict(lr=0.01),
    dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True, betas=(0.5, 0.9)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_sgd_matches_numpy(kwargs, dtype):
    p0, grads = _problem(dtype)
    p, opt = _run(torch.optim.SGD, p0, grads, dtype, **kwargs)
    want, buf = _sgd_numpy(p0.astype(np.float64), [g.astype(np.float64) for g in grads], **kwargs)
    assert p.dtype == DTYPES[dtype] and p.requires_grad and p.is_leaf
    np.testing.assert_allclose(p.detach().numpy(), want, **TOL[dtype])
    if kwargs.get("momentum"):
        np.testing.assert_allclose(opt.state[p]["momentum_buffer"].numpy(), buf, **TOL[dtype])
    else:
        assert "momentum_buffer" not in opt.state[p]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=str)
def test_adam_matches_numpy(kwargs, dtype):
    p0, grads = _problem(dtype)
    p, opt = _run(torch.optim.Adam, p0, grads, dtype, **kwargs)
    want, m, v, vmax = _adam_numpy(p0.astype(np.float64), [g.astype(np.float64) for g in grads], **kwargs)
    np.testing.assert_allclose(p.detach().numpy(), want, **TOL[dtype])
    state = opt.state[p]
    assert state["step"].dtype == torch.float32 and state["step"].shape == () and state["step"].item() == 4
    np.testing.assert_allclose(state["exp_avg"].numpy(), m, **TOL[dtype])
    np.testing.assert_allclose(state["exp_avg_sq"].numpy(), v, **TOL[dtype])
    assert state["exp_avg"].dtype == DTYPES[dtype]
    if kwargs.get("amsgrad"):
        np.testing.assert_allclose(state["max_exp_avg_sq"].numpy(), vmax, **TOL[dtype])
    else:
        assert "max_exp_avg_sq" not in state


def test_adam_updates_state_in_place():
    p0, grads = _problem("float32")
    p = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.01, amsgrad=True)
    p.grad = torch.tensor(grads[0])
    opt.step()
    before = dict(opt.state[p])
    p.grad = torch.tensor(grads[1])
    opt.step()
    assert all(opt.state[p][k] is t for k, t in before.items())
    assert opt.state[p]["step"].item() == 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kwargs", [("SGD", k) for k in SGD_CASES] + [("Adam", k) for k in ADAM_CASES],
                         ids=str)
def test_matches_real_torch(name, kwargs, dtype):
    real_torch = pytest.importorskip("torch")
    p0, grads = _problem(dtype, steps=5, seed=1)
    p, opt = _run(getattr(torch.optim, name), p0, grads, dtype, **kwargs)
    q = real_torch.tensor(p0, requires_grad=True)
    ropt = getattr(real_torch.optim, name)([q], **kwargs)
    for g in grads:
        q.grad = real_torch.tensor(g)
        ropt.step()
    np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **TOL[dtype])
    for key, value in ropt.state[q].items():
        np.testing.assert_allclose(opt.state[p][key].numpy(), value.numpy(), **TOL[dtype])
        assert str(opt.state[p][key].dtype) == str(value.dtype)
    assert repr(opt) == repr(ropt)


def test_skips_params_without_grad_and_returns_closure_loss():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    opt = torch.optim.SGD([a, b], lr=0.5, momentum=0.9)

    def closure():
        assert torch.is_grad_enabled()
        opt.zero_grad()
        loss = (a * 3).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 6.0
    np.testing.assert_allclose(a.detach().numpy(), [-0.5, -0.5])
    np.testing.assert_allclose(b.detach().numpy(), [1.0, 1.0])
    assert b not in opt.state and opt.step() is None
    assert not a.grad_fn and a.is_leaf


@pytest.mark.parametrize("cls", [torch.optim.SGD, torch.optim.Adam])
def test_zero_grad(cls):
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    opt = cls([a, b], lr=0.1)
    (a * 2).sum().backward()
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and np.all(grad.numpy() == 0) and b.grad is None
    (a * 2).sum().backward()
    assert a.grad is grad and np.all(grad.numpy() == 2)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_zero_grad_in_place_detaches_a_grad_with_history():
    a = torch.ones(2, requires_grad=True)
    (a * a).sum().backward(create_graph=True)
    assert a.grad.grad_fn is not None
    opt = torch.optim.SGD([a], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert a.grad.grad_fn is None and not a.grad.requires_grad and np.all(a.grad.numpy() == 0)


def test_param_groups_with_their_own_options():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    c = torch.ones(2, requires_grad=True)
    opt = torch.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[0]["momentum"] == 0
    opt.add_param_group({"params": [c], "lr": 1.0})
    for t in (a, b, c):
        t.grad = torch.ones(2)
    opt.step()
    np.testing.assert_allclose([a[0].item(), b[0].item(), c[0].item()], [0.9, 0.5, 0.0], rtol=1e-6)
    assert set(opt.state) == {b}
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([c])


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
])
def test_state_dict_round_trip(name, kwargs):
    cls = getattr(torch.optim, name)
    rng = np.random.default_rng(3)
    w0, v0 = rng.standard_normal((2, 3)), rng.standard_normal(3).astype(np.float32)
    x = torch.tensor(rng.standard_normal((4, 2)))

    def make(w_init, v_init):
        w = torch.tensor(w_init, requires_grad=True)
        v = torch.tensor(v_init, requires_grad=True)
        return w, v, cls([{"params": [w]}, {"params": [v], "lr": 0.02}], **kwargs)

    def train(w, v, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((x @ w).tanh().sum() * v.double().sum()).backward()
            opt.step()

    w, v, opt = make(w0, v0)
    train(w, v, opt, 5)
    w1, v1, opt1 = make(w0, v0)
    train(w1, v1, opt1, 2)
    sd = opt1.state_dict()
    assert sorted(sd) == ["param_groups", "state"] and sorted(sd["state"]) == [0, 1]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.02
    saved = {i: {k: t.clone() for k, t in s.items()} for i, s in sd["state"].items()}
    w2 = torch.tensor(w1.detach().numpy(), requires_grad=True)
    v2 = torch.tensor(v1.detach().numpy(), requires_grad=True)
    opt2 = cls([{"params": [w2]}, {"params": [v2]}], lr=1.0)
    opt2.load_state_dict({"state": saved, "param_groups": sd["param_groups"]})
    assert [g["lr"] for g in opt2.param_groups] == [kwargs["lr"], 0.02]
    assert opt2.param_groups[0]["params"] == [w2] and opt2.state[v2]["step" if name == "Adam" else
                                                                   "momentum_buffer"] is saved[1][
        "step" if name == "Adam" else "momentum_buffer"]
    train(w2, v2, opt2, 3)
    np.testing.assert_allclose(w2.detach().numpy(), w.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(v2.detach().numpy(), v.detach().numpy(), rtol=1e-6)
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]


def test_state_dict_layout_matches_real_torch():
    real_torch = pytest.importorskip("torch")
    for name in ("SGD", "Adam"):
        a = torch.ones(2, requires_grad=True)
        q = real_torch.ones(2, requires_grad=True)
        ours, real = getattr(torch.optim, name)([a], lr=0.1), getattr(real_torch.optim, name)([q], lr=0.1)
        assert ours.state_dict() == real.state_dict()


def test_load_state_dict_errors():
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    sd = torch.optim.SGD([a, b]).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        torch.optim.SGD([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        torch.optim.SGD([a]).load_state_dict(sd)


@pytest.mark.parametrize("make,error,message", [
    (lambda p: torch.optim.SGD([p], lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda p: torch.optim.SGD([p], momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (lambda p: torch.optim.SGD([p], weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (lambda p: torch.optim.SGD([p], nesterov=True), ValueError,
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: torch.optim.SGD([p], momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: torch.optim.Adam([p], lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda p: torch.optim.Adam([p], eps=-1), ValueError, "Invalid epsilon value: -1"),
    (lambda p: torch.optim.Adam([p], betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (lambda p: torch.optim.Adam([p], betas=(0.9, -1)), ValueError, "Invalid beta parameter at index 1: -1"),
    (lambda p: torch.optim.Adam([p], weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (lambda p: torch.optim.SGD([]), ValueError, "optimizer got an empty parameter list"),
    (lambda p: torch.optim.Adam(iter([])), ValueError, "optimizer got an empty parameter list"),
    (lambda p: torch.optim.SGD([p * 2]), ValueError, "can't optimize a non-leaf Tensor"),
    (lambda p: torch.optim.SGD(p), TypeError, "params argument given to the optimizer should be an iterable of "
                                              "Tensors or dicts, but got torch.FloatTensor"),
    (lambda p: torch.optim.SGD([p, 1.0]), TypeError,
     "optimizer can only optimize Tensors, but one of the params is float"),
    (lambda p: torch.optim.SGD([{"params": [p]}, {"params": [p]}]), ValueError,
     "some parameters appear in more than one parameter group"),
    (lambda p: torch.optim.SGD([{"params": {p}}]), TypeError, "ordering of tensors in sets will change"),
])
def test_invalid_arguments(make, error, message):
    p = torch.ones(2, requires_grad=True)
    with pytest.raises(error) as info:
        make(p)
    assert message in str(info.value)


def test_invalid_arguments_match_real_torch():
    real_torch = pytest.importorskip("torch")
    for kwargs in [dict(lr=-1), dict(momentum=-0.5), dict(weight_decay=-2), dict(nesterov=True)]:
        messages = []
        for lib in (torch, real_torch):
            with pytest.raises(ValueError) as info:
                lib.optim.SGD([lib.ones(2, requires_grad=True)], **kwargs)
            messages.append(str(info.value))
        assert messages[0] == messages[1]
    for kwargs in [dict(lr=-1), dict(eps=-1e-3), dict(betas=(1.5, 0.9)), dict(betas=(0.9, 1.0)),
                   dict(weight_decay=-1)]:
        messages = []
        for lib in (torch, real_torch):
            with pytest.raises(ValueError) as info:
                lib.optim.Adam([lib.ones(2, requires_grad=True)], **kwargs)
            messages.append(str(info.value))
        assert messages[0] == messages[1]


def test_duplicate_parameters_warn():
    p = torch.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        torch.optim.SGD([p, p])


def test_repr():
    p = torch.ones(2, requires_grad=True)
    assert repr(torch.optim.SGD([p], lr=0.1)) == (
        "SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n    foreach: None\n"
        "    fused: None\n    lr: 0.1\n    maximize: False\n    momentum: 0\n    nesterov: False\n"
        "    weight_decay: 0\n)")
    assert repr(torch.optim.Adam([{"params": [p]}, {"params": [torch.ones(1, requires_grad=True)], "lr": 0.5}])
                ).count("Parameter Group") == 2


def test_repr_matches_real_torch():
    real_torch = pytest.importorskip("torch")
    for name, kwargs in [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)), ("Adam", dict(amsgrad=True))]:
        ours = getattr(torch.optim, name)([{"params": [torch.ones(2, requires_grad=True)]},
                                           {"params": [torch.ones(2, requires_grad=True)], "lr": 0.5}], **kwargs)
        real = getattr(real_torch.optim, name)([{"params": [real_torch.ones(2, requires_grad=True)]},
                                                {"params": [real_torch.ones(2, requires_grad=True)], "lr": 0.5}],
                                               **kwargs)
        assert repr(ours) == repr(real)
