"""Element types and PyTorch's type-promotion rules.

The compiler, the interpreter and the eager frontend all ask this module what
dtype a result has, so the rules exist exactly once.
"""
from __future__ import annotations

import numpy as np


class DType:
    """One element type. Prints as PyTorch does (`torch.float32`) so user-facing
    output matches PyTorch's; `np` is the NumPy storage type."""

    __slots__ = ("name", "short", "np", "category", "itemsize")

    def __init__(self, name: str, short: str, np_type, category: int):
        self.name = name
        self.short = short  # the IR's spelling: f32[2,3]
        self.np = np.dtype(np_type)
        self.category = category  # 0 bool, 1 integer, 2 floating: promotion order
        self.itemsize = self.np.itemsize

    @property
    def is_floating_point(self) -> bool:
        return self.category == FLOAT

    @property
    def is_signed(self) -> bool:
        return self.category != BOOL

    @property
    def legacy_name(self) -> str:
        """PyTorch's scalar type name, used in its messages ('Float', 'Long')."""
        return _LEGACY[self.name]

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return (from_name, (self.name,))


BOOL, INT, FLOAT = 0, 1, 2
_LEGACY = {"bool": "Bool", "int32": "Int", "int64": "Long", "float32": "Float", "float64": "Double"}

bool_ = DType("bool", "bool", np.bool_, BOOL)
int32 = DType("int32", "i32", np.int32, INT)
int64 = DType("int64", "i64", np.int64, INT)
float32 = DType("float32", "f32", np.float32, FLOAT)
float64 = DType("float64", "f64", np.float64, FLOAT)

ALL = (bool_, int32, int64, float32, float64)
FLOATING = (float32, float64)
_BY_NAME = {d.name: d for d in ALL}
BY_SHORT = {d.short: d for d in ALL}
_BY_NP = {d.np: d for d in ALL}
# Rank within a category decides promotion between two types of one category.
_RANK = {bool_: 0, int32: 1, int64: 2, float32: 3, float64: 4}

DEFAULT_FLOAT = float32


def from_name(name: str) -> DType:
    return _BY_NAME[name]


def from_numpy(np_dtype) -> DType:
    """The DType storing NumPy `np_dtype`; narrower NumPy types are rejected
    by name, since silently widening them would change the user's data."""
    key = np.dtype(np_dtype)
    try:
        return _BY_NP[key]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{key}. The only supported types are: "
            "float64, float32, int64, int32, and bool."
        ) from None


def promote(a: DType, b: DType) -> DType:
    """The smallest type both `a` and `b` convert to without losing category."""
    return a if _RANK[a] >= _RANK[b] else b


def python_scalar_dtype(value) -> DType:
    """The dtype a Python number takes when it becomes a tensor."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return DEFAULT_FLOAT
    raise TypeError(f"unsupported scalar type {type(value).__name__}")


def result_type(dim_dtypes, zero_dim_dtypes=(), scalar_dtypes=()) -> DType:
    """PyTorch's promotion: tensors with dimensions decide the type; 0-d tensors
    and then Python scalars only matter when their *category* is higher
    (so float32 tensor * 2.5 stays float32, but int tensor * 2.5 is float32)."""

    def combine(groups):
        result = None
        for group in groups:
            if not group:
                continue
            here = group[0]
            for d in group[1:]:
                here = promote(here, d)
            if result is None:
                result = here
            elif here.category > result.category:
                result = _widen_category(result, here)
        return result

    result = combine([list(dim_dtypes), list(zero_dim_dtypes), list(scalar_dtypes)])
    if result is None:
        raise ValueError("result_type needs at least one operand")
    return result


def _widen_category(current: DType, higher: DType) -> DType:
    """`current` meets an operand of a higher category: the result takes the
    higher category; a Python float gives the default float type."""
    if higher.category == FLOAT:
        return higher if current.category != FLOAT else current
    return promote(current, higher)


def to_dtype(value) -> DType:
    """Accept a DType, a NumPy dtype, or a dtype name ('float32')."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        try:
            return _BY_NAME[value]
        except KeyError:
            raise TypeError(f"unknown dtype name {value!r}") from None
    if value is float:
        return DEFAULT_FLOAT
    if value is int:
        return int64
    if value is bool:
        return bool_
    return from_numpy(value)
