"""Linking object code into this process.

Each `LoadedCode` owns one MCJIT engine holding one object file; the code
stays mapped exactly as long as the `LoadedCode` lives, so deleting a
compiled function frees its native code. Symbols the code calls (libm's
`expf`, `pow`, ...) resolve against the running process. With
JITGRAD_PERF_MAP=1 each load names its functions for `perf` (perf_map.py)."""
from __future__ import annotations

import threading

import llvmlite.binding as llvm

from . import perf_map
from .host import new_target_machine

_LOCK = threading.Lock()  # LLVM's JIT linking is not safe to run concurrently


class LoadedCode:
    """Object code linked into memory; `address(name)` of its symbols."""

    def __init__(self, object_code: bytes):
        with _LOCK:
            tm = new_target_machine()  # the engine takes ownership of it
            empty = llvm.parse_assembly("")
            empty.triple = llvm.get_process_triple()
            self._engine = llvm.create_mcjit_compiler(empty, tm)
            # MCJIT wants a module to start with, and would generate code for it when finalizing:
            # building a code generator for nothing, 0.6-1.5 ms of a warm start per load.
            self._engine.remove_module(empty)
            self._object = llvm.ObjectFileRef.from_data(bytes(object_code))
            self._engine.add_object_file(self._object)
            self._engine.finalize_object()
            if perf_map.enabled():
                perf_map.record(object_code, self._engine.get_function_address)

    def address(self, name: str) -> int:
        with _LOCK:
            address = self._engine.get_function_address(name)
        if not address:
            raise LookupError(f"native code has no symbol {name!r}")
        return address
