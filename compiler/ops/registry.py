"""The one table of primitive ops.

Each primitive is registered once, with everything every stage needs: its
shape and dtype rule, its NumPy reference semantics (which the eager frontend
and the IR interpreter both run), and its derivative rules. Passes ask about
ops through `group` and the properties here; they never keep their own lists.

Derivative rules are one function per input (as JAX's `defvjp`), written with
ordinary tensor methods, so the same rule runs on eager tensors (eager
backward, higher-order gradients) and on IR values (the autodiff pass). A rule
names what it reads as parameters: `g` (the output's gradient), `out` (the
op's result), the input names of the primitive (`x`, `y`, ...), `shapes`
(the inputs' shapes) and any attribute by name. The autograd engine saves only
what some rule reads, and computes only the rules of inputs that need a
gradient. Reducing a gradient to a broadcast input's shape and casting it to
the input's dtype happen once, in the backward walk, never inside rules.
"""
from __future__ import annotations

import enum
import functools
import inspect
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from ..dtypes import DType
from ..shapes import check_size


class Aval(NamedTuple):
    """Abstract value: what shape inference knows about a tensor."""

    shape: tuple[int, ...]
    dtype: DType


class Group(enum.Enum):
    UNARY = "unary"
    BINARY = "binary"
    TERNARY = "ternary"
    REDUCE = "reduce"
    MOVEMENT = "movement"
    MATMUL = "matmul"
    INDEX = "index"
    SOURCE = "source"


ELEMENTWISE = frozenset({Group.UNARY, Group.BINARY, Group.TERNARY})

# Names a rule may take besides input names and attributes; `index` is the
# position of the input whose gradient a variadic primitive's rule computes.
_RULE_CONTEXT = frozenset({"g", "out", "shapes", "index"})


@dataclass(eq=False)
class Rule:
    """One input's derivative rule and the names it reads."""

    fn: Callable
    params: tuple[str, ...]

    @classmethod
    def of(cls, fn: Callable) -> "Rule":
        return cls(fn, tuple(inspect.signature(fn).parameters))


@dataclass(eq=False)
class Primitive:
    name: str
    group: Group
    infer: Callable[..., Aval]
    reference: Callable
    inputs: tuple[str, ...] = ("x",)
    attrs: tuple[str, ...] = ()
    vjp: tuple | None = None  # one rule (or None) per input; None: not differentiable
    grad_name: str = ""  # PyTorch's grad_fn class name for this op
    variadic: bool = False  # inputs are one list, named by inputs[0]
    views: bool = False  # eager result may share the input's storage
    rules: tuple = field(init=False)

    def __post_init__(self):
        if not self.grad_name:
            self.grad_name = self.name.title().replace("_", "") + "Backward0"
        rules = tuple(Rule.of(f) if f is not None else None for f in (self.vjp or ()))
        known = _RULE_CONTEXT | set(self.inputs) | set(self.attrs)
        for rule in rules:
            unknown = set(rule.params) - known if rule else set()
            if unknown:
                raise TypeError(f"{self.name}: derivative rule reads unknown names {sorted(unknown)}")
        self.rules = rules
        self.infer = _size_checked(self.infer, self.name)

    @property
    def elementwise(self) -> bool:
        return self.group in ELEMENTWISE

    @property
    def differentiable(self) -> bool:
        return bool(self.rules)

    def evaluate(self, arrays, attrs, out: Aval):
        """Run the NumPy reference semantics, giving exactly `out`'s dtype.
        Eager tensors and the IR interpreter both compute through this."""
        with np.errstate(all="ignore"):
            data = np.asarray(self.reference(*arrays, **attrs))
        return data if data.dtype == out.dtype.np else data.astype(out.dtype.np)

    def input_gradients(self, context: dict, needs, shapes, dtypes) -> list:
        """Each input's gradient (None where not needed or not differentiable),
        reduced to the input's shape and cast to its dtype. `context` maps the
        names rules read (g, out, input names, attrs) to tensors of any host:
        eager backward and the autodiff pass both call this."""
        grads = []
        for i, need in enumerate(needs):
            rule = (self.rules[0] if self.variadic else self.rules[i]) if need and self.rules else None
            if rule is None:
                grads.append(None)
                continue
            grad = rule.fn(**{p: (i if p == "index" else context[p]) for p in rule.params})
            grads.append(fit_gradient(grad, shapes[i], dtypes[i]))
        return grads

    def saved_names(self, needs: tuple[bool, ...]) -> frozenset[str]:
        """What the rules of the inputs in `needs` read: the values to save."""
        names = set()
        for i, rule in enumerate(self.rules):
            # A variadic primitive has one rule, used for every input.
            if rule is not None and (any(needs) if self.variadic else needs[i]):
                names.update(rule.params)
        return frozenset(names)

    def __repr__(self):
        return f"Primitive({self.name})"


def _size_checked(infer, name):
    """Every shape rule refuses results too large for this machine (see
    shapes.check_size): eager ops and traced graphs fail before any
    allocation or native loop, naming the op and the size."""
    @functools.wraps(infer)
    def checked(*avals, **attrs):
        out = infer(*avals, **attrs)
        check_size(out.shape, out.dtype, name)
        return out
    return checked


def fit_gradient(grad, shape, dtype):
    """Reduce a gradient over broadcast dims and cast it to the input's dtype:
    done here, once, so that no rule needs to."""
    if tuple(grad.shape) != tuple(shape):
        grad = grad.sum_to_size(shape)
    return grad.to(dtype) if grad.dtype is not dtype else grad


REGISTRY: dict[str, Primitive] = {}


def register(prim: Primitive) -> Primitive:
    if prim.name in REGISTRY:
        raise ValueError(f"primitive {prim.name!r} registered twice")
    REGISTRY[prim.name] = prim
    return prim


def get(name: str) -> Primitive:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown primitive {name!r}; registered: {sorted(REGISTRY)}") from None
