"""Compiled forward, compiled backward (DESIGN.md §2, use 1) against eager.

When a compiled call's outputs require grad they get one
`CompiledFunctionBackward` grad_fn that runs the backward half of the
min-cut partitioned joint graph. Every test runs the same function
uncompiled on identical fresh leaves and compares: gradients (float32
tolerances), which outputs carry a grad_fn, and the autograd semantics a
user leans on (retain_graph, the second-backward and in-place errors with
eager's messages, hooks, retain_grad, autograd.grad, no_grad).

Helpers `twins`, `assert_close` and `load_example` are shared with
tests/test_compile_training.py."""
import importlib.util
import pathlib

import numpy as np
import pytest

import frontend as torch
from frontend import creation
from frontend.jit.backward import DOUBLE_BACKWARD
from tests.test_autodiff import MODELS

ROOT = pathlib.Path(__file__).resolve().parent.parent
# float32 tolerances: native code sums in another order than NumPy (vector
# partial sums, blocked GEMM), which moves results by a few ulp of the summands.
RTOL, ATOL = 1e-5, 1e-5


def leaves(shapes, wrt=(), seed=0):
    """Float32 tensors of `shapes`; those at positions `wrt` are leaves that require grad."""
    rng = np.random.default_rng(seed)
    out = []
    for i, shape in enumerate(shapes):
        t = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
        out.append(t.requires_grad_() if i in wrt else t)
    return out


def twins(shapes, wrt=(), seed=0):
    """Two independent, identical sets of `leaves`: one for compiled, one for eager."""
    return leaves(shapes, wrt, seed), leaves(shapes, wrt, seed)


def values(t):
    return t.detach().numpy()


def assert_close(got, want, what=""):
    assert tuple(got.shape) == tuple(want.shape) and got.dtype is want.dtype, what
    np.testing.assert_allclose(values(got), values(want), rtol=RTOL, atol=ATOL, err_msg=what)


def assert_grads_match(got, want):
    """Leaf by leaf: `.grad` is None in both, or close."""
    for i, (g, w) in enumerate(zip(got, want)):
        assert (g.grad is None) == (w.grad is None), f"leaf {i}: .grad {g.grad} vs eager {w.grad}"
        if w.grad is not None:
            assert_close(g.grad, w.grad, f"leaf {i} .grad")


def error_of(action) -> str:
    with pytest.raises(RuntimeError) as info:
        action()
    return str(info.value)


def only_variant(compiled):
    (variant,) = compiled.cache.values()
    return variant


def load_example(name, as_name):
    """examples/NAME.py as a fresh private module `as_name` (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(as_name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- gradients equal eager's -------------------------------------------------------
@pytest.fixture
def mlp_example(monkeypatch):
    """examples/mlp.py loaded twice (the same seeded weights), its weights
    made leaves; the global RNG is left as it was."""
    monkeypatch.setattr(creation, "_rng", list(creation._rng))
    modules = load_example("mlp", "mlp_compiled"), load_example("mlp", "mlp_eager")
    for module in modules:
        for p in (module.W1, module.b1, module.W2, module.b2):
            p.requires_grad_()
    return modules


def test_mlp_example_loss_gradients_match_eager(mlp_example):
    """The example's @torch.compile'd `loss` (weights read as globals through
    `logits`) backpropagates into the module's weights as its eager `.fn` does."""
    compiled, eager = mlp_example
    x, y = leaves([(6, 784)], seed=1)[0], torch.tensor([3, 1, 4, 1, 5, 9])
    got, want = compiled.loss(x, y), eager.loss.fn(x, y)
    assert type(got.grad_fn).__name__ == "CompiledFunctionBackward"
    assert_close(got, want)
    got.backward()
    want.backward()
    names = ["W1", "b1", "W2", "b2"]
    assert_grads_match([getattr(compiled, n) for n in names], [getattr(eager, n) for n in names])
    assert compiled.loss.trace_count == 1


@pytest.mark.parametrize("fn, shapes, wrt", MODELS, ids=[m[0].__name__ for m in MODELS])
def test_model_functions_gradients_match_eager(fn, shapes, wrt):
    """tests/test_autodiff.py's model functions, in float32, through the
    compiled forward and backward."""
    args, eager_args = twins(shapes, wrt, seed=2)
    for a in (args, eager_args):  # targets: 0/1 floats for logreg, class indices for classify
        if fn.__name__ == "logreg":
            a[3] = (a[3] > 0).float()
        if fn.__name__ == "classify":
            a[2] = torch.tensor([0, 2, 1, 1])
    got, want = torch.compile(fn, fullgraph=True)(*args), fn(*eager_args)
    assert_close(got, want)
    got.backward()
    want.backward()
    assert_grads_match(args, eager_args)


def several(x, w):
    z = x @ w
    return z.tanh().sum(), z.argmax(-1), (x * 2).detach(), z * 3


def test_several_outputs_some_needing_grad_some_not():
    """Only the floating outputs with history get the compiled grad_fn (one
    node, distinct output numbers); an int output and a detached one do not;
    backward through any combination, or one of them alone, is eager's."""
    (x, w), (ex, ew) = twins([(4, 3), (3, 2)], wrt=(0, 1))
    compiled = torch.compile(several, fullgraph=True)
    got, want = compiled(x, w), several(ex, ew)
    assert [o.requires_grad for o in got] == [o.requires_grad for o in want] == [True, False, False, True]
    assert got[1].dtype is torch.int64 and np.array_equal(got[1].numpy(), want[1].numpy())
    assert got[1].grad_fn is None and got[2].grad_fn is None
    assert got[0].grad_fn is got[3].grad_fn and (got[0]._output_nr, got[3]._output_nr) == (0, 1)
    (got[0] + (got[3] * got[3]).sum()).backward()
    (want[0] + (want[3] * want[3]).sum()).backward()
    assert_grads_match([x, w], [ex, ew])

    (x, w), (ex, ew) = twins([(4, 3), (3, 2)], wrt=(0, 1))
    compiled(x, w)[3].sum().backward()  # no gradient arrives for output 0: a zero cotangent
    several(ex, ew)[3].sum().backward()
    assert_grads_match([x, w], [ex, ew])
    assert compiled.trace_count == 1


def scaled_dot(h, w):
    return (h * w).tanh().sum()


def test_non_leaf_input_passes_gradient_on_to_its_outside_history():
    """`h = x * 1.5` is computed outside: the compiled backward's gradient for
    h must flow on through h's eager history into x."""
    (x, w), (ex, ew) = twins([(5,), (5,)], wrt=(0, 1))
    torch.compile(scaled_dot, fullgraph=True)(x * 1.5, w).backward()
    scaled_dot(ex * 1.5, ew).backward()
    assert x.grad is not None
    assert_grads_match([x, w], [ex, ew])


def test_inputs_not_requiring_grad_get_no_gradient_and_none_is_computed():
    """x does not require grad: its `.grad` stays None and the backward graph
    computes only w's gradient."""
    (x, w), (ex, ew) = twins([(5,), (5,)], wrt=(1,))
    compiled = torch.compile(scaled_dot, fullgraph=True)
    compiled(x, w).backward()
    scaled_dot(ex, ew).backward()
    assert x.grad is None
    assert_grads_match([x, w], [ex, ew])
    assert only_variant(compiled).lowered.stages["backward"].output_names == ["grad.w"]


def test_outputs_not_depending_on_requires_grad_inputs_have_no_grad_fn():
    def mixed(x, w):
        return (x * w).sum(), x.exp()

    (x, w), _ = twins([(3,), (3,)], wrt=(1,))
    loss, plain = torch.compile(mixed, fullgraph=True)(x, w)
    assert type(loss.grad_fn).__name__ == "CompiledFunctionBackward"
    assert plain.grad_fn is None and not plain.requires_grad


def test_call_without_any_requires_grad_input_builds_no_backward():
    (x, w), _ = twins([(3,), (3,)])
    compiled = torch.compile(scaled_dot, fullgraph=True)
    out = compiled(x, w)
    assert out.grad_fn is None and not out.requires_grad
    assert only_variant(compiled).plan is None


def test_each_call_keeps_its_own_saved_values():
    """Two calls before any backward: the first call's backward must use the
    first call's inputs and intermediates, not the second's."""
    (x1, x2, w), (ex1, ex2, ew) = twins([(4, 3), (4, 3), (3, 2)], wrt=(2,))
    compiled = torch.compile(lambda x, w: (x @ w).tanh().pow(2).sum(), fullgraph=True)
    first, second = compiled(x1, w), compiled(x2, w)
    first.backward()
    (ex1 @ ew).tanh().pow(2).sum().backward()
    assert_close(w.grad, ew.grad)
    second.backward()
    (ex2 @ ew).tanh().pow(2).sum().backward()
    assert_close(w.grad, ew.grad)


# ---- autograd semantics ---------------------------------------------------------------
def test_retain_graph_allows_a_second_backward_accumulating_as_eager():
    (x, w), (ex, ew) = twins([(4, 3), (3, 2)], wrt=(0, 1))
    compiled_out, want = torch.compile(several, fullgraph=True)(x, w)[0], several(ex, ew)[0]
    for _ in range(2):
        compiled_out.backward(retain_graph=True)
        want.backward(retain_graph=True)
        assert_grads_match([x, w], [ex, ew])
    compiled_out.backward()  # the last one frees
    want.backward()
    assert_grads_match([x, w], [ex, ew])


def test_second_backward_without_retain_graph_raises_eagers_error():
    (x, w), (ex, ew) = twins([(4, 3), (3, 2)], wrt=(1,))
    got, want = torch.compile(several, fullgraph=True)(x, w)[0], several(ex, ew)[0]
    got.backward()
    want.backward()
    message = error_of(got.backward)
    assert message == error_of(want.backward)
    assert message.startswith("Trying to backward through the graph a second time")


def test_saved_input_modified_in_place_after_forward_raises_eagers_error():
    (x, w), (ex, ew) = twins([(4, 3), (3, 2)], wrt=(1,))
    got, want = torch.compile(several, fullgraph=True)(x, w)[0], several(ex, ew)[0]
    with torch.no_grad():
        x.mul_(2)
        ex.mul_(2)
    message = error_of(got.backward)
    assert message == error_of(want.backward)
    assert "modified by an inplace operation: [torch.FloatTensor [4, 3]], is at version 1" in message
    assert w.grad is None


def test_saved_output_modified_in_place_after_forward_raises():
    """A matmul result is saved (never recomputed) and here it is also an
    output, so writing the returned tensor must be caught as in eager (eager
    names MulBackward0 as its producer, compiled the compiled node)."""
    def f(x, w):
        y = x @ w
        return y, (y * y).sum()

    (x, w), (ex, ew) = twins([(3, 4), (4, 2)], wrt=(0, 1))
    (got, got_loss), (want, want_loss) = torch.compile(f, fullgraph=True)(x, w), f(ex, ew)
    with torch.no_grad():
        got.mul_(2)
        want.mul_(2)
    prefix = "one of the variables needed for gradient computation has been modified by an inplace operation"
    assert error_of(lambda: got_loss.backward()).startswith(prefix)
    assert error_of(lambda: want_loss.backward()).startswith(prefix)


def test_output_returned_twice_is_one_tensor_as_in_eager():
    """`return y, y` gives one tensor twice (one buffer, one version counter).
    The compiled backward saves x, not exp(x) (a tie the min cut gives to the
    input), so writing the output afterwards cannot corrupt the gradient."""
    def twice(x):
        y = x.exp()
        return y, y

    (x,), (ex,) = twins([(3,)], wrt=(0,))
    got, want = torch.compile(twice, fullgraph=True)(x), twice(ex)
    assert want[0] is want[1] and got[0] is got[1]
    with torch.no_grad():
        got[0].mul_(2)
        want[0].mul_(2)
    assert got[1]._version == want[1]._version == 1
    assert error_of(lambda: want[1].sum().backward()).startswith("one of the variables needed")
    got[1].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(x.detach().numpy()), rtol=1e-6)


def test_hooks_and_retain_grad_on_compiled_outputs_behave_as_eager():
    """A hook on a compiled output sees its gradient and may replace it;
    retain_grad keeps the (replaced) gradient, as in eager."""
    def hidden(x, w):
        return (x @ w).tanh(), (x @ w).sigmoid()

    (x, w), (ex, ew) = twins([(4, 3), (3, 2)], wrt=(1,))
    seen = {"compiled": [], "eager": []}
    for name, fn, args in [("compiled", torch.compile(hidden, fullgraph=True), (x, w)), ("eager", hidden, (ex, ew))]:
        h, s = fn(*args)
        h.register_hook(lambda g, name=name: seen[name].append(g) or g * 3)
        s.retain_grad()
        h.retain_grad()
        ((h * h).sum() + (s * h).sum()).backward()
        seen[name] += [h.grad, s.grad]
    for got, want in zip(seen["compiled"], seen["eager"], strict=True):
        assert_close(got, want)
    assert_grads_match([w], [ew])


def test_autograd_grad_on_compiled_outputs_returns_eagers_gradients():
    (x, w), (ex, ew) = twins([(4, 3), (3, 2)], wrt=(0, 1))
    out = torch.compile(several, fullgraph=True)(x, w)
    want = several(ex, ew)
    (gw,) = torch.autograd.grad(out[0] + out[3].mean(), [w])
    (ew_grad,) = torch.autograd.grad(want[0] + want[3].mean(), [ew])
    assert_close(gw, ew_grad)
    assert w.grad is None and x.grad is None  # autograd.grad does not accumulate


def test_create_graph_through_a_compiled_output_raises_a_clear_error():
    (x, w), _ = twins([(4, 3), (3, 2)], wrt=(1,))
    compiled = torch.compile(several, fullgraph=True)
    assert error_of(lambda: compiled(x, w)[0].backward(create_graph=True)) == DOUBLE_BACKWARD
    assert error_of(lambda: torch.autograd.grad(compiled(x, w)[0], [w], create_graph=True)) == DOUBLE_BACKWARD
    assert "create_graph=True" in DOUBLE_BACKWARD and "compiled function" in DOUBLE_BACKWARD


def test_under_no_grad_no_backward_is_built():
    (x, w), _ = twins([(4, 3), (3, 2)], wrt=(0, 1))
    compiled = torch.compile(several, fullgraph=True)
    with torch.no_grad():
        out = compiled(x, w)
    assert all(o.grad_fn is None and not o.requires_grad for o in out)
    variant = only_variant(compiled)
    assert variant.plan is None
    assert "joint" not in variant.lowered.stages and "backward" not in variant.lowered.stages


def test_grad_variant_lowers_to_joint_forward_and_backward_stages():
    """The stages a dump shows; the graph that runs is the forward half, which
    returns the outputs then `saved.*` values, and the backward takes those
    saved values then one cotangent per differentiated output."""
    (x, w), _ = twins([(4, 3), (3, 2)], wrt=(1,))
    compiled = torch.compile(several, fullgraph=True)
    compiled(x, w)
    variant = only_variant(compiled)
    stages = variant.lowered.stages
    assert {"traced", "joint", "forward", "backward"} <= set(stages) and "optimized" not in stages
    forward, backward = stages["forward"], stages["backward"]
    assert variant.graph is forward
    names = forward.output_names
    assert names[:4] == ["out.0", "out.1", "out.2", "out.3"]
    saved = names[4:]
    assert saved and all(n.startswith("saved.") for n in saved)
    assert len(backward.inputs) == len(saved) + 2
    assert [v.name for v in backward.inputs[-2:]] == ["out.0.grad", "out.3.grad"]
    assert backward.output_names == ["grad.w"]
    assert [v.name for v in stages["joint"].inputs] == ["x", "w", "out.0.grad", "out.3.grad"]


def seed_chain(x):
    y = x + 2
    z = y * y * 3
    return z.mean()


def test_seed_chain_runs_as_one_kernel_forward_and_one_backward():
    """The tutorial's chain, compiled with gradients: the forward that runs
    is one kernel (the mean included) and so is the backward, because the
    min cut saves the input x and the backward recomputes y from it."""
    compiled = torch.compile(seed_chain, fullgraph=True)
    (x,), (ex,) = twins([(4, 5)], wrt=(0,))
    out = compiled(x)
    out.backward()
    seed_chain(ex).backward()
    assert_close(x.grad, ex.grad)
    variant = next(iter(compiled.cache.values()))
    for graph in (variant.plan.forward, variant.plan.backward):
        assert [node.op for node in graph.nodes] == ["kernel"], graph
    assert variant.plan.forward.output_names == ["out", "saved.x"]
