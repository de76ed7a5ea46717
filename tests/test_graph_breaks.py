"""Graph breaks: code a static graph cannot capture, reported at the user's line.

Anything that needs a traced tensor's *value* while tracing (`if t:`,
`t.item()`, `t.tolist()`, `t.numpy()`, `float(t)`, boolean masks, a
`while` on a norm) or draws random numbers inside the function breaks the
graph. With `fullgraph=True` that is a `CompileError` naming this file and
the breaking line; by default it is one `GraphBreakWarning` (same location
in its message) and the call signature runs eagerly from then on, giving
eager's result without tracing or warning again. Catching the break in user
code does not hide it. Calls that need gradients run eagerly (with one
warning) until the autodiff pass exists, and their gradients are eager's.
"""
import inspect
import os
import warnings

import numpy as np
import pytest

import frontend as torch
from frontend import creation
from frontend.jit import CompileError, GraphBreakWarning
from frontend.jit.compiled import EagerVariant

FILE = os.path.basename(__file__)


@pytest.fixture(autouse=True)
def keep_global_rng(monkeypatch):
    """Tests here re-seed to compare random draws with eager; leave the process's RNG as it was."""
    monkeypatch.setattr(creation, "_rng", list(creation._rng))


def breaking_line(fn):
    """The line of `fn` marked `# BREAK`."""
    lines, first = inspect.getsourcelines(fn)
    (offset,) = [i for i, line in enumerate(lines) if "# BREAK" in line]
    return first + offset


def if_on_tensor(x):
    if x.sum() > 0:  # BREAK
        return x + 1
    return x - 1


def item(x):
    return x * x.sum().item()  # BREAK


def tolist(x):
    return torch.tensor(x.tolist()) * 2  # BREAK


def to_numpy(x):
    return torch.from_numpy(x.numpy() * 3)  # BREAK


def float_of_tensor(x):
    scale = float(x.max())  # BREAK
    return x / scale


def int_of_tensor(x):
    return x[: int(x.argmax())]  # BREAK


def mask_indexing(x):
    positive = x[x > 0]  # BREAK
    return positive.sum()


def randn_inside(x):
    noise = torch.randn(*x.shape)  # BREAK
    return x + noise * 0


def tutorial_while_norm(x):
    # PyTorch's autograd tutorial: double y until its norm reaches 1000
    y = x * 2
    while y.data.norm() < 1000:  # BREAK
        y = y * 2
    return y


def swallowed_item(x):
    try:
        scale = x.abs().max().item()  # BREAK
    except Exception:  # the user's code catches the break: still a break
        scale = 1.0
    return x / scale


def break_in_helper(x):
    return x + 1 if helper_checks(x) else x  # the break is in the helper's line


def helper_checks(x):
    return bool((x > 0).sum() == x.numel())  # BREAK


CASES = [if_on_tensor, item, tolist, to_numpy, float_of_tensor, int_of_tensor, mask_indexing, randn_inside,
         tutorial_while_norm, swallowed_item, break_in_helper]
WHY = {if_on_tensor: "bool()", item: "Tensor.item()", tolist: "Tensor.tolist()", to_numpy: "Tensor.numpy()",
       float_of_tensor: "float()", int_of_tensor: "int()", mask_indexing: "boolean mask",
       randn_inside: "torch.randn", tutorial_while_norm: "bool()", swallowed_item: "Tensor.item()",
       break_in_helper: "bool()"}


def where(fn):
    target = helper_checks if fn is break_in_helper else fn
    return f"{FILE}:{breaking_line(target)} in {target.__name__}"


def sample():
    return torch.tensor([0.5, -1.5, 2.0, 0.25])


def assert_eager_result(result, fn, x):
    torch.manual_seed(0)
    expected = fn(x)
    np.testing.assert_allclose(result.numpy(), expected.numpy(), rtol=1e-5)


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_fullgraph_raises_compile_error_naming_the_line(fn):
    compiled = torch.compile(fn, fullgraph=True)
    with pytest.raises(CompileError) as info:
        compiled(sample())
    message = str(info.value)
    assert f"{fn.__name__} cannot be compiled as one graph (fullgraph=True)" in message
    assert where(fn) in message and WHY[fn] in message
    assert not compiled.cache


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_default_warns_once_at_the_line_and_runs_eagerly(fn):
    compiled = torch.compile(fn)
    x = sample()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.manual_seed(0)
        first = compiled(x)
    (warning,) = caught
    assert warning.category is GraphBreakWarning
    assert str(warning.message).startswith(f"{fn.__name__}: running eagerly for this call signature: ")
    assert where(fn) in str(warning.message) and WHY[fn] in str(warning.message)
    assert warning.filename == __file__  # attributed to the caller's line, not jitgrad's
    assert_eager_result(first, fn, x)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.manual_seed(0)
        second = compiled(x)
    assert caught == []
    assert compiled.trace_count == 1
    assert isinstance(compiled.cache[next(iter(compiled.cache))], EagerVariant)
    assert_eager_result(second, fn, x)


def test_eager_key_does_not_affect_other_keys():
    @torch.compile
    def clip_or_not(x, clip):
        if clip:
            return x.clamp(max=float(x.mean()))
        return x * 2

    x = sample()
    with pytest.warns(GraphBreakWarning, match="float()"):
        clip_or_not(x, True)
    out = clip_or_not(x, False)  # another key: traced into a graph
    np.testing.assert_allclose(out.numpy(), (x * 2).numpy())
    kinds = sorted(type(v).__name__ for v in clip_or_not.cache.values())
    assert kinds == ["EagerVariant", "Variant"] and clip_or_not.trace_count == 2


def test_new_shape_of_a_breaking_function_traces_again_and_stays_eager():
    compiled = torch.compile(item)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        compiled(sample())
        result = compiled(torch.ones(2, 3))
        compiled(torch.ones(2, 3))
    np.testing.assert_allclose(result.numpy(), np.full((2, 3), 6.0))
    assert compiled.trace_count == 2
    assert all(isinstance(v, EagerVariant) for v in compiled.cache.values())


def test_tutorial_while_loop_result_matches_eager_for_several_inputs():
    compiled = torch.compile(tutorial_while_norm)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for values in ([1.0, 2.0, 3.0], [0.001, -0.002, 0.0005], [400.0, 800.0, 10.0]):
            x = torch.tensor(values)
            y = compiled(x)
            np.testing.assert_allclose(y.numpy(), tutorial_while_norm(x).numpy())
            assert y.norm().item() >= 1000
    assert compiled.trace_count == 1


def test_swallowed_break_runs_eagerly_so_the_users_fallback_is_not_used():
    compiled = torch.compile(swallowed_item)
    x = sample()
    with pytest.warns(GraphBreakWarning, match="Tensor.item"):
        out = compiled(x)
    # eager computes the real scale (2.0); the user's fallback scale 1.0 never ran for real
    np.testing.assert_allclose(out.numpy(), (x / 2.0).numpy())


def test_returning_an_unsupported_object_is_a_break():
    class Box:
        pass

    def boxed(x):
        box = Box()
        box.value = x + 1
        return box

    with pytest.raises(CompileError, match="returned a Box"):
        torch.compile(boxed, fullgraph=True)(sample())
    with pytest.warns(GraphBreakWarning, match="returned a Box"):
        out = torch.compile(boxed)(sample())
    np.testing.assert_allclose(out.value.numpy(), (sample() + 1).numpy())


# ---- calls needing gradients ------------------------------------------------------------
def loss_fn(x, w, b):
    return ((x @ w + b).relu() ** 2).mean()


def _leaves():
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.standard_normal((4, 3)).astype(np.float32))
    w = torch.from_numpy(rng.standard_normal((3, 2)).astype(np.float32)).requires_grad_()
    b = torch.from_numpy(rng.standard_normal(2).astype(np.float32)).requires_grad_()
    return x, w, b


def test_calls_needing_grad_compile_forward_and_backward_without_warnings():
    compiled = torch.compile(loss_fn, fullgraph=True)
    (x, w, b), (ex, ew, eb) = _leaves(), _leaves()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled(x, w, b).backward()
        compiled(x, w, b).backward()
    loss_fn(ex, ew, eb).backward()
    loss_fn(ex, ew, eb).backward()
    np.testing.assert_allclose(w.grad.numpy(), ew.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), eb.grad.numpy(), rtol=1e-5)
    assert compiled.trace_count == 1  # .grad is not read inside: its appearing is no reason to retrace


def test_requires_grad_inputs_under_no_grad_are_compiled():
    compiled = torch.compile(loss_fn, fullgraph=True)
    x, w, b = _leaves()
    with torch.no_grad():
        out = compiled(x, w, b)
        expected = loss_fn(x, w, b)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5)
    assert compiled.trace_count == 1 and not out.requires_grad


def test_requires_grad_on_a_traced_tensor_inside_is_a_break():
    def make_leaf(x):
        y = x.clone().requires_grad_()
        return (y * 2).sum()  # BREAK: the first op on it

    with pytest.raises(CompileError, match=f"{FILE}:{breaking_line(make_leaf)} in make_leaf"):
        torch.compile(make_leaf, fullgraph=True)(sample())


def test_tensor_created_inside_with_requires_grad_is_a_break():
    def local_weight(x):
        w = torch.ones(4, requires_grad=True)
        return (x * w).sum()

    assert local_weight(sample()).requires_grad  # eager
    with pytest.raises(CompileError, match="requires grad"):
        torch.compile(local_weight, fullgraph=True)(sample())
