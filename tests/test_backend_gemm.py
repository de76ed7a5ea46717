"""compiler/backend/gemm.py against numpy.matmul: every dtype, edge shapes
(0, 1, sizes that are not multiples of the tiles, larger than the cache
blocks) and non-contiguous operands, which reach the kernel only as strides.

Run this file directly to measure GFLOP/s against single-threaded numpy."""
import ctypes
import functools
import mmap
import os
import sys

if __name__ == "__main__":  # one thread for numpy's BLAS; must precede importing numpy
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import llvmlite.ir as ir
import numpy as np
import pytest

import compiler.backend.gemm as gemm_module
from compiler.backend.gemm import GEMM_DTYPES, GEMM_FORMS, define_gemm, form, scratch_bytes
from compiler.backend.target import emit_object, optimize, parse
from runtime.loader import LoadedCode


class Gemm:
    """One dtype's gemm, both forms, compiled behind exported wrappers;
    call(a, b) -> a @ b through the form the backend would pick (gemm.form)."""

    def __init__(self, dtype: str):
        module = ir.Module("gemm_test")
        for gemm_form in GEMM_FORMS:
            gemm = define_gemm(module, dtype, gemm_form)
            assert define_gemm(module, dtype, gemm_form) is gemm  # defined once per module
            wrapper = ir.Function(module, gemm.function_type, f"call_{gemm_form}")
            builder = ir.IRBuilder(wrapper.append_basic_block())
            builder.call(gemm, wrapper.args)
            builder.ret_void()
        self.dtype = np.dtype(dtype)
        self.code = LoadedCode(emit_object(optimize(parse(str(module)))))
        i64, ptr = ctypes.c_int64, ctypes.c_void_p
        signature = ctypes.CFUNCTYPE(None, i64, i64, i64, ptr, i64, i64, ptr, i64, i64, ptr, i64, ptr)
        self.fns = {f: signature(self.code.address(f"call_{f}")) for f in GEMM_FORMS}
        raw = np.zeros(scratch_bytes(dtype) + 64, np.uint8)
        start = -raw.ctypes.data % 64
        self.scratch = raw[start:start + scratch_bytes(dtype)]

    def __call__(self, a: np.ndarray, b: np.ndarray, out=None) -> np.ndarray:
        (m, k), (k2, n) = a.shape, b.shape
        assert k == k2 and a.dtype == b.dtype == self.dtype
        c = np.full((m, n), 12345, self.dtype) if out is None else out  # garbage: gemm must overwrite
        item = self.dtype.itemsize
        assert c.shape == (m, n) and (c.strides[1] == item or c.size < 2)  # rows may be apart (a slab of a wider C)
        self.fns[form(m, n)](m, n, k, a.ctypes.data, a.strides[0] // item, a.strides[1] // item,
                b.ctypes.data, b.strides[0] // item, b.strides[1] // item, c.ctypes.data, max(c.strides[0] // item, n),
                self.scratch.ctypes.data)
        return c


@functools.cache
def compiled(dtype: str) -> Gemm:
    return Gemm(dtype)


def operand(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)  # large values so that integer products wrap
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def check(dtype, a, b, gemm=None):
    with np.errstate(over="ignore"):
        expected = np.matmul(a, b)
    _assert_matches(dtype, (gemm or compiled(dtype))(a, b), expected, a.shape[1])


def _assert_matches(dtype, got, expected, k):
    if np.dtype(dtype).kind == "f":
        tol = 1e-4 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.sqrt(max(k, 1)) * 4)
    else:
        np.testing.assert_array_equal(got, expected)


SHAPES = [(0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 0, 0), (1, 1, 1), (3, 5, 7), (1, 37, 19), (23, 1, 19),
          (17, 33, 65), (31, 1, 129), (1, 1, 300), (12, 32, 16), (24, 64, 8), (257, 130, 67),
          (1, 5, 9), (1, 200, 33), (100, 1, 3), (2, 2, 2)]


@pytest.mark.parametrize("dtype", GEMM_DTYPES)
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_shapes(dtype, m, n, k):
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    check(dtype, operand(rng, (m, k), dtype), operand(rng, (k, n), dtype))


@pytest.mark.parametrize("dtype", GEMM_DTYPES)
def test_larger_than_cache_blocks(dtype):
    """Several K blocks (overwrite, then accumulate), N blocks and edge tiles."""
    rng = np.random.default_rng(1)
    m, n, k = (300, 600, 700) if dtype == "float32" else (70, 530, 512)  # f64: rows 4 KiB apart
    check(dtype, operand(rng, (m, k), dtype), operand(rng, (k, n), dtype))


LAYOUTS = {
    "a_transposed": lambda a, b: (np.ascontiguousarray(a.T).T, b),
    "b_transposed": lambda a, b: (a, np.ascontiguousarray(b.T).T),
    "both_transposed": lambda a, b: (np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T),
    "every_other_row": lambda a, b: (np.repeat(a, 2, axis=0)[::2], np.repeat(b, 2, axis=0)[::2]),
    "every_other_column": lambda a, b: (np.repeat(a, 2, axis=1)[:, ::2], np.repeat(b, 2, axis=1)[:, ::2]),
    "negative_strides": lambda a, b: (a[::-1, ::-1].copy()[::-1, ::-1], b[::-1].copy()[::-1]),
    "broadcast_rows": lambda a, b: (np.broadcast_to(a[:1], a.shape), np.broadcast_to(b[:1], b.shape)),
    "broadcast_columns": lambda a, b: (np.broadcast_to(a[:, :1], a.shape), np.broadcast_to(b[:, :1], b.shape)),
}


@pytest.mark.parametrize("dtype", GEMM_DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("m,n,k", [(37, 45, 29), (3, 70, 1), (65, 2, 33), (1, 70, 33), (45, 1, 29)])
def test_strided_operands(dtype, layout, m, n, k):
    rng = np.random.default_rng(7)
    a, b = LAYOUTS[layout](operand(rng, (m, k), dtype), operand(rng, (k, n), dtype))
    check(dtype, a, b)


@pytest.mark.parametrize("dtype", GEMM_DTYPES)
@pytest.mark.parametrize("layout", ["a_transposed", "b_transposed", "both_transposed", "rows_4k_apart"])
def test_packing_by_vectors_and_transposes(dtype, layout):
    """The packing paths for full panels: unit-stride rows copied as (masked)
    vectors, unit-stride k read as vectors and transposed in registers,
    with k blocks and leftover k (K = 1024 = 2 KC blocks + 256, and 300)
    and edge panels beside them."""
    rng = np.random.default_rng(11)
    k = 4096 // np.dtype(dtype).itemsize  # a row-major A whose rows are 4 KiB apart is packed, not read in place
    for m, n, depth in [(37, 70, 300), (25, 45, k)]:
        a, b = operand(rng, (m, depth), dtype), operand(rng, (depth, n), dtype)
        if layout != "rows_4k_apart":
            a, b = LAYOUTS[layout](a, b)
        check(dtype, a, b)


def _before_a_guard_page(array: np.ndarray, keep: list) -> np.ndarray:
    """A copy of `array` whose last byte is the last before an unreadable page,
    so that packing reading past the matrix faults instead of passing."""
    page = mmap.PAGESIZE
    size = -(-array.nbytes // page) * page
    memory = mmap.mmap(-1, size + page)
    start = ctypes.addressof(ctypes.c_char.from_buffer(memory))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if libc.mprotect(start + size, page, 0) != 0:  # PROT_NONE
        pytest.skip(f"mprotect failed: errno {ctypes.get_errno()}")
    keep.append(memory)
    copy = np.frombuffer(memory, array.dtype, array.size, size - array.nbytes).reshape(array.shape)
    copy[...] = array
    return copy


@pytest.mark.skipif(not hasattr(mmap, "PROT_READ"), reason="needs POSIX mmap and mprotect")
@pytest.mark.parametrize("dtype", GEMM_DTYPES)
def test_packing_reads_nothing_past_the_operands(dtype):
    """Edge panels are packed with masked vector loads: a plain load would
    read past the last row of B, or of A^T, here into a page that faults."""
    rng = np.random.default_rng(5)
    keep = []
    for m, n, k in [(37, 45, 29), (13, 70, 16), (5, 3, 40)]:
        a, b = operand(rng, (m, k), dtype), operand(rng, (k, n), dtype)
        check(dtype, a, _before_a_guard_page(b, keep))
        check(dtype, _before_a_guard_page(np.ascontiguousarray(a.T), keep).T, b)
        check(dtype, a, _before_a_guard_page(np.ascontiguousarray(b.T), keep).T)
    del keep  # the mappings go after the arrays on them


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [35, 1])
def test_float_specials_propagate(dtype, n):
    """NaN in a row of A makes that row of C NaN (padding and edge tiles must
    not hide it); inf stays inf where no inf - inf meets it."""
    a = np.ones((20, 40), dtype)
    b = np.ones((40, n), dtype)
    a[3, 17] = np.nan
    a[11, 0] = np.inf
    got = compiled(dtype)(a, b)
    assert np.isnan(got[3]).all() and np.isposinf(got[11]).all()
    others = np.delete(got, [3, 11], axis=0)
    np.testing.assert_array_equal(others, np.full_like(others, 40))


def test_ints_wrap_like_numpy():
    for dtype in ("int32", "int64"):
        big = np.iinfo(dtype).max
        a = np.full((5, 9), big, dtype)
        b = np.full((9, 3), big - 2, dtype)
        check(dtype, a, b)


@pytest.mark.parametrize("vectors,dtype", [((32, 16), "float32"), ((32, 16), "float64"), ((16, 16), "int64")])
def test_other_hosts_plans(monkeypatch, vectors, dtype):
    """The tile sizes of an AVX2 (256-bit, 16 registers) or SSE/NEON (128-bit)
    host, built here (the code still runs on this CPU)."""
    monkeypatch.setattr(gemm_module, "_host_vectors", lambda: vectors)
    gemm = Gemm(dtype)
    rng = np.random.default_rng(3)
    for m, n, k in [(13, 17, 400), (40, 1, 33), (1, 40, 33), (7, 9, 5)]:
        for layout in ("a_transposed", "every_other_row", "b_transposed"):
            check(dtype, *LAYOUTS[layout](operand(rng, (m, k), dtype), operand(rng, (k, n), dtype)), gemm)


@pytest.mark.parametrize("dtype", GEMM_DTYPES)
@pytest.mark.parametrize("m, n, k", [(13, 40, 37), (1, 33, 20), (25, 2, 0), (50, 70, 300)])
def test_a_slab_of_a_wider_c(dtype, m, n, k):
    """ldc > N: the column slabs threads share out (indexing.emit_matmul)
    are written in place, and the columns beside them are left alone."""
    rng = np.random.default_rng(4)
    a, b = operand(rng, (m, k), dtype), operand(rng, (k, n), dtype)
    wide = np.full((m, n + 9), 7, dtype)
    compiled(dtype)(a, b, wide[:, 5:5 + n])
    with np.errstate(over="ignore"):
        expected = np.matmul(a, b)
    _assert_matches(dtype, wide[:, 5:5 + n], expected, k)
    assert (wide[:, :5] == 7).all() and (wide[:, 5 + n:] == 7).all()


def test_one_definition_per_dtype_in_a_module():
    module = ir.Module("gemms")
    functions = [define_gemm(module, dtype, f) for dtype in GEMM_DTYPES for f in GEMM_FORMS]
    assert [define_gemm(module, dtype, f) for dtype in GEMM_DTYPES for f in GEMM_FORMS] == functions
    assert len({f.name for f in functions}) == 8 and functions[0].name == "jitgrad_blocked_f32"
    assert all(f.linkage == "internal" for f in functions)
    assert all(scratch_bytes(dtype) % 64 == 0 for dtype in GEMM_DTYPES)
    parse(str(module))  # verifies


def measure(sizes=(256, 512, 1024), repeats=10):
    """Best-of GFLOP/s, ours against numpy (run as a script, so one thread);
    the two alternate, so that a busy machine slows both alike."""
    import time

    for dtype in ("float32", "float64"):
        gemm = compiled(dtype)
        for n in sizes:
            rng = np.random.default_rng(0)
            a, b = operand(rng, (n, n), dtype), operand(rng, (n, n), dtype)
            out = np.empty((n, n), dtype)
            best = {"ours": np.inf, "numpy": np.inf}
            for _ in range(repeats + 1):
                for name, run in (("ours", lambda: gemm(a, b, out)), ("numpy", lambda: np.matmul(a, b, out=out))):
                    start = time.perf_counter()
                    run()
                    best[name] = min(best[name], time.perf_counter() - start)
            ours, theirs = (2 * n ** 3 / 1e9 / best[name] for name in ("ours", "numpy"))
            print(f"{dtype} {n}^3: ours {ours:6.1f} GFLOP/s, numpy {theirs:6.1f} GFLOP/s, ratio {ours / theirs:.2f}")


if __name__ == "__main__":
    measure(tuple(int(a) for a in sys.argv[1:]) or (256, 512, 1024))
