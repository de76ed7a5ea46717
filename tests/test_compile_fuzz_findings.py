"""Four frontend/jit bugs the differential fuzzer (tests/fuzz) found, each
as its smallest program, compiled against eager (forward and `.grad`)."""
import numpy as np

import frontend as torch


def grads_after_backward(fn, *shapes, compiled):
    inputs = [torch.ones(*s, requires_grad=True) for s in shapes]
    run = torch.compile(fn) if compiled else fn
    out = run(*inputs)
    out.sum().backward()
    return out.detach().numpy(), [None if t.grad is None else t.grad.numpy() for t in inputs]


def assert_like_eager(fn, *shapes):
    (out, grads), (want_out, want_grads) = (grads_after_backward(fn, *shapes, compiled=c) for c in (True, False))
    np.testing.assert_allclose(out, want_out, rtol=1e-6)
    for got, want in zip(grads, want_grads):
        assert (got is None) == (want is None)
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-6)
    return grads


def test_an_input_no_output_depends_on_keeps_its_grad_none():
    """The compiled backward had an edge to every input that requires grad, and gave zeros."""
    grads = assert_like_eager(lambda x, y: x.exp(), (3,), (3,))
    assert grads[1] is None


def test_an_input_reached_only_through_a_comparison_keeps_its_grad_none():
    assert_like_eager(lambda x, y: x * (y > 0), (3,), (3,))


def test_a_constant_made_inside_and_saved_for_backward():
    """It is a NumPy array, not a tensor, among the saved values (AttributeError '_version_counter')."""
    assert_like_eager(lambda x: x * torch.tensor([1.0, 2.0, 3.0]), (3,))


def test_a_function_made_by_exec_without_a_module_name():
    namespace = {"torch": torch}
    exec("def inner(x):\n    return -x", namespace)  # its __module__ is None
    inner = namespace["inner"]
    np.testing.assert_array_equal(torch.compile(lambda x: inner(x))(torch.ones(2)).numpy(), [-1.0, -1.0])


def test_an_in_place_op_on_a_view_flows_into_the_compiled_backward():
    """The base's new value was built under no_grad, so gradients stopped there (zeros)."""
    def scale_tail(x):
        v = x.clone()
        v[1:].mul_(2)
        return v

    grads = assert_like_eager(scale_tail, (3,))
    np.testing.assert_array_equal(grads[0], [1.0, 2.0, 2.0])
