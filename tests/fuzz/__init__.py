"""The differential fuzzer: random frontend programs run eagerly, compiled for
the interpreter and compiled for LLVM, forward and backward (README.md)."""
