"""The LLVM backend: a fused graph to native code the runtime runs.

native.py is the entry point (compile_graph, llvm_ir, assembly, the disk
cache key); program.py lays a graph out as modules with one entry;
kernels.py emits a fused kernel's loop nest, scalar_ops.py each elementwise
op on one element, mathfns.py the vectorizable transcendental functions,
gemm.py the matmul kernel, indexing.py gather/scatter-add/iota/matmul steps."""
