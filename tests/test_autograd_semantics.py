"""Autograd behaviour as in PyTorch: accumulation, errors, grad modes, autograd.grad,
higher order, hooks, autograd.Function. Expectations are PyTorch 2.13's, written as
literals; ``JITGRAD_TESTS_AGAINST=torch`` re-checks them against real PyTorch.
"""
import re
import warnings

import pytest

from tests._backend import torch
from tests._helpers import grad_list, leaf


# --------------------------------------------------------------------------
# accumulation, leaves and non-leaves
# --------------------------------------------------------------------------
def test_grad_accumulates_across_backward_calls():
    x = leaf([1.0, 2.0, 3.0])
    (x * 2).sum().backward()
    (x * x).sum().backward()
    assert grad_list(x) == [4.0, 6.0, 8.0]  # 2 + 2x


def test_grad_accumulates_when_leaf_is_used_twice_in_one_graph():
    x = leaf([1.0, -2.0])
    (x * x + x * 3).sum().backward()
    assert grad_list(x) == [5.0, -1.0]


def test_grad_can_be_reset_to_none_or_zeroed():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    x.grad.zero_()
    assert grad_list(x) == [0.0, 0.0]
    (x * 3).sum().backward()
    assert grad_list(x) == [3.0, 3.0]
    x.grad = None
    (x * 5).sum().backward()
    assert grad_list(x) == [5.0, 5.0]


def test_grad_has_shape_and_dtype_of_leaf_even_when_broadcast():
    x = leaf([[1.0], [2.0]], dtype=torch.float64)
    y = leaf([1.0, 2.0, 3.0], dtype=torch.float64)
    (x * y).sum().backward()
    assert tuple(x.grad.shape) == (2, 1) and x.grad.dtype == torch.float64
    assert tuple(y.grad.shape) == (3,)
    assert x.grad.tolist() == [[6.0], [6.0]]
    assert y.grad.tolist() == [3.0, 3.0, 3.0]


def test_leaf_and_requires_grad_flags():
    x = leaf([1.0, 2.0])
    c = torch.tensor([1.0, 2.0])
    y = x * 2
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    assert c.is_leaf and not c.requires_grad
    assert not y.is_leaf and y.requires_grad and y.grad_fn is not None
    z = c * 2  # no input requires grad: no graph
    assert z.is_leaf and not z.requires_grad and z.grad_fn is None


def test_results_that_cannot_require_grad():
    x = leaf([1.0, -2.0, 3.0])
    assert not (x > 0).requires_grad
    assert not x.argmax().requires_grad
    assert not x.detach().requires_grad
    assert not x.data.requires_grad


def test_leaf_without_requires_grad_gets_no_grad():
    x = leaf([1.0, 2.0])
    c = torch.tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None
    assert grad_list(x) == [3.0, 4.0]


def test_requires_grad_factory_kwarg_and_requires_grad_():
    x = torch.ones(2, 3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    y = torch.zeros(2)
    assert y.requires_grad_() is y
    assert y.requires_grad
    y.requires_grad_(False)
    assert not y.requires_grad


def test_nonleaf_grad_is_none_and_warns():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None


def test_retain_grad_populates_nonleaf_grad():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning once retain_grad() was called
        assert y.grad.tolist() == [4.0, 8.0]
    assert grad_list(x) == [8.0, 16.0]


def test_leaf_grad_access_does_not_warn():
    x = leaf([1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None


# --------------------------------------------------------------------------
# backward errors
# --------------------------------------------------------------------------
def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()  # mul saves its inputs, which backward frees
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward_and_accumulates():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert grad_list(x) == [4.0, 8.0]


def test_implicit_grad_for_non_scalar_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_backward_with_explicit_gradient_for_non_scalar():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(gradient=torch.tensor([1.0, 0.5, -1.0]))
    assert grad_list(x) == [2.0, 2.0, -6.0]


def test_backward_on_one_element_non_0d_tensor_is_implicit():
    x = leaf([3.0])
    (x * x).backward()
    assert grad_list(x) == [6.0]


def test_backward_on_tensor_without_grad_raises():
    t = torch.tensor([1.0, 2.0]).sum()
    with pytest.raises(RuntimeError,
                       match="element 0 of tensors does not require grad and does not have a grad_fn"):
        t.backward()


def test_backward_under_no_grad_result_raises():
    x = leaf([1.0, 2.0])
    with torch.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_inplace_modification_of_saved_tensor_raises():
    x = leaf([1.0, 2.0, 3.0])
    a = x * 2
    b = a * a  # saves a
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_inplace_modification_of_saved_output_raises():
    x = leaf([1.0, 2.0, 3.0])
    y = x.exp()  # exp saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_unsaved_nonleaf_is_fine():
    x = leaf([1.0, 2.0, 3.0])
    y = x + 1  # add saves nothing
    y.mul_(3)
    y.sum().backward()
    assert grad_list(x) == [3.0, 3.0, 3.0]


@pytest.mark.parametrize("op", [
    lambda t: t.add_(1), lambda t: t.sub_(1), lambda t: t.mul_(2), lambda t: t.div_(2),
    lambda t: t.zero_(), lambda t: t.fill_(2.0), lambda t: t.copy_(torch.zeros(3)),
], ids=["add_", "sub_", "mul_", "div_", "zero_", "fill_", "copy_"])
def test_inplace_on_leaf_requiring_grad_raises(op):
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError,
                       match=re.escape("a leaf Variable that requires grad is being used in an in-place operation.")):
        op(x)
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_setitem_on_leaf_requiring_grad_raises():
    x = leaf([1.0, 2.0, 3.0])
    # PyTorch words it "a view of a leaf Variable ..." here
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in an in-place operation"):
        x[0] = 5.0


def test_inplace_on_leaf_allowed_under_no_grad_and_via_data():
    x = leaf([1.0, 2.0])
    with torch.no_grad():
        x.mul_(3)
    assert x.tolist() == [3.0, 6.0] and x.requires_grad and x.is_leaf
    x.data.add_(1)
    assert x.tolist() == [4.0, 7.0]
    (x * x).sum().backward()
    assert grad_list(x) == [8.0, 14.0]


def test_requires_grad_on_integer_tensor_raises():
    t = torch.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="only Tensors of floating point .*can require gradients"):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point .*can require gradients"):
        torch.tensor([1, 2], requires_grad=True)


# --------------------------------------------------------------------------
# grad mode
# --------------------------------------------------------------------------
def test_no_grad_context():
    x = leaf([1.0, 2.0])
    assert torch.is_grad_enabled()
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        y = x * 2
    assert torch.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_enable_grad_inside_no_grad():
    x = leaf([1.0, 2.0])
    with torch.no_grad():
        with torch.enable_grad():
            assert torch.is_grad_enabled()
            y = x * 2
        assert not torch.is_grad_enabled()
    assert y.requires_grad


def test_set_grad_enabled_context():
    x = leaf([1.0])
    with torch.set_grad_enabled(False):
        assert not torch.is_grad_enabled()
        y = x * 2
        with torch.set_grad_enabled(True):
            z = x * 2
    assert torch.is_grad_enabled()
    assert not y.requires_grad and z.requires_grad


def test_set_grad_enabled_as_function_call():
    try:
        torch.set_grad_enabled(False)
        assert not torch.is_grad_enabled()
        assert not (leaf([1.0]) * 2).requires_grad
    finally:
        torch.set_grad_enabled(True)
    assert torch.is_grad_enabled()


def test_grad_mode_is_per_thread():
    """A thread starts with grad enabled, whatever another thread set."""
    import threading
    seen = {}
    with torch.no_grad():
        worker = threading.Thread(target=lambda: seen.update(enabled=torch.is_grad_enabled()))
        worker.start()
        worker.join()
        assert not torch.is_grad_enabled()
    assert seen == {"enabled": True}


def test_no_grad_restored_after_exception():
    with pytest.raises(ValueError):
        with torch.no_grad():
            raise ValueError("boom")
    assert torch.is_grad_enabled()


def test_grad_mode_decorators():
    x = leaf([1.0, 2.0])

    @torch.no_grad()
    def doubled(t):
        assert not torch.is_grad_enabled()
        return t * 2

    @torch.enable_grad()
    def tripled(t):
        return t * 3

    @torch.set_grad_enabled(False)
    def quadrupled(t):
        return t * 4

    assert not doubled(x).requires_grad
    with torch.no_grad():
        assert tripled(x).requires_grad
    assert not quadrupled(x).requires_grad
    assert torch.is_grad_enabled()


def test_no_grad_as_bare_decorator():
    @torch.no_grad
    def doubled(t):
        return t * 2

    assert not doubled(leaf([1.0])).requires_grad
    assert torch.is_grad_enabled()


# --------------------------------------------------------------------------
# backward(inputs=...), autograd.grad, higher order
# --------------------------------------------------------------------------
def test_backward_inputs_only_accumulates_into_listed():
    a = leaf([1.0, 2.0])
    b = leaf([3.0, 4.0])
    (a * b).sum().backward(inputs=[a])
    assert grad_list(a) == [3.0, 4.0]
    assert b.grad is None


def test_backward_inputs_can_name_a_nonleaf():
    a = leaf([1.0, 2.0])
    h = a * 3
    (h * h).sum().backward(inputs=[h])
    with warnings.catch_warnings():
        # PyTorch warns only when a non-leaf's .grad is undefined; here it is set
        warnings.simplefilter("error")
        assert h.grad.tolist() == [6.0, 12.0]
    assert a.grad is None


def test_autograd_grad_returns_tuple_and_leaves_grad_alone():
    x = leaf([1.0, 2.0, 3.0])
    y = leaf([2.0, 2.0, 2.0])
    gx, gy = torch.autograd.grad((x * y).sum(), [x, y])
    assert gx.tolist() == [2.0, 2.0, 2.0]
    assert gy.tolist() == [1.0, 2.0, 3.0]
    assert x.grad is None and y.grad is None
    (g,) = torch.autograd.grad((x * x).sum(), x)  # a single tensor is accepted too
    assert g.tolist() == [2.0, 4.0, 6.0]


def test_autograd_grad_with_grad_outputs():
    x = leaf([1.0, 2.0, 3.0])
    (g,) = torch.autograd.grad(x * x, x, grad_outputs=torch.tensor([1.0, 0.0, 2.0]))
    assert g.tolist() == [2.0, 0.0, 12.0]


def test_autograd_grad_multiple_outputs_with_grad_outputs():
    x = leaf([1.0, 2.0])
    (g,) = torch.autograd.grad([x * 2, x * x], [x],
                               grad_outputs=[torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.5])])
    assert g.tolist() == [4.0, 4.0]


def test_autograd_grad_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    (g1,) = torch.autograd.grad(y, x, retain_graph=True)
    (g2,) = torch.autograd.grad(y, x)
    assert g1.tolist() == g2.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        torch.autograd.grad(y, x)


def test_autograd_grad_with_respect_to_a_nonleaf():
    x = leaf([1.0, 2.0])
    h = x * 3
    (g,) = torch.autograd.grad((h * h).sum(), h)
    assert g.tolist() == [6.0, 12.0]


def test_create_graph_retains_the_graph_by_default():
    x = leaf([1.0, 2.0])
    y = (x ** 3).sum()
    torch.autograd.grad(y, x, create_graph=True)
    y.backward()  # retain_graph defaults to create_graph
    assert grad_list(x) == [3.0, 12.0]


def test_backward_called_on_a_leaf_itself():
    x = leaf([1.0, 2.0])
    x.backward(torch.tensor([1.0, 3.0]))
    assert grad_list(x) == [1.0, 3.0]


def test_autograd_grad_without_create_graph_is_not_differentiable():
    x = leaf([1.0, 2.0])
    (g,) = torch.autograd.grad((x ** 3).sum(), x)
    assert not g.requires_grad


def test_create_graph_second_and_third_derivative_of_cube():
    x = leaf([1.0, -2.0, 3.0])
    (g,) = torch.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad
    assert g.tolist() == [3.0, 12.0, 27.0]
    (g2,) = torch.autograd.grad(g.sum(), x, create_graph=True)
    assert g2.tolist() == [6.0, -12.0, 18.0]  # 6x
    (g3,) = torch.autograd.grad(g2.sum(), x)
    assert g3.tolist() == [6.0, 6.0, 6.0]


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")  # PyTorch's leak warning
def test_backward_create_graph_then_backward_of_grad():
    x = leaf([2.0])
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.tolist() == [12.0]
    x.grad = None
    g.sum().backward()
    assert grad_list(x) == [12.0]  # d(3x^2)/dx = 6x at 2


def test_mixed_second_derivative():
    x = leaf(2.0)
    y = leaf(3.0)
    (gx,) = torch.autograd.grad(x * x * y, x, create_graph=True)  # 2xy
    (gxy,) = torch.autograd.grad(gx, y)
    assert gx.item() == 12.0 and gxy.item() == 4.0


# --------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------
def test_hook_on_leaf_modifies_gradient():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward()
    assert grad_list(x) == [6.0, 6.0]


def test_hook_on_nonleaf_modifies_upstream_gradient():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.register_hook(lambda g: g + 1)
    y.sum().backward()
    assert grad_list(x) == [6.0, 6.0]  # 3 * (1 + 1)


def test_hook_returning_none_observes_only():
    seen = []
    x = leaf([1.0, 2.0])
    y = x * x
    y.register_hook(lambda g: seen.append(g.tolist()))
    (y * torch.tensor([1.0, 10.0])).sum().backward()
    assert seen == [[1.0, 10.0]]
    assert grad_list(x) == [2.0, 40.0]


def test_hooks_run_in_registration_order_and_can_be_removed():
    x = leaf([1.0])
    x.register_hook(lambda g: g + 1)
    handle = x.register_hook(lambda g: g * 10)
    (x * 1).sum().backward()
    assert grad_list(x) == [20.0]  # (1 + 1) * 10
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert grad_list(x) == [2.0]


def test_leaf_hook_runs_once_with_the_summed_gradient():
    calls = []
    x = leaf([1.0])
    x.register_hook(lambda g: calls.append(g.tolist()))
    (x * 2 + x * 3).sum().backward()
    assert calls == [[5.0]]


def test_nonleaf_hook_runs_once_with_the_summed_gradient():
    calls = []
    x = leaf([1.0])
    y = x * 2
    y.register_hook(lambda g: calls.append(g.tolist()))
    (y * y + y).sum().backward()
    assert calls == [[5.0]]  # 2y + 1 at y = 2
    assert grad_list(x) == [10.0]


def test_hook_on_tensor_not_requiring_grad_raises():
    with pytest.raises(RuntimeError):
        torch.tensor([1.0]).register_hook(lambda g: g)


# --------------------------------------------------------------------------
# autograd.Function
# --------------------------------------------------------------------------
class MulAdd(torch.autograd.Function):
    """out = a * b + k, with a python constant k."""

    @staticmethod
    def forward(ctx, a, b, k):
        ctx.save_for_backward(a, b)
        ctx.k = k
        return a * b + k

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * b, grad * a, None


def test_custom_function_forward_and_backward():
    a = leaf([1.0, 2.0])
    b = leaf([3.0, 5.0])
    out = MulAdd.apply(a, b, 10.0)
    assert out.tolist() == [13.0, 20.0]
    assert out.requires_grad and not out.is_leaf
    (out * torch.tensor([1.0, 2.0])).sum().backward()
    assert grad_list(a) == [3.0, 10.0]
    assert grad_list(b) == [1.0, 4.0]


class SumProd(torch.autograd.Function):
    """Two outputs: a + b and a * b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a + b, a * b

    @staticmethod
    def backward(ctx, grad_sum, grad_prod):
        a, b = ctx.saved_tensors
        return grad_sum + grad_prod * b, grad_sum + grad_prod * a


def test_custom_function_with_two_outputs():
    a = leaf([1.0, 2.0])
    b = leaf([3.0, 5.0])
    s, p = SumProd.apply(a, b)
    assert s.tolist() == [4.0, 7.0] and p.tolist() == [3.0, 10.0]
    assert s.grad_fn is p.grad_fn
    (s * 2 + p).sum().backward()
    assert grad_list(a) == [5.0, 7.0]
    assert grad_list(b) == [3.0, 4.0]


def test_custom_function_with_one_output_unused():
    a = leaf([1.0, 2.0])
    b = leaf([3.0, 5.0])
    _, p = SumProd.apply(a, b)
    p.sum().backward()  # the unused output's gradient arrives as zeros
    assert grad_list(a) == [3.0, 5.0]
    assert grad_list(b) == [1.0, 2.0]


def test_custom_function_wrong_number_of_gradients_raises():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(x, x).sum().backward()


def test_custom_function_grad_fn_name():
    out = MulAdd.apply(leaf([1.0]), leaf([2.0]), 0.0)
    assert type(out.grad_fn).__name__ == "MulAddBackward"


def test_custom_function_forward_runs_without_grad():
    seen = []

    class Probe(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(torch.is_grad_enabled())
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    out = Probe.apply(leaf([1.0]))
    assert seen == [False]
    assert type(out.grad_fn).__name__ == "ProbeBackward"


def test_custom_function_only_some_inputs_require_grad():
    a = leaf([1.0, 2.0])
    b = torch.tensor([3.0, 5.0])
    MulAdd.apply(a, b, 1.0).sum().backward()
    assert grad_list(a) == [3.0, 5.0]
    assert b.grad is None


def test_custom_function_without_grad_inputs_has_no_graph():
    out = MulAdd.apply(torch.tensor([1.0]), torch.tensor([2.0]), 0.0)
    assert not out.requires_grad and out.grad_fn is None


def test_custom_function_composes_with_builtin_ops():
    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    x = leaf([1.0, 2.0])
    (Cube.apply(x * 2) + x).sum().backward()
    assert grad_list(x) == [25.0, 97.0]  # 3*(2x)^2*2 + 1


def test_deep_graph_backward_with_inputs_does_not_recurse():
    """A 5000-op chain: the backward walk and its pruning are iterative."""
    x = leaf([1.0])
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward(inputs=[x], retain_graph=True)
    assert abs(x.grad.item() - 1.0001 ** 5000) < 1e-3 * 1.0001 ** 5000
    (g,) = torch.autograd.grad(y * 1, [x], allow_unused=True)
    assert g is not None
