"""The inline vector math of compiler/backend/mathfns.py, compiled and run.

Each (function, dtype) becomes a loop `y[i] = fn(x[i])`, optimized at O3 for
the host and JIT-linked. Accuracy is measured in ulps against a correctly
rounded reference (float32: the float64 NumPy result rounded; float64: the
80-bit long double NumPy result rounded; erf: libm's erf) and against NumPy
in the same dtype; special values (NaN, infinities, signed zeros) must come
out exactly as NumPy's. Measured maxima are the bounds in MAX_ULPS."""
import ctypes
import functools
import math

import llvmlite.binding as llvm
import numpy as np
import pytest
from llvmlite import ir

from compiler.backend import mathfns
from compiler.backend.target import emit_assembly, emit_object, optimize, parse
from runtime.host import identity, new_target_machine
from runtime.loader import LoadedCode

DTYPES = (np.float32, np.float64)
IR_TYPES = {np.float32: ir.FloatType(), np.float64: ir.DoubleType()}
INT_OF = {np.float32: np.int32, np.float64: np.int64}
NAMES = ("exp", "expm1", "log", "log1p", "tanh", "sigmoid", "erf")
CASES = [(name, dtype) for name in NAMES for dtype in DTYPES]

# Max ulp error (float32, float64) against the correctly rounded reference,
# as measured on the inputs below (znver4, fmuladd fused).
MAX_ULPS = {"exp": (1, 1), "expm1": (1, 1), "log": (1, 1), "log1p": (1, 1),
            "tanh": (2, 2), "sigmoid": (2, 2), "erf": (1, 1)}
# NumPy's own float32 exp/log (SIMD) are up to 2 ulp off themselves.
NUMPY_SLACK = 2
# float64's reference needs a wider long double (x86's 80-bit); where long
# double is double, the reference is NumPy's float64 and may be 1 ulp off.
REF_SLACK = {np.float32: 0, np.float64: int(np.finfo(np.longdouble).nmant <= 52)}


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


_erf = np.vectorize(math.erf, otypes=[np.float64])
NUMPY = {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p,
         "tanh": np.tanh, "sigmoid": _sigmoid, "erf": _erf}


def _reference(name, x):
    """The correctly rounded result (up to double rounding) in x's dtype."""
    wider = np.float64 if x.dtype == np.float32 or name == "erf" else np.longdouble
    with np.errstate(all="ignore"):
        return NUMPY[name](x.astype(wider)).astype(x.dtype)


def _numpy(name, x):
    with np.errstate(all="ignore"):
        return np.asarray(NUMPY[name](x)).astype(x.dtype)


# -- compiling the kernel -------------------------------------------------------
def _kernel(name, dtype):
    """`void f(ptr noalias x, ptr noalias y, i64 n)`: y[i] = fn(x[i])."""
    ty, i64 = IR_TYPES[dtype], ir.IntType(64)
    module = ir.Module(name=f"{name}_{np.dtype(dtype).name}")
    module.triple = llvm.get_process_triple()
    module.data_layout = str(new_target_machine().target_data)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ir.PointerType()] * 2 + [i64]), "f")
    for arg in fn.args[:2]:
        arg.add_attribute("noalias")
    x, y, n = fn.args
    entry, loop, done = fn.append_basic_block("entry"), fn.append_basic_block("loop"), \
        fn.append_basic_block("done")
    b = ir.IRBuilder(entry)
    b.cbranch(b.icmp_signed(">", n, i64(0)), loop, done)
    b.position_at_end(loop)
    i = b.phi(i64)
    value = b.load(b.gep(x, [i], inbounds=True, source_etype=ty), typ=ty)
    b.store(getattr(mathfns, name)(b, value), b.gep(y, [i], inbounds=True, source_etype=ty))
    step = b.add(i, i64(1))
    i.add_incoming(i64(0), entry)
    i.add_incoming(step, loop)
    b.cbranch(b.icmp_signed("<", step, n), loop, done)
    b.position_at_end(done)
    b.ret_void()
    return module


@functools.cache
def _compiled(name, dtype):
    """(optimized IR text, the loaded code, its entry point)."""
    mod = optimize(parse(str(_kernel(name, dtype))))
    code = LoadedCode(emit_object(mod))
    entry = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(
        code.address("f"))
    return str(mod), code, entry


def _run(name, x):
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _compiled(name, x.dtype.type)[2](x.ctypes.data, y.ctypes.data, x.size)
    return y


# -- inputs -----------------------------------------------------------------------
def _near(dtype, centers, ulps=8):
    """Each center and its neighbours `ulps` steps either way (same sign)."""
    bits = np.asarray(centers, dtype).view(INT_OF[dtype])
    steps = np.arange(-ulps, ulps + 1, dtype=INT_OF[dtype])
    return (bits[:, None] + steps[None, :]).ravel().view(dtype)


SWEEP = {"exp": (-110, 92, -750, 712), "expm1": (-20, 92, -40, 712), "log": (0, 10, 0, 10),
         "log1p": (-1, 10, -1, 10), "tanh": (-12, 12, -22, 22),
         "sigmoid": (-110, 110, -750, 750), "erf": (-7, 7, -7, 7)}


def _inputs(name, dtype):
    info = np.finfo(dtype)
    rng = np.random.default_rng(sum(map(ord, name)))
    tiny, big, sub = info.smallest_normal, info.max, info.smallest_subnormal
    lo, hi = SWEEP[name][2:] if dtype == np.float64 else SWEEP[name][:2]
    with np.errstate(all="ignore"):
        edges = [np.log(big), np.log(sub), np.log(sub) - np.log(2), np.log(tiny),
                 1.0, 0.5, 2.0, tiny, sub * 7, 2.0 ** -12, 2.0 ** -30, 2.0 ** -60,
                 0.84375, 1.25, 1 / 0.35, 6.0, np.log(2) / 2, 3 * np.log(2) / 2, 0.5493]
        edges = np.asarray(edges, dtype)
        parts = [
            np.linspace(lo, hi, 40001, dtype=dtype),
            rng.integers(np.iinfo(INT_OF[dtype]).min, np.iinfo(INT_OF[dtype]).max,
                         40000, dtype=INT_OF[dtype], endpoint=True).view(dtype),
            _near(dtype, np.concatenate([edges, -edges]), 8),
            _near(dtype, [-1.0], 200),  # log1p's pole and log/log1p near 1 from below
            np.asarray(1.0, dtype) + rng.standard_normal(4000).astype(dtype) * info.eps * 64,
            rng.uniform(-1, 1, 4000).astype(dtype) * tiny,  # subnormals
            SPECIALS[dtype],
        ]
    return np.concatenate(parts).astype(dtype)


SPECIALS = {dtype: np.array(
    [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1.0, -1.0, 2.0, 0.5, 1e-3, -1e-3, 3.0, -3.0,
     30.0, -30.0, 1e3, -1e3, 1e30, -1e30, np.finfo(dtype).max, -np.finfo(dtype).max,
     np.finfo(dtype).smallest_subnormal, -np.finfo(dtype).smallest_subnormal,
     np.finfo(dtype).smallest_normal, -np.finfo(dtype).smallest_normal], dtype)
    for dtype in DTYPES}


# -- measuring ---------------------------------------------------------------------
def _ulps(a, b):
    """|a - b| in units in the last place, counting steps through the float
    grid (infinity is one step past the largest finite); NaN pairs count 0."""
    def key(v):
        itype = INT_OF[v.dtype.type]
        i = v.view(itype)
        return np.where(i < 0, -(i & np.iinfo(itype).max), i).astype(np.longdouble)
    both_nan = np.isnan(a) & np.isnan(b)
    return np.where(both_nan, 0, np.abs(key(a) - key(b)))


def _check_exceptional(got, want, x):
    """NaN-ness everywhere; where the reference is inf or zero, exactly it (sign too)."""
    bad = np.isnan(got) != np.isnan(want)
    special = np.isinf(want) | (want == 0)
    bad |= special & ~((got == want) & (np.signbit(got) == np.signbit(want)))
    assert not bad.any(), f"x={x[bad][:5]} got={got[bad][:5]} want={want[bad][:5]}"


@pytest.mark.parametrize("name,dtype", CASES)
def test_accuracy(name, dtype):
    x = _inputs(name, dtype)
    got = _run(name, x)
    bound = MAX_ULPS[name][dtype == np.float64]
    for want, slack in ((_reference(name, x), REF_SLACK[dtype]), (_numpy(name, x), NUMPY_SLACK)):
        assert np.isnan(got).tolist() == np.isnan(want).tolist()
        err = _ulps(got, want)
        worst = int(np.argmax(err))
        assert err[worst] <= bound + slack, (
            f"{name}({x[worst]!r}) = {got[worst]!r}, want {want[worst]!r}: {err[worst]} ulp")


@pytest.mark.parametrize("name,dtype", CASES)
def test_special_values_match_numpy(name, dtype):
    x = SPECIALS[dtype]
    _check_exceptional(_run(name, x), _numpy(name, x), x)


@pytest.mark.parametrize("name,dtype", CASES)
def test_loop_vectorizes_without_libm_calls(name, dtype):
    text = _compiled(name, dtype)[0]
    assert ("x float>" if dtype == np.float32 else "x double>") in text
    callees = {line.split("@", 1)[1].split("(", 1)[0]
               for line in text.splitlines() if " call " in line and "@" in line}
    assert all(c.startswith("llvm.") and not c.startswith(("llvm.exp", "llvm.log"))
               for c in callees), callees


@pytest.mark.parametrize("name,dtype", CASES)
def test_emits_straight_line_code(name, dtype):
    ty = IR_TYPES[dtype]
    module = ir.Module()
    fn = ir.Function(module, ir.FunctionType(ty, [ty]), "g")
    b = ir.IRBuilder(fn.append_basic_block())
    b.ret(getattr(mathfns, name)(b, fn.args[0]))
    assert len(fn.blocks) == 1
    calls = [i for i in fn.blocks[0].instructions if isinstance(i, ir.CallInstr)]
    assert all(c.callee.name.startswith("llvm.") for c in calls)
    parse(str(module))  # verifies


def test_rejects_non_float_types():
    module = ir.Module()
    fn = ir.Function(module, ir.FunctionType(ir.IntType(32), [ir.IntType(32)]), "g")
    with pytest.raises(TypeError):
        mathfns.exp(ir.IRBuilder(fn.append_basic_block()), fn.args[0])


# -- float32 erf: a dense sweep ------------------------------------------------------
ERF32_PIECES = (0.921875, 4.0)  # mathfns' switch between its two pieces, and its clamp
ERF32_ONE = 3.9192059  # about where erff rounds to 1


def _float32_run(lo, hi, stride=1):
    """Every `stride`-th float32 in [lo, hi), lo >= 0, in increasing order."""
    a, b = np.asarray([lo, hi], np.float32).view(np.int32)
    return np.arange(a, b, stride, dtype=np.int32).view(np.float32)


def _erf32_sweep():
    """Every 541st float32 in [0, 5] (about 2 million), every float32 within 4096
    steps of the pieces' edges and of where erff reaches 1, and the subnormals'
    ends."""
    info = np.finfo(np.float32)
    edges = [_near(np.float32, [edge], 4096) for edge in ERF32_PIECES + (ERF32_ONE,)]
    return np.concatenate([_float32_run(0.0, 5.0, 541), *edges,
                           _near(np.float32, [info.smallest_subnormal * 8], 7),
                           _near(np.float32, [info.smallest_normal], 64)])


def test_erf_float32_dense_sweep_within_bound_and_odd():
    x = _erf32_sweep()
    got = _run("erf", x)
    err = _ulps(got, _reference("erf", x))
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULPS["erf"][0], (
        f"erf({x[worst]!r}) = {got[worst]!r}: {err[worst]} ulp over {x.size} inputs")
    negated = _run("erf", -x)
    assert np.array_equal(negated.view(np.int32), (-got).view(np.int32)), "erf(-x) != -erf(x)"


@pytest.mark.skipif("+fma" not in identity()["features"].split(","),
                    reason="measured with fmuladd fused; unfused roundings can step down by 1 ulp")
def test_erf_float32_never_steps_down():
    # Every float32 in [0.875, 1.5): both pieces, where erf rises by under an
    # ulp per step, so rounding errors in its log(erfc) could make it go down.
    x = _float32_run(0.875, 1.5)
    steps = np.diff(_run("erf", x))
    assert (steps >= 0).all(), f"erf decreases after x={x[:-1][steps < 0][:5]}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_erf_exact_values(dtype):
    """Signed zeros, NaN, and exactly ±1 once erf rounds to 1 (from 3.92 in
    float32, 5.92 in float64), infinities included."""
    ones = [6.0, 1e10, np.finfo(dtype).max, np.inf] + (
        [ERF32_ONE + 0.001, ERF32_PIECES[1], 5.0] if dtype == np.float32 else [])
    x = np.asarray([0.0, -0.0] + ones + [-v for v in ones], dtype)
    want = np.asarray([0.0, -0.0] + [1.0] * len(ones) + [-1.0] * len(ones), dtype)
    got = _run("erf", x)
    assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want)), (
        f"erf({x}) = {got}")
    assert np.isnan(_run("erf", np.asarray([np.nan, -np.nan], dtype))).all()


# -- float32 exp, expm1, tanh, sigmoid: dense sweeps ----------------------------------
# Every `stride`-th float32 in [lo, hi] (about 2 million inputs), and every
# float32 within 4096 steps of each edge: where the method switches (n's
# half-way points, tanh's log(3)/2, expm1's 2^-25), where the result leaves
# the normal range or reaches its limit, and where an argument is cut.
LN2 = math.log(2)
DENSE32 = {
    "exp": (-105.0, 90.0, 1031, [88.72284, 127.5 * LN2, LN2 / 2, -LN2 / 2, -87.33655,
                                 -125.5 * LN2, -103.27893, -149.5 * LN2, -103.972084]),
    "expm1": (-20.0, 90.0, 1021, [88.72284, LN2 / 2, -LN2 / 2, 2.0 ** -25, -(2.0 ** -25),
                                  -17.32868, -18.0]),
    "tanh": (-10.0, 10.0, 1019, [LN2 / 4, math.log(3) / 2, 9.010914, 9.1, 2.0 ** -12]),
    "sigmoid": (-105.0, 20.0, 1031, [LN2 / 2, 17.32868, -87.33655, -103.27893,
                                     -103.972084]),
}


# A result just below a power of two has the smallest ulp for its size, so
# relative errors count most there: for tanh and sigmoid, every float32 whose
# result is in [0.96, 1) * 2^-k. (inverse function, k)
BELOW_POWERS_OF_TWO = {"tanh": (np.arctanh, range(2, 7)),
                       "sigmoid": (lambda y: -np.log(1 / y - 1), range(2, 7))}


def _every_float32_between(a, b):
    """Every float32 between a and b, which have the same sign."""
    run = _float32_run(*sorted((abs(a), abs(b))))
    return run if a > 0 else -run


def _dense32(name):
    lo, hi, stride, edges = DENSE32[name]
    tanh_edges = [-e for e in edges] if name == "tanh" else []  # odd: both signs
    parts = [-_float32_run(0.0, -lo, stride), _float32_run(0.0, hi, stride),
             _near(np.float32, edges + tanh_edges, 4096)]
    inverse, ks = BELOW_POWERS_OF_TWO.get(name, (None, ()))
    parts += [_every_float32_between(inverse(0.96 * 2.0 ** -k), inverse(2.0 ** -k)) for k in ks]
    return np.concatenate(parts)


def _check_dense32(name):
    x = _dense32(name)
    got, want = _run(name, x), _reference(name, x)
    _check_exceptional(got, want, x)  # overflow to inf, underflow to 0, -0.0
    err = _ulps(got, want)
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULPS[name][0], (
        f"{name}({x[worst]!r}) = {got[worst]!r}, want {want[worst]!r}: {err[worst]} ulp "
        f"over {x.size} inputs")


@pytest.mark.parametrize("name", sorted(DENSE32))
def test_float32_dense_sweep_within_bound(name):
    _check_dense32(name)


@pytest.mark.parametrize("name", ["exp", "sigmoid"])
def test_float32_dense_sweep_without_ldexp(name, monkeypatch):
    """Hosts without AVX-512 get 2^n as two multiplications instead of llvm.ldexp."""
    monkeypatch.setattr(mathfns, "_ldexp_is_one_instruction", lambda: False)
    _compiled.cache_clear()
    try:
        assert "llvm.ldexp" not in _compiled(name, np.float32)[0]
        _check_dense32(name)
    finally:
        _compiled.cache_clear()


@pytest.mark.skipif("+avx512f" not in identity()["features"].split(","),
                    reason="llvm.ldexp is one instruction only with AVX-512")
@pytest.mark.parametrize("name", ["exp", "sigmoid"])
def test_float32_ldexp_is_one_vscalefps_without_calls(name):
    mod = optimize(parse(str(_kernel(name, np.float32))))
    asm = emit_assembly(mod)
    assert "vscalefps" in asm and "call" not in asm, asm


# Where float32 rounds each function to its limit, from the float64 value.
SATURATES32 = {"tanh": (9.010914, 1.0), "sigmoid": (17.32868, 1.0), "expm1": (-17.32868, -1.0)}


@pytest.mark.parametrize("name", sorted(SATURATES32))
def test_float32_saturates_exactly(name):
    """Exactly the limit from where it is the rounded value on: tanh = +-1
    (odd), sigmoid = 1, expm1 = -1, through the largest floats and inf."""
    start, limit = SATURATES32[name]
    steps = _float32_run(abs(start), abs(start) * 1.01)[:4096]
    far = np.asarray([20.0, 100.0, 1e10, np.finfo(np.float32).max, np.inf], np.float32)
    x = np.concatenate([steps, far]) * np.float32(math.copysign(1.0, start))
    got = _run(name, x)
    assert (got == limit).all(), f"{name}({x[got != limit][:5]}) = {got[got != limit][:5]}"
    if name == "tanh":
        assert (_run(name, -x) == -limit).all()


@pytest.mark.skipif("+fma" not in identity()["features"].split(","),
                    reason="measured with fmuladd fused")
@pytest.mark.parametrize("name", ["exp", "expm1"])
def test_float32_exp_never_steps_down(name):
    # Every float32 with |x| in [0.23, 0.36]: e^x grows by under an ulp per
    # step there, and ln2/2 is where n changes; a polynomial whose last step
    # was fma(A, r, 1) instead of adding r exactly stepped down near -0.25.
    x = _float32_run(0.23, 0.36)
    x = np.concatenate([-x[::-1], x])
    steps = np.diff(_run(name, x))
    assert (steps >= 0).all(), f"{name} decreases after x={x[:-1][steps < 0][:5]}"
