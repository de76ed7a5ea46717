"""A graph lowered into several LLVM modules (program.py's parts), compiled
at once and loaded as separate objects whose entry calls the other parts
through the argument array: the same results as one module, bit for bit,
for every kind of step (kernels, split kernels, matmuls, gathers that can
fail, in-place outputs), and cache entries that hold every part."""
import numpy as np
import pytest

import frontend as torch
import frontend.nn.functional as F
from compiler.backend import library, native, program
from compiler.interpreter import interpret
from tests.test_backend_ops import NOCACHE


def training_step(x, y, w1, w2, big):
    """Matmuls, softmax cross-entropies (gathers at y), kernels worth
    splitting across threads (over `big`), and enough steps for four parts."""
    h = torch.tanh(x @ w1)
    logits = h @ w2
    loss = F.cross_entropy(logits, y) + F.cross_entropy(logits * 2, y)
    splits = [(big * 1.5 + 0.5).tanh().exp(), (big * big).sigmoid() - 0.5, torch.log1p(big.abs()) * 3]
    return (loss, torch.softmax(logits, 1), torch.log_softmax(h, 1), h.sum(0), (h * h).mean(1), *splits,
            torch.relu(x @ w1 - 0.1).sum(), torch.exp(-logits).max(1).values)


def _inputs(seed=0, label_high=10):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((32, 64)).astype(np.float32), rng.integers(0, label_high, 32),
            rng.standard_normal((64, 48)).astype(np.float32) * 0.1,
            rng.standard_normal((48, 10)).astype(np.float32) * 0.1,
            rng.standard_normal(600_000).astype(np.float32)]


def _fused_graph():
    compiled = torch.compile(training_step)
    return compiled.lower(*[torch.from_numpy(a) for a in _inputs()]).stages["fused"]


@pytest.fixture(scope="module")
def graph():
    return _fused_graph()


def _executable(graph, cores, monkeypatch):
    monkeypatch.setattr(program, "CORES", cores)
    return native.compile_graph(graph, cache=NOCACHE)


@pytest.mark.parametrize("cores", [2, 3, 4])
def test_parts_compute_what_one_module_computes(graph, cores, monkeypatch):
    lowered = program.lower(graph, max_parts=cores)
    assert len(lowered.modules) == min(cores, len(graph.nodes) // program.STEPS_PER_PART) > 1
    assert any(name.endswith("_run") for name in lowered.manifest.links), "no step of another part is called"
    assert any(name.endswith("_task") for name in lowered.manifest.links), "no split kernel in another part"
    arrays = _inputs()
    one = _executable(graph, 1, monkeypatch)(arrays)  # also loads the GEMM, so the parts get every core
    exe = _executable(graph, cores, monkeypatch)
    assert len(exe._parts) == len(lowered.modules)
    parts = exe(arrays)
    for a, b in zip(one, parts):
        np.testing.assert_array_equal(a, b)
    for got, want in zip(parts, interpret(graph, arrays)):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_a_failing_step_in_another_part_reports_its_error(graph, monkeypatch):
    """Every part's gathers (cross-entropy's, at y) check their indices; an
    error status from a wrapper in another part stops the entry."""
    exe = _executable(graph, 4, monkeypatch)
    lowered = program.lower(graph, max_parts=4)
    gathers = [m.name for m in lowered.modules if "gather" in str(m)]
    assert gathers, "no gather in the graph"
    with pytest.raises(IndexError, match="out of bounds"):
        exe(_inputs(label_high=40))


def test_cache_entries_hold_every_part(graph, monkeypatch, tmp_path):
    from runtime.cache import DiskCache
    monkeypatch.setattr(program, "CORES", 2)
    cache = DiskCache(tmp_path)
    built = native.compile_graph(graph, cache=cache)
    hits = native.STATS["cache_hits"]
    loaded = native.compile_graph(graph, cache=cache)
    assert native.STATS["cache_hits"] == hits + 1
    arrays = _inputs()
    for a, b in zip(built(arrays), loaded(arrays)):
        np.testing.assert_array_equal(a, b)


def test_packed_entries_round_trip_and_refuse_bad_sizes():
    manifest = {"entry": "jitgrad_entry", "links": ["step3_kernel_run"]}
    code = [b"\x7fELF first", b"", b"third object"]
    assert native._unpack(native._pack(manifest, code)) == (manifest, code)
    payload = native._pack(manifest, code)
    for bad in (payload[:10], payload[:-1], payload + b"x", payload[:8] + (1 << 60).to_bytes(8, "little") + payload[16:]):
        with pytest.raises(ValueError):
            native._unpack(bad)


def test_small_graphs_stay_one_module():
    g = _fused_graph()
    assert len(program.lower(g, max_parts=1).modules) == 1
    small = torch.compile(lambda x: x * 2 + 1).lower(torch.ones(3)).stages["fused"]
    assert len(program.lower(small, max_parts=4).modules) == 1


def test_a_gemm_still_to_build_takes_a_core_from_the_parts(graph, monkeypatch):
    monkeypatch.setattr(program, "CORES", 4)
    monkeypatch.setattr(library, "unstarted", lambda name, version, cache: name == "gemm_blocked_float32")
    assert native._free_cores(graph, NOCACHE) == 3
    monkeypatch.setattr(library, "unstarted", lambda name, version, cache: False)
    assert native._free_cores(graph, NOCACHE) == 4
    monkeypatch.setattr(program, "CORES", 1)
    monkeypatch.setattr(library, "unstarted", lambda name, version, cache: True)
    assert native._free_cores(graph, NOCACHE) == 1


def test_unstarted_means_getting_it_would_start_an_llvm_build(monkeypatch, tmp_path):
    from concurrent.futures import Future

    from runtime.cache import DiskCache
    name, version = "gemm_blocked_float32", native.BACKEND_VERSION
    monkeypatch.setattr(library, "_LOADED", {})
    monkeypatch.setattr(library, "_BUILDING", {})
    cache = DiskCache(tmp_path)
    assert library.unstarted(name, version, NOCACHE) and library.unstarted(name, version, cache)
    cache.store(library._key(name, version), b"object code")
    assert not library.unstarted(name, version, cache)
    library._BUILDING[name] = Future()  # a prefetch under way
    assert not library.unstarted(name, version, NOCACHE)
    library._BUILDING.clear()
    library._LOADED[name] = object()
    assert not library.unstarted(name, version, NOCACHE)
