"""jitgrad's runtime: loads a compiled graph's native code and runs it over
its tensor buffers. It imports neither `frontend` nor `compiler`.

It is filled in by the LLVM backend issue; until then compiled graphs do not
exist and nothing imports this package."""
