"""The function docs/ir_walkthrough.md follows through the compiler: a
two-layer MLP's loss, small enough that every stage fits on a screen.

    python examples/ir_walkthrough.py          # eager vs compiled, then a recompile
    jitgrad ir examples/ir_walkthrough.py:loss --inputs example_inputs --stage traced

The weights are module-level tensors: the compiled function reads them as
graph inputs named W1, b1, W2, b2. Like examples/mlp.py they do not require
grad when the file is imported, so `jitgrad ir` shows the inference pipeline
(traced, optimized, fused) and `--wrt W1 ...` picks what the joint, forward
and backward stages differentiate. Run as a program, the file turns
requires_grad on and trains through the compiled backward.
"""
import logging

import frontend as torch
import frontend.nn.functional as F

torch.manual_seed(0)
W1 = torch.randn(16, 32) * 0.25
b1 = torch.zeros(32)
W2 = torch.randn(32, 4) * 0.25
b2 = torch.zeros(4)
PARAMS = (W1, b1, W2, b2)


def loss(x, y):
    """Cross-entropy of a tanh MLP's logits for a batch of 16-feature points."""
    hidden = torch.tanh(x @ W1 + b1)
    return F.cross_entropy(hidden @ W2 + b2, y)


def example_inputs(batch=8):
    return torch.randn(batch, 16), torch.randint(0, 4, (batch,))


def gradients(loss_fn, x, y):
    """The loss and d loss / d params, with the params' .grad left cleared."""
    value = loss_fn(x, y)
    value.backward()
    grads = [p.grad.clone() for p in PARAMS]
    for p in PARAMS:
        p.grad = None
    return value.item(), grads


def main():
    # Show why each compiled variant exists (`recompiling loss: ...`).
    logging.basicConfig(format="%(name)s: %(message)s")
    logging.getLogger("jitgrad.compile").setLevel(logging.INFO)
    for p in PARAMS:
        p.requires_grad_()
    compiled_loss = torch.compile(loss, fullgraph=True)
    for batch in (8, 8, 12):  # the third call has a new batch size: one recompile
        x, y = example_inputs(batch)
        eager, eager_grads = gradients(loss, x, y)
        compiled, compiled_grads = gradients(compiled_loss, x, y)
        grad_diff = max((a - b).abs().max().item() for a, b in zip(eager_grads, compiled_grads))
        print(f"batch {batch:2d}: loss eager {eager:.6f} compiled {compiled:.6f}, "
              f"max |grad eager - grad compiled| = {grad_diff:.2e}")
        assert abs(eager - compiled) < 1e-5 and grad_diff < 1e-5, "eager and compiled disagree"
    print(f"eager and compiled agree; {compiled_loss.trace_count} traces")


if __name__ == "__main__":
    main()
