"""Hostile input to compiled functions (issue 7, item 2): the cases of
test_hostile_input.py where `torch.compile` (the LLVM backend) runs them.

A new shape or dtype is not an error in a compiled function but a new guard
key (a recompile). The errors are the eager ones, raised while tracing (with
the user's file:line added) or, for values the graph reads, by the graph
before it reads through a bad index; none leaves a half-written tensor, a
compiled variant or a tracer behind. Helpers come from test_hostile_input.py.
"""
import os
import re

import numpy as np
import pytest

import frontend as torch
from tests.test_hostile_input import Snapshot, fails, leaf, no_hang  # noqa: F401 (no_hang: a fixture)

F = torch.nn.functional
HERE = os.path.basename(__file__)


def where(fn) -> str:
    """The note a compiled function's error carries: this file and the line of `fn`."""
    return rf"while tracing \S+, at \S*{re.escape(HERE)}:{fn.__code__.co_firstlineno} in "


def fails_compiled(exc_type, fn, args, *fragments):
    """`torch.compile(fn)(*args)` raises as eager `fn(*args)` does (type and
    message) plus a note naming `fn`'s line; `args` are left untouched and
    nothing is compiled."""
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    eager = fails(exc_type, lambda: fn(*args), *fragments, untouched=tensors)
    f = torch.compile(fn)
    error = fails(exc_type, lambda: f(*args), *fragments, untouched=tensors)
    assert str(error) == str(eager)
    notes = "\n".join(getattr(error, "__notes__", []))
    assert re.search(where(fn), notes), notes
    assert not f.cache, "a failed trace left a compiled variant"
    return error


# ---- errors inside the function: eager's, naming the user's line --------------------------------
INSIDE = [  # each function on one line: its first line is the failing one
    ("add-broadcast", lambda x, w: x + w, RuntimeError, r"size of tensor a \(3\) must match .* \(4\)"),
    ("matmul-inner", lambda x, w: w @ x, RuntimeError, r"\(3x4 and 2x3\)"),
    ("reshape-numel", lambda x, w: x.reshape(4, 2), RuntimeError, r"shape '\[4, 2\]' is invalid .* size 6"),
    ("cat-sizes", lambda x, w: torch.cat([x, w]), RuntimeError, "Sizes of tensors must match"),
    ("expand", lambda x, w: x.expand(2, 5), RuntimeError, "expanded size"),
    ("int-index", lambda x, w: x[7], IndexError, "index 7 is out of bounds for dimension 0 with size 2"),
    ("dim", lambda x, w: x.sum(dim=3), IndexError, r"Dimension out of range .* got 3"),
    ("int-requires-grad", lambda x, w: x.long().requires_grad_(), RuntimeError, "only Tensors of floating point"),
    ("ce-batch", lambda x, w: F.cross_entropy(x, torch.tensor([0, 1, 2])), ValueError, "batch_size"),
    ("numpy-operand", lambda x, w: x + np.ones(3), TypeError, "'Tensor' and 'numpy.ndarray'"),
]


@pytest.mark.parametrize("fn, exc, fragment", [pytest.param(f, e, m, id=i) for i, f, e, m in INSIDE])
def test_error_inside_a_compiled_function_is_eagers_and_names_the_line(fn, exc, fragment):
    x, w = torch.randn(2, 3), leaf(3, 4)
    fails_compiled(exc, fn, (x, w), fragment)


def test_a_failed_trace_leaves_modules_and_optimizer_state_as_they_were():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        opt.step()
        return loss

    compiled = torch.compile(step)
    compiled(torch.ones(4, 3))  # the optimizer has state now
    params = list(model.parameters())
    state = {id(p): dict(opt.state[p]) for p in params}
    tensors = params + [p.grad for p in params] + [t for s in state.values() for t in s.values()]
    fails(RuntimeError, lambda: compiled(torch.ones(4, 5)), r"\(4x5 and 3x2\)", untouched=tensors)
    assert list(model.parameters()) == params and all(type(p) is torch.nn.Parameter for p in params)
    assert {id(p): dict(opt.state[p]) for p in params} == state  # the same tensors, no tracers
    compiled(torch.ones(4, 3))  # and the function still compiles and runs


def test_a_new_shape_or_dtype_is_a_recompile_not_an_error():
    f = torch.compile(lambda x: (x * 2).sum(-1))
    for x in (torch.ones(2, 3), torch.ones(5), torch.ones(2, 3, dtype=torch.float64), torch.tensor(3.0)):
        assert f(x).tolist() == f.fn(x).tolist() and f(x).dtype is x.dtype
    assert f.trace_count == 4


# ---- huge shapes inside: refused while tracing, before native code -------------------------------
HUGE = [
    ("zeros", lambda a, b: a + torch.zeros(2**40, 2**40), r"zeros: .*\[1099511627776, 1099511627776\]"),
    ("expand-sum", lambda a, b: a.expand(2**31, 2**31).sum(), r"expand: .*\[2147483648, 2147483648\].* overflows"),
    ("expand-sum-memory", lambda a, b: a.expand(2**30, 2**30).sum(), r"expand: .* more than this machine's memory"),
    ("reshape", lambda a, b: a.reshape(2**32, 2**32), r"shape '\[4294967296, 4294967296\]' is invalid"),
    ("matmul-batch", lambda a, b: a.expand(2**20, 1, 2, 3) @ b.expand(1, 2**20, 3, 2),
     r"matmul: .*\[1048576, 1048576, 2, 2\] .* nothing was allocated"),
]


@pytest.mark.parametrize("fn, fragment", [pytest.param(f, m, id=i) for i, f, m in HUGE])
def test_huge_shape_inside_a_compiled_function_is_refused_before_native_code(fn, fragment, no_hang):
    # expand-sum ran native code for 2**62 iterations (a hang); matmul-batch was a MemoryError from NumPy
    fails_compiled(RuntimeError, fn, (leaf(1, 1), torch.ones(1, 1, 3, 2)), fragment)


# ---- out-of-range indices: checked by the graph before it reads or writes through them ----------
def fails_when_run(exc_type, fn, good, bad, fragment, backend="llvm"):
    """Eager `fn(*bad)` raises; so does the compiled `fn` on its first call
    and on a call of an already compiled variant (same shapes as `good`),
    with the tensors of `bad` untouched."""
    eager = fails(exc_type, lambda: fn(*bad), fragment, untouched=bad)
    f = torch.compile(fn, backend=backend)
    fails(exc_type, lambda: f(*bad), fragment, untouched=bad)
    f(*good)
    fails(exc_type, lambda: f(*bad), fragment, untouched=bad)
    assert f.trace_count == 1
    return eager


def index(*values):
    return torch.tensor(values)


BAD_INDICES = [  # (fn, good index args, bad index args, message); x is 3x4
    ("past-the-end", lambda x, i: x[i] * 2, (index(0, 2),), (index(0, 3),), "index 3 .* dimension 0 with size 3"),
    ("negative-past-the-start", lambda x, i: x[i] * 2, (index(-3),), (index(-4),),
     "index -4 .* dimension 0 with size 3"),  # compiled read x[2]
    ("second-of-two-dims", lambda x, i, j: x[i, j] * 2, (index(0), index(3)), (index(0), index(5)),
     "index 5 .* dimension 1 with size 4"),  # compiled read x[1, 1]: the flattened index 5 was in range
    ("negative-second-dim", lambda x, j: x[:, j] * 2, (index([1, -4]),), (index([1, -5]),),
     "index -5 .* dimension 1 with size 4"),
    ("int32", lambda x, i: x[i] * 2, (torch.tensor([2], dtype=torch.int32),),
     (torch.tensor([-4], dtype=torch.int32),), "index -4 .* dimension 0 with size 3"),
]


@pytest.mark.parametrize("backend", ["llvm", "interpreter"])
@pytest.mark.parametrize("fn, good, bad, fragment", [pytest.param(*c[1:], id=c[0]) for c in BAD_INDICES])
def test_out_of_range_index_is_eagers_index_error(fn, good, bad, fragment, backend):
    x = leaf(3, 4)
    fails_when_run(IndexError, fn, (x,) + good, (x,) + bad, fragment, backend)


def test_out_of_range_item_assignment_writes_nothing():
    def put(x, i, j):
        x[i, j] = -1.0
        return x.sum()

    x = torch.arange(12.0).reshape(3, 4)
    fails_when_run(IndexError, put, (x, index(0), index(3)), (x, index(0), index(5)),
                   "index 5 .* dimension 1 with size 4")  # compiled wrote x[1, 1]


@pytest.mark.parametrize("target, fragment", [((5, 0), "5 is out of bounds"), ((0, -1), "out of bounds")],
                         ids=["past-the-end", "negative"])
def test_out_of_range_class_target_stops_a_compiled_training_step(target, fragment):
    # compiled, a target past the end read another row's logit (or the last class for -1) and trained on it
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    x = torch.randn(2, 4)
    step(x, index(0, 1))  # every parameter has a .grad to keep
    params = list(model.parameters())
    compiled = torch.compile(step)
    compiled(x, index(2, 1))
    snapshot = Snapshot(x, *params)
    with pytest.raises(IndexError, match=fragment):
        compiled(x, index(*target))
    snapshot.assert_unchanged()


def test_in_range_negative_indices_still_count_from_the_end():
    x, y = leaf(3, 4), leaf(3, 4)
    with torch.no_grad():
        y.copy_(x)
    f = torch.compile(lambda x, i, j: (x[i, j] * x[:, j[:1]].sum()).sum())
    args = (index(-1, 0, -3), index(-4, 3, -1))
    f(x, *args).backward()
    f.fn(y, *args).backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-6)


# ---- NumPy arrays, lists and Python scalars as arguments ------------------------------------------
def test_numpy_array_argument_is_a_type_error_naming_the_argument():
    f = torch.compile(lambda x, y: x * y)
    x = leaf(3)
    fails(TypeError, lambda: f(x, np.ones(3)), "not NumPy arrays .*'y'", "from_numpy", untouched=[x])
    assert not f.cache


def test_numpy_array_keyword_argument_used_as_an_operand_is_eagers_type_error():
    fn = lambda x, scale: x * scale  # noqa: E731
    x = leaf(3)
    eager = fails(TypeError, lambda: fn(x, scale=np.ones(3)), "'Tensor' and 'numpy.ndarray'", untouched=[x])
    f = torch.compile(fn)
    error = fails(TypeError, lambda: f(x, scale=np.ones(3)), re.escape(str(eager)), untouched=[x])
    assert re.search(where(fn), "\n".join(error.__notes__))


def test_python_scalars_and_lists_are_guarded_constants():
    f = torch.compile(lambda x, s, values: x * s + torch.tensor(values))
    x = torch.ones(2)
    for s, values in ((2.0, [1.0, 2.0]), (3.0, [1.0, 2.0]), (3.0, [5.0, 6.0]), (3, [5.0, 6.0])):
        assert f(x, s, values).tolist() == f.fn(x, s, values).tolist()
    assert f.trace_count == 4


# ---- in-place writes to storage that refuses them ----------------------------------------------------
@pytest.mark.parametrize("make, fragment", [
    (lambda: np.broadcast_to(np.ones(1, np.float32), (3,)), "single memory location"),
    (lambda: (lambda a: (a.setflags(write=False), a)[1])(np.ones(3, np.float32)), "read-only"),
], ids=["broadcast", "read-only"])
def test_compiled_write_into_unwritable_storage_is_eagers_error_and_writes_nothing(make, fragment):
    # compiled used to write x, then fail on y with NumPy's ValueError: x was left half-updated
    def update(x, y):
        x.mul_(2)
        y.add_(1)

    x, y = torch.ones(3), torch.from_numpy(make())
    fails(RuntimeError, lambda: update(torch.ones(3), y), fragment, untouched=[y])
    f = torch.compile(update)
    f(torch.ones(3), torch.ones(3))
    fails(RuntimeError, lambda: f(x, y), fragment, untouched=[x, y])


# ---- odd layouts, zero-size and 0-d inputs ---------------------------------------------------------
@pytest.mark.parametrize("make", [lambda a: a[::-1], lambda a: a.reshape(2, 3).T, lambda a: a[::2]],
                         ids=["negative-stride", "transposed", "strided"])
def test_compiled_in_place_writes_through_odd_layouts_land_in_the_users_array(make):
    eager_base, base = np.arange(6, dtype=np.float32), np.arange(6, dtype=np.float32)
    fn = lambda x: x.mul_(2).add_(x.sum())  # noqa: E731
    fn(torch.from_numpy(make(eager_base)))
    x = torch.from_numpy(make(base))
    torch.compile(fn)(x)
    np.testing.assert_array_equal(base, eager_base)
    assert x._version == 2


@pytest.mark.parametrize("shape", [(0, 3), ()], ids=["zero-size", "0-d"])
def test_zero_size_and_0d_inputs_compile_forward_and_backward(shape):
    w, v = torch.ones(shape, requires_grad=True), torch.ones(shape, requires_grad=True)
    fn = lambda w: ((w * 3).exp() + w).sum()  # noqa: E731
    out = torch.compile(fn)(w)
    out.backward()
    fn(v).backward()
    assert out.item() == fn(v).item() and w.grad.shape == shape
    np.testing.assert_allclose(w.grad.numpy(), v.grad.numpy(), rtol=1e-6)


# ---- an input a compiled graph saved for backward, mutated before backward ---------------------------
SAVED_VERSION_ERROR = "modified by an inplace operation: .* is at version 1; expected version 0"


def loss(x, w):
    return ((x * w).tanh() ** 2).sum() + (w * w).sum()  # eager saves x and w


def mutate_x(x, w):
    x.add_(1)


def mutate_w(x, w):
    with torch.no_grad():
        w.mul_(2)


def mutate_x_compiled(x, w):
    torch.compile(lambda t: t.add_(1))(x)


def mutate_x_through_compiled_view(x, w):
    # the returned view shares x's storage: it used to have its own version counter, so this write
    # changed the saved x unseen and backward used the new values
    view = torch.compile(lambda t: t.view(3))(x)
    view.add_(1)


@pytest.mark.parametrize("mutate", [mutate_x, mutate_w, mutate_x_compiled, mutate_x_through_compiled_view],
                         ids=["input", "leaf-under-no_grad", "by-compiled-write", "through-compiled-view"])
def test_mutating_a_saved_input_makes_backward_raise_pytorchs_error(mutate):
    results = []
    for fn in (loss, torch.compile(loss)):
        x, w = torch.randn(3), torch.randn(3, requires_grad=True)
        out = fn(x, w)
        mutate(x, w)
        error = fails(RuntimeError, out.backward, SAVED_VERSION_ERROR, untouched=[x, w])
        assert w.grad is None
        results.append(str(error))
    assert results[0] == results[1]


def test_mutating_the_base_of_a_saved_view_input_makes_backward_raise():
    base, w = torch.randn(6), torch.randn(3, requires_grad=True)
    out = torch.compile(loss)(base[:3], w)  # a view: it shares base's version counter
    base[0] = 5.0
    fails(RuntimeError, out.backward, SAVED_VERSION_ERROR, untouched=[base, w])
