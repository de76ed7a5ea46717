"""The pass pipeline's results on disk, so a fresh process reads the graphs an
earlier process derived from the same traced graph instead of deriving them
again (for an MLP training step the passes were a third of a warm start).

An entry is keyed by everything the passes' output depends on: the traced
graph's IR text (without its provenance notes, which passes only copy), the
facts a caller's passes read beside the graph (`reads`: which inputs a
backward differentiates, ...), PIPELINE_VERSION, and NumPy's version and the
host CPU, since constant folding evaluates ops with NumPy, whose results may
differ in the last bit between versions and SIMD paths. It holds each
stage's IR text, which the parser turns back into exactly the graph that was
printed; a stage that would not survive that round trip is never stored.
The entries live in the disk cache of compiled code (runtime/cache.py),
which checksums them: a damaged or unreadable entry is a miss, and the
passes run.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from runtime.cache import DiskCache
from runtime.host import identity

from ..ir.graph import Graph
from ..ir.text import parse, print_graph

log = logging.getLogger("jitgrad.stage_cache")

# Bump when a pass, or a rule it applies (shape, derivative and simplification rules, the fusion
# contract), gives another graph for the same input, so that older entries miss.
PIPELINE_VERSION = "1"
STATS = {"hits": 0, "stores": 0}
FROM_CACHE = " (disk cache)"  # ends the timings entry of stages read from the cache

Passes = Callable[[dict], "tuple[dict[str, Graph], dict]"]


@dataclass
class Derived:
    """What the passes derived from a traced graph."""

    graphs: dict[str, Graph]  # each stage, in pipeline order
    decided: dict = field(default_factory=dict)  # what the passes chose beside the graphs, as JSON data
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, or one entry for all
    #                                                          of them when read: "optimized+fused (disk cache)"


def run_passes(passes: Passes) -> Derived:
    """`passes(timings)` -> (graphs, decided), run here; it puts each stage's seconds into `timings`."""
    timings: dict[str, float] = {}
    graphs, decided = passes(timings)
    return Derived(graphs, decided, timings)


def derive(traced: Graph, passes: Passes, cache: DiskCache | None, reads: dict | None = None) -> Derived:
    """The stages `passes` derives from `traced`, read from `cache` when an
    earlier run stored them, else run (and stored). `reads` is what the
    passes read beside the graph, as JSON data; it is part of the key. No
    cache (None or disabled): the passes run."""
    if cache is None or not cache.enabled:
        return run_passes(passes)
    start = time.perf_counter()
    key = stage_key(traced, reads or {})
    found = _load(cache, key, traced)
    if found is not None:
        found.timings["+".join(found.graphs) + FROM_CACHE] = time.perf_counter() - start
        return found
    derived = run_passes(passes)
    _store(cache, key, traced, derived)
    return derived


def stage_key(traced: Graph, reads: dict) -> str:
    text = print_graph(traced, notes=False)
    context = json.dumps({"pipeline": PIPELINE_VERSION, "numpy": np.__version__, "host": identity(),
                          "reads": reads}, sort_keys=True)
    return hashlib.sha256(f"stages\n{context}\n{text}".encode()).hexdigest()


def _load(cache: DiskCache, key: str, traced: Graph) -> Derived | None:
    payload = cache.load(key)
    if payload is None:
        return None
    try:
        entry = json.loads(payload)
        graphs = {}
        for name, text, noted in entry["stages"]:
            graphs[name] = parse(text)
            graphs[name].notes = list(traced.notes) if noted else []
        derived = Derived(graphs, entry["decided"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:  # checksummed, yet unreadable: run the passes
        log.warning("discarding unreadable stage cache entry %s: %s", key, e)
        return None
    STATS["hits"] += 1
    return derived


def _store(cache: DiskCache, key: str, traced: Graph, derived: Derived) -> None:
    stages = _stored_form(traced, derived.graphs)
    if stages is None:
        return
    cache.store(key, json.dumps({"stages": stages, "decided": derived.decided}).encode())
    STATS["stores"] += 1


def _stored_form(traced: Graph, graphs: dict[str, Graph]) -> list | None:
    """[(stage, IR text without notes, whether it carries the traced graph's
    notes)], or None when a stage would not read back as itself. Passes copy
    the notes of their input or leave them out (the backward half of a min
    cut), so only a traced graph with notes shows which stages carry them."""
    if not traced.notes or not _round_trips(traced):  # or its text would not name this graph alone
        return None
    stages = []
    for name, graph in graphs.items():
        if graph.notes not in ([], traced.notes) or not _round_trips(graph):
            log.debug("not caching the stages of %s: stage %s does not read back as itself", traced.name, name)
            return None
        stages.append((name, print_graph(graph, notes=False), bool(graph.notes)))
    return stages


def _round_trips(graph: Graph) -> bool:
    try:
        text = print_graph(graph)
        again = parse(text)
    except (ValueError, TypeError):  # an attribute the text cannot hold; IRParseError is a ValueError
        return False
    return again == graph and print_graph(again) == text
