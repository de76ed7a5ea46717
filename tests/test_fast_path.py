"""The per-call fast path of a compiled function (frontend/jit/fast_path.py).

Repeated calls that fit the last variant run its generated fast path; a
call whose guards changed (shape, dtype, requires_grad, grad mode, keywords,
a Python scalar, a tensor reached through the closure) must leave it and
recompile, and every output must be a fresh tensor whose memory no later
call writes. Which path a call took is seen by counting the calls that
reach the general path (`CompiledFunction._call`).
"""
import collections

import numpy as np
import pytest

import frontend as torch
from frontend.jit.check import CHECKED_CALLS
from frontend.tensor import Tensor


def count_general_calls(f):
    """Wrap `f`'s general path; returns the list each general call appends to."""
    calls, general = [], f._call

    def counting(args, kwargs):
        calls.append(args)
        return general(args, kwargs)
    f._call = counting
    return calls


@pytest.mark.parametrize("backend", ["llvm", "interpreter"])
def test_repeated_calls_take_the_fast_path(backend):
    f = torch.compile(lambda x: x * 2 + 1, backend=backend)
    general = count_general_calls(f)
    x = torch.arange(10.0)
    for _ in range(5):
        np.testing.assert_array_equal(f(x).numpy(), np.arange(10) * 2 + 1)
    assert len(general) == 1 and f.trace_count == 1


def test_outputs_of_successive_calls_are_fresh_tensors_no_later_call_writes():
    f = torch.compile(lambda x: x * 2 + 1)
    x = torch.arange(10.0)
    first, second = f(x), f(x)
    assert first is not second and not np.shares_memory(first.numpy(), second.numpy())
    x.add_(1)  # an in-place write keeps the guard key: the next call reads the new values
    third = f(x)
    np.testing.assert_array_equal(first.numpy(), np.arange(10) * 2 + 1)
    np.testing.assert_array_equal(second.numpy(), np.arange(10) * 2 + 1)
    np.testing.assert_array_equal(third.numpy(), (np.arange(10) + 1) * 2 + 1)
    third.add_(1)  # outputs are ordinary writable tensors with their own version counters
    assert third._version == 1 and first._version == 0


def test_a_dropped_result_s_memory_serves_the_next_call_and_a_kept_one_s_never_does():
    f = torch.compile(lambda x: x * 2 + 1)
    x = torch.arange(10.0)
    f(x), f(x)
    address = f(x)._data.ctypes.data  # the result is dropped at once
    assert f(x)._data.ctypes.data == address  # its block is reused
    kept = f(x)
    view = kept[3:]  # a view of a result holds the block too
    del kept
    later = f(x + 1)
    assert not np.shares_memory(view.numpy(), later.numpy())
    np.testing.assert_array_equal(view.numpy(), np.arange(3, 10) * 2 + 1)


def test_outputs_are_what_eager_makes():
    f = torch.compile(lambda x: (x * 2).sum(0))
    x = torch.ones(3, 4)
    got, want = f(x), f.fn(x)
    assert type(got) is Tensor and got.dtype is want.dtype and got.shape == want.shape
    assert got.is_leaf and not got.requires_grad and got.grad_fn is None and got._base is None
    assert sorted(vars(got)) == sorted(vars(want))


def test_from_result_sets_the_fields_wrap_sets():
    data = np.ones(3, np.float32)
    fast, slow = Tensor._from_result(data, torch.float32), Tensor._wrap(data)
    assert vars(fast).keys() == vars(slow).keys()
    for name, value in vars(slow).items():
        if name in ("_version_counter", "_leaf_hooks"):  # fresh per tensor
            assert getattr(fast, name) is not value and type(getattr(fast, name)) is type(value)
        else:
            assert getattr(fast, name) is value, name
    assert fast._version == 0 and fast._leaf_hooks == {}


CHANGES = {
    "shape": lambda x, s: ((torch.ones(4),), {}),
    "dtype": lambda x, s: ((torch.ones(3, dtype=torch.float64),), {}),
    "requires_grad": lambda x, s: ((torch.ones(3, requires_grad=True),), {}),
    "keyword": lambda x, s: ((x,), {"scale": 3.0}),
    "python scalar": lambda x, s: ((x, 4.0), {}),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_changed_guard_leaves_the_fast_path_and_recompiles(change):
    f = torch.compile(lambda x, scale=2.0: x * scale + 1)
    x = torch.ones(3)
    f(x)
    general = count_general_calls(f)
    args, kwargs = CHANGES[change](x, 2.0)
    got = f(*args, **kwargs)
    np.testing.assert_allclose(got.detach().numpy(), f.fn(*args, **kwargs).detach().numpy())
    assert len(general) == 1 and f.trace_count == 2


@pytest.mark.parametrize("view", [lambda t: t[3:], lambda t: t[::2], lambda t: torch.from_numpy(t.numpy()[::-2])],
                         ids=["offset", "strided", "negative-stride"])
def test_views_with_the_same_metadata_take_the_fast_path_and_are_read_right(view):
    f = torch.compile(lambda x: x * 2 + 1)
    f(torch.zeros(3))
    general = count_general_calls(f)
    x = view(torch.arange(6.0))
    np.testing.assert_array_equal(f(x).numpy(), x.numpy() * 2 + 1)
    assert len(general) == 0 and f.trace_count == 1


def test_grad_mode_is_a_guard_of_the_fast_path():
    f = torch.compile(lambda x: x * 2)
    w = torch.ones(3, requires_grad=True)
    with torch.no_grad():
        f(w)
        f(w)
        general = count_general_calls(f)
        assert not f(w).requires_grad
    assert f(w).requires_grad  # grad mode on: another variant, with a compiled backward
    assert len(general) == 1 and f.trace_count == 2


def test_closure_tensors_are_read_on_the_fast_path_and_a_new_shape_recompiles():
    w = torch.ones(3)
    f = torch.compile(lambda x: x * w)
    x = torch.full((3,), 2.0)
    f(x)
    general = count_general_calls(f)
    w.mul_(5)  # same key: the new values are read
    np.testing.assert_array_equal(f(x).numpy(), [10.0] * 3)
    assert len(general) == 0
    w = torch.ones(1)  # rebinding the closure's variable: its shape is a guard
    np.testing.assert_array_equal(f(x).numpy(), [2.0] * 3)
    assert len(general) == 1 and f.trace_count == 2


def leaves(result) -> list:
    if isinstance(result, dict):
        return [k for k in result] + [v for item in result.values() for v in leaves(item)]
    if isinstance(result, (list, tuple)):
        return [v for item in result for v in leaves(item)]
    return [result]


Pair = collections.namedtuple("Pair", "a b")
RESULTS = {
    "tuple": lambda x: (x + 1, x * 2),
    "one-tuple": lambda x: (x + 1,),
    "list": lambda x: [x + 1, 3],
    "dict": lambda x: {"y": x + 1, 2: [x * 2, "s"]},
    "namedtuple": lambda x: Pair(x + 1, x - 1),
    "None": lambda x: None,
    "input": lambda x: (x, x + 1),
    "a float": lambda x: (x.sum(), 0.5),
}


@pytest.mark.parametrize("name", list(RESULTS))
def test_results_keep_fns_structure_on_the_fast_path(name):
    f = torch.compile(RESULTS[name])
    x = torch.arange(3.0)
    want = RESULTS[name](x)
    for _ in range(3):  # the first call traces, the next ones take the fast path
        got = f(x)
        assert type(got) is type(want)
        flat_got, flat_want = leaves(got), leaves(want)
        assert [type(v) for v in flat_got] == [type(v) for v in flat_want]
        for g, w in zip(flat_got, flat_want):
            if isinstance(w, Tensor):
                np.testing.assert_array_equal(g.numpy(), w.numpy())
            else:
                assert g == w
    if name == "input":
        assert got[0] is x


def test_the_same_tensor_returned_twice_is_one_tensor_on_the_fast_path():
    def f(x):
        y = x + 1
        return y, y
    compiled = torch.compile(f)
    x = torch.ones(2)
    compiled(x)
    a, b = compiled(x)
    assert a is b


def test_check_mode_checks_its_calls_before_the_fast_path_is_taken():
    f = torch.compile(lambda x: x + 1, check=True)
    general = count_general_calls(f)
    x = torch.ones(2)
    for _ in range(CHECKED_CALLS + 3):
        f(x)
    assert len(general) == CHECKED_CALLS + 1  # the checked calls, then one that sets the fast path
