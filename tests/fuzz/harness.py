"""Run one program three ways and compare: eagerly, `torch.compile(fn,
backend="interpreter")` and `torch.compile(fn)` (LLVM), forward and, when
inputs require grad, the gradients of a weighted sum of the outputs.

Every result is compared with what oracle.py allows for the traced graph
(forward) and the joint forward+backward graph compile built (gradients) on
the same inputs. A compiled result that the oracle rejects while eager's
passes is a compiler bug: that graph and its inputs are saved under
regressions/ (regressions.py), which test_regressions.py replays from then
on. Anything else (eager disagreeing with its own traced graph, a call
raising or writing into its inputs, a `.grad` set on one side and None on
the other) is a frontend bug and is reported with the program's source,
which is its reproduction.
"""
from __future__ import annotations

import warnings

import numpy as np

import frontend as torch
from frontend.jit.compiled import Variant

from . import regressions
from .oracle import expected, mismatch
from .programs import Program

BACKENDS = ("interpreter", "llvm")
WEIGHTS = (1.0, -2.0, 0.5, 3.0, -1.5, 0.25)  # exact in every float dtype: the cotangents are these


class FuzzFailure(AssertionError):
    """A program's results disagree; the message says how, and where its regression was saved."""


class Skipped(Exception):
    """Not a program to compare: eager itself raised on these inputs."""


def weights(shape, dtype) -> np.ndarray:
    n = int(np.prod(shape))
    return np.resize(np.array(WEIGHTS), n).reshape(shape).astype(dtype)


def laid_out(array: np.ndarray, layout: str) -> np.ndarray:
    """A fresh copy of `array` in memory order `layout`: "C", "F" (column-major) or "strided"
    (every other element of a larger buffer): compiled code must read any strides."""
    if layout == "F":
        return np.asfortranarray(array).copy(order="F")
    if layout == "strided" and array.ndim:
        wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
        wide[..., ::2] = array
        return wide[..., ::2]
    return np.array(array, copy=True)


def _backward(outputs):
    """backward() of the weighted sum of the outputs that require grad."""
    loss = None
    for o in outputs:
        if o.requires_grad:
            term = (o * torch.from_numpy(weights(o.shape, o.dtype.np))).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()


def training_step(fn):
    """`fn`, the backward of its outputs and the inputs' gradients as one
    function: compile captures it whole (DESIGN.md §2, use 2)."""
    def step(*inputs):
        outputs = fn(*inputs)
        _backward(outputs)
        return tuple(o.detach() for o in outputs) + tuple(x.grad for x in inputs if x.requires_grad)
    return step


def run(fn, program: Program, arrays, layouts=None, step=False):
    """(outputs, then each input's .grad) after one call of `fn` and, unless
    `fn` is a training `step`, backward() of its weighted outputs."""
    layouts = layouts or ["C"] * len(arrays)
    tensors = [torch.from_numpy(laid_out(a, layout)).requires_grad_(i.requires_grad)
               for a, layout, i in zip(arrays, layouts, program.inputs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outputs = fn(*tensors)
        if not step:
            _backward(outputs)
    for t, a, i in zip(tensors, arrays, program.inputs):
        if np.ascontiguousarray(t.detach().numpy()).tobytes() != np.ascontiguousarray(a).tobytes():
            raise FuzzFailure(f"input {i.name} was modified by the call: now {t.detach().numpy()}")
    return ([None if o is None else o.detach().numpy() for o in outputs],
            [None if t.grad is None else t.grad.numpy() for t in tensors])


def check(program: Program, calls, layouts=None, save=True, step=False) -> None:
    """Run `program` on each input set of `calls` eagerly and compiled (one
    compiled function per backend, called once per input set: later calls
    reuse the compiled code and must leave earlier results alone); raise
    FuzzFailure where a result breaks the oracle, Skipped if eager raises.
    `step`: compile the whole training step (training_step) instead."""
    fn = program.function()
    fn = training_step(fn) if step else fn
    eager = []
    for arrays in calls:
        try:
            eager.append(run(fn, program, arrays, step=step))
        except FuzzFailure as e:
            _fail(program, arrays, f"eagerly: {e}", e)
        except Exception as e:  # noqa: BLE001
            raise Skipped(f"{type(e).__name__}: {e}") from e
    results, variant = {}, None
    for backend in BACKENDS:
        compiled = torch.compile(fn, backend=backend, fullgraph=True)
        for k, arrays in enumerate(calls):
            try:
                results.setdefault(k, {})[backend] = run(compiled, program, arrays, layouts, step)
            except FuzzFailure as e:
                _fail(program, arrays, f"compile(backend={backend!r}): {e}", e)
            except Exception as e:  # noqa: BLE001
                _fail(program, arrays, f"compile(backend={backend!r}) raised {type(e).__name__}: {e}", e)
        if variant is None:
            (variant,) = compiled.cache.values()
            assert isinstance(variant, Variant)
    for k, arrays in enumerate(calls):
        _Comparison(program, arrays, variant, eager[k], results[k], save, f"call {k + 1}: ", step).run()


class _Comparison:
    """One call's results (eager's and each backend's) against the oracle."""

    def __init__(self, program, arrays, variant, eager, results, save, call, step):
        self.program, self.arrays, self.variant, self.save, self.call = program, arrays, variant, save, call
        self.eager, self.results, self.step = eager, results, step
        self.graph = variant.lowered.stages["traced"]
        self.graph_arrays = [_source_array(s, arrays) for s in variant.sources]
        self.graph_output = []  # per returned value: its graph output, or None for a None
        for leaf in variant.spec[1]:
            if leaf.kind == "view":  # a view of an input, returned as eager's view; the graph computes it too
                self.graph_output.append(leaf.ref.output)
            elif leaf.kind == "out" or (leaf.kind == "py" and leaf.ref is None):
                self.graph_output.append(leaf.ref if leaf.kind == "out" else None)
            else:
                _fail(program, arrays, f"returned a value that is not a graph output: {leaf}")
        self.names = list(program.outputs) + [f"{i.name}.grad" for i in program.inputs if i.requires_grad] * step

    def run(self):
        want = expected(self.graph, self.graph_arrays)
        wanted = [None if k is None else want[k] for k in self.graph_output]
        forward = (self.graph, self.graph_arrays, {"kind": "forward"})
        self._compare(self.names, wanted, lambda r: r[0], forward)
        grads = [i.name for i in self.program.inputs]
        if self.step:  # the leaves' .grad: what the step returned
            returned = iter(wanted[len(self.program.outputs):])
            self._compare([f"{n}.grad" for n in grads], [next(returned) if i.requires_grad else None
                                                         for i in self.program.inputs], lambda r: r[1], forward)
        elif any(g is not None for r in [self.eager, *self.results.values()] for g in r[1]):
            self._gradients(grads)

    def _gradients(self, names):
        """The inputs' .grad against the joint graph compile differentiated
        (autodiff of the traced graph, optimized), fed the outputs' cotangents."""
        plan = self.variant.plan
        if plan is None:
            _fail(self.program, self.arrays, "inputs got gradients, but the compiled variant has no backward plan")
        arrays = self.graph_arrays + self._cotangents(plan.differentiate)
        want = expected(plan.joint, arrays)[len(self.graph.outputs):]
        by_input = {s[1]: w for s, w in zip((self.variant.sources[i] for i in plan.wrt), want)}
        wanted = [by_input.get(i) for i in range(len(self.program.inputs))]
        meta = {"kind": "gradient", "primals": len(self.graph.inputs), "outputs": len(self.graph.outputs)}
        self._compare([f"{n}.grad" for n in names], wanted, lambda r: r[1], (plan.joint, arrays, meta))

    def _cotangents(self, differentiate):
        """Each differentiated graph output's cotangent: the weights of the outputs it is."""
        out = []
        for k in differentiate:
            aval = self.graph.outputs[k].aval
            total = np.zeros(aval.shape, aval.dtype.np)
            for ref in self.graph_output:
                if ref == k:
                    total = total + weights(aval.shape, aval.dtype.np)
            out.append(total.astype(aval.dtype.np))
        return out

    def _compare(self, names, wanted, pick, regression):
        """Each of `names` (picked from a run's results by `pick`) against the
        oracle's `wanted`; None where eager gives None (an unused input's
        .grad). `regression`: (graph, its inputs, meta) to save on a failure."""
        eager = pick(self.eager)
        for backend, r in [("eager", self.eager), *self.results.items()]:
            for name, want, got, e in zip(names, wanted, pick(r), eager):
                if e is None:
                    if got is not None:
                        _fail(self.program, self.arrays, f"{self.call}{name} is set {_how(backend)}, None eagerly")
                    continue
                if got is None or want is None:
                    _fail(self.program, self.arrays, f"{self.call}{name} is {'None' if got is None else 'set'} "
                          f"{_how(backend)}, expected {'None' if want is None else 'a tensor'}")
                why = mismatch(want, got)
                if why and backend == "eager":
                    _fail(self.program, self.arrays, f"{self.call}eager {name} disagrees with its traced graph: "
                          f"{why}")
                if why:
                    where = regressions.save(*regression, self.program) if self.save else None
                    _fail(self.program, self.arrays, f"{self.call}{_how(backend)} {name}: {why}", saved=where)


def _how(backend):
    return "eagerly" if backend == "eager" else f"compile(backend={backend!r})"


def _source_array(source, arrays):
    kind, ref = source[:2]
    if kind == "arg":
        return np.asarray(arrays[ref])
    if kind == "const":
        return np.asarray(ref)
    raise AssertionError(f"unexpected graph input source {source}")


def _fail(program, arrays, message, cause=None, saved=None):
    shown = "\n".join(f"  {i.name} = {np.array2string(a, separator=', ', threshold=100)}"
                      for i, a in zip(program.inputs, arrays))
    where = f"\nsaved as a regression test: {saved}" if saved else ""
    raise FuzzFailure(f"{message}\n{program.describe()}inputs:\n{shown}{where}") from cause
