"""Guard keys: what a compiled graph was specialized on, read from a call.

A traced graph is valid for calls that agree on everything the trace saw:
each tensor's shape, dtype and `requires_grad` (and which arguments are the
same tensor), Python scalars and other non-tensor values, the grad mode, and
the same for tensors and values reached through the function's closure, the
globals it names, module attributes it reads, and attributes of objects it
is given (a model object's weights). Those tensors become graph inputs, not
constants: the graph reads their current values on every call.

Reading walks these *roots* and records one entry per leaf: `(path, value)`.
The key is the tuple of values; paths name the guard that changed when a
call misses (`x.shape[0] 146 -> 149`) and say where to put tracers while
tracing (`swap_in`).
"""
from __future__ import annotations

import inspect
import sys
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from compiler.dtypes import DType

from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor

MAX_DEPTH = 6
# Longer containers (a dataset kept in a list) are guarded by identity and
# length only; a tensor in one that the function uses is captured at use.
# Tensors that require grad in a long list (an optimizer's parameters) and
# dicts keyed by tensors (its state) are read in full.
MAX_ITEMS = 256
_OPAQUE_MODULES = frozenset(sys.stdlib_module_names) | {"builtins", "numpy", "networkx", "llvmlite", "compiler",
                                                          "runtime"}
_SCALARS = (bool, int, float, complex, str, bytes, type(None), DType)


@dataclass(frozen=True)
class Root:
    """Where a walk starts: the called object itself, a closure cell, a
    global, a module attribute, an argument. `kind` says how it is read, so
    that generated guards (guard_code.py) read it inline, without a call:
    "object" is `owner` itself, "cell" the cell's contents, "global"
    `owner.get(key)` (a function's globals), "attr" `getattr(owner, key,
    None)`, "item" `owner[key]` (the call's own argument list or dict)."""

    label: str
    kind: str
    owner: Any
    key: Any = None

    def get(self):
        kind, owner = self.kind, self.owner
        if kind == "object":
            return owner
        if kind == "cell":
            try:
                return owner.cell_contents
            except ValueError:  # not yet assigned
                return None
        if kind == "global":
            return owner.get(self.key)
        if kind == "attr":
            return getattr(owner, self.key, None)
        return owner[self.key]

    def set(self, value) -> None:
        if self.kind == "cell":
            self.owner.cell_contents = value
        elif self.kind == "attr":
            setattr(self.owner, self.key, value)
        elif self.kind != "object":  # the called object itself is never replaced
            self.owner[self.key] = value


# A path is the root's label followed by steps: ("attr", name) or ("item", key).
# A dict key that is a tensor (an optimizer's state, keyed by parameters) is
# a TensorKey: it hashes and compares by identity and reads as the tensor's name.


class TensorKey:
    """A tensor used as a dict key, inside a guard path. Its name (the path
    the tensor was first read at, or the key's position) is made only when
    shown: guards read optimizer state on every call."""

    __slots__ = ("tensor", "_where")

    def __init__(self, tensor, where):
        self.tensor, self._where = tensor, where

    @property
    def label(self) -> str:
        where = self._where
        return path_name(where) if isinstance(where, tuple) else f"<key {where}>"

    def __eq__(self, other):
        return isinstance(other, TensorKey) and other.tensor is self.tensor

    def __hash__(self):
        return id(self.tensor)

    def __repr__(self):
        return self.label
_MODULE_STORAGE = ("_modules", "_parameters", "_buffers")  # nn.Module's dicts: named as PyTorch names them


def path_name(path) -> str:
    """How a guard path reads in messages and graph input names:
    `model.fc.weight`, not `model._modules['fc']._parameters['weight']`."""
    parts, through_module = [path[0]], False
    for kind, key in path[1:]:
        if kind == "attr" and key in _MODULE_STORAGE:
            through_module = True
            continue
        parts.append(f".{key}" if kind == "attr" or through_module else f"[{key!r}]")
        through_module = False
    return "".join(parts)


class Reading:
    """One call's guard entries and the tensors it passes to the graph.

    `aliases` are the other paths to a tensor already read (an optimizer's
    `param_groups` list holds the model's parameters): tracing puts the same
    tracer there. `keyed_dicts` are dicts with tensor keys, which tracing
    re-keys by tracers so that `state[p]` finds a parameter's entry. Reading
    state during a trace, `originals` maps those tracers back to the
    caller's tensors, so paths name the tensors a later call will have."""

    def __init__(self, originals: dict | None = None):
        self.entries: list[tuple[tuple, Any]] = []
        self.tensors: list[tuple[tuple, Tensor]] = []
        self.aliases: list[tuple[tuple, int]] = []
        self.keyed_dicts: list[dict] = []
        self._long_lists: list[tuple[tuple, list]] = []
        self._tensor_index: dict[int, int] = {}
        self._seen: set[int] = set()
        self._originals = originals or {}
        self.arg_labels: set[str] = set()  # roots that are the call's own arguments
        self.kinds: list[tuple] = []  # per entry: (top-level walk, kind, detail), see _add
        self._top = None  # the top-level walk in progress: ("arg", i), ("kwarg", name), ("root", j)
        self.roots: list[Root] = []  # root j of ("root", j)

    @property
    def key(self):
        return tuple(value for _, value in self.entries)

    def _add(self, path, value, kind, info=None):
        """One entry; `kinds` says what was checked, for guard_code.py."""
        self.entries.append((path, value))
        self.kinds.append((self._top, kind, info))

    def walk(self, obj, path, depth=0):
        if isinstance(obj, Tensor):
            first = self._tensor_index.get(id(obj))
            if first is not None:
                self._add(path, ("same tensor as", path_name(self.tensors[first][0])), "alias", first)
                self.aliases.append((path, first))
                return
            self._tensor_index[id(obj)] = len(self.tensors)
            self.tensors.append((path, obj))
            self._add(path, (tuple(obj.shape), obj.dtype, obj.requires_grad, obj.grad_fn is None), "tensor")
        elif isinstance(obj, _SCALARS):
            self._add(path, (type(obj).__name__, obj if obj == obj else "nan"), "scalar", type(obj))
        elif isinstance(obj, np.ndarray):
            self._add(path, ("ndarray", id(obj), obj.shape, obj.dtype.str), "ndarray")
        elif depth >= MAX_DEPTH or id(obj) in self._seen:
            self._add(path, ("object", id(obj)), "identity")
        elif isinstance(obj, (list, tuple)) and len(obj) > MAX_ITEMS:
            self._seen.add(id(obj))
            # Parameters in it are read one by one: their .grad is traced.
            walked = tuple(i for i, item in enumerate(obj) if isinstance(item, Tensor) and item.requires_grad)
            self._add(path, (type(obj).__name__, id(obj), len(obj)), "long list", walked)
            for i in walked:
                self.walk(obj[i], path + (("item", i),), depth + 1)
            self._long_lists.append((path, obj))
        elif isinstance(obj, dict) and len(obj) > MAX_ITEMS and not _has_tensor_keys(obj):
            self._add(path, (type(obj).__name__, id(obj), len(obj)), "long dict")
        elif isinstance(obj, (list, tuple)):
            self._seen.add(id(obj))
            self._add(path, (type(obj).__name__, len(obj)), "sequence", (type(obj), id(obj)))
            for i, item in enumerate(obj):
                self.walk(item, path + (("item", i),), depth + 1)
        elif isinstance(obj, dict):
            self._seen.add(id(obj))
            keys = tuple(obj)
            if _has_tensor_keys(obj):
                self.keyed_dicts.append(obj)
                keys = tuple(self._key(k, i) for i, k in enumerate(keys))
            self._add(path, ("dict", keys), "dict", (frozenset(obj), id(obj)))
            for k, item in zip(keys, obj.values()):
                self.walk(item, path + (("item", k),), depth + 1)
        elif _walkable_object(obj):
            self._seen.add(id(obj))
            attrs = vars(obj)
            self._add(path, (type(obj).__qualname__, id(type(obj)), tuple(attrs)), "object", (type(obj), id(obj)))
            for name, item in attrs.items():
                self.walk(item, path + (("attr", name),), depth + 1)
        elif _walkable_class(obj):
            self._seen.add(id(obj))
            self._add(path, ("class", id(obj)), "identity")
            for name, item in vars(obj).items():
                if not name.startswith("__") and not callable(item) and not isinstance(item, _DESCRIPTORS):
                    self.walk(item, path + (("attr", name),), depth + 1)
        else:  # functions, classes, modules, library objects: by identity
            self._add(path, ("object", id(obj)), "identity")

    def _key(self, key, position):
        """A dict key as a path step: tensors become TensorKeys named after
        where else the tensor was read (`model.0.weight`)."""
        if not isinstance(key, Tensor):
            return key
        key = self._originals.get(id(key), key)  # a tracer while tracing: the caller's tensor
        first = self._tensor_index.get(id(key))
        return TensorKey(key, self.tensors[first][0] if first is not None else position)

    def finish(self):
        """Aliases inside long lists (guarded by identity, parameters read one
        by one): a tensor read elsewhere gets its tracer there too."""
        for path, items in self._long_lists:
            for i, item in enumerate(items):
                first = self._tensor_index.get(id(item)) if isinstance(item, Tensor) else None
                if first is not None and not item.requires_grad:
                    self.aliases.append((path + (("item", i),), first))


def _has_tensor_keys(d: dict) -> bool:
    """A dict keyed by tensors (an optimizer's state) is state, not data: read whatever its size."""
    return any(isinstance(k, Tensor) for k in d)


def _walkable_object(obj) -> bool:
    """User-defined objects (a model, a config) whose attributes we read;
    library objects (a logger, a file) are guarded by identity only."""
    if isinstance(obj, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                        types.MethodType)) or not hasattr(obj, "__dict__"):
        return False
    if getattr(type(obj), "_guard_by_identity", False):  # a compiled function: its caches are not state
        return False
    return (type(obj).__module__ or "").split(".")[0] not in _OPAQUE_MODULES


_DESCRIPTORS = (property, staticmethod, classmethod, types.MemberDescriptorType, types.GetSetDescriptorType)


def _walkable_class(obj) -> bool:
    """A user-defined class used as a namespace: its class attributes are read like an object's."""
    return isinstance(obj, type) and (obj.__module__ or "").split(".")[0] not in _OPAQUE_MODULES | {"frontend"}


def _code_names(code: types.CodeType) -> set[str]:
    """Global and attribute names a function's code (and its nested code) uses."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _is_user_function(value) -> bool:
    return isinstance(value, types.FunctionType) and (value.__module__ or "").split(".")[0] not in \
        _OPAQUE_MODULES | {"frontend"}


def discover_roots(fn, depth=0, seen=None) -> list[Root]:
    """The closure cells, globals and module attributes `fn` (and the plain
    Python helper functions it calls) can read tensors through."""
    seen = set() if seen is None else seen
    func = fn.__func__ if inspect.ismethod(fn) else fn
    roots = []
    if inspect.ismethod(fn):
        owner = fn.__self__
        roots.append(Root("self", "object", owner))
    if not isinstance(func, types.FunctionType):
        if depth == 0 and hasattr(fn, "__dict__"):  # a callable object (an nn.Module): its attributes
            roots.append(Root("self", "object", fn))
            forward = getattr(fn, "forward", None)
            if inspect.ismethod(forward):
                roots += [r for r in discover_roots(forward, depth + 1, seen) if r.label != "self"]
        return roots
    code = func.__code__
    for name, cell in zip(code.co_freevars, func.__closure__ or ()):
        if id(cell) not in seen:
            seen.add(id(cell))
            roots.append(Root(name, "cell", cell))
            value = roots[-1].get()
            if _is_user_function(value) and depth < 3:
                roots += discover_roots(value, depth + 1, seen)
    names, scope = _code_names(code), func.__globals__
    for name in sorted(names & scope.keys()):
        if (id(scope), name) in seen:
            continue
        seen.add((id(scope), name))
        value = scope[name]
        if isinstance(value, types.ModuleType):
            if value.__name__.split(".")[0] not in _OPAQUE_MODULES | {"frontend"}:
                roots += [Root(f"{name}.{attr}", "attr", value, attr) for attr in sorted(names) if hasattr(value, attr)]
            continue
        roots.append(Root(name, "global", scope, name))
        if _is_user_function(value) and depth < 3:
            roots += discover_roots(value, depth + 1, seen)
    return roots


def read_call(arg_names, roots, args, kwargs, originals=None) -> tuple[Reading, list]:
    """Walk a call's arguments and the function's roots. Returns the reading
    and the call as a mutable `[args list, kwargs dict]` that tracing swaps
    tracers into."""
    call = [list(args), dict(kwargs)]
    reading = Reading(originals)
    reading.roots = list(roots)
    for i, value in enumerate(call[0]):
        if isinstance(value, np.ndarray):
            raise TypeError(f"compiled functions take tensors, not NumPy arrays (argument "
                            f"'{_arg_name(arg_names, i)}'); convert it with torch.from_numpy() first")
        reading.arg_labels.add(_arg_name(arg_names, i))
        reading._top = ("arg", i)
        reading.walk(value, (_arg_name(arg_names, i),))
    for name, value in call[1].items():
        reading.arg_labels.add(name)
        reading._top = ("kwarg", name)
        reading.walk(value, (name,))
    for j, root in enumerate(roots):
        reading._top = ("root", j)
        reading.walk(root.get(), (root.label,))
    reading._top = None
    reading._add(("grad_mode",), is_grad_enabled(), "grad mode")
    reading.finish()
    return reading, call


def _arg_name(arg_names, i):
    return arg_names[i] if i < len(arg_names) else f"args[{i}]"


def arg_roots(arg_names, call) -> dict[str, Root]:
    """Roots that read and write the call's arguments in place."""
    roots = {}
    for i in range(len(call[0])):
        roots[_arg_name(arg_names, i)] = Root(_arg_name(arg_names, i), "item", call[0], i)
    for name in call[1]:
        roots[name] = Root(name, "item", call[1], name)
    return roots


def describe_change(old_entries, new_entries) -> str:
    """The first guard that differs, as `x.shape[0] 146 -> 149`."""
    old = dict(old_entries)
    for path, value in new_entries:
        name = path_name(path)
        if path not in old:
            return f"{name} is new"
        before = old[path]
        if before == value:
            continue
        if isinstance(value, tuple) and len(value) == 4 and isinstance(value[1], DType) \
                and isinstance(before, tuple) and len(before) == 4 and isinstance(before[1], DType):
            return _tensor_change(name, before, value)
        return f"{name} {_show(before)} -> {_show(value)}"
    missing = [path_name(p) for p, _ in old_entries if p not in dict(new_entries)]
    return f"{missing[0]} is gone" if missing else "guards changed"


def grad_state(t: Tensor):
    """A leaf's `.grad` as a trace that read it assumed: None or its (shape,
    dtype). Checked per call only for variants whose trace touched `.grad`
    (see Variant), so a function that never reads `.grad` is not recompiled
    when `.grad` appears."""
    return None if t._grad is None else (tuple(t._grad.shape), t._grad.dtype)


def _tensor_change(name, before, after) -> str:
    (s0, d0, r0, g0), (s1, d1, r1, g1) = before, after
    if s0 != s1:
        if len(s0) == len(s1):
            dim = next(i for i, (a, b) in enumerate(zip(s0, s1)) if a != b)
            return f"{name}.shape[{dim}] {s0[dim]} -> {s1[dim]}"
        return f"{name}.shape {list(s0)} -> {list(s1)}"
    if d0 is not d1:
        return f"{name}.dtype {d0} -> {d1}"
    if r0 != r1:
        return f"{name}.requires_grad {r0} -> {r1}"
    return f"{name}.is_leaf {g0} -> {g1}"


def show_grad_state(state) -> str:
    return "None" if state is None else f"{state[1].short}[{','.join(map(str, state[0]))}]"


def _show(value) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "dict":
        return "keys [" + ", ".join(map(repr, value[1])) + "]"
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "same tensor as":
        return f"the same tensor as {value[1]}"
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return repr(value[1])  # a scalar: (type name, value)
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], DType):
        return "tensor"
    return repr(value)
