"""The IR's text form, printed and parsed, with `parse(print_graph(g)) == g`.

    graph mlp(%x: f32[32,784], %w: f32[784,10]) {
      %0: f32[32,10] = matmul(%x, %w)                        # model.py:12 in mlp
      %1: f32[] = full() {dtype=f32, shape=[], value=0.0}     # model.py:13 in mlp
      %2: f32[32,10] = maximum(%0, %1)                       # model.py:13 in mlp
      return out0=%2
    }

Names are given at print time, in order (inputs keep theirs); attributes are
printed sorted; no addresses. So printed IR can be a test expectation, and
pass tests can read IR written by hand. The `# file:line in function`
comment is the node's source location and is part of the graph.
"""
from __future__ import annotations

import re

from .. import dtypes
from ..ops.registry import REGISTRY, Aval
from .graph import Graph, Node, SourceLoc, Value, format_aval

LOC_COLUMN = 56


# ---- printing -----------------------------------------------------------------
def format_attr(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # exact round trip, including inf, nan and -0.0
    if isinstance(value, tuple):
        return "[" + ", ".join(format_attr(v) for v in value) + "]"
    if isinstance(value, dtypes.DType):
        return value.short
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"IR attributes are numbers, booleans, dtypes or lists of them; got {value!r}")


def format_node(node: Node, name_of) -> str:
    args = ", ".join(name_of(v) for v in node.inputs)
    text = f"{name_of(node.out)}: {format_aval(node.out.aval)} = {node.op}({args})"
    if node.attrs:
        text += " {" + ", ".join(f"{k}={format_attr(v)}" for k, v in sorted(node.attrs.items())) + "}"
    if node.loc is not None:
        text = f"{text:<{LOC_COLUMN}} # {node.loc}"
    return text


class Namer:
    """Print-time names: inputs by their own name, node results %0, %1, ..."""

    def __init__(self, graph: Graph):
        self.names = {v: f"%{v.name}" for v in graph.inputs}
        for i, node in enumerate(graph.nodes):
            self.names[node.out] = f"%{i}"

    def __call__(self, value: Value) -> str:
        return self.names.get(value, "%<undefined>")


def print_graph(graph: Graph) -> str:
    name_of = Namer(graph)
    params = ", ".join(f"{name_of(v)}: {format_aval(v.aval)}" for v in graph.inputs)
    lines = [f"// {note}" for note in graph.notes]
    lines.append(f"graph {graph.name}({params}) {{")
    lines += ["  " + format_node(node, name_of) for node in graph.nodes]
    outs = ", ".join(f"{n}={name_of(v)}" for n, v in zip(graph.output_names, graph.outputs))
    lines += [f"  return {outs}".rstrip(), "}"]
    return "\n".join(lines) + "\n"


# ---- parsing ------------------------------------------------------------------
class IRParseError(ValueError):
    """Malformed IR text; the message names the line."""


_NAME = r"[A-Za-z_][\w.]*"
_TYPE = r"(\w+)\[([\d,\s]*)\]"
_HEADER = re.compile(rf"graph\s+({_NAME})\s*\((.*)\)\s*\{{$")
_PARAM = re.compile(rf"\s*%({_NAME})\s*:\s*{_TYPE}\s*(?:,|$)")
_NODE = re.compile(rf"%(\w+)\s*:\s*{_TYPE}\s*=\s*(\w+)\((.*?)\)\s*(\{{.*\}})?$")
_LOC = re.compile(r"^(.*?)\s*#\s*(.+):(\d+) in (\S+)$")
_RETURN = re.compile(r"return\b(.*)$")


def parse_aval(dtype_name: str, dims: str) -> Aval:
    if dtype_name not in dtypes.BY_SHORT:
        raise ValueError(f"unknown dtype {dtype_name!r}; expected one of {sorted(dtypes.BY_SHORT)}")
    shape = tuple(int(d) for d in dims.replace(" ", "").split(",") if d)
    return Aval(shape, dtypes.BY_SHORT[dtype_name])


class _AttrReader:
    """A small recursive-descent reader for `{name=value, ...}`."""

    _TOKEN = re.compile(r"\s*(\[|\]|,|=|\{|\}|[-+\w.]+)")

    def __init__(self, text: str):
        self.tokens = self._TOKEN.findall(text)
        if "".join(self.tokens) != re.sub(r"\s+", "", text):
            raise ValueError(f"cannot read attributes {text!r}")
        self.pos = 0

    def take(self, expected=None):
        if self.pos >= len(self.tokens):
            raise ValueError("attributes end too early")
        token = self.tokens[self.pos]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r} in attributes, found {token!r}")
        self.pos += 1
        return token

    def attrs(self) -> dict:
        self.take("{")
        out = {}
        while self.tokens[self.pos] != "}":
            key = self.take()
            self.take("=")
            out[key] = self.value()
            if self.tokens[self.pos] == ",":
                self.take()
        self.take("}")
        return out

    def value(self):
        token = self.take()
        if token == "[":
            items = []
            while self.tokens[self.pos] != "]":
                items.append(self.value())
                if self.tokens[self.pos] == ",":
                    self.take()
            self.take("]")
            return tuple(items)
        if token in ("true", "false"):
            return token == "true"
        if token in dtypes.BY_SHORT:
            return dtypes.BY_SHORT[token]
        if re.fullmatch(r"[-+]?\d+", token):
            return int(token)
        return float(token)


def parse(text: str) -> Graph:
    """Read IR text (as `print_graph` writes it) back into a Graph."""
    lines = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines())]
    lines = [(n, line) for n, line in lines if line]
    notes = []
    while lines and lines[0][1].startswith("//"):
        notes.append(lines.pop(0)[1][2:].strip())
    if not lines:
        raise IRParseError("empty IR text: expected 'graph NAME(...) {'")
    lineno, header = lines[0]
    match = _HEADER.match(header)
    if not match:
        raise IRParseError(f"line {lineno}: expected 'graph NAME(%input: f32[...], ...) {{', got {header!r}")
    graph = Graph(match.group(1))
    graph.notes = notes
    scope: dict[str, Value] = {}
    params, pos = match.group(2), 0
    while params.strip() and pos < len(params):
        m = _PARAM.match(params, pos)
        if not m:
            raise IRParseError(f"line {lineno}: bad input declaration {params[pos:].strip()!r}; "
                               "expected '%name: f32[2,3]'")
        name = m.group(1)
        if "%" + name in scope:
            raise IRParseError(f"line {lineno}: input %{name} declared twice")
        scope["%" + name] = graph.add_input(name, _aval(lineno, m.group(2), m.group(3)))
        pos = m.end()
    body, closed = lines[1:], None
    for lineno, line in body:
        if closed is not None:
            raise IRParseError(f"line {lineno}: text after the graph's closing '}}' (line {closed})")
        if line == "}":
            closed = lineno
            continue
        ret = _RETURN.match(line)
        if ret:
            _read_return(graph, scope, lineno, ret.group(1))
        else:
            _read_node(graph, scope, lineno, line)
    if closed is None:
        raise IRParseError(f"line {lines[-1][0]}: IR text ends without '}}' closing the graph")
    return graph


def _aval(lineno, dtype_name, dims) -> Aval:
    try:
        return parse_aval(dtype_name, dims)
    except ValueError as e:
        raise IRParseError(f"line {lineno}: {e}") from None


def _lookup(scope, lineno, name) -> Value:
    try:
        return scope[name]
    except KeyError:
        raise IRParseError(f"line {lineno}: {name} is used before it is defined") from None


def _read_node(graph, scope, lineno, line):
    loc = None
    m = _LOC.match(line)
    if m:
        line, loc = m.group(1), SourceLoc(m.group(2), int(m.group(3)), m.group(4))
    m = _NODE.match(line)
    if not m:
        raise IRParseError(f"line {lineno}: expected '%N: f32[...] = op(%a, ...) {{attrs}}', got {line!r}")
    name, dtype_name, dims, op, args, attr_text = m.groups()
    if op not in REGISTRY:
        raise IRParseError(f"line {lineno}: unknown primitive {op!r}")
    if "%" + name in scope:
        raise IRParseError(f"line {lineno}: %{name} is defined twice (SSA: one definition per value)")
    inputs = tuple(_lookup(scope, lineno, a.strip()) for a in args.split(",") if a.strip())
    try:
        attrs = _AttrReader(attr_text).attrs() if attr_text else {}
    except (ValueError, IndexError) as e:
        raise IRParseError(f"line {lineno}: {e}") from None
    aval = _aval(lineno, dtype_name, dims)
    # The declared type is kept as written; `verify` checks it against the shape rule.
    scope["%" + name] = graph.append(Node(op, inputs, attrs, loc), aval)


def _read_return(graph, scope, lineno, rest):
    names, values = [], []
    for item in filter(None, (s.strip() for s in rest.split(","))):
        out_name, _, ref = item.rpartition("=")
        names.append(out_name.strip() or f"out{len(names)}")
        values.append(_lookup(scope, lineno, ref.strip()))
    graph.set_outputs(values, names)
