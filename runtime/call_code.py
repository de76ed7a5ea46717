"""An executable's usual call as one generated Python function.

A tiny graph's native code runs in a fraction of a microsecond, so the
Python around it is the cost: a loop over the manifest's inputs and
buffers, with its tuple unpacking and lookups, takes as long as the
checks themselves. For each executable we generate the straight-line
code of its common case: every input an exact `np.ndarray` already of the
manifest's shape, dtype and C-contiguous strides. It returns None
for anything else (wrong arguments, which must raise the general path's
errors, array subclasses, other layouts), and the general path runs. It
refers to the executable's parts, never to the executable itself, so
that dropping an executable frees its code at once (no reference cycle).

For a graph `f32[10] -> f32[10]` the function reads:

    def call(arrays):
        if len(arrays) == 1:
            a0, = arrays
            if type(a0) is ndarray and a0.shape == s0 and a0.dtype is d0 and a0.strides == t0:
                try:
                    state = local.state
                except AttributeError:
                    state = new_state()
                args = state.args
                args[0] = address(a0)
                block = state.block  # the last call's outputs, unless the caller still holds them
                if getrefcount(block) != idle:
                    block = state.block = new_block()  # a ctypes array here (executable.py says why)
                    start = block_address(block)
                    state.pad = -start % 64
                    state.start = start + state.pad
                pad, start = state.pad, state.start
                b0 = ndarray(s1, d1, block, pad + 0)
                args[1] = start + 0
                status = entry(state.args_address)
                if status:
                    raise error(status, state.error)
                return [b0]
        return None

An output buffer the manifest donates to input i (an in-place update) is
`a_i` itself when that array is writable: `b_k = a_i` and its address goes
into the buffer's slot.

A brief graph's executable has a Python entry (python_entry.py), a builtin
that reads the arrays' addresses itself: the `args[...] = ...` lines go,
and the call is `status = entry_py(state.args_array, a0, b0, b1)`.
"""
from __future__ import annotations

import sys

import numpy as np

from . import generated


def fast_call(exe, address, alignment: int, idle_block: int):
    """`call(arrays)` for `exe` (an Executable), None where the general path
    must run; `address(array)` is the data address of a C-contiguous array;
    buffers start on `alignment`; `idle_block` is the reference count of an
    output block that only the thread state holds (executable.py)."""
    namespace = {}
    n = len(exe._inputs)
    conditions, body, results = call_lines(exe, address, alignment, idle_block, namespace, _Names(namespace).const)
    names = [f"a{i}" for i in range(n)]
    lines = ["def call(arrays):", f"    if len(arrays) == {n}:"]
    indent = "        "
    if n:
        lines.append(f"{indent}{', '.join(names)}, = arrays")
        lines.append(f"{indent}if {' and '.join(conditions)}:")
        indent += "    "
    lines += [indent + line for line in body + [f"return [{', '.join(results)}]"]]
    lines.append("    return None")
    source = "\n".join(lines) + "\n"
    return generated.define("call", source, f"<call of {exe.manifest['entry']}>", namespace)


class _Names:
    """Names for values in a generated function's globals."""

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def const(self, value) -> str:
        name = f"c{len(self.namespace)}"
        self.namespace[name] = value
        return name


def call_lines(exe, address, alignment: int, idle_block: int, namespace: dict, const, known=()):
    """The common case of a call of `exe` on arrays named a0, a1, ...:
    (the conditions under which it applies, the lines that run it, the
    expressions of its results). The runtime's objects it uses go into
    `namespace` under their own names; `const(value)` names the others.
    A caller that has its own fast path (frontend/jit/fast_path.py) inlines
    these lines rather than pay for a second call and its lists; `known`
    are the inputs whose shape and dtype its own checks have already
    compared with the manifest's, which leaves their type and strides."""
    own = {"ndarray": np.ndarray, "local": exe._local, "new_state": exe._state, "address": address,
           "new_block": exe._new_block, "block_address": exe._block_address, "entry": exe._entry,
           "entry_py": exe._python_entry, "error": exe._error, "getrefcount": sys.getrefcount,
           "idle": idle_block}
    clash = [name for name in own if namespace.get(name, own[name]) is not own[name]]
    if clash:
        raise ValueError(f"call_lines: {clash} already name other values")
    namespace.update(own)
    names = [f"a{i}" for i in range(len(exe._inputs))]
    conditions = [f"type({a}) is ndarray and {a}.strides == {const(strides)}" if i in known else
                  f"type({a}) is ndarray and {a}.shape == {const(shape)} and {a}.dtype is {const(dtype)} "
                  f"and {a}.strides == {const(strides)}"
                  for i, (a, (shape, dtype, strides)) in enumerate(zip(names, exe._inputs))]
    body = ["try:", "    state = local.state", "except AttributeError:", "    state = new_state()"]
    if exe._python_entry is None:
        body += _ctypes_call(exe, names, const, alignment)
    else:
        body += _python_entry_call(exe, names, const, alignment)
    body += ["if status:", "    raise error(status, state.error)"]
    results = [f"b{k}" if kind == "buffer" else names[k] for kind, k in exe._outputs]
    return conditions, body, results


def _block_lines(exe, alignment: int, start: bool) -> list[str]:
    """Take the thread's output block (a new one while a result holds it);
    `start`: the code needs its aligned address, not only the padding."""
    if not exe._buffers:
        return []
    return ["block = state.block", "if getrefcount(block) != idle:",
            "    block = state.block = new_block()", "    start = block_address(block)",
            f"    state.pad = -start % {alignment}", "    state.start = start + state.pad",
            "pad, start = state.pad, state.start" if start else "pad = state.pad"]


def _ctypes_call(exe, names, const, alignment: int) -> list[str]:
    """Addresses into the argument array, then the entry through ctypes."""
    body = ["args = state.args"]
    donated = dict(exe._donated)  # buffer k -> input i
    body += [f"args[{i}] = d{i} = address({a})" if i in donated.values() else f"args[{i}] = address({a})"
             for i, a in enumerate(names)]
    body += _block_lines(exe, alignment, start=True)
    for k, (slot, shape, dtype, offset) in enumerate(exe._buffers):
        fresh = [f"b{k} = ndarray({const(shape)}, {const(dtype)}, block, pad + {offset})",
                 f"args[{slot}] = start + {offset}"]
        if k in donated:
            i = donated[k]
            fresh = [f"if a{i}.flags.writeable:", f"    b{k} = a{i}", f"    args[{slot}] = d{i}", "else:"] + [
                "    " + line for line in fresh]
        body += fresh
    return body + ["status = entry(state.args_address)"]


def _python_entry_call(exe, names, const, alignment: int) -> list[str]:
    """The arrays themselves to the Python entry, which reads their addresses
    (compiler/backend/python_entry.py)."""
    body = _block_lines(exe, alignment, start=False)
    donated = dict(exe._donated)
    for k, (_, shape, dtype, offset) in enumerate(exe._buffers):
        fresh = f"ndarray({const(shape)}, {const(dtype)}, block, pad + {offset})"
        body.append(f"b{k} = a{donated[k]} if a{donated[k]}.flags.writeable else {fresh}" if k in donated
                    else f"b{k} = {fresh}")
    arrays = names + [f"b{k}" for k in range(len(exe._buffers))]
    return body + [f"status = entry_py(state.args_array, {', '.join(arrays)})"]
