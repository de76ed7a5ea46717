"""Compile times. Ours: the first call in a fresh process with an empty
cache directory (cold: trace, passes, LLVM, run), then in a second fresh
process with the same directory (warm: the disk cache). torch.compile and
jax.jit keep their caches in process, so theirs is the first call minus a
steady call, measured in this process (torch's inductor also reuses its own
on-disk cache when one exists)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE_TIMEOUT_S = 600


def _probe(workload_name: str, cache_dir: str) -> float:
    env = dict(os.environ, JITGRAD_CACHE_DIR=cache_dir, JITGRAD_CACHE="1")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-m", "bench._compile_probe", workload_name], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"compile probe for {workload_name} failed (exit {done.returncode}): {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])["first_call_s"]


def ours_cold_and_warm(workload_name: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="jitgrad-bench-cache-") as cache_dir:
        cold = _probe(workload_name, cache_dir)
        warm = _probe(workload_name, cache_dir)
    return {"cold_s": cold, "warm_s": warm}


def in_process_overhead(first_call_s: float, steady_s: float) -> dict:
    return {"first_call_minus_steady_s": max(0.0, first_call_s - steady_s)}
