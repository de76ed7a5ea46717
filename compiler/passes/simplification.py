"""Simplification: constant folding and algebraic identities, then CSE and DCE.

Every rewrite keeps values exactly, bit for bit (dtype, shape, -0.0, NaN),
because the interpreter is the oracle the pass is tested against:

* folding runs the primitive's own NumPy code (what the interpreter runs) on
  constant inputs, and keeps the result only where one `full` node, printed
  and parsed again, reproduces it bit for bit;
* an identity applies only where it holds for every input: `x + 0.0` is not
  `x` (for x = -0.0 it is +0.0), but `x + (-0.0)` is; `x * 1` is `x` only if
  the result has x's dtype, and becomes `expand(x)` where the constant
  broadcasts x to a larger shape.

Rewrites read producers that are already rewritten, so a chain collapses in
one round; rounds (each followed by CSE and DCE) repeat, a bounded number of
times, until the graph stops changing.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..ir.graph import Graph, Value
from ..ops.registry import Group
from .cleanup import cse, dce, rebuild

MAX_ROUNDS = 8
# Folding materializes a constant at compile time; larger ones are left to run.
MAX_FOLD_ELEMENTS = 1 << 16
# An identity on values, but the autodiff pass must still see where gradients stop.
KEEP = "stop_gradient"


def simplify(graph: Graph) -> Graph:
    """Fold constants and apply exact identities until nothing changes."""
    result = graph
    for _ in range(MAX_ROUNDS):
        rewritten, fired = _rewrite_round(result)
        # where no rule fired, the round's copy is `result` again: CSE and DCE
        # then return `result` itself unless they still find work; a round
        # that changed the node count changed the graph
        cleaned = dce(cse(rewritten if fired else result))
        if cleaned is result or (len(cleaned.nodes) == len(result.nodes) and cleaned == result):
            break
        result = cleaned
    return result


def _rewrite_round(graph: Graph) -> tuple[Graph, bool]:
    """The graph with each node's first applicable rewrite, and whether any applied."""
    shared = shared_with_outputs(graph)
    fired = False

    def rewrite(out, node, inputs):
        nonlocal fired
        value = _simplified(out, node, inputs, node.out in shared)
        fired = fired or value is not None
        return value
    return rebuild(graph, lambda node: True, lambda v: v, rewrite), fired


def shared_with_outputs(graph: Graph) -> set[Value]:
    """Values whose storage a graph output may share: the outputs and, through
    views, the values they view."""
    shared = set(graph.outputs)
    for node in reversed(graph.nodes):
        if node.out in shared and node.prim.views:
            shared.update(node.inputs)
    return shared


def _simplified(out: Graph, node, inputs, shared: bool) -> Value | None:
    """The first rewrite that applies to `node`, as a value of `out`, or None.

    The interpreter hands a graph output's array to the caller. So where the
    original op made a fresh array (not a view) that an output shares, the
    rewrite must be a fresh array too: an existing value or a view would let
    the output share storage with an input or another output (a write to one
    would change the other), or be read-only (a broadcast)."""
    if node.op == KEEP or node.prim.group is Group.SOURCE:
        return None
    for rule in RULES:
        start = len(out.nodes)
        value = rule(out, node, inputs)
        if value is None:
            continue
        if not shared or node.prim.views or _fresh(value, out.nodes[start:]):
            return value
    return None


def _fresh(value: Value, appended) -> bool:
    return value.node is not None and value.node in appended and not value.node.prim.views


# ---- constant folding -------------------------------------------------------------------------------
def _is_constant(v: Value) -> bool:
    return v.node is not None and v.node.prim.group is Group.SOURCE


def _is_full(v: Value) -> bool:
    return v.node is not None and v.node.op == "full"


def _full(out: Graph, value, aval, loc) -> Value:
    return out.add("full", (), {"value": value, "shape": aval.shape, "dtype": aval.dtype}, loc)


def full_value(data: np.ndarray, dtype: dtypes.DType):
    """The `value` of a `full` node that reproduces `data` bit for bit, also
    after a text round trip (NaN prints without its sign), or None."""
    flat = np.ascontiguousarray(data).reshape(-1)
    value = flat[0].item() if flat.size else dtype.np.type(0).item()
    if isinstance(value, float):
        value = float(repr(value))  # what the printer writes and the parser reads
    return value if np.full(flat.shape, value, dtype.np).tobytes() == flat.tobytes() else None


def fold_constants(out: Graph, node, inputs) -> Value | None:
    """A node of constants, evaluated now, as a `full` when its result is uniform."""
    if not all(map(_is_constant, inputs)):
        return None
    if max(math.prod(v.shape) for v in (*inputs, node.out)) > MAX_FOLD_ELEMENTS:
        return None
    try:
        arrays = [v.node.prim.evaluate([], v.node.attrs, v.aval) for v in inputs]
        data = node.prim.evaluate(arrays, node.attrs, node.out.aval)
    except Exception:  # noqa: BLE001  (it fails at run time as well: leave it to fail there)
        return None
    value = full_value(data, node.out.dtype)
    return None if value is None else _full(out, value, node.out.aval, node.loc)


def view_of_full(out: Graph, node, inputs) -> Value | None:
    """A view only picks elements of its input, so a view of a `full` is a `full`."""
    if node.prim.views and len(inputs) == 1 and _is_full(inputs[0]):
        return _full(out, inputs[0].node.attrs["value"], node.out.aval, node.loc)
    return None


# ---- movement chains --------------------------------------------------------------------------------
def _last(inner, outer):
    return outer


def _composed(inner, outer):
    """permute(permute(x, inner), outer) == permute(x, _composed(inner, outer))."""
    return tuple(inner[p] for p in outer)


def _is_shape_of(src: Value, shape) -> bool:
    return tuple(shape) == src.shape


def _is_no_permutation(src: Value, perm) -> bool:
    return tuple(perm) == tuple(range(len(perm)))


# op -> (its attribute, how two in a row combine, when it leaves its input as it is)
CHAINS = {
    "reshape": ("shape", _last, _is_shape_of),
    "expand": ("shape", _last, _is_shape_of),
    "permute": ("perm", _composed, _is_no_permutation),
}


def movement_chain(out: Graph, node, inputs) -> Value | None:
    """Two reshapes (expands, permutes) in a row as one; one that changes nothing as its input."""
    if node.op not in CHAINS:
        return None
    key, combine, is_identity = CHAINS[node.op]
    (src,), attr = inputs, node.attrs[key]
    if src.node is not None and src.node.op == node.op:
        attr, src = combine(src.node.attrs[key], attr), src.node.inputs[0]
    if is_identity(src, attr):
        return src
    return out.add(node.op, (src,), {key: attr}, node.loc) if src is not inputs[0] else None


# ---- neutral operands -------------------------------------------------------------------------------
def _is_one(c: np.ndarray) -> bool:
    return bool(c == 1)


def _is_additive_identity(c: np.ndarray) -> bool:
    """-0.0 for floats (+0.0 + -0.0 is +0.0, -0.0 + +0.0 is +0.0 too); 0 or False otherwise."""
    return bool(c == 0) and (c.dtype.kind != "f" or bool(np.signbit(c)))


def _is_subtractive_identity(c: np.ndarray) -> bool:
    """+0.0 (x - (-0.0) turns -0.0 into +0.0); not for bool, where `-` fails at run time."""
    return c.dtype != np.bool_ and bool(c == 0) and not np.signbit(c)


# op -> (operand positions the constant may take, the test of its value in the result's dtype)
NEUTRAL = {
    "add": ((1, 0), _is_additive_identity),
    "sub": ((1,), _is_subtractive_identity),
    "mul": ((1, 0), _is_one),
    "div": ((1,), _is_one),
    "pow": ((1,), _is_one),
}


def _constant_as(c: Value, dtype: dtypes.DType) -> np.ndarray:
    """A `full`'s element as the op computes with it: converted to the result's dtype."""
    return np.full((), c.node.attrs["value"], c.dtype.np).astype(dtype.np)


def neutral_operand(out: Graph, node, inputs) -> Value | None:
    """x + (-0.0), x - 0, x * 1, 1 * x, x / 1, x ** 1 (integer x + 0): x, or x
    expanded where the constant broadcasts it; never where the dtype changes."""
    positions, is_neutral = NEUTRAL.get(node.op, ((), None))
    for i in positions:
        c, x = inputs[i], inputs[1 - i]
        if x.dtype is node.out.dtype and _is_full(c) and is_neutral(_constant_as(c, node.out.dtype)):
            if x.shape == node.out.shape:
                return x
            return out.add("expand", (x,), {"shape": node.out.shape}, node.loc)
    return None


# ---- casts ------------------------------------------------------------------------------------------
def lossless(src: dtypes.DType, dst: dtypes.DType) -> bool:
    """Every value of `src` converts to `dst` exactly (so it converts back unchanged)."""
    if src is dst or src.category == dtypes.BOOL:
        return True
    if dst.category < src.category:
        return False
    if src.category == dst.category:
        return dst.itemsize >= src.itemsize
    return np.iinfo(src.np).bits - 1 <= np.finfo(dst.np).nmant + 1  # integer -> float


def cast_chain(out: Graph, node, inputs) -> Value | None:
    """A cast to x's own dtype is x; cast(cast(x, A), B) is cast(x, B) where
    x -> A is exact and the value then converts exactly to B (from A or from
    x's dtype), or B is x's dtype: float -> int conversions differ by source
    type out of range, so no other chain is merged."""
    if node.op != "cast":
        return None
    (x,), dtype = inputs, node.attrs["dtype"]
    if x.dtype is dtype:
        return x
    if x.node is None or x.node.op != "cast" or not lossless(x.node.inputs[0].dtype, x.dtype):
        return None
    src = x.node.inputs[0]
    if src.dtype is dtype:
        return src
    if lossless(x.dtype, dtype) or lossless(src.dtype, dtype):
        return out.add("cast", (src,), {"dtype": dtype}, node.loc)
    return None


RULES = (fold_constants, view_of_full, movement_chain, neutral_operand, cast_chain)
