"""Where a value's elements are: a buffer, an element offset and strides.

Movement ops that only reinterpret memory (reshape of contiguous data,
permute, expand, strided slice) become layouts over their input's buffer:
no code and no copy. Their consumers read through the strides, which the
kernel emitter folds into its index arithmetic (an expanded dim is stride 0)."""
from __future__ import annotations

from dataclasses import dataclass, replace


def contiguous_strides(shape) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


@dataclass(frozen=True)
class Layout:
    buffer: object  # the buffer's key in the program (see program.py)
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # in elements
    offset: int = 0  # in elements

    @classmethod
    def contiguous(cls, buffer, shape) -> "Layout":
        return cls(buffer, tuple(shape), contiguous_strides(shape))

    @property
    def is_contiguous(self) -> bool:
        return all(s == c for n, s, c in zip(self.shape, self.strides, contiguous_strides(self.shape)) if n != 1)

    def permuted(self, perm) -> "Layout":
        return replace(self, shape=tuple(self.shape[p] for p in perm), strides=tuple(self.strides[p] for p in perm))

    def expanded(self, shape) -> "Layout":
        lead = len(shape) - len(self.shape)
        strides = [0] * lead + [0 if n == 1 and m != 1 else s
                                for n, m, s in zip(self.shape, shape[lead:], self.strides)]
        return replace(self, shape=tuple(shape), strides=tuple(strides))

    def sliced(self, starts, stops, steps, shape) -> "Layout":
        offset = self.offset + sum(lo * s for lo, s in zip(starts, self.strides))
        return replace(self, shape=tuple(shape), offset=offset,
                       strides=tuple(s * st for s, st in zip(self.strides, steps)))

    def reshaped(self, shape) -> "Layout | None":
        """The same elements as `shape` without copying, or None when the
        strides cannot express it (a permuted layout flattened)."""
        if self.is_contiguous:
            return replace(self, shape=tuple(shape), strides=contiguous_strides(shape))
        kept = [(n, s) for n, s in zip(self.shape, self.strides) if n != 1]
        if [n for n, _ in kept] != [n for n in shape if n != 1]:
            return None
        strides, it = [], iter(kept)
        for n in shape:
            strides.append(next(it)[1] if n != 1 else 0)
        return replace(self, shape=tuple(shape), strides=tuple(strides))


def view_of(op: str, attrs: dict, source: Layout, out_shape) -> Layout | None:
    """`op`'s result as a layout over `source`'s buffer, or None if it needs a copy."""
    if op == "reshape":
        return source.reshaped(out_shape)
    if op == "permute":
        return source.permuted(attrs["perm"])
    if op == "expand":
        return source.expanded(out_shape)
    if op == "slice":
        return source.sliced(attrs["starts"], attrs["stops"], attrs["steps"], out_shape)
    return None
