"""The eager Tensor: NumPy storage, PyTorch's methods (from compiler.tensor_ops),
and autograd metadata. Every op goes through `_apply`, which runs the
registry's NumPy semantics and, when gradients are needed, records a node."""
from __future__ import annotations

import math
import warnings
import weakref

import numpy as np

from compiler import dtypes
from compiler.ops import REGISTRY, Aval
from compiler.tensor_ops import TensorOps, where

from . import printing
from .autograd import engine
from .autograd.grad_mode import is_grad_enabled
from .autograd.node import AccumulateGrad, PrimNode, SavedTensor, node_class, peek_sequence, rename
from .jit.trace_state import ACTIVE as _ACTIVE_TRACE


class Size(tuple):
    """`torch.Size`: a tuple that prints as PyTorch's."""

    def __repr__(self):
        return f"torch.Size({list(self)})"

    def numel(self):
        return math.prod(self)


class _Version:
    """In-place change counter, shared by a tensor and its views. It starts
    at the class's 0: with no __init__ to run, one is made in half the time
    (each compiled call's result gets one)."""

    value = 0


class device:
    """Only the CPU exists; kept so `t.device` and `device='cpu'` work."""

    def __init__(self, type="cpu"):
        if str(type) != "cpu":
            raise RuntimeError(f"jitgrad runs on the CPU only; got device {type!r}")
        self.type = "cpu"

    def __repr__(self):
        return "device(type='cpu')"

    def __str__(self):
        return "cpu"

    def __eq__(self, other):
        return str(other) == "cpu"

    def __hash__(self):
        return hash("cpu")


CPU = device()

NONLEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
    "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
    "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor "
    "by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 "
    "for more information."
)


class Tensor(TensorOps):
    _trace = None  # the Trace a tracer tensor belongs to (frontend/jit/tracer.py)
    # Fields every new tensor starts with, read from the class until a tensor
    # sets its own: a compiled call makes its results without setting them
    # (_from_result), a quarter of the time it took to make a tensor.
    _base = None  # for a view: the tensor whose memory it shares
    _requires_grad = False
    _grad_fn = None
    _output_nr = 0
    _grad = None
    _accumulator = None
    _retains_grad = False
    _view_fn = None  # for a view: replays the view ops on its base
    _view_version = 0  # the version its history was made at

    def __init__(self, *args):
        """Legacy constructor: `Tensor(2, 3)` allocates, `Tensor([1, 2])` copies (float32)."""
        from .creation import legacy_constructor_data
        self._init(legacy_constructor_data(args, dtypes.float32))

    def _init(self, data: np.ndarray, version=None, base=None):
        self._data = data
        self._dtype = dtypes.from_numpy(data.dtype)
        self._version_counter = version or _Version()
        self._leaf_hooks = {}
        if base is not None:
            self._base = base
        trace = _ACTIVE_TRACE.trace
        if trace is not None:
            trace.created[id(self)] = self  # made inside a traced function: a constant

    @classmethod
    def _wrap(cls, data: np.ndarray, version=None, base=None) -> "Tensor":
        t = object.__new__(cls)
        t._init(data, version, base)
        return t

    @classmethod
    def _from_result(cls, data: np.ndarray, dtype) -> "Tensor":
        """`_wrap` for a compiled graph's result, on each call of a compiled
        function: the graph knows the dtype, and no trace is recording in
        this thread (a call inside a trace is inlined, never run), so this
        only sets `_init`'s fields. Keep the two alike."""
        t = object.__new__(cls)
        t._data = data
        t._dtype = dtype
        t._version_counter = _Version()
        t._leaf_hooks = {}
        return t

    # ---- TensorOps hooks --------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    @property
    def dtype(self):
        return self._dtype

    def _lift(self, value, dtype):
        return Tensor._wrap(np.asarray(value, dtype.np))

    def _index_tensor(self, value):
        from .creation import tensor
        return tensor(value) if not isinstance(value, np.ndarray) else Tensor._wrap(np.asarray(value))

    def _mark(self):
        return peek_sequence()

    def _label(self, out, name, mark):
        if isinstance(out, Tensor) and isinstance(out.grad_fn, PrimNode) and out.grad_fn.seq >= mark:
            rename(out.grad_fn, name)
        return out

    def _checked_index(self, idx, size, dim, allow_negative=True):
        trace = _ACTIVE_TRACE.trace
        if trace is not None and trace.involves((idx,)):  # values known only when the graph runs
            return super()._checked_index(idx, size, dim, allow_negative)
        self._check_indices(idx, size, dim, allow_negative)  # a constant index: checked now, tracing or not
        return where(idx < 0, idx + size, idx) if allow_negative else idx

    def _check_indices(self, idx, size, dim, allow_negative=True):
        values = idx._data
        low = -size if allow_negative else 0
        if values.size and (values.min() < low or values.max() >= size):
            bad = values[(values < low) | (values >= size)].flat[0]
            if not allow_negative:
                raise IndexError(f"Target {bad} is out of bounds.")
            raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")

    def _check_probabilities(self):
        d = self._data
        if d.size and not bool(np.all((d >= 0) & (d <= 1))):
            raise RuntimeError("all elements of input should be between 0 and 1")

    def _nonzero(self):
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(self._data))

    def _apply(self, op, *inputs, **attrs):
        trace = _ACTIVE_TRACE.trace
        if trace is not None and trace.involves(inputs):
            return trace.apply(op, inputs, attrs)
        prim = REGISTRY[op]
        if prim.variadic:
            inputs = tuple(inputs[0]) if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) else inputs
        out_aval = prim.infer(*[t.aval for t in inputs], **attrs)
        data = prim.evaluate([t._data for t in inputs], attrs, out_aval)
        out = Tensor._wrap(data)
        if prim.views and inputs[0]._data.size and np.may_share_memory(data, inputs[0]._data):
            src = inputs[0]
            out._version_counter, out._base = src._version_counter, src._base if src._base is not None else src
            out._view_fn = _ViewReplay(src._view_fn, op, attrs)
            out._view_version = src._version_counter.value
        record_if_needed(prim, attrs, inputs, out)
        return out

    @property
    def aval(self):
        return Aval(self._data.shape, self._dtype)

    # ---- autograd metadata --------------------------------------------------------
    @property
    def grad_fn(self):
        if self._view_fn is not None and self._version_counter.value != self._view_version:
            self._refresh_view_history()
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node):
        self._grad_fn = node
        if self._view_fn is not None:
            self._view_version = self._version_counter.value

    def _refresh_view_history(self):
        """The base was changed in place after this view was taken: the view's
        values follow (shared storage), so its history must too (PyTorch's
        AsStridedBackward0)."""
        self._view_version = self._version_counter.value
        base = self._base
        if base.requires_grad and is_grad_enabled():
            fresh = self._view_fn(base)
            if fresh._grad_fn is not None:
                rename(fresh._grad_fn, "AsStridedBackward0")
            self._grad_fn, self._output_nr = fresh._grad_fn, 0

    def _store(self, result: "Tensor"):
        """Write `result` (same shape, already checked) into this tensor's storage."""
        trace = _ACTIVE_TRACE.trace
        if trace is not None and getattr(result, "_trace", None) is trace:
            trace.promote(self, result)  # `acc = zeros(n); acc += x` while tracing: acc becomes traced
            return
        np.copyto(self._data, result._data, casting="unsafe")
        self._version_counter.value += 1

    def _is_writable(self):
        return self._data.flags.writeable

    # What autograd keeps of a tensor and rebuilds from it; a tracer keeps its IR value instead.
    def _payload(self):
        return self._data

    @classmethod
    def _from_saved(cls, data, version, node):
        return tensor_from_saved(data, version, node)

    def _snapshot(self) -> "Tensor":
        """A detached copy of the current value (saved before an in-place write)."""
        return Tensor._wrap(self._data.copy())

    def _requires_grad_now(self):
        return self._requires_grad or self._grad_fn is not None

    @property
    def requires_grad(self):
        return self._requires_grad or self._grad_fn is not None

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None:
            if not value:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use a "
                    "computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach().")
            return
        if value and not self._dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def grad(self):
        if self._grad is None and self._grad_fn is not None and not self._retains_grad:
            warnings.warn(NONLEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: {list(value.shape)} vs {list(self.shape)}")
            if value.dtype is not self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: {value.dtype} vs {self.dtype}")
        self._grad = value

    @property
    def retains_grad(self):
        return self._retains_grad

    def retain_grad(self):
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None and not self._retains_grad:
            self._retains_grad = True
            self.grad_fn._retain_hooks[self._output_nr] = weakref.ref(self)

    def _store_retained_grad(self, grad):
        if self._grad is None:
            self._grad = Tensor._wrap(np.array(grad._data)) if not grad.requires_grad else grad
        else:
            self._grad = self._grad + grad

    def _grad_accumulator(self):
        node = self._accumulator() if self._accumulator is not None else None
        if node is None:
            node = AccumulateGrad(self)
            node._pre_hooks = self._leaf_hooks
            self._accumulator = weakref.ref(node)
        return node

    def _accumulate_grad(self, grad, create_graph):
        if grad is None:
            return
        if self._grad is None:
            self._grad = grad if create_graph else grad.to(self.dtype)._snapshot()
        elif create_graph or self._grad.requires_grad:
            self._grad = self._grad + grad
        else:  # in place: the same .grad tensor, one more version (a tracer rebinds its value)
            self._grad._store(self._grad + grad)

    def register_hook(self, hook):
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_prehook(self._output_nr, hook)
        hooks = self._leaf_hooks.setdefault(0, [])
        hooks.append(hook)
        from .autograd.node import _RemovableHandle
        return _RemovableHandle(hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd import backward
        backward([self], [gradient] if gradient is not None else None, retain_graph, create_graph,
                 inputs=inputs)

    def detach(self):
        """Shares storage and version counter; not a view for autograd."""
        return Tensor._wrap(self._data, self._version_counter)

    def detach_(self):
        if self._base is not None and self._base.requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn, self._requires_grad = None, False
        return self

    @property
    def data(self):
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data, self._dtype = value._data, value._dtype

    # ---- conversion to Python and NumPy -------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, *, force=False):
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._data if dtype is None else self._data.astype(dtype)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(()))

    def __float__(self):
        return float(self._single_value())

    def __int__(self):
        return int(self._single_value())

    def _single_value(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __index__(self):
        if self._dtype.category != dtypes.INT or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self):
        name = self.grad_fn.name() if self.grad_fn is not None else None
        return printing.tensor_repr(self._data, self._dtype, name, self.requires_grad)

    __str__ = __repr__

    # ---- small PyTorch properties -------------------------------------------------
    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    @property
    def _version(self):
        """PyTorch's in-place change count (shared with views)."""
        return self._version_counter.value

    def element_size(self):
        return self._dtype.itemsize

    def nelement(self):
        return self._data.size

    def stride(self, dim=None):
        strides = tuple(s // self._dtype.itemsize for s in self._data.strides)
        return strides if dim is None else strides[dim]

    def is_contiguous(self):
        return self._data.flags.c_contiguous

    def _is_view(self):
        return self._base is not None

    def data_ptr(self):
        return self._data.__array_interface__["data"][0]

    def cpu(self):
        return self

    def clone(self):
        mark = self._mark()
        out = self._apply("cast", self, dtype=self._dtype)
        return self._label(out, "CloneBackward0", mark)

    def contiguous(self):
        return self if self._data.flags.c_contiguous else self.clone()

    def view(self, *shape):
        from compiler.shapes import as_shape, infer_reshape
        target = infer_reshape(self._data.size, as_shape(shape))
        try:
            np.reshape(self._data, target, copy=False)
        except ValueError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one dimension "
                "spans across two contiguous subspaces). Use .reshape(...) instead.") from None
        return self.reshape(target)

    def reshape(self, *shape):
        out = super().reshape(*shape)
        if out._base is None and out.grad_fn is not None:
            rename(out.grad_fn, "UnsafeViewBackward0")  # PyTorch's name for a reshape that copied
        return out

    # In-place ops and __setitem__ live in inplace.py; they attach below.


def record_if_needed(prim, attrs, inputs, out) -> bool:
    """Give `out` its grad_fn if gradients are recorded and an input needs
    one (eager tensors and tracers alike); whether it did."""
    if not (prim.rules and is_grad_enabled() and out.dtype.is_floating_point):
        return False
    needs = tuple(t._requires_grad_now() for t in inputs)
    if any(needs):
        _record(prim, attrs, inputs, needs, out)
    return any(needs)


def _record(prim, attrs, inputs, needs, out):
    """Attach the grad_fn of one primitive application to `out`."""
    saved_names = prim.saved_names(needs)
    saved = {}
    for i, name in enumerate(prim.inputs):
        if name in saved_names:
            saved[name] = ([SavedTensor(t, False) for t in inputs] if prim.variadic
                           else SavedTensor(inputs[i], False))
    if "out" in saved_names:
        saved["out"] = SavedTensor(out, True)
    edges = [engine._edge(t) if need else (None, 0) for t, need in zip(inputs, needs)]
    node = node_class(PrimNode, prim.grad_name)(
        prim, attrs, needs, [tuple(t.shape) for t in inputs], [t._dtype for t in inputs], edges, saved)
    out.grad_fn = node


class _ViewReplay:
    """Rebuilds a view from its base by replaying the view ops: used to write
    an in-place change of the view back into the base's history."""

    __slots__ = ("parent", "op", "attrs")

    def __init__(self, parent, op, attrs):
        self.parent, self.op, self.attrs = parent, op, attrs

    def __call__(self, base):
        x = self.parent(base) if self.parent is not None else base
        return x._apply(self.op, x, **self.attrs)


class _DetachReplay:
    """A view function ending in detach(): the parent's view steps from the
    base, then the tensor's own detach(). Only a traced detach() is held as
    a view (jit/tracer.py), so that writes through it reach its base."""

    __slots__ = ("parent",)

    def __init__(self, parent):
        self.parent = parent

    def __call__(self, base):
        return (self.parent(base) if self.parent is not None else base).detach()


def through_detach(t) -> bool:
    """Whether view `t`'s steps from its base include a detach(): a write
    through it changes the base's values, never its autograd history."""
    view_fn = t._view_fn
    while view_fn is not None:
        if isinstance(view_fn, _DetachReplay):
            return True
        view_fn = view_fn.parent
    return False


def tensor_from_saved(data, version, node):
    """A saved output, re-attached to the node that produced it, so rules
    reading `out` stay differentiable under create_graph."""
    t = Tensor._wrap(data, version)
    t.grad_fn = node
    return t


from . import inplace  # noqa: E402,F401  (adds in-place methods to Tensor)
