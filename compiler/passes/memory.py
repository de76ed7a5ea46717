"""Memory planning: where each intermediate buffer lives in one shared arena.

An analysis, not a rewrite: the graph's node list is the schedule, one node
is one step writing one buffer (a fused kernel is a node like any other).
A value is live from the step that writes it to the last step that reads
it, both included, so a step's inputs and its output never share bytes.
Intermediates whose lifetimes do not overlap may share bytes; offsets are
assigned greedily by size (largest first, each into the tightest gap left
by the already placed buffers it is live with), the offline strategy of
TFLite's arena planner (Pisarchyk & Lee, 2020). Graph inputs belong to the
caller and are not planned; graph outputs are handed to the caller, so each
gets a dedicated buffer outside the arena and is never shared.
"""
from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass

from ..ir.graph import Graph, Value

log = logging.getLogger("jitgrad.memory")


@dataclass(frozen=True)
class Slot:
    """One intermediate's place in the arena and the steps it is live for."""

    offset: int
    size: int
    first: int  # the step that writes it
    last: int  # the last step that reads it (`first` if none does)

    def live_with(self, other: "Slot") -> bool:
        return self.first <= other.last and other.first <= self.last

    def shares_bytes_with(self, other: "Slot") -> bool:
        return self.offset < other.offset + other.size and other.offset < self.offset + self.size


@dataclass
class MemoryPlan:
    """Offsets for intermediates in one arena of `peak_bytes`; graph outputs
    get dedicated buffers outside it (`outputs`: value -> bytes)."""

    slots: dict[Value, Slot]  # intermediates, in schedule order
    outputs: dict[Value, int]
    peak_bytes: int  # the arena: what the intermediates need with reuse
    naive_bytes: int  # what they would need without reuse (aligned sizes summed)
    alignment: int

    @property
    def output_bytes(self) -> int:
        return sum(self.outputs.values())

    def summary(self) -> str:
        saved = f", {self.peak_bytes / self.naive_bytes:.0%}" if self.naive_bytes else ""
        return (f"memory: peak {format_bytes(self.peak_bytes)} for intermediates "
                f"(naive {format_bytes(self.naive_bytes)}{saved}), outputs {format_bytes(self.output_bytes)}")

    def check(self) -> "MemoryPlan":
        """Raise AssertionError if two intermediates live at the same step
        share bytes, or a slot is misaligned or outside the arena."""
        for value, slot in self.slots.items():
            if slot.offset % self.alignment or slot.offset + slot.size > self.peak_bytes:
                raise AssertionError(f"{_describe(slot)} is misaligned or outside the "
                                     f"{self.peak_bytes}-byte arena (alignment {self.alignment})")
            if value in self.outputs:
                raise AssertionError(f"{_describe(slot)} is a graph output but was placed in the arena")
        active: list[Slot] = []
        for slot in sorted((s for s in self.slots.values() if s.size), key=lambda s: s.first):
            active = [a for a in active if a.last >= slot.first]
            for other in active:
                if slot.shares_bytes_with(other):
                    raise AssertionError(f"{_describe(other)} and {_describe(slot)} are live together "
                                         "but share bytes")
            active.append(slot)
        return self


def plan_memory(graph: Graph, alignment: int = 64, reuse: bool = True, views=None) -> MemoryPlan:
    """Plan the buffers of `graph` run in node order; `reuse=False` gives
    every intermediate its own bytes (to rule the planner out when debugging).
    `views` maps values that are views of another value's buffer (the LLVM
    backend's reshapes and permutes) to that value: they get no bytes, and
    reading one keeps its base alive."""
    if alignment < 1 or alignment & (alignment - 1):
        raise ValueError(f"plan_memory: alignment must be a power of two, got {alignment}")
    outputs = {v: value_bytes(v) for v in graph.outputs if v.node is not None}
    lifetimes = live_ranges(graph, views or {})
    sizes = {v: value_bytes(v) for v in lifetimes if v not in outputs}
    offsets = assign_offsets(sizes, lifetimes, alignment, reuse)
    slots = {v: Slot(offsets[v], sizes[v], *lifetimes[v]) for v in sizes}
    peak = max((s.offset + align_up(s.size, alignment) for s in slots.values()), default=0)
    naive = sum(align_up(size, alignment) for size in sizes.values())
    plan = MemoryPlan(slots, outputs, peak, naive, alignment)
    log.debug("%s: %s", graph.name, plan.summary())
    return plan


def value_bytes(value: Value) -> int:
    """A 0-d value holds one element; a size-0 value holds none."""
    return math.prod(value.shape) * value.dtype.itemsize


def align_up(size: int, alignment: int) -> int:
    return -(-size // alignment) * alignment


def live_ranges(graph: Graph, views=None) -> dict[Value, tuple[int, int]]:
    """(writing step, last reading step) of every node result that owns a
    buffer, in schedule order; a read of a view is a read of its base."""
    views = views or {}
    ranges: dict[Value, tuple[int, int]] = {}
    for step, node in enumerate(graph.nodes):
        for v in node.inputs:
            v = views.get(v, v)
            if v in ranges:
                ranges[v] = (ranges[v][0], step)
        if node.out not in views:
            ranges[node.out] = (step, step)
    for v in graph.outputs:  # a view returned as an output keeps its base to the end
        if v in views and views[v] in ranges:
            ranges[views[v]] = (ranges[views[v]][0], len(graph.nodes))
    return ranges


def assign_offsets(sizes: dict[Value, int], lifetimes, alignment: int, reuse: bool) -> dict[Value, int]:
    """Greedy by size: the largest buffers are placed first, each at the
    start of the smallest gap between the placed buffers it is live with
    (or above them all). Offsets stay aligned since every padded size is."""
    order = sorted(sizes, key=lambda v: (-sizes[v], lifetimes[v][0]))
    placed: list[tuple[int, int, tuple[int, int]]] = []  # (offset, padded size, lifetime), by offset
    offsets = {}
    for v in order:
        padded = align_up(sizes[v], alignment)
        if padded == 0:
            offsets[v] = 0
            continue
        first, last = lifetimes[v]
        conflicts = [(o, n) for o, n, (f, l) in placed if not reuse or (f <= last and first <= l)]
        offsets[v] = _best_gap(conflicts, padded)
        bisect.insort(placed, (offsets[v], padded, lifetimes[v]))
    return offsets


def _best_gap(conflicts, size: int) -> int:
    """The start of the tightest gap of at least `size` bytes between the
    (offset, size) ranges, sorted by offset, or the end of the last one."""
    best, best_room, end = None, math.inf, 0
    for offset, padded in conflicts:
        room = offset - end
        if size <= room < best_room:
            best, best_room = end, room
        end = max(end, offset + padded)
    return end if best is None else best


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _describe(slot: Slot) -> str:
    """A slot as its print-time name (%step) with its steps and bytes."""
    return (f"%{slot.first} (live steps {slot.first}..{slot.last}, "
            f"bytes [{slot.offset}, {slot.offset + slot.size}))")
