"""An MLP training step, nn.Sequential(Linear, ReLU, Linear) with
CrossEntropyLoss and SGD with momentum: zero_grad, forward, backward and
the optimizer step, compiled whole for ours-compiled."""
from __future__ import annotations

import importlib

import numpy as np

from ..workload import Case, Workload
from ._modes import jax_jit_fresh, training_step_builders

LR, MOMENTUM = 0.01, 0.9
PARAMS = ("w1", "b1", "w2", "b2")  # in model.parameters() order; weights are (out, in) like nn.Linear


def _data(batch, sizes):
    n_in, hidden, n_out = sizes
    rng = np.random.default_rng(5)

    def uniform(shape, fan_in):  # nn.Linear's default initialization
        return rng.uniform(-fan_in ** -0.5, fan_in ** -0.5, shape).astype(np.float32)
    return {"x": rng.standard_normal((batch, n_in)).astype(np.float32),
            "y": rng.integers(0, n_out, batch).astype(np.int64),
            "w1": uniform((hidden, n_in), n_in), "b1": uniform(hidden, n_in),
            "w2": uniform((n_out, hidden), hidden), "b2": uniform(n_out, hidden)}


def _torch_like(module_name, compile_step):
    def build(data):
        lib = importlib.import_module(module_name)
        nn = lib.nn
        (hidden, n_in), n_out = data["w1"].shape, data["w2"].shape[0]
        model = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))
        with lib.no_grad():
            for p, name in zip(model.parameters(), PARAMS):
                p.copy_(lib.from_numpy(data[name]))
        loss_fn = nn.CrossEntropyLoss()
        opt = lib.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        x, y = lib.from_numpy(data["x"]), lib.from_numpy(data["y"])

        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss
        run = compile_step(lib, step)
        return Case(lambda: run(x, y), state=lambda: list(model.parameters()))
    return build


def _numpy(data):
    """Forward, backward and SGD with momentum by hand (a zero buffer makes
    the first update equal PyTorch's, whose buffer starts as the gradient)."""
    x, y = data["x"], data["y"]
    params = [data[name].copy() for name in PARAMS]
    buffers = [np.zeros_like(p) for p in params]
    rows = np.arange(len(y))

    def step():
        w1, b1, w2, b2 = params
        pre = x @ w1.T + b1
        h = np.maximum(pre, 0)
        logits = h @ w2.T + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = np.mean(log_sum[:, 0] - shifted[rows, y])
        d_logits = np.exp(shifted - log_sum)
        d_logits[rows, y] -= 1
        d_logits /= np.float32(len(y))
        d_h = (d_logits @ w2) * (pre > 0)
        grads = [d_h.T @ x, d_h.sum(axis=0), d_logits.T @ h, d_logits.sum(axis=0)]
        for p, buf, g in zip(params, buffers, grads):
            buf *= np.float32(MOMENTUM)
            buf += g
            p -= np.float32(LR) * buf
        return loss
    return Case(step, state=lambda: params)


def _jax(data):
    import jax
    import jax.numpy as jnp
    x, y = jnp.asarray(data["x"]), jnp.asarray(data["y"])
    held = {"params": [jnp.asarray(data[name]) for name in PARAMS]}
    held["buffers"] = [jnp.zeros_like(p) for p in held["params"]]

    def loss_fn(params, x, y):
        w1, b1, w2, b2 = params
        logits = jax.nn.relu(x @ w1.T + b1) @ w2.T + b2
        picked = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)

    def update(params, buffers, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        buffers = [MOMENTUM * b + g for b, g in zip(buffers, grads)]
        return [p - LR * b for p, b in zip(params, buffers)], buffers, loss
    step = jax_jit_fresh(jax, update)

    def call():
        held["params"], held["buffers"], loss = jax.block_until_ready(step(held["params"], held["buffers"], x, y))
        return loss
    return Case(call, state=lambda: held["params"])


def mlp_step(label, batch, sizes, quick) -> Workload:
    builders = training_step_builders(_torch_like, _numpy, _jax)
    n_in, hidden, n_out = sizes
    return Workload(f"mlp_step_{label}", f"MLP {n_in}->{hidden}->{n_out}, batch {batch}, SGD momentum step",
                    lambda: _data(batch, sizes), builders, quick=quick, check_calls=3, ulps=256)
