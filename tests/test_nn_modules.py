"""torch.nn modules: registration, tree walks, modes, state_dict, init, and
forward/backward and reprs against hand-computed values and real PyTorch."""
import importlib.util
import math
import pathlib
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import frontend as torch
from frontend import nn
from frontend.nn import functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.norm = nn.LayerNorm(4)
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.block = Block()
        self.head = nn.Linear(4, 2)
        self.tied = self.head  # a shared module: its parameters count once

    def forward(self, x):
        return self.tied(self.block.norm(self.block.fc(x))) * self.scale


NET_PARAMS = ["scale", "block.fc.weight", "block.fc.bias", "block.norm.weight", "block.norm.bias",
              "head.weight", "head.bias"]


# ---- Parameter ---------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_sharing_storage():
    data = torch.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert isinstance(p, torch.Tensor) and p.is_leaf and p.requires_grad
    data[0] = 5.0
    assert p.tolist() == [5.0, 2.0]
    (p * 3).sum().backward()
    assert p.grad.tolist() == [3.0, 3.0]
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    assert type(p * 2) is torch.Tensor


def test_parameter_repr():
    assert repr(nn.Parameter(torch.tensor([1.0, 2.0]))) == \
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert repr(nn.Parameter(torch.tensor([1.0]), requires_grad=False)) == "Parameter containing:\ntensor([1.])"


# ---- registration and walks -----------------------------------------------------------
def test_named_parameters_order_names_and_sharing():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == NET_PARAMS
    assert len(list(net.parameters())) == 7
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_parameters(prefix="m")] == ["m." + n for n in NET_PARAMS]
    assert net.head.weight is dict(net.named_parameters())["head.weight"]


def test_buffers_children_modules():
    net = Net()
    assert [n for n, _ in net.named_buffers()] == ["block.steps", "block.scratch"]
    assert len(list(net.buffers())) == 2
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert list(net.children()) == [net.block, net.head]
    assert [n for n, _ in net.named_modules(remove_duplicate=False)][-1] == "tied"
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.norm", "head"]
    assert len(list(net.modules())) == 5


def test_setattr_getattr_delattr_and_errors():
    m = nn.Module()
    m.w = nn.Parameter(torch.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.register_parameter("none", None)
    m.add_module("other", nn.ReLU())
    m.plain = 3
    assert list(m._parameters) == ["w", "none"] and list(m._modules) == ["sub", "other"]
    assert m.none is None and m.plain == 3 and "w" not in m.__dict__
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'w'"):
        m.w = torch.zeros(2)
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'missing'"):
        m.missing
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", torch.zeros(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    del m.w
    assert "w" not in m._parameters
    assert "sub" in dir(m)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(torch.zeros(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_train_eval_apply_requires_grad():
    net = Net()
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "LayerNorm", "Block", "Linear", "Net"]
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    net = Net()
    net(torch.ones(2, 3)).sum().backward()
    grad = net.head.weight.grad
    assert grad is not None
    net.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert all(p.grad is None for p in net.parameters())
    else:
        assert net.head.weight.grad is grad and all(p.grad.abs().sum().item() == 0 for p in net.parameters())


# ---- state_dict ---------------------------------------------------------------------------
def test_state_dict_keys_values_detached():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    # each module's own parameters, then its buffers, then its children (PyTorch's order)
    assert list(sd) == ["scale", "block.steps", "block.fc.weight", "block.fc.bias", "block.norm.weight",
                        "block.norm.bias", "head.weight", "head.bias", "tied.weight", "tied.bias"]
    assert not sd["head.weight"].requires_grad and sd["head.weight"].tolist() == net.head.weight.tolist()
    assert not isinstance(sd["head.weight"], nn.Parameter)
    assert net.state_dict(keep_vars=True)["head.weight"] is net.head.weight


def test_load_state_dict_round_trip_in_place():
    torch.manual_seed(0)
    a, b = Net(), Net()
    weight = b.head.weight
    assert repr(b.load_state_dict(a.state_dict())) == "<All keys matched successfully>"
    assert b.head.weight is weight and weight.requires_grad
    for (_, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert x.tolist() == y.tolist()
    x = torch.randn(2, 3)
    assert a(x).tolist() == b(x).tolist()


def test_load_state_dict_strict_errors():
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    sd = net.state_dict()
    del sd["0.bias"]
    sd["extra"] = torch.zeros(1)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    assert str(info.value) == ('Error(s) in loading state_dict for Sequential:\n\t'
                               'Missing key(s) in state_dict: "0.bias". \n\t'
                               'Unexpected key(s) in state_dict: "extra". ')
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with shape "
                                           r"torch.Size\(\[5\]\) from checkpoint, the shape in current "
                                           r"model is torch.Size\(\[2, 3\]\)."):
        net.load_state_dict({"0.weight": torch.zeros(5), "0.bias": torch.zeros(2)})


# ---- init -------------------------------------------------------------------------------------
def test_linear_init_bounds_and_determinism():
    torch.manual_seed(1)
    lin = nn.Linear(100, 30)
    bound = 1 / math.sqrt(100)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert lin.weight.shape == (30, 100) and lin.bias.shape == (30,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and w.std() > bound / 2
    assert lin.weight.is_leaf and lin.weight.requires_grad and lin.weight.grad_fn is None
    torch.manual_seed(1)
    again = nn.Linear(100, 30)
    assert np.array_equal(again.weight.detach().numpy(), w) and np.array_equal(again.bias.detach().numpy(), b)
    assert nn.Linear(2, 2, dtype=torch.float64).weight.dtype is torch.float64


def test_init_functions():
    t = torch.empty(4, 6)
    assert nn.init._calculate_fan_in_and_fan_out(torch.empty(4, 6, 3)) == (18, 12)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init._calculate_fan_in_and_fan_out(torch.empty(3))
    assert nn.init.ones_(t) is t and t.tolist() == [[1.0] * 6] * 4
    assert nn.init.zeros_(t).sum().item() == 0
    nn.init.uniform_(t, 2.0, 3.0)
    assert t.min().item() >= 2.0 and t.max().item() <= 3.0
    p = nn.Parameter(torch.empty(64, 64))
    nn.init.kaiming_uniform_(p, a=0, nonlinearity="relu")
    assert p.abs().max().item() <= math.sqrt(6 / 64) and p.requires_grad and p.is_leaf


# ---- forward and backward --------------------------------------------------------------------
def test_modules_forward_match_functional():
    torch.manual_seed(2)
    x = torch.randn(5, 3)
    lin = nn.Linear(3, 4)
    assert lin(x).tolist() == F.linear(x, lin.weight, lin.bias).tolist()
    norm = nn.LayerNorm(4)
    y = lin(x)
    assert norm(y).tolist() == F.layer_norm(y, (4,), norm.weight, norm.bias).tolist()
    assert nn.ReLU()(x).tolist() == F.relu(x).tolist()
    assert nn.Tanh()(x).tolist() == x.tanh().tolist()
    assert nn.Sigmoid()(x).tolist() == x.sigmoid().tolist()
    assert nn.GELU("tanh")(x).tolist() == F.gelu(x, approximate="tanh").tolist()
    seq = nn.Sequential(lin, nn.ReLU(), norm)
    assert seq(x).tolist() == norm(lin(x).relu()).tolist()


def test_linear_hand_computed_backward():
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[2.0, -1.0]]))
        lin.bias.fill_(0.5)
    x = torch.tensor([[1.0, 3.0], [2.0, 0.0]])
    out = lin(x)
    assert out.tolist() == [[-0.5], [4.5]]
    out.sum().backward()
    assert lin.weight.grad.tolist() == [[3.0, 3.0]] and lin.bias.grad.tolist() == [2.0]


def test_losses_match_functional():
    torch.manual_seed(3)
    x, y = torch.randn(4, 3), torch.randn(4, 3)
    labels = torch.tensor([0, 2, 1, 2])
    probs = torch.rand(4, 3)
    for reduction in ("mean", "sum", "none"):
        assert nn.MSELoss(reduction=reduction)(x, y).tolist() == F.mse_loss(x, y, reduction=reduction).tolist()
        assert nn.CrossEntropyLoss(reduction=reduction)(x, labels).tolist() == \
            F.cross_entropy(x, labels, reduction=reduction).tolist()
        assert nn.BCEWithLogitsLoss(reduction=reduction)(x, probs).tolist() == \
            F.binary_cross_entropy_with_logits(x, probs, reduction=reduction).tolist()
    w = torch.tensor([1.0, 2.0, 0.5])
    assert nn.CrossEntropyLoss(weight=w)(x, labels).item() == F.cross_entropy(x, labels, weight=w).item()
    assert list(nn.CrossEntropyLoss(weight=w).state_dict()) == ["weight"]
    assert nn.MSELoss()(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0])).item() == 5.0


def test_sequential_container():
    a, b = nn.Linear(2, 2), nn.ReLU()
    seq = nn.Sequential(a, b)
    assert seq[0] is a and seq[-1] is b and len(seq) == 2 and list(seq) == [a, b]
    assert isinstance(seq[0:1], nn.Sequential) and list(seq[0:1]) == [a]
    c = nn.Tanh()
    assert seq.append(c) is seq and seq[2] is c
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert named.fc is a and [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]


def test_module_to_double_keeps_parameter_objects():
    lin = nn.Linear(2, 2)
    weight = lin.weight
    lin.double()
    assert lin.weight is weight and weight.dtype is torch.float64
    assert lin(torch.ones(1, 2, dtype=torch.float64)).dtype is torch.float64


# ---- against real PyTorch -------------------------------------------------------------------
def _copy_into_real(real_torch, ours, real):
    with real_torch.no_grad():
        for (name, p), (real_name, q) in zip(ours.named_parameters(), real.named_parameters()):
            assert name == real_name
            q.copy_(real_torch.from_numpy(p.detach().numpy().copy()))


def _structure(nn_mod, real):
    return nn_mod.Sequential(
        nn_mod.Linear(3, 8), nn_mod.ReLU(), nn_mod.LayerNorm(8), nn_mod.Linear(8, 8, bias=False), nn_mod.Tanh(),
        nn_mod.Linear(8, 8), nn_mod.Sigmoid(), nn_mod.GELU(), nn_mod.Linear(8, 4), nn_mod.GELU(approximate="tanh"),
        nn_mod.LayerNorm([4], eps=1e-3, elementwise_affine=False), nn_mod.Linear(4, 2))


def test_reprs_match_real_torch():
    real_torch = pytest.importorskip("torch")
    rnn = real_torch.nn
    assert repr(_structure(nn, False)) == repr(_structure(rnn, True))
    assert repr(nn.Linear(784, 128)) == repr(rnn.Linear(784, 128))
    assert repr(nn.Sequential(OrderedDict(body=nn.Sequential(nn.Linear(1, 1)), act=nn.ReLU(inplace=True)))) == \
        repr(rnn.Sequential(OrderedDict(body=rnn.Sequential(rnn.Linear(1, 1)), act=rnn.ReLU(inplace=True))))
    for name in ("MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss"):
        assert repr(getattr(nn, name)(reduction="sum")) == repr(getattr(rnn, name)(reduction="sum"))
    assert repr(nn.Parameter(torch.tensor([[1.5, 2.0]]))) == repr(rnn.Parameter(real_torch.tensor([[1.5, 2.0]])))


def test_state_dict_keys_match_real_torch():
    real_torch = pytest.importorskip("torch")
    ours, real = _structure(nn, False), _structure(real_torch.nn, True)
    assert list(ours.state_dict()) == list(real.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in real.named_modules()]


def test_forward_backward_match_real_torch():
    real_torch = pytest.importorskip("torch")
    torch.manual_seed(4)
    ours, real = _structure(nn, False), _structure(real_torch.nn, True)
    _copy_into_real(real_torch, ours, real)
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    labels = np.array([0, 1, 1, 0, 1, 0])
    loss = nn.CrossEntropyLoss()(ours(torch.from_numpy(x)), torch.from_numpy(labels))
    real_loss = real_torch.nn.CrossEntropyLoss()(real(real_torch.from_numpy(x)), real_torch.from_numpy(labels))
    np.testing.assert_allclose(loss.item(), real_loss.item(), rtol=1e-5)
    loss.backward()
    real_loss.backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), real.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


def test_losses_match_real_torch():
    real_torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((5, 3)).astype(np.float32), rng.random((5, 3)).astype(np.float32)
    labels = np.array([0, 2, 1, 1, 2])
    ours_x, real_x = torch.from_numpy(x), real_torch.from_numpy(x)
    for reduction in ("mean", "sum", "none"):
        for name, target in (("MSELoss", y), ("BCEWithLogitsLoss", y), ("CrossEntropyLoss", labels)):
            got = getattr(nn, name)(reduction=reduction)(ours_x, torch.from_numpy(target))
            want = getattr(real_torch.nn, name)(reduction=reduction)(real_x, real_torch.from_numpy(target))
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-7, err_msg=name)


def test_linear_init_distribution_matches_real_torch():
    real_torch = pytest.importorskip("torch")
    ours, real = nn.Linear(50, 40), real_torch.nn.Linear(50, 40)
    for p, q in ((ours.weight, real.weight), (ours.bias, real.bias)):
        bound = 1 / math.sqrt(50)
        assert p.abs().max().item() <= bound and q.abs().max().item() <= bound
        assert p.shape == tuple(q.shape) and p.dtype is torch.float32


def test_compiled_module_finds_its_parameters_as_graph_inputs():
    """compile(model): the parameters are graph inputs named as
    named_parameters() names them; an in-place update needs no retrace."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    x = torch.randn(5, 8)
    compiled = torch.compile(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no graph break
        out = compiled(x)
    want = model(x)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-6)
    out.sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    want.sum().backward()
    for got, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(got, p.grad.numpy(), rtol=1e-6, atol=1e-6)
    (variant,) = compiled.cache.values()
    assert [v.name for v in variant.graph.inputs][1:] == [f"self.{name}" for name, _ in model.named_parameters()]
    with torch.no_grad():
        model[0].weight.mul_(2)
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(), rtol=1e-6, atol=1e-6)
    assert compiled.trace_count == 1


def test_classifier_example_trains_with_equal_eager_and_compiled_losses(capsys):
    spec = importlib.util.spec_from_file_location("classifier_example", ROOT / "examples" / "classifier.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    eager, compiled = example.main(steps=12)
    assert eager[-1] < 0.5 * eager[0]  # it learns
    np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=1e-6)
    assert "per step: eager" in capsys.readouterr().out
