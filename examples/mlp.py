"""A two-layer MLP classifier, written as ordinary PyTorch-style code.

    python examples/mlp.py                                   # run it, eager and compiled
    jitgrad ir examples/mlp.py:predict --arg x=f32[32,784]   # its IR, stage by stage
"""
import frontend as torch
import frontend.nn.functional as F

torch.manual_seed(0)
# Module-level weights: the compiled function reads them as graph inputs,
# so updating them in place is seen by the next call (no recompilation).
W1 = torch.randn(784, 128) * 0.05
b1 = torch.zeros(128)
W2 = torch.randn(128, 10) * 0.05
b2 = torch.zeros(10)


def logits(x):
    hidden = F.gelu(F.layer_norm(x @ W1 + b1, (128,)))
    return hidden @ W2 + b2


@torch.compile
def predict(x):
    """Class probabilities for a batch of flattened 28x28 images."""
    return logits(x).softmax(dim=-1)


@torch.compile
def loss(x, y):
    return F.cross_entropy(logits(x), y)


def example_inputs():
    return torch.randn(32, 784), torch.randint(0, 10, (32,))


if __name__ == "__main__":
    x, y = example_inputs()
    compiled, eager = predict(x), predict.fn(x)
    print("max |compiled - eager| =", (compiled - eager).abs().max().item())
    print("loss:", loss(x, y).item(), "traces:", predict.trace_count + loss.trace_count)
