# Code cells of /work/shared/seeds/002_eff2ce969a33bef5.txt (English translation
# of the Chinese PyTorch autograd tutorial), extracted by hand. Every cell is
# labelled "In [0]" in the seed; cells are matched by position, not by label.
# Expected output: 002_eff2ce969a33bef5.expected.txt.
# randn-seed: 23
# %% In [0]
# %matplotlib inline  -- IPython magic, skipped (the cell held nothing else)
# %% In [0]
import torch
# %% In [0]
x = torch.ones(2, 2, requires_grad=True)
print(x)
# %% In [0]
y = x + 2
print(y)
# %% In [0]
print(y.grad_fn)
# %% In [0]
z = y * y * 3
out = z.mean()

print(z, out)
# %% In [0]
a = torch.randn(2, 2)
a = ((a * 3) / (a - 1))
print(a.requires_grad)
a.requires_grad_(True)
print(a.requires_grad)
b = (a * a).sum()
print(b.grad_fn)
# %% In [0]
out.backward()
# %% In [0]
print(x.grad)
# %% In [0]
x = torch.randn(3, requires_grad=True)

y = x * 2
while y.data.norm() < 1000:
    y = y * 2

print(y)
# %% In [0]
gradients = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
y.backward(gradients)

print(x.grad)
# %% In [0]
print(x.requires_grad)
print((x ** 2).requires_grad)

with torch.no_grad():
	print((x ** 2).requires_grad)
