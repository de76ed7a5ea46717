"""A graph as nested tuples of plain data (str, int, float, bool, None), and
back. The stage cache stores graphs in this form (with `marshal`) and keys
them by its `repr`: rebuilding a graph from it takes a fraction of the time
parsing its IR text takes, which was most of a warm start's cache reads.
The IR text stays the form people and tests read and write.

    (name, inputs, nodes, outputs, output_names, bodies)
    inputs:  ((name, dtype, shape), ...)
    nodes:   ((op, operands, attrs, dtype, shape, loc), ...)
             operands, outputs: value positions (the inputs, then each node's result)
             attrs: ((key, value), ...) sorted by key, as the text form prints them; a dtype is its
                    short name (`f32`; attributes hold no strings). A kernel node's attrs is instead
                    the position of its body in `bodies`.
             loc: (file, line, function), or None
    bodies:  the kernel bodies the nodes call, flat, in order of first use;
             bodies are told apart by name, as in the text form

DTypes are written by name and read back as the singletons of
compiler/dtypes.py, which the compiler compares with `is`. Like the text
form, this one leaves out the graph's notes and its node results' names.
"""
from __future__ import annotations

from .. import dtypes
from ..ops.registry import REGISTRY, Aval
from .graph import Graph, Node, SourceLoc, Value
from .kernel import KERNEL_OP


# ---- writing ------------------------------------------------------------------
def to_flat(graph: Graph) -> tuple:
    """`graph` as plain data; TypeError for what this form cannot hold (an
    attribute of another type, an operand the graph does not define)."""
    position = {v: i for i, v in enumerate(graph.inputs)}
    inputs = tuple((v.name, _dtype_name(v.aval.dtype), tuple(v.aval.shape)) for v in graph.inputs)
    nodes, bodies, body_position = [], [], {}
    for node in graph.nodes:
        try:
            operands = tuple([position[v] for v in node.inputs])
        except KeyError:
            raise TypeError(f"{node.op} reads a value that graph {graph.name} does not define") from None
        if node.op == KERNEL_OP:
            attrs = _body_position(node, bodies, body_position)
        elif node.attrs:
            attrs = tuple(sorted((k, _flat_attr(a)) for k, a in node.attrs.items()))
        else:
            attrs = ()
        aval, loc = node.out.aval, node.loc
        nodes.append((node.op, operands, attrs, _dtype_name(aval.dtype), tuple(aval.shape),
                      None if loc is None else (loc.file, loc.line, loc.function)))
        position[node.out] = len(position)
    try:
        outputs = tuple([position[v] for v in graph.outputs])
    except KeyError:
        raise TypeError(f"graph {graph.name} returns a value it does not define") from None
    return graph.name, inputs, tuple(nodes), outputs, tuple(graph.output_names), tuple(bodies)


def _body_position(node: Node, bodies: list, body_position: dict) -> int:
    if set(node.attrs) != {"body"} or not isinstance(node.attrs["body"], Graph):
        raise TypeError(f"a kernel node's attributes are its body alone, got {sorted(node.attrs)}")
    body = node.attrs["body"]
    if body.name not in body_position:
        body_position[body.name] = len(bodies)
        bodies.append(to_flat(body))
    return body_position[body.name]


def _dtype_name(dtype) -> str:
    if not isinstance(dtype, dtypes.DType) or dtypes.BY_SHORT.get(dtype.short) is not dtype:
        raise TypeError(f"{dtype!r} is not one of the compiler's dtypes")
    return dtype.short


def _flat_attr(value):
    kind = type(value)
    if kind is bool or kind is int or kind is float:
        return value
    if kind is tuple:
        return tuple([_flat_attr(v) for v in value])
    if isinstance(value, dtypes.DType):
        return _dtype_name(value)
    for exact in (bool, int, float):  # subclasses, as the text form prints them
        if isinstance(value, exact):
            return exact(value)
    raise TypeError(f"IR attributes are numbers, booleans, dtypes or tuples of them; got {value!r}")


# ---- reading ------------------------------------------------------------------
def from_flat(data) -> Graph:
    """The graph `to_flat` wrote. Data of another shape raises ValueError,
    TypeError, KeyError or IndexError; it is never mistaken for a graph
    with other values."""
    return _Reader().graph(data)


class _Reader:
    """Reads one flat graph and its bodies; graphs repeat avals and source
    locations, so each distinct one is built once."""

    def __init__(self):
        self.avals: dict[tuple, Aval] = {}
        self.locs: dict[tuple, SourceLoc] = {}

    def aval(self, dtype_name: str, shape: tuple) -> Aval:
        key = (dtype_name, shape)
        aval = self.avals.get(key)
        if aval is None:
            if type(shape) is not tuple or not all(type(d) is int for d in shape):
                raise TypeError(f"a shape is a tuple of ints, got {shape!r}")
            aval = self.avals[key] = Aval(shape, dtypes.BY_SHORT[dtype_name])
        return aval

    def loc(self, loc) -> SourceLoc | None:
        if loc is None:
            return None
        found = self.locs.get(loc)
        if found is None:
            file, line, function = loc
            if type(file) is not str or type(line) is not int or type(function) is not str:
                raise TypeError(f"a source location is (file, line, function), got {loc!r}")
            found = self.locs[loc] = SourceLoc(file, line, function)
        return found

    def graph(self, data) -> Graph:
        name, inputs, nodes, outputs, output_names, bodies = data
        bodies = [self.graph(body) for body in bodies]
        graph = Graph(_text(name))
        values: dict[int, Value] = {}  # by position; a position out of range is a KeyError
        for input_name, dtype_name, shape in inputs:
            values[len(values)] = graph.add_input(_text(input_name), self.aval(dtype_name, shape))
        append = graph.nodes.append
        for op, operands, attrs, dtype_name, shape, loc in nodes:
            if op == KERNEL_OP:
                attrs = {"body": bodies[_position(attrs)]}
                if len(operands) != len(attrs["body"].inputs):
                    raise ValueError(f"kernel @{attrs['body'].name} takes {len(attrs['body'].inputs)} inputs, "
                                     f"got {len(operands)}")
            elif op in REGISTRY:
                attrs = {_text(k): _attr(a) for k, a in attrs}
            else:
                raise ValueError(f"unknown primitive {op!r}")
            node = Node(op, [values[i] for i in operands], attrs, self.loc(loc))
            node.out = values[len(values)] = Value(self.aval(dtype_name, shape), node)
            append(node)
        graph.set_outputs([values[i] for i in outputs], [_text(n) for n in output_names])
        if len(graph.outputs) != len(graph.output_names):
            raise ValueError(f"graph {graph.name} has {len(graph.outputs)} outputs and "
                             f"{len(graph.output_names)} output names")
        return graph


def _attr(value):
    kind = type(value)
    if kind is bool or kind is int or kind is float:
        return value
    if kind is str:
        return dtypes.BY_SHORT[value]
    if kind is tuple:
        return tuple([_attr(v) for v in value])
    raise TypeError(f"not an IR attribute: {value!r}")


def _text(value) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a name, got {value!r}")
    return value


def _position(value) -> int:
    if type(value) is not int or value < 0:
        raise TypeError(f"expected a position, got {value!r}")
    return value
