"""Saved fuzzer failures, replayed through the compiler alone.

A regression is two files under regressions/: `<name>.ir`, the traced graph
as IR text, whose `//` notes say what to run (the program's source is kept
there too, for the reader), and `<name>.npz`, the graph's inputs and, for a
gradient failure, the cotangents. Replaying runs the graph as compile()
would, without the frontend: the optimize and fuse pipeline (for gradients:
autodiff, optimize, min-cut split, fuse each half), then both the reference
interpreter and the LLVM backend, and compares every result with what the
oracle allows for the unoptimized graph.
"""
from __future__ import annotations

import hashlib
import json
import pathlib

import numpy as np

from compiler.backend.native import compile_graph
from compiler.interpreter import interpret
from compiler.ir import Graph, parse, print_graph
from compiler.passes import run_pipeline
from compiler.passes.autodiff import backward_graph
from compiler.passes.pipeline import FUSE, training_graphs
from runtime.cache import DiskCache

from .oracle import expected, mismatch

DIRECTORY = pathlib.Path(__file__).parent / "regressions"
_META = "fuzz: "
NOCACHE = DiskCache(enabled=False)


def _final_example() -> bool:
    """Outside hypothesis, or hypothesis's last (shrunk) run of a failing example."""
    from hypothesis.control import _current_build_context
    context = _current_build_context.value
    return context is None or context.is_final


def save(graph: Graph, arrays, kind: str, program, grad=None, directory=None) -> str | None:
    """Write the regression (only for the final, shrunk example); its path, or None."""
    if not _final_example():
        return None
    directory = directory or DIRECTORY
    meta = {"kind": kind}
    if grad is not None:
        wrt, differentiate, cotangents = grad
        meta.update(wrt=list(wrt), differentiate=list(differentiate))
    saved = parse(print_graph(graph))
    saved.notes = [_META + json.dumps(meta)] + [f"| {line}" for line in program.describe().splitlines()]
    text = print_graph(saved)
    name = f"{kind}_{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.ir").write_text(text)
    data = {f"in{i}": np.asarray(a) for i, a in enumerate(arrays)}
    if grad is not None:
        data.update({f"cot{i}": np.asarray(c) for i, c in enumerate(grad[2])})
    np.savez(directory / f"{name}.npz", **data)
    return str(directory / f"{name}.ir")


def names(directory=None) -> list[str]:
    return sorted(p.stem for p in (directory or DIRECTORY).glob("*.ir"))


def load(name: str, directory=None):
    """(graph, meta, inputs, cotangents) of a saved regression."""
    directory = directory or DIRECTORY
    graph = parse((directory / f"{name}.ir").read_text())
    meta = json.loads(next(n for n in graph.notes if n.startswith(_META))[len(_META):])
    with np.load(directory / f"{name}.npz") as data:
        inputs = [data[f"in{i}"] for i in range(len(graph.inputs))]
        cotangents = [data[f"cot{i}"] for i in range(len(meta.get("differentiate", ())))]
    return graph, meta, inputs, cotangents


def _native(graph):
    return compile_graph(graph, cache=NOCACHE)


def replay(graph: Graph, meta: dict, inputs, cotangents) -> list[str]:
    """Run a regression on both backends; the disagreements (none: it stays fixed)."""
    if "wrt" not in meta:
        want = expected(graph, inputs)
        fused = run_pipeline(run_pipeline(graph), FUSE)
        runs = {"interpreter": interpret(fused, inputs), "llvm": _native(fused)(inputs)}
    else:
        joint = backward_graph(graph, meta["wrt"], differentiate=meta["differentiate"])
        want = expected(joint, list(inputs) + list(cotangents))
        split = training_graphs(run_pipeline(joint), len(graph.inputs), len(graph.outputs))
        runs = {}
        for backend, run in (("interpreter", interpret), ("llvm", None)):
            forward = interpret(split.forward, inputs) if run else _native(split.forward)(inputs)
            saved = forward[len(graph.outputs):]
            backward = interpret(split.backward, saved + list(cotangents)) if run \
                else _native(split.backward)(saved + list(cotangents))
            runs[backend] = forward[:len(graph.outputs)] + list(backward)
    problems = []
    names_ = list(graph.output_names) + [f"grad.{graph.inputs[i].name}" for i in meta.get("wrt", ())]
    for backend, got in runs.items():
        for name, w, g in zip(names_, want, got):
            why = mismatch(w, g)
            if why:
                problems.append(f"{backend} {name}: {why}")
    return problems
