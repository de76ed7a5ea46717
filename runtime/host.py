"""The host CPU as LLVM sees it: one initialization, one target machine.

The backend compiles for exactly this machine (its CPU name and features,
so AVX-512 is used where present) and the loader links object code with the
same machine, so `identity()` is also part of every disk-cache key: code
built for another CPU is never loaded here."""
from __future__ import annotations

import functools

import llvmlite
import llvmlite.binding as llvm


@functools.cache
def _initialized() -> bool:
    # llvmlite 0.50: llvm.initialize() raises; these two are all a JIT needs.
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return True


@functools.cache
def identity() -> dict:
    """Everything that decides what code is valid here."""
    _initialized()
    return {
        "triple": llvm.get_process_triple(),
        "cpu": llvm.get_host_cpu_name(),
        "features": llvm.get_host_cpu_features().flatten(),
        "llvmlite": llvmlite.__version__,
        "llvm": ".".join(map(str, llvm.llvm_version_info)),
    }


def new_target_machine() -> "llvm.TargetMachine":
    """The host's target machine at -O3; a new one per use, since a target
    machine must not be shared between threads (and an execution engine
    takes ownership of the one it is given)."""
    host = identity()
    target = llvm.Target.from_triple(host["triple"])
    return target.create_target_machine(cpu=host["cpu"], features=host["features"], opt=3,
                                        reloc="pic", codemodel="jitdefault")
