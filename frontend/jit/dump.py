"""`JITGRAD_DUMP=DIR`: every stage of every compiled function, on disk.

For the n-th variant of function `step`, DIR gets `step.n.00-traced.ir`,
`step.n.01-optimized.ir`, ... (one file per stage, in pipeline order),
`step.n.llvm.ll` with the LLVM IR (after O3) of the graph that runs
natively (and `step.n.llvm-backward.ll` for a compiled backward), and
`step.n.timings.txt` (seconds per stage), and `step.log` gets one line per
compilation saying why it happened. Names depend only on the program, so
two runs can be diffed file by file.
"""
from __future__ import annotations

import os
import re

from compiler.backend.native import llvm_ir

_names: dict[str, str] = {}  # function name -> file stem used in this process


def _stem(name: str, owner: object) -> str:
    base = re.sub(r"[^\w.-]", "_", name) or "fn"
    key = f"{base}@{id(owner)}"
    if key not in _names:
        taken = set(_names.values())
        stem, n = base, 1
        while stem in taken:
            n += 1
            stem = f"{base}-{n}"
        _names[key] = stem
    return _names[key]


def write(name: str, variant: int, reason: str, lowered, owner=None, native=None) -> str | None:
    """Write one variant's stages if JITGRAD_DUMP is set; returns the directory.
    `native` maps a file label ("llvm") to a graph that runs as native code."""
    directory = os.environ.get("JITGRAD_DUMP")
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    stem = _stem(name, owner)
    header = f"// {name} variant {variant}: {reason}\n"
    for i, (stage, graph) in enumerate(lowered.stages.items()):
        with open(os.path.join(directory, f"{stem}.{variant}.{i:02d}-{stage}.ir"), "w") as f:
            text = str(graph)  # graphs carry the note themselves, except halves made by the min cut
            f.write(text if text.startswith(header) else header + text)
    for label, graph in (native or {}).items():
        with open(os.path.join(directory, f"{stem}.{variant}.{label}.ll"), "w") as f:
            f.write(llvm_ir(graph))
    with open(os.path.join(directory, f"{stem}.{variant}.timings.txt"), "w") as f:
        width = max(map(len, lowered.timings), default=0)
        for stage, seconds in lowered.timings.items():
            f.write(f"{stage:<{width}} {seconds * 1e3:9.3f} ms\n")
    with open(os.path.join(directory, f"{stem}.log"), "a") as f:
        f.write(f"variant {variant}: {'compiled' if variant == 1 else 'recompiling'} {name}: {reason}\n")
    return directory
