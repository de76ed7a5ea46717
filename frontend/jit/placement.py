"""Putting values where a guard path leads (guards.py names the paths).

Tracing puts tracers into the caller's state (arguments, attributes, dict
items) and takes them out again; each run of a graph puts the tensors it
stored (`model.w = ...`, a new optimizer state entry) back at their paths.
Dicts keyed by tensors (an optimizer's `state`) are re-keyed by tracers while
tracing, so `state[p]` with `p` a tracer finds the parameter's entry.
"""
from __future__ import annotations

from typing import Callable

from .guards import Root, TensorKey

_MISSING = object()
MISSING = _MISSING  # what `lookup` gives where a path leads nowhere


def swap_in(roots: dict[str, Root], path, new) -> Callable[[], None]:
    """Put `new` where `path` leads (rebuilding tuples on the way, setting
    attributes and items of mutable containers; a missing dict on the way is
    created, as a `defaultdict(dict)` would); returns the undo."""
    root = roots[path[0]]
    chain = [root.get()]
    for step in path[1:-1]:
        chain.append(_get(chain[-1], step, create=True))
    value = new
    for parent, step in zip(reversed(chain), reversed(path[1:])):
        if isinstance(parent, tuple):
            items = list(parent)
            items[step[1]] = value
            value = type(parent)._make(items) if hasattr(parent, "_fields") else type(parent)(items)
            continue
        old = _get(parent, step, default=_MISSING)
        _set(parent, step, value)
        return lambda: _delete(parent, step) if old is _MISSING else _set(parent, step, old)
    old = root.get()
    root.set(value)
    return lambda: root.set(old)


def lookup(roots: dict[str, Root], path):
    """What `path` leads to now, or MISSING."""
    obj = roots[path[0]].get()
    for step in path[1:]:
        try:
            obj = _get(obj, step, default=_MISSING)
        except TypeError:  # not a container any more
            return _MISSING
        if obj is _MISSING:
            return _MISSING
    return obj


def remove(roots: dict[str, Root], path) -> None:
    """Take away what `path` leads to, if it is there: a dict item or an
    attribute is deleted, a list's last item popped (others are left)."""
    parent = roots[path[0]].get()
    for step in path[1:-1]:
        parent = _get(parent, step, default=_MISSING)
        if parent is _MISSING:
            return
    step = path[-1] if len(path) > 1 else None
    if step is None or isinstance(parent, tuple) or _get(parent, step, default=_MISSING) is _MISSING:
        return
    if isinstance(parent, list):
        if step[1] == len(parent) - 1:
            parent.pop()
        return
    _delete(parent, step)


def rekey(mapping: dict) -> Callable[[dict], None]:
    """A function that re-keys a dict in place (order, type and default
    factory kept) through `mapping` (id of a key -> its replacement)."""
    def apply(d: dict):
        items = [(mapping.get(id(k), k), v) for k, v in d.items()]
        d.clear()
        d.update(items)
    return apply


def _get(obj, step, default=None, create=False):
    kind, key = step
    key = key.tensor if isinstance(key, TensorKey) else key
    if kind == "attr":
        return getattr(obj, key) if default is None else getattr(obj, key, default)
    if create and isinstance(obj, dict) and key not in obj:
        obj[key] = {}
    if default is not None:
        try:
            return obj[key]
        except (KeyError, IndexError):
            return default
    return obj[key]


def _set(obj, step, value):
    kind, key = step
    key = key.tensor if isinstance(key, TensorKey) else key
    if kind == "attr":
        # Plain instance storage, bypassing a class's own __setattr__; classes need setattr.
        (setattr if isinstance(obj, type) else object.__setattr__)(obj, key, value)
    else:
        obj[key] = value


def _delete(obj, step):
    kind, key = step
    key = key.tensor if isinstance(key, TensorKey) else key
    if kind == "attr":
        (delattr if isinstance(obj, type) else object.__delattr__)(obj, key)
    else:
        del obj[key]
