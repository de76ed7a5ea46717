# Code cells of /work/shared/seeds/003_1a54a2cb4952be53.txt (Chinese autograd
# notes), extracted by hand. Expected output: 003_1a54a2cb4952be53.expected.txt.
# randn-seed: 18
# %% In [3]
import torch
# %% In [5]
x=torch.ones(2,2,requires_grad=True)
print(x)
# %% In [7]
y=x+2
print(y)
print(y.grad_fn)
# %% In [10]
z=y*y*3 # Tensor的*要维度一致
out=z.mean()
print(z)
print(out)
# %% In [11]
a=torch.randn(2,2)
a=((a*3)/(a-1))
print(a.requires_grad)
a.requires_grad_(True)
print(a.requires_grad)
b=(a*a).sum()
print(b.grad_fn)
# %% In [12]
out.backward()
# %% In [13]
print(x.grad)
print(y.grad) 
print(z.grad) 
# %% In [63]
x=torch.randn(3,requires_grad=True)
y=x*2
print(y)
print(y.data)
print(y.data.norm()) 
# 计算y值得二范数
while y.data.norm()<1000:
    y=y*2
print(y)
# %% In [64]
#gradients=torch.tensor([1.0, 0.1, 0.0001],dtype=torch.float)
#y.backward(gradients)
y.backward(torch.tensor([0.01, 0.1, 1],dtype=torch.float))
print(y[0].data/x[0].data) # y=512x
print(x.grad)
# The seed's cell ended with a scraping artifact, a SyntaxError:
#     """
#     [[0.01,0.1,1]*[[512,0,0],[0,512,0],[0,0,512]])^T
#     """[]
# The string literal and its trailing [] are dropped here.
# %% In [44]
a=torch.FloatTensor([[2,4]])
a.requires_grad_(requires_grad=True)
b=torch.zeros(1,2)
b[0,0]=a[0,0]**2+a[0,1]
b[0,1]=a[0,1]**3+a[0,0]
out=b*2
# backward需要传入和out维度一样的矩阵
out.backward(torch.FloatTensor([[1,1]]))
# %% In [46]
print("input:",a.data)
print("output:",out.data)
print('input gradients:',a.grad)
# %% In [65]
print(x.requires_grad)
print((x ** 2).requires_grad)

with torch.no_grad():
	print((x ** 2).requires_grad)
