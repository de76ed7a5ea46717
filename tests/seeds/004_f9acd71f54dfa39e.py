# Code cells of /work/shared/seeds/004_f9acd71f54dfa39e.txt (Vietnamese
# autograd tutorial), extracted by hand. It calls no randn.
# Expected output: 004_f9acd71f54dfa39e.expected.txt.
# randn-seed: 0
# %% In [103]
# %matplotlib inline  -- IPython magic, skipped
import torch
# %% In [104]
# Khởi tạo điểm x = 5
x = torch.tensor([5.0], requires_grad=True)
y = 3 * x * x
# Tính y tại điểm x = 5
print(y)
# %% In [105]
# Tính đạo hàm
y.backward()
# In ra giá trị đạo hàm y' = dy/dx tại điểm x = 5
print(x.grad)
# %% In [106]
# Khởi tạo điểm x = 5
x = torch.tensor([7.0], requires_grad=True)
y = torch.tensor([8.0], requires_grad=True)
z = 5 * x * x * x + 2 * y * y
# Tính z tại điểm (x = 7, y = 8)
print(z)
# %% In [107]
# Tính đạo hàm
z.backward()
# In ra giá trị đạo hàm dz/dx
print(x.grad)
# %% In [108]
# In ra giá trị đạo hàm dz/dy
print(y.grad)
# %% In [109]
x = torch.tensor([[3.0, 4.0], [5.0, 2.0]], requires_grad=True)
y = 3 * x * x
print(y)
y = y.sum()
y.backward()
print(x.grad)
# %% In [110]
x = torch.tensor([[3.0, 4.0], [5.0, 2.0]], requires_grad=True)
y = 3 * torch.mm(x, x)
print(y)
y = y.sum()
y.backward()
print(x.grad)
# %% In [111]
# Khởi tạo điểm x = 2
x = torch.tensor([2.0], requires_grad=True)
y = 2 * x * x * x
z = 5 * y * y
print(y)
print(z)
# %% In [112]
z.backward()
print(x.grad)
