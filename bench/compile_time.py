"""Compile times. Ours: the first call in a fresh process with an empty
cache directory (cold: trace, passes, LLVM, run), then in a second fresh
process with the same directory (warm: the disk cache); a full bench run
takes the median of three such pairs. torch.compile and
jax.jit keep their caches in process, so theirs is the first call minus a
steady call, measured in this process (torch's inductor also reuses its own
on-disk cache when one exists).

`python -m bench.compile_time WORKLOAD [N]` prints ours cold, then the
median and minimum of N warm probes (default 10): one warm probe moves by
20-40% on a busy machine."""
from __future__ import annotations

import json
import os
import statistics
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


def ours_cold_and_warm(workload_name: str, samples: int = 1) -> dict:
    """Medians of `samples` cold probes, each in a cache directory of its
    own, and of one warm probe after each: a single probe of either moves
    by half on this kind of machine (a cold 0.23-0.58 s in one day's runs)."""
    pairs = [ours_warm_samples(workload_name, 1) for _ in range(samples)]
    cold, warm = [c for c, _ in pairs], [w for _, (w,) in pairs]
    return {"cold_s": statistics.median(cold), "warm_s": statistics.median(warm), "cold_samples_s": cold,
            "warm_samples_s": warm}


def ours_warm_samples(workload_name: str, n: int) -> tuple[float, list[float]]:
    """The cold probe's seconds, then those of `n` warm probes sharing its cache."""
    with tempfile.TemporaryDirectory(prefix="jitgrad-bench-cache-") as cache_dir:
        cold = _probe(workload_name, cache_dir)
        return cold, [_probe(workload_name, cache_dir) for _ in range(n)]


def in_process_overhead(first_call_s: float, steady_s: float) -> dict:
    return {"first_call_minus_steady_s": max(0.0, first_call_s - steady_s)}


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        print("usage: python -m bench.compile_time WORKLOAD [N]", file=sys.stderr)
        return 2
    cold, warm = ours_warm_samples(args[0], int(args[1]) if len(args) > 1 else 10)
    print(f"{args[0]}: cold {cold * 1e3:.1f} ms; warm median {statistics.median(warm) * 1e3:.1f} ms, "
          f"min {min(warm) * 1e3:.1f} ms over {len(warm)} fresh processes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
