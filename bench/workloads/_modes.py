"""Builders for the modes of a workload: the PyTorch-style code runs
unchanged on ours (eager and `frontend.compile`) and on PyTorch (eager and
`torch.compile`); NumPy and JAX get their own hand-written versions."""
from __future__ import annotations

from ..workload import Case


def torch_compile_fresh(torch, fn):
    """torch.compile after resetting dynamo, which caches compiled code per
    code object: workloads sharing one (gemm 512 and 1024) would otherwise
    reuse or dynamically recompile each other's graphs, and the first call
    would not be a first compile."""
    torch.compiler.reset()
    return torch.compile(fn)


def jax_jit_fresh(jax, fn):
    """jax.jit from empty in-process caches, for the same reason."""
    jax.clear_caches()
    return jax.jit(fn)


def pure_function_builders(inputs, torch_like, numpy_fn, jax_fn) -> dict:
    """`inputs` names the data arrays passed, in order; `torch_like(lib, *xs)`
    is written against the PyTorch API (`lib` is `frontend` or `torch`)."""
    def ours(compiled):
        def build(data):
            import frontend
            args = [frontend.from_numpy(data[name]) for name in inputs]
            fn = lambda *xs: torch_like(frontend, *xs)  # noqa: E731
            fn = frontend.compile(fn) if compiled else fn
            return Case(lambda: fn(*args))
        return build

    def torch_mode(compiled):
        def build(data):
            import torch
            args = [torch.from_numpy(data[name]) for name in inputs]
            fn = lambda *xs: torch_like(torch, *xs)  # noqa: E731
            fn = torch_compile_fresh(torch, fn) if compiled else fn
            return Case(lambda: fn(*args))
        return build

    def numpy_mode(data):
        args = [data[name] for name in inputs]
        return Case(lambda: numpy_fn(*args))

    def jax_mode(data):
        import jax
        import jax.numpy as jnp
        args = [jnp.asarray(data[name]) for name in inputs]
        fn = jax_jit_fresh(jax, jax_fn)
        return Case(lambda: jax.block_until_ready(fn(*args)))

    return {"ours-eager": ours(False), "ours-compiled": ours(True), "numpy": numpy_mode,
            "torch-eager": torch_mode(False), "torch-compile": torch_mode(True), "jax-jit": jax_mode}


def training_step_builders(torch_like, numpy_mode, jax_mode) -> dict:
    """For a whole training step: `torch_like(module_name, compile_step)`
    builds the step on `frontend` or `torch`, compiled by `compile_step(lib,
    step)`. backward() (and an optimizer) inside breaks torch.compile's graph,
    so it runs without fullgraph."""
    return {"ours-eager": torch_like("frontend", lambda lib, f: f),
            "ours-compiled": torch_like("frontend", lambda lib, f: lib.compile(f, fullgraph=True)),
            "numpy": numpy_mode,
            "torch-eager": torch_like("torch", lambda lib, f: f),
            "torch-compile": torch_like("torch", torch_compile_fresh),
            "jax-jit": jax_mode}
