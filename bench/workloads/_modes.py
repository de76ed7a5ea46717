"""Builders for workloads that are one pure function of some arrays: the
PyTorch-style code runs unchanged on ours (eager and `frontend.compile`) and
on PyTorch (eager and `torch.compile`); NumPy and JAX get their own
hand-written versions."""
from __future__ import annotations

from ..workload import Case


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
            fn = torch.compile(fn) if compiled else fn
            return Case(lambda: fn(*args))
        return build

    def numpy_mode(data):
        args = [data[name] for name in inputs]
        return Case(lambda: numpy_fn(*args))

    def jax_mode(data):
        import jax
        import jax.numpy as jnp
        args = [jnp.asarray(data[name]) for name in inputs]
        fn = jax.jit(jax_fn)
        return Case(lambda: jax.block_until_ready(fn(*args)))

    return {"ours-eager": ours(False), "ours-compiled": ours(True), "numpy": numpy_mode,
            "torch-eager": torch_mode(False), "torch-compile": torch_mode(True), "jax-jit": jax_mode}
