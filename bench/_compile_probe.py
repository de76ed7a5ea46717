"""`python -m bench._compile_probe WORKLOAD`: the first call of the
workload's ours-compiled mode in this fresh process (trace, passes, LLVM
or the disk cache, and the run), printed as JSON on the last line. The
cache directory comes from JITGRAD_CACHE_DIR, set by the caller."""
from __future__ import annotations

import json
import sys
import time


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench._compile_probe WORKLOAD", file=sys.stderr)
        return 2
    from .workloads import workload_named
    workload = workload_named(args[0])
    case = workload.builders["ours-compiled"](workload.data())
    start = time.perf_counter()
    case.call()
    print(json.dumps({"workload": workload.name, "first_call_s": time.perf_counter() - start}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
