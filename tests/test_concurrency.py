"""Compiled functions under threads (issue 7 item 4).

Eight threads making the first call of one compiled function at once trace
it once and each gets its own result; eager code in another thread while a
trace is being recorded is not recorded into it (the active trace is per
thread), and touching a tensor the trace stands a tracer in for raises a
clear error there; a model shared by two compiled functions compiled from two threads
at once is never read holding the other trace's tracers.
"""
import threading

import numpy as np

import frontend as torch
from frontend import nn

THREADS = 8


def run_threads(work, n=THREADS):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def target(k):
        try:
            barrier.wait()
            results[k] = work(k)
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=target, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    return results


def test_first_calls_from_eight_threads_at_once_trace_once():
    @torch.compile
    def f(x):
        return (x * 2 + 1).tanh().sum(0)

    inputs = [torch.full((16, 5), float(k) / 10) for k in range(THREADS)]
    results = run_threads(lambda k: f(inputs[k]).numpy())
    assert f.trace_count == 1
    for x, got in zip(inputs, results):
        np.testing.assert_allclose(got, (x * 2 + 1).tanh().sum(0).numpy(), rtol=1e-6)


def test_eager_code_in_another_thread_is_not_recorded_while_tracing():
    inside, done = threading.Event(), threading.Event()
    w = torch.ones(3)
    outside = torch.full((3,), 5.0)

    @torch.compile
    def slow(x):
        y = x * w
        inside.set()
        assert done.wait(30)  # the other thread computes meanwhile
        return y + 1

    seen = {}

    def other():
        assert inside.wait(30)
        try:
            seen["eager"] = torch.arange(3.0) * outside + 2  # tensors of its own: plain eager math
            try:
                w * 2  # w is being traced: a clear error, not a silent tracer
            except RuntimeError as e:
                seen["error"] = str(e)
        finally:
            done.set()

    thread = threading.Thread(target=other)
    thread.start()
    out = slow(torch.full((3,), 2.0))
    thread.join(30)
    assert type(seen["eager"]) is torch.Tensor
    np.testing.assert_array_equal(seen["eager"].numpy(), [2.0, 7.0, 12.0])
    assert "being traced by the compiled function 'slow' in another thread" in seen["error"]
    np.testing.assert_array_equal(out.numpy(), [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(slow(torch.full((3,), 4.0)).numpy(), [5.0, 5.0, 5.0])


def test_two_compiled_functions_sharing_a_model_compile_concurrently():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 2))
    predict = torch.compile(lambda x: model(x))
    score = torch.compile(lambda x: model(x).sum(1))
    x = torch.randn(5, 6)
    with torch.no_grad():
        want = model(x)

    def work(k):
        with torch.no_grad():
            return (predict if k % 2 else score)(x).numpy()

    for k, got in enumerate(run_threads(work)):
        np.testing.assert_allclose(got, want.numpy() if k % 2 else want.sum(1).numpy(), rtol=1e-5)
    assert predict.trace_count == 1 and score.trace_count == 1
    assert all(type(p) is nn.Parameter for p in model.parameters())


def test_a_warm_call_waits_while_another_function_traces_the_model_it_reads():
    """The fast path's guards read the model's parameters, for which the trace
    in the other thread stands tracers in: they must wait for it to finish."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 2))
    predict = torch.compile(lambda x: model(x))
    x = torch.randn(5, 6)
    with torch.no_grad():
        want = model(x).numpy()
        predict(x)
        predict(x)  # warm: this call and the next take the fast path
    tracing, done = threading.Event(), threading.Event()

    @torch.compile
    def slow(x):
        y = model(x)
        tracing.set()
        done.wait(0.5)  # a call from the other thread meanwhile must wait for the lock, not see tracers
        return y.sum()

    seen = {}

    def other():
        assert tracing.wait(30)
        try:
            with torch.no_grad():
                seen["out"] = predict(x).numpy()
        except BaseException as e:  # noqa: BLE001 (reported below)
            seen["error"] = e
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    slow(x)
    thread.join(30)
    assert "error" not in seen, seen.get("error")
    np.testing.assert_allclose(seen["out"], want, rtol=1e-5, atol=1e-6)
    assert predict.trace_count == 1


def _double_plus_one(x):
    return x * 2 + 1


SCALE = 3.0


def test_a_warm_call_reading_only_tensor_free_globals_does_not_wait_for_a_trace():
    """Globals that hold no tensors (a helper function, a number) are never
    replaced by a trace, so the fast path checks them without the tracing
    lock; a call meanwhile sees their real values."""
    from frontend.jit.trace_state import TRACING_LOCK
    f = torch.compile(lambda x: _double_plus_one(x) * SCALE)
    x = torch.arange(4.0)
    f(x)
    f(x)
    assert "with lock" not in f._fast.source
    seen = {}
    with TRACING_LOCK:  # as another thread's trace holds it
        worker = threading.Thread(target=lambda: seen.update(out=f(x)))
        worker.start()
        worker.join(30)
        assert not worker.is_alive(), "the call waited for the tracing lock"
    np.testing.assert_allclose(seen["out"].numpy(), (np.arange(4.0) * 2 + 1) * 3)
    assert f.trace_count == 1


def test_a_warm_call_reading_a_global_tensor_still_takes_the_lock():
    weight = torch.ones(4)
    f = torch.compile(lambda x: x * weight)
    x = torch.arange(4.0)
    f(x)
    f(x)
    assert "with lock" in f._fast.source
