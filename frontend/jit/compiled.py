"""`compile(fn)`: trace on a guard-key miss, run the graph on a hit.

Each guard key (see guards.py) maps to a `Variant`: a compiled graph plus how
to feed it (the call's tensors, constants) and how to turn its results back
into what `fn` returns (outputs, in-place writes to inputs). A key whose
trace hit a graph break maps to an eager variant, which runs `fn` itself.
"""
from __future__ import annotations

import functools
import inspect
import logging
import os
import time
import warnings
from dataclasses import dataclass, field


from compiler.interpreter import interpret
from compiler.ir import Graph
from compiler.passes import run_pipeline

from ..autograd.grad_mode import is_grad_enabled
from . import dump, effects
from .check import CHECKED_CALLS, checked_call
from .guards import arg_roots, describe_change, discover_roots, path_name, read_call, swap_in
from .outputs import flatten, rebuild
from .trace_state import GraphBreak, is_tracing
from .tracer import Trace

log = logging.getLogger("jitgrad.compile")
BACKENDS = ("llvm", "interpreter")
DEFAULT_CACHE_SIZE_LIMIT = 8


class GraphBreakWarning(UserWarning):
    """A compiled function runs eagerly for some calls; the message says why."""


class CompileError(RuntimeError):
    """`fullgraph=True` and the function cannot be captured as one graph."""


@dataclass
class Lowered:
    """A traced call's stages, in pipeline order, and what each took (seconds)."""

    stages: dict[str, Graph]
    timings: dict[str, float]


@dataclass
class Variant:
    lowered: Lowered
    sources: list  # per graph input: ("arg", i) call tensor i, ("const", array), ("hidden", tensor)
    spec: object  # output structure (outputs.flatten)
    writebacks: list  # effects.Writeback: in-place writes to the caller's tensors
    stores: list  # effects.Store: tensors stored into reachable state
    entries: list = field(default_factory=list)
    checks_left: int = CHECKED_CALLS

    @property
    def graph(self) -> Graph:
        return self.lowered.stages["optimized"]

    def run(self, tensors, roots):
        arrays = []
        for kind, ref in self.sources:
            arrays.append(tensors[ref]._data if kind == "arg" else ref if kind == "const" else ref._data)
        results = interpret(self.graph, arrays)
        effects.replay(self.writebacks, self.stores, results, tensors, roots)
        return rebuild(self.spec, results, tensors)

    def written_tensors(self, tensors):
        """The caller's tensors this variant writes in place."""
        return effects.written_tensors(self.writebacks, tensors)

    def hidden_inputs_match(self) -> bool:
        """Tensors met only at use are checked on each call (no guard path reaches them)."""
        return all(t.aval == v.aval for (kind, t), v in zip(self.sources, self.graph.inputs) if kind == "hidden")


@dataclass
class EagerVariant:
    reason: str
    entries: list = field(default_factory=list)


class CompiledFunction:
    """The callable `compile(fn)` returns; see the module docstring."""

    def __init__(self, fn, *, fullgraph=False, backend="llvm", cache_size_limit=DEFAULT_CACHE_SIZE_LIMIT,
                 check=False):
        self.fn = fn
        self.fullgraph, self.backend, self.cache_size_limit = fullgraph, backend, cache_size_limit
        self.check = check or os.environ.get("JITGRAD_CHECK", "") not in ("", "0")
        self.name = getattr(fn, "__name__", type(fn).__name__)
        self.cache: dict[tuple, Variant | EagerVariant] = {}
        self.trace_count = 0
        self._roots = None
        self._last = None  # the most recently compiled variant: recompile reasons compare with it
        self._warned = set()
        functools.update_wrapper(self, fn)
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            params = ()
        self._arg_names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    def __call__(self, *args, **kwargs):
        if is_tracing():  # called from a function being traced: becomes part of its graph
            return self.fn(*args, **kwargs)
        reading, call = self._read(args, kwargs)
        tensors = [t for _, t in reading.tensors]
        if is_grad_enabled() and any(t.requires_grad for t in tensors):
            self._warn_once("grad", f"{self.name}: this call needs gradients and the compiled backward "
                                    "arrives with the autodiff pass, so it runs eagerly")
            return self.fn(*args, **kwargs)
        key = reading.key
        variant = self.cache.get(key)
        if isinstance(variant, Variant) and not variant.hidden_inputs_match():
            del self.cache[key]  # a tensor met only at use changed shape: trace again
            variant = None
        if variant is None:
            if len(self.cache) >= self.cache_size_limit:
                self._warn_once("limit", f"{self.name}: {len(self.cache)} compiled variants reached "
                                         f"cache_size_limit={self.cache_size_limit} "
                                         f"(last change: {self._reason(reading)}); new variants run eagerly")
                return self.fn(*args, **kwargs)
            variant = self._compile(reading, call)
        if isinstance(variant, EagerVariant):
            return self.fn(*args, **kwargs)
        roots = functools.partial(self._call_roots, call)
        if self.check and variant.checks_left > 0:
            variant.checks_left -= 1
            return checked_call(self.name, variant, tensors, roots, lambda: self.fn(*args, **kwargs))
        return variant.run(tensors, roots)

    def lower(self, *args, **kwargs) -> Lowered:
        """Trace and optimize for these arguments without running or caching
        (the IR dump CLI's entry point). Graph breaks raise."""
        reading, call = self._read(args, kwargs)
        return self._trace(reading, call).lowered

    # ---- internals ----------------------------------------------------------------
    def _read(self, args, kwargs):
        if self._roots is None:
            self._roots = discover_roots(self.fn)
        return read_call(self._arg_names, self._roots, args, kwargs)

    def _call_roots(self, call):
        return {**{r.label: r for r in self._roots}, **arg_roots(self._arg_names, call)}

    def _reason(self, reading) -> str:
        return describe_change(self._last.entries, reading.entries) if self._last is not None else "first call"

    def _compile(self, reading, call):
        reason = self._reason(reading)
        if self._last is not None:
            log.info("recompiling %s: %s", self.name, reason)
        try:
            variant = self._trace(reading, call, note=f"{self.name} variant {len(self.cache) + 1}: {reason}")
        except GraphBreak as e:
            if self.fullgraph:
                raise CompileError(f"{self.name} cannot be compiled as one graph (fullgraph=True): {e}") from None
            warnings.warn(f"{self.name}: running eagerly for this call signature: {e}", GraphBreakWarning,
                          stacklevel=3)
            variant = EagerVariant(str(e))
        variant.entries = reading.entries
        self.cache[reading.key] = variant
        self._last = variant
        if isinstance(variant, Variant):
            dump.write(self.name, len(self.cache), reason, variant.lowered, owner=self)
        return variant

    def _trace(self, reading, call, note=None) -> Variant:
        self.trace_count += 1
        start = time.perf_counter()
        trace = Trace(self.name)
        roots = self._call_roots(call)
        paths = [path for path, _ in reading.tensors]
        undo, tracers = [], []
        try:
            with trace:
                for path, tensor in reading.tensors:
                    tracers.append(trace.add_input(trace.graph.fresh_input_name(path_name(path)), tensor))
                    undo.append(swap_in(roots, path, tracers[-1]))
                result = self.fn(*call[0], **call[1])
                if trace.broken is not None:
                    raise trace.broken
                outputs, names = [], []
                spec = flatten(result, trace, {id(t): i for i, t in enumerate(tracers)}, outputs, names)
                after, _ = read_call(self._arg_names, self._roots, call[0], call[1])
                writebacks, stores = effects.collect(trace, tracers, paths, after, outputs, names)
        finally:
            for restore in reversed(undo):
                restore()
        graph = trace.graph
        graph.set_outputs(outputs, names)
        graph.notes = [note] if note else []
        timings = {"traced": time.perf_counter() - start}
        start = time.perf_counter()
        optimized = run_pipeline(graph)
        timings["optimized"] = time.perf_counter() - start
        lowered = Lowered({"traced": graph, "optimized": optimized}, timings)
        return Variant(lowered, self._sources(trace, len(tracers)), spec, writebacks, stores)

    @staticmethod
    def _sources(trace, n_args):
        consts = {v: a for v, a in trace.constants}
        hidden = {v: t for v, t in trace.hidden}
        sources = []
        for i, value in enumerate(trace.graph.inputs):
            if i < n_args:
                sources.append(("arg", i))
            elif value in consts:
                sources.append(("const", consts[value]))
            else:
                sources.append(("hidden", hidden[value]))
        return sources

    def _warn_once(self, what, message):
        if what not in self._warned:
            self._warned.add(what)
            warnings.warn(message, GraphBreakWarning, stacklevel=3)

    def __repr__(self):
        return f"<compiled {self.name}: {len(self.cache)} variants, {self.trace_count} traces>"


def compile(fn=None, *, fullgraph=False, dynamic=False, backend="llvm", cache_size_limit=DEFAULT_CACHE_SIZE_LIMIT,
            check=False):
    """Compile `fn` by tracing it into a static graph; usable as `@compile`
    and `@compile(...)`. `check=True` (or JITGRAD_CHECK=1) compares each
    variant's first calls with eager. See DESIGN.md §2."""
    if backend not in BACKENDS:
        raise ValueError(f"compile(backend={backend!r}): choose one of {', '.join(BACKENDS)}")
    if dynamic:
        raise NotImplementedError("compile(dynamic=True): symbolic shapes are not supported; jitgrad "
                                  "compiles one graph per input shape (up to cache_size_limit)")
    if fn is None:
        return lambda f: compile(f, fullgraph=fullgraph, backend=backend, cache_size_limit=cache_size_limit,
                                 check=check)
    if not callable(fn):
        raise TypeError(f"compile() expects a function, got {type(fn).__name__}")
    return CompiledFunction(fn, fullgraph=fullgraph, backend=backend, cache_size_limit=cache_size_limit,
                            check=check)
