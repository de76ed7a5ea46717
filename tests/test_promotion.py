"""Type promotion and broadcasting against tables recorded from PyTorch 2.13
(mul of every dtype pair, for tensors with dims, 0-d tensors and Python
scalars), plus property tests of broadcasting against NumPy."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import frontend as torch

TENSOR_TENSOR = [
    ('bool', 'dim', 'bool', 'dim', 'bool'),
    ('bool', 'dim', 'bool', 'zero', 'bool'),
    ('bool', 'zero', 'bool', 'dim', 'bool'),
    ('bool', 'zero', 'bool', 'zero', 'bool'),
    ('bool', 'dim', 'int32', 'dim', 'int32'),
    ('bool', 'dim', 'int32', 'zero', 'int32'),
    ('bool', 'zero', 'int32', 'dim', 'int32'),
    ('bool', 'zero', 'int32', 'zero', 'int32'),
    ('bool', 'dim', 'int64', 'dim', 'int64'),
    ('bool', 'dim', 'int64', 'zero', 'int64'),
    ('bool', 'zero', 'int64', 'dim', 'int64'),
    ('bool', 'zero', 'int64', 'zero', 'int64'),
    ('bool', 'dim', 'float32', 'dim', 'float32'),
    ('bool', 'dim', 'float32', 'zero', 'float32'),
    ('bool', 'zero', 'float32', 'dim', 'float32'),
    ('bool', 'zero', 'float32', 'zero', 'float32'),
    ('bool', 'dim', 'float64', 'dim', 'float64'),
    ('bool', 'dim', 'float64', 'zero', 'float64'),
    ('bool', 'zero', 'float64', 'dim', 'float64'),
    ('bool', 'zero', 'float64', 'zero', 'float64'),
    ('int32', 'dim', 'bool', 'dim', 'int32'),
    ('int32', 'dim', 'bool', 'zero', 'int32'),
    ('int32', 'zero', 'bool', 'dim', 'int32'),
    ('int32', 'zero', 'bool', 'zero', 'int32'),
    ('int32', 'dim', 'int32', 'dim', 'int32'),
    ('int32', 'dim', 'int32', 'zero', 'int32'),
    ('int32', 'zero', 'int32', 'dim', 'int32'),
    ('int32', 'zero', 'int32', 'zero', 'int32'),
    ('int32', 'dim', 'int64', 'dim', 'int64'),
    ('int32', 'dim', 'int64', 'zero', 'int32'),
    ('int32', 'zero', 'int64', 'dim', 'int64'),
    ('int32', 'zero', 'int64', 'zero', 'int64'),
    ('int32', 'dim', 'float32', 'dim', 'float32'),
    ('int32', 'dim', 'float32', 'zero', 'float32'),
    ('int32', 'zero', 'float32', 'dim', 'float32'),
    ('int32', 'zero', 'float32', 'zero', 'float32'),
    ('int32', 'dim', 'float64', 'dim', 'float64'),
    ('int32', 'dim', 'float64', 'zero', 'float64'),
    ('int32', 'zero', 'float64', 'dim', 'float64'),
    ('int32', 'zero', 'float64', 'zero', 'float64'),
    ('int64', 'dim', 'bool', 'dim', 'int64'),
    ('int64', 'dim', 'bool', 'zero', 'int64'),
    ('int64', 'zero', 'bool', 'dim', 'int64'),
    ('int64', 'zero', 'bool', 'zero', 'int64'),
    ('int64', 'dim', 'int32', 'dim', 'int64'),
    ('int64', 'dim', 'int32', 'zero', 'int64'),
    ('int64', 'zero', 'int32', 'dim', 'int32'),
    ('int64', 'zero', 'int32', 'zero', 'int64'),
    ('int64', 'dim', 'int64', 'dim', 'int64'),
    ('int64', 'dim', 'int64', 'zero', 'int64'),
    ('int64', 'zero', 'int64', 'dim', 'int64'),
    ('int64', 'zero', 'int64', 'zero', 'int64'),
    ('int64', 'dim', 'float32', 'dim', 'float32'),
    ('int64', 'dim', 'float32', 'zero', 'float32'),
    ('int64', 'zero', 'float32', 'dim', 'float32'),
    ('int64', 'zero', 'float32', 'zero', 'float32'),
    ('int64', 'dim', 'float64', 'dim', 'float64'),
    ('int64', 'dim', 'float64', 'zero', 'float64'),
    ('int64', 'zero', 'float64', 'dim', 'float64'),
    ('int64', 'zero', 'float64', 'zero', 'float64'),
    ('float32', 'dim', 'bool', 'dim', 'float32'),
    ('float32', 'dim', 'bool', 'zero', 'float32'),
    ('float32', 'zero', 'bool', 'dim', 'float32'),
    ('float32', 'zero', 'bool', 'zero', 'float32'),
    ('float32', 'dim', 'int32', 'dim', 'float32'),
    ('float32', 'dim', 'int32', 'zero', 'float32'),
    ('float32', 'zero', 'int32', 'dim', 'float32'),
    ('float32', 'zero', 'int32', 'zero', 'float32'),
    ('float32', 'dim', 'int64', 'dim', 'float32'),
    ('float32', 'dim', 'int64', 'zero', 'float32'),
    ('float32', 'zero', 'int64', 'dim', 'float32'),
    ('float32', 'zero', 'int64', 'zero', 'float32'),
    ('float32', 'dim', 'float32', 'dim', 'float32'),
    ('float32', 'dim', 'float32', 'zero', 'float32'),
    ('float32', 'zero', 'float32', 'dim', 'float32'),
    ('float32', 'zero', 'float32', 'zero', 'float32'),
    ('float32', 'dim', 'float64', 'dim', 'float64'),
    ('float32', 'dim', 'float64', 'zero', 'float32'),
    ('float32', 'zero', 'float64', 'dim', 'float64'),
    ('float32', 'zero', 'float64', 'zero', 'float64'),
    ('float64', 'dim', 'bool', 'dim', 'float64'),
    ('float64', 'dim', 'bool', 'zero', 'float64'),
    ('float64', 'zero', 'bool', 'dim', 'float64'),
    ('float64', 'zero', 'bool', 'zero', 'float64'),
    ('float64', 'dim', 'int32', 'dim', 'float64'),
    ('float64', 'dim', 'int32', 'zero', 'float64'),
    ('float64', 'zero', 'int32', 'dim', 'float64'),
    ('float64', 'zero', 'int32', 'zero', 'float64'),
    ('float64', 'dim', 'int64', 'dim', 'float64'),
    ('float64', 'dim', 'int64', 'zero', 'float64'),
    ('float64', 'zero', 'int64', 'dim', 'float64'),
    ('float64', 'zero', 'int64', 'zero', 'float64'),
    ('float64', 'dim', 'float32', 'dim', 'float64'),
    ('float64', 'dim', 'float32', 'zero', 'float64'),
    ('float64', 'zero', 'float32', 'dim', 'float32'),
    ('float64', 'zero', 'float32', 'zero', 'float64'),
    ('float64', 'dim', 'float64', 'dim', 'float64'),
    ('float64', 'dim', 'float64', 'zero', 'float64'),
    ('float64', 'zero', 'float64', 'dim', 'float64'),
    ('float64', 'zero', 'float64', 'zero', 'float64'),
]
TENSOR_SCALAR = [
    ('bool', 'dim', 'int', 'int64'),
    ('bool', 'dim', 'float', 'float32'),
    ('bool', 'dim', 'bool', 'bool'),
    ('bool', 'zero', 'int', 'int64'),
    ('bool', 'zero', 'float', 'float32'),
    ('bool', 'zero', 'bool', 'bool'),
    ('int32', 'dim', 'int', 'int32'),
    ('int32', 'dim', 'float', 'float32'),
    ('int32', 'dim', 'bool', 'int32'),
    ('int32', 'zero', 'int', 'int32'),
    ('int32', 'zero', 'float', 'float32'),
    ('int32', 'zero', 'bool', 'int32'),
    ('int64', 'dim', 'int', 'int64'),
    ('int64', 'dim', 'float', 'float32'),
    ('int64', 'dim', 'bool', 'int64'),
    ('int64', 'zero', 'int', 'int64'),
    ('int64', 'zero', 'float', 'float32'),
    ('int64', 'zero', 'bool', 'int64'),
    ('float32', 'dim', 'int', 'float32'),
    ('float32', 'dim', 'float', 'float32'),
    ('float32', 'dim', 'bool', 'float32'),
    ('float32', 'zero', 'int', 'float32'),
    ('float32', 'zero', 'float', 'float32'),
    ('float32', 'zero', 'bool', 'float32'),
    ('float64', 'dim', 'int', 'float64'),
    ('float64', 'dim', 'float', 'float64'),
    ('float64', 'dim', 'bool', 'float64'),
    ('float64', 'zero', 'int', 'float64'),
    ('float64', 'zero', 'float', 'float64'),
    ('float64', 'zero', 'bool', 'float64'),
]

SCALARS = {"int": 2, "float": 2.5, "bool": True}


def _tensor(dtype, kind):
    return torch.ones((2,) if kind == "dim" else (), dtype=getattr(torch, dtype if dtype != "bool" else "bool"))


@pytest.mark.parametrize("a, ka, b, kb, expected", TENSOR_TENSOR)
def test_tensor_tensor_promotion(a, ka, b, kb, expected):
    assert (_tensor(a, ka) * _tensor(b, kb)).dtype.name == expected


@pytest.mark.parametrize("a, kind, scalar, expected", TENSOR_SCALAR)
def test_tensor_scalar_promotion(a, kind, scalar, expected):
    t = _tensor(a, kind)
    assert (t * SCALARS[scalar]).dtype.name == expected
    assert (SCALARS[scalar] * t).dtype.name == expected


shapes = st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple)


@st.composite
def broadcastable_pair(draw):
    shape = draw(shapes)
    other = []
    for size in shape[draw(st.integers(0, len(shape))):]:
        other.append(draw(st.sampled_from([size, 1])))
    pair = (shape, tuple(other))
    return pair if draw(st.booleans()) else pair[::-1]


@settings(max_examples=150, deadline=None)
@given(broadcastable_pair(), st.sampled_from(["add", "sub", "mul", "maximum", "where"]))
def test_broadcasting_matches_numpy(pair, op):
    a = np.random.default_rng(0).standard_normal(pair[0])
    b = np.random.default_rng(1).standard_normal(pair[1])
    ta, tb = torch.tensor(a), torch.tensor(b)
    if op == "where":
        got, want = torch.where(ta > 0, ta, tb), np.where(a > 0, a, b)
    else:
        got = getattr(ta, op)(tb) if op != "maximum" else torch.maximum(ta, tb)
        want = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum}[op](a, b)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


@settings(max_examples=100, deadline=None)
@given(broadcastable_pair())
def test_gradient_of_broadcast_sums_over_broadcast_dims(pair):
    a = torch.tensor(np.random.default_rng(2).standard_normal(pair[0]), requires_grad=True)
    b = torch.tensor(np.random.default_rng(3).standard_normal(pair[1]), requires_grad=True)
    (a * b).sum().backward()
    full = np.broadcast_shapes(pair[0], pair[1])
    expected_a = np.broadcast_to(b.detach().numpy(), full)
    lead = len(full) - len(pair[0])
    expected_a = expected_a.sum(axis=tuple(range(lead))) if lead else expected_a
    expected_a = expected_a.sum(axis=tuple(i for i, s in enumerate(pair[0]) if s == 1), keepdims=True) \
        if expected_a.ndim else expected_a
    assert a.grad.shape == a.shape
    np.testing.assert_allclose(a.grad.numpy(), expected_a.reshape(pair[0]))


@pytest.mark.parametrize("a, b, expected", [
    (lambda: torch.ones(2, dtype=torch.int64), lambda: torch.ones(2), "float32"),
    (lambda: torch.ones(2, dtype=torch.int32), lambda: 3, "int32"),
    (lambda: torch.ones((), dtype=torch.float64), lambda: torch.ones(2), "float32"),
    (lambda: torch.ones(2, dtype=torch.int32), lambda: torch.ones((), dtype=torch.float64), "float64"),
    (lambda: 2, lambda: 2.5, "float32"),
])
def test_result_type(a, b, expected):
    """Values recorded from PyTorch 2.13's torch.result_type."""
    assert torch.result_type(a(), b()).name == expected
