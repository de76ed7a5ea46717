"""The layout pass (permute(a @ b) -> b^T @ a^T), tested as the other passes
are: IR text in, FileCheck on the printed result, which must re-parse,
verify, leave the input untouched and compute what the input computed
(bit for bit on integer matmuls, which the interpreter computes exactly;
within rounding on random float programs), plus the cases it must leave."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.interpreter import interpret
from compiler.ir import parse, print_graph
from compiler.passes import PASSES
from compiler.passes.layout import transpose_matmuls
from compiler.passes.pipeline import FUSE
from tests.test_passes_cleanup import random_inputs, run_checked

# name -> (IR text, checks). The first line of each entry says why it exists.
CASES = {
    # nn.Linear's weight gradient: (x^T @ g)^T becomes g^T @ x, and the
    # permute of x that only fed the old matmul is gone.
    "a transposed product computes the transpose": ("""
graph f(%x: i64[4,3], %g: i64[4,5]) {
  %0: i64[3,4] = permute(%x) {perm=[1, 0]}           # m.py:1 in f
  %1: i64[3,5] = matmul(%0, %g)                      # m.py:2 in f
  %2: i64[5,3] = permute(%1) {perm=[1, 0]}           # m.py:3 in f
  return out=%2
}""", r"""
CHECK: [[GT:%\d+]]: i64[5,4] = permute(%g) {perm=[1, 0]} # m.py:3 in f
CHECK-NEXT: [[P:%\d+]]: i64[5,3] = matmul([[GT]], %x) # m.py:2 in f
CHECK-NEXT: return out=[[P]]
"""),
    # Batch dims stay where they are, and an operand with fewer of them
    # (broadcast) is transposed in its own last two dims.
    "batched and broadcast operands": ("""
graph f(%a: i32[2,3,4], %b: i32[4,5]) {
  %0: i32[2,3,5] = matmul(%a, %b)
  %1: i32[2,5,3] = permute(%0) {perm=[0, 2, 1]}
  return out=%1
}""", r"""
CHECK: [[BT:%\d+]]: i32[5,4] = permute(%b) {perm=[1, 0]}
CHECK-NEXT: [[AT:%\d+]]: i32[2,4,3] = permute(%a) {perm=[0, 2, 1]}
CHECK-NEXT: matmul([[BT]], [[AT]])
"""),
    # The product is needed untransposed too: computing both would be
    # two matmuls for one, so nothing changes.
    "a product with another use stays": ("""
graph f(%a: i64[3,4], %b: i64[4,5]) {
  %0: i64[3,5] = matmul(%a, %b)
  %1: i64[5,3] = permute(%0) {perm=[1, 0]}
  %2: i64[3,5] = neg(%0)
  return t=%1, n=%2
}""", r"""
CHECK: [[P:%\d+]]: i64[3,5] = matmul(%a, %b)
CHECK-NEXT: permute([[P]]) {perm=[1, 0]}
"""),
    # A graph output is the caller's array: it must keep its layout.
    "a product that is an output stays": ("""
graph f(%a: i64[3,4], %b: i64[4,5]) {
  %0: i64[3,5] = matmul(%a, %b)
  %1: i64[5,3] = permute(%0) {perm=[1, 0]}
  return p=%0, t=%1
}""", r"""
CHECK: matmul(%a, %b)
CHECK-NEXT: permute
"""),
    # Only a swap of the last two dims is a transpose of the product.
    "other permutations stay": ("""
graph f(%a: i64[2,3,4], %b: i64[2,4,5]) {
  %0: i64[2,3,5] = matmul(%a, %b)
  %1: i64[5,3,2] = permute(%0) {perm=[2, 1, 0]}
  return out=%1
}""", r"""
CHECK: matmul(%a, %b)
CHECK-NEXT: permute(%{{\d+}}) {perm=[2, 1, 0]}
"""),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layout_output_matches_checks(case):
    text, checks = CASES[case]
    run_checked(transpose_matmuls, text, checks)


def test_registered_and_run_before_fusion():
    assert PASSES["transpose_matmuls"].apply is transpose_matmuls
    assert FUSE.index("transpose_matmuls") < FUSE.index("fuse")


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 6), k=st.integers(1, 6), n=st.integers(1, 6), batch=st.sampled_from([(), (2,), (3, 1)]),
       transposed_inputs=st.tuples(st.booleans(), st.booleans()), seed=st.integers(0, 99))
def test_random_float_products_agree(m, k, n, batch, transposed_inputs, seed):
    dims = lambda shape: ", ".join(map(str, shape))  # noqa: E731
    perm = ", ".join(map(str, (*range(len(batch)), len(batch) + 1, len(batch))))
    lines, names = [], []
    for name, (r, c), t in (("a", (m, k), transposed_inputs[0]), ("b", (k, n), transposed_inputs[1])):
        if t:
            lines.append(f"  %{name}t: f64[{dims((*batch, r, c))}] = permute(%{name}) {{perm=[{perm}]}}")
        names.append((name, (*batch, c, r) if t else (*batch, r, c), f"%{name}t" if t else f"%{name}"))
    text = (f"graph f(%a: f64[{dims(names[0][1])}], %b: f64[{dims(names[1][1])}]) {{\n" + "\n".join(lines) +
            f"\n  %p: f64[{dims((*batch, m, n))}] = matmul({names[0][2]}, {names[1][2]})\n"
            f"  %t: f64[{dims((*batch, n, m))}] = permute(%p) {{perm=[{perm}]}}\n  return out=%t\n}}")
    before = parse(text)
    after = transpose_matmuls(before)
    assert "permute(%p)" not in print_graph(after)
    arrays = random_inputs(before, seed)
    np.testing.assert_allclose(interpret(after, arrays)[0], interpret(before, arrays)[0], rtol=1e-12, atol=1e-12)
