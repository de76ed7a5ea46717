"""LLVM's optimizer and code emission for the host (see runtime/host.py).

The new pass manager at O3 with the host's target machine, so the loop and
SLP vectorizers know the vector width and the features they may use.

Modules may be compiled on several threads at once (library.py builds a
library on another core while the caller compiles its graph). LLVM allows
that when no two threads share an LLVMContext or a TargetMachine (ThinLTO's
parallel backends work so), so each module is parsed into a context of its
own and every optimization and emission creates its own target machine
(~0.3 ms). llvmlite, though, puts every call into LLVM behind one
process-wide lock, which would serialize the compiles; the two long calls,
the pass pipeline and code emission, are therefore made without it
(`_unlocked`), on objects no other thread can reach."""
from __future__ import annotations

import ctypes
import threading
from collections import Counter

import llvmlite.binding as llvm
from llvmlite.binding import ffi

from runtime.host import new_target_machine


def _unlocked(name: str):
    """libllvmlite's C function `name`, called without llvmlite's lock."""
    locked = getattr(ffi.lib, name)
    function = getattr(ctypes.CDLL(ffi.lib._name), name)  # the library llvmlite loaded (dlopen shares it)
    function.argtypes, function.restype = locked.argtypes, locked.restype
    return function


_RUN_MODULE_PASSES = _unlocked("LLVMPY_RunNewModulePassManager")
_EMIT_TO_MEMORY = _unlocked("LLVMPY_TargetMachineEmitToMemory")


def parse(text: str, name: str = "module") -> "llvm.ModuleRef":
    """Parse and verify textual LLVM IR into a context of its own; a
    verifier failure is a backend bug."""
    machine = new_target_machine()  # also initializes LLVM
    module = llvm.parse_assembly(text, context=llvm.create_context())  # the module keeps its context alive
    module.name = name
    # The host's triple and data layout, so the optimizer's cost models are the host's.
    module.triple = machine.triple
    module.data_layout = str(machine.target_data)
    module.verify()
    return module


def optimize(module: "llvm.ModuleRef", level: int = 3, unroll_loops: bool = True) -> "llvm.ModuleRef":
    """Run LLVM's default O`level` pipeline in place, tuned for the host.

    `unroll_loops=False` keeps the vectorizer and its interleaving but drops
    the unroll passes, which fully unroll every loop of a small constant
    trip count: graph modules of small tensors come out twice as large and
    take twice as long to optimize and emit (MLP step: 0.35 -> 0.17 s).
    On the bench only the tiniest loops were faster unrolled (logreg_step's
    3- and 5-wide rows: 18.5 -> 19.6 us a step)."""
    options = llvm.create_pipeline_tuning_options(speed_level=level)
    options.loop_vectorization = level >= 2
    options.slp_vectorization = level >= 2
    options.loop_unrolling = unroll_loops
    builder = llvm.create_pass_builder(new_target_machine(), options)
    _RUN_MODULE_PASSES(builder.getModulePassManager(), module, builder)
    return module


# How often LLVM built object code, and how often the disk cache saved it
# (graphs and the GEMM library alike); tests and the benchmark read these.
STATS: Counter = Counter()
_STATS_LOCK = threading.Lock()  # compiles run on several threads


def count(event: str) -> None:
    with _STATS_LOCK:
        STATS[event] += 1


def emit_object(module: "llvm.ModuleRef") -> bytes:
    count("llvm_compiles")
    machine = new_target_machine()
    with ffi.OutputString() as error:
        buffer = _EMIT_TO_MEMORY(machine, module, 1, error)
        if not buffer:
            raise RuntimeError(f"LLVM could not emit {module.name}: {error}")
    try:
        return ctypes.string_at(ffi.lib.LLVMPY_GetBufferStart(buffer), ffi.lib.LLVMPY_GetBufferSize(buffer))
    finally:
        ffi.lib.LLVMPY_DisposeMemoryBuffer(buffer)


def emit_assembly(module: "llvm.ModuleRef") -> str:
    return new_target_machine().emit_assembly(module)
