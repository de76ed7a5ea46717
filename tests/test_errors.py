"""Bad input raises the exception type PyTorch raises, and says what was wrong.

The exception *type* must be PyTorch's (RuntimeError, IndexError, TypeError,
ValueError).  The wording may differ from PyTorch's, but the message must name
the sizes/dims involved: each test lists numbers that must appear in it (as
whole numbers, so "3" does not match inside "13").  Sizes are chosen so that
the relevant numbers are distinct.

Also: a failed operation leaves its operands untouched (values and version).
"""
import re

import pytest

from tests._backend import torch


def F():
    return torch.nn.functional


def mentions(message, *numbers):
    missing = [n for n in numbers if not re.search(rf"(?<![\d.]){re.escape(str(n))}(?!\d|\.\d)", message)]
    assert not missing, f"message {message!r} does not mention {missing}"


def raises(exc_type, fn, *numbers, match=None):
    with pytest.raises(exc_type, match=match) as info:
        fn()
    mentions(str(info.value), *numbers)
    return info.value


# --------------------------------------------------------------------------
# shape mismatches -> RuntimeError naming the sizes
# --------------------------------------------------------------------------
SHAPE_ERRORS = [
    ("add-broadcast", lambda: torch.ones(2, 3) + torch.ones(4, 5), (3, 5)),
    ("mul-broadcast", lambda: torch.ones(2, 3) * torch.ones(2, 7), (3, 7)),
    ("sub-broadcast-1d", lambda: torch.ones(3) - torch.ones(4), (3, 4)),
    ("div-broadcast-leading", lambda: torch.ones(5, 2) / torch.ones(3, 2), (5, 3)),
    ("maximum-broadcast", lambda: torch.maximum(torch.ones(2, 3), torch.ones(4)), (3, 4)),
    ("where-broadcast", lambda: torch.where(torch.ones(2, 3) > 0, torch.ones(4), torch.ones(2, 3)), (3, 4)),
    ("matmul-2d-inner", lambda: torch.ones(2, 3) @ torch.ones(4, 5), (3, 4)),
    ("mm-inner", lambda: torch.mm(torch.ones(2, 3), torch.ones(4, 5)), (3, 4)),
    ("matmul-1d-1d", lambda: torch.ones(3) @ torch.ones(4), (3, 4)),
    ("matmul-2d-1d", lambda: torch.ones(2, 3) @ torch.ones(4), (3, 4)),
    ("matmul-batched-inner", lambda: torch.ones(2, 3, 4) @ torch.ones(5, 6), (4, 5)),
    ("matmul-batch-broadcast", lambda: torch.ones(2, 3, 4) @ torch.ones(3, 4, 5), (2, 3)),
    ("bmm-batch", lambda: torch.bmm(torch.ones(2, 3, 4), torch.ones(3, 4, 5)), (2, 3)),
    ("bmm-inner", lambda: torch.bmm(torch.ones(2, 3, 4), torch.ones(2, 5, 6)), (4, 5)),
    ("linear-in-features", lambda: F().linear(torch.ones(2, 3), torch.ones(5, 4)), (3, 4)),
    ("reshape-numel", lambda: torch.ones(2, 3).reshape(4, 2), (4, 2, 6)),
    ("view-numel", lambda: torch.ones(2, 3).view(7), (7, 6)),
    ("view-inferred-not-divisible", lambda: torch.ones(7).view(2, -1), (2, 7)),
    ("reshape-inferred-not-divisible", lambda: torch.ones(2, 3).reshape(-1, 4), (4, 6)),
    ("cat-mismatch", lambda: torch.cat([torch.ones(2, 3), torch.ones(2, 4)]), (3, 4)),
    ("cat-mismatch-dim1", lambda: torch.cat([torch.ones(2, 3), torch.ones(5, 3)], dim=1), (2, 5)),
    ("stack-mismatch", lambda: torch.stack([torch.ones(2, 3), torch.ones(2, 4)]), (3, 4)),
    ("expand-non-singleton", lambda: torch.ones(2, 3).expand(2, 4), (3, 4)),
    ("mse_loss-not-broadcastable", lambda: F().mse_loss(torch.ones(2, 3), torch.ones(4)), (3, 4)),
    ("layer_norm-normalized-shape", lambda: F().layer_norm(torch.ones(2, 3), (4,)), (4, 3)),
    ("inplace-add-broadcast", lambda: torch.ones(3).add_(torch.ones(2, 3)), (3, 2)),
    ("copy_-shape", lambda: torch.ones(3).copy_(torch.ones(4)), (3, 4)),
    ("backward-gradient-shape",
     lambda: (torch.ones(2, requires_grad=True) * 2).backward(torch.ones(3)), (3, 2)),
]


@pytest.mark.filterwarnings("ignore:Using a target size")  # mse_loss warns before failing
@pytest.mark.parametrize("fn, numbers", [pytest.param(f, n, id=i) for i, f, n in SHAPE_ERRORS])
def test_shape_error_is_runtime_error_naming_sizes(fn, numbers):
    raises(RuntimeError, fn, *numbers)


def test_view_on_non_contiguous_raises_runtime_error():
    x = torch.ones(3, 4).t()
    with pytest.raises(RuntimeError):
        x.view(12)
    assert x.reshape(12).shape == (12,)  # reshape is the way out


def test_view_with_two_inferred_dims_raises():
    with pytest.raises(RuntimeError):
        torch.ones(2, 3).view(-1, -1)


def test_mm_and_bmm_require_matrices():
    with pytest.raises(RuntimeError):
        torch.mm(torch.ones(3), torch.ones(3, 5))
    raises(RuntimeError, lambda: torch.bmm(torch.ones(3, 4), torch.ones(4, 5)), 3)


def test_matmul_with_0d_operand():
    with pytest.raises(RuntimeError):
        torch.tensor([1.0]) @ torch.tensor(2.0)


def test_expand_to_fewer_dims():
    raises(RuntimeError, lambda: torch.ones(2, 3).expand(3), 1, 2)


def test_permute_duplicate_dims():
    with pytest.raises(RuntimeError):
        torch.ones(2, 3).permute(0, 0)


def test_where_with_non_bool_condition():
    with pytest.raises(RuntimeError):
        torch.where(torch.tensor([1, 0]), torch.ones(2), torch.zeros(2))


def test_stack_empty_list():
    with pytest.raises(RuntimeError):
        torch.stack([])


def test_t_on_3d_raises():
    raises(RuntimeError, lambda: torch.ones(2, 3, 4).t(), 3)


def test_permute_wrong_number_of_dims():
    raises(RuntimeError, lambda: torch.ones(2, 3).permute(0, 1, 2), 2, 3)


def test_cat_different_ndim():
    raises(RuntimeError, lambda: torch.cat([torch.ones(2, 3), torch.ones(3)]), 2, 1)


def test_cat_empty_list_is_value_error():
    with pytest.raises(ValueError):
        torch.cat([])


# --------------------------------------------------------------------------
# dims out of range -> IndexError naming the bad dim
# --------------------------------------------------------------------------
DIM_ERRORS = [
    ("sum", lambda: torch.ones(2, 3).sum(dim=5), 5),
    ("sum-negative", lambda: torch.ones(2, 3).sum(dim=-3), -3),
    ("sum-tuple", lambda: torch.ones(2, 3).sum(dim=(0, 4)), 4),
    ("mean", lambda: torch.ones(2, 3).mean(dim=4), 4),
    ("var", lambda: torch.ones(2, 3).var(dim=6), 6),
    ("max", lambda: torch.ones(2, 3).max(dim=7), 7),
    ("amax", lambda: torch.ones(2, 3).amax(dim=5), 5),
    ("argmax", lambda: torch.ones(2, 3).argmax(dim=5), 5),
    ("logsumexp", lambda: torch.ones(2, 3).logsumexp(dim=4), 4),
    ("softmax", lambda: torch.ones(2, 3).softmax(dim=3), 3),
    ("F.softmax", lambda: F().softmax(torch.ones(2, 3), dim=5), 5),
    ("log_softmax-negative", lambda: torch.ones(2, 3).log_softmax(dim=-4), -4),
    ("transpose", lambda: torch.ones(2, 3).transpose(0, 4), 4),
    ("unsqueeze", lambda: torch.ones(2, 3).unsqueeze(5), 5),
    ("squeeze", lambda: torch.ones(2, 3).squeeze(5), 5),
    ("flatten", lambda: torch.ones(2, 3).flatten(3), 3),
    ("cat", lambda: torch.cat([torch.ones(2, 3), torch.ones(2, 3)], dim=4), 4),
    ("stack", lambda: torch.stack([torch.ones(2, 3), torch.ones(2, 3)], dim=4), 4),
    ("size", lambda: torch.ones(2, 3).size(4), 4),
]


@pytest.mark.parametrize("fn, dim", [pytest.param(f, d, id=i) for i, f, d in DIM_ERRORS])
def test_dim_out_of_range_is_index_error(fn, dim):
    raises(IndexError, fn, dim)


# --------------------------------------------------------------------------
# indexing
# --------------------------------------------------------------------------
INDEX_ERRORS = [
    ("int-too-large", lambda x: x[5], (5, 3)),
    ("int-too-negative", lambda x: x[-6], (-6, 3)),
    ("column-too-large", lambda x: x[:, 7], (7, 4)),
    ("long-tensor", lambda x: x[torch.tensor([0, 9])], (9, 3)),
    ("long-tensor-negative", lambda x: x[torch.tensor([0, -9])], (-9, 3)),
    ("long-tensor-second-dim", lambda x: x[:, torch.tensor([1, 8])], (8, 4)),
]


@pytest.mark.parametrize("fn, numbers", [pytest.param(f, n, id=i) for i, f, n in INDEX_ERRORS])
def test_index_out_of_range_is_index_error(fn, numbers):
    raises(IndexError, lambda: fn(torch.ones(3, 4)), *numbers)


def test_too_many_indices_is_index_error():
    raises(IndexError, lambda: torch.ones(3, 4)[0, 0, 0], 2)


def test_float_tensor_as_index_is_index_error():
    with pytest.raises(IndexError):
        torch.ones(3, 4)[torch.tensor([0.0, 1.0])]


def test_python_float_as_index_is_index_error():
    with pytest.raises(IndexError):
        torch.ones(3, 4)[1.5]


def test_bool_mask_of_wrong_shape_is_index_error():
    raises(IndexError, lambda: torch.ones(3, 4)[torch.tensor([True, False])], 2, 3)


# --------------------------------------------------------------------------
# autograd misuse
# --------------------------------------------------------------------------
def test_requires_grad_on_integer_tensor():
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
        torch.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
        torch.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
        torch.ones(2, dtype=torch.int64, requires_grad=True)


def test_backward_on_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.ones(2).sum().backward()


def test_numpy_on_tensor_requiring_grad():
    with pytest.raises(RuntimeError, match="detach"):
        torch.ones(2, requires_grad=True).numpy()


def test_autograd_grad_of_unused_input():
    x = torch.ones(2, requires_grad=True)
    unused = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad((x * 2).sum(), [unused])


# --------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------
def test_cross_entropy_target_out_of_range_is_index_error():
    raises(IndexError, lambda: F().cross_entropy(torch.ones(2, 3), torch.tensor([0, 5])), 5)


def test_cross_entropy_negative_target_is_index_error():
    raises(IndexError, lambda: F().cross_entropy(torch.ones(2, 3), torch.tensor([0, -2])), -2)


def test_nll_loss_target_out_of_range_is_index_error():
    raises(IndexError, lambda: F().nll_loss(torch.ones(2, 3), torch.tensor([7, 0])), 7)


def test_cross_entropy_int32_target_is_runtime_error():
    # class-index targets must be int64 in PyTorch
    with pytest.raises(RuntimeError):
        F().cross_entropy(torch.ones(1, 3), torch.tensor([2], dtype=torch.int32))


def test_cross_entropy_batch_size_mismatch_is_value_error():
    raises(ValueError, lambda: F().cross_entropy(torch.ones(2, 3), torch.tensor([0, 1, 2])), 2, 3)


def test_mse_loss_broadcastable_shape_mismatch_only_warns():
    with pytest.warns(UserWarning, match="target size"):
        out = F().mse_loss(torch.ones(3, 1), torch.ones(3))
    assert out.shape == ()


def test_binary_cross_entropy_size_mismatch_is_value_error():
    raises(ValueError, lambda: F().binary_cross_entropy(torch.full((2, 3), 0.5), torch.ones(3)), 2, 3)


def test_binary_cross_entropy_with_logits_size_mismatch_is_value_error():
    raises(ValueError,
           lambda: F().binary_cross_entropy_with_logits(torch.ones(2, 3), torch.ones(3)), 2, 3)


# --------------------------------------------------------------------------
# conversions to Python / construction
# --------------------------------------------------------------------------
def test_item_on_multi_element_tensor():
    raises(RuntimeError, lambda: torch.ones(2, 3).item(), 6,
           match="a Tensor with 6 elements cannot be converted to Scalar")


def test_item_on_empty_tensor():
    raises(RuntimeError, lambda: torch.ones(0).item(), 0)


def test_float_of_multi_element_tensor_is_value_error():
    with pytest.raises(ValueError):
        float(torch.ones(2))


def test_bool_of_multi_element_tensor_is_runtime_error():
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(torch.ones(2))


def test_len_of_0d_tensor_is_type_error():
    with pytest.raises(TypeError):
        len(torch.tensor(1.0))


def test_iterating_a_0d_tensor_is_type_error():
    with pytest.raises(TypeError):
        iter(torch.tensor(1.0))


def test_ragged_nested_list_is_value_error():
    raises(ValueError, lambda: torch.tensor([[1, 2], [3]]), 2)


def test_tensor_from_string_is_type_error():
    with pytest.raises(TypeError):
        torch.tensor("abc")


@pytest.mark.parametrize("other", ["a", None, object()], ids=["str", "None", "object"])
def test_arithmetic_with_non_number_is_type_error(other):
    with pytest.raises(TypeError):
        torch.ones(2) + other
    with pytest.raises(TypeError):
        torch.ones(2) * other


def test_logsumexp_without_dim_is_type_error():
    with pytest.raises(TypeError):
        torch.ones(2, 3).logsumexp()


def test_max_of_empty_tensor_without_dim():
    with pytest.raises(RuntimeError):
        torch.tensor([]).max()
    with pytest.raises(IndexError):
        torch.tensor([]).argmax()


def test_negative_sizes():
    raises(RuntimeError, lambda: torch.ones(-1), -1)
    with pytest.raises(RuntimeError):  # PyTorch's zeros() does not name the size
        torch.zeros(2, -3)
    raises(RuntimeError, lambda: torch.eye(-4), -4)


def test_randint_low_not_below_high():
    raises(RuntimeError, lambda: torch.randint(5, 2, (3,)), 5, 2)


def test_linspace_negative_steps():
    with pytest.raises(RuntimeError):
        torch.linspace(0, 1, -1)


def test_bad_argument_types_are_type_errors():
    with pytest.raises(TypeError):
        torch.ones("a")
    with pytest.raises(TypeError):
        torch.ones(2, 3).sum(dim=1.5)
    with pytest.raises(TypeError):
        torch.ones(6).reshape(2, 3.0)


def test_arange_zero_step():
    with pytest.raises(RuntimeError):
        torch.arange(0, 10, 0)


def test_mean_of_integer_tensor():
    with pytest.raises(RuntimeError, match="(?i)floating point"):
        torch.tensor([1, 2]).mean()


def test_inplace_float_result_into_int_tensor():
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2, 3]).mul_(2.5)


# --------------------------------------------------------------------------
# nothing half-modified after an error
# --------------------------------------------------------------------------
def _base():
    return torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])


BASE_VALUES = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]

FAILING_MUTATIONS = [
    ("add_-bad-shape", lambda x: x.add_(torch.ones(2, 3, 3)), RuntimeError),
    ("mul_-bad-shape", lambda x: x.mul_(torch.ones(4)), RuntimeError),
    ("sub_-bad-shape", lambda x: x.sub_(torch.ones(2, 1, 1)), RuntimeError),
    ("div_-bad-shape", lambda x: x.div_(torch.ones(3, 2)), RuntimeError),
    ("copy_-bad-shape", lambda x: x.copy_(torch.ones(4, 3)), RuntimeError),
    ("setitem-row-bad-shape", lambda x: x.__setitem__(0, torch.ones(4)), RuntimeError),
    ("setitem-slice-bad-shape", lambda x: x.__setitem__(slice(1, None), torch.ones(3, 2)), RuntimeError),
    ("setitem-int-out-of-range", lambda x: x.__setitem__(5, 1.0), IndexError),
    ("setitem-column-out-of-range", lambda x: x.__setitem__((slice(None), 3), 1.0), IndexError),
    # (PyTorch itself half-writes x[torch.tensor([0, 7])] = v before raising, so
    # out-of-range tensor indices are not checked here.)
]


@pytest.mark.parametrize("mutate, exc", [pytest.param(m, e, id=i) for i, m, e in FAILING_MUTATIONS])
def test_failed_mutation_leaves_values_unchanged(mutate, exc):
    x = _base()
    with pytest.raises(exc):
        mutate(x)
    assert x.tolist() == BASE_VALUES


@pytest.mark.parametrize("mutate, exc", [pytest.param(m, e, id=i) for i, m, e in FAILING_MUTATIONS])
def test_failed_mutation_leaves_version_unchanged(mutate, exc):
    x = _base()
    assert x._version == 0  # PyTorch's version counter is a plain int
    with pytest.raises(exc):
        mutate(x)
    assert x._version == 0


def test_failed_int_inplace_leaves_values_unchanged():
    x = torch.tensor([1, 2, 3])
    with pytest.raises(RuntimeError):
        x.mul_(2.5)
    assert x.tolist() == [1, 2, 3] and x.dtype == torch.int64


def test_failed_inplace_on_saved_tensor_does_not_break_backward():
    """A failed in-place op must not count as a modification of a saved tensor."""
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 2
    b = a * a  # saves a
    with pytest.raises(RuntimeError):
        a.add_(torch.ones(2, 3))
    b.sum().backward()
    assert x.grad.tolist() == [8.0, 16.0, 24.0]


def test_failed_inplace_on_leaf_requiring_grad_leaves_it_unchanged():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        x.mul_(3)
    assert x.tolist() == [1.0, 2.0] and x.is_leaf and x.grad_fn is None


def test_failed_binary_op_leaves_operands_and_grads_unchanged():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        a * b
    assert a.tolist() == [1.0, 2.0, 3.0] and b.tolist() == [1.0, 2.0]
    (a * 2).sum().backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0] and b.grad is None


def test_failed_backward_leaves_grads_unchanged():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    y = x * x
    with pytest.raises(RuntimeError):
        y.backward()  # non-scalar without gradient
    assert x.grad.tolist() == [3.0, 3.0]
