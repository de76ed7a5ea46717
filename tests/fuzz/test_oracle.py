"""The oracle's tolerances: none for exactly rounded values, a few ulp where
a transcendental function was computed, none checked where a push of the
inexact ops can flip a comparison or overflow a sum; and `mismatch` sees a
wrong NaN, infinity, signed zero or a difference beyond the tolerance."""
import numpy as np

from compiler.ir import parse

from .oracle import ULPS, Expected, expected, mismatch

GRAPH = parse("""
graph g(%x: f32[5]) {
  %0: f32[5] = exp(%x)
  %1: f32[] = full() {dtype=f32, shape=[], value=1.0}
  %2: bool[5] = gt(%0, %1)
  %3: f32[5] = add(%x, %x)
  %4: f32[5] = mul(%0, %3)
  return e=%0, gt=%2, twice=%3, product=%4
}
""")
X = np.array([0.0, 2.0, -3.0, np.nan, -0.0], np.float32)


def test_exactly_rounded_values_must_match_bit_for_bit():
    twice = expected(GRAPH, [X])[2]
    assert not twice.tol.any() and not twice.unchecked.any() and twice.exact_sign
    assert mismatch(twice, 2 * X) is None
    assert "differ" in mismatch(twice, np.where(X == 0, 0.0, 2 * X).astype(np.float32))  # -0.0 became 0.0


def test_transcendental_values_may_be_a_few_ulp_off():
    e = expected(GRAPH, [X])[0]
    finite = np.isfinite(e.value)
    ulp = np.spacing(np.abs(e.value[finite]))
    assert (e.tol[finite] >= ULPS * ulp).all() and (e.tol[finite] <= 3 * ULPS * ulp).all()
    assert not e.exact_sign
    assert mismatch(e, e.value + 2 * np.spacing(e.value)) is None
    assert "differ" in mismatch(e, e.value * np.float32(1 + 1e-5))


def test_a_comparison_goes_unchecked_only_where_a_push_flips_it():
    gt = expected(GRAPH, [X])[1]
    assert gt.unchecked.tolist() == [True, False, False, False, True]  # exp(0) == 1: either side of it
    assert mismatch(gt, np.array([False, True, False, False, True])) is None
    assert "differ" in mismatch(gt, np.array([True, False, False, False, True]))


def test_errors_grow_through_later_ops_and_nan_must_stay_nan():
    product = expected(GRAPH, [X])[3]
    assert product.tol[1] > expected(GRAPH, [X])[0].tol[1]  # exp(2) * 4: its error times 4
    wrong = product.value.copy()
    wrong[3] = 1.0
    assert "differ" in mismatch(product, wrong)


def test_a_sum_whose_terms_could_overflow_is_not_checked():
    g = parse("""
    graph s(%x: f32[3]) {
      %0: f32[] = sum(%x) {axes=[0], keepdim=false}
      %1: f32[] = full() {dtype=f32, shape=[], value=0.0}
      %2: bool[] = gt(%0, %1)
      return s=%0, positive=%2
    }
    """)
    s, positive = expected(g, [np.array([3e38, 3e38, -3e38], np.float32)])
    assert s.unchecked.all() and positive.unchecked.all()
    s, positive = expected(g, [np.array([3.0, 3.0, -5.0], np.float32)])
    assert not s.unchecked.any() and 0 < s.tol <= 1e-5 and not positive.unchecked.any()


def test_infinities_must_match_and_shapes_and_dtypes_always():
    want = Expected(np.array([np.inf, 1.0]), np.array([0.0, 0.5]), np.zeros(2, bool), True)
    assert mismatch(want, np.array([np.inf, 1.25])) is None
    assert "differ" in mismatch(want, np.array([-np.inf, 1.0]))
    assert "expected float64[2]" in mismatch(want, np.array([np.inf, 1.0], np.float32))


def test_a_value_the_pushes_do_not_move_still_gets_a_few_ulp():
    """gelu(cos(2)), tanh approximation: the pushes of cos and tanh cancel
    (its gradient through the two has opposite signs) and round away, but
    the LLVM backend's result is 1 ulp off NumPy's (found by the long run)."""
    g = parse("""
    graph gelu(%x: f32[1]) {
      %0: f32[1] = cos(%x)
      %1: f32[] = full() {dtype=f32, shape=[], value=0.044714998453855515}
      %2: f32[1] = mul(%1, %0)
      %3: f32[1] = mul(%2, %0)
      %4: f32[1] = mul(%3, %0)
      %5: f32[1] = add(%0, %4)
      %6: f32[] = full() {dtype=f32, shape=[], value=0.7978845834732056}
      %7: f32[1] = mul(%5, %6)
      %8: f32[] = full() {dtype=f32, shape=[], value=0.5}
      %9: f32[1] = mul(%8, %0)
      %10: f32[1] = tanh(%7)
      %11: f32[] = full() {dtype=f32, shape=[], value=1.0}
      %12: f32[1] = add(%11, %10)
      %13: f32[1] = mul(%9, %12)
      return out=%13
    }
    """)
    (want,) = expected(g, [np.array([2.0], np.float32)])
    assert want.value[0] == np.float32(-0.14093739)
    assert mismatch(want, np.array([-0.1409374], np.float32)) is None
