"""Calling one compiled graph: the Python side of a native call.

An `Executable` holds the graph's linked code and its manifest (see
compiler/backend/program.py for the argument layout). A call checks each
input's shape and dtype against the manifest before native code runs (a
mismatch is a ValueError, a non-array a TypeError, never an out-of-bounds
read), copies non-contiguous inputs (negative strides included) to
contiguous ones, hands out output buffers (64-byte aligned, as the arena)
from a block no earlier result still holds, and calls the entry once
through a prebuilt ctypes argument array (a brief graph's through its
Python entry, python_entry.py). The arena and the argument array
are per thread, so concurrent calls from several threads never share
scratch memory.

A small graph's native code takes less time than the Python around it, so
a call avoids the usual ways of reaching an array's memory (`.ctypes.data`
builds a Python object; a buffer export makes NumPy describe each new
array on its first export), and the common case runs as generated
straight-line code (call_code.py).
"""
from __future__ import annotations

import collections
import ctypes
import functools
import math
import sys
import threading

import numpy as np

from .call_code import call_lines, fast_call
from .loader import LoadedCode
from .python_entry import python_entry

ALIGNMENT = 64
SMALL_OUTPUTS = 1 << 15  # bytes: up to this, a call's output block is a ctypes array (see _output_buffers)
_ENTRY = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)  # releases the GIL while native code runs
_BRIEF_ENTRY = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)  # holds it: for a manifest's `brief` graphs
_POINTER = ctypes.c_void_p.from_address
_DATA_FIELD = object.__basicsize__  # NumPy's array struct: the object header, then `char *data`


class NativeError(RuntimeError):
    """The native code reported a failure it has no specific exception for."""


class InputsOverlapError(ValueError):
    """An input the graph's caller writes in place shares memory with
    another input; the graph assumes distinct memory (`input`: its number)."""

    def __init__(self, input: int):
        super().__init__(f"compiled graph input {input} is written in place and shares memory with another input")
        self.input = input


class _ThreadState:
    """One thread's argument array, arena and error record."""

    def __init__(self, n_slots: int, imports: list[int], arena_bytes: int):
        self.args = (ctypes.c_void_p * (n_slots + len(imports)))()
        self.args_address = ctypes.addressof(self.args)  # cheaper to pass than the array
        self.args_array = np.frombuffer(self.args, np.uint64)  # what a Python entry is passed (python_entry.py)
        self.arena = aligned_empty(arena_bytes)
        self.error = np.zeros(2, np.int64)
        self.block = None  # the last call's output block, reused by the next call once nothing holds it
        self.pad = self.start = 0  # where in `block` the aligned outputs start, and their address
        self.args[n_slots - 2] = self.arena.ctypes.data
        self.args[n_slots - 1] = self.error.ctypes.data
        for k, function in enumerate(imports):
            self.args[n_slots + k] = function


def _thread_state(local: threading.local, n_slots: int, imports: list[int], arena_bytes: int) -> _ThreadState:
    """This thread's state in `local`, made on its first call."""
    state = getattr(local, "state", None)
    if state is None:
        state = local.state = _ThreadState(n_slots, imports, arena_bytes)
    return state


def _idle_refcount() -> int:
    """`sys.getrefcount` of a thread state's block that only the state holds,
    read as the calls read it (`block = state.block`, then the count): any
    result array, or a view of one, adds to it, since NumPy makes the block
    the base of every view of its memory."""
    state = _ThreadState.__new__(_ThreadState)
    state.block = bytearray()
    block = state.block
    return sys.getrefcount(block)


IDLE_BLOCK = _idle_refcount()


def _struct_address(array: np.ndarray) -> int:
    """The data pointer read from NumPy's array struct (PyArrayObject_fields),
    in a tenth of the time the other ways take. Only ever given ndarrays."""
    return _POINTER(id(array) + _DATA_FIELD).value


def _export_address(array: np.ndarray) -> int:
    """The data pointer through a buffer export: for a NumPy whose struct differs."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(array))
    except (TypeError, ValueError):  # read-only or empty buffers
        return array.ctypes.data


def _struct_layout_holds() -> bool:
    """Whether `_struct_address` reads the right field in this NumPy build."""
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    probes = [base, base[1:], base.T, np.empty(0, np.int8), np.ones(5, np.float32) * np.float32(2),
              np.broadcast_to(base[:1], (3, 4)), np.ma.masked_array([1.0, 2.0])]
    return all(_struct_address(p) == p.ctypes.data for p in probes)


address = _struct_address if _struct_layout_holds() else _export_address  # the address of an array's data
# A Python entry reads array addresses as _struct_address does, at the compiler's offset (ARRAY_DATA).
PYTHON_ENTRIES = address is _struct_address and _DATA_FIELD == 16


def aligned_empty(nbytes: int, alignment: int = ALIGNMENT) -> np.ndarray:
    """A NumPy byte buffer whose data starts on an `alignment` boundary."""
    raw = np.empty(nbytes + alignment, np.uint8)
    start = -address(raw) % alignment
    return raw[start:start + nbytes]


def _native_error(messages: tuple, overlap: int | None, n_inputs: int, status: int, record) -> Exception:
    if 0 < status <= len(messages) and record[0] == status:
        return IndexError(messages[status - 1].format(int(record[1])))
    if overlap is not None and 0 <= overlap - status < n_inputs:
        return InputsOverlapError(overlap - status)
    return NativeError(f"native code failed with status {status}")


def _address_in(parts: list[LoadedCode], name: str) -> int:
    for code in parts:
        try:
            return code.address(name)
        except LookupError:
            continue
    raise LookupError(f"native code has no symbol {name!r} in its other parts")


class Executable:
    """A compiled graph, callable on NumPy arrays: `outputs = exe(inputs)`."""

    def __init__(self, object_code: bytes | list[bytes], manifest: dict, imports=()):
        """`object_code`: one object file, or several (the entry's first),
        each loaded on its own. `imports`: (address, owner) of each function
        in the manifest's `imports`, which the code calls through the
        argument array; the owners (loaded code) are kept alive as long as
        this. The functions the manifest `links` (the code's own, in its
        other objects) follow them there."""
        self.manifest = manifest
        if len(imports) != len(manifest.get("imports", ())):
            raise ValueError(f"compiled graph imports {manifest.get('imports')}, got {len(imports)} addresses")
        parts = [object_code] if isinstance(object_code, (bytes, bytearray, memoryview)) else object_code
        self._parts = [LoadedCode(code) for code in parts]
        self._code = self._parts[0]
        self._imports = list(imports) + [(_address_in(self._parts[1:], name), None)
                                         for name in manifest.get("links", ())]
        self._entry = (_BRIEF_ENTRY if manifest.get("brief") else _ENTRY)(self._code.address(manifest["entry"]))
        name = manifest.get("python_entry")
        self._python_entry = python_entry(self._code.address(name), name) if name and PYTHON_ENTRIES else None
        # Per input: (shape, dtype, C-contiguous strides); strides that differ are checked with flags.
        self._inputs = [(tuple(shape), np.dtype(dtype), _c_strides(shape, np.dtype(dtype).itemsize))
                        for shape, dtype in manifest["inputs"]]
        # All output buffers of a call come from one aligned block: (argument slot, shape, dtype, offset).
        self._buffers, self._output_bytes = [], 0
        for shape, dtype in manifest["buffers"]:
            self._buffers.append((len(self._inputs) + len(self._buffers), tuple(shape), np.dtype(dtype),
                                  self._output_bytes))
            nbytes = math.prod(shape) * np.dtype(dtype).itemsize
            self._output_bytes += -(-nbytes // ALIGNMENT) * ALIGNMENT
        # How to make an output block, and its address: a ctypes array for small outputs, a NumPy one for others.
        block_bytes = self._output_bytes + ALIGNMENT
        if self._output_bytes <= SMALL_OUTPUTS:
            self._new_block, self._block_address = ctypes.c_char * block_bytes, ctypes.addressof
        else:
            self._new_block, self._block_address = functools.partial(np.empty, block_bytes, np.uint8), address
        self._outputs = [tuple(o) for o in manifest["outputs"]]
        # (buffer k, input i): output buffer k may be input i's own memory, an in-place update the
        # caller would copy there anyway (compiler/backend/program.py). A call passes i's address
        # when i is writable. Inputs written in place must not overlap others: the entry checks,
        # before any step, and the call raises InputsOverlapError.
        self._donated = [tuple(d) for d in manifest.get("donated", ())]
        # Output positions whose arrays are new memory of each call's own, held by no other position.
        donated = {k for k, _ in self._donated}
        held = collections.Counter(self._outputs)
        self.fresh_outputs = frozenset(position for position, (kind, k) in enumerate(self._outputs)
                                       if kind == "buffer" and k not in donated and held[kind, k] == 1)
        n_slots = len(self._inputs) + len(self._buffers) + 2
        self._local = threading.local()
        self._state = functools.partial(_thread_state, self._local, n_slots, [a for a, _ in self._imports],
                                        manifest["arena_bytes"])
        self._error = functools.partial(_native_error, tuple(manifest.get("errors", ())),
                                        manifest.get("inputs_overlap"), len(self._inputs))
        # The common case as straight-line code (call_code.py): the outputs, or None where the general
        # path must run. Callers that count every 0.1 us call it themselves, as __call__ does.
        self.fast_call = fast_call(self, address, ALIGNMENT, IDLE_BLOCK)

    def __call__(self, arrays) -> list[np.ndarray]:
        outputs = self.fast_call(arrays)
        return self._checked_call(arrays) if outputs is None else outputs

    def inline_call(self, namespace: dict, const, known=()):
        """`fast_call`'s code, for a caller to inline in its own generated
        function: (conditions on arrays named a0, a1, ..., lines, result
        expressions); see call_code.call_lines."""
        return call_lines(self, address, ALIGNMENT, IDLE_BLOCK, namespace, const, known)

    def _checked_call(self, arrays) -> list[np.ndarray]:
        """The general call: every check with its error message, array
        subclasses, non-contiguous inputs."""
        inputs = self._inputs
        if len(arrays) != len(inputs):
            raise ValueError(f"compiled graph takes {len(inputs)} inputs, got {len(arrays)}")
        state = self._state()
        args = state.args
        read = list(arrays)  # what native code reads: contiguous copies must outlive the call
        for i, array in enumerate(arrays):
            shape, dtype, strides = inputs[i]
            if not isinstance(array, np.ndarray):
                raise TypeError(f"compiled graph input {i} expects a NumPy array {dtype}{list(shape)}, got "
                                f"{type(array).__name__}")
            if array.shape != shape or array.dtype != dtype:
                raise ValueError(f"compiled graph input {i} expects {dtype}{list(shape)}, got "
                                 f"{array.dtype}{list(array.shape)}")
            if array.strides != strides and not array.flags.c_contiguous:
                array = read[i] = np.ascontiguousarray(array)
            args[i] = address(array)
        buffers = self._output_buffers(state)
        for k, i in self._donated:
            if read[i].flags.writeable:
                buffers[k] = read[i]
                args[self._buffers[k][0]] = args[i]
        status = self._entry(state.args_address)
        if status:
            raise self._error(status, state.error)
        return [buffers[k] if kind == "buffer" else arrays[k] for kind, k in self._outputs]

    def _output_buffers(self, state) -> list[np.ndarray]:
        """The call's output buffers, their addresses written into the
        argument array. A result must never share memory with one the caller
        still holds, so the last call's block is reused only when nothing but
        this state refers to it (the caller dropped every result and every view
        of one); else the call gets a new block. Reuse saves more than the
        allocation: a big block is fresh pages that the kernel zeroes on first
        touch (a third of a 64 MB elementwise call). Small blocks are ctypes
        arrays: their address is known without asking NumPy, and NumPy views
        them without describing them first; ctypes zeroes them, which only
        small sizes can afford."""
        block = state.block
        if sys.getrefcount(block) != IDLE_BLOCK:
            block = state.block = self._new_block()
            address = self._block_address(block)
            state.pad = -address % ALIGNMENT
            state.start = address + state.pad
        buffers = []
        for slot, shape, dtype, offset in self._buffers:
            buffers.append(np.ndarray(shape, dtype, block, state.pad + offset))
            state.args[slot] = state.start + offset
        return buffers


def _c_strides(shape, itemsize: int) -> tuple:
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))
