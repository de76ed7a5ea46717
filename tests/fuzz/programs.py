"""Random well-typed frontend programs and their inputs (hypothesis strategies).

A program is Python source: a function of its inputs whose body is a few
statements, each one step from steps.py (the registry's primitives through
the tensor methods that reach them, and the composites: softmax, layer_norm,
gelu, losses, indexing, item assignment, in-place ops, ...), and which
returns some of the values it made (others stay unused; a value may be used
many times). The same source runs eagerly and under `torch.compile`, and is
what a failure prints.

A step is kept only if it runs eagerly on placeholder inputs (zeros of the
inputs' shapes and dtypes), so every program is well typed by PyTorch's rules
as the frontend implements them, and results stay small (`MAX_ELEMENTS`).
Steps never depend on data: integer indices are made in range by
construction (`% n`), so a program runs on any inputs.

Inputs are float32, float64, int64 or bool (int32 now and then), of shapes that broadcast with
each other (0-d, size-0 and size-1 dims included); their values come from
`arrays`, which mixes NaN, infinities, -0.0, huge, tiny and subnormal
numbers into ordinary ones.
"""
from __future__ import annotations

import linecache
import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import frontend as torch
import frontend.nn.functional as F
from compiler import dtypes

from .steps import MOSTLY, WEIGHTED_STEPS

FILENAME = "<fuzz program>"
DTYPES = (dtypes.float32, dtypes.float64, dtypes.int64, dtypes.bool_, dtypes.float32, dtypes.float64,
          dtypes.int64, dtypes.bool_, dtypes.int32)  # int32 too, less often
FLOATS = (dtypes.float32, dtypes.float64)
MAX_INPUT_ELEMENTS = 72
MAX_ELEMENTS = 2048
MAX_RANK = 4
# Python scalars a step may combine with a tensor (as PyTorch's promotion sees them).


@dataclass(frozen=True)
class Input:
    name: str
    shape: tuple
    dtype: dtypes.DType
    requires_grad: bool = False
    index_bound: int | None = None  # an integer input used as an index: values in [0, bound)
    big: bool = False  # values from a seeded generator (drawing thousands one by one is slow)


@dataclass
class Program:
    inputs: list
    lines: list = field(default_factory=list)
    outputs: list = field(default_factory=list)

    def source(self) -> str:
        args = ", ".join(i.name for i in self.inputs)
        body = [f"    {line}" for line in self.lines] or ["    pass"]
        returned = ", ".join(self.outputs)
        return f"def program({args}):\n" + "\n".join(body) + f"\n    return ({returned},)\n"

    def describe(self) -> str:
        """The source with the inputs' types: what a failure prints."""
        sig = ", ".join(f"{i.name}: {i.dtype.short}{list(i.shape)}" + (" (requires_grad)" if i.requires_grad else "")
                        + (f" (index < {i.index_bound})" if i.index_bound is not None else "")
                        + (" (seeded)" if i.big else "") for i in self.inputs)
        return f"# inputs: {sig}\n{self.source()}"

    def function(self):
        source = self.source()
        linecache.cache[FILENAME] = (len(source), None, source.splitlines(True), FILENAME)
        namespace = {"torch": torch, "F": F, "math": math}  # no __name__: the function's __module__ is None
        exec(compile(source, FILENAME, "exec"), namespace)  # noqa: S102  (our own generated source)
        return namespace["program"]

    @property
    def grad(self) -> bool:
        return any(i.requires_grad for i in self.inputs)


# ---- building a program step by step ------------------------------------------------------------
class _Builder:
    """The program so far and a placeholder tensor (zeros) per value, which
    proves each new step well typed and tells its result's shape and dtype."""

    def __init__(self, draw, grad: bool):
        self.draw, self.grad = draw, grad
        self.program = Program([])
        self.values: dict[str, torch.Tensor] = {}
        self.steps = 0
        self.out = "v0"

    def new_input(self, shape, dtype, index_bound=None, big=False) -> str:
        name = f"x{len(self.program.inputs)}"
        requires_grad = self.grad and dtype.is_floating_point and index_bound is None and self.draw(MOSTLY)
        self.program.inputs.append(Input(name, tuple(shape), dtype, requires_grad, index_bound, big))
        self.values[name] = torch.zeros(tuple(shape), dtype=dtype)
        return name

    def pick(self, where=lambda t: True) -> str | None:
        names = [n for n, t in self.values.items() if where(t)]
        return self.draw(st.sampled_from(names)) if names else None

    def add(self, step) -> None:
        """Keep `step` (an expression, or statements assigning `self.out`) if it runs on the placeholders."""
        if step is None:
            return
        lines = [f"{self.out} = {step}"] if isinstance(step, str) else list(step)
        scope = {"torch": torch, "F": F, "math": math, **self.values}
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                exec("\n".join(lines), scope)  # noqa: S102
        except (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError, AttributeError, OverflowError):
            return
        result = scope.get(self.out)
        if any(result is t for t in self.values.values()):
            return  # a no-op (`.float()` of a float32 tensor): the same tensor under another name
        if not isinstance(result, torch.Tensor) or result.numel() > MAX_ELEMENTS or result.ndim > MAX_RANK:
            return
        self.values[self.out] = result.detach()
        self.program.lines += lines
        self.steps += 1
        self.out = f"v{self.steps}"


def _base_shape(draw):
    """Dims the inputs share (trailing-aligned), so that they broadcast."""
    rank = draw(st.sampled_from([2, 2, 3, 1, 1, 0]))
    dims = [draw(st.sampled_from([2, 3, 4, 1, 5, 0, 2, 3, 8, 17, 9])) for _ in range(rank)]
    while math.prod(dims) > MAX_INPUT_ELEMENTS:
        dims.pop()
    return dims


@st.composite
def programs(draw, max_steps=10, grad=None):
    """A program of up to `max_steps` steps; `grad`: float inputs require grad (drawn if None)."""
    grad = draw(st.booleans()) if grad is None else grad
    b = _Builder(draw, grad)
    base = _base_shape(draw)
    for _ in range(draw(st.integers(1, 3))):
        rank = draw(st.sampled_from([len(base)] * 3 + list(range(len(base)))))
        shape = [d if draw(MOSTLY) else 1 for d in base[len(base) - rank:]]
        b.new_input(shape, draw(st.sampled_from(DTYPES if not grad else FLOATS + DTYPES)))
    for _ in range(draw(st.integers(3, max_steps))):
        b.add(draw(st.sampled_from(WEIGHTED_STEPS))(draw, b))
    made = [n for n in b.values if n.startswith("v")]
    if not made:
        b.add(f"{b.program.inputs[0].name}.clone()")
        made = [n for n in b.values if n.startswith("v")]
    # Mostly the values no later step reads (so most steps matter), some not (unused values).
    used = set(re.findall(r"\b[vx]\d+\b", " ".join(re.sub(r"^\s*v\d+ = ", "", line) for line in b.program.lines)))
    returned = [made[-1]] + [n for n in made[:-1] if n not in used and draw(MOSTLY)]
    returned += draw(st.lists(st.sampled_from(made), max_size=1))
    b.program.outputs = list(dict.fromkeys(returned))
    return b.program


# ---- input values -----------------------------------------------------------------------------------
def _specials(dtype: dtypes.DType) -> list:
    if dtype is dtypes.float32:
        return [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e30, -1e30, 3e38, 1e-38, -1e-38, 1e-45, 2e-42, 88.5,
                -104.0, 1.0, -1.0]
    return [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e300, -1e300, 1.7e308, 1e-300, -1e-308, 5e-324, 1e-310,
            709.5, -745.0, 1.0, -1.0]


def _elements(dtype: dtypes.DType, specials: bool):
    if dtype is dtypes.bool_:
        return st.booleans()
    if dtype.category == dtypes.INT:
        plain = st.integers(-6, 6)
        info = np.iinfo(dtype.np)
        extremes = [v for v in (2**62, info.min, info.max, 2**31, -2**24 - 1, 10**15) if info.min <= v <= info.max]
        return st.one_of(plain, plain, plain, st.sampled_from(extremes)) if specials else plain
    width = 32 if dtype is dtypes.float32 else 64
    plain = st.one_of(st.integers(-4, 4).map(float), st.floats(-6, 6, width=width))
    return st.one_of(plain, plain, plain, st.sampled_from(_specials(dtype))) if specials else plain


def _seeded(i: Input, seed: int, n_specials: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if i.dtype.is_floating_point:
        data = rng.standard_normal(i.shape) * 3
    else:
        data = rng.integers(-5, 6, i.shape)
    data = np.asarray(data, i.dtype.np)
    if n_specials and data.size:
        specials = _specials(i.dtype) if i.dtype.is_floating_point else [2**62, -2**63, 2**63 - 1]
        data.flat[rng.integers(0, data.size, n_specials)] = rng.choice(np.array(specials, i.dtype.np), n_specials)
    return data


@st.composite
def arrays(draw, program: Program):
    """Input arrays for `program`; about half the programs get special values."""
    specials = draw(st.booleans())
    out = []
    for i in program.inputs:
        if i.big:
            out.append(_seeded(i, draw(st.integers(0, 2**32 - 1)), specials and draw(st.integers(0, 4))))
            continue
        if i.index_bound is not None:
            elements = st.integers(0, i.index_bound - 1)
        else:
            elements = _elements(i.dtype, specials)
        out.append(draw(hnp.arrays(i.dtype.np, i.shape, elements=elements)))
    return out


LAYOUTS = ("C", "F", "strided")


@st.composite
def cases(draw, max_steps=10, grad=None):
    """(program, input sets for one or two calls, each input's memory layout)."""
    program = draw(programs(max_steps, grad))
    calls = [draw(arrays(program)) for _ in range(draw(st.integers(1, 2)))]
    layouts = [draw(st.sampled_from(LAYOUTS)) if len(i.shape) else "C" for i in program.inputs]
    return program, calls, layouts
