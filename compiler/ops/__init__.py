"""Primitive ops. Importing this package registers every primitive."""
from . import elementwise, indexing, linalg, movement, reduce, source  # noqa: F401  (registration)
from .registry import ELEMENTWISE, REGISTRY, Aval, Group, Primitive, get

__all__ = ["ELEMENTWISE", "REGISTRY", "Aval", "Group", "Primitive", "get"]
