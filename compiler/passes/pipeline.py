"""Passes as small named units and the pipeline that runs them in order.

Each pass is a function `Graph -> Graph`. The pipeline verifies the graph
before the first pass and after the last, and names the pass that broke it:
with an observer (the IR dump CLI and `JITGRAD_DUMP` print stages through
one) every stage is verified before the observer sees it; without one, a
failure reruns the passes verifying each stage (passes are pure, so the
rerun repeats the run), which keeps verifying off the compile path: it
cost a third of the passes' time.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..ir.graph import Graph
from ..ir.verify import VerifyError, verify
from .cleanup import cse, dce
from .fusion import fuse
from .layout import transpose_matmuls
from .partition import Split, partition
from .simplification import simplify


@dataclass(frozen=True)
class Pass:
    name: str
    apply: Callable[[Graph], Graph]


PASSES = {p.name: p for p in (Pass("cse", cse), Pass("dce", dce), Pass("simplify", simplify),
                              Pass("transpose_matmuls", transpose_matmuls), Pass("fuse", fuse))}

# What `--stage optimized` shows.
OPTIMIZE = ("simplify", "cse", "dce")
# What `--stage fused` shows: the optimized graph with its layouts chosen and
# its ops grouped into kernels.
FUSE = ("transpose_matmuls", "fuse")


def run_pipeline(graph: Graph, names=OPTIMIZE, observe=None) -> Graph:
    """Run the named passes; `observe(pass_name, graph, seconds)` sees each result."""
    verify(graph)
    if observe is not None:
        return _run_verifying_each(graph, names, observe)
    try:
        result = graph
        for name in names:
            result = PASSES[name].apply(result)
        return verify(result)
    except Exception as failure:  # noqa: BLE001  (a pass may trip over an earlier pass's bad graph)
        culprit = _broken_pass(graph, names)
        if culprit is None:
            raise
        raise culprit from failure


def _run_verifying_each(graph: Graph, names, observe=None) -> Graph:
    for name in names:
        start = time.perf_counter()
        graph = PASSES[name].apply(graph)
        elapsed = time.perf_counter() - start
        try:
            verify(graph)
        except VerifyError as e:
            raise VerifyError(f"pass {name} produced an invalid graph: {e}") from None
        if observe is not None:
            observe(name, graph, elapsed)
    return graph


def _broken_pass(graph: Graph, names) -> VerifyError | None:
    """The error naming the first pass whose result does not verify, if one does not."""
    try:
        verify(graph)
    except VerifyError as e:
        return VerifyError(f"a pass of {', '.join(names)} changed its input graph in place "
                           f"(passes must build new graphs): {e}")
    try:
        _run_verifying_each(graph, names)
    except VerifyError as e:
        return e
    except Exception:  # noqa: BLE001  (a pass that fails on a valid graph: the caller re-raises that)
        return None
    return None


def inference_stages(graph: Graph, timings: dict) -> tuple[dict[str, Graph], dict]:
    """The stages of a call whose outputs need no gradients: the optimized
    graph, then the fused graph that runs (stage_cache.Passes: each stage's
    seconds go into `timings`; the passes decide nothing beside them)."""
    start = time.perf_counter()
    optimized = run_pipeline(graph)
    timings["optimized"] = time.perf_counter() - start
    start = time.perf_counter()
    fused = run_pipeline(optimized, FUSE)
    timings["fused"] = time.perf_counter() - start
    return {"optimized": optimized, "fused": fused}, {}


def training_graphs(joint: Graph, n_primals: int, n_outputs: int, observe=None) -> Split:
    """The graphs a call that needs gradients runs: the (optimized) joint
    graph split by the min cut (partition.py), each half then fused."""
    split = partition(joint, n_primals, n_outputs)
    return Split(run_pipeline(split.forward, FUSE, observe), run_pipeline(split.backward, FUSE, observe),
                 split.n_saved)
