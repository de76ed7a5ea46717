"""Branch-free transcendental functions, emitted inline as LLVM IR.

LLVM vectorizes a loop calling `llvm.exp.*` by calling scalar libm once per
lane, which costs more than the rest of an elementwise kernel. These
functions emit straight-line IR in the builder's current block instead:
float arithmetic, integer bit tricks, `select` for special cases and only
intrinsics that become one vector instruction (fmuladd, fabs, copysign,
rint, and ldexp where the host has AVX-512), so the loop vectorizer turns a
loop using them into plain SIMD code. Each function takes and returns a
scalar float or double and computes in that precision; results (NaN,
infinities, signed zeros, subnormals) follow NumPy's.

Methods, and the max error tests/test_backend_math.py measures against
correctly rounded references (float32 / float64, ulps; float64 erf against
libm's erf). Measured on znver4, where fmuladd fuses; on a host without FMA
the figures are the same except expm1 float64 at 2 ulp.

- exp: n = rint(x/ln2), Cody-Waite r = x - n*ln2 with ln2 split hi+lo,
  e^r = 1 + q with q = r + r^2*P(r), scaled by 2^n so that subnormal
  results round once. float64: q Taylor of degree 13, 2^n in two
  exponent-bit multiplications. float32: q of degree 6, a minimax fit, n by
  adding 1.5*2^23 to x/ln2, and 2^n by one vscalefps (llvm.ldexp) where the
  host has AVX-512, else two multiplications (a loop y = exp(x) is 22
  instructions instead of 32 on znver4). 1 / 1 ulp; float32 checked on
  every input in [-105, 90] (all others give 0 or inf): never decreasing.
- expm1: the same q (float32: of degree 7); 2*(2^(n-1)*q + (2^(n-1) -
  1/2)), which is q itself for n = 0 and cannot overflow early; x for tiny
  |x| (keeps -0.0). 1 / 1 ulp; float32 checked on every input in [-20, 90].
- log: fdlibm/musl: x = 2^k * m with m in [sqrt(1/2), sqrt(2)), f = m-1,
  s = f/(2+f), polynomial in s^2 (Lg1..Lg4 / Lg1..Lg7); subnormals are
  pre-scaled. 1 / 1 ulp.
- log1p: log(u) of u = 1+x plus the correction (1+x-u)/u for u's rounding
  (musl's log1p), x where u == 1. 1 / 1 ulp.
- tanh: t = expm1(2|x|), t/(t+2) below |x| = log(3)/2, 1 - 2/(t+2) above,
  copysign'd: no cancellation near 0, and t's error shrinks. float32 needs
  no second branch: it divides num = t/2 by den = num + 1 everywhere (2
  ulp at most either way, on every positive float32 up to 10: 643,964
  inputs off by 2 ulp with or without the branch, and slightly more exact
  without), three instructions fewer. float32 cuts |x| at 9.1 (tanh is 1
  from 9.01), so 2^(n-1) needs no range handling. 2 / 2 ulp; float32
  checked on every input in [-10, 10].
- sigmoid: e = exp(-|x|), (x >= 0 ? 1 : e) / (1+e), NumPy's stable form.
  2 / 2 ulp (exp's ulp plus the division's, as NumPy's own formula);
  float32 checked on every input in [-105, 20]. Neither float32 tanh nor
  sigmoid is monotone: each steps down by 1 ulp between 0.03% / 0.01% of
  neighbouring inputs.
- erf, float32: x + x*P(x^2) for |x| < 0.921875 (P of degree 5); above,
  1 - e^y with y = -a^2 + L(a) ~ log(erfc(a)), a = |x| cut at 4 (L of degree
  6), and e^y by a short exp whose n goes straight into the exponent bits:
  21 fmas and no division, as gelu's cost is mostly erf's. Checked on every
  float32: 1 ulp (1.13 ulp from the exact value, at 0.92146), odd, and
  never decreasing (with fmuladd fused; unfused it may step down 1 ulp).
- erf, float64: fdlibm s_erf.c; its four rational approximations (|x| <
  0.84375, < 1.25, < 1/0.35, < 6) are evaluated as one, with each
  coefficient selected per lane. 1 ulp.
"""
from __future__ import annotations

import math

from llvmlite import ir

from runtime.host import identity

# ln2 = HI + LO where HI has trailing zero bits, so n*HI is exact for every
# exponent n these functions produce (Cody-Waite), per precision.
_LN2_HI = {False: float.fromhex("0x1.62e4p-1"), True: float.fromhex("0x1.62e42feep-1")}
_LN2_LO = {False: math.log(2) - _LN2_HI[False], True: 1.90821492927058770002e-10}
# float64: Taylor coefficients 1/2!, ..., 1/13! of (e^r - 1 - r) / r^2 for
# |r| <= ln2/2.
_EXP_POLY = [1 / math.factorial(k) for k in range(2, 14)]
# Argument clamps: beyond them the result is already 0/-1 or inf, and n stays
# small enough for the exponent arithmetic below.
_EXP_RANGE = {False: (-104.0, 89.0), True: (-746.0, 710.0)}
_EXPM1_LOW = {False: -18.0, True: -40.0}
# float32 exp, expm1, tanh, sigmoid and erf: adding _SHIFT = 1.5*2^23 to
# x/ln2 rounds it to an integer n held in the sum's low mantissa bits, from
# which shifts make 2^n. e^r on |r| <= ln2/2 is 1 + r + r^2*P(r), P a minimax
# fit rounded to float32 one coefficient at a time, highest first, refitting
# the rest: of degree 4 weighted by e^r for exp (3.7e-9 relative), of degree
# 5 weighted by e^r - 1 for expm1 and tanh (2.3e-9; degree 4's 1.7e-8 made
# expm1 2 ulp and tanh 3).
_SHIFT = 1.5 * 2.0 ** 23
_EXPF_POLY = [float.fromhex(h) for h in (
    "0x1.fffffcp-2", "0x1.555492p-3", "0x1.5558f4p-5", "0x1.123a1ap-7", "0x1.6a23aep-10")]
_EXPM1F_POLY = [float.fromhex(h) for h in (
    "0x1p-1", "0x1.555554p-3", "0x1.5554b0p-5", "0x1.11118ap-7", "0x1.6d7238p-10",
    "0x1.a032b4p-13")]
# tanh rounds to +-1 from |x| = 9.01 (13 ln2): beyond 9.1 only n grows.
_TANHF_CLAMP = 9.1
# fdlibm's log polynomial in s^2 (musl logf.c / log.c).
_LOG_POLY = {
    False: [float.fromhex(h) for h in ("0xaaaaaa.0p-24", "0xccce13.0p-25",
                                       "0x91e9ee.0p-25", "0xf89e26.0p-26")],
    True: [6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
           2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
           1.479819860511658591e-01],
}
# fdlibm s_erf.c: erf(x) - x = x*P/Q in x^2 on [0, 0.84375); erf - ERX = P/Q in
# |x|-1 on [0.84375, 1.25); erfc = exp(-x^2 - 0.5625 + P/Q)/|x| in 1/x^2 on
# [1.25, 1/0.35) and [1/0.35, 6). Rows are P, Q coefficients, lowest first
# (Q's leading 1 implied), zero-padded so one evaluation serves all four.
_ERX = 8.45062911510467529297e-01
_ERF_NUM = [
    [1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
     -5.77027029648944159157e-03, -2.37630166566501626084e-05, 0, 0, 0],
    [-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
     3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
     -2.16637559486879084300e-03, 0],
    [-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
     -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
     -8.12874355063065934246e+01, -9.81432934416914548592e+00],
    [-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
     -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
     -4.83519191608651397019e+02, 0],
]
_ERF_DEN = [
    [3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
     1.32494738004321644526e-04, -3.96022827877536812320e-06, 0, 0, 0],
    [1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
     1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02, 0, 0],
    [1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
     6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
     6.57024977031928170135e+00, -6.04244152148580987438e-02],
    [3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
     3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
     -2.24409524465858183362e+01, 0],
]
_ERF_BOUNDS = (0.84375, 1.25, 1 / 0.35)
# float32 erf (see the module docstring): P, L and _ERFF_EXP ~ e^r on |r| <=
# ln2/2 (1 + r exact) are weighted minimax fits (weights: relative error of
# erf, of e^r), rounded to float32 one coefficient at a time, highest first,
# refitting the rest. With -a^2 kept out of L, L's rounding errors are too
# small to make erf step down (a y polynomial with -0.64a^2 in it did, 103
# times in [0.94, 2]).
_ERFF_SWITCH, _ERFF_CLAMP = 0.921875, 4.0
_ERFF_P = [float.fromhex(h) for h in (
    "0x1.06eba6p-3", "-0x1.8126e6p-2", "0x1.ce1a6ap-4", "-0x1.b68b52p-6", "0x1.473ba8p-8",
    "-0x1.3a17dap-11")]
_ERFF_L = [float.fromhex(h) for h in (
    "-0x1.a072dap-13", "-0x1.20ae92p+0", "0x1.738142p-2", "-0x1.a9a1c8p-4", "0x1.6c06fep-6",
    "-0x1.8e9a40p-9", "0x1.9a74e8p-13")]
_ERFF_EXP = [1.0, 1.0] + [float.fromhex(h) for h in (
    "0x1.fffffcp-2", "0x1.555492p-3", "0x1.5558f2p-5", "0x1.1239dcp-7", "0x1.6a2416p-10")]


class _Emitter:
    """Shorthand over an IRBuilder for one float type and its same-width int."""

    def __init__(self, builder: ir.IRBuilder, ty: ir.Type):
        if not isinstance(ty, (ir.FloatType, ir.DoubleType)):
            raise TypeError(f"mathfns: expected float or double, got {ty}")
        self.b = builder
        self.ty = ty
        self.wide = isinstance(ty, ir.DoubleType)
        self.ity = ir.IntType(64 if self.wide else 32)
        self.mant = 52 if self.wide else 23
        self.bias = 1023 if self.wide else 127

    # -- leaves ---------------------------------------------------------
    def c(self, value) -> ir.Value:
        return value if isinstance(value, ir.Value) else ir.Constant(self.ty, value)

    def ic(self, value: int) -> ir.Constant:
        return ir.Constant(self.ity, value)

    def call(self, name: str, *args) -> ir.Value:
        fnty = ir.FunctionType(self.ty, [self.ty] * len(args))
        fn = self.b.module.declare_intrinsic(name, [self.ty], fnty)
        return self.b.call(fn, [self.c(a) for a in args])

    def add(self, a, b):
        return self.b.fadd(self.c(a), self.c(b))

    def sub(self, a, b):
        return self.b.fsub(self.c(a), self.c(b))

    def mul(self, a, b):
        return self.b.fmul(self.c(a), self.c(b))

    def div(self, a, b):
        return self.b.fdiv(self.c(a), self.c(b))

    def fma(self, a, b, c):
        """a*b + c, fused where the CPU can (llvm.fma would call libm without FMA)."""
        return self.call("llvm.fmuladd", a, b, c)

    def cmp(self, op: str, a, b):
        """Ordered compare: false when either side is NaN."""
        return self.b.fcmp_ordered(op, self.c(a), self.c(b))

    def sel(self, cond, a, b):
        return self.b.select(cond, self.c(a), self.c(b))

    def abs(self, x):
        return self.call("llvm.fabs", x)

    def bits(self, x):
        return self.b.bitcast(x, self.ity)

    def from_bits(self, i):
        return self.b.bitcast(i, self.ty)

    def to_int(self, x):
        """Integral-valued x (|x| < 2^31) to the same-width int, via i32 (AVX2 has no
        vector double->i64 conversion)."""
        n = self.b.fptosi(x, ir.IntType(32))
        return self.b.sext(n, self.ity) if self.wide else n

    def to_float(self, n):
        n = self.b.trunc(n, ir.IntType(32)) if self.wide else n
        return self.b.sitofp(n, self.ty)

    # -- shared pieces --------------------------------------------------
    def horner(self, t, coeffs):
        """c0 + t*(c1 + t*(c2 + ...)), coefficients lowest first."""
        acc = self.c(coeffs[-1])
        for coeff in reversed(coeffs[:-1]):
            acc = self.fma(acc, t, coeff)
        return acc

    def pow2(self, n):
        """2.0**n for an int n in the normal exponent range, from its bits."""
        biased = self.b.add(n, self.ic(self.bias))
        return self.from_bits(self.b.shl(biased, self.ic(self.mant)))

    def clamp(self, x, lo: float, hi: float):
        """x limited to [lo, hi]; NaN becomes lo (callers restore NaN last)."""
        x = self.sel(self.cmp(">=", x, lo), x, lo)
        return self.sel(self.cmp(">", x, hi), hi, x)

    def limit(self, x, lo=None, hi=None):
        """x limited to [lo, hi] with NaN kept: one max and one min instruction."""
        if lo is not None:
            x = self.sel(self.cmp("<", x, lo), lo, x)
        if hi is not None:
            x = self.sel(self.cmp(">", x, hi), hi, x)
        return x

    def nan_through(self, x, result):
        return self.b.select(self.b.fcmp_unordered("uno", x, x), x, result)

    def reduce_exp(self, x, lo: float, hi: float):
        """float64: x clamped to [lo, hi] = n*ln2 + r, |r| <= ln2/2; returns
        (int n, e^r - 1)."""
        x = self.clamp(x, lo, hi)
        nf = self.call("llvm.rint", self.mul(x, 1 / math.log(2)))
        neg_n = self.b.fneg(nf)
        r = self.fma(neg_n, _LN2_HI[self.wide], x)
        r = self.fma(neg_n, _LN2_LO[self.wide], r)
        q = self.fma(self.mul(r, r), self.horner(r, _EXP_POLY), r)
        return self.to_int(nf), q

    def split_exp_float(self, x):
        """x = n*ln2 + r, |r| <= ln2/2, for float32 |x| < 2^21: (shifted, r),
        where shifted = _SHIFT + n holds n in its low mantissa bits."""
        shifted = self.fma(x, 1 / math.log(2), _SHIFT)
        neg_n = self.sub(_SHIFT, shifted)  # exact
        r = self.fma(neg_n, _LN2_HI[False], x)
        return shifted, self.fma(neg_n, _LN2_LO[False], r)

    def times_pow2(self, p, shifted):
        """p * 2^n for p in [0.7, 1.5], n = shifted - _SHIFT in [-150, 128], as
        one correctly rounded product: subnormals round once, large n gives
        inf. AVX-512's vscalefps does that in one instruction (llvm.ldexp);
        elsewhere llvm.ldexp is a libm call per lane, so two exponent-bit
        multiplications, by 2^(n/2) and 2^(n - n/2), both normal."""
        n = self.b.sub(self.bits(shifted), self.bits(self.c(_SHIFT)))
        if _ldexp_is_one_instruction():
            fnty = ir.FunctionType(self.ty, [self.ty, self.ity])
            ldexp = self.b.module.declare_intrinsic("llvm.ldexp", [self.ty, self.ity], fnty)
            return self.b.call(ldexp, [p, n])
        half = self.b.ashr(n, self.ic(1))
        return self.mul(self.mul(p, self.pow2(half)), self.pow2(self.b.sub(n, half)))

    def half_pow2(self, shifted):
        """2^(n-1) for n = shifted - _SHIFT in [-125, 128]: the low bits of
        shifted shifted into the exponent field, added to 0.5's."""
        n_bits = self.b.shl(self.bits(shifted), self.ic(self.mant))
        return self.from_bits(self.b.add(n_bits, self.bits(self.c(0.5))))

    def expm1_poly(self, r, coeffs=_EXPM1F_POLY):
        """e^r - 1 for |r| <= ln2/2, float32: r + r^2*P(r), r added exactly
        in the last fma, which keeps it increasing with r."""
        return self.fma(self.mul(r, r), self.horner(r, coeffs), r)

    # -- functions --------------------------------------------------------
    def exp(self, x):
        if not self.wide:
            return self._exp_float(x)
        n, q = self.reduce_exp(x, *_EXP_RANGE[self.wide])
        half = self.b.ashr(n, self.ic(1))  # 2^n = 2^half * 2^(n-half), both normal
        y = self.mul(self.mul(self.add(q, 1.0), self.pow2(half)),
                     self.pow2(self.b.sub(n, half)))
        return self.nan_through(x, y)

    def _exp_float(self, x, overflows=True):
        """e^r by a polynomial, times 2^n (times_pow2); NaN passes through.
        Without `overflows` (x <= 0) the upper limit is left out."""
        lo, hi = _EXP_RANGE[False]
        shifted, r = self.split_exp_float(self.limit(x, lo, hi if overflows else None))
        return self.times_pow2(self.add(self.expm1_poly(r, _EXPF_POLY), 1.0), shifted)

    def expm1(self, x):
        if not self.wide:
            return self._expm1_float(x)
        n, q = self.reduce_exp(x, _EXPM1_LOW[self.wide], _EXP_RANGE[self.wide][1])
        s = self.pow2(self.b.sub(n, self.ic(1)))  # 2^(n-1): normal up to overflow
        y = self.mul(self.fma(s, q, self.sub(s, 0.5)), 2.0)
        tiny = self.cmp("<", self.abs(x), 2.0 ** -(self.mant + 2))
        return self.nan_through(x, self.sel(tiny, x, y))

    def _expm1_float(self, x):
        """As float64's, with 2^(n-1) from shifted's bits: n >= -26 here."""
        shifted, r = self.split_exp_float(self.limit(x, _EXPM1_LOW[False], _EXP_RANGE[False][1]))
        s = self.half_pow2(shifted)
        y = self.mul(self.fma(s, self.expm1_poly(r), self.sub(s, 0.5)), 2.0)
        # x itself below 2^-25: keeps -0.0, and subnormals that s*q would round
        return self.sel(self.cmp("<", self.abs(x), 2.0 ** -25), x, y)

    def log(self, x, c=None):
        """log(x) + c for a correction c much smaller than ulp(log(x))."""
        w = self.wide
        sub = self.cmp("<", x, 2.0 ** (1 - self.bias))  # subnormal (or <= 0: masked below)
        scale = self.mant + 2
        xs = self.sel(sub, self.mul(x, 2.0 ** scale), x)
        one = self.bits(self.c(1.0))
        root_half = self.ic(0x3FE6A09E00000000 if w else 0x3F3504F3)  # ~sqrt(1/2)
        ix = self.b.add(self.bits(xs), self.b.sub(one, root_half))
        k = self.b.sub(self.b.lshr(ix, self.ic(self.mant)), self.ic(self.bias))
        k = self.b.sub(k, self.b.select(sub, self.ic(scale), self.ic(0)))
        m = self.b.add(self.b.and_(ix, self.ic((1 << self.mant) - 1)), root_half)
        f = self.sub(self.from_bits(m), 1.0)  # m in [sqrt(1/2), sqrt(2))
        hfsq = self.mul(self.mul(f, f), 0.5)
        s = self.div(f, self.add(f, 2.0))
        z = self.mul(s, s)
        big_r = self.mul(z, self.horner(z, _LOG_POLY[w]))
        dk = self.to_float(k)
        lo = self.mul(dk, _LN2_LO[w])
        y = self.fma(s, self.add(hfsq, big_r), lo if c is None else self.add(lo, c))
        y = self.fma(dk, _LN2_HI[w], self.add(self.sub(y, hfsq), f))
        y = self.sel(self.cmp("==", x, math.inf), x, y)
        y = self.sel(self.cmp("==", x, 0.0), -math.inf, y)
        return self.sel(self.b.fcmp_unordered("<", x, self.c(0.0)), math.nan, y)

    def log1p(self, x):
        u = self.add(x, 1.0)
        # (1+x)/u = 1 + c/u with c = 1+x-u, exact as written on each side of 2
        c = self.sel(self.cmp(">=", u, 2.0), self.sub(1.0, self.sub(u, x)),
                     self.sub(x, self.sub(u, 1.0)))
        y = self.log(u, self.div(c, u))
        y = self.sel(self.cmp("==", u, 1.0), x, y)  # also keeps -0.0
        return self.sel(self.cmp("==", u, math.inf), u, y)

    def tanh(self, x):
        if not self.wide:
            return self._tanh_float(x)
        t = self.expm1(self.mul(self.abs(x), 2.0))  # tanh|x| = t/(t+2) = 1 - 2/(t+2)
        big = self.cmp(">", self.abs(x), math.log(3) / 2)  # where 2/(t+2) < 1/2
        q = self.div(self.sel(big, 2.0, t), self.add(t, 2.0))
        return self.call("llvm.copysign", self.sel(big, self.sub(1.0, q), q), x)

    def _tanh_float(self, x):
        """float64's method with t/2 = num = 2^(n-1)*q + (2^(n-1) - 1/2) and
        den = num + 1, so that tanh|x| = num/den, one correctly rounded
        division for every |x| (see the module docstring)."""
        a = self.limit(self.mul(self.abs(x), 2.0), hi=2 * _TANHF_CLAMP)  # NaN kept
        shifted, r = self.split_exp_float(a)
        s, q = self.half_pow2(shifted), self.expm1_poly(r)
        num = self.fma(s, q, self.sub(s, 0.5))
        den = self.add(num, 1.0)  # num's rounding error then cancels in part
        return self.call("llvm.copysign", self.div(num, den), x)

    def sigmoid(self, x):
        neg = self.b.fneg(self.abs(x))
        e = self.exp(neg) if self.wide else self._exp_float(neg, overflows=False)
        return self.div(self.sel(self.cmp(">=", x, 0.0), 1.0, e), self.add(e, 1.0))

    def erf(self, x):
        return self._erf_double(x) if self.wide else self._erf_float(x)

    def _erf_float(self, x):
        """Two polynomials and a short exp, which needs no clamps: y is in [-18, -1.6]."""
        ax = self.abs(x)
        # erf(x) ~ 2x/sqrt(pi) near 0: one rounding of x + x*P keeps tiny x and -0.0.
        near = self.fma(x, self.horner(self.mul(x, x), _ERFF_P), x)
        a = self.sel(self.cmp("<", ax, _ERFF_CLAMP), ax, _ERFF_CLAMP)  # inf -> 1 as well
        y = self.fma(self.b.fneg(a), a, self.horner(a, _ERFF_L))  # log(erfc(a))
        # e^y = 2^n * e^r. Adding 1.5*2^23 rounds y/ln2 to the integer n and
        # leaves n in the low mantissa bits, so shifting those bits left by 23
        # puts n in the exponent field. ln2 in float32 is 2e-9 off, so r (n*ln2
        # exact inside the fma) is off by under 6e-8 for |n| <= 26, which moves
        # 1 - e^y by under 0.02 ulp: no Cody-Waite split.
        shifted = self.fma(y, 1 / math.log(2), _SHIFT)
        r = self.fma(self.sub(shifted, _SHIFT), -math.log(2), y)
        scaled = self.b.add(self.bits(self.horner(r, _ERFF_EXP)),
                            self.b.shl(self.bits(shifted), self.ic(self.mant)))
        far = self.call("llvm.copysign", self.sub(1.0, self.from_bits(scaled)), x)
        # NaN takes the near side, which passes it through.
        return self.sel(self.b.fcmp_unordered("<", ax, self.c(_ERFF_SWITCH)), near, far)

    def _erf_double(self, x):
        ax = self.abs(x)
        inside = [self.cmp("<", ax, bound) for bound in _ERF_BOUNDS]
        t = self.sel(inside[1], self.sub(ax, 1.0), self.div(1.0, self.mul(ax, ax)))
        t = self.sel(inside[0], self.mul(x, x), t)

        def pick(rows):  # per lane, the coefficient of x's interval
            out = []
            for k in range(len(rows[0])):
                c = self.sel(inside[2], rows[2][k], rows[3][k])
                c = self.sel(inside[1], rows[1][k], c)
                out.append(self.sel(inside[0], rows[0][k], c))
            return out

        den = self.fma(t, self.horner(t, pick(_ERF_DEN)), 1.0)
        y = self.div(self.horner(t, pick(_ERF_NUM)), den)
        near = self.fma(x, y, x)
        # erfc = exp(-z^2 - 0.5625) * exp((z-ax)(z+ax) + y) / ax with z = ax cut to
        # few enough bits that z*z is exact: -ax^2 without rounding error.
        cut = self.ic(-(1 << (32 if self.wide else 12)))
        z = self.from_bits(self.b.and_(self.bits(ax), cut))
        e1 = self.exp(self.sub(self.mul(self.b.fneg(z), z), 0.5625))
        e2 = self.exp(self.fma(self.sub(z, ax), self.add(z, ax), y))
        far = self.sub(1.0, self.div(self.mul(e1, e2), ax))
        far = self.sel(self.cmp(">=", ax, 6.0), 1.0, far)
        y = self.sel(inside[1], self.add(y, _ERX), far)
        return self.sel(inside[0], near, self.call("llvm.copysign", y, x))


def _ldexp_is_one_instruction() -> bool:
    """Whether llvm.ldexp becomes vscalefps/vscalefss here (AVX-512); the
    code is compiled for this host only (runtime/host.py)."""
    return "+avx512f" in identity()["features"].split(",")


def _public(method: str, doc: str):
    """The module-level `fn(builder, x) -> value` for one `_Emitter` method."""
    def emit(builder: ir.IRBuilder, x: ir.Value) -> ir.Value:
        return getattr(_Emitter(builder, x.type), method)(x)
    emit.__name__ = emit.__qualname__ = method
    emit.__doc__ = doc
    return emit


exp = _public("exp", "e**x (overflow to inf, gradual underflow to 0).")
expm1 = _public("expm1", "e**x - 1, accurate near 0.")
log = _public("log", "Natural log: log(0) = -inf, log(x < 0) = NaN, subnormals exact-range.")
log1p = _public("log1p", "log(1 + x), accurate near 0; log1p(-1) = -inf.")
tanh = _public("tanh", "Hyperbolic tangent, odd (tanh(-0.0) = -0.0), accurate for tiny x.")
sigmoid = _public("sigmoid", "1 / (1 + e**-x) in NumPy's overflow-free form.")
erf = _public("erf", "The error function, odd, exactly ±1 once it rounds there.")
