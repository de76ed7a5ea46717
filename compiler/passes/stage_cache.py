"""The pass pipeline's results on disk, so a fresh process reads the graphs an
earlier process derived from the same traced graph instead of deriving them
again (for an MLP training step the passes were a third of a warm start).

An entry is keyed by everything the passes' output depends on: the traced
graph (its flat form, ir/flat.py, which holds what its IR text holds, source
locations included, but not its provenance notes, which passes only copy),
the facts a caller's passes read beside the graph (`reads`: which inputs a
backward differentiates, ...), PIPELINE_VERSION, and NumPy's version and the
host CPU, since constant folding evaluates ops with NumPy, whose results may
differ in the last bit between versions and SIMD paths. It holds each stage
in that flat form, marshalled: reading it back takes a fraction of the time
parsing IR text did, which was most of a warm start's stage reads. A stage
that would not read back as exactly itself is never stored.
The entries live in the disk cache of compiled code (runtime/cache.py),
which checksums them: a damaged or unreadable entry is a miss, and the
passes run.
"""
from __future__ import annotations

import hashlib
import json
import logging
import marshal
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from runtime.cache import DiskCache
from runtime.host import identity

from ..ir.flat import from_flat, to_flat
from ..ir.graph import Graph

log = logging.getLogger("jitgrad.stage_cache")

# Bump when a pass, or a rule it applies (shape, derivative and simplification rules, the fusion
# contract), gives another graph for the same input, so that older entries miss.
PIPELINE_VERSION = "2"  # 2: entries hold flat graphs (ir/flat.py), no longer IR text
ENTRY_FORMAT = "jitgrad-stages-flat-1"  # the first item of an entry: what an entry of another layout lacks
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
    try:
        key = stage_key(traced, reads or {})
    except TypeError as e:  # a traced graph the flat form cannot hold is no key
        log.debug("not caching the stages of %s: %s", traced.name, e)
        return run_passes(passes)
    found = _load(cache, key, traced)
    if found is not None:
        found.timings["+".join(found.graphs) + FROM_CACHE] = time.perf_counter() - start
        return found
    derived = run_passes(passes)
    _store(cache, key, traced, derived)
    return derived


def stage_key(traced: Graph, reads: dict) -> str:
    """TypeError when the flat form cannot hold `traced`."""
    context = json.dumps({"pipeline": PIPELINE_VERSION, "numpy": np.__version__, "host": identity(),
                          "reads": reads}, sort_keys=True)
    return hashlib.sha256(f"stages\n{context}\n{to_flat(traced)!r}".encode()).hexdigest()


def _load(cache: DiskCache, key: str, traced: Graph) -> Derived | None:
    payload = cache.load(key)
    if payload is None:
        return None
    try:
        entry_format, stages, decided = marshal.loads(payload)
        if entry_format != ENTRY_FORMAT:
            raise ValueError(f"entry format {entry_format!r}, expected {ENTRY_FORMAT!r}")
        if not stages or type(decided) is not dict:
            raise ValueError("an entry holds one stage or more, and what the passes decided as a dict")
        graphs = {}
        for name, flat, noted in stages:
            if type(name) is not str:
                raise TypeError(f"a stage is named by a string, got {name!r}")
            graphs[name] = from_flat(flat)
            graphs[name].notes = list(traced.notes) if noted else []
        derived = Derived(graphs, decided)
    # checksummed, yet unreadable (a bug, or another layout): run the passes
    except (ValueError, KeyError, TypeError, IndexError, EOFError, AttributeError) as e:
        log.warning("discarding unreadable stage cache entry %s: %s", key, e)
        return None
    STATS["hits"] += 1
    return derived


def _store(cache: DiskCache, key: str, traced: Graph, derived: Derived) -> None:
    stages = _stored_form(traced, derived.graphs)
    if stages is None:
        return
    try:
        payload = marshal.dumps((ENTRY_FORMAT, stages, derived.decided))
    except ValueError as e:  # `decided`, or a shape, holds something marshal cannot write
        log.debug("not caching the stages of %s: %s", traced.name, e)
        return
    cache.store(key, payload)
    STATS["stores"] += 1


def _stored_form(traced: Graph, graphs: dict[str, Graph]) -> list | None:
    """[(stage, flat form, whether it carries the traced graph's notes)], or
    None when a stage would not read back as itself. Passes copy the notes
    of their input or leave them out (the backward half of a min cut), so
    only a traced graph with notes shows which stages carry them."""
    if not traced.notes or _reads_back(traced) is None:  # or its key would not name this graph alone
        return None
    stages = []
    for name, graph in graphs.items():
        flat = _reads_back(graph) if graph.notes in ([], traced.notes) else None
        if flat is None:
            log.debug("not caching the stages of %s: stage %s does not read back as itself", traced.name, name)
            return None
        stages.append((name, flat, bool(graph.notes)))
    return stages


def _reads_back(graph: Graph) -> tuple | None:
    """The graph's flat form if it reads back as exactly this graph, else None."""
    try:
        flat = to_flat(graph)
        again = from_flat(marshal.loads(marshal.dumps(flat)))
    except (ValueError, TypeError, KeyError, IndexError):  # something the flat form or marshal cannot hold
        return None
    return flat if again == graph and repr(to_flat(again)) == repr(flat) else None
