"""Optimizers inside compiled training steps (DESIGN.md §2, issue 6 item 3).

`opt.zero_grad(); loss.backward(); opt.step()` traced whole (`fullgraph=True`):
the parameters, their `.grad` and the optimizer's state tensors (momentum
buffers, Adam's moments and step count) are graph inputs, updates are written
back in place, and state created on the first step is stored by the graph.
After N compiled steps the model, the gradients and `opt.state_dict()` must
equal N eager steps from the same start, for every option that changes the
update. Also: state entries are named after their parameters, the one
recompile when state appears and its reason, a graph break after state was
created leaves no tracer behind, and in-place writes of traced values into
tensors made inside the function (`acc = zeros(n); acc += x`).
"""
import logging
import warnings

import numpy as np
import pytest

import frontend as torch
from frontend import nn, optim
from frontend.jit import GraphBreakWarning
from frontend.jit.tracer import Tracer

STEPS = 5
CONFIGS = {
    "SGD": (optim.SGD, dict(lr=0.1)),
    "SGD momentum": (optim.SGD, dict(lr=0.1, momentum=0.9)),
    "SGD nesterov + weight decay": (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "SGD dampening + maximize": (optim.SGD, dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)),
    "Adam": (optim.Adam, dict(lr=0.01)),
    "Adam amsgrad + weight decay": (optim.Adam, dict(lr=0.01, betas=(0.8, 0.9), amsgrad=True, weight_decay=0.1)),
    "AdamW": (optim.Adam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
}


def make_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def batches(n=STEPS, seed=1):
    rng = np.random.default_rng(seed)
    return [(torch.tensor(rng.standard_normal((6, 4)).astype(np.float32)), torch.tensor(rng.integers(0, 3, 6)))
            for _ in range(n)]


def train(config, compiled, data=None, model=None, opt=None):
    """Run the steps; returns (model, optimizer, losses, compiled function or None)."""
    cls, kwargs = CONFIGS[config]
    model = model or make_model()
    opt = opt or cls(model.parameters(), **kwargs)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = torch.compile(step, fullgraph=True) if compiled else step
    losses = [run(x, y).item() for x, y in (data or batches())]
    return model, opt, losses, run if compiled else None


def assert_same_training(got, want):
    (m1, o1, l1, _), (m0, o0, l0, _) = got, want
    np.testing.assert_allclose(l1, l0, rtol=1e-5, atol=1e-6)
    for (name, p1), p0 in zip(m1.named_parameters(), m0.parameters()):
        np.testing.assert_allclose(p1.detach().numpy(), p0.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(p1.grad.numpy(), p0.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name + ".grad")
    assert_same_state(o1, o0)


def assert_same_state(o1, o0):
    s1, s0 = o1.state_dict(), o0.state_dict()
    assert s1["param_groups"] == s0["param_groups"]
    assert sorted(s1["state"]) == sorted(s0["state"])
    for k, entries in s0["state"].items():
        assert sorted(s1["state"][k]) == sorted(entries)
        for name, value in entries.items():
            got = s1["state"][k][name]
            assert type(got) is torch.Tensor and got.dtype == value.dtype, (k, name)
            np.testing.assert_allclose(got.numpy(), value.numpy(), rtol=1e-5, atol=1e-7, err_msg=f"{k}.{name}")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_n_compiled_steps_equal_n_eager_steps(config):
    got = train(config, compiled=True)
    assert_same_training(got, train(config, compiled=False))
    # `.grad` and the state appear on the first step: one retrace with them as inputs, then every call hits.
    assert got[3].trace_count == 2


def test_state_tensors_are_graph_inputs_named_after_their_parameters():
    model, opt, _, run = train("Adam", compiled=True)
    names = [v.name for v in list(run.cache.values())[-1].graph.inputs]
    for param in ("0.weight", "0.bias", "2.weight", "2.bias"):
        for entry in ("step", "exp_avg", "exp_avg_sq"):
            assert f"opt.state.model.{param}.{entry}" in names


def test_state_appearing_and_a_new_learning_rate_are_the_logged_recompile_reasons(caplog):
    caplog.set_level(logging.INFO, logger="jitgrad.compile")
    model, opt, _, run = train("SGD momentum", compiled=True, data=batches(2))
    opt.param_groups[0]["lr"] = 0.05
    x, y = batches(1, seed=3)[0]
    run(x, y)
    assert caplog.messages == [
        "recompiling step: opt.state keys [] -> keys [model.0.weight, model.0.bias, model.2.weight, model.2.bias]",
        "recompiling step: opt.param_groups[0]['lr'] 0.1 -> 0.05"]


def test_model_and_optimizer_passed_as_arguments():
    def step(model, opt, x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    results = []
    for compiled in (True, False):
        model = make_model()
        opt = optim.Adam(model.parameters(), lr=0.01)
        run = torch.compile(step, fullgraph=True) if compiled else step
        losses = [run(model, opt, x, y).item() for x, y in batches()]
        results.append((model, opt, losses, None))
    assert_same_training(*results)


def test_compiled_steps_continue_from_eager_steps_and_a_loaded_state_dict():
    data = batches(6)
    want = train("Adam", compiled=False, data=data)
    model, opt, _, _ = train("Adam", compiled=False, data=data[:2])
    fresh = optim.Adam(model.parameters(), **CONFIGS["Adam"][1])
    fresh.load_state_dict(opt.state_dict())
    got = train("Adam", compiled=True, data=data[2:], model=model, opt=fresh)
    assert_same_state(got[1], want[1])
    np.testing.assert_allclose(got[2], want[2][2:], rtol=1e-5)


def test_a_new_optimizer_over_the_same_model_starts_from_empty_state():
    """Its guard key matches the first variant's (empty state): that variant's
    stores create the new optimizer's state."""
    data = batches(4)
    model, _, _, run = train("SGD momentum", compiled=True, data=data[:2])
    eager_model, _, _, _ = train("SGD momentum", compiled=False, data=data[:2])
    for m, compiled in ((model, True), (eager_model, False)):
        got = train("SGD momentum", compiled, data=data[2:], model=m)
        if compiled:
            compiled_result = got
        else:
            eager_result = got
    assert_same_training(compiled_result, eager_result)


def test_a_graph_break_after_state_was_created_leaves_no_tracer_behind():
    model = make_model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    eager_model = make_model()
    eager_opt = optim.Adam(eager_model.parameters(), lr=0.01)

    def step(model, opt, x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()  # data-dependent: the whole call runs eagerly

    run = torch.compile(step)
    with pytest.warns(GraphBreakWarning, match=r"Tensor.item\(\)"):
        losses = [run(model, opt, x, y) for x, y in batches()]
    want = [step(eager_model, eager_opt, x, y) for x, y in batches()]
    np.testing.assert_allclose(losses, want, rtol=1e-6)
    assert_same_state(opt, eager_opt)
    assert not any(isinstance(t, Tracer) for s in opt.state.values() for t in s.values())


def test_more_parameters_than_guards_walk_one_by_one():
    """An optimizer over a long parameter list (read by identity past 256
    items) still updates each parameter through its tracer."""
    params = [torch.tensor([float(i), 1.0], requires_grad=True) for i in range(300)]
    twins = [p.detach().clone().requires_grad_(True) for p in params]

    def make_step(ps):
        opt = optim.SGD(ps, lr=0.1, momentum=0.9)

        def step():
            opt.zero_grad()
            sum((p * p).sum() for p in ps).backward()
            opt.step()
        return step

    run = torch.compile(make_step(params), fullgraph=True, backend="interpreter")
    eager = make_step(twins)
    for _ in range(3):
        run()
        eager()
    for p, q in zip(params, twins):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6)


# ---- writing traced values into tensors made inside ---------------------------------------------

def test_accumulating_into_a_tensor_made_inside_is_traced():
    def accumulate(xs):
        acc = torch.zeros(3)
        for x in xs:
            acc += x * 2
        acc[0] = xs[0][1]
        return acc

    xs = [torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.5, -1.0, 4.0])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = torch.compile(accumulate, fullgraph=True)
        np.testing.assert_array_equal(run(xs).numpy(), accumulate(xs).numpy())
        xs[0].mul_(3)  # the graph reads the new values: nothing was frozen at trace time
        np.testing.assert_array_equal(run(xs).numpy(), accumulate(xs).numpy())
    assert run.trace_count == 1


def test_reading_a_stale_view_of_a_tensor_made_inside_is_a_graph_break():
    def stale(x):
        acc = torch.zeros(3)
        head = acc[:2]
        acc += x
        return head * 1

    with pytest.raises(torch.jit.CompileError, match="take the view after the write"):
        torch.compile(stale, fullgraph=True)(torch.ones(3))


# ---- the README's example: a global `step` that calls `opt.step()` ------------------------------
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
opt = optim.Adam(model.parameters(), lr=1e-3)


@torch.compile(fullgraph=True)
def step(x, y):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()  # `step` is also a global here: the compiled function, read by identity only
    return loss


def test_a_compiled_global_named_like_an_attribute_is_not_read_as_state():
    for x, y in batches(4):
        step(x, y)
    assert step.trace_count == 2
