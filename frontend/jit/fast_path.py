"""The per-call fast path: a plain variant's whole call as one generated function.

Most calls of a compiled function run the variant the previous call ran.
When that variant is plain (`Variant.plain`: no in-place writes, stores or
`.grad` changes to replay, no backward to attach, nothing to check beyond
its guards), a call is only: the guard check (guard_code.py), the graph on
the tensors' arrays, the results as fresh tensors in the structure `fn`
returned. Written out as straight-line code for the variant, that is a few
microseconds less per call than the general path's loops and layers.

For `compile(lambda x: x * 2 + 1)` called on an f32[10]:

    def call(args, kwargs):
        try:
            if len(args) != 1 or kwargs: return MISS
            v0 = args[0]
            if not isinstance(v0, Tensor) or v0._data.shape != c5 or ...: return MISS
            if grad_state.enabled is not True: return MISS
        except (KeyError, IndexError, AttributeError, TypeError, ValueError):
            return MISS
        a0 = v0._data
        if type(a0) is ndarray and a0.strides == c9:  # native code's common case, inlined
            ...  # (runtime/call_code.py: arguments, output block, the entry)
            r0 = b0
        else:
            r0, = run_graph([a0])[:1]
        o0 = from_result(r0, c8)
        return o0

A miss sends the call down the general path, which reads the full guard
key. Guards that check tensors past the call's own arguments (a model's
parameters) hold the tracing lock, as the general path's do, since another
thread's trace stands tracers in for them (guard_code.reads_shared_state).
"""
from __future__ import annotations

from ..tensor import Tensor
from .guard_code import Emitter, emit_guards, guarded, reads_shared_state
from .outputs import Leaf
from .trace_state import TRACING_LOCK

MISS = object()  # what a call returns when the guards fail (None is a result a function may return)


def fast_path(reading, variant):
    """`call(args, kwargs)` for a plain `variant` compiled from `reading`:
    what `fn` returns, or MISS."""
    emit = Emitter(miss="MISS")
    emit.consts.update(MISS=MISS, lock=TRACING_LOCK, run_graph=variant.run_graph,
                       from_result=Tensor._from_result)
    tensors = emit_guards(reading, emit)
    feeds = [f"{tensors[ref]}._data" if kind == "arg" else emit.const(ref) for kind, ref, *_ in variant.sources]
    n = variant.n_outputs
    results = [f"r{k}" for k in range(n)]
    body = [f"a{i} = {feed}" for i, feed in enumerate(feeds)]
    run = f"run_graph([{', '.join(f'a{i}' for i in range(len(feeds)))}])"
    general = [f"{', '.join(results)}, = {run}[:{n}]" if n else run]
    inline = getattr(variant.run_graph, "inline_call", None)  # native code's own common case, if it has one
    if inline is not None:
        guarded_inputs = [i for i, (kind, *_) in enumerate(variant.sources) if kind == "arg"]  # shape, dtype
        conditions, lines, outs = inline(emit.consts, emit.const, guarded_inputs)
        lines = lines + [f"{r} = {o}" for r, o in zip(results, outs[:n])]
        if conditions:
            body += [f"if {' and '.join(conditions)}:"] + ["    " + line for line in lines]
            body += ["else:"] + ["    " + line for line in general]
        else:
            body += lines
    else:
        body += general
    outputs = []
    for k, value in enumerate(variant.graph.outputs[:n]):
        outputs.append(f"o{k}")
        body.append(f"o{k} = from_result(r{k}, {emit.const(value.aval.dtype)})")
    body.append(f"return {_result(variant.spec, outputs, tensors, emit)}")

    if reads_shared_state(reading):
        checks = "    with lock:\n" + guarded(emit.lines, emit.miss, indent="        ")
    else:
        checks = guarded(emit.lines, emit.miss)
    source = "def call(args, kwargs):\n" + checks + "".join(f"    {line}\n" for line in body)
    return emit.define("call", source, f"<fast path of {variant.graph.name}>")


def _result(spec, outputs: list[str], tensors: list[str], emit: Emitter) -> str:
    """The expression that builds what `fn` returned (outputs.rebuild, unrolled)."""
    if isinstance(spec, Leaf):
        if spec.kind == "out":
            return outputs[spec.ref]
        if spec.kind == "view":
            return f"{emit.const(spec.ref)}({tensors[spec.ref.input]})"
        return tensors[spec.ref] if spec.kind == "input" else emit.const(spec.ref)
    container, items = spec
    if container is dict:
        return "{" + ", ".join(f"{emit.const(k)}: {_result(v, outputs, tensors, emit)}"
                               for k, v in items.items()) + "}"
    values = "[" + ", ".join(_result(v, outputs, tensors, emit) for v in items) + "]"
    if container is list:
        return values
    if container is tuple:
        return f"({values[1:-1]}{',' if len(items) == 1 else ''})"
    make = "._make" if hasattr(container, "_fields") else ""
    return f"{emit.const(container)}{make}({values})"
