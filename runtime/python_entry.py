"""A compiled graph's Python entry as a builtin function.

The compiler gives a brief graph an entry with CPython's METH_FASTCALL
signature (compiler/backend/python_entry.py says why and what it does). A
builtin function object made around it (PyCFunction_NewEx) is called by
the interpreter like any C function: no ctypes argument conversion.

The function's `self` is its table, one small ndarray that keeps alive
everything the C side points into, for as long as the builtin lives:

    [0:4]  the PyMethodDef: name, the code's address, METH_FASTCALL, no doc
    [4]    the address of PyLong_FromLong (the code makes its status an int)
    [5:]   the name, NUL-terminated
"""
from __future__ import annotations

import ctypes

import numpy as np

_METH_FASTCALL = 0x0080
_FROM_LONG_SLOT = 4  # compiler/backend/python_entry.py reads it there
_NAME_SLOT = 5
_FROM_LONG = ctypes.cast(ctypes.pythonapi.PyLong_FromLong, ctypes.c_void_p).value
# A prototype of our own: setting argtypes on ctypes.pythonapi's would change it for everyone.
_NEW_FUNCTION = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p)(
    ("PyCFunction_NewEx", ctypes.pythonapi))


def python_entry(address: int, name: str):
    """The builtin function `name` whose C function is at `address`."""
    encoded = name.encode("ascii") + b"\0"
    table = np.zeros(_NAME_SLOT + -(-len(encoded) // 8), np.uint64)
    start = table.ctypes.data
    table.view(np.uint8)[_NAME_SLOT * 8:_NAME_SLOT * 8 + len(encoded)] = np.frombuffer(encoded, np.uint8)
    table[:_NAME_SLOT] = [start + _NAME_SLOT * 8, address, _METH_FASTCALL, 0, _FROM_LONG]
    return _NEW_FUNCTION(start, table, None)
