"""A variant's guards as one generated Python function: the per-call check.

Reading a call's guard key (guards.py) walks every object the function can
reach, building paths and entries: about a microsecond per entry, and a
training step with a model and an optimizer has ~80. A variant that was
compiled from a reading instead gets `check(args, kwargs)`: straight
line code, generated from that reading's entries, that goes down the same
paths with attribute and item loads and compares each leaf with the
recorded value. It returns the call's tensors (in `reading.tensors` order)
when every entry holds, else None, and the call takes the full reading.

It accepts only calls whose full reading would give the same key, up to
the order of dict keys (which decides nothing: values are read by key).
It is stricter in a few places (exact types of scalars and containers),
which costs a full reading, never a wrong answer.
"""
from __future__ import annotations

import numpy as np

from runtime import generated

from ..autograd.grad_mode import grad_state
from ..tensor import Tensor
from .guards import TensorKey


class Emitter:
    """Lines of a generated function and the values its code names; a
    failed check returns `miss` (a name in the function's globals)."""

    def __init__(self, miss: str = "None"):
        self.lines: list[str] = []
        self.consts: dict[str, object] = {"Tensor": Tensor, "np": np, "grad_state": grad_state}
        self.miss = miss

    def const(self, value) -> str:
        """A name for `value` in the generated function's globals (literals inline)."""
        if type(value) in (int, str, bool, type(None)):
            return repr(value)
        return self.named(value)

    def fail_if(self, condition: str):
        self.lines.append(f"    if {condition}: return {self.miss}")

    def named(self, value) -> str:
        """A name for `value` in the generated function's globals, never a
        literal: object ids differ between processes, and a source that
        does not is compiled once (runtime/generated.py)."""
        name = f"c{len(self.consts)}"
        self.consts[name] = value
        return name

    def define(self, name: str, source: str, filename: str):
        """The function `name` that `source` defines; its code names this emitter's values."""
        return generated.define(name, source, filename, dict(self.consts))


def _access(parent: str, step, emit: Emitter) -> str:
    kind, key = step
    if kind == "attr":
        return f"{parent}.__dict__[{emit.const(key)}]"
    key = key.tensor if isinstance(key, TensorKey) else key
    return f"{parent}[{emit.const(key)}]"


def _source(top, roots, emit: Emitter) -> str:
    """The expression for a top-level walk: an argument, or a root read
    inline (guards.Root.get, without its call: a fifth of a tiny call went
    to three of them). Where `get` would give None for a global or an
    attribute gone missing, this raises, and the call takes the full reading."""
    kind, ref = top
    if kind == "arg":
        return f"args[{ref}]"
    if kind == "kwarg":
        return f"kwargs[{emit.const(ref)}]"
    root = roots[ref]
    owner = emit.named(root.owner)
    if root.kind == "object":
        return owner
    if root.kind == "cell":
        return f"{owner}.cell_contents"
    if root.kind == "attr":  # a module attribute the code names: an identifier
        return f"{owner}.{root.key}"
    return f"{owner}[{emit.const(root.key)}]"


def guard_function(reading):
    """`check(args, kwargs)` for this reading."""
    emit = Emitter()
    tensors = emit_guards(reading, emit)
    emit.lines.append(f"    return [{', '.join(tensors)}]")
    return emit.define("check", "def check(args, kwargs):\n" + guarded(emit.lines, emit.miss),
                       f"<guards of {len(reading.entries)} entries>")


def guarded(lines: list[str], miss: str, indent: str = "    ") -> str:
    """`lines` (guard checks) in a try that counts a failed lookup (an
    unassigned closure cell's ValueError among them) as a miss."""
    return (f"{indent}try:\n" + "\n".join(indent + line for line in lines) +
            f"\n{indent}except (KeyError, IndexError, AttributeError, TypeError, ValueError):\n{indent}    return {miss}\n")


def emit_guards(reading, emit: Emitter) -> list[str]:
    """Emit the checks of `reading`'s entries; returns the variables holding
    the call's tensors, in `reading.tensors` order."""
    arg_count = len({top[1] for top, _, _ in reading.kinds if top is not None and top[0] == "arg"})
    kwarg_names = frozenset(top[1] for top, _, _ in reading.kinds if top is not None and top[0] == "kwarg")
    keywords = f"kwargs.keys() != {emit.const(kwarg_names)}" if kwarg_names else "kwargs"
    emit.fail_if(f"len(args) != {arg_count} or {keywords}")
    # Ids that identity entries refer to: a container read again later must stay that object.
    shared = {value[1] for (_, kind, _), (_, value) in zip(reading.kinds, reading.entries) if kind == "identity"}
    names: dict[tuple, str] = {}  # (top-level walk, path) -> variable
    tensors = []
    for i, ((path, value), (top, kind, info)) in enumerate(zip(reading.entries, reading.kinds)):
        if kind == "grad mode":
            emit.fail_if(f"grad_state.enabled is not {value!r}")  # is_grad_enabled(), inline
            continue
        v = f"v{i}"
        parent = names.get((top, path[:-1])) if len(path) > 1 else None
        emit.lines.append(f"    {v} = {_access(parent, path[-1], emit) if parent else _source(top, reading.roots, emit)}")
        names[(top, path)] = v
        _check(emit, v, kind, value, info, tensors, shared)
        if kind == "tensor":
            tensors.append(v)
    if len(tensors) > 1:
        emit.fail_if(f"len({{{', '.join(f'id({t})' for t in tensors)}}}) != {len(tensors)}")
    return tensors


# Guard entries a tracer could pass: another thread's trace stands tracers in for the tensors it
# reaches (compiled.py swap_in), and a tracer is a Tensor with the right shape and dtype. Every
# other check is of something a trace never replaces, or fails on a tracer (an identity, a type).
_TRACER_CAN_PASS = ("tensor", "alias", "long list")


def reads_shared_state(reading) -> bool:
    """Whether the guards check tensors past the call's own arguments (in
    closures, globals, attributes of objects), where another thread's trace
    puts tracers while it runs: such checks must hold the tracing lock. A
    function's globals and closures that hold no tensors (a helper function,
    a config value) need no lock: taking it was a fifth of a tiny call."""
    return any(top is not None and (top[0] not in ("arg", "kwarg") or len(path) > 1) and kind in _TRACER_CAN_PASS
               for (path, _), (top, kind, _) in zip(reading.entries, reading.kinds))


def _check(emit, v, kind, value, info, tensors, shared):
    if kind == "tensor":
        shape, dtype, requires_grad, is_leaf = value
        # The properties as Tensor computes them; for a leaf that is not a view, its fields say the same.
        autograd = f"{v}.requires_grad is {requires_grad} and ({v}.grad_fn is None) is {is_leaf}"
        if is_leaf:
            autograd = (f"{v}._view_fn is None and {v}._grad_fn is None and {v}._requires_grad is {requires_grad} "
                        f"or {autograd}")
        emit.fail_if(f"not isinstance({v}, Tensor) or {v}._data.shape != {emit.const(shape)} "
                     f"or {v}._dtype is not {emit.const(dtype)} or not ({autograd})")
    elif kind == "alias":
        emit.fail_if(f"{v} is not {tensors[info]}")
    elif kind == "scalar":
        if value[1] == "nan" and info is not str:
            emit.fail_if(f"type({v}) is not {emit.const(info)} or {v} == {v}")
        else:
            emit.fail_if(f"type({v}) is not {emit.const(info)} or not ({v} == {emit.const(value[1])})")
    elif kind == "ndarray":
        _, ident, shape, dtype = value
        emit.fail_if(f"id({v}) != {emit.named(ident)} or {v}.shape != {emit.const(shape)} "
                     f"or {v}.dtype.str != {dtype!r}")
    elif kind == "identity":
        emit.fail_if(f"id({v}) != {emit.named(value[1])}")
    elif kind in ("long list", "long dict"):
        emit.fail_if(f"id({v}) != {emit.named(value[1])} or len({v}) != {value[2]}")
        if kind == "long list":  # which items are walked: the tensors that require grad
            emit.fail_if(f"tuple(i for i, t in enumerate({v}) if isinstance(t, Tensor) and t.requires_grad) "
                         f"!= {emit.const(info)}")
    elif kind == "sequence":
        cls, ident = info
        emit.fail_if(f"type({v}) is not {emit.const(cls)} or len({v}) != {value[1]}")
        _same_object(emit, v, ident, shared)
    elif kind == "dict":
        keys, ident = info
        emit.fail_if(f"not isinstance({v}, dict) or {v}.keys() != {emit.const(keys)}")
        _same_object(emit, v, ident, shared)
    elif kind == "object":
        cls, ident = info
        emit.fail_if(f"type({v}) is not {emit.const(cls)} or {v}.__dict__.keys() != {emit.const(frozenset(value[2]))}")
        _same_object(emit, v, ident, shared)
    else:
        raise AssertionError(f"unknown guard entry kind {kind!r}")


def _same_object(emit, v, ident, shared):
    """A container reached again later (an identity entry) must stay this one object."""
    if ident in shared:
        emit.fail_if(f"id({v}) != {emit.named(ident)}")
