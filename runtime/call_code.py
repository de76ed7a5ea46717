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
                block = new_block()  # a ctypes array here (executable.py says why)
                start = block_address(block)
                pad = -start % 64
                start += pad
                b0 = ndarray(s1, d1, block, pad + 0)
                args[1] = start + 0
                status = entry(state.args_address)
                if status:
                    raise error(status, state.error)
                return [b0]
        return None
"""
from __future__ import annotations

import numpy as np

from . import generated


def fast_call(exe, address, alignment: int):
    """`call(arrays)` for `exe` (an Executable), None where the general path
    must run; `address(array)` is the data address of a C-contiguous array;
    buffers start on `alignment`."""
    consts = {"ndarray": np.ndarray, "local": exe._local, "new_state": exe._state, "address": address,
              "new_block": exe._new_block, "block_address": exe._block_address, "entry": exe._entry,
              "error": exe._error}

    def const(value) -> str:
        name = f"c{len(consts)}"
        consts[name] = value
        return name

    n = len(exe._inputs)
    names = [f"a{i}" for i in range(n)]
    checks = [f"type({a}) is ndarray and {a}.shape == {const(shape)} and {a}.dtype is {const(dtype)} "
              f"and {a}.strides == {const(strides)}" for a, (shape, dtype, strides) in zip(names, exe._inputs)]
    body = ["try:", "    state = local.state", "except AttributeError:", "    state = new_state()",
            "args = state.args"]
    body += [f"args[{i}] = address({a})" for i, a in enumerate(names)]
    if exe._buffers:
        body += ["block = new_block()", "start = block_address(block)", f"pad = -start % {alignment}",
                 "start += pad"]
    for k, (slot, shape, dtype, offset) in enumerate(exe._buffers):
        body += [f"b{k} = ndarray({const(shape)}, {const(dtype)}, block, pad + {offset})",
                 f"args[{slot}] = start + {offset}"]
    body += ["status = entry(state.args_address)", "if status:", "    raise error(status, state.error)"]
    results = [f"b{k}" if kind == "buffer" else names[k] for kind, k in exe._outputs]
    body.append(f"return [{', '.join(results)}]")

    lines = ["def call(arrays):", f"    if len(arrays) == {n}:"]
    indent = "        "
    if n:
        lines.append(f"{indent}{', '.join(names)}, = arrays")
        lines.append(f"{indent}if {' and '.join(checks)}:")
        indent += "    "
    lines += [indent + line for line in body]
    lines.append("    return None")
    source = "\n".join(lines) + "\n"
    return generated.define("call", source, f"<call of {exe.manifest['entry']}>", consts)
