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

A fused kernel node calls its body by name, and each body is printed once,
after the graph, as a block of its own (see ir/kernel.py):

      %5: f32[] = kernel @k0(%x, %3)                         # model.py:14 in loss
    ...
    kernel k0(%in0: f32[32,10], %in1: f32[]) {
      %0: f32[32,10] = mul(%in0, %in1)                       # model.py:14 in loss
      ...
      return %2
    }
"""
from __future__ import annotations

import functools
import re

from .. import dtypes
from ..ops.registry import REGISTRY, Aval
from .graph import Graph, Node, SourceLoc, Value, format_aval
from .kernel import KERNEL_OP, kernel_bodies

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
    attrs = dict(node.attrs)
    callee = node.op
    if node.op == KERNEL_OP:  # the body is printed after the graph, under its name
        callee = f"{node.op} @{getattr(attrs.pop('body', None), 'name', '?')}"
    text = f"{name_of(node.out)}: {format_aval(node.out.aval)} = {callee}({args})"
    if attrs:
        text += " {" + ", ".join(f"{k}={format_attr(v)}" for k, v in sorted(attrs.items())) + "}"
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


def print_graph(graph: Graph, notes: bool = True) -> str:
    """The graph's text; `notes=False` leaves out its provenance lines, which
    name no computation (cache keys hash the rest)."""
    lines = [f"// {note}" for note in graph.notes if notes] + _block("graph", graph)
    for body in kernel_bodies(graph).values():
        lines += [""] + _block("kernel", body)
    return "\n".join(lines) + "\n"


def _block(keyword: str, graph: Graph) -> list[str]:
    name_of = Namer(graph)
    params = ", ".join(f"{name_of(v)}: {format_aval(v.aval)}" for v in graph.inputs)
    lines = [f"{keyword} {graph.name}({params}) {{"]
    lines += ["  " + format_node(node, name_of) for node in graph.nodes]
    # A kernel's one result is unnamed (`return %3`) unless named otherwise than the parser's default.
    outs = ", ".join(name_of(v) if keyword == "kernel" and n == f"out{i}" else f"{n}={name_of(v)}"
                     for i, (n, v) in enumerate(zip(graph.output_names, graph.outputs)))
    return lines + [f"  return {outs}".rstrip(), "}"]


# ---- parsing ------------------------------------------------------------------
class IRParseError(ValueError):
    """Malformed IR text; the message names the line."""


_NAME = r"[A-Za-z_][\w.]*"
_TYPE = r"(\w+)\[([\d,\s]*)\]"
_GRAPH_NAME = r"[<A-Za-z_][\w.<>]*"  # also what Python names a lambda's function, `<lambda>`, and `<lambda>_joint`
_HEADER = re.compile(rf"(graph|kernel)\s+({_GRAPH_NAME})\s*\((.*)\)\s*\{{$")
_PARAM = re.compile(rf"\s*%({_NAME})\s*:\s*{_TYPE}\s*(?:,|$)")
_NODE = re.compile(rf"%(\w+)\s*:\s*{_TYPE}\s*=\s*(\w+)(?:\s*@({_NAME}))?\((.*?)\)\s*(\{{.*\}})?$")
_LOC = re.compile(r"^(.*?)\s*#\s*(.+):(\d+) in (\S+)$")
_RETURN = re.compile(r"return\b(.*)$")


@functools.lru_cache(maxsize=1024)  # a graph repeats a few types, and an Aval is immutable
def parse_aval(dtype_name: str, dims: str) -> Aval:
    if dtype_name not in dtypes.BY_SHORT:
        raise ValueError(f"unknown dtype {dtype_name!r}; expected one of {sorted(dtypes.BY_SHORT)}")
    shape = tuple(int(d) for d in dims.replace(" ", "").split(",") if d)
    return Aval(shape, dtypes.BY_SHORT[dtype_name])


class _AttrReader:
    """A small recursive-descent reader for `{name=value, ...}`."""

    _TOKEN = re.compile(r"\s*(\[|\]|,|=|\{|\}|[-+\w.]+)")
    _SPACE = re.compile(r"\s+")
    _INT = re.compile(r"[-+]?\d+")

    def __init__(self, text: str):
        self.tokens = self._TOKEN.findall(text)
        if "".join(self.tokens) != self._SPACE.sub("", text):
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
        if self._INT.fullmatch(token):
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
    main, *kernel_blocks = _split_blocks(lines)
    kernels: dict[str, Graph] = {}
    for block in kernel_blocks:
        body = _read_block(block, "kernel", {})
        if body.name in kernels:
            raise IRParseError(f"line {block[0]}: kernel {body.name} is defined twice")
        kernels[body.name] = body
    graph = _read_block(main, "graph", kernels)
    graph.notes = notes
    for block, name in zip(kernel_blocks, kernels):
        if name not in kernel_bodies(graph):
            raise IRParseError(f"line {block[0]}: kernel {name} is defined but no node of graph "
                               f"{graph.name} calls it")
    return graph


def _split_blocks(lines):
    """[(header line number, header, body lines)]: the graph, then its kernels."""
    blocks, current, closed = [], None, None
    for lineno, line in lines:
        if current is None:
            if blocks and not line.startswith("kernel"):
                raise IRParseError(f"line {lineno}: text after the graph's closing '}}' (line {closed})")
            current = (lineno, line, [])
        elif line == "}":
            blocks.append(current)
            current, closed = None, lineno
        else:
            current[2].append((lineno, line))
    if current is not None:
        raise IRParseError(f"line {lines[-1][0]}: IR text ends without '}}' closing the {current[1].split()[0]}")
    return blocks


def _read_block(block, keyword, kernels) -> Graph:
    lineno, header, body = block
    match = _HEADER.match(header)
    if not match or match.group(1) != keyword:
        raise IRParseError(f"line {lineno}: expected '{keyword} NAME(%input: f32[...], ...) {{', got {header!r}")
    graph = Graph(match.group(2))
    scope: dict[str, Value] = {}
    params, pos = match.group(3), 0
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
    for lineno, line in body:
        ret = _RETURN.match(line)
        if ret:
            _read_return(graph, scope, lineno, ret.group(1))
        else:
            _read_node(graph, scope, lineno, line, kernels)
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


def _read_node(graph, scope, lineno, line, kernels):
    loc = None
    m = _LOC.match(line)
    if m:
        line, loc = m.group(1), SourceLoc(m.group(2), int(m.group(3)), m.group(4))
    m = _NODE.match(line)
    if not m:
        raise IRParseError(f"line {lineno}: expected '%N: f32[...] = op(%a, ...) {{attrs}}', got {line!r}")
    name, dtype_name, dims, op, kernel_name, args, attr_text = m.groups()
    if op not in REGISTRY and op != KERNEL_OP:
        raise IRParseError(f"line {lineno}: unknown primitive {op!r}")
    if "%" + name in scope:
        raise IRParseError(f"line {lineno}: %{name} is defined twice (SSA: one definition per value)")
    inputs = tuple(_lookup(scope, lineno, a.strip()) for a in args.split(",") if a.strip())
    try:
        attrs = dict(_read_attrs(attr_text)) if attr_text else {}
    except (ValueError, IndexError) as e:
        raise IRParseError(f"line {lineno}: {e}") from None
    if op == KERNEL_OP or kernel_name is not None:
        attrs = _kernel_attrs(lineno, op, kernel_name, inputs, attrs, kernels)
    aval = _aval(lineno, dtype_name, dims)
    # The declared type is kept as written; `verify` checks it against the shape rule.
    scope["%" + name] = graph.append(Node(op, inputs, attrs, loc), aval)


@functools.lru_cache(maxsize=1024)  # nodes repeat attributes (`{axes=[1], keepdim=true}`); values are immutable
def _read_attrs(text: str) -> tuple:
    return tuple(_AttrReader(text).attrs().items())


def _kernel_attrs(lineno, op, kernel_name, inputs, attrs, kernels) -> dict:
    """`kernel @NAME(...)`: the body, which must be defined and take `inputs`."""
    if op != KERNEL_OP:
        raise IRParseError(f"line {lineno}: {op} is a primitive, not a kernel call; write {op}(...)")
    if kernel_name is None:
        raise IRParseError(f"line {lineno}: a kernel call names its body: kernel @k0(%a, ...)")
    if kernel_name not in kernels:
        known = ", ".join(f"@{k}" for k in kernels) or "none"
        raise IRParseError(f"line {lineno}: unknown kernel @{kernel_name} "
                           f"(kernels defined after the graph: {known})")
    if attrs:
        raise IRParseError(f"line {lineno}: a kernel call takes no attributes, got {sorted(attrs)}")
    body = kernels[kernel_name]
    if len(inputs) != len(body.inputs):
        raise IRParseError(f"line {lineno}: kernel @{kernel_name} takes {len(body.inputs)} inputs, "
                           f"got {len(inputs)}")
    return {"body": body}


def _read_return(graph, scope, lineno, rest):
    names, values = [], []
    for item in filter(None, (s.strip() for s in rest.split(","))):
        out_name, _, ref = item.rpartition("=")
        names.append(out_name.strip() or f"out{len(names)}")
        values.append(_lookup(scope, lineno, ref.strip()))
    graph.set_outputs(values, names)
