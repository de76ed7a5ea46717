"""grad_fn class names, dtype promotion, creation dtypes and tensor attributes,
recorded from PyTorch 2.13 as literals.
"""
import re

import numpy as np
import pytest

from tests._backend import torch
from tests._helpers import F, grad_list, leaf


# --------------------------------------------------------------------------
# grad_fn names (literal names from PyTorch 2.13)
# --------------------------------------------------------------------------
_X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
_Y = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def _setitem_clone(x, v):
    z = x.clone()
    z[0] = v
    return z


def _setitem_nonleaf(x):
    z = x * 1
    z[0, 1] = 5.0
    return z


GRAD_FN_NAMES = [
    ("x + y", lambda x, y, v: x + y, "AddBackward0"),
    ("x + 1", lambda x, y, v: x + 1, "AddBackward0"),
    ("x - y", lambda x, y, v: x - y, "SubBackward0"),
    ("x * y", lambda x, y, v: x * y, "MulBackward0"),
    ("x * 2.5", lambda x, y, v: x * 2.5, "MulBackward0"),
    ("x / y", lambda x, y, v: x / y, "DivBackward0"),
    ("x / 2", lambda x, y, v: x / 2, "DivBackward0"),
    ("-x", lambda x, y, v: -x, "NegBackward0"),
    ("x ** 2", lambda x, y, v: x ** 2, "PowBackward0"),
    ("x ** y", lambda x, y, v: x ** y, "PowBackward1"),
    ("2 ** x", lambda x, y, v: 2 ** x, "PowBackward2"),
    ("x @ y.t()", lambda x, y, v: x @ y.t(), "MmBackward0"),
    ("torch.mm", lambda x, y, v: torch.mm(x, y.t()), "MmBackward0"),
    ("v @ v", lambda x, y, v: v @ v, "DotBackward0"),
    ("x @ v", lambda x, y, v: x @ v, "MvBackward0"),
    ("torch.bmm", lambda x, y, v: torch.bmm(x[None], y.t()[None]), "BmmBackward0"),
    ("abs", lambda x, y, v: x.abs(), "AbsBackward0"),
    ("exp", lambda x, y, v: x.exp(), "ExpBackward0"),
    ("log", lambda x, y, v: y.log(), "LogBackward0"),
    ("log1p", lambda x, y, v: y.log1p(), "Log1PBackward0"),
    ("sqrt", lambda x, y, v: y.sqrt(), "SqrtBackward0"),
    ("rsqrt", lambda x, y, v: y.rsqrt(), "RsqrtBackward0"),
    ("sin", lambda x, y, v: x.sin(), "SinBackward0"),
    ("cos", lambda x, y, v: x.cos(), "CosBackward0"),
    ("tanh", lambda x, y, v: x.tanh(), "TanhBackward0"),
    ("sigmoid", lambda x, y, v: x.sigmoid(), "SigmoidBackward0"),
    ("relu", lambda x, y, v: x.relu(), "ReluBackward0"),
    ("clamp(min=0)", lambda x, y, v: x.clamp(min=0), "ClampBackward1"),
    ("clamp(0, 1)", lambda x, y, v: x.clamp(0, 1), "ClampBackward1"),
    ("clamp(max=1)", lambda x, y, v: x.clamp(max=1), "ClampBackward1"),
    ("maximum", lambda x, y, v: torch.maximum(x, y), "MaximumBackward0"),
    ("minimum", lambda x, y, v: torch.minimum(x, y), "MinimumBackward0"),
    ("where", lambda x, y, v: torch.where(x > 0, x, y), "WhereBackward0"),
    ("sum()", lambda x, y, v: x.sum(), "SumBackward0"),
    ("sum(0)", lambda x, y, v: x.sum(0), "SumBackward1"),
    ("sum(1, keepdim=True)", lambda x, y, v: x.sum(1, keepdim=True), "SumBackward1"),
    ("mean()", lambda x, y, v: x.mean(), "MeanBackward0"),
    ("mean(0)", lambda x, y, v: x.mean(0), "MeanBackward1"),
    ("var()", lambda x, y, v: x.var(), "VarBackward0"),
    ("var(0)", lambda x, y, v: x.var(0), "VarBackward0"),
    ("std()", lambda x, y, v: x.std(), "StdBackward0"),
    ("std(1)", lambda x, y, v: x.std(1), "StdBackward0"),
    ("max()", lambda x, y, v: x.max(), "MaxBackward1"),
    ("max(0).values", lambda x, y, v: x.max(0).values, "MaxBackward0"),
    ("min()", lambda x, y, v: x.min(), "MinBackward1"),
    ("min(1).values", lambda x, y, v: x.min(1).values, "MinBackward0"),
    ("amax(0)", lambda x, y, v: x.amax(0), "AmaxBackward0"),
    ("logsumexp(1)", lambda x, y, v: x.logsumexp(1), "LogsumexpBackward0"),
    ("norm()", lambda x, y, v: x.norm(), "LinalgVectorNormBackward0"),
    ("norm(dim=1)", lambda x, y, v: x.norm(dim=1), "LinalgVectorNormBackward0"),
    ("softmax", lambda x, y, v: x.softmax(1), "SoftmaxBackward0"),
    ("log_softmax", lambda x, y, v: x.log_softmax(1), "LogSoftmaxBackward0"),
    ("view", lambda x, y, v: x.view(3, 2), "ViewBackward0"),
    ("reshape (contiguous)", lambda x, y, v: x.reshape(3, 2), "ViewBackward0"),
    ("flatten", lambda x, y, v: x.flatten(), "ViewBackward0"),
    ("permute", lambda x, y, v: x.permute(1, 0), "PermuteBackward0"),
    ("transpose", lambda x, y, v: x.transpose(0, 1), "TransposeBackward0"),
    ("t()", lambda x, y, v: x.t(), "TBackward0"),
    ("T", lambda x, y, v: x.T, "PermuteBackward0"),
    ("unsqueeze", lambda x, y, v: x.unsqueeze(0), "UnsqueezeBackward0"),
    ("squeeze(0)", lambda x, y, v: x.unsqueeze(0).squeeze(0), "SqueezeBackward1"),
    ("squeeze()", lambda x, y, v: x.unsqueeze(0).squeeze(), "SqueezeBackward0"),
    ("expand", lambda x, y, v: x[:, :1].expand(2, 3), "ExpandBackward0"),
    ("cat", lambda x, y, v: torch.cat([x, y]), "CatBackward0"),
    ("stack", lambda x, y, v: torch.stack([x, y]), "StackBackward0"),
    ("x[0]", lambda x, y, v: x[0], "SelectBackward0"),
    ("x[0, 1]", lambda x, y, v: x[0, 1], "SelectBackward0"),
    ("x[:, 1:]", lambda x, y, v: x[:, 1:], "SliceBackward0"),
    ("x[None]", lambda x, y, v: x[None], "UnsqueezeBackward0"),
    ("x[long tensor]", lambda x, y, v: x[torch.tensor([1, 0])], "IndexBackward0"),
    ("x[bool mask]", lambda x, y, v: x[x > 0], "IndexBackward0"),
    ("setitem on clone", lambda x, y, v: _setitem_clone(x, v), "CopySlices"),
    ("setitem on nonleaf", lambda x, y, v: _setitem_nonleaf(x), "CopySlices"),
    ("clone", lambda x, y, v: x.clone(), "CloneBackward0"),
    ("double()", lambda x, y, v: x.double(), "ToCopyBackward0"),
    ("to(float64)", lambda x, y, v: x.to(torch.float64), "ToCopyBackward0"),
    ("F.relu", lambda x, y, v: F().relu(x), "ReluBackward0"),
    ("F.gelu", lambda x, y, v: F().gelu(x), "GeluBackward0"),
    ("F.sigmoid", lambda x, y, v: F().sigmoid(x), "SigmoidBackward0"),
    ("F.tanh", lambda x, y, v: F().tanh(x), "TanhBackward0"),
    ("F.softmax", lambda x, y, v: F().softmax(x, dim=1), "SoftmaxBackward0"),
    ("F.log_softmax", lambda x, y, v: F().log_softmax(x, dim=1), "LogSoftmaxBackward0"),
    ("F.linear with bias", lambda x, y, v: F().linear(x, y, v[:2]), "AddmmBackward0"),
    ("F.linear without bias", lambda x, y, v: F().linear(x, y), "MmBackward0"),
    ("F.mse_loss", lambda x, y, v: F().mse_loss(x, y), "MseLossBackward0"),
    ("F.cross_entropy", lambda x, y, v: F().cross_entropy(x, torch.tensor([0, 2])), "NllLossBackward0"),
    ("F.nll_loss", lambda x, y, v: F().nll_loss(x, torch.tensor([0, 2])), "NllLossBackward0"),
    ("F.binary_cross_entropy",
     lambda x, y, v: F().binary_cross_entropy(x.sigmoid(), (y / 6).detach()), "BinaryCrossEntropyBackward0"),
    ("F.binary_cross_entropy_with_logits",
     lambda x, y, v: F().binary_cross_entropy_with_logits(x, (y / 6).detach()),
     "BinaryCrossEntropyWithLogitsBackward0"),
    ("F.layer_norm", lambda x, y, v: F().layer_norm(x, (3,)), "NativeLayerNormBackward0"),
    ("F.layer_norm affine", lambda x, y, v: F().layer_norm(x, (3,), v, v), "NativeLayerNormBackward0"),
]

# Names PyTorch gives because of how it decomposes these ops internally.
GRAD_FN_NAMES_DECOMPOSED = [
    ("1 - x", lambda x, y, v: 1 - x, "RsubBackward1"),
    ("2 / x", lambda x, y, v: 2 / x, "MulBackward0"),
    ("3-d @ 3-d", lambda x, y, v: x[None] @ y.t()[None], "UnsafeViewBackward0"),
    ("1-d @ 2-d", lambda x, y, v: v @ y.t(), "SqueezeBackward4"),
    ("F.linear 1-d input", lambda x, y, v: F().linear(v, y), "SqueezeBackward4"),
    ("reshape (non-contiguous)", lambda x, y, v: x.t().reshape(6), "UnsafeViewBackward0"),
]


def _grad_fn_name(fn):
    x = leaf(_X)
    y = leaf(_Y)
    v = leaf([1.0, 2.0, 3.0])
    return type(fn(x, y, v).grad_fn).__name__


@pytest.mark.parametrize("fn, expected", [pytest.param(f, e, id=i) for i, f, e in GRAD_FN_NAMES])
def test_grad_fn_class_name(fn, expected):
    assert _grad_fn_name(fn) == expected


@pytest.mark.parametrize("fn, expected",
                         [pytest.param(f, e, id=i) for i, f, e in GRAD_FN_NAMES_DECOMPOSED])
def test_grad_fn_class_name_of_decomposed_ops(fn, expected):
    assert _grad_fn_name(fn) == expected


def test_grad_fn_repr():
    x = leaf([1.0, 2.0])
    assert re.fullmatch(r"<AddBackward0 object at 0x[0-9a-f]+>", repr((x + x).grad_fn))
    assert re.fullmatch(r"<SumBackward0 object at 0x[0-9a-f]+>", repr(x.sum().grad_fn))
    assert re.fullmatch(r"<MulBackward0 object at 0x[0-9a-f]+>", repr((x * 2).grad_fn))


def test_grad_fn_is_shared_by_the_same_output():
    x = leaf([1.0, 2.0])
    y = x * 2
    assert y.grad_fn is y.grad_fn


# --------------------------------------------------------------------------
# dtypes and promotion
# --------------------------------------------------------------------------
def _i64():
    return torch.tensor([1, 2, 3])


def _i32():
    return torch.tensor([1, 2, 3], dtype=torch.int32)


def _f32():
    return torch.tensor([1.0, 2.0, 3.0])


def _f64():
    return torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)


def _b():
    return torch.tensor([True, False, True])


PROMOTION = [
    ("int64 + float32", lambda: _i64() + _f32(), "float32"),
    ("int64 tensor * 2.5", lambda: _i64() * 2.5, "float32"),
    ("int64 tensor + 2", lambda: _i64() + 2, "int64"),
    ("int64 tensor + True", lambda: _i64() + True, "int64"),
    ("float32 + float64 0-d tensor", lambda: _f32() + torch.tensor(2.0, dtype=torch.float64), "float32"),
    ("float32 0-d + float64 1-d", lambda: torch.tensor(1.0) + _f64(), "float64"),
    ("float32 * float64", lambda: _f32() * _f64(), "float64"),
    ("float64 * 2", lambda: _f64() * 2, "float64"),
    ("int32 + python int", lambda: _i32() + 7, "int32"),
    ("int32 + int64", lambda: _i32() + _i64(), "int64"),
    ("int32 * 2.5", lambda: _i32() * 2.5, "float32"),
    ("int64 + float32 0-d", lambda: _i64() + torch.tensor(1.5), "float32"),
    ("int64 + float64 0-d", lambda: _i64() + torch.tensor(1.5, dtype=torch.float64), "float64"),
    ("int64 0-d + float32", lambda: torch.tensor(1) + _f32(), "float32"),
    ("bool + bool", lambda: _b() + _b(), "bool"),
    ("bool * bool", lambda: _b() * _b(), "bool"),
    ("bool + 1", lambda: _b() + 1, "int64"),
    ("bool + 1.5", lambda: _b() + 1.5, "float32"),
    ("int64 / int64", lambda: _i64() / _i64(), "float32"),
    ("int64 / 2", lambda: _i64() / 2, "float32"),
    ("int32 / int32", lambda: _i32() / _i32(), "float32"),
    ("int64 ** 2", lambda: _i64() ** 2, "int64"),
    ("int64 ** 0.5", lambda: _i64() ** 0.5, "float32"),
    ("-int64", lambda: -_i64(), "int64"),
    ("int64.abs()", lambda: _i64().abs(), "int64"),
    ("int64.exp()", lambda: _i64().exp(), "float32"),
    ("int32.sqrt()", lambda: _i32().sqrt(), "float32"),
    ("int64.sum()", lambda: _i64().sum(), "int64"),
    ("int32.sum()", lambda: _i32().sum(), "int64"),
    ("bool.sum()", lambda: _b().sum(), "int64"),
    ("int64.max()", lambda: _i64().max(), "int64"),
    ("float32.argmax()", lambda: _f32().argmax(), "int64"),
    ("int32 @ int32", lambda: _i32() @ _i32(), "int32"),
    ("comparison", lambda: _f32() > 1, "bool"),
    ("equality", lambda: _i64() == _f32(), "bool"),
    ("where(bool, int64, float32)", lambda: torch.where(_b(), _i64(), _f32()), "float32"),
    ("where(bool, int64, 2.5)", lambda: torch.where(_b(), _i64(), 2.5), "float32"),
    ("maximum(int64, float32)", lambda: torch.maximum(_i64(), _f32()), "float32"),
    ("cat([int64, float32])", lambda: torch.cat([_i64(), _f32()]), "float32"),
]


@pytest.mark.parametrize("fn, expected", [pytest.param(f, e, id=i) for i, f, e in PROMOTION])
def test_dtype_promotion(fn, expected):
    assert fn().dtype == getattr(torch, expected)
    assert repr(fn().dtype) == "torch." + expected


CREATION_DTYPES = [
    ("tensor(3)", lambda: torch.tensor(3), "int64"),
    ("tensor(3.0)", lambda: torch.tensor(3.0), "float32"),
    ("tensor(True)", lambda: torch.tensor(True), "bool"),
    ("tensor([1, 2.5])", lambda: torch.tensor([1, 2.5]), "float32"),
    ("tensor(np float64)", lambda: torch.tensor(np.array([1.0])), "float64"),
    ("tensor(np int32)", lambda: torch.tensor(np.array([1], dtype=np.int32)), "int32"),
    ("from_numpy float32", lambda: torch.from_numpy(np.ones(2, dtype=np.float32)), "float32"),
    ("ones", lambda: torch.ones(2), "float32"),
    ("zeros float64", lambda: torch.zeros(2, dtype=torch.float64), "float64"),
    ("arange(5)", lambda: torch.arange(5), "int64"),
    ("arange(5.0)", lambda: torch.arange(5.0), "float32"),
    ("arange(0, 1, 0.5)", lambda: torch.arange(0, 1, 0.5), "float32"),
    ("full int", lambda: torch.full((2,), 3), "int64"),
    ("full float", lambda: torch.full((2,), 3.0), "float32"),
    ("full bool", lambda: torch.full((2,), True), "bool"),
    ("linspace", lambda: torch.linspace(0, 1, 3), "float32"),
    ("eye", lambda: torch.eye(2), "float32"),
    ("empty", lambda: torch.empty(2, 3), "float32"),
    ("rand", lambda: torch.rand(2), "float32"),
    ("randn float64", lambda: torch.randn(2, dtype=torch.float64), "float64"),
    ("randint", lambda: torch.randint(0, 5, (3,)), "int64"),
    ("FloatTensor", lambda: torch.FloatTensor([1, 2]), "float32"),
    ("zeros_like int64", lambda: torch.zeros_like(_i64()), "int64"),
    ("ones_like float64", lambda: torch.ones_like(_f64()), "float64"),
    ("zeros_like dtype=", lambda: torch.zeros_like(_f32(), dtype=torch.int32), "int32"),
    ("full_like int64", lambda: torch.full_like(_i64(), 7), "int64"),
    ("rand_like float64", lambda: torch.rand_like(_f64()), "float64"),
    ("randn_like", lambda: torch.randn_like(_f32()), "float32"),
    ("empty_like", lambda: torch.empty_like(_f64()), "float64"),
]


@pytest.mark.parametrize("fn, expected", [pytest.param(f, e, id=i) for i, f, e in CREATION_DTYPES])
def test_creation_dtype(fn, expected):
    assert fn().dtype == getattr(torch, expected)


def test_dtype_reprs_and_aliases():
    assert repr(torch.float32) == "torch.float32"
    assert str(torch.float64) == "torch.float64"
    assert repr(torch.int64) == "torch.int64"
    assert repr(torch.int32) == "torch.int32"
    assert repr(torch.bool) == "torch.bool"
    assert torch.float is torch.float32
    assert torch.double is torch.float64
    assert torch.long is torch.int64
    assert repr(torch.float) == "torch.float32"


def test_conversions_values_and_dtypes():
    f = torch.tensor([-1.7, 2.9, 0.5])
    assert f.long().dtype == torch.int64
    assert f.long().tolist() == [-1, 2, 0]  # truncation toward zero
    assert f.to(torch.int32).tolist() == [-1, 2, 0]
    assert f.double().dtype == torch.float64
    assert torch.tensor([1, 0]).float().tolist() == [1.0, 0.0]
    assert torch.tensor([True, False]).float().tolist() == [1.0, 0.0]
    assert torch.tensor([2, 0, -1]).to(torch.bool).tolist() == [True, False, True]


def test_to_same_dtype_returns_self():
    x = torch.tensor([1.0, 2.0])
    assert x.to(torch.float32) is x
    assert x.float() is x
    assert x.double() is not x


def test_conversion_keeps_autograd():
    x = leaf([1.0, 2.0])
    y = x.double()
    assert y.requires_grad and y.dtype == torch.float64
    (y * y).sum().backward()
    assert x.grad.dtype == torch.float32
    assert grad_list(x) == [2.0, 4.0]


def test_integer_conversion_is_not_differentiable():
    x = leaf([1.5, 2.5])
    assert not x.long().requires_grad


# --------------------------------------------------------------------------
# tensor attributes and creation values
# --------------------------------------------------------------------------
def test_shape_size_dim_numel():
    x = torch.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4)
    assert x.size() == (2, 3, 4)
    assert isinstance(x.shape, tuple)
    assert x.size(1) == 3 and x.size(-1) == 4
    assert x.shape[0] == 2
    assert x.dim() == 3 and x.numel() == 24
    assert repr(x.shape) == "torch.Size([2, 3, 4])"
    s = torch.tensor(5.0)
    assert s.shape == () and s.dim() == 0 and s.numel() == 1


def test_float32_values_are_rounded_to_float32():
    assert torch.tensor(0.1).item() == 0.10000000149011612
    assert torch.tensor([0.1]).tolist() == [0.10000000149011612]
    assert (torch.tensor([0.1]) + torch.tensor([0.2])).item() == 0.30000001192092896
    assert (torch.tensor([1.0]) / 3).item() == 0.3333333432674408
    assert torch.tensor([16777217.0]).item() == 16777216.0
    assert torch.tensor(0.1, dtype=torch.float64).item() == 0.1


def test_item_tolist_numpy():
    assert torch.tensor([1.5]).item() == 1.5
    assert type(torch.tensor([3]).item()) is int
    assert type(torch.tensor(2.0).item()) is float
    assert type(torch.tensor(True).item()) is bool
    assert torch.tensor([[1.0, 2.0]]).tolist() == [[1.0, 2.0]]
    assert torch.tensor(2.0).tolist() == 2.0
    a = torch.tensor([[1, 2], [3, 4]], dtype=torch.int32).numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.int32 and a.tolist() == [[1, 2], [3, 4]]
    assert torch.tensor([1.0], dtype=torch.float64).numpy().dtype == np.float64


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PyTorch's __array__ lacks copy=
def test_array_protocol():
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert np.array(torch.tensor([1, 2])).dtype == np.int64
    assert np.array(torch.tensor([1.0], dtype=torch.float64)).dtype == np.float64


def test_T_of_matrix():
    x = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert x.T.tolist() == [[1, 4], [2, 5], [3, 6]]


def test_creation_values():
    assert torch.ones(2, 3).tolist() == [[1.0] * 3] * 2
    assert torch.ones((2, 3)).shape == (2, 3)
    assert torch.zeros(3).tolist() == [0.0, 0.0, 0.0]
    assert torch.full((2, 2), 1.5).tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert torch.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert torch.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert torch.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert torch.arange(2, 8, 3).tolist() == [2, 5]
    assert torch.arange(1, 2.5, 0.5).tolist() == [1.0, 1.5, 2.0]
    assert torch.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert torch.empty(2, 3).shape == (2, 3)
    assert torch.FloatTensor([[1, 2]]).tolist() == [[1.0, 2.0]]
    assert torch.full_like(torch.tensor([1, 2]), 7).tolist() == [7, 7]
    assert torch.zeros_like(torch.ones(2, 2)).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert torch.ones_like(torch.zeros(3)).tolist() == [1.0, 1.0, 1.0]


def test_linspace_rounds_like_pytorch():
    # PyTorch fills the first half as start + i*step and the second half as
    # end - (steps-1-i)*step in float32, so the middle of (-5, 5, 7) is not 0
    assert torch.linspace(-5, 5, 7).tolist() == [
        -5.0, -3.3333334922790527, -1.6666667461395264, 1.1920928955078125e-07,
        1.6666667461395264, 3.3333334922790527, 5.0]
    assert torch.linspace(-1, 1, 4).tolist() == [-1.0, -0.3333333134651184, 0.3333333134651184, 1.0]
    assert torch.linspace(0, 1, 11).tolist() == [
        0.0, 0.10000000149011612, 0.20000000298023224, 0.30000001192092896, 0.4000000059604645,
        0.5, 0.6000000238418579, 0.699999988079071, 0.800000011920929, 0.8999999761581421, 1.0]


def test_random_creation_shapes_and_ranges():
    u = torch.rand(200)
    assert u.shape == (200,) and 0.0 <= u.min().item() and u.max().item() < 1.0
    n = torch.randn(2, 3)
    assert n.shape == (2, 3)
    k = torch.randint(1, 3, (100,))
    assert k.dtype == torch.int64 and set(k.tolist()) <= {1, 2}
    k = torch.randint(4, (2, 2))  # high only
    assert k.shape == (2, 2) and 0 <= k.min().item() and k.max().item() < 4
    assert torch.rand_like(torch.zeros(2, 5)).shape == (2, 5)
    assert torch.randn_like(torch.zeros(4)).shape == (4,)


def test_manual_seed_makes_draws_reproducible():
    torch.manual_seed(123)
    a = torch.randn(5).tolist()
    b = torch.rand(3).tolist()
    torch.manual_seed(123)
    assert torch.randn(5).tolist() == a
    assert torch.rand(3).tolist() == b


def test_fill_zero_copy_inplace_return_self_and_values():
    x = torch.zeros(3)
    assert x.fill_(2.0) is x and x.tolist() == [2.0, 2.0, 2.0]
    assert x.add_(torch.tensor([1.0, 2.0, 3.0])) is x and x.tolist() == [3.0, 4.0, 5.0]
    assert x.mul_(2) is x and x.tolist() == [6.0, 8.0, 10.0]
    assert x.sub_(1) is x and x.tolist() == [5.0, 7.0, 9.0]
    assert x.div_(2) is x and x.tolist() == [2.5, 3.5, 4.5]
    assert x.copy_(torch.tensor([1, 2, 3])) is x and x.tolist() == [1.0, 2.0, 3.0]
    assert x.dtype == torch.float32
    x.copy_(torch.tensor(7.0))  # copy_ broadcasts the source
    assert x.tolist() == [7.0, 7.0, 7.0]
    assert x.zero_() is x and x.tolist() == [0.0, 0.0, 0.0]


def test_copy_into_tensor_is_differentiable_wrt_source():
    src = leaf([1.0, 2.0])
    dst = torch.zeros(2)
    dst.copy_(src * 3)
    assert dst.requires_grad
    dst.sum().backward()
    assert grad_list(src) == [3.0, 3.0]
