"""LLVM's optimizer and code emission for the host (see runtime/host.py).

The new pass manager at O3 with the host's target machine, so the loop and
SLP vectorizers know the vector width and the features they may use."""
from __future__ import annotations

from collections import Counter

import llvmlite.binding as llvm

from runtime.host import target_machine


def parse(text: str, name: str = "module") -> "llvm.ModuleRef":
    """Parse and verify textual LLVM IR; a verifier failure is a backend bug."""
    machine = target_machine()  # also initializes LLVM
    module = llvm.parse_assembly(text)
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
    builder = llvm.create_pass_builder(target_machine(), options)
    builder.getModulePassManager().run(module, builder)
    return module


# How often LLVM built object code, and how often the disk cache saved it
# (graphs and the GEMM library alike); tests and the benchmark read these.
STATS: Counter = Counter()


def emit_object(module: "llvm.ModuleRef") -> bytes:
    STATS["llvm_compiles"] += 1
    return target_machine().emit_object(module)


def emit_assembly(module: "llvm.ModuleRef") -> str:
    return target_machine().emit_assembly(module)
