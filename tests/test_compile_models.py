"""`torch.compile` on model-like code gives what eager gives, and its cache
behaves: one trace per guard key, a logged reason on every recompile, a
warning and eager fallback past `cache_size_limit`.

The compiled path runs an optimized IR graph through the interpreter, so
every numeric test compares it against the same function run eagerly
(`compiled.fn`), in float32 and float64, across the composites a small
training script uses (MLP, logistic regression, softmax, layer_norm, gelu,
cross-entropy) and the structural ops (indexing, keepdim reductions, cat,
stack, where). The output-structure tests check that tuples, lists, dicts,
named tuples and Python ints come back in the shape `fn` returned them.
"""
import collections
import logging
import warnings

import numpy as np
import pytest

import frontend as torch
import frontend.nn.functional as F
from frontend.jit import CompiledFunction, GraphBreakWarning

LOGGER = "jitgrad.compile"
RTOL = {torch.float32: 1e-5, torch.float64: 1e-12}
ATOL = {torch.float32: 1e-6, torch.float64: 1e-12}


def randn(*shape, dtype=torch.float32, seed=0):
    rng = np.random.default_rng(seed + 17 * len(shape) + sum(shape))
    return torch.from_numpy(rng.standard_normal(shape).astype(dtype.np))


def assert_same(compiled, eager):
    """Same structure, same dtypes, same values (float tolerances by dtype)."""
    assert type(compiled) is type(eager)
    if isinstance(eager, torch.Tensor):
        assert compiled.dtype is eager.dtype and tuple(compiled.shape) == tuple(eager.shape)
        if eager.dtype in RTOL:
            np.testing.assert_allclose(compiled.numpy(), eager.numpy(), rtol=RTOL[eager.dtype],
                                       atol=ATOL[eager.dtype])
        else:
            np.testing.assert_array_equal(compiled.numpy(), eager.numpy())
    elif isinstance(eager, dict):
        assert list(compiled) == list(eager)
        for k in eager:
            assert_same(compiled[k], eager[k])
    elif isinstance(eager, (list, tuple)):
        assert len(compiled) == len(eager)
        for c, e in zip(compiled, eager):
            assert_same(c, e)
    else:
        assert compiled == eager


def check(fn, *args, **kwargs):
    """Compile `fn`, run it and eager on the same arguments, compare; returns the compiled function."""
    compiled = torch.compile(fn, fullgraph=True)
    assert_same(compiled(*args, **kwargs), fn(*args, **kwargs))
    assert compiled.trace_count == 1
    return compiled


# ---- model-like functions -------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_two_layer_mlp_forward_matches_eager(dtype):
    W1, b1 = randn(8, 16, dtype=dtype, seed=1), randn(16, dtype=dtype, seed=2)
    W2, b2 = randn(16, 3, dtype=dtype, seed=3), randn(3, dtype=dtype, seed=4)

    def mlp(x):
        h = (x @ W1 + b1).relu()
        return h @ W2 + b2

    check(mlp, randn(5, 8, dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_linear_layers_via_functional_match_eager(dtype):
    def net(x, w1, b1, w2):
        return F.linear(F.relu(F.linear(x, w1, b1)), w2)

    check(net, randn(4, 6, dtype=dtype), randn(5, 6, dtype=dtype, seed=1), randn(5, dtype=dtype, seed=2),
          randn(2, 5, dtype=dtype, seed=3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_logistic_regression_losses_match_eager(dtype):
    w, b = randn(6, 1, dtype=dtype, seed=5), randn(1, dtype=dtype, seed=6)
    target = torch.tensor([[1.0], [0.0], [1.0], [1.0], [0.0]], dtype=dtype)

    def logreg(x, y):
        z = x @ w + b
        return (F.binary_cross_entropy(F.sigmoid(z), y), F.binary_cross_entropy_with_logits(z, y),
                F.binary_cross_entropy_with_logits(z, y, reduction="sum"), F.mse_loss(z.sigmoid(), y))

    check(logreg, randn(5, 6, dtype=dtype), target)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_and_log_softmax_match_eager(dtype):
    def probs(x):
        return F.softmax(x, dim=-1), F.log_softmax(x, dim=1), x.softmax(0), x.logsumexp(dim=1)

    check(probs, randn(4, 7, dtype=dtype) * 10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_layer_norm_and_gelu_match_eager(dtype):
    weight, bias = randn(12, dtype=dtype, seed=7), randn(12, dtype=dtype, seed=8)

    def block(x):
        return (F.gelu(F.layer_norm(x, (12,))), F.layer_norm(x, (12,), weight, bias),
                F.gelu(x, approximate="tanh"), F.tanh(x))

    check(block, randn(3, 12, dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cross_entropy_with_int64_targets_matches_eager(dtype):
    targets = torch.tensor([0, 3, 1, 2, 3, 0], dtype=torch.int64)

    def losses(logits, y):
        return (F.cross_entropy(logits, y), F.cross_entropy(logits, y, reduction="none"),
                F.nll_loss(F.log_softmax(logits, dim=1), y, reduction="sum"),
                F.cross_entropy(logits, torch.where(y == 3, -100, y)))

    compiled = check(losses, randn(6, 4, dtype=dtype), targets)
    assert [v.aval.dtype for v in compiled.lower(randn(6, 4, dtype=dtype), targets).stages["traced"].inputs] \
        == [dtype, torch.int64]


def test_indexing_and_slicing_match_eager():
    idx = torch.tensor([2, 0, 2])

    def pick(x):
        return x[1], x[:, 2], x[1:3, ::2], x[..., -1], x[idx], x[None, 0], x.T[0], x[-2:, [0, 4]], x[idx, idx]

    check(pick, randn(4, 5))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reductions_with_keepdim_match_eager(dtype):
    def reduce(x):
        return (x.sum(dim=1, keepdim=True), x.mean(0, keepdim=True), x.amax(dim=(0, 2), keepdim=True),
                x.var(dim=2, keepdim=True), x.std(1), x.sum(), x.argmax(dim=1), x.max(dim=2, keepdim=True)[0],
                x.norm())

    check(reduce, randn(3, 4, 5, dtype=dtype))


def test_cat_stack_and_where_match_eager():
    def combine(a, b):
        return (torch.cat([a, b], dim=0), torch.cat((a, b * 2), dim=1), torch.stack([a, b]),
                torch.stack([a, b], dim=-1), torch.where(a > b, a, b), torch.where(a > 0, a, 0.0),
                a.clamp(-0.5, 0.5), torch.maximum(a, b))

    check(combine, randn(3, 4), randn(3, 4, seed=9))


def test_integer_arithmetic_and_casts_match_eager():
    def ints(i, x):
        return i * 3 + 1, (i % 3).float() * x, x.long(), i.double().sum(), (x > 0).sum()

    check(ints, torch.arange(6).reshape(2, 3), randn(2, 3))


# ---- the cache: reuse, recompiles and their logged reasons ------------------------
def test_same_shape_calls_reuse_one_trace_and_see_new_values():
    @torch.compile
    def scale(x):
        return x * 2 + 1

    for seed in range(4):
        x = randn(4, 3, seed=seed)
        assert_same(scale(x), scale.fn(x))
    assert scale.trace_count == 1 and len(scale.cache) == 1


def test_new_shape_recompiles_and_logs_which_dim_changed(caplog):
    @torch.compile
    def rowsum(x):
        return x.sum(1)

    caplog.set_level(logging.INFO, logger=LOGGER)
    rowsum(randn(4, 3))
    assert caplog.messages == []
    assert_same(rowsum(randn(6, 3)), rowsum.fn(randn(6, 3)))
    assert rowsum.trace_count == 2
    assert caplog.messages == ["recompiling rowsum: x.shape[0] 4 -> 6"]
    rowsum(randn(4, 3))  # the first variant is still cached
    assert rowsum.trace_count == 2 and len(caplog.messages) == 1


def test_rank_and_dtype_changes_are_named_in_the_log(caplog):
    @torch.compile
    def double(x):
        return x + x

    caplog.set_level(logging.INFO, logger=LOGGER)
    double(randn(2, 3))
    assert_same(double(randn(2, 3, dtype=torch.float64)), double.fn(randn(2, 3, dtype=torch.float64)))
    double(randn(2, 3, 4, dtype=torch.float64))
    assert caplog.messages == [f"recompiling double: x.dtype {torch.float32} -> {torch.float64}",
                               "recompiling double: x.shape [2, 3] -> [2, 3, 4]"]
    assert double.trace_count == 3


def test_python_scalar_argument_change_recompiles(caplog):
    @torch.compile
    def power(x, n):
        return x ** n

    caplog.set_level(logging.INFO, logger=LOGGER)
    x = randn(5)
    assert_same(power(x, 2), power.fn(x, 2))
    assert_same(power(x, 3), power.fn(x, 3))
    assert_same(power(x, 2), power.fn(x, 2))
    assert caplog.messages == ["recompiling power: n 2 -> 3"]
    assert power.trace_count == 2


def test_grad_mode_change_recompiles(caplog):
    @torch.compile
    def halve(x):
        return x / 2

    caplog.set_level(logging.INFO, logger=LOGGER)
    x = randn(3)
    halve(x)
    with torch.no_grad():
        assert_same(halve(x), halve.fn(x))
    assert caplog.messages == ["recompiling halve: grad_mode True -> False"]
    assert halve.trace_count == 2


def test_cache_size_limit_warns_once_then_runs_eagerly(caplog):
    @torch.compile(cache_size_limit=2)
    def inc(x):
        return x + 1

    caplog.set_level(logging.INFO, logger=LOGGER)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inc(randn(1))
        inc(randn(2))
        results = [(inc(randn(n)), inc.fn(randn(n))) for n in (3, 4, 5)]
    messages = [str(w.message) for w in caught if issubclass(w.category, GraphBreakWarning)]
    assert messages == ["inc: 2 compiled variants reached cache_size_limit=2 (last change: x.shape[0] 2 -> 3); "
                        "new variants run eagerly"]
    assert inc.trace_count == 2 and len(inc.cache) == 2
    for compiled, eager in results:
        assert_same(compiled, eager)


def test_dynamic_true_and_unknown_backend_are_rejected():
    with pytest.raises(NotImplementedError, match="dynamic=True"):
        torch.compile(lambda x: x, dynamic=True)
    with pytest.raises(ValueError, match="tpu"):
        torch.compile(lambda x: x, backend="tpu")
    assert isinstance(torch.compile(lambda x: x, backend="interpreter"), CompiledFunction)


# ---- output structures --------------------------------------------------------------
Stats = collections.namedtuple("Stats", "mean spread count")


@pytest.mark.parametrize("make", [
    pytest.param(lambda x: (x + 1, x * 2), id="tuple"),
    pytest.param(lambda x: [x.sum(), [x - 1, x.shape[0]]], id="nested-list"),
    pytest.param(lambda x: {"loss": x.mean(), "parts": (x.exp(), x.ndim)}, id="dict"),
    pytest.param(lambda x: Stats(x.mean(), x.std(), x.shape[0] * x.shape[1]), id="namedtuple"),
    pytest.param(lambda x: x.shape[1] + 1, id="int-from-shape"),
    pytest.param(lambda x: (x.shape, x.numel(), None), id="size-and-none"),
])
def test_output_structures_round_trip(make):
    x = randn(3, 4)
    compiled = torch.compile(make)
    first, second = compiled(x), compiled(x)
    assert_same(first, make(x))
    assert_same(second, make(x))
    assert compiled.trace_count == 1


def test_namedtuple_output_keeps_field_access():
    @torch.compile
    def stats(x):
        return Stats(mean=x.mean(), spread=x.max() - x.min(), count=x.numel())

    out = stats(randn(6))
    assert isinstance(out, Stats) and out.count == 6
    np.testing.assert_allclose(out.mean.numpy(), stats.fn(randn(6)).mean.numpy(), rtol=1e-5)


# ---- decorator forms and nesting --------------------------------------------------------
def test_decorator_forms_all_give_compiled_functions():
    @torch.compile
    def bare(x):
        """Doc kept."""
        return x * 3

    @torch.compile()
    def empty_call(x):
        return x * 3

    @torch.compile(fullgraph=True, backend="interpreter", cache_size_limit=3)
    def with_options(x):
        return x * 3

    called = torch.compile(lambda x: x * 3)
    x = randn(4)
    for f in (bare, empty_call, with_options, called):
        assert isinstance(f, CompiledFunction)
        assert_same(f(x), x * 3)
        assert f.trace_count == 1
    assert bare.__name__ == "bare" and bare.__doc__ == "Doc kept." and with_options.cache_size_limit == 3
    assert torch.compile(bare.fn).fn is bare.fn


def test_compiled_function_called_inside_another_is_inlined():
    @torch.compile
    def inner(x):
        return x.relu() * 2

    @torch.compile(fullgraph=True)
    def outer(x):
        return inner(x) + inner(-x)

    x = randn(5)
    result = outer(x)
    assert outer.trace_count == 1 and inner.trace_count == 0 and not inner.cache
    ops = [node.op for node in outer.cache[next(iter(outer.cache))].lowered.stages["optimized"].nodes]
    assert ops.count("relu") == 2
    assert_same(result, inner.fn(x) + inner.fn(-x))
    assert_same(inner(x), inner.fn(x))  # called on its own, it compiles its own graph
    assert inner.trace_count == 1


def test_lower_returns_traced_and_optimized_stages_without_caching():
    @torch.compile
    def affine(x):
        return x * 2 + x * 2

    lowered = affine.lower(randn(3))
    assert list(lowered.stages) == ["traced", "optimized", "fused"]
    assert list(lowered.timings) == ["traced", "optimized", "fused", "llvm"]
    assert all(t >= 0 for t in lowered.timings.values())
    assert len(lowered.stages["optimized"].nodes) < len(lowered.stages["traced"].nodes)  # CSE
    assert not affine.cache
    affine(randn(3))
    variant = next(iter(affine.cache.values()))
    assert variant.graph is variant.lowered.stages["fused"]  # what runs
