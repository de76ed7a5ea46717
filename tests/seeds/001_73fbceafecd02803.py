# Code cells of /work/shared/seeds/001_73fbceafecd02803.txt (Vietnamese
# "Automatic differentiation with torch.autograd"), extracted by hand.
# Expected output: 001_73fbceafecd02803.expected.txt.
# randn-seed: 0
# %% In [1]
import torch

x = torch.ones(5)  # input tensor
y = torch.zeros(3) # expected output
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
# %% In [2]
print('Gradient function for z =',z.grad_fn)
print('Gradient function for loss =', loss.grad_fn)
# %% In [3]
loss.backward()
print(w.grad)
print(b.grad)
# %% In [4]
z = torch.matmul(x, w)+b
print(z.requires_grad)

with torch.no_grad():
    z = torch.matmul(x, w)+b
print(z.requires_grad)
# %% In [5]
z = torch.matmul(x, w)+b
z_det = z.detach()
print(z_det.requires_grad)
# %% In [6]
inp = torch.eye(5, requires_grad=True)
out = (inp+1).pow(2)
out.backward(torch.ones_like(inp), retain_graph=True)
print("First call\n", inp.grad)
out.backward(torch.ones_like(inp), retain_graph=True)
print("\nSecond call\n", inp.grad)
inp.grad.zero_()
out.backward(torch.ones_like(inp), retain_graph=True)
print("\nCall after zeroing gradients\n", inp.grad)
