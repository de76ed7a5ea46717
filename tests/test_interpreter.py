"""The reference interpreter is the oracle for every pass and backend, so it
must agree with eager execution: for every registered primitive (a primitive
without cases fails here), in float32 and float64, with broadcasting, keepdim
both ways, and 0-d / size-0 shapes, a one-node graph interpreted gives the
bit-identical array the eager frontend's `Tensor._apply` gives (both run
`Primitive.evaluate`). Also multi-node graphs against the frontend's
composites, and the interpreter's input checks."""
import numpy as np
import pytest

import frontend as torch
from compiler import dtypes
from compiler.interpreter import interpret
from compiler.ir import parse, verify
from compiler.ops import REGISTRY, Group
from tests.test_ir_text import CASES, case_arrays, one_node_graph

rng = np.random.default_rng(1)
F32, F64, I64 = dtypes.float32, dtypes.float64, dtypes.int64


def f(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def i(*values, dtype=np.int64):
    return np.array(values, dtype)


def b(*shape):
    return rng.standard_normal(shape) > 0


def red(axes, keepdim=False):
    return {"axes": axes, "keepdim": keepdim}


# Cases beyond CASES: broadcasting, mixed dtypes, 0-d and size-0 shapes.
EXTRA = [
    ("exp", [f()], {}), ("sigmoid", [f(0, 3)], {}), ("log", [np.abs(f(2, 0))], {}), ("relu", [f()], {}),
    ("tanh", [f(3, dtype=np.float64)], {}), ("abs", [i(-2, 0, 3)], {}),
    ("floor", [i(4, -1, dtype=np.int32)], {}),
    ("sqrt", [i(4, 2)], {}), ("logical_not", [np.array(True)], {}), ("neg", [f(0)], {}),
    ("cast", [f(0, 2)], {"dtype": dtypes.bool_}), ("cast", [np.array(7)], {"dtype": F32}),
    ("cast", [f(3) * 10], {"dtype": dtypes.int32}),
    ("add", [f(2, 1, 3), f(4, 1)], {}), ("add", [b(2, 3), b(3)], {}), ("mul", [f(), f(2, 3)], {}),
    ("sub", [f(0, 3), f(3)], {}), ("div", [i(1, -7, 0), i(2, 2, 0)], {}),
    ("pow", [i(2, 1, -1, 3), i(-1, -2, -3, 2)], {}),
    ("maximum", [i(1, 5, dtype=np.int32), np.array(2.5)], {}), ("minimum", [f(0), f()], {}),
    ("remainder", [i(-7, 7, -7), i(3, -3, -3)], {}), ("eq", [f(2, 1), f(3)], {}), ("ge", [i(1, 2), f(2)], {}),
    ("logical_xor", [b(2, 1), b(1, 3)], {}), ("logical_or", [b(0, 1), b(4)], {}),
    ("where", [np.array(True), f(0, 3), f(3)], {}), ("where", [b(2, 1), i(1, 2, 3, dtype=np.int32), f()], {}),
    ("sum", [f(0, 3)], red((0,))), ("sum", [f(0, 3)], red((1,))), ("sum", [f()], red(())),
    ("sum", [i(1, 2, 3, dtype=np.int32)], red((0,))), ("sum", [b(2, 3)], red((0, 1))), ("sum", [f(2, 3)], red(())),
    ("amax", [f(0, 3)], red((1,))), ("amax", [f()], red(())), ("amin", [i(3, 1, 2)], red((0,))),
    ("argmax", [f()], red((0,))), ("argmin", [np.array(3)], red((0,))), ("argmin", [i(1, 0, 0, 1)], red((0,))),
    ("argmax", [f(2, 0)], red((0,))), ("sum", [f()], red((0,))), ("amax", [f()], red((0,))),
    ("amin", [np.array(4, np.int32)], red((0,))), ("erf", [f()], {}), ("erf", [np.array(-0.3)], {}),
    ("sign", [np.array([True, False])], {}), ("sign", [np.array(False)], {}), ("sign", [i(-3, 0, 5)], {}),
    ("reshape", [f(0, 3)], {"shape": (3, 0)}), ("reshape", [f()], {"shape": (1, 1, 1)}),
    ("permute", [f()], {"perm": ()}), ("permute", [f(0, 2, 1)], {"perm": (1, 2, 0)}),
    ("expand", [f()], {"shape": (2, 3)}), ("expand", [f(1, 0)], {"shape": (4, 1, 0)}),
    ("slice", [f(5)], {"starts": (4,), "stops": (1,), "steps": (1,)}),
    ("slice", [f()], {"starts": (), "stops": (), "steps": ()}),
    ("pad", [f(0, 2)], {"config": ((1, 1, 2), (0, 2, 1))}), ("pad", [f()], {"config": ()}),
    ("concat", [f(0, 3), f(2, 3)], {"axis": 0}), ("concat", [f(2, 0), f(2, 1)], {"axis": 1}),
    ("matmul", [f(2, 0), f(0, 3)], {}), ("matmul", [f(0, 2, 3), f(3, 4)], {}),
    ("matmul", [i(1, 2, 3, 4).reshape(2, 2)] * 2, {}),
    ("gather", [f(5, 3), i()[:0]], {"axis": 0}), ("gather", [f(5, 3), np.array(-1)], {"axis": 0}),
    ("gather", [f(2, 4), i(0, 3, -4, dtype=np.int32)], {"axis": 1}),
    ("scatter_add", [f(5, 3), i(1, 1, -1), f(3, 3)], {"axis": 0}),
    ("scatter_add", [f(2, 3), i()[:0], f(2, 0)], {"axis": 1}),
    ("full", [], {"value": True, "shape": (0,), "dtype": dtypes.bool_}),
    ("full", [], {"value": float("nan"), "shape": (), "dtype": F32}),
    ("full", [], {"value": -0.0, "shape": (2,), "dtype": F32}),
    ("full", [], {"value": 3, "shape": (1, 2), "dtype": I64}),
    ("iota", [], {"length": 0, "dtype": F32}), ("iota", [], {"length": 3, "dtype": F64}),
]


def _all_cases():
    for name in sorted(CASES):
        for k in range(len(CASES[name])):
            arrays, attrs = case_arrays(name, k)
            yield f"{name}-{k}", name, arrays, attrs
            if any(a.dtype == np.float64 for a in arrays):
                yield f"{name}-{k}-f32", name, *case_arrays(name, k, float32=True)
    for k, (name, arrays, attrs) in enumerate(EXTRA):
        yield f"{name}-extra{k}", name, arrays, attrs


def _with_keepdim_flipped(cases):
    for case_id, name, arrays, attrs in cases:
        yield pytest.param(name, arrays, attrs, id=case_id)
        if "keepdim" in attrs:
            flipped = {**attrs, "keepdim": not attrs["keepdim"]}
            yield pytest.param(name, arrays, flipped, id=f"{case_id}-keepdim={flipped['keepdim']}")


ALL = list(_with_keepdim_flipped(_all_cases()))


def eager(name, arrays, attrs):
    tensors = [torch.tensor(a) for a in arrays]
    anchor = tensors[0] if tensors else torch.zeros(())
    return anchor._apply(name, *tensors, **attrs).numpy()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_primitive_has_interpreter_cases(name):
    assert name in CASES, f"primitive {name!r} has no case in tests/test_primitives.CASES"
    assert any(p.values[0] == name for p in ALL)


def test_cases_cover_float32_float64_and_both_keepdims():
    for group in (Group.UNARY, Group.BINARY, Group.REDUCE, Group.MATMUL, Group.MOVEMENT):
        names = {n for n, p in REGISTRY.items() if p.group is group}
        for np_dtype in (np.float32, np.float64):
            assert any(p.values[0] in names and any(a.dtype == np_dtype for a in p.values[1]) for p in ALL), \
                (group, np_dtype)
    keepdims = {(p.values[0], p.values[2]["keepdim"]) for p in ALL if "keepdim" in p.values[2]}
    assert keepdims == {(n, k) for n, p in REGISTRY.items() if p.group is Group.REDUCE for k in (True, False)}


@pytest.mark.parametrize("name, arrays, attrs", ALL)
def test_interpreter_matches_eager_bit_for_bit(name, arrays, attrs):
    g = verify(one_node_graph(name, arrays, attrs))
    before = [a.copy() for a in arrays]
    (result,) = interpret(g, arrays)
    expected = eager(name, arrays, attrs)
    out = g.outputs[0]
    assert result.shape == out.shape and result.dtype == out.dtype.np  # exactly the declared type
    np.testing.assert_array_equal(result, expected, strict=True)
    assert np.ascontiguousarray(result).tobytes() == np.ascontiguousarray(expected).tobytes()  # -0.0, NaN bits
    for a, original in zip(arrays, before):  # inputs are never written (scatter_add copies)
        np.testing.assert_array_equal(a, original, strict=True)


# ---- regressions: bugs these cases found, now fixed ------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_of_a_0d_value_and_gelu_of_a_0d_tensor(dtype):
    # np.frompyfunc returns a Python float for 0-d input; erf once called .astype on it.
    (result,) = interpret(one_node_graph("erf", [np.array(0.5, dtype)], {}), [np.array(0.5, dtype)])
    assert result.shape == () and result.dtype == dtype and abs(float(result) - 0.5204998778130465) < 1e-7
    assert torch.nn.functional.gelu(torch.tensor(np.array(0.5, dtype))).shape == ()


@pytest.mark.parametrize("name", ["sum", "amax", "amin", "argmax", "argmin"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reduce_over_axis_0_of_a_0d_value(name, keepdim):
    # The shape rule accepts axis 0 of a 0-d value (as PyTorch does); NumPy once raised AxisError.
    x = np.array(2.5, np.float32)
    (result,) = interpret(verify(one_node_graph(name, [x], red((0,), keepdim))), [x])
    assert result.shape == () and result == (0 if name.startswith("arg") else 2.5)


def test_sign_of_bool_is_the_identity():
    # np.sign has no bool loop; PyTorch's sign of a bool tensor is the tensor.
    x = np.array([True, False])
    (result,) = interpret(one_node_graph("sign", [x], {}), [x])
    np.testing.assert_array_equal(result, x, strict=True)


# ---- multi-node graphs vs the frontend's composites --------------------------------------------
SOFTMAX = """\
graph softmax(%x: {t}[4,5]) {{
  %0: {t}[4,1] = amax(%x) {{axes=[1], keepdim=true}}
  %1: {t}[4,5] = sub(%x, %0)
  %2: {t}[4,5] = exp(%1)
  %3: {t}[4,1] = sum(%2) {{axes=[1], keepdim=true}}
  %4: {t}[4,5] = div(%2, %3)
  %5: {t}[4,1] = log(%3)
  %6: {t}[4,5] = sub(%1, %5)
  return softmax=%4, log_softmax=%6
}}
"""


@pytest.mark.parametrize("np_dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-14)])
def test_softmax_graph_matches_frontend_softmax(np_dtype, rtol):
    g = verify(parse(SOFTMAX.format(t=dtypes.from_numpy(np_dtype).short)))
    x = (rng.standard_normal((4, 5)) * 10).astype(np_dtype)
    soft, log_soft = interpret(g, [x])
    t = torch.tensor(x)
    np.testing.assert_allclose(soft, torch.nn.functional.softmax(t, dim=1).numpy(), rtol=rtol, atol=0)
    np.testing.assert_allclose(log_soft, torch.nn.functional.log_softmax(t, dim=1).numpy(), rtol=rtol, atol=rtol)
    assert soft.dtype == log_soft.dtype == np_dtype


def test_linear_layer_graph_matches_frontend_ops():
    g = verify(parse("""\
graph layer(%x: f32[8,3], %w: f32[3,4], %b: f32[4]) {
  %0: f32[8,4] = matmul(%x, %w)
  %1: f32[8,4] = add(%0, %b)
  %2: f32[8,4] = relu(%1)
  %3: f32[] = sum(%2) {axes=[0, 1], keepdim=false}
  return h=%2, total=%3
}
"""))
    x, w, bias = f(8, 3), f(3, 4), f(4)
    h, total = interpret(g, [x, w, bias])
    ref = (torch.tensor(x) @ torch.tensor(w) + torch.tensor(bias)).relu()
    np.testing.assert_array_equal(h, ref.numpy(), strict=True)
    np.testing.assert_allclose(total, ref.sum().numpy(), rtol=1e-6)


def test_outputs_may_repeat_and_may_be_inputs():
    g = parse("graph g(%x: f32[2]) {\n  %0: f32[2] = neg(%x)\n  return a=%0, b=%x, c=%0\n}\n")
    x = f(2)
    a, same_x, c = interpret(g, [x])
    np.testing.assert_array_equal(a, -x)
    np.testing.assert_array_equal(c, -x)
    assert same_x is x


# ---- input checks -------------------------------------------------------------------------
TWO_INPUTS = "graph g(%x: f32[2,3], %idx: i64[4]) {\n  %0: f32[4,3] = gather(%x, %idx) {axis=0}\n  return out0=%0\n}\n"


def test_wrong_number_of_inputs_is_a_value_error():
    g = parse(TWO_INPUTS)
    with pytest.raises(ValueError, match="graph g takes 2 inputs, got 1"):
        interpret(g, [f(2, 3)])
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        interpret(g, [f(2, 3), i(0, 1, 0, 1), f(1)])


@pytest.mark.parametrize("arrays, message", [
    ([f(3, 2), i(0, 1, 0, 1)], r"input %x expects f32\[2,3\], got float32\[3, 2\]"),
    ([f(2, 3, dtype=np.float64), i(0, 1, 0, 1)], r"input %x expects f32\[2,3\], got float64\[2, 3\]"),
    ([f(2, 3), i(0, 1, 0, 1, dtype=np.int32)], r"input %idx expects i64\[4\], got int32\[4\]"),
    ([f(2, 3), i(0, 1, 0)], r"input %idx expects i64\[4\], got int64\[3\]"),
], ids=["shape", "dtype", "index-dtype", "index-shape"])
def test_wrong_input_shape_or_dtype_is_a_value_error_naming_the_input(arrays, message):
    with pytest.raises(ValueError, match=message):
        interpret(parse(TWO_INPUTS), arrays)


@pytest.mark.parametrize("bad", [[[1.0, 2.0, 3.0]] * 2, torch.zeros(2, 3), np.float32(1.0)],
                         ids=["list", "frontend-tensor", "numpy-scalar"])
def test_non_ndarray_input_is_a_type_error_naming_the_input(bad):
    with pytest.raises(TypeError, match=r"input %x must be a numpy.ndarray, got "):
        interpret(parse(TWO_INPUTS), [bad, i(0, 1, 0, 1)])


def test_out_of_range_index_raises_index_error_not_a_bad_read():
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 0 with size 2"):
        interpret(parse(TWO_INPUTS), [f(2, 3), i(0, 1, 2, 0)])
