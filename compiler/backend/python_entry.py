"""The entry of a brief graph as a C function Python calls directly.

A ctypes call of the entry is ~3000 instructions of argument conversion and
libffi, and each array's address read from Python (runtime/executable.py
`address`) as many again: a quarter of a tiny compiled call. For graphs
whose entry holds the GIL anyway (the manifest's `brief`), the module also
exports

    PyObject *jitgrad_entry_py(PyObject *table, PyObject *const *args, Py_ssize_t nargs)

with CPython's METH_FASTCALL signature; the runtime makes it a builtin
function (runtime/python_entry.py), which Python calls with no conversion:

    status = entry_py(argument_array, a0, ..., b0, ...)

`argument_array` is the runtime's argument array seen as an ndarray, then
come the graph's input arrays and its output buffers, in slot order. The
function copies each array's data pointer into its slot, runs the entry
and returns its status as a Python int. It reads the pointers from NumPy's
array struct (PyArrayObject: the object header, then `char *data`), which
the runtime checks before it uses this function. It trusts its caller, the
generated call code (runtime/call_code.py), to pass exactly those arrays.
`table` holds what it needs from Python itself: the address of
`PyLong_FromLong`, by which it makes the status an int.
"""
from __future__ import annotations

import llvmlite.ir as ir

from . import types
from .loops import const

SUFFIX = "_py"
ARRAY_DATA = 16  # offset of PyArrayObject's `data`: after a 64-bit CPython's object header
FROM_LONG_SLOT = 4  # the table's PyLong_FromLong, after its PyMethodDef (runtime/python_entry.py)
WRONG_ARGUMENTS = 2 ** 31 - 1  # the status when called with another number of arguments

_FASTCALL = ir.FunctionType(types.PTR, [types.PTR, types.PTR, types.I64])
_FROM_LONG = ir.FunctionType(types.PTR, [types.I64])


def emit_python_entry(entry: ir.Function, n_arrays: int) -> ir.Function:
    """Define `<entry>_py` next to `entry`, which takes the argument array
    whose first `n_arrays` slots are the arrays' data pointers."""
    fn = ir.Function(entry.module, _FASTCALL, entry.name + SUFFIX)
    table, args, nargs = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    from_long = types.FunctionPointer(_field(b, _data(b, table), FROM_LONG_SLOT), _FROM_LONG)
    with b.if_then(b.icmp_signed("!=", nargs, const(n_arrays + 1)), likely=False):
        b.ret(b.call(from_long, [const(WRONG_ARGUMENTS)]))
    slots = _data(b, _field(b, args, 0))
    for k in range(n_arrays):
        b.store(_data(b, _field(b, args, k + 1)), b.gep(slots, [const(k)], inbounds=True, source_etype=types.PTR))
    status = b.call(entry, [slots])
    b.ret(b.call(from_long, [b.sext(status, types.I64)]))
    return fn


def _field(b: ir.IRBuilder, pointers, k: int):
    return b.load(b.gep(pointers, [const(k)], inbounds=True, source_etype=types.PTR), typ=types.PTR)


def _data(b: ir.IRBuilder, array):
    return b.load(b.gep(array, [const(ARRAY_DATA)], inbounds=True, source_etype=types.I8), typ=types.PTR)
