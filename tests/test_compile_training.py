"""Compiled training steps (DESIGN.md §2, use 2) against eager.

A step that calls `loss.backward()`, reads `.grad` and updates parameters
under `no_grad` is traced whole (`fullgraph=True`, so any graph break fails
the test) and its effects replayed on the caller's tensors. After every step
the parameters, their `.grad` values, `.grad` identity (zero_ keeps the same
tensor; `= None` clears it) and the `_version` counters of parameters and
grads must be what eager leaves, with parameters passed as a list, read as
module globals, or held as attributes of an object. Also: the one recompile
when `.grad` appears (and its log line), and graph breaks that must stay
honest (CompileError under fullgraph; otherwise one warning and eager's
results)."""
import logging
import re
import warnings
from typing import NamedTuple

import pytest

import frontend as torch
import frontend.nn.functional as F
from frontend.jit import CompileError, GraphBreakWarning
from tests.test_compile_autograd import assert_close, leaves, load_example, twins

LOGGER = "jitgrad.compile"
SHAPES = [(8, 16), (16,), (16, 3), (3,)]  # W1, b1, W2, b2


def batch(seed=5):
    return leaves([(6, 8)], seed=seed)[0], torch.tensor([0, 2, 1, 1, 0, 2])


TRAIN = load_example("train", "train_example")


def mlp_loss(params, x, y):
    W1, b1, W2, b2 = params
    return F.cross_entropy(F.relu(x @ W1 + b1) @ W2 + b2, y)


# ---- steps (examples/train.py's `step` is the plain one: backward, SGD, zero_) ------------
def sgd_update(params, lr=0.1, reset="zero"):
    """The hand-written update, called inside the steps (or outside, reset=None)."""
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            if reset == "zero":
                p.grad.zero_()
            elif reset == "none":
                p.grad = None


def sgd_set_none(params, x, y):
    loss = mlp_loss(params, x, y)
    loss.backward()
    sgd_update(params, reset="none")
    return loss


def sgd_two_backward(params, x, y):
    """Two backward calls accumulate before the update; .grad is never reset,
    so later steps add into last step's gradients too."""
    first = mlp_loss(params, x, y)
    first.backward()
    second = mlp_loss(params, x * 0.5, y)
    second.backward()
    sgd_update(params, reset=None)
    return first + second


def penalized(params, x, y):
    """A gradient penalty: autograd.grad(create_graph=True) inside; the
    caller's backward runs the compiled (second-order) backward."""
    loss = mlp_loss(params, x, y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    return loss + 0.1 * sum((g * g).sum() for g in grads)


class Model:
    def __init__(self, params):
        self.W1, self.b1, self.W2, self.b2 = params


def attribute_step(model, x, y):
    params = [model.W1, model.b1, model.W2, model.b2]
    loss = mlp_loss(params, x, y)
    loss.backward()
    sgd_update(params)
    return loss


GW1 = Gb1 = GW2 = Gb2 = None  # bound per call by `as_globals`


def global_step(x, y):
    loss = mlp_loss([GW1, Gb1, GW2, Gb2], x, y)
    loss.backward()
    sgd_update([GW1, Gb1, GW2, Gb2])
    return loss


# How a step gets its parameters: holder(params) -> call(step, x, y) -> loss.
def as_list(params):
    return lambda step, x, y: step(params, x, y)


def as_attributes(params):
    model = Model(params)
    return lambda step, x, y: step(model, x, y)


def as_globals(params):
    def call(step, x, y):
        global GW1, Gb1, GW2, Gb2
        GW1, Gb1, GW2, Gb2 = params
        try:
            return step(x, y)
        finally:
            GW1 = Gb1 = GW2 = Gb2 = None
    return call


def backward_outside(params):
    def call(step, x, y):
        loss = step(params, x, y)
        loss.backward()
        sgd_update(params, reset=None)
        return loss
    return call


class History:
    """Per parameter: the `.grad` tensor after the previous step, to compare
    identity semantics (the same tensor kept, a new one, None)."""

    def __init__(self, params):
        self.params, self.previous = params, [None] * len(params)

    def identity(self):
        kept = [p.grad is not None and p.grad is before for p, before in zip(self.params, self.previous)]
        self.previous = [p.grad for p in self.params]
        return kept


def assert_same_state(got, want, step_no):
    for i, (p, e) in enumerate(zip(got, want)):
        where = f"step {step_no}, parameter {i}"
        assert_close(p, e, where)
        assert p._version == e._version, f"{where}: _version {p._version} vs eager {e._version}"
        assert (p.grad is None) == (e.grad is None), f"{where}: .grad {p.grad} vs eager {e.grad}"
        if e.grad is not None:
            assert_close(p.grad, e.grad, f"{where} .grad")
            assert p.grad._version == e.grad._version, \
                f"{where}: .grad._version {p.grad._version} vs eager {e.grad._version}"


def run_steps(step, holder, steps=4):
    """`steps` compiled steps beside `steps` eager ones on twin parameters;
    returns the compiled function."""
    params, eager_params = twins(SHAPES, wrt=range(len(SHAPES)), seed=11)
    x, y = batch()
    compiled = torch.compile(step, fullgraph=True)
    got_call, want_call = holder(params), holder(eager_params)
    got_history, want_history = History(params), History(eager_params)
    for n in range(1, steps + 1):
        got, want = got_call(compiled, x, y), want_call(step, x, y)
        assert_close(got, want, f"step {n} loss")
        assert_same_state(params, eager_params, n)
        assert got_history.identity() == want_history.identity(), f"step {n}: .grad identity"
    return compiled


@pytest.mark.parametrize("step, holder, traces", [
    (TRAIN.step, as_list, 2),
    (sgd_set_none, as_list, 1),
    (sgd_two_backward, as_list, 2),
    (penalized, backward_outside, 1),
    (attribute_step, as_attributes, 2),
    (global_step, as_globals, 2),
], ids=["example-zero_", "grad=None", "two-backward", "autograd.grad-inside", "attributes", "globals"])
def test_compiled_training_steps_leave_eagers_state(step, holder, traces):
    """`traces`: a step that reads `.grad` traces again once, when `.grad`
    goes from None to a tensor; one that leaves it None (or never reads it
    inside) traces once."""
    compiled = run_steps(step, holder)
    assert compiled.trace_count == traces


def test_step_loss_history_is_freed_as_in_eager():
    """The returned loss was already backpropagated inside: a second backward
    outside raises eager's error."""
    params, eager_params = twins(SHAPES, wrt=range(len(SHAPES)), seed=3)
    x, y = batch()
    got, want = TRAIN.compiled_step(params, x, y), TRAIN.step(eager_params, x, y)
    messages = []
    for loss in (got, want):
        with pytest.raises(RuntimeError) as info:
            loss.backward()
        messages.append(str(info.value))
    assert messages[0] == messages[1] and messages[0].startswith("Trying to backward through the graph a second")


# ---- recompiles -----------------------------------------------------------------------
def test_reading_grad_recompiles_once_when_it_appears_and_logs_why(caplog):
    def step(params, x, lr=0.1):
        (W,) = params
        loss = (x @ W).tanh().pow(2).mean()
        loss.backward()
        with torch.no_grad():
            W -= lr * W.grad
        return loss

    caplog.set_level(logging.INFO, logger=LOGGER)
    compiled = torch.compile(step, fullgraph=True)
    (W,) = leaves([(8, 16)], wrt=(0,), seed=4)
    x = leaves([(5, 8)], seed=6)[0]
    for _ in range(4):
        compiled([W], x)
    assert caplog.messages == ["recompiling step: params.0.grad None -> f32[8,16]"]
    assert compiled.trace_count == 2


def test_multi_parameter_step_recompiles_once_naming_a_grad_that_appeared(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    compiled = run_steps(TRAIN.step, as_list)
    (message,) = caplog.messages
    match = re.fullmatch(r"recompiling step: params\.(\d)\.grad None -> f32\[([\d,]+)\]", message)
    assert match, message
    assert tuple(int(n) for n in match[2].split(",")) == SHAPES[int(match[1])]
    assert compiled.trace_count == 2


def test_function_not_touching_grad_does_not_recompile_when_grad_appears(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    compiled = torch.compile(mlp_loss, fullgraph=True)
    params = leaves(SHAPES, wrt=range(len(SHAPES)), seed=7)
    x, y = batch()
    for _ in range(3):
        compiled(params, x, y).backward()
    assert compiled.trace_count == 1 and caplog.messages == []


# ---- graph breaks that stay honest ------------------------------------------------------
def backward_inside(h, w):
    loss = (h * w).tanh().sum()
    loss.backward()
    return loss


def write_in_place(h, w):
    h.mul_(w)
    return h.sum()


def add_in_place(h, w):
    h.add_(1)
    return (h * w).sum()


def through_history(x):
    return x * 1.5


def plain(x):
    return x


def hooked(w):
    w.register_hook(lambda g: g * 2)
    return w


class Break(NamedTuple):
    fn: object
    make_h: object  # the first argument, made from a leaf x
    make_w: object  # prepares the leaf w
    reason: str
    backward_after: bool  # whether the test calls backward on the result


BREAKS = {
    "backward inside reaches a non-leaf input": Break(
        backward_inside, through_history, plain, "backward() inside the compiled function reaches h", False),
    "in-place write gives an input history": Break(
        write_in_place, lambda x: x.detach().clone(), plain,
        "writing %h in place inside a compiled function with gradient history", True),
    "in-place write to an input with history from outside": Break(
        add_in_place, through_history, plain, "writing h in place: it carries gradient history from outside", True),
    "backward inside reaches a leaf with a hook": Break(
        backward_inside, lambda x: x.detach(), hooked, "w has gradient hooks (register_hook)", False),
}


def break_leaves(case, seed=8):
    x, w = leaves([(4,), (4,)], wrt=(0, 1), seed=seed)
    return x, case.make_w(w)


@pytest.mark.parametrize("name", list(BREAKS))
def test_graph_break_with_fullgraph_raises_compile_error(name):
    case = BREAKS[name]
    x, w = break_leaves(case)
    with pytest.raises(CompileError, match=re.escape(case.reason)):
        torch.compile(case.fn, fullgraph=True)(case.make_h(x), w)


@pytest.mark.parametrize("name", list(BREAKS))
def test_graph_break_warns_once_and_runs_eagerly(name):
    """Two calls: one GraphBreakWarning naming the reason, and results and
    gradients (through hooks and outside history) as two eager calls give."""
    case = BREAKS[name]
    compiled = torch.compile(case.fn)
    (x, w), (ex, ew) = break_leaves(case), break_leaves(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            got, want = compiled(case.make_h(x), w), case.fn(case.make_h(ex), ew)
            assert_close(got, want)
            if case.backward_after:
                got.backward()
                want.backward()
    assert [c.category for c in caught] == [GraphBreakWarning]
    assert case.reason in str(caught[0].message)
    for got_leaf, want_leaf in ((x, ex), (w, ew)):
        assert (got_leaf.grad is None) == (want_leaf.grad is None)
        if want_leaf.grad is not None:
            assert_close(got_leaf.grad, want_leaf.grad)
