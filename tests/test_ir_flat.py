"""The flat form of a graph (compiler/ir/flat.py), which the stage cache
stores: `from_flat(to_flat(g)) == g` through `marshal` for every primitive,
awkward attribute values, fused kernels and random graphs; dtypes come back
as the compiler's singletons; what the form cannot hold raises TypeError
when written, and data of another shape raises when read instead of giving
a graph."""
import marshal
import math

import pytest
from hypothesis import given, settings

from compiler import dtypes
from compiler.ir import Graph, Node, SourceLoc, parse, print_graph, verify
from compiler.ir.flat import from_flat, to_flat
from compiler.ops import REGISTRY, Aval
from compiler.passes.pipeline import inference_stages
from tests.test_ir_text import _full, case_graph, random_graphs
from tests.test_primitives import CASES
from tests.test_stage_cache import TRACED

LOC = SourceLoc("model.py", 12, "forward")


def stored_and_read(graph: Graph) -> Graph:
    """`graph` through the flat form and marshal, as the stage cache stores it."""
    return from_flat(marshal.loads(marshal.dumps(to_flat(graph))))


def assert_reads_back(graph: Graph) -> Graph:
    back = stored_and_read(graph)
    assert back == graph
    assert print_graph(back, notes=False) == print_graph(graph, notes=False)  # locations and kernels included
    verify(back)
    assert_dtypes_are_singletons(back)
    return back


def assert_dtypes_are_singletons(graph: Graph):
    """The compiler compares dtypes with `is`: a copy of one would be another type."""
    for value in graph.inputs + [node.out for node in graph.nodes]:
        assert any(value.dtype is d for d in dtypes.ALL), value
    for node in graph.nodes:
        for attr in node.attrs.values():
            if isinstance(attr, Graph):
                assert_dtypes_are_singletons(attr)
            elif isinstance(attr, dtypes.DType):
                assert any(attr is d for d in dtypes.ALL), node


def fused_graph() -> Graph:
    graphs, _ = inference_stages(parse(TRACED), {})
    return graphs["fused"]


# ---- what reads back ----------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("loc", [None, LOC], ids=["no-loc", "loc"])
def test_every_registered_primitive_reads_back(name, loc):
    for case in range(len(CASES[name])):
        for float32 in (False, True):
            back = assert_reads_back(case_graph(name, case, loc, float32))
            assert back.nodes[0].loc == loc and back.nodes[0].op == name


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, -0.0, 0.0, 0.1, 1e-300, True, False, 1, 0, -7,
                                   2**62, 2**70, 1.0], ids=repr)
def test_attribute_values_keep_their_exact_type_and_bits(value):
    read = assert_reads_back(_full(value)).nodes[0].attrs["value"]
    assert type(read) is type(value)
    if isinstance(value, float):
        assert (math.isnan(read) and math.isnan(value)) or read == value
        assert math.copysign(1.0, read) == math.copysign(1.0, value)


@pytest.mark.parametrize("dtype", dtypes.ALL, ids=lambda d: d.short)
def test_dtypes_come_back_as_the_same_objects(dtype):
    g = Graph("dtypes")
    x = g.add_input("x", Aval((2, 3), dtype))
    g.set_outputs([g.add("cast", (x,), {"dtype": dtype}), g.add("iota", (), {"length": 4, "dtype": dtype})])
    back = assert_reads_back(g)
    assert back.inputs[0].dtype is dtype and back.nodes[0].attrs["dtype"] is dtype
    assert back.nodes[1].out.dtype is dtype


def test_nested_and_empty_tuples_read_back():
    g = Graph("tuples")
    x = g.add_input("x", Aval((2, 3), dtypes.float32))
    s = g.add_input("s", Aval((), dtypes.float32))
    g.set_outputs([g.add("pad", (x,), {"config": ((1, 2, 1), (0, 0, 0))}), g.add("permute", (s,), {"perm": ()}),
                   g.add("sum", (x,), {"axes": (), "keepdim": True})])
    back = assert_reads_back(g)
    assert back.nodes[0].attrs["config"] == ((1, 2, 1), (0, 0, 0)) and back.nodes[1].attrs["perm"] == ()


def test_names_outputs_and_locations_read_back():
    g = Graph("<lambda>_joint")
    x = g.add_input("layer0.weight", Aval((2,), dtypes.float32))
    y = x
    for loc in [SourceLoc("<stdin>", 1, "<module>"), SourceLoc("C:/dir with space/m.py", 99999, "Net.forward"),
                None]:
        y = g.add("neg", (y,), loc=loc)
    g.set_outputs([y, x, y], ["loss", "x_again", "loss.copy"])
    back = assert_reads_back(g)
    assert back.name == "<lambda>_joint" and back.inputs[0].name == "layer0.weight"
    assert back.output_names == ["loss", "x_again", "loss.copy"] and back.outputs[0] is back.outputs[2]
    assert [n.loc for n in back.nodes] == [n.loc for n in g.nodes]


def test_empty_graphs_read_back():
    g = Graph("empty")
    g.set_outputs([])
    assert_reads_back(g)


def test_fused_kernels_read_back_with_their_bodies():
    fused = fused_graph()
    kernels = [n for n in fused.nodes if n.op == "kernel"]
    assert kernels, "the fused stage of TRACED should hold kernels"
    back = assert_reads_back(fused)
    for old, new in zip(fused.nodes, back.nodes):
        if old.op == "kernel":
            assert new.attrs["body"] == old.attrs["body"] and new.attrs["body"].name == old.attrs["body"].name


def test_kernels_calling_one_body_share_it_as_in_the_text_form():
    fused = fused_graph()
    node = next(n for n in fused.nodes if n.op == "kernel")
    g = Graph("twice")
    args = [g.add_input(f"a{i}", v.aval) for i, v in enumerate(node.inputs)]
    g.set_outputs([g.add_kernel(node.attrs["body"], args), g.add_kernel(node.attrs["body"], args)])
    back = assert_reads_back(g)
    assert back.nodes[0].attrs["body"] is back.nodes[1].attrs["body"]


def test_notes_and_result_names_are_left_out():
    g = case_graph("add", 1)
    g.notes = ["variant 2: x.shape changed"]
    g.nodes[0].out.name = "print_time_name"
    back = stored_and_read(g)
    assert back == g and back.notes == [] and back.nodes[0].out.name is None


@settings(max_examples=50, deadline=None)
@given(random_graphs(movement=True))
def test_random_graphs_read_back(g):
    assert_reads_back(g)


def test_the_flat_form_is_plain_data_that_names_the_graph_alone():
    flat = to_flat(fused_graph())
    assert marshal.loads(marshal.dumps(flat)) == flat  # nothing marshal cannot write exactly
    assert repr(to_flat(fused_graph())) == repr(flat)  # deterministic: the stage cache hashes it
    other = parse(TRACED.replace("exp(%3)", "log(%3)"))
    assert repr(to_flat(other)) != repr(to_flat(parse(TRACED)))


@pytest.mark.parametrize("value", [1, 1.0, True, -0.0, 0.0], ids=repr)
def test_attributes_that_compare_equal_flatten_apart(value):
    others = [v for v in (1, 1.0, True, -0.0, 0.0) if v is not value and repr(v) != repr(value)]
    assert all(repr(to_flat(_full(value))) != repr(to_flat(_full(v))) for v in others)


# ---- what cannot be written ------------------------------------------------------
def _one_node(attrs, op="sum"):
    g = Graph("odd")
    x = g.add_input("x", Aval((2,), dtypes.float32))
    node = Node(op, (x,), attrs, None)
    g.set_outputs([g.append(node, Aval((), dtypes.float32))])
    return g


@pytest.mark.parametrize("attrs", [{"axes": "0"}, {"axes": [0]}, {"axes": None}, {"axes": (0, "x")},
                                   {"dtype": dtypes.DType("float32", "f32", "float32", dtypes.FLOAT)}],
                         ids=["str", "list", "None", "str-in-tuple", "foreign-dtype"])
def test_attributes_the_form_cannot_hold_raise_type_error(attrs):
    with pytest.raises(TypeError):
        to_flat(_one_node(attrs))


def test_a_foreign_dtype_in_a_type_raises_type_error():
    g = Graph("odd")
    g.add_input("x", Aval((2,), dtypes.DType("float32", "f32", "float32", dtypes.FLOAT)))
    with pytest.raises(TypeError):
        to_flat(g)


def test_an_operand_the_graph_does_not_define_raises_type_error():
    g = case_graph("add", 1)
    stranger = Graph("other").add_input("y", g.inputs[0].aval)
    g.nodes[0].inputs = (g.inputs[0], stranger)
    with pytest.raises(TypeError):
        to_flat(g)
    g = case_graph("add", 1)
    g.outputs = [stranger]
    with pytest.raises(TypeError):
        to_flat(g)


def test_a_kernel_node_with_other_attributes_raises_type_error():
    fused = fused_graph()
    node = next(n for n in fused.nodes if n.op == "kernel")
    node.attrs["extra"] = 1
    with pytest.raises(TypeError):
        to_flat(fused)


# ---- what cannot be read --------------------------------------------------------
def _two_nodes():
    g = Graph("two")
    x = g.add_input("x", Aval((2, 3), dtypes.float32))
    g.set_outputs([g.add("sum", (g.add("neg", (x,), loc=LOC),), {"axes": (1,), "keepdim": False}, LOC)])
    return g


GOOD = to_flat(_two_nodes())


def _replace_node(field, value):
    """GOOD with one field of its second node (sum(neg(x))) replaced."""
    name, inputs, nodes, outputs, output_names, bodies = GOOD
    node = list(nodes[1])
    node[field] = value
    return name, inputs, (nodes[0], tuple(node)), outputs, output_names, bodies


def _fused_flat_with_kernel(change):
    """The fused stage's flat form, with `change` applied to its first kernel node."""
    name, inputs, nodes, outputs, output_names, bodies = to_flat(fused_graph())
    first = next(i for i, n in enumerate(nodes) if n[0] == "kernel")
    nodes = nodes[:first] + (change(nodes[first]),) + nodes[first + 1:]
    return name, inputs, nodes, outputs, output_names, bodies


def _kernel_with_operands(change):
    return _fused_flat_with_kernel(lambda node: (node[0], change(node[1])) + node[2:])


def _kernel_with_body(position):
    return _fused_flat_with_kernel(lambda node: node[:2] + (position,) + node[3:])


BAD = {
    "not a tuple": 7,
    "too short": GOOD[:5],
    "too long": GOOD + ((),),
    "dict": {"name": "g"},
    "name not a string": (7,) + GOOD[1:],
    "unknown primitive": _replace_node(0, "no_such_op"),
    "negative operand": _replace_node(1, (-1,)),
    "operand not defined yet": _replace_node(1, (2,)),
    "operand of the wrong type": _replace_node(1, ("0",)),
    "list attribute": _replace_node(2, (("axes", [0]),)),
    "None attribute": _replace_node(2, (("axes", None),)),
    "unknown dtype attribute": _replace_node(2, (("dtype", "f16"),)),
    "unknown dtype": _replace_node(3, "f16"),
    "shape of floats": _replace_node(4, (2.0,)),
    "shape as a list": _replace_node(4, [2]),
    "bad location": _replace_node(5, ("m.py", "12", "f")),
    "short location": _replace_node(5, ("m.py", 12)),
    "kernel without a body position": _replace_node(0, "kernel"),
    "output out of range": GOOD[:3] + ((3,),) + GOOD[4:],
    "kernel of another arity": _kernel_with_operands(lambda operands: operands[1:]),
    "kernel body out of range": _kernel_with_body(1),
    "more output names than outputs": GOOD[:4] + (("a", "b"),) + GOOD[5:],
}


@pytest.mark.parametrize("data", list(BAD.values()), ids=list(BAD))
def test_data_of_another_shape_raises_instead_of_reading(data):
    from_flat(GOOD)  # the unchanged form reads
    with pytest.raises((ValueError, TypeError, KeyError, IndexError)):
        from_flat(data)
