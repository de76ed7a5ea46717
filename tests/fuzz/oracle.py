"""What each output of an IR graph may be, element by element.

A value computed by exactly rounded ops only (arithmetic, sqrt, casts,
comparisons, max/min, movement, gathers) has one right answer, bit for bit,
signed zeros included. The ops that are allowed to differ are the
transcendental functions (a few ulp: the backend's own polynomials, libm's
sin/cos/pow) and float sums and matmuls (another summation order). How far
such a difference can travel depends on the program and the data: through
`x * 2` it stays a few ulp, through `x - y` with x ~ y it grows, through
`x > 0` or a cast to int it becomes a flipped bit or a different integer.

So the tolerance is measured, not guessed: the graph is evaluated again by
the registry's reference semantics with every inexact op's result pushed by
the most it may be off (ULPS ulp for transcendental functions; n * eps *
sum|terms| for a sum of n terms or a dot product), all up, all down, and at
random, in its own dtype. An element must lie within SAFETY times the
largest move, and one downstream of an inexact op within ULPS ulp of itself
at least (pushes of two ops can cancel, or round away, where the backend's
own differences do not: gelu(cos(2)) is 1 ulp off with no push moving it);
an element no inexact op reaches must match exactly; one whose
NaN-ness or infinity changes under the pushes, or an integer or bool that
changes, is checked in shape and dtype only. A sum or matmul whose terms
could overflow in some order is pushed to +inf, -inf, NaN and the largest
finite number in turn, so what depends on it is left unchecked. NaN equals
NaN; infinities must match.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from compiler.ir import Graph

# Ops whose float results may be a few ulp off NumPy's (tests/test_backend_ops.ULP_OPS).
ULP_OPS = frozenset({"exp", "log", "log1p", "tanh", "sigmoid", "erf", "sin", "cos", "pow"})
SUM_OPS = frozenset({"sum", "matmul"})
ULPS = 4
SAFETY = 2.0
TRIALS = 5  # all up, all down, three at random


@dataclass
class Expected:
    """One output: its reference value, a tolerance per element (0: exact),
    which elements are checked in shape and dtype only, and whether signed
    zeros must match (no inexact op upstream)."""

    value: np.ndarray
    tol: np.ndarray
    unchecked: np.ndarray
    exact_sign: bool


def expected(graph: Graph, arrays, trials: int = TRIALS, seed: int = 0) -> list[Expected]:
    """Expected outputs of `graph` (unfused) on `arrays` (module docstring)."""
    rng = np.random.default_rng(seed)
    reference = _evaluate(graph, arrays, None)
    runs = [_evaluate(graph, arrays, _Push(k, rng)) for k in range(trials)]
    inexact = _downstream_of_inexact(graph)
    return [_expected(reference[v], [run[v] for run in runs], v in inexact) for v in graph.outputs]


def _evaluate(graph: Graph, arrays, push):
    env = dict(zip(graph.inputs, arrays))
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            ins = [env[v] for v in node.inputs]
            out = node.prim.evaluate(ins, node.attrs, node.out.aval)
            if push is not None and out.dtype.kind == "f":
                out = push(node, ins, out)
            env[node.out] = out
    return env


class _Push:
    """One trial's pushes: up (k = 0), down (k = 1) or random (k > 1)."""

    def __init__(self, k: int, rng):
        self.k, self.rng = k, rng

    def _direction(self, shape):
        if self.k < 2:
            return np.full(shape, 1.0 if self.k == 0 else -1.0)
        return self.rng.uniform(-1.0, 1.0, shape)

    def __call__(self, node, ins, out):
        if node.op in ULP_OPS:
            amplitude = ULPS * np.spacing(np.abs(out)).astype(np.float64) + 4 * float(np.finfo(out.dtype).tiny)
            wild = np.zeros(out.shape, bool)
        elif node.op in SUM_OPS:
            amplitude, wild = _sum_error(node, ins, out)
        else:
            return out
        pushed = out.astype(np.float64) + self._direction(out.shape) * amplitude
        pushed = np.where(np.isfinite(out), pushed, out)
        if wild.any():
            substitute = [math.inf, -math.inf, math.nan, float(np.finfo(out.dtype).max)][self.k % 4]
            pushed = np.where(wild, substitute, pushed)
        return np.asarray(pushed, out.dtype)


def _finite_abs(a):
    a = np.abs(a.astype(np.float64))
    return np.where(np.isfinite(a), a, 0.0)


def _sum_error(node, ins, out):
    """(bound of the error of another summation order, where the terms
    could overflow) for a float sum or matmul; every term counted once."""
    eps = float(np.finfo(out.dtype).eps)
    if node.op == "sum":
        (x,) = ins
        axes = tuple(node.attrs["axes"]) if x.ndim else ()
        terms = math.prod(x.shape[a] for a in axes)
        magnitude = np.sum(_finite_abs(x), axis=axes, keepdims=node.attrs["keepdim"]).reshape(out.shape)
    else:
        a, b = ins
        terms = a.shape[-1]
        magnitude = np.matmul(_finite_abs(a), _finite_abs(b)).reshape(out.shape)
    wild = magnitude * (1 + terms * eps) > float(np.finfo(out.dtype).max)
    return terms * eps * magnitude, wild


def _downstream_of_inexact(graph: Graph) -> set:
    hit = set()
    for node in graph.nodes:
        if (node.op in ULP_OPS | SUM_OPS and node.out.dtype.is_floating_point) or any(v in hit for v in node.inputs):
            hit.add(node.out)
    return hit


def _expected(reference, runs, inexact: bool) -> Expected:
    ref = np.asarray(reference)
    if ref.dtype.kind != "f":
        moved = np.zeros(ref.shape, bool)
        for run in runs:
            moved |= run != ref
        return Expected(ref, np.zeros(ref.shape), moved, True)
    nan = np.isnan(ref)
    inf = np.isinf(ref)
    unchecked = np.zeros(ref.shape, bool)
    deviation = np.zeros(ref.shape)
    with np.errstate(all="ignore"):
        for run in runs:
            unchecked |= np.isnan(run) != nan
            unchecked |= (inf | np.isinf(run)) & (run != ref) & ~nan
            step = np.abs(run.astype(np.float64) - ref.astype(np.float64))
            deviation = np.maximum(deviation, np.where(np.isfinite(step), step, 0.0))
        tol = SAFETY * deviation
        if inexact:  # pushes can cancel or round away where a real difference does not: a floor
            tol = np.maximum(tol, ULPS * np.spacing(np.abs(ref)).astype(np.float64))
    return Expected(ref, tol, unchecked, not inexact)


def mismatch(want: Expected, got) -> str | None:
    """Why `got` is not what `want` allows, or None."""
    got = np.asarray(got)
    ref = want.value
    if got.shape != ref.shape or got.dtype != ref.dtype:
        return f"is {got.dtype}{list(got.shape)}, expected {ref.dtype}{list(ref.shape)}"
    checked = ~want.unchecked
    if ref.dtype.kind != "f":
        bad = checked & (got != ref)
    else:
        with np.errstate(all="ignore"):
            nan_ref, nan_got = np.isnan(ref), np.isnan(got)
            close = np.abs(got.astype(np.float64) - ref.astype(np.float64)) <= want.tol
            exact = got == ref
            if want.exact_sign:
                exact &= np.signbit(got) == np.signbit(ref)
            finite = np.isfinite(ref)
            ok = np.where(nan_ref, nan_got, np.where(finite, np.where(want.tol > 0, close & ~nan_got, exact),
                                                      got == ref))
        bad = checked & ~ok
    if not bad.any():
        return None
    where = [tuple(int(i) for i in w) for w in np.argwhere(bad)[:4]]
    got_v = [_show(got[w]) for w in where]
    ref_v = [_show(ref[w]) for w in where]
    tol = [float(want.tol[w]) for w in where]
    return (f"{int(bad.sum())} of {bad.size} elements differ: at {where} got {got_v}, expected {ref_v} "
            f"(tolerance {tol}; {int(want.unchecked.sum())} elements unchecked)")


def _show(x):
    x = x.item() if hasattr(x, "item") else x
    return repr(x)
