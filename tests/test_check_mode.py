"""`compile(fn, check=True)` and `JITGRAD_CHECK=1` (issue 7, item 5).

Check mode runs eager beside the compiled graph on each variant's first
calls and raises CompiledMismatchError when they disagree beyond the
dtype's tolerance, naming what differs (an output, an in-place write, a
`.grad`, a gradient of the compiled backward) with the max abs and rel
error. To prove it catches what it should, these tests corrupt the
compiled side: the forward graph's runner or the backward graph's runner
returns wrong values, as a miscompiled kernel would.
"""
import itertools
import re

import numpy as np
import pytest

import frontend as torch
from frontend.jit import backward as jit_backward
from frontend.jit import compiled as jit_compiled
from frontend.jit.check import CHECKED_CALLS, CompiledMismatchError

F = torch.nn.functional


def corrupt(module, monkeypatch, output, change):
    """Make `module.runner` (the forward's or the backward's) return
    `change(array)` for graph output number `output`."""
    real = module.runner

    def wrong_runner(graph, backend, *in_place):
        run = real(graph, backend, *in_place)
        return lambda arrays: [change(r) if k == output else r for k, r in enumerate(run(arrays))]
    monkeypatch.setattr(module, "runner", wrong_runner)


def mismatch(fragment, fn, *args):
    with pytest.raises(CompiledMismatchError) as info:
        fn(*args)
    assert re.search(fragment, str(info.value)), str(info.value)
    return str(info.value)


ERROR = r"max abs error [\d.e+-]+, max rel error [\d.e+-]+ \(float32 tolerance: rtol 0.0001, atol 1e-05\)"


# ---- what check mode compares --------------------------------------------------------------------
def test_an_output_that_differs_is_named_with_its_errors(monkeypatch):
    corrupt(jit_compiled, monkeypatch, 1, lambda r: r + 0.5)
    f = torch.compile(lambda x: (x.sum(), x * 2), check=True)
    message = mismatch(r"<lambda>: out\[1\] differs from eager: " + ERROR, f, torch.ones(3))
    assert "max abs error 0.5, max rel error 0.25" in message


def test_a_gradient_of_the_compiled_backward_that_differs_is_named(monkeypatch):
    corrupt(jit_backward, monkeypatch, 1, lambda r: r * 1.5)  # the gradient of the second input (b)

    def loss(x, w, b):
        return ((x @ w + b).tanh() ** 2).mean()

    f = torch.compile(loss, check=True)
    x, w, b = torch.randn(4, 3), torch.randn(3, 2, requires_grad=True), torch.zeros(2, requires_grad=True)
    out = f(x, w, b)  # the forward agrees
    message = mismatch(r"loss: the gradient of out w\.r\.t\. b differs from eager: " + ERROR, out.backward)
    assert "max rel error 0.5" in message
    assert w.grad is None and b.grad is None  # nothing accumulated from the bad backward


def test_gradients_are_checked_once_per_checked_call_then_run_unchecked(monkeypatch):
    corrupt(jit_backward, monkeypatch, 0, lambda r: r + 1)
    f = torch.compile(lambda w: (w * w).sum(), check=True)
    w = torch.ones(3, requires_grad=True)
    for _ in range(CHECKED_CALLS):
        out = f(w)
        mismatch("the gradient of out w.r.t. w", out.backward)
    f(w).backward()  # past the checked calls: the wrong gradient is not caught (as without check)
    assert w.grad.tolist() == [3.0, 3.0, 3.0]


def test_agreeing_gradients_pass_through_retain_graph_and_several_outputs():
    f = torch.compile(lambda x, w: {"a": (x * w).sum(), "b": [w.exp()]}, check=True)
    w, v = torch.randn(3, requires_grad=True), None
    v = w.detach().clone().requires_grad_()
    x = torch.randn(3)
    got, want = f(x, w), f.fn(x, v)
    (got["a"] + got["b"][0].sum()).backward(retain_graph=True)
    got["a"].backward()
    (want["a"] + want["b"][0].sum()).backward(retain_graph=True)
    want["a"].backward()
    np.testing.assert_allclose(w.grad.numpy(), v.grad.numpy(), rtol=1e-5)


def test_an_in_place_write_that_differs_is_named(monkeypatch):
    corrupt(jit_compiled, monkeypatch, 1, lambda r: r - 1)  # output 0 is the sum, 1 the new x

    def f(x):
        x.mul_(2)
        return x.sum()

    x = torch.ones(3)
    mismatch(r"f: x \(written in place\) differs from eager", torch.compile(f, check=True), x)
    assert x.tolist() == [2.0, 2.0, 2.0] and x._version == 1  # as eager leaves it


def test_a_grad_that_a_compiled_training_step_gets_wrong_is_named(monkeypatch):
    corrupt(jit_compiled, monkeypatch, 1, lambda r: r * 3)  # output 0 is the loss, 1 the new w.grad
    w = torch.ones(2, requires_grad=True)

    def step(x):
        loss = (w * x).sum()
        loss.backward()
        return loss

    mismatch(r"step: \.grad of w differs from eager", torch.compile(step, check=True), torch.ones(2))
    assert w.grad.tolist() == [1.0, 1.0]  # eager's


def test_tolerance_is_the_dtypes():
    # 1e-7 relative passes in float32 (a few ulp) and fails in float64
    for dtype, fails in ((torch.float32, False), (torch.float64, True)):
        with pytest.MonkeyPatch.context() as monkeypatch:
            corrupt(jit_compiled, monkeypatch, 0, lambda r: r * (1 + 1e-7))
            f = torch.compile(lambda x: x * 3, check=True)
            x = torch.ones(4, dtype=dtype)
            if fails:
                mismatch(r"out differs from eager: .*\(float64 tolerance: rtol 1e-10, atol 1e-12\)", f, x)
            else:
                f(x)


def test_integer_outputs_must_match_exactly(monkeypatch):
    corrupt(jit_compiled, monkeypatch, 0, lambda r: r + 1)
    f = torch.compile(lambda x: x.argmax(), check=True)
    mismatch(r"out differs from eager: max abs error 1, .*\(int64 tolerance: rtol 0, atol 0\)", f, torch.ones(3))


# ---- when it runs, and what it leaves -----------------------------------------------------------------
def test_eager_runs_beside_only_the_first_calls_of_each_variant():
    runs = itertools.count()  # (guarded by identity: a list's length would be a guard)

    def f(x):
        next(runs)  # once per trace, and once per eager run beside a checked call
        return x * 2

    c = torch.compile(f, check=True)
    for _ in range(5):
        c(torch.ones(3))
    assert next(runs) == 1 + CHECKED_CALLS
    for _ in range(5):
        c(torch.ones(4))  # a new variant is checked afresh
    assert next(runs) == 1 + CHECKED_CALLS + 1 + 1 + CHECKED_CALLS


@pytest.mark.parametrize("value, on", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_JITGRAD_CHECK_turns_check_mode_on_for_functions_compiled_after(monkeypatch, value, on):
    monkeypatch.setenv("JITGRAD_CHECK", value)
    corrupt(jit_compiled, monkeypatch, 0, lambda r: r + 1)
    f = torch.compile(lambda x: x * 2)
    if on:
        mismatch("out differs from eager", f, torch.ones(3))
    else:
        assert f(torch.ones(3)).tolist() == [3.0, 3.0, 3.0]  # unchecked: the corruption goes through


def test_a_checked_training_step_leaves_parameters_and_optimizer_state_as_eager_does():
    # the compiled run stored Adam's new state, then eager stepped again from it: every checked step
    # that created state ran twice (step count 6 after 5 steps, parameters off by 1e-2)
    def train(compile_step):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
        opt = torch.optim.Adam(model.parameters(), lr=0.01)

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        run = compile_step(step)
        x, y = torch.randn(6, 4), torch.randn(6, 1)
        losses = [run(x, y).item() for _ in range(5)]
        return losses, list(model.parameters()), opt

    want, eager_params, eager_opt = train(lambda step: step)
    got, params, opt = train(lambda step: torch.compile(step, check=True))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for p, q in zip(params, eager_params):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-7)
        state, eager_state = opt.state[p], eager_opt.state[q]
        assert state["step"].item() == eager_state["step"].item() == 5
        np.testing.assert_allclose(state["exp_avg"].numpy(), eager_state["exp_avg"].numpy(), rtol=1e-5, atol=1e-8)
