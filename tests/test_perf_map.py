"""JITGRAD_PERF_MAP=1 names every loaded function for `perf` (runtime/perf_map.py)."""
import os

import numpy as np

from compiler.backend import native
from compiler.ir import parse
from runtime import perf_map
from runtime.cache import DiskCache

GRAPH = """
graph g(%x: f32[64], %y: f32[64]) {
  %0: f32[64] = mul(%x, %y)
  %1: f32[64] = exp(%0)
  return %1
}"""


def test_loading_code_writes_each_function_with_its_loaded_address(monkeypatch, tmp_path):
    path = f"/tmp/perf-{os.getpid()}.map"
    before = open(path).read() if os.path.exists(path) else None
    monkeypatch.setenv("JITGRAD_PERF_MAP", "1")
    try:
        exe = native.compile_graph(parse(GRAPH), DiskCache(enabled=False))
        lines = open(path).read()[len(before or ""):].splitlines()
    finally:
        if before is None:
            os.remove(path)
        else:
            open(path, "w").write(before)
    entries = {name: (int(start, 16), int(size, 16)) for start, size, name in (line.split() for line in lines)}
    assert entries["jitgrad_entry"][0] == exe._code.address("jitgrad_entry")
    step = next(name for name in entries if name.startswith("step0"))  # an internal function, named too
    assert entries[step][1] > 0
    np.testing.assert_allclose(exe([np.ones(64, np.float32)] * 2)[0], np.e, rtol=1e-6)


def test_other_files_have_no_functions():
    assert perf_map.functions(b"not an object file") == []
    assert perf_map.functions(b"\x7fELF\x01\x01" + bytes(64)) == []  # 32-bit
