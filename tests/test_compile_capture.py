"""What a compiled function captures from its surroundings, and how in-place
writes get back to the caller.

Tensors a function reaches through its closure, the module globals it names,
module attributes (`params.W`) and attributes of objects it is given
(`model.w`) must become graph *inputs*, never baked-in constants: updating
them in place between calls changes the next result without a retrace,
while rebinding one to a tensor of another shape retraces. Tensors made
inside the function (zeros, arange, literals) are constants and must give
eager's values. In-place ops on the caller's tensors inside the function
(`x.add_`, `x[0] = 5`, writes through views) must leave the caller's tensors
as eager leaves them. Every printed IR node must point at the user's line.
"""
import inspect
import logging
import os
import sys
import types

import numpy as np
import pytest

import frontend as torch
from compiler.ir import SourceLoc

THIS = sys.modules[__name__]
GLOBAL_W = torch.ones(3, 2)
GLOBAL_SCALE = 2.0
RUNNING = torch.zeros(3)
params = types.ModuleType("capture_params")  # a user module whose attributes hold weights
params.W = torch.ones(3, 2)


def traced(compiled, *args):
    return compiled.lower(*args).stages["traced"]


def input_names(compiled, *args):
    return [v.name for v in traced(compiled, *args).inputs]


def close(actual, expected):
    np.testing.assert_allclose(actual.numpy(), np.asarray(expected, dtype=actual.dtype.np), rtol=1e-5)


class Linear:
    """A tiny user model: attributes hold the weights."""

    def __init__(self, n_in, n_out, fill=1.0):
        self.w = torch.full((n_in, n_out), fill)
        self.b = torch.zeros(n_out)

    def __call__(self, x):
        return x @ self.w + self.b


@pytest.fixture
def fresh_globals(monkeypatch):
    monkeypatch.setattr(THIS, "GLOBAL_W", torch.ones(3, 2))
    monkeypatch.setattr(THIS, "GLOBAL_SCALE", 2.0)
    monkeypatch.setattr(THIS, "RUNNING", torch.zeros(3))
    monkeypatch.setattr(params, "W", torch.ones(3, 2))


# ---- captured tensors are inputs ---------------------------------------------------------
def test_closure_tensor_is_an_input_and_in_place_updates_are_seen():
    W = torch.ones(3, 2)

    @torch.compile
    def project(x):
        return x @ W

    x = torch.ones(4, 3)
    close(project(x), np.full((4, 2), 3.0))
    W.mul_(2)
    close(project(x), np.full((4, 2), 6.0))
    assert project.trace_count == 1
    assert input_names(project, x) == ["x", "W"]


def test_global_tensor_is_an_input_and_in_place_updates_are_seen(fresh_globals):
    @torch.compile
    def project(x):
        return x @ GLOBAL_W

    x = torch.ones(4, 3)
    close(project(x), np.full((4, 2), 3.0))
    GLOBAL_W.add_(1)
    close(project(x), np.full((4, 2), 6.0))
    assert project.trace_count == 1
    assert input_names(project, x) == ["x", "GLOBAL_W"]


def test_rebinding_a_global_to_another_shape_retraces(fresh_globals, caplog):
    @torch.compile
    def project(x):
        return x @ GLOBAL_W

    caplog.set_level(logging.INFO, logger="jitgrad.compile")
    x = torch.ones(4, 3)
    project(x)
    THIS.GLOBAL_W = torch.ones(3, 5)
    close(project(x), np.full((4, 5), 3.0))
    assert project.trace_count == 2
    assert caplog.messages == ["recompiling project: GLOBAL_W.shape[1] 2 -> 5"]


def test_rebinding_a_global_to_a_same_shape_tensor_uses_the_new_tensor(fresh_globals):
    @torch.compile
    def project(x):
        return x @ GLOBAL_W

    x = torch.ones(4, 3)
    project(x)
    THIS.GLOBAL_W = torch.full((3, 2), 10.0)
    close(project(x), np.full((4, 2), 30.0))
    assert project.trace_count == 1


def test_global_python_scalar_is_guarded(fresh_globals, caplog):
    @torch.compile
    def scale(x):
        return x * GLOBAL_SCALE

    caplog.set_level(logging.INFO, logger="jitgrad.compile")
    close(scale(torch.ones(2)), [2.0, 2.0])
    THIS.GLOBAL_SCALE = 3.0
    close(scale(torch.ones(2)), [3.0, 3.0])
    assert scale.trace_count == 2 and caplog.messages == ["recompiling scale: GLOBAL_SCALE 2.0 -> 3.0"]


def test_module_attribute_tensor_is_an_input(fresh_globals):
    @torch.compile
    def project(x):
        return x @ params.W

    x = torch.ones(4, 3)
    close(project(x), np.full((4, 2), 3.0))
    params.W.mul_(3)
    close(project(x), np.full((4, 2), 9.0))
    assert project.trace_count == 1
    assert input_names(project, x) == ["x", "params.W"]


def module_helper(x):
    return x @ GLOBAL_W


def test_module_level_helpers_globals_are_inputs_too(fresh_globals):
    @torch.compile
    def outer(x):
        return module_helper(x) + 1

    x = torch.ones(4, 3)
    close(outer(x), np.full((4, 2), 4.0))
    GLOBAL_W.mul_(0)
    close(outer(x), np.full((4, 2), 1.0))
    THIS.GLOBAL_W = torch.full((3, 2), 2.0)
    close(outer(x), np.full((4, 2), 7.0))
    assert outer.trace_count == 1
    assert input_names(outer, x) == ["x", "GLOBAL_W"]


def test_closure_held_helpers_globals_are_followed(fresh_globals):
    def helper(x):
        return x @ GLOBAL_W

    @torch.compile
    def outer(x):
        return helper(x) + 1

    x = torch.ones(4, 3)
    outer(x)
    THIS.GLOBAL_W = torch.full((3, 2), 2.0)
    close(outer(x), np.full((4, 2), 7.0))


@pytest.mark.parametrize("how", ["argument", "closure"])
def test_user_object_attributes_are_inputs(how):
    model = Linear(3, 2)
    if how == "argument":
        compiled = torch.compile(lambda x, model: model(x))
        call = lambda x: compiled(x, model)  # noqa: E731
        args = (model,)
    else:
        compiled = torch.compile(lambda x: model(x))
        call = compiled
        args = ()
    x = torch.ones(4, 3)
    close(call(x), np.full((4, 2), 3.0))
    model.w.mul_(2)
    model.b.add_(1)
    close(call(x), np.full((4, 2), 7.0))
    assert compiled.trace_count == 1
    assert input_names(compiled, x, *args) == ["x", "model.w", "model.b"]


def test_nested_objects_lists_and_dicts_name_their_inputs_by_path():
    class Net:
        def __init__(self):
            self.layers = [Linear(3, 3), Linear(3, 3, fill=2.0)]

    @torch.compile
    def run(x, net, extra):
        for layer in net.layers:
            x = layer(x)
        return x * extra["scale"]

    net, extra, x = Net(), {"scale": torch.full((1,), 0.5)}, torch.ones(2, 3)
    close(run(x, net, extra), np.full((2, 3), 9.0))
    extra["scale"].mul_(2)
    net.layers[1].b.add_(1)
    close(run(x, net, extra), np.full((2, 3), 19.0))
    assert run.trace_count == 1
    assert input_names(run, x, net, extra) == ["x", "net.layers.0.w", "net.layers.0.b", "net.layers.1.w",
                                               "net.layers.1.b", "extra.scale"]


def test_class_attribute_rebinding_is_seen():
    class Config:
        scale = 2.0
        shift = torch.ones(3)

    @torch.compile
    def f(x):
        return x * Config.scale + Config.shift

    x = torch.ones(3)
    f(x)
    Config.scale, Config.shift = 3.0, torch.full((3,), 10.0)
    close(f(x), f.fn(x).numpy())


# ---- constants made inside ------------------------------------------------------------------
def test_constants_made_inside_give_eager_values():
    @torch.compile
    def with_constants(x):
        table = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        return (x + torch.zeros(2, 2) + torch.ones(2) * 3 + torch.arange(2) + table,
                torch.full((2,), 7, dtype=torch.int64) + torch.arange(1, 5, 2), torch.eye(2) * x)

    x = torch.tensor([[0.5, -0.5], [1.5, 2.5]])
    for _ in range(2):
        out, expected = with_constants(x), with_constants.fn(x)
        for a, e in zip(out, expected):
            assert a.dtype is e.dtype
            np.testing.assert_array_equal(a.numpy(), e.numpy())
    assert with_constants.trace_count == 1
    names = [v.name for v in traced(with_constants, x).inputs]
    assert names[0] == "x" and all(n.startswith("const") for n in names[1:])  # nothing from the caller


# ---- in-place writes back to the caller ---------------------------------------------------------
def _twins(*arrays):
    return [torch.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


@pytest.mark.parametrize("name, body", [
    ("add_", lambda x, y: (x.add_(1), x * y)[1]),
    ("setitem", lambda x, y: (x.__setitem__(0, 5.0), x + y)[1]),
    ("view-mul_", lambda x, y: (y[1:].mul_(2), x - y)[1]),
    ("column-view", lambda x, y: (x.view(2, 2)[:, 1].sub_(10), x.sum())[1]),
    ("relu_-only-y", lambda x, y: (y.relu_(), x)[1]),
    ("untouched", lambda x, y: x * y),
])
def test_in_place_writes_reach_the_callers_tensors_as_in_eager(name, body):
    (cx, cy), (ex, ey) = _twins([1.0, -2.0, 3.0, -4.0], [-1.0, 2.0, -3.0, 4.0])
    compiled = torch.compile(body)
    out, expected = compiled(cx, cy), body(ex, ey)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    for c, e in ((cx, ex), (cy, ey)):
        np.testing.assert_array_equal(c.numpy(), e.numpy())
        assert c._version == e._version
    assert compiled.trace_count == 1


def test_in_place_updates_of_captured_state_are_written_back(fresh_globals):
    model = Linear(3, 2)

    @torch.compile
    def step(x):
        RUNNING.mul_(0.5).add_(x.mean(0))
        model.b.add_(1)
        return model(x)

    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    for _ in range(2):
        step(x)
    close(RUNNING, [3.0, 4.5, 6.0])  # 0 -> [2, 3, 4] -> [1, 1.5, 2] + [2, 3, 4]
    close(model.b, [2.0, 2.0])
    assert RUNNING._version > 0 and model.b._version > 0
    assert step.trace_count == 1


def test_version_counter_counts_each_in_place_op_like_eager():
    def twice(x):
        x.add_(1)
        x[0] = 5.0
        return x * 2

    a, b = torch.zeros(3), torch.zeros(3)
    torch.compile(twice)(a)
    twice(b)
    assert (a._version, a.tolist()) == (b._version, b.tolist())


def test_returning_a_mutated_input_returns_the_callers_tensor():
    a = torch.zeros(3)
    assert torch.compile(lambda x: x.add_(1))(a) is a


def test_returning_an_unmodified_input_returns_the_callers_tensor():
    a = torch.zeros(3)
    assert torch.compile(lambda x, y: (x, y + 1))(a, torch.ones(3))[0] is a


def test_rebinding_an_attribute_inside_the_function_is_kept():
    compiled_model, eager_model = Linear(3, 2), Linear(3, 2)

    def shrink(x, model):
        model.w = model.w * 0.5
        return model(x)

    torch.compile(shrink)(torch.ones(1, 3), compiled_model)
    shrink(torch.ones(1, 3), eager_model)
    close(compiled_model.w, eager_model.w.numpy())


# ---- the same tensor passed twice --------------------------------------------------------------
def test_same_tensor_twice_is_one_input_and_aliasing_is_kept():
    def bump_then_add(x, y):
        x.add_(1)
        return x + y

    compiled = torch.compile(bump_then_add)
    a, e = torch.ones(3), torch.ones(3)
    close(compiled(a, a), bump_then_add(e, e).numpy())
    close(a, e.numpy())
    b, c = torch.ones(3), torch.ones(3)
    close(compiled(b, c), [3.0, 3.0, 3.0])  # distinct tensors: another guard key
    close(b, [2.0, 2.0, 2.0])
    close(c, [1.0, 1.0, 1.0])
    assert compiled.trace_count == 2
    assert input_names(compiled, a, a) == ["x"]
    assert input_names(compiled, b, c) == ["x", "y"]


# ---- source locations --------------------------------------------------------------------------
def _scaled_sum(x, w):
    y = x * w  # line +1
    z = y.relu()  # line +2
    return helper_sum(z)  # line +3


def helper_sum(z):
    return z.sum(0)  # line +1


def test_printed_ir_points_at_the_users_lines():
    compiled = torch.compile(_scaled_sum)
    graph = traced(compiled, torch.ones(2, 3), torch.ones(3))
    first = inspect.getsourcelines(_scaled_sum)[1]
    helper_line = inspect.getsourcelines(helper_sum)[1] + 1
    path = os.path.relpath(__file__)
    path = __file__ if path.startswith("..") else path
    locs = {node.op: node.loc for node in graph.nodes}
    assert locs["mul"] == SourceLoc(path, first + 1, "_scaled_sum")
    assert locs["relu"] == SourceLoc(path, first + 2, "_scaled_sum")
    assert locs["sum"] == SourceLoc(path, helper_line, "helper_sum")
    text = str(graph)
    assert f"# {path}:{first + 1} in _scaled_sum" in text
    assert f"# {path}:{helper_line} in helper_sum" in text
    assert all(line.rstrip().endswith(("_scaled_sum", "helper_sum")) for line in text.splitlines()
               if " = " in line)
