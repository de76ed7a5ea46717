"""Storage sharing and views as in PyTorch: detach, view/reshape/transpose/slicing
share memory; in-place writes through views keep autograd history right.
"""
import numpy as np
import pytest

from tests._backend import torch
from tests._helpers import grad_list, leaf


# --------------------------------------------------------------------------
# detach and storage sharing
# --------------------------------------------------------------------------
def test_detach_shares_storage_and_drops_grad():
    x = leaf([1.0, 2.0, 3.0])
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d[0] = 10.0
    assert x.tolist() == [10.0, 2.0, 3.0]
    with torch.no_grad():
        x[1] = 20.0
    assert d.tolist() == [10.0, 20.0, 3.0]


def test_detach_inplace_makes_a_leaf():
    x = leaf([1.0, 2.0])
    y = x * 2
    assert y.detach_() is y
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None


def test_data_shares_storage():
    x = leaf([1.0, 2.0])
    x.data[0] = 5.0
    assert x.tolist() == [5.0, 2.0]


def test_clone_does_not_share_storage():
    x = torch.tensor([1.0, 2.0])
    c = x.clone()
    c[0] = 9.0
    assert x.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("make_view, write, expect_base", [
    (lambda b: b.view(3, 2), lambda v: v.__setitem__((0, 1), 100.0),
     [[0.0, 100.0, 2.0], [3.0, 4.0, 5.0]]),
    (lambda b: b.reshape(6), lambda v: v.__setitem__(5, 100.0),
     [[0.0, 1.0, 2.0], [3.0, 4.0, 100.0]]),
    (lambda b: b.view(-1), lambda v: v.mul_(2),
     [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]),
    (lambda b: b.transpose(0, 1), lambda v: v.__setitem__((2, 0), 100.0),
     [[0.0, 1.0, 100.0], [3.0, 4.0, 5.0]]),
    (lambda b: b.t(), lambda v: v[1].fill_(-1.0),
     [[0.0, -1.0, 2.0], [3.0, -1.0, 5.0]]),
    (lambda b: b.permute(1, 0), lambda v: v.zero_(),
     [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
    (lambda b: b[1:], lambda v: v.add_(10.0),
     [[0.0, 1.0, 2.0], [13.0, 14.0, 15.0]]),
    (lambda b: b[:, ::2], lambda v: v.fill_(7.0),
     [[7.0, 1.0, 7.0], [7.0, 4.0, 7.0]]),
    (lambda b: b[0], lambda v: v.copy_(torch.tensor([9.0, 8.0, 7.0])),
     [[9.0, 8.0, 7.0], [3.0, 4.0, 5.0]]),
    (lambda b: b.unsqueeze(0), lambda v: v.__setitem__((0, 1, 1), 100.0),
     [[0.0, 1.0, 2.0], [3.0, 100.0, 5.0]]),
    (lambda b: b.flatten(), lambda v: v.sub_(1.0),
     [[-1.0, 0.0, 1.0], [2.0, 3.0, 4.0]]),
    (lambda b: b.detach(), lambda v: v.div_(2.0),
     [[0.0, 0.5, 1.0], [1.5, 2.0, 2.5]]),
], ids=["view", "reshape-contiguous", "view-flat-mul_", "transpose", "t-row-fill_",
        "permute-zero_", "slice-add_", "step-slice-fill_", "select-copy_", "unsqueeze",
        "flatten-sub_", "detach-div_"])
def test_writes_through_view_are_visible_in_base(make_view, write, expect_base):
    base = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    write(make_view(base))
    assert base.tolist() == expect_base


def test_writes_to_base_are_visible_in_view():
    base = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    t = base.t()
    s = base[:, 1]
    base[1, 1] = 50.0
    assert t[1, 1].item() == 50.0
    assert s.tolist() == [1.0, 50.0]


def test_reshape_of_noncontiguous_copies():
    base = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    r = base.t().reshape(4)
    r[0] = 100.0
    assert base.tolist() == [[0.0, 1.0], [2.0, 3.0]]


def test_numpy_and_from_numpy_share_memory():
    t = torch.tensor([1.0, 2.0, 3.0])
    n = t.numpy()
    t[0] = 7.0
    assert n.tolist() == [7.0, 2.0, 3.0]
    a = np.array([1.0, 2.0])
    f = torch.from_numpy(a)
    a[1] = 5.0
    assert f.tolist() == [1.0, 5.0] and f.dtype == torch.float64


def test_as_tensor_shares_memory_only_when_no_conversion():
    a = np.array([1.0, 2.0], dtype=np.float32)
    shared = torch.as_tensor(a)
    converted = torch.as_tensor(a, dtype=torch.float64)
    copied = torch.tensor(a)
    a[0] = 9.0
    assert shared.tolist() == [9.0, 2.0]
    assert converted.tolist() == [1.0, 2.0]
    assert copied.tolist() == [1.0, 2.0]


def test_inplace_through_view_of_nonleaf_is_differentiated():
    x = leaf([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    y = x * 1
    y[0].mul_(2)
    assert type(y.grad_fn).__name__ == "CopySlices"
    y.sum().backward()
    assert grad_list(x) == [[2.0, 2.0, 2.0], [1.0, 1.0, 1.0]]


def test_setitem_through_transposed_view_cuts_gradient():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y = x * 1
    y.t()[0] = 5.0  # overwrites column 0 of y
    (y * y).sum().backward()
    assert grad_list(x) == [[0.0, 4.0, 6.0], [0.0, 10.0, 12.0]]


def test_view_taken_before_inplace_on_base_is_differentiated():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 1
    v = y[0]
    y.mul_(2)  # v sees the doubled values, and so must its gradient
    assert v.tolist() == [2.0, 4.0]
    v.sum().backward()
    assert grad_list(x) == [[2.0, 2.0], [0.0, 0.0]]


def test_inplace_on_view_is_seen_by_overlapping_view_in_autograd():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 1
    row, col = y[0], y[:, 0]
    row.mul_(2)
    assert col.tolist() == [2.0, 3.0]
    col.sum().backward()
    assert grad_list(x) == [[2.0, 0.0], [1.0, 0.0]]


def test_setitem_of_grad_value_into_plain_tensor_joins_the_graph():
    w = leaf([1.0, 2.0])
    base = torch.zeros(2, 2)
    base[0] = w * 2
    assert base.requires_grad and not base.is_leaf
    assert type(base.grad_fn).__name__ == "CopySlices"
    base.sum().backward()
    assert grad_list(w) == [2.0, 2.0]


def test_augmented_assignment_is_inplace():
    x = leaf([1.0, 2.0])
    y = x * 1
    alias = y
    y += 1
    assert alias is y and type(y.grad_fn).__name__ == "AddBackward0"
    y *= 3
    assert alias is y and type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    assert grad_list(x) == [3.0, 3.0]


def test_augmented_assignment_on_slice_goes_through_setitem():
    x = leaf([1.0, 2.0])
    y = x * 1
    y[0:1] += 5
    assert y.tolist() == [6.0, 2.0]
    assert type(y.grad_fn).__name__ == "CopySlices"


def test_inplace_through_detach_counts_as_modification():
    x = leaf([1.0, 2.0])
    y = x.exp()  # saves its output
    y.detach().zero_()  # detach() shares storage *and* the version counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_through_data_is_not_tracked():
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.data.zero_()  # .data is invisible to autograd: no error, backward uses the new values
    y.sum().backward()
    assert grad_list(x) == [0.0, 0.0]


def test_version_counter_counts_inplace_ops():
    t = torch.ones(3)
    assert t._version == 0
    t.add_(1)
    assert t._version == 1
    t[0] = 2.0
    assert t._version == 2
    t.zero_()
    assert t._version == 3
    t + 1  # out-of-place ops do not count
    assert t._version == 3


def test_requires_grad_of_nonleaf_cannot_be_cleared():
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError):
        y.requires_grad = False
    with pytest.raises(RuntimeError):
        y.requires_grad_(False)
    assert y.requires_grad


def test_result_computed_under_no_grad_is_a_leaf():
    x = leaf([1.0])
    with torch.no_grad():
        z = x * 2
    assert z.is_leaf and not z.requires_grad


def test_setitem_gradient_flows_to_value():
    x = leaf([1.0, 2.0, 3.0])
    v = leaf(5.0)
    y = x * 2
    y[1] = v * 3
    (y * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert grad_list(x) == [2.0, 0.0, 200.0]
    assert v.grad.item() == 30.0
