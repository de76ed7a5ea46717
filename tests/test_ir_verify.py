"""The verifier is what catches a pass or the parser producing a bad graph,
and its message is all a developer sees, so each kind of ill-formed graph is
built here and the error must show the offending node as IR text (with its
source location). Also checks the networkx and DOT views of a graph."""
import re

import networkx as nx
import pytest

from compiler import dtypes
from compiler.ir import Graph, SourceLoc, VerifyError, parse, to_dot, to_networkx, verify
from compiler.ops import REGISTRY, Aval
from tests.test_ir_text import CASES, case_graph

F2 = Aval((2,), dtypes.float32)
HEAD = "graph f(%x: f32[2], %y: f32[2]) {\n"


def ir(body, ret="out0=%0"):
    return parse(f"{HEAD}{body}\n  return {ret}\n}}\n")


def verify_error(graph) -> str:
    with pytest.raises(VerifyError) as info:
        verify(graph)
    return str(info.value)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_case_graph_verifies_and_is_returned_unchanged(name):
    for case in range(len(CASES[name])):
        g = case_graph(name, case)
        assert verify(g) is g


# ---- declared types ---------------------------------------------------------------
def test_wrong_declared_shape_names_the_node_and_both_types():
    message = verify_error(ir("  %0: f32[3] = add(%x, %y)"))
    assert "%0: f32[3] = add(%x, %y)" in message
    assert "declared f32[3] but add gives f32[2]" in message


def test_wrong_declared_dtype_is_caught():
    message = verify_error(ir("  %0: f64[2] = add(%x, %y)"))
    assert "%0: f64[2] = add(%x, %y)" in message and "gives f32[2]" in message


def test_error_shows_the_source_location():
    message = verify_error(ir("  %0: f32[2] = neg(%x)\n  %1: bool[2] = exp(%0)  # model.py:7 in forward",
                              "out0=%1"))
    assert "%1: bool[2] = exp(%0)" in message and "# model.py:7 in forward" in message


def test_shape_rule_rejecting_the_inputs_is_reported():
    g = parse("graph f(%x: f32[2], %y: f32[3]) {\n  %0: f32[2] = add(%x, %y)  # m.py:1 in f\n"
              "  return out0=%0\n}\n")
    message = verify_error(g)
    assert "add's shape rule rejects its inputs" in message and "add(%x, %y)" in message and "m.py:1 in f" in message


# ---- attributes and arity -----------------------------------------------------------
def test_unknown_attribute_is_caught():
    message = verify_error(ir("  %0: f32[2] = neg(%x) {keepdim=true}"))
    assert "neg takes attributes [], got ['keepdim']" in message and "neg(%x) {keepdim=true}" in message


def test_missing_attribute_is_caught():
    message = verify_error(ir("  %0: f32[] = sum(%x) {axes=[0]}"))
    assert "got ['axes']" in message and "['axes', 'keepdim']" in message and "sum(%x) {axes=[0]}" in message


@pytest.mark.parametrize("node, expected", [
    ("  %0: f32[2] = add(%x)", "add takes 2 inputs (x, y), got 1"),
    ("  %0: f32[2] = neg(%x, %y)", "neg takes 1 inputs (x), got 2"),
    ("  %0: f32[2] = iota(%x) {dtype=f32, length=2}", "iota takes 0 inputs (none), got 1"),
    ("  %0: f32[2] = concat() {axis=0}", "concat needs at least one input"),
])
def test_wrong_arity_is_caught(node, expected):
    message = verify_error(ir(node))
    assert expected in message and node.strip() in message


def test_unknown_primitive_set_after_construction_is_caught():
    g = Graph("f")
    x = g.add_input("x", F2)
    g.set_outputs([g.add("neg", (x,))])
    g.nodes[0].op = "frobnicate"
    message = verify_error(g)
    assert "unknown primitive 'frobnicate'" in message and "frobnicate(%x)" in message


@pytest.mark.parametrize("node", ["  %0: f32[2] = cast(%x) {dtype=1.0}",
                                  "  %0: f32[2] = full() {dtype=2, shape=[2], value=1.0}"], ids=["cast", "full"])
def test_number_where_a_dtype_belongs_is_a_verify_error(node):
    # Regression: this once escaped as AttributeError from formatting the type.
    message = verify_error(ir(node))
    assert "give no valid dtype" in message and node.strip() in message


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("axes", ["[0, 1]", "[]"])
def test_arg_reductions_need_exactly_one_axis(op, axes):
    # Regression: the shape rule once accepted these and the graph failed only when run.
    node = f"%0: i64[] = {op}(%x) {{axes={axes}, keepdim=false}}"
    message = verify_error(parse(f"graph f(%x: f32[2,3]) {{\n  {node}\n  return out0=%0\n}}\n"))
    assert f"{op}'s shape rule rejects its inputs" in message and "exactly one axis" in message and node in message


# ---- order and definitions ------------------------------------------------------------
def _chain(loc=None):
    g = Graph("chain")
    x = g.add_input("x", F2)
    a = g.add("neg", (x,), loc=loc)
    g.set_outputs([g.add("exp", (a,), loc=loc)])
    return g


def test_use_before_definition_is_caught():
    g = _chain(SourceLoc("model.py", 3, "forward"))
    g.nodes.reverse()  # exp now comes first and reads neg's result
    message = verify_error(g)
    assert "exp reads %1 before it is defined" in message
    assert "%0: f32[2] = exp(%1)" in message and "# model.py:3 in forward" in message


def test_value_defined_twice_is_caught():
    g = _chain()
    g.nodes.append(g.nodes[0])
    message = verify_error(g)
    assert "is defined twice" in message and "neg(%x)" in message


def test_duplicate_input_names_are_caught():
    g = Graph("dup")
    x, y = g.add_input("x", F2), g.add_input("x", F2)
    g.set_outputs([g.add("add", (x, y))])
    assert "input %x is declared twice" in verify_error(g)


@pytest.mark.parametrize("name", ["0", "12", "1x", "x y", "a-b", "", "%x"])
def test_input_names_the_text_form_cannot_express_are_caught(name):
    # An input named "0" would print as %0, the first node's name: text that no longer parses.
    g = Graph("g")
    g.set_outputs([g.add("neg", (g.add_input(name, F2),))])
    assert f"input name {name!r} is not an identifier" in verify_error(g)


def test_output_not_defined_in_the_graph_is_caught():
    other = _chain()
    g = _chain()
    g.set_outputs([g.outputs[0], other.outputs[0]], ["ok", "stray"])
    assert "output stray is %<undefined>, which no node defines" in verify_error(g)


def test_output_of_a_removed_node_is_caught():
    g = _chain()
    g.nodes.pop()
    assert "output out0" in verify_error(g)


def test_output_count_and_name_count_must_agree():
    g = _chain()
    g.output_names.append("extra")
    assert "1 outputs but 2 names" in verify_error(g)


# ---- networkx view ------------------------------------------------------------------------
def _diamond():
    loc = SourceLoc("net.py", 5, "forward")
    g = Graph("diamond")
    x, w = g.add_input("x", Aval((2, 3), dtypes.float32)), g.add_input("w", Aval((3, 4), dtypes.float32))
    h = g.add("matmul", (x, w), loc=loc)
    r = g.add("relu", (h,), loc=SourceLoc("net.py", 6, "forward"))
    s = g.add("sum", (r,), {"axes": (0, 1), "keepdim": False})
    g.add("exp", (h,))  # dead, still a vertex
    g.set_outputs([s, h], ["loss", "hidden"])
    return g


def test_networkx_has_one_vertex_per_value_and_an_edge_per_use():
    g = _diamond()
    view = to_networkx(g)
    assert set(view.nodes) == {"%x", "%w", "%0", "%1", "%2", "%3"}
    assert set(view.edges) == {("%x", "%0"), ("%w", "%0"), ("%0", "%1"), ("%1", "%2"), ("%0", "%3")}
    assert view.edges["%x", "%0"]["operand"] == 0 and view.edges["%w", "%0"]["operand"] == 1
    assert view.graph["name"] == "diamond"
    assert nx.is_directed_acyclic_graph(view)
    assert list(nx.topological_sort(view))[-1] in {"%2", "%3"}


def test_networkx_vertex_attributes():
    g = _diamond()
    view = to_networkx(g)
    x, mm, loss = view.nodes["%x"], view.nodes["%0"], view.nodes["%2"]
    assert (x["op"], x["aval"], x["loc"], x["node"], x["output"]) == ("input", g.inputs[0].aval, None, None, None)
    assert mm["op"] == "matmul" and mm["aval"] == Aval((2, 4), dtypes.float32) and mm["node"] is g.nodes[0]
    assert mm["loc"] == SourceLoc("net.py", 5, "forward") and mm["output"] == "hidden"
    assert loss["output"] == "loss" and view.nodes["%3"]["output"] is None


def test_networkx_value_read_twice_by_one_node_gives_one_edge():
    # A DiGraph keeps one edge per (producer, consumer): mul(%x, %x) has one in-edge.
    g = Graph("square")
    x = g.add_input("x", F2)
    g.set_outputs([g.add("mul", (x, x))])
    view = to_networkx(g)
    assert list(view.edges) == [("%x", "%0")]


# ---- DOT ------------------------------------------------------------------------------------
_DOT_LINE = re.compile(r'^  (rankdir=TB;|node \[fontname="monospace"\];|"(?:[^"\\]|\\.)*" '
                       r'(\[shape=(box|ellipse), label="(?:[^"\\]|\\.)*"(, style=bold, color="blue")?\];|'
                       r'-> "(?:[^"\\]|\\.)*" \[label=\d+\];))$')


def _check_dot_syntax(text, name):
    lines = text.splitlines()
    assert lines[0] == f'digraph "{name}" {{' and lines[-1] == "}" and text.endswith("}\n")
    for line in lines[1:-1]:
        assert _DOT_LINE.match(line), f"not a DOT statement: {line!r}"


def test_dot_is_valid_looking_and_mentions_every_op_and_location():
    g = _diamond()
    text = to_dot(g)
    _check_dot_syntax(text, "diamond")
    for op in ("matmul", "relu", "sum", "exp"):
        assert f" {op}\\n" in text
    assert "net.py:5 in forward" in text and "net.py:6 in forward" in text
    assert '"%x" -> "%0" [label=0];' in text and '"%w" -> "%0" [label=1];' in text
    assert '"%x" [shape=ellipse' in text and '"%0" [shape=box' in text
    assert "-> loss" in text and "-> hidden" in text and text.count("style=bold") == 2
    assert text.count(" -> ") == to_networkx(g).number_of_edges()


def test_dot_escapes_quotes_and_backslashes():
    g = Graph('say "hi"')
    x = g.add_input("x", F2)
    g.set_outputs([g.add("neg", (x,), loc=SourceLoc('C:\\dir\\"q".py', 1, "f"))], ['out "0"'])
    text = to_dot(g)
    _check_dot_syntax(text, 'say \\"hi\\"')
    assert 'C:\\\\dir\\\\\\"q\\".py:1 in f' in text


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_case_graph_has_an_acyclic_view_and_dot(name):
    g = case_graph(name, 0, loc=SourceLoc("cases.py", 1, name))
    view = to_networkx(g)
    assert nx.is_directed_acyclic_graph(view)
    assert view.number_of_nodes() == len(g.inputs) + len(g.nodes)
    text = to_dot(g)
    _check_dot_syntax(text, g.name)
    assert f"%0 {name}\\n" in text and f"cases.py:1 in {name}" in text
