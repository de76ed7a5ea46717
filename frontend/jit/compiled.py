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

import numpy as np

from compiler.ir import Graph
from compiler.passes import stage_cache
from compiler.passes.pipeline import inference_stages
from runtime.cache import default_cache
from runtime.executable import InputsOverlapError

from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from . import dump, effects
from .backward import BackwardPlan, attach, backward_stages, freed_node, history_freed, plan_backward
from .check import CHECKED_CALLS, checked_call
from .fast_path import MISS, fast_path
from .guard_code import guard_function
from .guards import arg_roots, describe_change, discover_roots, grad_state, path_name, read_call, show_grad_state
from .outputs import flatten, rebuild
from .placement import rekey, remove, swap_in
from .runner import runner
from .trace_state import ACTIVE, TRACING_LOCK, GraphBreak, is_tracing, note_user_location
from .tracer import Trace

log = logging.getLogger("jitgrad.compile")
BACKENDS = ("llvm", "interpreter")
DEFAULT_CACHE_SIZE_LIMIT = 8
_CALLER = 5  # warnings name the caller's line: (_compile | _warn_once) <- _variant_for <- _call <- __call__


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
    graph: Graph  # what runs: the optimized graph, or the forward half when outputs need gradients
    sources: list  # per graph input: ("arg", i) call tensor i, ("const", array), ("hidden", tensor),
    #                ("grad", leaf source): the leaf's .grad
    spec: object  # output structure (outputs.flatten)
    n_outputs: int  # graph outputs the spec returns (effects' values follow)
    writebacks: list  # effects.Writeback: in-place writes to the caller's tensors
    stores: list  # effects.Store: tensors stored into reachable state
    grad_updates: list  # effects.GradUpdate: what happened to leaves' .grad
    plan: BackwardPlan | None  # the compiled backward of outputs that require grad
    freed: list  # outputs whose history a backward() inside already freed
    grad_guards: list  # (leaf source, grad_state) for leaves whose .grad the trace touched
    grad_names: list  # their names, for recompile reasons
    run_graph: object  # `graph` as a callable on arrays: native code, or the interpreter (runner.py)
    entries: list = field(default_factory=list)
    guard: object = None  # the generated check of `entries` (guard_code.py)
    fast: object = None  # a plain variant's whole call, generated (fast_path.py)
    checks_left: int = CHECKED_CALLS

    def __post_init__(self):
        # Outputs that are a graph input unchanged (`x.view(3)` of an f32[3]): the result holds the
        # input's storage, so it shares the input's version counter, as an eager view does (a write
        # through it must count as a write of the input, which a saved input is checked against).
        position = {v: i for i, v in enumerate(self.graph.inputs)}
        self.input_views = [(k, position[v]) for k, v in enumerate(self.graph.outputs[:self.n_outputs])
                            if v in position]
        self.output_dtypes = [v.aval.dtype for v in self.graph.outputs[:self.n_outputs]]
        # Outputs each run returns in new memory of its own (native code's buffers): effects keep them uncopied.
        self.fresh_outputs = getattr(self.run_graph, "fresh_outputs", frozenset())
        # Plain: a call is its guards, the graph and fresh output tensors, nothing else (fast_path.py).
        # `stale_reason` has nothing to check either: no hidden tensors, no .grad read.
        self.plain = (self.plan is None and not (self.freed or self.writebacks or self.stores or self.grad_updates
                                                 or self.input_views or self.grad_guards)
                      and all(kind in ("arg", "const") for kind, *_ in self.sources))

    def run(self, tensors, roots):
        targets = effects.written_tensors(self.writebacks, tensors)
        effects.check_writable(targets)
        inputs = [_tensor_of(source, tensors) for source in self.sources]
        results = self.run_graph([t if isinstance(t, np.ndarray) else t._data for t in inputs])
        outputs = [Tensor._from_result(r, dtype) for r, dtype in zip(results, self.output_dtypes)]
        for k, i in self.input_views:
            if isinstance(inputs[i], Tensor):
                outputs[k]._version_counter = inputs[i]._version_counter
        if self.plan is not None:
            attach(self.plan, results, outputs, inputs)
        for k in self.freed:
            outputs[k].grad_fn = freed_node()
        fresh = self.fresh_outputs
        effects.replay(self.writebacks, targets, self.stores, results, roots, fresh)
        effects.replay_grads(self.grad_updates, results, tensors, fresh)
        return rebuild(self.spec, outputs, tensors)

    def written_tensors(self, tensors):
        """The caller's tensors this variant writes in place."""
        return effects.written_tensors(self.writebacks, tensors)

    def grad_leaves(self, tensors):
        """The caller's leaves whose .grad this variant changes."""
        return [_tensor_of(u.owner, tensors) for u in self.grad_updates]

    def differentiated_inputs(self, tensors):
        """The caller's tensors the compiled backward gives gradients to."""
        return [_tensor_of(self.sources[i], tensors) for i in self.plan.wrt]

    def stale_reason(self, tensors) -> str | None:
        """What the guard key cannot hold, checked on each call: tensors met
        only at use (no guard path reaches them) and the `.grad` of leaves
        the trace read. None while the variant still fits."""
        for (kind, t, *r), v in zip(self.sources, self.graph.inputs):
            if kind == "hidden" and (t.aval != v.aval or t.requires_grad != r[0]):
                return f"%{v.name} (met at use) changed"
        for (source, state), v in zip(self.grad_guards, self.grad_names):
            now = grad_state(_tensor_of(source, tensors))
            if now != state:
                return f"{v} {show_grad_state(state)} -> {show_grad_state(now)}"
        return None


def _tensor_of(source, tensors):
    kind, ref = source[:2]
    if kind == "arg":
        return tensors[ref]
    if kind == "grad":
        return _tensor_of(ref, tensors)._grad
    return ref  # a constant's array, or a hidden tensor


@dataclass
class EagerVariant:
    reason: str
    entries: list = field(default_factory=list)
    guard: object = None


class CompiledFunction:
    """The callable `compile(fn)` returns; see the module docstring."""

    _guard_by_identity = True  # another compiled function's guards read it as one object, not its caches

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
        self._stale = None  # why a cached variant was just dropped
        self._last_hit = None  # the variant the last call ran: its guard check is tried first
        self._fast = None  # its fast path (fast_path.py) when it has one and check mode is done with it
        self._warned = set()
        functools.update_wrapper(self, fn)
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            params = ()
        self._arg_names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    def __call__(self, *args, **kwargs):
        fast = self._fast
        if fast is not None and ACTIVE.trace is None:
            result = fast(args, kwargs)
            if result is not MISS:
                return result
        return self._call(args, kwargs)

    def _call(self, args, kwargs):
        if is_tracing():  # called from a function being traced: becomes part of its graph
            return self.fn(*args, **kwargs)
        with TRACING_LOCK:  # another thread's trace must not swap tracers into what we read
            variant, tensors = self._last_variant_fits(args, kwargs)
            if variant is None:
                reading, call = self._read(args, kwargs)
                tensors = [t for _, t in reading.tensors]
                variant = self._variant_for(reading, call, tensors)
                self._last_hit = variant
            else:
                call = [list(args), dict(kwargs)]
        if variant is None or isinstance(variant, EagerVariant):
            self._fast = None
            return self.fn(*args, **kwargs)
        roots = functools.partial(self._call_roots, call)
        try:
            if self.check and variant.checks_left > 0:
                variant.checks_left -= 1
                return checked_call(self.name, variant, tensors, roots, lambda: self.fn(*args, **kwargs))
            self._fast = variant.fast
            return variant.run(tensors, roots)
        except InputsOverlapError as e:  # refused before anything ran: eager sees the aliasing
            self._warn_once("overlap", f"{self.name}: running eagerly for a call where "
                                       f"%{variant.graph.inputs[e.input].name}, which it writes in place, "
                                       "shares memory with another input (a compiled graph assumes distinct "
                                       "memory)", stacklevel=_CALLER - 1)
            return self.fn(*args, **kwargs)

    def _last_variant_fits(self, args, kwargs):
        """The fast path: the last variant used, if its generated guard check
        (guard_code.py) passes for this call; else (None, None)."""
        last = self._last_hit
        if last is None:
            return None, None
        tensors = last.guard(args, kwargs)
        if tensors is None or isinstance(last, Variant) and last.stale_reason(tensors) is not None:
            return None, None
        return last, tensors

    def _variant_for(self, reading, call, tensors):
        """The cached variant for this guard key, compiling one on a miss;
        None past cache_size_limit (the call runs eagerly)."""
        key = reading.key
        variant = self.cache.get(key)
        stale = variant.stale_reason(tensors) if isinstance(variant, Variant) else None
        if stale is not None:
            del self.cache[key]  # a tensor met only at use, or a .grad read, changed: trace again
            variant = None
            self._stale = stale
        if variant is None:
            if len(self.cache) >= self.cache_size_limit:
                self._warn_once("limit", f"{self.name}: {len(self.cache)} compiled variants reached "
                                         f"cache_size_limit={self.cache_size_limit} "
                                         f"(last change: {self._reason(reading)}); new variants run eagerly")
                return None
            variant = self._compile(reading, call)
        return variant

    def lower(self, *args, **kwargs) -> Lowered:
        """Trace and optimize for these arguments without running or caching
        (the IR dump CLI's entry point). Graph breaks raise."""
        with TRACING_LOCK:
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
        if self._stale is not None:
            reason, self._stale = self._stale, None
            return reason
        return describe_change(self._last.entries, reading.entries) if self._last is not None else "first call"

    def _compile(self, reading, call):
        reason = self._reason(reading)
        if self._last is not None:
            log.info("recompiling %s: %s", self.name, reason)
        try:
            variant = self._trace(reading, call, note=f"{self.name} variant {len(self.cache) + 1}: {reason}",
                                  reuse=True)
        except GraphBreak as e:
            if self.fullgraph:
                raise CompileError(f"{self.name} cannot be compiled as one graph (fullgraph=True): {e}") from None
            warnings.warn(f"{self.name}: running eagerly for this call signature: {e}", GraphBreakWarning,
                          stacklevel=_CALLER)
            variant = EagerVariant(str(e))
        variant.entries = reading.entries
        variant.guard = guard_function(reading)
        if isinstance(variant, Variant) and variant.plain:
            variant.fast = fast_path(reading, variant)
        self.cache[reading.key] = variant
        self._last = variant
        if isinstance(variant, Variant):
            native = {}
            if self.backend == "llvm":
                native["llvm"] = variant.graph
                if variant.plan is not None:
                    native["llvm-backward"] = variant.plan.backward
            dump.write(self.name, len(self.cache), reason, variant.lowered, owner=self, native=native)
        return variant

    def _trace(self, reading, call, note=None, reuse=False) -> Variant:
        """Trace `fn` on this call into a variant. `reuse`: the passes' results
        may come from the disk cache (lower() runs them, to show their work)."""
        self.trace_count += 1
        start = time.perf_counter()
        trace = Trace(self.name)
        roots = self._call_roots(call)
        paths = [path for path, _ in reading.tensors]
        undo, tracers, originals = [], [], {}
        try:
            with trace:
                for path, tensor in reading.tensors:
                    tracers.append(trace.add_input(trace.graph.fresh_input_name(path_name(path)), tensor))
                    undo.append(swap_in(roots, path, tracers[-1]))
                originals = {id(tracer): tensor for tracer, (_, tensor) in zip(tracers, reading.tensors)}
                undo += self._place_tracers(reading, tracers, roots)
                try:
                    result = self.fn(*call[0], **call[1])
                except Exception as e:
                    note_user_location(e, self.name)
                    raise
                if trace.broken is not None:
                    raise trace.broken
                outputs, names, out_tracers = [], [], []
                spec = flatten(result, trace, {id(t): i for i, t in enumerate(tracers)}, outputs, names,
                               out_tracers)
                after, _ = read_call(self._arg_names, self._roots, call[0], call[1], originals)
                writebacks, stores = effects.collect(trace, tracers, paths, after, outputs, names)
                owners = _leaf_owners(trace, tracers)
                grad_updates = effects.collect_grads(trace, owners, outputs, names)
        finally:
            for restore in reversed(undo):
                restore()
            self._take_out_traced_values(trace, call, roots, originals)
        graph = trace.graph
        graph.set_outputs(outputs, names)
        graph.notes = [note] if note else []
        timings = {"traced": time.perf_counter() - start}
        stages = {"traced": graph}
        differentiate, freed = _needing_gradients(out_tracers)
        cache = default_cache() if reuse else None
        if differentiate:
            derived = backward_stages(graph, trace, differentiate, cache)
        else:
            derived = stage_cache.derive(graph, functools.partial(inference_stages, graph), cache)
        stages.update(derived.graphs)
        timings.update(derived.timings)
        runs = stages["forward" if differentiate else "fused"]
        sources = self._sources(trace, tracers, owners)
        start = time.perf_counter()
        run = runner(runs, self.backend, effects.in_place_outputs(sources, writebacks, grad_updates))
        timings[self.backend] = time.perf_counter() - start
        plan = None
        if differentiate:
            start = time.perf_counter()
            plan = plan_backward(derived, differentiate, len(graph.outputs), self.backend)
            timings[f"{self.backend}-backward"] = time.perf_counter() - start
        grad_guards = [(owners[leaf], grad_state(leaf._leaf[0])) for leaf in trace.grad_inputs]
        grad_names = [f"{leaf._leaf[1]}.grad" for leaf in trace.grad_inputs]
        return Variant(Lowered(stages, timings), runs, sources, spec,
                       len(out_tracers), writebacks, stores, grad_updates, plan, freed, grad_guards, grad_names, run)

    @staticmethod
    def _place_tracers(reading, tracers, roots) -> list:
        """The tracers at every other path to their tensors (`param_groups`),
        and as keys of dicts keyed by those tensors (`opt.state`); returns the
        undos."""
        undo = [swap_in(roots, path, tracers[first]) for path, first in reading.aliases]
        to_tracers = rekey({id(tensor): tracer for (_, tensor), tracer in zip(reading.tensors, tracers)})
        for d in reading.keyed_dicts:
            to_tracers(d)
        return undo

    def _take_out_traced_values(self, trace, call, roots, originals):
        """Put the caller's state back as tracing found it: dicts keyed by
        tracers (also entries added while tracing, `state[p] = {}`) are keyed
        by the caller's tensors again, and tensors the trace stored (a new
        optimizer state entry: tracers or trace-time constants) are removed.
        Each run of the graph stores real ones (effects.Store); a failed trace
        leaves the state as it was, so eager can run instead."""
        left, _ = read_call(self._arg_names, self._roots, call[0], call[1], originals)
        to_tensors = rekey(originals)
        for d in left.keyed_dicts:
            to_tensors(d)
        places = left.tensors + [(path, left.tensors[first][1]) for path, first in left.aliases]
        for path, tensor in places:
            if getattr(tensor, "_trace", None) is trace or trace.created.get(id(tensor)) is tensor:
                remove(roots, path)

    @staticmethod
    def _sources(trace, tracers, owners):
        consts = {v: a for v, a in trace.constants}
        hidden = {v: t for v, t in trace.hidden}
        grads = {value: owners[leaf] for leaf, (_, value) in trace.grad_inputs.items() if value is not None}
        args = {id(t): i for i, t in enumerate(tracers)}
        sources = []
        for value in trace.graph.inputs:
            tracer = trace.input_tracers.get(value)
            if tracer is not None and id(tracer) in args:
                sources.append(("arg", args[id(tracer)]))
            elif value in consts:
                sources.append(("const", consts[value]))
            elif value in grads:
                sources.append(("grad", grads[value]))
            else:
                sources.append(("hidden", hidden[value], hidden[value].requires_grad))
        return sources

    def _warn_once(self, what, message, stacklevel=_CALLER):
        if what not in self._warned:
            self._warned.add(what)
            warnings.warn(message, GraphBreakWarning, stacklevel=stacklevel)

    def __repr__(self):
        return f"<compiled {self.name}: {len(self.cache)} variants, {self.trace_count} traces>"


def _leaf_owners(trace, tracers) -> dict:
    """Input tracers of leaves that require grad -> where the caller's tensor is."""
    owners = {t: ("arg", i) for i, t in enumerate(tracers)}
    owners.update({trace.inputs[id(t)][1]: ("hidden", t) for _, t in trace.hidden})
    return {t: o for t, o in owners.items() if t._requires_grad and t._outside is None}


def _needing_gradients(out_tracers) -> tuple[list[int], list[int]]:
    """Outputs that get the compiled backward, and outputs whose history a
    backward() inside the function freed (their backward raises, as eager's)."""
    if not is_grad_enabled():
        return [], []
    differentiate, freed = [], []
    for k, t in enumerate(out_tracers):
        if t.requires_grad and t.grad_fn is not None:
            (freed if history_freed(t.grad_fn) else differentiate).append(k)
    return differentiate, freed


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
