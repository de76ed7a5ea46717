"""`python -m bench.backend_report`: the LLVM backend's figures in one run.

Medians over repetitions, each against its baseline measured in the same
run: compiled vs eager for the seed's logistic-regression step and an
8-op elementwise chain on 1M float32, the compile time of the MLP training
step in examples/train.py (cold in this process with the disk cache off,
then in a fresh process from the disk cache), and GEMM GFLOP/s at 512^3
against numpy.matmul."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from .harness import _time
from .workloads import elementwise_chain, logistic_regression_step

COMPILE_SCRIPT = """
import time, numpy as np, frontend as torch
start = time.perf_counter()
import examples.train as train
torch.manual_seed(0)
x, y = torch.randn(32, 784), torch.randint(0, 10, (32,))
params = train.init_params()
train.step(params, x, y)  # .grad exists, as in every step after the first
step = torch.compile(train.step, fullgraph=True)
start = time.perf_counter()
step(params, x, y)
print(time.perf_counter() - start)
"""


def median_ms(fn, repeat=20):
    return statistics.median(_time(fn, repeat, 0.3)) * 1e3


def compile_seconds(cache_dir, enabled=True) -> float:
    env = dict(os.environ, JITGRAD_CACHE_DIR=cache_dir, JITGRAD_CACHE="1" if enabled else "0")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT], env=env, capture_output=True, text=True,
                          cwd=root, check=True)
    return float(done.stdout.split()[-1])


def gemm_gflops(n=512):
    import frontend as torch
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    mm = torch.compile(lambda x, y: x @ y)
    np.testing.assert_allclose(mm(ta, tb).numpy(), a @ b, rtol=1e-3, atol=1e-3)
    flops = 2 * n ** 3 / 1e9
    ours = median_ms(lambda: mm(ta, tb))
    theirs = median_ms(lambda: np.matmul(a, b))
    return flops / ours * 1e3, flops / theirs * 1e3


def main():
    for workload in (logistic_regression_step(), elementwise_chain(10 ** 6)):
        modes = workload.make()
        eager, compiled = median_ms(modes["ours-eager"]), median_ms(modes["ours-compiled"])
        print(f"{workload.name:<22} eager {eager:8.3f} ms  compiled {compiled:8.3f} ms  ({eager / compiled:5.2f}x)")
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = compile_seconds(cache_dir, enabled=False)
        compile_seconds(cache_dir)  # fills the cache
        warm = compile_seconds(cache_dir)
    print(f"MLP training step compile (trace, passes, LLVM, first call): cold {cold * 1e3:.0f} ms, "
          f"from the disk cache in a fresh process {warm * 1e3:.0f} ms")
    ours, theirs = gemm_gflops()
    print(f"GEMM 512^3 float32: ours {ours:.1f} GFLOP/s, numpy.matmul {theirs:.1f} GFLOP/s "
          f"({ours / theirs:.2f}x; numpy threads: default)")
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
