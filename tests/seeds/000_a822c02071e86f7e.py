# Code cells of /work/shared/seeds/000_a822c02071e86f7e.txt (Vietnamese autograd
# tutorial), extracted by hand. Expected output: 000_a822c02071e86f7e.expected.txt.
# randn-seed: 14
# %% In [1]
import torch
# %% In [2]
x = torch.ones(2, 2, requires_grad=True)
print(x)
# %% In [3]
y = x + 2
print(y)
# %% In [4]
print(y.grad_fn)
# %% In [5]
z = y * y * 3
z
# %% In [7]
out = z.mean()
print(z, out)
# %% In [9]
a = torch.randn(2, 2)
a = ((a * 3) / (a - 1))
a
# %% In [10]
print(a.requires_grad)
# %% In [11]
a.requires_grad_(True)
# %% In [12]
print(a.requires_grad)
# %% In [13]
b = (a * a).sum()
print(b.grad_fn)
# %% In [14]
out.backward()
# %% In [15]
print(x.grad)
# %% In [16]
x = torch.randn(3, requires_grad=True)

y = x * 2
while y.data.norm() < 1000:
    y = y * 2

print(y)
# %% In [17]
gradients = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
y.backward(gradients)

print(x.grad)
# %% In [18]
print(x.requires_grad)
print((x ** 2).requires_grad)

with torch.no_grad():
	print((x ** 2).requires_grad)
