"""Tracer tensors: frontend Tensors whose value is an IR value, not data.

A `Tracer` is a `frontend.Tensor`, so user code, `nn.functional` and the
in-place machinery treat it as one; every op goes through the same
`TensorOps` methods as eager and, in `Tracer._apply`, records a node (with
the user's file:line) instead of computing. Whatever needs concrete values
(`item()`, `bool()`, `numpy()`, boolean masks) raises `GraphBreak`.

In-place ops rebind the tracer to a new value (functionalization); a write
into a view also rebinds its base (`base` with the view's elements
replaced), and other views of that base re-derive their value when next
read, as eager views see their base's storage change.
"""
from __future__ import annotations

import math

import numpy as np

from compiler.indexing_ops import put_at_positions
from compiler.ir import Graph, Value, format_aval
from compiler.ops import REGISTRY, Aval

from ..autograd.grad_mode import is_grad_enabled, no_grad, set_grad_enabled
from ..tensor import Size, Tensor, _DetachReplay, _Version, _ViewReplay, record_if_needed, through_detach
from .trace_state import ACTIVE, GraphBreak, user_location

GRADIENTS_INSIDE = ("a tensor created inside a compiled function requires grad: leaves must come from "
                    "outside (arguments, globals, module parameters)")
DATA_DEPENDENT = "data-dependent control flow or value: the graph does not have values until it runs"


class Tracer(Tensor):
    """A tensor being traced; see the module docstring."""

    def __init__(self, trace: "Trace", value: Value):
        self._trace, self._sym = trace, value
        self._dtype = value.dtype
        self._version_counter = _Version()
        self._sym_version = 0  # the rest of a new tensor's fields are Tensor's class defaults
        self._leaf_hooks = {}
        self._outside = None  # for an input that requires grad through history outside the trace: its name
        self._is_input = False
        self._leaf = None  # for an input leaf that requires grad: the caller's tensor (its .grad is read lazily)

    # ---- the IR value, kept current through in-place writes -----------------------
    def _current(self) -> Value:
        if self._base is not None and self._sym_version != self._version_counter.value:
            self._sym = self._view_fn(self._base)._current()
            self._sym_version = self._version_counter.value
        return self._sym

    def _store(self, result: Tensor):
        """In-place write: `result` (already shape-checked) becomes this tensor's value."""
        result = self._trace.lift(result)
        if result.dtype is not self.dtype:
            result = result.to(self.dtype)
        if self._base is not None:
            base = self._base
            with no_grad():
                positions = self._view_fn(base.arange_(base.numel()).reshape(base.shape))
            # Recorded like eager's CopySlices, so a compiled backward flows through the write; eager's
            # autograd never sees a write through detach().
            with set_grad_enabled(is_grad_enabled() and not through_detach(self)):
                base._sym = put_at_positions(base, positions, result)._current()
        self._sym = result._current()
        self._version_counter.value += 1
        self._sym_version = self._version_counter.value
        for t in (self, self._base):
            if t is not None and t._requires_grad and t._grad_fn is None:  # a leaf updated under no_grad
                self._trace.leaf_versions.setdefault(t, []).append(t._sym)

    # ---- autograd: what saved values keep, and leaves' .grad ------------------------
    def _payload(self):
        return self._current()

    @classmethod
    def _from_saved(cls, value, version, node):
        t = Tracer(ACTIVE.trace, value)
        t._version_counter, t.grad_fn = version, node
        return t

    def _snapshot(self):
        return Tracer(self._trace, self._current())

    @property
    def grad(self):
        self._load_grad()
        return Tensor.grad.fget(self)

    @grad.setter
    def grad(self, value):
        self._load_grad()
        Tensor.grad.fset(self, value)

    def _load_grad(self):
        """An input leaf's `.grad` enters the graph when first touched (`%w.grad`)."""
        if self._leaf is not None and self not in self._trace.grad_inputs:
            self._trace.load_grad(self)

    def _accumulate_grad(self, grad, create_graph):
        """Eager's accumulation (functional through `_snapshot` and `_store`),
        after the leaf's `.grad` has entered the graph."""
        if grad is not None:
            if self._outside is not None:
                raise GraphBreak(f"backward() inside the compiled function reaches {self._outside}, which was "
                                 "computed outside it with gradients: its gradient would flow on outside the "
                                 "graph")
            self._load_grad()
        super()._accumulate_grad(grad, create_graph)

    def _is_writable(self):
        if self._outside is not None and is_grad_enabled():
            raise GraphBreak(f"writing {self._outside} in place: it carries gradient history from outside the "
                             "compiled function, which a write inside cannot extend")
        return True

    # ---- TensorOps hooks ----------------------------------------------------------
    @property
    def shape(self):
        return Size(self._sym.shape)

    @property
    def aval(self):
        return self._sym.aval

    def _apply(self, op, *inputs, **attrs):
        self._check_thread()
        return self._trace.apply(op, inputs, attrs)

    def _check_thread(self):
        if ACTIVE.trace is not self._trace:
            raise RuntimeError(
                f"this tensor is being traced by the compiled function {self._trace.graph.name!r} in another "
                "thread (tracing stands tracers in for the tensors it reads until it finishes): let the first "
                "call of a compiled function finish before using its tensors from other threads")

    def _lift(self, value, dtype):
        # The value in the dtype's own Python type: `1` and `1.0` make one f32 constant.
        value = dtype.np.type(value).item()
        return self._trace.emit("full", (), {"value": value, "shape": (), "dtype": dtype})

    def _check_probabilities(self):
        """Values are unknown while tracing."""

    def _nonzero(self):
        raise GraphBreak("boolean mask indexing gives a shape that depends on the data")

    def detach(self):
        """As eager's detach(), an alias: the same elements and version
        counter, outside autograd. Held as a view of this tensor's base by
        `stop_gradient`, so a write through it (`x.detach().zero_()`,
        `p.data.add_(u)`) reaches this tensor, and one to this tensor shows
        through it."""
        out = self._trace.emit("stop_gradient", (self,), {})
        out._version_counter, out._base = self._version_counter, self._base if self._base is not None else self
        out._view_fn, out._sym_version = _DetachReplay(self._view_fn), self._version_counter.value
        return out

    # ---- what needs values: graph breaks ------------------------------------------
    @property
    def _data(self):
        self._check_thread()
        raise GraphBreak(f"reading a traced tensor's values ({DATA_DEPENDENT})")

    def _needs_value(self, what):
        raise GraphBreak(f"{what} on a traced tensor: {DATA_DEPENDENT}")

    def item(self):
        self._needs_value("Tensor.item()")

    def tolist(self):
        self._needs_value("Tensor.tolist()")

    def numpy(self, *, force=False):
        self._needs_value("Tensor.numpy()")

    def __array__(self, dtype=None, copy=None):
        self._needs_value("converting to a NumPy array")

    def __bool__(self):
        self._needs_value("bool() (an `if` or `while` on a tensor)")

    def __float__(self):
        self._needs_value("float()")

    def __int__(self):
        self._needs_value("int()")

    def __index__(self):
        self._needs_value("using a tensor as a Python index")

    def __format__(self, spec):
        if not self._sym.shape:
            self._needs_value("formatting a 0-d tensor's value")
        return object.__format__(self, spec)

    @property
    def data(self):
        """detach()'s alias, so `p.data.add_(u)` updates p. Eager's `.data`
        has a version counter of its own; this one shares p's, so such a
        write advances p's version where eager's leaves it."""
        return self.detach()

    @data.setter
    def data(self, value):
        raise GraphBreak("assigning `.data` of a traced tensor")

    def data_ptr(self):
        self._needs_value("data_ptr()")

    # ---- shape-only answers ---------------------------------------------------------
    def __len__(self):
        if not self._sym.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._sym.shape[0]

    def __iter__(self):
        if not self._sym.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._sym.shape[0]))

    def nelement(self):
        return math.prod(self._sym.shape)

    def stride(self, dim=None):
        strides, step = [], 1
        for n in reversed(self._sym.shape):
            strides.append(step)
            step *= max(n, 1)
        strides = tuple(reversed(strides))
        return strides if dim is None else strides[dim]

    def is_contiguous(self):
        return self._base is None

    def contiguous(self):
        return self if self._base is None else self.clone()

    def view(self, *shape):
        return self.reshape(*shape)

    def __repr__(self):
        node = self._sym.node
        made = f" = {node.op} at {node.loc}" if node is not None and node.loc else ""
        return f"Tracer({format_aval(self._sym.aval)}{made})"

    __str__ = __repr__


class Trace:
    """One recording in progress: the graph, and how outside tensors enter it."""

    def __init__(self, name: str):
        self.graph = Graph(name)
        self.created: dict[int, Tensor] = {}  # eager tensors made during the trace
        self.inputs: dict[int, tuple[Tensor, Tracer]] = {}  # outside tensor -> its input tracer
        self.constants: list[tuple[Value, np.ndarray]] = []  # lifted constant data
        self.hidden: list[tuple[Value, Tensor]] = []  # outside tensors met only at use
        self._const_cache: dict[tuple, Tracer] = {}
        self.broken: GraphBreak | None = None
        # Autograd facts the IR does not hold (see compiler/passes/autodiff.py):
        self.recorded: set[Value] = set()  # values computed with gradients recorded
        self.leaf_versions: dict[Tracer, list[Value]] = {}  # leaves updated in place under no_grad
        # Input leaf -> its .grad at entry (tracer and graph input; None, None if it had none).
        self.grad_inputs: dict[Tracer, tuple[Tracer | None, Value | None]] = {}
        self.input_tracers: dict[Value, Tracer] = {}

    def __enter__(self):
        if ACTIVE.trace is not None:
            raise RuntimeError("jitgrad traces one function at a time; a trace is already active")
        ACTIVE.trace = self
        return self

    def __exit__(self, *exc):
        ACTIVE.trace = None

    def add_input(self, name: str, tensor: Tensor) -> Tracer:
        """The tracer for an outside tensor: it requires grad as the tensor
        does, and a leaf's current `.grad` enters the graph too (`%w.grad`)."""
        value = self.graph.add_input(name, Aval(tuple(tensor.shape), tensor.dtype))
        tracer = Tracer(self, value)
        tracer._is_input = True
        self.inputs[id(tensor)] = (tensor, tracer)
        self.input_tracers[value] = tracer
        if tensor.requires_grad:
            tracer._requires_grad = True
            if tensor.grad_fn is not None:
                tracer._outside = name
            elif tensor._leaf_hooks and any(tensor._leaf_hooks.values()):
                raise GraphBreak(f"{name} has gradient hooks (register_hook): they run in eager backward only")
            else:
                tracer._leaf = (tensor, name)
        return tracer

    def promote(self, t: Tensor, result: Tracer):
        """An in-place write of a traced value into a tensor made inside the
        function (`acc = torch.zeros(n); acc += x`, Adam's first moments):
        from here on that tensor is a tracer holding the written value, with
        the version and history eager would give it."""
        if self.created.get(id(t)) is not t:
            raise GraphBreak("writing a traced value in place into a tensor the compiled function reached only "
                             "at use (not through its arguments, closure, globals or attributes): pass it in")
        if t._base is not None:
            raise GraphBreak("writing a traced value into a view of a tensor made inside the compiled function: "
                             "write into the tensor itself, or build the view from a traced tensor")
        if t._requires_grad:
            raise GraphBreak(GRADIENTS_INSIDE)
        if result.dtype is not t.dtype:
            result = result.to(t.dtype)
        del self.created[id(t)]
        version, grad_fn, output_nr = t._version_counter, t._grad_fn, t._output_nr
        t.__class__ = Tracer
        Tracer.__init__(t, self, result._current())
        t._version_counter, t._grad_fn, t._output_nr = version, grad_fn, output_nr
        version.value += 1

    def load_grad(self, tracer: Tracer):
        (tensor, name), value = tracer._leaf, None
        grad = tensor._grad
        if grad is not None:
            value = self.graph.add_input(f"{name}.grad", Aval(tuple(grad.shape), grad.dtype))
            tracer._grad = Tracer(self, value)
        self.grad_inputs[tracer] = (tracer._grad, value)

    def involves(self, inputs) -> bool:
        """Whether an op belongs in the graph: it reads a tracer, a tensor
        from outside the function (captured at use: its value can change
        between calls), or a view whose base has since become traced."""
        for t in _flat(inputs):
            if isinstance(t, Tracer):
                if t._trace is self:
                    return True
            elif isinstance(t, Tensor) and (self.created.get(id(t)) is not t or isinstance(t._base, Tracer)):
                return True
        return False

    def apply(self, op, inputs, attrs):
        prim = REGISTRY[op]
        inputs = _flat(inputs) if prim.variadic else inputs
        tracers = [self.lift(t) for t in inputs]
        out = self.emit(op, tracers, attrs)
        if prim.views:
            src = tracers[0]
            out._version_counter, out._base = src._version_counter, src._base if src._base is not None else src
            out._view_fn = _ViewReplay(src._view_fn, op, attrs)
            out._sym_version = src._version_counter.value
        if prim.rules and is_grad_enabled() and any(t._requires_grad and t._grad_fn is None and not t._is_input
                                                     for t in tracers):
            raise GraphBreak(GRADIENTS_INSIDE)
        if record_if_needed(prim, attrs, tracers, out):  # as eager: backward() inside traces the rules
            self.recorded.add(out._sym)
        return out

    def emit(self, op, tracers, attrs) -> Tracer:
        loc = user_location()
        try:
            value = self.graph.add(op, [t._current() for t in tracers], attrs, loc)
        except (RuntimeError, ValueError, IndexError, TypeError) as e:
            if loc is not None and not getattr(e, "__notes__", None):
                e.add_note(f"while tracing {self.graph.name}, at {loc}")
            raise
        return Tracer(self, value)

    def lift(self, t) -> Tracer:
        """The tracer standing for `t` in this graph."""
        if isinstance(t, Tracer):
            if t._trace is not self:
                raise RuntimeError(
                    f"a traced tensor from another trace ({t._trace.graph.name}) reached {self.graph.name}: "
                    "a tracer was stored outside its compiled function (in a global or attribute?)")
            return t
        known = self.inputs.get(id(t))
        if known is not None and known[0] is t:
            return known[1]
        if id(t) in self.created:
            return self._constant(t)
        tracer = self.add_input(f"captured{len(self.hidden)}", t)
        self.hidden.append((tracer._sym, t))
        return tracer

    def _constant(self, t: Tensor) -> Tracer:
        """A tensor made inside the function from constants: one filled with a
        single value (zeros, a scalar) becomes a `full` node, any other a
        constant input whose data is bound at call time."""
        if t.requires_grad:
            raise GraphBreak(GRADIENTS_INSIDE)
        if isinstance(t._base, Tracer):  # its base was promoted: this view's data is stale
            raise GraphBreak("a view of a tensor made inside the compiled function is read after a traced value "
                             "was written into that tensor: take the view after the write")
        key = (id(t), t._version_counter.value)
        if key not in self._const_cache:
            data = t._data
            if data.size and (data == data.flat[0]).all():
                tracer = self.emit("full", (), {"value": data.flat[0].item(), "shape": data.shape, "dtype": t.dtype})
            else:
                value = self.graph.add_input(f"const{len(self.constants)}", t.aval)
                self.constants.append((value, np.array(t._data)))
                tracer = Tracer(self, value)
            self._const_cache[key] = tracer
        return self._const_cache[key]


def _flat(inputs):
    return tuple(inputs[0]) if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) else tuple(inputs)
