"""Hostile input to eager ops and to the runtime (issue 7, item 2).

Each case gives a clear exception (its type and a message naming what was
wrong) and leaves the user's tensors untouched: values, version counters,
`.grad` and autograd state are snapshotted before the bad call and compared
after it. The same cases inside compiled functions are in
test_hostile_compiled.py; shape, dim and index errors of single ops are in
test_errors.py (which also runs against PyTorch), and not repeated here.

Huge shapes are refused before anything is allocated or looped over: past
int64 their sizes overflow, past this machine's memory NumPy would fail deep
inside (MemoryError) or a reduction over a broadcast view would run for
hours. A regression that hangs makes `no_hang` end the test run with a
traceback instead of blocking it.
"""
import faulthandler
import re

import numpy as np
import pytest

import frontend as torch
from compiler.backend import native
from compiler.ir import parse
from runtime.cache import DiskCache

F = torch.nn.functional


class Snapshot:
    """What a failed call must leave as it was: each tensor's values, version,
    identity of storage, requires_grad, grad_fn and `.grad` (values too)."""

    def __init__(self, *tensors):
        self.items = [(t, self._state(t)) for t in tensors]

    @staticmethod
    def _state(t):
        grad = t._grad
        return (np.array(t.detach().numpy(), copy=True), t.dtype, t._version, t.data_ptr(), t.requires_grad,
                t.grad_fn, None if grad is None else (grad, np.array(grad.numpy(), copy=True), grad._version))

    def assert_unchanged(self):
        for i, (t, before) in enumerate(self.items):
            now = self._state(t)
            values, dtype, version, ptr, requires_grad, grad_fn, grad = before
            assert now[1] is dtype and now[3] == ptr, f"tensor {i}: storage or dtype replaced"
            np.testing.assert_array_equal(now[0], values, err_msg=f"tensor {i}: values changed")
            assert now[2] == version, f"tensor {i}: version {version} -> {now[2]}"
            assert now[4] == requires_grad and now[5] is grad_fn, f"tensor {i}: autograd state changed"
            if grad is None:
                assert now[6] is None, f"tensor {i}: .grad appeared"
            else:
                assert now[6][0] is grad[0] and now[6][2] == grad[2], f"tensor {i}: .grad replaced or written"
                np.testing.assert_array_equal(now[6][1], grad[1], err_msg=f"tensor {i}: .grad values changed")


def fails(exc_type, fn, *fragments, untouched=()):
    """`fn()` raises `exc_type` whose message contains each fragment (a
    regex), and leaves the tensors `untouched` as they were."""
    snapshot = Snapshot(*untouched)
    with pytest.raises(exc_type) as info:
        fn()
    message = str(info.value)
    for fragment in fragments:
        assert re.search(fragment, message), f"{fragment!r} not in {message!r}"
    snapshot.assert_unchanged()
    return info.value


@pytest.fixture
def no_hang():
    """A hang here (a loop over 2**62 elements) ends the run with a traceback."""
    faulthandler.dump_traceback_later(120, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def leaf(*shape):
    w = torch.randn(*shape, requires_grad=True)
    (w * 2).sum().backward()  # a .grad to keep intact
    return w


# ---- huge shapes: refused before allocation, naming the size ------------------------------------
OVERFLOWING = [  # 2**80 or 2**64 bytes: past int64, sizes and loop counts would wrap
    ("zeros", lambda: torch.zeros(2**40, 2**40), "1099511627776, 1099511627776"),
    ("ones", lambda: torch.ones(2**31, 2**31), "2147483648, 2147483648"),
    ("empty", lambda: torch.empty(2**62), "4611686018427387904"),
    ("full", lambda: torch.full((2**40, 2**40), 1.5), "1099511627776, 1099511627776"),
    ("eye", lambda: torch.eye(2**32), "4294967296, 4294967296"),
    ("arange", lambda: torch.arange(0, 2**62), "4611686018427387904"),
    ("randn", lambda: torch.randn(2**40, 2**40), "1099511627776, 1099511627776"),
    ("randint", lambda: torch.randint(0, 5, (2**40, 2**40)), "1099511627776, 1099511627776"),
    ("Tensor", lambda: torch.FloatTensor(2**40, 2**40), "1099511627776, 1099511627776"),
    ("dim over int64", lambda: torch.zeros(0, 2**64), "0, 18446744073709551616"),
]


@pytest.mark.parametrize("make, shape", [pytest.param(m, s, id=i) for i, m, s in OVERFLOWING])
def test_creating_an_overflowing_tensor_is_refused_naming_its_size(make, shape, no_hang):
    fails(RuntimeError, make, re.escape(f"shape [{shape}]"), "overflows 64-bit")


def test_expand_past_int64_is_refused_before_a_reduction_loops_over_it(no_hang):
    x = leaf(1, 1)
    fails(RuntimeError, lambda: x.expand(2**31, 2**31).sum(), r"expand: .*\[2147483648, 2147483648\]",
          "18446744073709551616 bytes", "overflows", untouched=[x])


def test_expand_larger_than_memory_is_refused(no_hang):
    # 2**62 bytes fit int64, but summing this view would take years: refused at the expand
    x = torch.ones(1, 1)
    fails(RuntimeError, lambda: x.expand(2**30, 2**30).sum(), r"expand: .*\[1073741824, 1073741824\]",
          "4611686018427387904 bytes", "more than this machine's memory", untouched=[x])


def test_matmul_of_huge_broadcast_batch_dims_is_refused_not_memory_error(no_hang):
    a, b = torch.ones(2**20, 1, 2, 3), torch.ones(1, 2**20, 3, 2)
    fails(RuntimeError, lambda: a @ b, r"matmul: .*\[1048576, 1048576, 2, 2\]", "17592186044416 bytes",
          "nothing was allocated", untouched=[a, b])


def test_reshape_to_an_overflowing_size_names_both_sizes():
    x = torch.ones(4)
    fails(RuntimeError, lambda: x.reshape(2**32, 2**32), r"\[4294967296, 4294967296\]", "size 4",
          untouched=[x])
    fails(RuntimeError, lambda: x.view(-1, 2**63), "9223372036854775808", untouched=[x])


def test_large_but_possible_shapes_still_work():
    assert torch.ones(1).expand(2**14, 2**12).amax().item() == 1.0  # a 256 MiB view, never allocated
    assert torch.zeros(0, 2**40).shape == (0, 2**40)  # no bytes at all


# ---- NumPy arrays, lists and Python scalars where tensors are expected ---------------------------
ARRAY_OPERANDS = [
    ("add", lambda t, a: t + a, "add: 'Tensor' and 'numpy.ndarray'"),
    ("radd", lambda t, a: a + t, "add: 'numpy.ndarray' and 'Tensor'"),
    ("mul", lambda t, a: t * a, "mul"),
    ("rsub", lambda t, a: a - t, "sub: 'numpy.ndarray'"),
    ("pow", lambda t, a: t ** a, "pow"),
    ("eq", lambda t, a: t == a, "eq"),
    ("add_", lambda t, a: t.add_(a), "add"),
    ("mul_", lambda t, a: t.mul_(a), "mul"),
]


@pytest.mark.parametrize("op, fragment", [pytest.param(o, f, id=i) for i, o, f in ARRAY_OPERANDS])
def test_numpy_array_operand_is_a_type_error_not_a_numpy_result(op, fragment):
    # NumPy used to take over: `t + a` gave an ndarray (losing the graph), `t.add_(a)` an AttributeError
    t = torch.ones(2, 3)
    fails(TypeError, lambda: op(t, np.ones(3)), re.escape(fragment), "from_numpy", untouched=[t])


def test_numpy_array_operand_of_a_tensor_requiring_grad_names_the_array():
    w = leaf(3)
    fails(TypeError, lambda: w * np.ones(3), "numpy.ndarray", r"shape \[3\]", untouched=[w])


NON_TENSOR_ARGUMENTS = [
    ("relu-list", lambda t: F.relu([1.0, -1.0]), "relu\\(\\): argument 'input' .* not list"),
    ("softmax-array", lambda t: F.softmax(np.ones(3), dim=0), "softmax\\(\\): argument 'input' .* not ndarray"),
    ("linear-weight-array", lambda t: F.linear(t, np.ones((4, 3))), "linear\\(\\): argument 'weight'"),
    ("Linear-module-array", lambda t: torch.nn.Linear(3, 2)(np.ones((2, 3))), "linear\\(\\): argument 'input'"),
    ("mse_loss-input-array", lambda t: F.mse_loss(np.ones((2, 3)), t), "mse_loss\\(\\): argument 'input'"),
    ("cross_entropy-target-list", lambda t: F.cross_entropy(t, [0, 1]), "argument 'target' .* not list"),
    ("cross_entropy-weight-list", lambda t: F.cross_entropy(t, torch.tensor([0, 1]), weight=[1.0, 2.0, 3.0]),
     "argument 'weight'"),
    ("layer_norm-array", lambda t: F.layer_norm(np.ones((2, 3)), (3,)), "layer_norm\\(\\): argument 'input'"),
    ("stack-lists", lambda t: torch.stack([[1.0, 2.0], [3.0, 4.0]]), "element 0 .* got list"),
    ("stack-array", lambda t: torch.stack([t, np.ones((2, 3))]), "element 1 .* got ndarray"),
    ("cat-array", lambda t: torch.cat([t, np.ones((2, 3))]), "element 1 .* got ndarray"),
    ("exp-list", lambda t: torch.exp([1.0, 2.0]), "exp\\(\\): argument 'input' must be Tensor, not list"),
    ("mm-array", lambda t: torch.mm(t, np.ones((3, 2))), "ndarray"),
    ("copy_-array", lambda t: t.copy_(np.ones((2, 3))), "copy_\\(\\): argument 'src' must be Tensor"),
    ("where-array", lambda t: torch.where(t > 0, np.ones(3), t), "ndarray"),
]


@pytest.mark.parametrize("call, fragment", [pytest.param(c, f, id=i) for i, c, f in NON_TENSOR_ARGUMENTS])
def test_list_or_array_where_a_tensor_belongs_is_a_type_error(call, fragment):
    # these were AttributeErrors from inside ('list' object has no attribute 'relu')
    t = torch.ones(2, 3)
    fails(TypeError, lambda: call(t), fragment, untouched=[t])


# ---- scalars, unsupported dtypes, zero-size tensors -------------------------------------------------
def test_python_scalars_and_numpy_scalars_are_operands():
    t = torch.tensor([1.0, 2.0])
    assert (t * 2 + np.float32(0.5) - np.int64(1)).tolist() == [1.5, 3.5]
    assert (2 ** t).tolist() == [2.0, 4.0] and torch.tensor(3.0).item() == 3.0


@pytest.mark.parametrize("dtype", [np.float16, np.complex64, np.uint8, np.int16, object])
def test_numpy_array_of_an_unsupported_dtype_is_refused_naming_the_supported_ones(dtype):
    array = np.ones(3, dtype)
    fails(TypeError, lambda: torch.from_numpy(array), "can't convert np.ndarray", "float64, float32")
    fails(TypeError, lambda: torch.tensor(array), "can't convert np.ndarray")
    assert (array == 1).all()


def test_zero_size_tensors_reduce_and_differentiate():
    x = torch.ones(0, 3, requires_grad=True)
    assert x.sum(0).tolist() == [0.0, 0.0, 0.0] and (x @ torch.ones(3, 2)).shape == (0, 2)
    (x * 2).sum().backward()
    assert x.grad.shape == (0, 3)


def test_reduction_over_an_empty_dim_without_identity_is_an_index_error():
    x = torch.ones(0, 3)
    fails(IndexError, lambda: x.amax(0), "non-zero size", r"\[0, 3\]", untouched=[x])
    fails(IndexError, lambda: x.softmax(0), "non-zero size", untouched=[x])
    fails(RuntimeError, lambda: x.max(), "numel\\(\\) == 0", untouched=[x])


# ---- non-contiguous, negative-stride, broadcast and read-only arrays -------------------------------
@pytest.mark.parametrize("make", [lambda a: a[::-1], lambda a: a.reshape(2, 3).T, lambda a: a[::2]],
                         ids=["negative-stride", "transposed", "strided"])
def test_in_place_writes_through_odd_layouts_land_in_the_users_array(make):
    base = np.arange(6, dtype=np.float32)
    view = make(base)
    expected = base.copy()
    make(expected)[...] = make(expected) * 2 + 1
    x = torch.from_numpy(view)
    x.mul_(2).add_(1)
    np.testing.assert_array_equal(base, expected)
    assert x._version == 2


def test_writing_a_broadcast_array_is_refused_and_writes_nothing():
    array = np.broadcast_to(np.arange(3, dtype=np.float32), (2, 3))
    x = torch.from_numpy(array)
    fails(RuntimeError, lambda: x.add_(1), "more than one element .* single memory location", untouched=[x])
    fails(RuntimeError, lambda: x.__setitem__(0, 5.0), "single memory location", untouched=[x])


def test_writing_a_read_only_array_says_it_is_read_only():
    # the message used to claim overlapping memory
    array = np.arange(3, dtype=np.float32)
    array.setflags(write=False)
    x = torch.from_numpy(array)
    fails(RuntimeError, lambda: x.mul_(2), "read-only", "clone\\(\\)", untouched=[x])
    np.testing.assert_array_equal(array, [0, 1, 2])


# ---- the runtime fed wrong arrays ----------------------------------------------------------------
@pytest.fixture(scope="module")
def add_exe():
    graph = parse("""
graph g(%x: f32[2,3], %y: f32[2,3]) {
  %0: f32[2,3] = add(%x, %y)
  return %0
}""")
    return native.compile_graph(graph, DiskCache(enabled=False))


GOOD = np.arange(6, dtype=np.float32).reshape(2, 3)
WRONG_ARRAYS = [
    ("dtype", lambda: [GOOD, GOOD.astype(np.float64)], ValueError, r"input 1 expects float32\[2, 3\], got float64"),
    ("byte-order", lambda: [GOOD.astype(">f4"), GOOD], ValueError, r"input 0 expects float32\[2, 3\], got >f4"),
    ("rank", lambda: [GOOD.reshape(6), GOOD], ValueError, r"got float32\[6\]"),
    ("shape", lambda: [GOOD, GOOD.T], ValueError, r"input 1 expects float32\[2, 3\], got float32\[3, 2\]"),
    ("0-d", lambda: [np.ones((), np.float32), GOOD], ValueError, r"got float32\[\]"),
    ("numpy-scalar", lambda: [np.float32(1.0), GOOD], TypeError, "expects a NumPy array .* got float32"),
    ("zero-size", lambda: [np.ones((0, 3), np.float32), GOOD], ValueError, r"got float32\[0, 3\]"),
    ("list", lambda: [GOOD.tolist(), GOOD], TypeError, "input 0 expects a NumPy array .* got list"),
    ("python-scalar", lambda: [GOOD, 1.0], TypeError, "input 1 expects a NumPy array .* got float"),
    ("tensor", lambda: [torch.ones(2, 3), GOOD], TypeError, "got Tensor"),
    ("too-few", lambda: [GOOD], ValueError, "takes 2 inputs, got 1"),
    ("too-many", lambda: [GOOD, GOOD, GOOD], ValueError, "takes 2 inputs, got 3"),
]


@pytest.mark.parametrize("arrays, exc, fragment", [pytest.param(a, e, f, id=i) for i, a, e, f in WRONG_ARRAYS])
def test_executable_refuses_wrong_arrays_before_native_code_runs(add_exe, arrays, exc, fragment):
    args = arrays()
    before = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    with pytest.raises(exc, match=fragment):
        add_exe(args)
    for a, b in zip(args, before):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [
    lambda a: np.ascontiguousarray(a[:, ::-1])[:, ::-1],  # negative strides
    lambda a: np.asfortranarray(a),
    lambda a: np.broadcast_to(a[:1], a.shape),
    lambda a: (lambda r: (r.setflags(write=False), r)[1])(a.copy()),
], ids=["negative-stride", "fortran", "broadcast", "read-only"])
def test_executable_reads_odd_layouts_correctly_and_never_writes_inputs(add_exe, make):
    x = make(GOOD)
    before = np.array(x, copy=True)
    (out,) = add_exe([x, GOOD])
    np.testing.assert_array_equal(out, before + GOOD)
    np.testing.assert_array_equal(x, before)
