"""Primitives with no tensor inputs: constants and index ranges."""
from __future__ import annotations

import numpy as np

from .registry import Aval, Group, Primitive, register

register(Primitive(
    "full", Group.SOURCE, lambda *, value, shape, dtype: Aval(tuple(shape), dtype),
    lambda *, value, shape, dtype: np.full(shape, value, dtype.np),
    inputs=(), attrs=("value", "shape", "dtype"),
))
register(Primitive(
    "iota", Group.SOURCE, lambda *, length, dtype: Aval((length,), dtype),
    lambda *, length, dtype: np.arange(length, dtype=dtype.np),
    inputs=(), attrs=("length", "dtype"),
))
