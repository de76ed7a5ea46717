"""`jitgrad` console script. The IR dump CLI (`jitgrad ir FILE.py:FUNC ...`)
is built with the IR/tracing issue; the entry point is reserved here so the
installed command exists and says so instead of failing obscurely."""
from __future__ import annotations

import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print("jitgrad: the IR dump CLI ('jitgrad ir FILE.py:FUNC --arg x=f32[2,3]') is not built yet; "
          "it arrives with the IR and tracing work (issue 3).", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
