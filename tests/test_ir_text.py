"""The IR text form is how tests state expectations and how people read the
compiler, so it must be lossless: `parse(print_graph(g)) == g` and
`print_graph(parse(text)) == text` for every registered primitive (a new
primitive without a case in tests/test_primitives.CASES fails here), for
awkward attribute values, shapes, notes and output names, and for random
graphs. Malformed text must raise IRParseError naming the line.

Helpers `case_graph`, `case_arrays` and `random_graphs` are shared with the
interpreter and pass tests."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import dtypes
from compiler.ir import Graph, IRParseError, SourceLoc, parse, print_graph, verify
from compiler.ops import REGISTRY, Aval
from tests.test_primitives import CASES

LOC = SourceLoc("model.py", 12, "forward")


def case_arrays(name, case, float32=False):
    """CASES[name][case] as (arrays, attrs); `float32` narrows float inputs."""
    inputs, attrs = CASES[name][case]
    arrays = [np.asarray(a) for a, _ in inputs]
    if float32:
        arrays = [a.astype(np.float32) if a.dtype == np.float64 else a for a in arrays]
    return arrays, dict(attrs)


def one_node_graph(name, arrays, attrs, loc=None):
    """A graph whose inputs are typed like `arrays` and whose one node is `name`."""
    g = Graph(f"one_{name}")
    inputs = [g.add_input(f"a{i}", Aval(a.shape, dtypes.from_numpy(a.dtype))) for i, a in enumerate(arrays)]
    g.set_outputs([g.add(name, inputs, attrs, loc)], ["result"])
    return g


def case_graph(name, case, loc=None, float32=False):
    return one_node_graph(name, *case_arrays(name, case, float32), loc=loc)


def assert_round_trips(g):
    """Both directions of the text round trip, and the parsed graph verifies."""
    text = print_graph(g)
    back = parse(text)
    assert back == g, f"parse(print_graph(g)) != g for\n{text}"
    assert print_graph(back) == text
    verify(back)
    return text, back


# ---- every primitive --------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("loc", [None, LOC], ids=["no-loc", "loc"])
def test_every_registered_primitive_round_trips(name, loc):
    assert name in CASES, f"primitive {name!r} has no case in tests/test_primitives.CASES"
    for case in range(len(CASES[name])):
        for float32 in (False, True):
            text, back = assert_round_trips(case_graph(name, case, loc, float32))
            assert f"= {name}(" in text
            assert back.nodes[0].loc == loc
            if loc is not None:
                assert "# model.py:12 in forward" in text


def test_round_trip_cases_cover_the_whole_registry():
    assert sorted(CASES) == sorted(REGISTRY)


def test_graph_equality_is_not_trivially_true():
    base = case_graph("sum", 0)
    assert base == case_graph("sum", 0)
    assert base != case_graph("sum", 0, loc=LOC)  # the location is part of the graph
    assert base != case_graph("sum", 0, float32=True)  # so are types
    arrays, attrs = case_arrays("sum", 0)
    assert base != one_node_graph("sum", arrays, {**attrs, "keepdim": True})
    assert base != one_node_graph("amax", arrays, attrs)


# ---- attribute values -------------------------------------------------------
def _full(value, dtype=dtypes.float32, shape=()):
    g = Graph("const")
    g.set_outputs([g.add("full", (), {"value": value, "shape": shape, "dtype": dtype})])
    return g


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, -0.0, 0.0, 0.1, 1e-300, 1.5e300, -2.5e-08,
                                   True, False, 1, 0, -7, 2**62, 1.0],
                         ids=repr)
def test_full_value_round_trips_with_its_exact_type_and_bits(value):
    text, back = assert_round_trips(_full(value))
    parsed = back.nodes[0].attrs["value"]
    assert type(parsed) is type(value)
    if isinstance(value, float):
        assert (math.isnan(parsed) and math.isnan(value)) or parsed == value
        assert math.copysign(1.0, parsed) == math.copysign(1.0, value)  # -0.0 keeps its sign


def test_true_one_and_one_point_zero_print_distinctly():
    # A dict keyed by these would merge them: True == 1 == 1.0 in Python.
    texts = [print_graph(_full(v)) for v in (True, 1, 1.0)]
    assert "value=true}" in texts[0] and "value=1}" in texts[1] and "value=1.0}" in texts[2]
    assert _full(True) != _full(1) and _full(1) != _full(1.0) and _full(1.0) != _full(True)
    assert [type(parse(t).nodes[0].attrs["value"]) for t in texts] == [bool, int, float]


def test_numpy_scalar_attributes_are_normalized_to_python_scalars():
    g = _full(np.float32(0.5))
    assert type(g.nodes[0].attrs["value"]) is float
    assert _full(np.bool_(True)) == _full(True) and _full(np.int64(3)) == _full(3)
    assert_round_trips(g)


def test_negative_zero_and_zero_attributes_make_different_graphs():
    # Regression: `==` once treated -0.0 as 0.0, so a printer losing the sign went unseen.
    assert _full(-0.0) != _full(0.0) and _full(-0.0) == _full(-0.0)


def test_nan_attributes_compare_equal_to_themselves():
    assert _full(math.nan) == _full(float("nan"))


@pytest.mark.parametrize("dtype", dtypes.ALL, ids=lambda d: d.short)
def test_dtype_attributes_and_types_round_trip(dtype):
    g = Graph("dtypes")
    x = g.add_input("x", Aval((2, 3), dtype))
    g.set_outputs([g.add("cast", (x,), {"dtype": dtype}), g.add("iota", (), {"length": 4, "dtype": dtype}),
                   g.add("full", (), {"value": 0, "shape": (0, 2), "dtype": dtype})])
    text, _ = assert_round_trips(g)
    assert f"dtype={dtype.short}" in text and f"%x: {dtype.short}[2,3]" in text


def test_nested_and_empty_tuples_round_trip():
    g = Graph("tuples")
    x = g.add_input("x", Aval((2, 3), dtypes.float32))
    s = g.add_input("s", Aval((), dtypes.float32))
    padded = g.add("pad", (x,), {"config": ((1, 2, 1), (0, 0, 0))})
    scalar_perm = g.add("permute", (s,), {"perm": ()})
    no_axes = g.add("sum", (x,), {"axes": (), "keepdim": True})
    to_scalar = g.add("reshape", (g.add("reshape", (s,), {"shape": (1, 1)}),), {"shape": ()})
    g.set_outputs([padded, scalar_perm, no_axes, to_scalar])
    text, back = assert_round_trips(g)
    assert "config=[[1, 2, 1], [0, 0, 0]]" in text and "perm=[]" in text and "shape=[]" in text
    assert back.nodes[0].attrs["config"] == ((1, 2, 1), (0, 0, 0))
    assert back.nodes[1].attrs["perm"] == ()


def test_zero_dim_and_size_zero_shapes_round_trip():
    g = Graph("shapes")
    s = g.add_input("s", Aval((), dtypes.float64))
    e = g.add_input("e", Aval((0, 3), dtypes.float32))
    g.set_outputs([g.add("exp", (s,)), g.add("sum", (e,), {"axes": (0,), "keepdim": False}),
                   g.add("concat", (e, e), {"axis": 0})])
    text, back = assert_round_trips(g)
    assert "%s: f64[]" in text and "%e: f32[0,3]" in text and ": f32[0,3] = concat(%e, %e)" in text
    assert back.inputs[0].shape == () and back.inputs[1].shape == (0, 3)


def test_graph_without_inputs_or_outputs_round_trips():
    g = Graph("empty")
    g.set_outputs([])
    assert_round_trips(g)
    g.add("iota", (), {"length": 0, "dtype": dtypes.int64})
    assert_round_trips(g)


def test_notes_print_as_comment_lines_and_parse_back():
    g = case_graph("add", 1)
    g.notes = ["recompiled: input a0 changed shape f64[3,1] -> f64[3,1]", "second note"]
    text = print_graph(g)
    assert text.startswith("// recompiled: input a0 changed shape f64[3,1] -> f64[3,1]\n// second note\ngraph ")
    back = parse(text)
    assert back.notes == g.notes and print_graph(back) == text and back == g


def test_output_names_and_repeated_outputs_round_trip():
    g = Graph("outs")
    x = g.add_input("x", Aval((2,), dtypes.float32))
    y = g.add("exp", (x,), loc=LOC)
    g.set_outputs([y, x, y], ["loss", "x_again", "loss.copy"])
    text, back = assert_round_trips(g)
    assert "return loss=%0, x_again=%x, loss.copy=%0" in text
    assert back.output_names == ["loss", "x_again", "loss.copy"] and back.outputs[0] is back.outputs[2]


def test_locations_with_odd_files_and_functions_round_trip():
    g = Graph("locs")
    x = g.add_input("x", Aval((2,), dtypes.float32))
    for loc in [SourceLoc("<stdin>", 1, "<module>"), SourceLoc("C:/dir with space/m.py", 99999, "Net.forward"),
                SourceLoc("a:b.py", 7, "<lambda>")]:
        x = g.add("neg", (x,), loc=loc)
    g.set_outputs([x])
    _, back = assert_round_trips(g)
    assert [n.loc.file for n in back.nodes] == ["<stdin>", "C:/dir with space/m.py", "a:b.py"]


def test_hand_written_text_with_other_spacing_parses():
    text = ("graph f( %x : f32[2, 3] ,%y: f32[3] ) {\n\n"
            "  %a: f32[2,3] = add(%x,%y)   # m.py:1 in f\n"
            "  %b: f32[2] = sum( %a ) {keepdim=false,axes=[ 1 ]}\n"
            "  return r=%b\n}\n")
    g = parse(text)
    assert g.nodes[1].attrs == {"axes": (1,), "keepdim": False} and g.nodes[0].loc == SourceLoc("m.py", 1, "f")
    assert_round_trips(g)


@pytest.mark.parametrize("name", ["x", "_x", "x.1", "layer0.weight", "X_2"])
def test_identifier_input_names_round_trip(name):
    # Names the verifier accepts must print as text the parser reads back
    # (names that could clash with %0, %1 ... are rejected: test_ir_verify).
    g = Graph("g")
    x = g.add_input(name, Aval((2,), dtypes.float32))
    g.set_outputs([g.add("neg", (x,))])
    verify(g)
    text, _ = assert_round_trips(g)
    assert f"neg(%{name})" in text


@pytest.mark.parametrize("name", ["g", "Net.forward", "<lambda>", "<lambda>_joint"])
def test_graph_names_python_gives_functions_round_trip(name):
    g = Graph(name)
    x = g.add_input("x", Aval((2,), dtypes.float32))
    g.set_outputs([g.add("neg", (x,))])
    text, back = assert_round_trips(g)
    assert text.startswith(f"graph {name}(") and back.name == name


# ---- random graphs ------------------------------------------------------------
UNARY = ["neg", "exp", "log", "sqrt", "sin", "tanh", "sigmoid", "abs", "relu", "floor", "sign", "logical_not",
         "erf"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "pow", "remainder", "eq", "lt", "ge", "logical_and"]
REDUCE = ["sum", "amax", "amin", "argmax", "argmin"]
INPUT_DTYPES = [dtypes.float32, dtypes.float64, dtypes.int64, dtypes.bool_]
MOVEMENT_KINDS = ["reshape", "permute", "expand", "matmul", "cast", "full", "constant operand", "constant operand"]
# Constants the simplifier treats specially (0, -0.0, 1), and some it must not.
FLOAT_VALUES = [0.0, -0.0, 1.0, 1, 0, True, 2.5, -1.5, math.nan, math.inf]
FULL_VALUES = {dtypes.bool_: [True, False], dtypes.int64: [0, 1, -1, 3], dtypes.float32: FLOAT_VALUES,
               dtypes.float64: FLOAT_VALUES}
locs = st.none() | st.builds(SourceLoc, st.sampled_from(["model.py", "lib/layers.py", "<stdin>"]),
                             st.integers(1, 999), st.sampled_from(["f", "<lambda>", "Net.forward"]))


def evaluable(op, avals):
    """False for inputs the shape rule accepts but running rejects, as
    PyTorch does (-bool, bool - bool), so random graphs can also be run."""
    bools = [a.dtype is dtypes.bool_ for a in avals]
    return not (op == "neg" and bools[0] or op == "sub" and all(bools))


def _broadcastable(draw, base):
    """A shape that broadcasts with every input of a random graph."""
    return tuple(d if draw(st.booleans()) else 1 for d in base)


def _reshape_targets(shape):
    size = math.prod(shape)
    return [(size,), shape[::-1], shape + (1,), (1,) + shape, shape] + ([()] if size == 1 else [])


def _full_attrs(draw, base, like=None):
    dtype = like if like is not None and draw(st.booleans()) else draw(st.sampled_from(INPUT_DTYPES))
    shape = draw(st.sampled_from([(), _broadcastable(draw, base)]))
    return {"value": draw(st.sampled_from(FULL_VALUES[dtype])), "shape": shape, "dtype": dtype}


def _movement_step(draw, g, values, base, kind):
    """(op, inputs, attrs) of one movement, matmul, cast or constant node, or
    of a binary op with a new constant operand (x * 1, 0.0 + x, ...)."""
    if kind == "full":
        return "full", (), _full_attrs(draw, base)
    x = draw(st.sampled_from(values))
    if kind == "constant operand":
        c = g.add("full", (), _full_attrs(draw, base, like=x.dtype), draw(locs))
        values.append(c)
        op = draw(st.sampled_from(["add", "sub", "mul", "div", "pow"] + BINARY))
        return op, ((c, x) if draw(st.booleans()) else (x, c)), {}
    if kind == "reshape":
        return "reshape", (x,), {"shape": draw(st.sampled_from(_reshape_targets(x.shape)))}
    if kind == "permute":
        return "permute", (x,), {"perm": tuple(draw(st.permutations(range(len(x.shape)))))}
    if kind == "expand":
        lead = tuple(draw(st.lists(st.integers(1, 3), max_size=1)))
        return "expand", (x,), {"shape": lead + tuple(draw(st.integers(1, 3)) if s == 1 else s for s in x.shape)}
    if kind == "cast":
        return "cast", (x,), {"dtype": draw(st.sampled_from(INPUT_DTYPES))}
    # matmul: with a compatible value, or with x's own transpose (added first).
    if len(x.shape) < 2 or not x.dtype.is_floating_point:
        return None
    partners = [y for y in values if len(y.shape) >= 2 and y.dtype is x.dtype and y.shape[-2] == x.shape[-1]]
    if not partners or draw(st.booleans()):
        perm = tuple(range(len(x.shape) - 2)) + (len(x.shape) - 1, len(x.shape) - 2)
        partners = [g.add("permute", (x,), {"perm": perm}, draw(locs))]
        values.append(partners[0])
    return "matmul", (x, draw(st.sampled_from(partners))), {}


@st.composite
def random_graphs(draw, max_nodes=10, movement=False):
    """Small well-typed graphs of elementwise and reduce ops over broadcastable
    inputs (sizes 0-3, ranks 0-3), with repeated nodes for CSE and unused
    nodes for DCE; every graph can be interpreted. `movement=True` adds
    reshapes, permutes, expands, casts, matmuls, `full` constants and binary
    ops with a constant operand (0, -0.0, 1, ...)."""
    base = draw(st.lists(st.integers(0, 3), max_size=3))
    g = Graph(draw(st.sampled_from(["f", "loss_fn", "main"])))
    values = [g.add_input(f"in{i}", Aval(_broadcastable(draw, base), draw(st.sampled_from(INPUT_DTYPES))))
              for i in range(draw(st.integers(1, 3)))]
    kinds = ["unary", "binary", "reduce", "repeat"] + (MOVEMENT_KINDS if movement else [])
    for _ in range(draw(st.integers(1, max_nodes))):
        kind = draw(st.sampled_from(kinds))
        if kind in MOVEMENT_KINDS:
            step = _movement_step(draw, g, values, base, kind)
            if step is None:
                continue
            op, inputs, attrs = step
        elif kind == "repeat":
            if not g.nodes:
                continue
            node = draw(st.sampled_from(g.nodes))
            op, inputs, attrs = node.op, node.inputs, dict(node.attrs)
        elif kind == "unary":
            op, inputs, attrs = draw(st.sampled_from(UNARY)), (draw(st.sampled_from(values)),), {}
        elif kind == "binary":
            op, attrs = draw(st.sampled_from(BINARY)), {}
            inputs = (draw(st.sampled_from(values)), draw(st.sampled_from(values)))
        else:
            op, x = draw(st.sampled_from(REDUCE)), draw(st.sampled_from(values))
            dims = range(max(len(x.shape), 1))  # a 0-d value reduces over axis 0 (or none)
            if op.startswith("arg"):
                axes = (draw(st.sampled_from(dims)),)
            else:
                axes = tuple(sorted(draw(st.sets(st.sampled_from(dims)))))
            inputs, attrs = (x,), {"axes": axes, "keepdim": draw(st.booleans())}
        if not evaluable(op, [v.aval for v in inputs]):
            continue
        try:
            REGISTRY[op].infer(*[v.aval for v in inputs], **attrs)
        except (TypeError, ValueError, RuntimeError, IndexError):
            continue
        values.append(g.add(op, inputs, attrs, draw(locs)))
    g.set_outputs(draw(st.lists(st.sampled_from(values), min_size=1, max_size=3)))
    return g


@settings(max_examples=50, deadline=None)
@given(random_graphs())
def test_random_graphs_round_trip(g):
    verify(g)
    assert_round_trips(g)


@settings(max_examples=25, deadline=None)
@given(random_graphs(movement=True))
def test_random_graphs_with_movement_and_constants_round_trip(g):
    verify(g)
    assert_round_trips(g)


# ---- parse errors ---------------------------------------------------------------
HEAD = "graph f(%x: f32[2], %y: f32[2]) {\n"
BAD = {
    "unknown op": (HEAD + "  %0: f32[2] = frobnicate(%x)\n  return out0=%0\n}\n", 2, "frobnicate"),
    "use before def": (HEAD + "  %0: f32[2] = add(%x, %1)\n  %1: f32[2] = neg(%x)\n  return out0=%1\n}\n",
                       2, "%1 is used before it is defined"),
    "undefined input": (HEAD + "  %0: f32[2] = add(%x, %z)\n  return out0=%0\n}\n", 2, "%z"),
    "duplicate definition": (HEAD + "  %0: f32[2] = neg(%x)\n  %0: f32[2] = exp(%x)\n  return out0=%0\n}\n",
                             3, "defined twice"),
    "redefined input": (HEAD + "  %x: f32[2] = neg(%y)\n  return out0=%x\n}\n", 2, "defined twice"),
    "bad node type": (HEAD + "  %0: q32[2] = neg(%x)\n  return out0=%0\n}\n", 2, "'q32'"),
    "bad input type": ("graph f(%x: q32[2]) {\n  return out0=%x\n}\n", 1, "'q32'"),
    "duplicate input": ("graph f(%x: f32[2], %x: f32[3]) {\n  return\n}\n", 1, "declared twice"),
    "bad input declaration": ("graph f(%x f32[2]) {\n  return\n}\n", 1, "bad input declaration"),
    "bad header": ("grph f(%x: f32[2]) {\n  return out0=%x\n}\n", 1, "expected 'graph NAME"),
    "header without brace": ("graph f(%x: f32[2])\n  return out0=%x\n}\n", 1, "expected 'graph NAME"),
    "node without type": (HEAD + "  %0 = neg(%x)\n  return out0=%0\n}\n", 2, "expected '%N: f32"),
    "unclosed attributes": (HEAD + "  %0: f32[2] = sum(%x) {axes=[0], keepdim=false\n  return\n}\n", 2,
                            "expected '%N"),
    "attribute list not closed": (HEAD + "  %0: f32[] = sum(%x) {axes=[0, keepdim=false}\n  return\n}\n",
                                  2, "'keepdim'"),
    "attribute without value": (HEAD + "  %0: f32[] = sum(%x) {axes}\n  return\n}\n", 2, "expected '='"),
    "attribute word": (HEAD + "  %0: f32[] = sum(%x) {axes=[0], keepdim=maybe}\n  return\n}\n", 2, "maybe"),
    "attribute parens": (HEAD + "  %0: f32[] = sum(%x) {axes=(0), keepdim=false}\n  return\n}\n", 2,
                         "cannot read attributes"),
    "return of undefined": (HEAD + "  %0: f32[2] = neg(%x)\n  return out0=%7\n}\n", 3, "%7"),
    "line numbers count notes and blanks": ("// note\n\n" + HEAD + "\n  %0: f32[2] = bogus(%x)\n}\n", 5, "bogus"),
    # Regressions: these three were once accepted silently or reported without a line.
    "missing closing brace": (HEAD + "  %0: f32[2] = neg(%x)\n  return out0=%0\n\n", 3, "without '}'"),
    "header input without percent": ("graph f(garbage) {\n  return\n}\n", 1, "bad input declaration 'garbage'"),
    "header junk after inputs": ("graph f(%x: f32[2] junk) {\n  return\n}\n", 1, "bad input declaration"),
    "text after closing brace": ("graph f(%x: f32[2]) {\n  return out0=%x\n}\n  %0: f32[2] = neg(%x)\n", 4,
                                 "after the graph's closing '}' (line 3)"),
}


@pytest.mark.parametrize("why", sorted(BAD))
def test_malformed_text_raises_parse_error_naming_the_line(why):
    text, line, fragment = BAD[why]
    with pytest.raises(IRParseError) as info:
        parse(text)
    message = str(info.value)
    assert message.startswith(f"line {line}:"), message
    assert fragment in message


def test_empty_text_is_a_parse_error():
    with pytest.raises(IRParseError, match="empty IR text"):
        parse("// only a note\n\n")


def test_parse_errors_are_value_errors():
    # Callers that catch ValueError (bad user input) also catch bad IR text.
    with pytest.raises(ValueError):
        parse("not ir")
