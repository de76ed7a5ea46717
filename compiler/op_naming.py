"""PyTorch's names for what tensor methods return: the grad_fn class of a
result (`SumBackward1`, numbered per overload) and `torch.return_types`."""
from __future__ import annotations

import functools
from collections import namedtuple


def _return_type(name):
    """PyTorch's `torch.return_types.<name>`: a (values, indices) named tuple."""
    base = namedtuple(name, ["values", "indices"])

    def __repr__(self):
        return f"torch.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"

    return type(name, (base,), {"__slots__": (), "__repr__": __repr__})


RETURN_TYPES = {"Max": _return_type("max"), "Min": _return_type("min")}


def grad_name(name):
    """Give the method's result PyTorch's grad_fn name. `name` is a string or
    a function of the call's arguments (PyTorch numbers overloads)."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            mark = self._mark()
            out = method(self, *args, **kwargs)
            label = name(self, *args, **kwargs) if callable(name) else name
            return self._label(out, label, mark)
        return wrapper
    return decorate


def overload(default, with_dim):
    """The grad_fn name of a reduction: `default` without `dim`, `with_dim` with one."""
    return lambda self, dim=None, *a, **k: default if dim is None else with_dim
