"""Every primitive in the registry, checked directly: its shape/dtype rule
agrees with its NumPy semantics, and (if differentiable) its derivative rules
agree with central differences in float64. A primitive added to the registry
without an entry in CASES fails `test_every_primitive_has_a_case`."""
import numpy as np
import pytest

import frontend as torch
from compiler import dtypes
from compiler.ops import REGISTRY, Group

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    return rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def fractional(*shape):
    return rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.8, shape)


def index(*shape, high):
    return rng.integers(-high, high, shape)


# name -> list of (inputs, attrs); an input is (array, differentiable?)
D, C = True, False
CASES = {
    "neg": [([(normal(3, 4), D)], {})],
    "exp": [([(normal(3, 4), D)], {})],
    "log": [([(positive(3, 4), D)], {})],
    "log1p": [([(positive(3, 4), D)], {})],
    "sqrt": [([(positive(3, 4), D)], {})],
    "sin": [([(normal(3, 4), D)], {})],
    "cos": [([(normal(3, 4), D)], {})],
    "tanh": [([(normal(3, 4), D)], {})],
    "sigmoid": [([(normal(3, 4), D)], {})],
    "erf": [([(normal(3, 4), D)], {})],
    "abs": [([(away_from_zero(3, 4), D)], {})],
    "relu": [([(away_from_zero(3, 4), D)], {})],
    "sign": [([(away_from_zero(3, 4), D)], {})],
    "floor": [([(fractional(3, 4), D)], {})],
    "logical_not": [([(normal(3, 4) > 0, C)], {})],
    "stop_gradient": [([(normal(3, 4), C)], {}), ([(rng.integers(0, 5, (2,)), C)], {})],
    "cast": [([(normal(3, 4), D)], {"dtype": dtypes.float64}), ([(normal(3), C)], {"dtype": dtypes.int64})],
    "add": [([(normal(3, 4), D), (normal(3, 4), D)], {}), ([(normal(3, 1), D), (normal(1, 4), D)], {})],
    "sub": [([(normal(3, 4), D), (normal(4), D)], {})],
    "mul": [([(normal(3, 1), D), (normal(1, 4), D)], {}), ([(normal(3), D), (normal(), D)], {})],
    "div": [([(normal(3, 4), D), (away_from_zero(3, 1), D)], {})],
    "remainder": [([(fractional(3, 4), D), (np.full((3, 4), 7.0), D)], {})],
    "pow": [([(positive(3, 4), D), (normal(3, 4), D)], {}), ([(positive(2, 3), D), (normal(), D)], {})],
    "maximum": [([(normal(3, 4), D), (normal(3, 4), D)], {})],
    "minimum": [([(normal(3, 1), D), (normal(1, 4), D)], {})],
    "eq": [([(normal(3), C), (normal(3), C)], {})],
    "ne": [([(normal(3), C), (normal(3), C)], {})],
    "lt": [([(normal(3), C), (normal(3), C)], {})],
    "le": [([(normal(3), C), (normal(3), C)], {})],
    "gt": [([(normal(3), C), (normal(3), C)], {})],
    "ge": [([(normal(3), C), (normal(3), C)], {})],
    "logical_and": [([(normal(3) > 0, C), (normal(3) > 0, C)], {})],
    "logical_or": [([(normal(3) > 0, C), (normal(3) > 0, C)], {})],
    "logical_xor": [([(normal(3) > 0, C), (normal(3) > 0, C)], {})],
    "where": [([(normal(3, 4) > 0, C), (normal(3, 4), D), (normal(4), D)], {})],
    "sum": [([(normal(3, 4), D)], {"axes": (1,), "keepdim": False}),
            ([(normal(2, 3, 4), D)], {"axes": (0, 2), "keepdim": True}),
            ([(normal(3), D)], {"axes": (0,), "keepdim": False})],
    "amax": [([(normal(3, 4), D)], {"axes": (1,), "keepdim": True}),
             ([(np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 2.0]]), D)], {"axes": (1,), "keepdim": False})],
    "amin": [([(normal(3, 4), D)], {"axes": (0, 1), "keepdim": False})],
    "argmax": [([(normal(3, 4), C)], {"axes": (1,), "keepdim": False})],
    "argmin": [([(normal(3, 4), C)], {"axes": (0,), "keepdim": True})],
    "reshape": [([(normal(3, 4), D)], {"shape": (2, 6)}), ([(normal(1), D)], {"shape": ()})],
    "permute": [([(normal(2, 3, 4), D)], {"perm": (2, 0, 1)})],
    "expand": [([(normal(3, 1), D)], {"shape": (2, 3, 4)})],
    "slice": [([(normal(5, 6), D)], {"starts": (1, 0), "stops": (5, 6), "steps": (2, 3)}),
              ([(normal(4), D)], {"starts": (2,), "stops": (2,), "steps": (1,)})],
    "pad": [([(normal(2, 3), D)], {"config": ((1, 2, 1), (0, 1, 0))})],
    "concat": [([(normal(2, 3), D), (normal(1, 3), D), (normal(4, 3), D)], {"axis": 0})],
    "matmul": [([(normal(3, 4), D), (normal(4, 2), D)], {}), ([(normal(2, 3, 4), D), (normal(4, 5), D)], {}),
               ([(normal(2, 1, 3, 4), D), (normal(5, 4, 2), D)], {})],
    "gather": [([(normal(5, 3), D), (index(2, 4, high=5), C)], {"axis": 0}),
               ([(normal(2, 6), D), (index(3, high=6), C)], {"axis": 1})],
    "scatter_add": [([(normal(5, 3), D), (index(4, high=5), C), (normal(4, 3), D)], {"axis": 0})],
    "full": [([], {"value": 2.5, "shape": (2, 3), "dtype": dtypes.float64})],
    "iota": [([], {"length": 5, "dtype": dtypes.int64})],
}


def test_every_primitive_has_a_case():
    assert sorted(REGISTRY) == sorted(CASES), "each registered primitive needs a case here"


def _tensors(inputs, requires_grad=True):
    out = []
    for array, differentiable in inputs:
        t = torch.tensor(np.asarray(array))
        if differentiable and t.dtype.is_floating_point and requires_grad:
            t.requires_grad_(True)
        out.append(t)
    return out


def _apply(name, tensors, attrs):
    anchor = tensors[0] if tensors else torch.zeros(())
    return anchor._apply(name, *tensors, **attrs)


ALL_CASES = [(name, i) for name in sorted(CASES) for i in range(len(CASES[name]))]


@pytest.mark.parametrize("name, case", ALL_CASES)
def test_shape_rule_matches_numpy_semantics(name, case):
    inputs, attrs = CASES[name][case]
    prim = REGISTRY[name]
    arrays = [np.asarray(a) for a, _ in inputs]
    avals = [torch.tensor(a).aval for a in arrays]
    expected = prim.infer(*avals, **attrs)
    result = np.asarray(prim.reference(*arrays, **attrs))
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype.np


DIFFERENTIABLE = [(n, i) for n, i in ALL_CASES
                  if REGISTRY[n].differentiable and any(d for _, d in CASES[n][i][0])
                  and REGISTRY[n].infer(*[torch.tensor(np.asarray(a)).aval for a, _ in CASES[n][i][0]],
                                        **CASES[n][i][1]).dtype.is_floating_point]


@pytest.mark.parametrize("name, case", DIFFERENTIABLE)
def test_derivative_rules_match_central_differences(name, case):
    inputs, attrs = CASES[name][case]
    tensors = _tensors(inputs)
    differentiable = [i for i, t in enumerate(tensors) if t.requires_grad]

    def f(*xs):
        full = list(tensors)
        for i, x in zip(differentiable, xs):
            full[i] = x
        return _apply(name, full, attrs)

    assert torch.autograd.gradcheck(f, [tensors[i] for i in differentiable])


@pytest.mark.parametrize("name", sorted(n for n in CASES if REGISTRY[n].group is not Group.SOURCE
                                        and REGISTRY[n].differentiable))
def test_grad_fn_reads_only_what_it_saved(name):
    """The engine saves only the names a needed rule reads; a rule reading
    anything else would fail here with a KeyError."""
    inputs, attrs = CASES[name][0]
    tensors = _tensors(inputs)
    out = _apply(name, tensors, attrs)
    if out.requires_grad:
        out.sum().backward()
        for t in tensors:
            if t.requires_grad:
                assert t.grad is not None and t.grad.shape == t.shape
