"""The pass pipeline's results on disk (compiler/passes/stage_cache.py): a
compile that reads them gets exactly the graphs the passes would build, and
anything else (another graph, another pipeline version, a damaged entry)
runs the passes."""
import hashlib
import json
import logging
import marshal
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import frontend as torch
from compiler import dtypes
from compiler.ir import Graph, parse, print_graph
from compiler.ir.flat import to_flat
from compiler.passes import stage_cache
from compiler.passes.stage_cache import FROM_CACHE
from runtime.cache import DiskCache, reset_default_cache
from runtime.host import identity
from tests.test_native_runtime import ROOT

TRACED = """// g variant 1: first call
graph g(%x: f32[4,3], %w: f32[3,2]) {
  %0: f32[4,2] = matmul(%x, %w)                          # m.py:3 in g
  %1: f32[4,2] = mul(%0, %0)                             # m.py:4 in g
  %2: f32[4,2] = mul(%0, %0)                             # m.py:4 in g
  %3: f32[4,2] = add(%1, %2)                             # m.py:5 in g
  %4: f32[4,2] = exp(%3)                                 # m.py:5 in g
  %5: f32[2] = sum(%4) {axes=[0], keepdim=false}         # m.py:6 in g
  return out0=%5
}
"""


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A private cache directory as the process-wide cache, for compiled functions."""
    monkeypatch.setenv("JITGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("JITGRAD_CACHE", raising=False)
    reset_default_cache()
    yield tmp_path
    reset_default_cache()


def texts(graphs) -> dict:
    return {name: print_graph(graph) for name, graph in graphs.items()}


def derive(traced, cache, passes=None):
    from compiler.passes.pipeline import inference_stages
    return stage_cache.derive(traced, passes or (lambda timings: inference_stages(traced, timings)), cache)


def test_a_stored_result_reads_back_as_what_the_passes_build(tmp_path):
    cache = DiskCache(tmp_path)
    fresh = derive(parse(TRACED), cache)
    assert list(fresh.timings) == ["optimized", "fused"] and cache.stores == 1
    hits = stage_cache.STATS["hits"]
    again = derive(parse(TRACED), DiskCache(tmp_path))  # another "process"
    assert stage_cache.STATS["hits"] == hits + 1
    assert list(again.timings) == ["optimized+fused" + FROM_CACHE]
    assert texts(again.graphs) == texts(fresh.graphs)  # notes, kernels, attributes and locations included
    assert again.graphs == fresh.graphs
    assert "kernel" in print_graph(again.graphs["fused"])


def test_notes_are_not_part_of_the_key_but_come_back_as_the_caller_has_them(tmp_path):
    derive(parse(TRACED), DiskCache(tmp_path))
    traced = parse(TRACED)
    traced.notes = ["g variant 3: x.shape[0] 2 -> 4"]
    again = derive(traced, DiskCache(tmp_path))
    assert FROM_CACHE in next(iter(again.timings))
    assert all(graph.notes == traced.notes for graph in again.graphs.values())


@pytest.mark.parametrize("change", ["graph", "version", "reads"])
def test_another_graph_pipeline_version_or_reads_miss(tmp_path, monkeypatch, change):
    derive(parse(TRACED), DiskCache(tmp_path))
    stored_key = stage_cache.stage_key(parse(TRACED), {})
    traced, reads = parse(TRACED), None
    if change == "graph":
        traced = parse(TRACED.replace("exp(%3)", "log(%3)"))
    elif change == "version":
        monkeypatch.setattr(stage_cache, "PIPELINE_VERSION", stage_cache.PIPELINE_VERSION + "-next")
    else:
        reads = {"wrt": [1]}
    assert stage_cache.stage_key(traced, reads or {}) != stored_key
    from compiler.passes.pipeline import inference_stages
    derived = stage_cache.derive(traced, lambda timings: inference_stages(traced, timings), DiskCache(tmp_path),
                                 reads)
    assert list(derived.timings) == ["optimized", "fused"]


def test_a_damaged_entry_is_a_miss(tmp_path):
    fresh = derive(parse(TRACED), DiskCache(tmp_path))
    (entry,) = tmp_path.glob("*.jgc")
    data = bytearray(entry.read_bytes())
    data[-30] ^= 0xFF
    entry.write_bytes(bytes(data))
    again = derive(parse(TRACED), DiskCache(tmp_path))
    assert list(again.timings) == ["optimized", "fused"] and texts(again.graphs) == texts(fresh.graphs)


def _entry(stages=None, decided=None, entry_format=stage_cache.ENTRY_FORMAT):
    """An entry's payload as _store writes it; by default, TRACED's fused stage."""
    if stages is None:
        stages = [("fused", to_flat(parse(TRACED)), True)]
    return marshal.dumps((entry_format, stages, {} if decided is None else decided))


def _old_entry() -> bytes:
    """An entry as PIPELINE_VERSION 1 wrote it: JSON holding IR text."""
    return json.dumps({"stages": [["optimized", print_graph(parse(TRACED), notes=False), True]],
                       "decided": {}}).encode()


def _with_node(field, value):
    name, inputs, nodes, outputs, output_names, bodies = to_flat(parse(TRACED))
    node = list(nodes[1])
    node[field] = value
    return name, inputs, (nodes[0], tuple(node)) + nodes[2:], outputs, output_names, bodies


UNREADABLE = {
    "old JSON entry": _old_entry(),
    "bad bytes": b"\xff\x00 not marshal data",
    "truncated": _entry()[:-40],
    "empty": b"",
    "not a tuple": marshal.dumps({"stages": []}),
    "other entry format": _entry(entry_format="jitgrad-stages-flat-0"),
    "no stages": _entry(stages=[]),
    "stage name not a string": _entry(stages=[(7, to_flat(parse(TRACED)), True)]),
    "stage not a graph": _entry(stages=[("fused", 7, True)]),
    "decided not a dict": _entry(decided=[1]),
    "unknown primitive": _entry(stages=[("fused", _with_node(0, "no_such_op"), True)]),
    "operand before its definition": _entry(stages=[("fused", _with_node(1, (9,)), True)]),
    "negative operand": _entry(stages=[("fused", _with_node(1, (-1, 0)), True)]),
    "unknown dtype": _entry(stages=[("fused", _with_node(3, "f16"), True)]),
}


@pytest.mark.parametrize("payload", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_an_intact_but_unreadable_entry_is_a_miss(tmp_path, caplog, payload):
    """Checksummed, so written as it is: a bug or another version wrote it."""
    cache = DiskCache(tmp_path)
    cache.store(stage_cache.stage_key(parse(TRACED), {}), payload)
    with caplog.at_level(logging.WARNING, "jitgrad.stage_cache"):
        derived = derive(parse(TRACED), cache)
    assert list(derived.timings) == ["optimized", "fused"]
    assert "discarding unreadable stage cache entry" in caplog.text


def test_the_entry_the_unreadable_ones_are_made_from_reads(tmp_path):
    """So that each of those misses for what was changed in it."""
    cache = DiskCache(tmp_path)
    cache.store(stage_cache.stage_key(parse(TRACED), {}), _entry())
    derived = derive(parse(TRACED), cache)
    assert list(derived.timings) == ["fused" + FROM_CACHE] and derived.graphs["fused"] == parse(TRACED)


def test_entries_of_the_ir_text_layout_are_not_found(tmp_path):
    """Version 1 keyed entries by the traced graph's IR text: the same graph
    now has another key, so the old entry is never read."""
    context = json.dumps({"pipeline": "1", "numpy": np.__version__, "host": identity(), "reads": {}}, sort_keys=True)
    old_key = hashlib.sha256(f"stages\n{context}\n{print_graph(parse(TRACED), notes=False)}".encode()).hexdigest()
    cache = DiskCache(tmp_path)
    cache.store(old_key, _old_entry())
    assert stage_cache.stage_key(parse(TRACED), {}) != old_key
    assert list(derive(parse(TRACED), cache).timings) == ["optimized", "fused"]


def test_dtypes_read_from_the_cache_are_the_compilers_own(tmp_path):
    derive(parse(TRACED), DiskCache(tmp_path))
    again = derive(parse(TRACED), DiskCache(tmp_path))
    assert FROM_CACHE in next(iter(again.timings))
    values = [v for g in again.graphs.values() for v in g.inputs + [n.out for n in g.nodes]]
    values += [v for g in again.graphs.values() for n in g.nodes if n.op == "kernel"
               for v in n.attrs["body"].inputs + [m.out for m in n.attrs["body"].nodes]]
    assert len(values) > 10 and all(v.dtype is dtypes.float32 for v in values)


def test_the_key_holds_attribute_types_and_locations():
    """The loaded stages carry the traced graph's locations, and `1`, `1.0`
    and `true` are different graphs: none of them may share a key."""
    keys = {stage_cache.stage_key(parse(TRACED), {}),
            stage_cache.stage_key(parse(TRACED.replace("m.py:6 in g", "m.py:7 in g")), {}),
            stage_cache.stage_key(parse(TRACED.replace("keepdim=false", "keepdim=0")), {})}
    assert len(keys) == 3


def _returning(graph):
    return lambda timings: ({"fused": graph}, {})


def test_stages_that_do_not_read_back_are_not_stored(tmp_path):
    odd = parse(TRACED)
    odd.nodes[-1].attrs["note"] = "a string"  # an attribute the flat form cannot hold
    cache = DiskCache(tmp_path)
    assert stage_cache.derive(parse(TRACED), _returning(odd), cache).graphs["fused"] is odd
    assert cache.stores == 0


def test_kernels_whose_bodies_share_a_name_are_not_stored(tmp_path):
    """Bodies are told apart by name, as in the text form: two bodies of one
    name would read back as one, so such a stage is not stored."""
    fused = derive(parse(TRACED), None).graphs["fused"]
    kernel = next(n for n in fused.nodes if n.op == "kernel")
    other = parse(print_graph(kernel.attrs["body"]).replace("kernel", "graph", 1))
    other.nodes[0].loc = None  # the same name, another body
    g = Graph("two_bodies")
    args = [g.add_input(f"a{i}", v.aval) for i, v in enumerate(kernel.inputs)]
    g.set_outputs([g.add_kernel(kernel.attrs["body"], args), g.add_kernel(other, args)])
    cache = DiskCache(tmp_path)
    stage_cache.derive(parse(TRACED), _returning(g), cache)
    assert cache.stores == 0
    stage_cache.derive(parse(TRACED), _returning(fused), cache)
    assert cache.stores == 1  # while the stage it was made from is


def test_a_traced_graph_the_flat_form_cannot_hold_runs_the_passes(tmp_path):
    traced = parse(TRACED)
    traced.nodes[-1].attrs["note"] = "a string"
    cache = DiskCache(tmp_path)
    derived = stage_cache.derive(traced, _returning(parse(TRACED)), cache)
    assert list(derived.graphs) == ["fused"] and cache.stores == 0


def test_no_cache_runs_the_passes(tmp_path):
    cache = DiskCache(tmp_path, enabled=False)
    assert list(derive(parse(TRACED), cache).timings) == ["optimized", "fused"]
    assert list(derive(parse(TRACED), None).timings) == ["optimized", "fused"]


# ---- through compile ---------------------------------------------------------------------
def step(x, w):
    return ((x @ w).tanh() * 2).sum()


def compiled_variant(fn, *args):
    f = torch.compile(fn)
    f(*args)
    (variant,) = f.cache.values()
    return variant


@pytest.mark.parametrize("needs_grad", [False, True], ids=["inference", "backward"])
def test_a_second_compile_reads_the_stages_of_the_first(cache_dir, needs_grad):
    x, w = torch.randn(4, 3), torch.randn(3, 2, requires_grad=needs_grad)
    first = compiled_variant(step, x, w)
    second = compiled_variant(step, x, w)
    stages = ["joint", "forward", "backward"] if needs_grad else ["optimized", "fused"]
    assert "+".join(stages) + FROM_CACHE in second.lowered.timings
    assert list(second.lowered.stages) == ["traced", *stages]
    assert texts(second.lowered.stages) == texts(first.lowered.stages)
    if needs_grad:
        assert second.plan.wrt == first.plan.wrt and second.plan.saved_inputs == first.plan.saved_inputs
        out = torch.compile(step)(x, w)
        out.backward()
        expected = w.detach().clone().requires_grad_()
        step(x, expected).backward()
        np.testing.assert_allclose(w.grad.numpy(), expected.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_lower_runs_the_passes(cache_dir):
    x, w = torch.randn(4, 3), torch.randn(3, 2)
    compiled_variant(step, x, w)
    lowered = torch.compile(step).lower(x, w)
    assert list(lowered.timings) == ["traced", "optimized", "fused", "llvm"]


PROCESS = textwrap.dedent("""
    import json, os, numpy as np
    import frontend as torch
    from compiler.passes import stage_cache
    x = torch.from_numpy(np.arange(12, dtype=np.float32).reshape(4, 3) / 10)
    w = torch.from_numpy(np.ones((3, 2), np.float32)).requires_grad_()
    def step(x, w):
        return ((x @ w).tanh() * 2).sum()
    f = torch.compile(step)
    out = f(x, w)
    out.backward()
    print(json.dumps({"out": out.item(), "grad": w.grad.tolist(),
                      "dumped": sorted(os.listdir(os.environ["JITGRAD_DUMP"])),
                      "timings": list(next(iter(f.cache.values())).lowered.timings), **stage_cache.STATS}))
""")


def test_a_fresh_process_reads_the_stages_and_dumps_them(tmp_path):
    def run(dump):
        env = dict(os.environ, JITGRAD_CACHE_DIR=str(tmp_path / "cache"), JITGRAD_DUMP=str(tmp_path / dump),
                   PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, "-c", PROCESS], env=env, capture_output=True, text=True, cwd=ROOT,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])
    cold, warm = run("cold"), run("warm")
    assert (cold["hits"], cold["stores"], warm["hits"], warm["stores"]) == (0, 1, 1, 0)
    assert warm["timings"] == ["traced", "joint+forward+backward" + FROM_CACHE, "llvm", "llvm-backward"]
    assert (warm["out"], warm["grad"]) == (cold["out"], cold["grad"])
    assert warm["dumped"] == cold["dumped"]
    for name in cold["dumped"]:
        if name.endswith((".ir", ".ll")):
            assert (tmp_path / "warm" / name).read_text() == (tmp_path / "cold" / name).read_text(), name
