"""The autodiff pass (forward IR -> joint IR) against eager autograd.

Both apply the registry's derivative rules, so on every differentiable
primitive, on traced model functions and on random programs the joint
graph's gradients must equal eager `autograd.grad` in float64. IR-text tests
pin the joint graph's interface (cotangent inputs, `grad.*` outputs)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import frontend as torch
import frontend.nn.functional as F
from compiler import dtypes
from compiler.interpreter import interpret
from compiler.ir import parse, print_graph, verify
from compiler.passes import run_pipeline
from compiler.passes.autodiff import backward_graph
from tests.filecheck import filecheck
from tests.test_ir_text import random_graphs
from tests.test_primitives import CASES

rng = np.random.default_rng(7)


def eager_run(graph, tensors):
    """Run `graph` node by node on eager tensors, recording autograd."""
    env = dict(zip(graph.inputs, tensors))
    for node in graph.nodes:
        env[node.out] = tensors[0]._apply(node.op, *[env[v] for v in node.inputs], **node.attrs) \
            if node.inputs else torch.zeros(1)._apply(node.op, **node.attrs)
    return [env[v] for v in graph.outputs]


def check_against_eager(graph, arrays, wrt):
    """Joint-graph gradients (interpreted) == eager autograd.grad, same cotangents."""
    joint = backward_graph(graph, wrt)
    verify(joint)
    cotangents = [rng.standard_normal(v.shape) .astype(v.dtype.np) for v in graph.outputs
                  if v.dtype.is_floating_point]
    got = interpret(run_pipeline(joint), list(arrays) + cotangents)[len(graph.outputs):]
    tensors = [torch.tensor(a, requires_grad=(i in wrt)) for i, a in enumerate(arrays)]
    outs = eager_run(graph, tensors)
    pairs = [(o, torch.from_numpy(c)) for o, c in zip([o for o in outs if o.dtype.is_floating_point], cotangents)
             if o.requires_grad]
    if pairs:
        want = torch.autograd.grad([o for o, _ in pairs], [tensors[i] for i in wrt], [c for _, c in pairs],
                                   allow_unused=True)
    else:
        want = [None] * len(wrt)
    for i, g, w in zip(wrt, got, want):
        expected = np.zeros(arrays[i].shape) if w is None else w.numpy()
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12, err_msg=f"gradient of input {i}")


DIFFERENTIABLE = sorted(name for name in CASES if any(d for case in CASES[name] for _, d in case[0]))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_every_differentiable_primitive_matches_eager(name):
    from tests.test_ir_text import one_node_graph
    for inputs, attrs in CASES[name]:
        arrays = [np.asarray(a) for a, _ in inputs]
        wrt = [i for i, (a, d) in enumerate(inputs) if d and np.asarray(a).dtype.kind == "f"]
        check_against_eager(one_node_graph(name, arrays, dict(attrs)), arrays, wrt)


def mlp(x, w1, b1, w2):
    return ((x @ w1 + b1).relu() @ w2).tanh().sum()


def logreg(x, w, b, y):
    return F.binary_cross_entropy_with_logits(x @ w + b, y)


def norm_gelu(x, w, b):
    return F.gelu(F.layer_norm(x, (x.shape[-1],), w, b)).mean()


def classify(x, w, y):
    return F.cross_entropy(x @ w, y)


def softmax_uses_twice(x, w):
    s = (x @ w).softmax(-1)
    return (s * s).sum() + s.max()


MODELS = [
    (mlp, [(4, 5), (5, 6), (6,), (6, 3)], [1, 2, 3]),
    (logreg, [(8, 3), (3, 2), (2,), (8, 2)], [1, 2]),
    (norm_gelu, [(4, 6), (6,), (6,)], [0, 1, 2]),
    (classify, [(4, 5), (5, 3), (4,)], [0, 1]),
    (softmax_uses_twice, [(3, 4), (4, 5)], [1]),
]


@pytest.mark.parametrize("fn, shapes, wrt", MODELS, ids=[m[0].__name__ for m in MODELS])
def test_model_functions_match_eager(fn, shapes, wrt):
    arrays = [rng.standard_normal(s) for s in shapes]
    if fn is logreg:
        arrays[3] = (arrays[3] > 0).astype(np.float64)
    if fn is classify:
        arrays[2] = np.array([0, 2, 1, 1])
    lowered = torch.compile(fn).lower(*[torch.from_numpy(a) for a in arrays])
    graph = lowered.stages["traced"]
    consts = [None] * (len(graph.inputs) - len(arrays))
    assert not consts, "model functions here take all their tensors as arguments"
    check_against_eager(graph, arrays, wrt)


@settings(max_examples=40, deadline=None)
@given(random_graphs(), st.data())
def test_random_programs_match_eager(graph, data):
    floats = [i for i, v in enumerate(graph.inputs) if v.dtype is dtypes.float64]
    if not floats:
        return
    wrt = data.draw(st.lists(st.sampled_from(floats), min_size=1, unique=True))
    arrays = [rng.standard_normal(v.shape).astype(v.dtype.np) if v.dtype.is_floating_point
              else rng.integers(-3, 4, v.shape).astype(v.dtype.np) for v in graph.inputs]
    with np.errstate(all="ignore"):
        try:
            check_against_eager(graph, arrays, sorted(wrt))
        except AssertionError:
            # NaN/inf from log/sqrt of negatives propagate identically but may differ in sign of NaN.
            joint = interpret(run_pipeline(backward_graph(graph, sorted(wrt))),
                              arrays + [np.ones(v.shape, v.dtype.np) for v in graph.outputs
                                        if v.dtype.is_floating_point])
            if all(np.isfinite(a).all() for a in joint if a.dtype.kind == "f"):
                raise


JOINT_INTERFACE = """
graph f(%x: f64[2,3], %w: f64[3]) {
  %0: f64[2,3] = mul(%x, %w)                               # model.py:3 in f
  %1: f64[2] = sum(%0) {axes=[1], keepdim=false}           # model.py:4 in f
  return loss=%1
}
"""


def test_joint_graph_takes_cotangents_and_returns_named_gradients():
    joint = run_pipeline(backward_graph(parse(JOINT_INTERFACE), [1]))
    filecheck(print_graph(joint), r"""
CHECK: graph f_joint(%x: f64[2,3], %w: f64[3], %loss.grad: f64[2]) {
CHECK: = sum(%{{\d+}}) {axes=[0], keepdim=true} # model.py:3 in f
CHECK: return loss=%1, grad.w=
""")


def test_backward_nodes_carry_the_forward_lines():
    joint = backward_graph(parse(JOINT_INTERFACE), [0, 1])
    backward_nodes = joint.nodes[2:]
    assert backward_nodes and all(n.loc is not None and n.loc.file == "model.py" for n in backward_nodes)


def test_unused_input_gets_a_zero_gradient_and_stop_gradient_blocks():
    g = parse("""
graph f(%x: f64[3], %y: f64[3]) {
  %0: f64[3] = stop_gradient(%x)
  %1: f64[3] = mul(%0, %y)
  return out=%1
}
""")
    joint = run_pipeline(backward_graph(g, [0, 1]))
    x, y, cot = np.arange(3.0), np.ones(3) * 2, np.ones(3)
    out, gx, gy = interpret(joint, [x, y, cot])
    np.testing.assert_array_equal(gx, np.zeros(3))
    np.testing.assert_array_equal(gy, x)


def test_gradient_of_an_integer_input_is_refused():
    g = parse("""
graph f(%i: i64[3], %x: f64[3]) {
  %0: f64[3] = gather(%x, %i) {axis=0}
  return out=%0
}
""")
    with pytest.raises(TypeError, match="only floating-point inputs"):
        backward_graph(g, [0])


def test_cli_prints_the_joint_stage(capsys):
    from compiler.cli import main
    assert main(["ir", "examples/mlp.py:loss", "--arg", "x=f32[4,784]", "--arg", "y=i64[4]",
                 "--stage", "joint", "--wrt", "b2"]) == 0
    text = capsys.readouterr().out
    joint = parse(text)
    verify(joint)
    assert [v.name for v in joint.inputs][-1] == "out.grad"
    assert joint.output_names == ["out", "grad.b2"]


@pytest.mark.parametrize("wrt, message", [("y", "only floating-point inputs"), ("nope", "not an input")])
def test_cli_backward_rejects_bad_wrt(capsys, wrt, message):
    from compiler.cli import main
    assert main(["ir", "examples/mlp.py:loss", "--arg", "x=f32[4,784]", "--arg", "y=i64[4]",
                 "--stage", "backward", "--wrt", wrt]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("jitgrad: error:") and message in err[0]
