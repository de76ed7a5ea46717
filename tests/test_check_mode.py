"""`compile(fn, check=True)` and `JITGRAD_CHECK=1` (issue 7, item 5): eager
runs beside the compiled graph on each variant's first calls; the caller's
tensors and state end up as eager leaves them."""
import numpy as np

import frontend as torch

F = torch.nn.functional


def test_a_checked_training_step_leaves_parameters_and_optimizer_state_as_eager_does():
    # the compiled run stored Adam's new state, then eager stepped again from it: every checked step
    # that created state ran twice (step count 6 after 5 steps, parameters off by 1e-2)
    def train(compile_step):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
        opt = torch.optim.Adam(model.parameters(), lr=0.01)

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        run = compile_step(step)
        x, y = torch.randn(6, 4), torch.randn(6, 1)
        losses = [run(x, y).item() for _ in range(5)]
        return losses, list(model.parameters()), opt

    want, eager_params, eager_opt = train(lambda step: step)
    got, params, opt = train(lambda step: torch.compile(step, check=True))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for p, q in zip(params, eager_params):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-7)
        state, eager_state = opt.state[p], eager_opt.state[q]
        assert state["step"].item() == eager_state["step"].item() == 5
        np.testing.assert_allclose(state["exp_avg"].numpy(), eager_state["exp_avg"].numpy(), rtol=1e-5, atol=1e-8)
