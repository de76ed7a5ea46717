"""Calling one compiled graph: the Python side of a native call.

An `Executable` holds the graph's linked code and its manifest (see
compiler/backend/program.py for the argument layout). A call checks each
input's shape and dtype against the manifest before native code runs (a
mismatch is a ValueError, a non-array a TypeError, never an out-of-bounds read), copies
non-contiguous inputs (negative strides included) to contiguous ones,
allocates the output buffers (64-byte aligned, as the arena), and calls the entry once through a
prebuilt ctypes argument array. The arena and the argument array are per
thread, so concurrent calls from several threads never share scratch memory.
"""
from __future__ import annotations

import ctypes
import math
import threading

import numpy as np

from .loader import LoadedCode

ALIGNMENT = 64
_ENTRY = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)  # releases the GIL while native code runs


class NativeError(RuntimeError):
    """The native code reported a failure it has no specific exception for."""


class _ThreadState:
    """One thread's argument array, arena and error record."""

    def __init__(self, n_slots: int, n_imports: int, arena_bytes: int):
        self.args = (ctypes.c_void_p * (n_slots + n_imports))()
        self.arena = aligned_empty(arena_bytes)
        self.error = np.zeros(2, np.int64)
        self.args[n_slots - 2] = self.arena.ctypes.data
        self.args[n_slots - 1] = self.error.ctypes.data


def address(array: np.ndarray) -> int:
    """The address of a contiguous array's data (a quarter of `.ctypes.data`'s cost)."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(array))
    except (TypeError, ValueError):  # read-only or empty buffers
        return array.ctypes.data


def aligned_empty(nbytes: int, alignment: int = ALIGNMENT) -> np.ndarray:
    """A NumPy byte buffer whose data starts on an `alignment` boundary."""
    raw = np.empty(nbytes + alignment, np.uint8)
    start = -raw.ctypes.data % alignment
    return raw[start:start + nbytes]


class Executable:
    """A compiled graph, callable on NumPy arrays: `outputs = exe(inputs)`."""

    def __init__(self, object_code: bytes, manifest: dict, imports=()):
        """`imports`: (address, owner) of each function in the manifest's
        `imports`, which the code calls through the argument array; the
        owners (loaded code) are kept alive as long as this."""
        self.manifest = manifest
        if len(imports) != len(manifest.get("imports", ())):
            raise ValueError(f"compiled graph imports {manifest.get('imports')}, got {len(imports)} addresses")
        self._imports = list(imports)
        self._code = LoadedCode(object_code)
        self._entry = _ENTRY(self._code.address(manifest["entry"]))
        self._inputs = [(tuple(shape), np.dtype(dtype)) for shape, dtype in manifest["inputs"]]
        # All output buffers of a call come from one aligned allocation: (shape, dtype, offset, bytes).
        self._buffers, self._output_bytes = [], 0
        for shape, dtype in manifest["buffers"]:
            nbytes = math.prod(shape) * np.dtype(dtype).itemsize
            self._buffers.append((tuple(shape), np.dtype(dtype), self._output_bytes, nbytes))
            self._output_bytes += -(-nbytes // ALIGNMENT) * ALIGNMENT
        self._outputs = [tuple(o) for o in manifest["outputs"]]
        self._n_slots = len(self._inputs) + len(self._buffers) + 2
        self._local = threading.local()

    def _state(self) -> _ThreadState:
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _ThreadState(self._n_slots, len(self._imports),
                                                     self.manifest["arena_bytes"])
            for k, (address, _) in enumerate(self._imports):
                state.args[self._n_slots + k] = address
        return state

    def __call__(self, arrays) -> list[np.ndarray]:
        if len(arrays) != len(self._inputs):
            raise ValueError(f"compiled graph takes {len(self._inputs)} inputs, got {len(arrays)}")
        state = self._state()
        args = state.args
        keep = []  # contiguous copies must outlive the call
        for i, (array, (shape, dtype)) in enumerate(zip(arrays, self._inputs)):
            if not isinstance(array, np.ndarray):
                raise TypeError(f"compiled graph input {i} expects a NumPy array {dtype}{list(shape)}, got "
                                f"{type(array).__name__}")
            if array.shape != shape or array.dtype != dtype:
                raise ValueError(f"compiled graph input {i} expects {dtype}{list(shape)}, got "
                                 f"{array.dtype}{list(array.shape)}")
            if not array.flags.c_contiguous:
                array = np.ascontiguousarray(array)
                keep.append(array)
            args[i] = address(array)
        block = aligned_empty(self._output_bytes)
        start, base = address(block), len(self._inputs)
        buffers = []
        for k, (shape, dtype, offset, nbytes) in enumerate(self._buffers):
            buffers.append(block[offset:offset + nbytes].view(dtype).reshape(shape))
            args[base + k] = start + offset
        status = self._entry(args)
        if status:
            raise self._error(status, state.error)
        return [buffers[k] if kind == "buffer" else arrays[k] for kind, k in self._outputs]

    def _error(self, status: int, record) -> Exception:
        messages = self.manifest.get("errors", [])
        if 0 < status <= len(messages) and record[0] == status:
            return IndexError(messages[status - 1].format(int(record[1])))
        return NativeError(f"native code failed with status {status}")
