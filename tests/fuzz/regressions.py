"""Saved fuzzer failures, replayed through the compiler alone.

A regression is two files under regressions/: `<name>.ir`, a graph as IR
text, whose `//` notes say what to run (the program's source is kept there
too, for the reader), and `<name>.npz`, the graph's inputs. For a forward
failure the graph is the traced one, and replaying runs it as compile()
would: optimize, fuse. For a gradient failure it is the joint
forward+backward graph compile differentiated (its inputs: the primals,
then the outputs' cotangents), and replaying splits it by the min cut, fuses
each half and runs the forward, then the backward on the saved values.
Both backends run, without the frontend, and every result is compared with
what the oracle allows for the graph.
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


def save(graph: Graph, arrays, meta: dict, program, directory=None) -> str | None:
    """Write the regression (only for the final, shrunk example); its path, or None."""
    if not _final_example():
        return None
    directory = directory or DIRECTORY
    saved = parse(print_graph(graph))
    saved.notes = [_META + json.dumps(meta)] + [f"| {line}" for line in program.describe().splitlines()]
    text = print_graph(saved)
    name = f"{meta['kind']}_{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.ir").write_text(text)
    np.savez(directory / f"{name}.npz", **{f"in{i}": np.asarray(a) for i, a in enumerate(arrays)})
    return str(directory / f"{name}.ir")


def names(directory=None) -> list[str]:
    return sorted(p.stem for p in (directory or DIRECTORY).glob("*.ir"))


def load(name: str, directory=None):
    """(graph, meta, inputs) of a saved regression."""
    directory = directory or DIRECTORY
    graph = parse((directory / f"{name}.ir").read_text())
    meta = json.loads(next(n for n in graph.notes if n.startswith(_META))[len(_META):])
    with np.load(directory / f"{name}.npz") as data:
        inputs = [data[f"in{i}"] for i in range(len(graph.inputs))]
    return graph, meta, inputs


def _native(graph):
    return compile_graph(graph, cache=NOCACHE)


def replay(graph: Graph, meta: dict, inputs) -> list[str]:
    """Run a regression on both backends; the disagreements (none: it stays fixed)."""
    want = expected(graph, inputs)
    if meta["kind"] == "forward":
        fused = run_pipeline(run_pipeline(graph), FUSE)
        runs = {"interpreter": interpret(fused, inputs), "llvm": _native(fused)(inputs)}
    else:  # a joint graph: primals and cotangents in, outputs and gradients out
        primals, n_outputs = meta["primals"], meta["outputs"]
        split = training_graphs(graph, primals, n_outputs)
        runs = {}
        for backend, run in (("interpreter", interpret), ("llvm", None)):
            forward = interpret(split.forward, inputs[:primals]) if run else _native(split.forward)(inputs[:primals])
            rest = forward[n_outputs:] + list(inputs[primals:])
            backward = interpret(split.backward, rest) if run else _native(split.backward)(rest)
            runs[backend] = forward[:n_outputs] + list(backward)
    problems = []
    for backend, got in runs.items():
        for name, w, g in zip(graph.output_names, want, got):
            why = mismatch(w, g)
            if why:
                problems.append(f"{backend} {name}: {why}")
    return problems
