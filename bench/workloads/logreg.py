"""The seed tutorial's logistic-regression step: z = x @ w + b, BCE with
logits, backward. Each call gives the loss and the gradients."""
from __future__ import annotations

import numpy as np

from ..workload import Case, Workload
from ._modes import jax_jit_fresh, training_step_builders


def _data():
    rng = np.random.default_rng(2)
    return {"x": rng.standard_normal((64, 5)).astype(np.float32),
            "y": (rng.random((64, 3)) > 0.5).astype(np.float32),
            "w": rng.standard_normal((5, 3)).astype(np.float32),
            "b": rng.standard_normal(3).astype(np.float32)}


def _torch_like(module_name, compile_step):
    """`frontend` or `torch`; `compile_step(train)` wraps the whole step."""
    def build(data):
        import importlib
        lib = importlib.import_module(module_name)
        w = lib.tensor(data["w"], requires_grad=True)
        b = lib.tensor(data["b"], requires_grad=True)
        x, y = lib.from_numpy(data["x"]), lib.from_numpy(data["y"])

        def train(x, y):
            w.grad = None
            b.grad = None
            loss = lib.nn.functional.binary_cross_entropy_with_logits(lib.matmul(x, w) + b, y)
            loss.backward()
            return loss
        run = compile_step(lib, train)
        return Case(lambda: (run(x, y), w.grad, b.grad))
    return build


def _numpy(data):
    x, y, w, b = data["x"], data["y"], data["w"], data["b"]

    def step():
        z = x @ w + b
        loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
        dz = (1 / (1 + np.exp(-z)) - y) / np.float32(z.size)
        return loss, x.T @ dz, dz.sum(0)
    return Case(step)


def _jax(data):
    import jax
    import jax.numpy as jnp
    x, y, w, b = (jnp.asarray(data[k]) for k in ("x", "y", "w", "b"))

    def loss_fn(w, b, x, y):
        z = x @ w + b
        return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))
    step = jax_jit_fresh(jax, jax.value_and_grad(loss_fn, argnums=(0, 1)))
    return Case(lambda: jax.block_until_ready(step(w, b, x, y)))


def logistic_regression_step() -> Workload:
    builders = training_step_builders(_torch_like, _numpy, _jax)
    return Workload("logreg_step", "x 64x5 @ w 5x3 + b, BCE with logits, backward", _data, builders,
                    quick=True, check_calls=3, ulps=256)
