"""Aliases of the tensors a compiled function is given behave as in eager.

A returned view (`x.t()`, `x[0]`, `x.view(-1)`, `x.detach()`) is what
eager returns: it shares the tensor's memory and version counter, so a
write through it reaches the tensor, and it has eager's grad_fn. A write
inside the function through `x.detach()` or `p.data` reaches the tensor
and leaves its autograd history alone. Every case runs twice, the second
call on the fast path where it has one, and is compared with eager on
fresh tensors."""
import warnings

import numpy as np
import pytest

import frontend as torch

VIEWS = {
    "t": lambda x: x.t(),
    "view": lambda x: x.view(-1),
    "reshape": lambda x: x.reshape(3, 2),
    "row": lambda x: x[0],
    "columns": lambda x: x[:, 1:],
    "chain": lambda x: x.t()[1:].unsqueeze(0),
    "permute": lambda x: x.permute(1, 0),
    "non-contiguous reshape copies": lambda x: x.t().reshape(-1),
    "detach": lambda x: x.detach(),
    "view of detach": lambda x: x.detach()[1:],
}


def _fresh():
    return torch.arange(6.0).reshape(2, 3)


def _write_through(fn, compiled):
    x = _fresh()
    out = (compiled or fn)(x)
    out.add_(100)
    return x, out


@pytest.mark.parametrize("name", VIEWS)
def test_a_write_through_the_returned_view_reaches_the_input_as_in_eager(name):
    fn = VIEWS[name]
    compiled = torch.compile(fn)
    x_eager, out_eager = _write_through(fn, None)
    for _ in range(2):
        x, out = _write_through(fn, compiled)
        np.testing.assert_array_equal(x.numpy(), x_eager.numpy())
        np.testing.assert_array_equal(out.numpy(), out_eager.numpy())
        assert x._version == x_eager._version and out._version == out_eager._version
        assert np.shares_memory(out.numpy(), x.numpy()) == np.shares_memory(out_eager.numpy(), x_eager.numpy())


def test_a_view_of_an_input_written_inside_sees_the_write():
    def fn(x):
        x.mul_(2)
        return x[1], x * 1
    compiled = torch.compile(fn)
    for _ in range(2):
        x, x_eager = _fresh(), _fresh()
        (row, copy), (row_eager, _) = compiled(x), fn(x_eager)
        row.add_(1)
        row_eager.add_(1)
        np.testing.assert_array_equal(x.numpy(), x_eager.numpy())
        assert not np.shares_memory(copy.numpy(), x.numpy())


def test_gradients_flow_through_the_returned_view():
    w_eager = torch.arange(6.0).reshape(2, 3).requires_grad_()
    fn = lambda w: ((w * w).sum(), w.t())  # noqa: E731
    compiled = torch.compile(fn)
    loss, view = fn(w_eager)
    (loss + (view * torch.arange(6.0).reshape(3, 2)).sum()).backward()
    for _ in range(2):
        w = torch.arange(6.0).reshape(2, 3).requires_grad_()
        loss, view = compiled(w)
        assert view.requires_grad and type(view.grad_fn).__name__ == "PermuteBackward0"
        (loss + (view * torch.arange(6.0).reshape(3, 2)).sum()).backward()
        np.testing.assert_array_equal(w.grad.numpy(), w_eager.grad.numpy())


def test_a_view_taken_under_no_grad_inside_does_not_require_grad():
    def fn(w):
        with torch.no_grad():
            return w[0]
    compiled = torch.compile(fn)
    w = torch.ones(2, 3, requires_grad=True)
    for _ in range(2):
        out = compiled(w)
        assert not out.requires_grad and out.grad_fn is None
        assert np.shares_memory(out.numpy(), w.detach().numpy())


def _compiled_without_graph_break(fn):
    compiled = torch.compile(fn)

    def call(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a GraphBreakWarning would mean it ran eagerly
            return compiled(*args)
    return call


@pytest.mark.parametrize("write", [lambda x: x.detach().add_(1), lambda x: x.detach()[1:].zero_(),
                                   lambda x: x.data.mul_(3)], ids=["detach", "view of detach", "data"])
def test_a_write_through_an_alias_inside_reaches_the_tensor(write):
    def fn(x):
        write(x)
        return x * 2
    compiled = _compiled_without_graph_break(fn)
    for _ in range(2):
        x, x_eager = _fresh(), _fresh()
        np.testing.assert_array_equal(compiled(x).numpy(), fn(x_eager).numpy())
        np.testing.assert_array_equal(x.numpy(), x_eager.numpy())


def test_a_data_update_of_a_leaf_leaves_its_gradient_history_alone():
    """The manual SGD idiom: `.data` writes are invisible to autograd."""
    def fn(w, g):
        w.data.add_(-0.5 * g)
        return (w * 3).sum()
    compiled = _compiled_without_graph_break(fn)
    g = torch.arange(3.0)
    w_eager = torch.ones(3, requires_grad=True)
    fn(w_eager, g).backward()
    for _ in range(2):
        w = torch.ones(3, requires_grad=True)
        out = compiled(w, g)
        out.backward()
        assert w.is_leaf and w.grad_fn is None
        np.testing.assert_array_equal(w.detach().numpy(), w_eager.detach().numpy())
        np.testing.assert_array_equal(w.grad.numpy(), w_eager.grad.numpy())
