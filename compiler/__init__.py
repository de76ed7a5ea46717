"""jitgrad's compiler: the primitive registry, PyTorch's tensor math over it
(shared with the eager frontend), and (in later issues) the IR, passes and
the LLVM backend. It never imports `frontend`, except the IR dump CLI."""
