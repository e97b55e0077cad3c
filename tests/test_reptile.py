"""Reptile (Nichol et al. 2018) against its update rule written per task, and the linear ε schedule."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from leo_core.checkpoint import load_checkpoint, save_run
from leo_core.history import MetricHistory
from leo_core.train import Trainer

from helpers import gen, tiny_config
from test_inner import reference_forward


def _per_task_sgd(theta0, x, y, alpha, k):
    """k plain SGD steps on one task's (x, y), written with nn.functional: the reference inner loop."""
    params = {n: v.clone().requires_grad_() for n, v in theta0.items()}
    for _ in range(k):
        loss = ((reference_forward(params, x) - y) ** 2).mean()
        grads = torch.autograd.grad(loss, list(params.values()))
        params = {n: (params[n] - alpha * g).detach().requires_grad_() for n, g in zip(params, grads)}
    return {n: v.detach() for n, v in params.items()}


def _first_batch(cfg):
    return Trainer(cfg).family.sample(cfg.meta_batch, cfg.shots, cfg.query, gen(cfg.seed + 1), "cpu", torch.float64)


def test_reptile_sgd_step_is_epsilon_times_mean_displacement_on_support_and_query():
    eps, alpha, k = 0.3, 0.02, 3
    cfg = tiny_config(algorithm="reptile", outer_optimizer="sgd", beta=eps, alpha=alpha, k=k, iterations=1,
                      dtype="float64")
    trainer = Trainer(cfg)
    theta0 = trainer.initialization()
    batch = _first_batch(cfg)  # the batch the trainer's first step draws
    record = trainer.step()
    expected = {n: v.clone() for n, v in theta0.items()}
    support_only = []
    for i in range(batch.n_tasks):
        x = torch.cat([batch.x_support[i], batch.x_query[i]])
        y = torch.cat([batch.y_support[i], batch.y_query[i]])
        theta_k = _per_task_sgd(theta0, x, y, alpha, k)
        for n in expected:
            expected[n] += eps * (theta_k[n] - theta0[n]) / batch.n_tasks
        adapted = _per_task_sgd(theta0, batch.x_support[i], batch.y_support[i], alpha, k)
        support_only.append(((reference_forward(adapted, batch.x_query[i]) - batch.y_query[i]) ** 2).mean())
    for n, v in trainer.initialization().items():
        assert torch.allclose(v, expected[n], atol=1e-12), n
    # The reported post-adaptation loss is meta-test's: adapted on the support set only.
    assert record.post_loss == pytest.approx(torch.stack(support_only).mean().item(), abs=1e-12)


def test_reptile_support_only_update_differs():
    # Guards against an inner loop that silently ignores the query half of the task's data.
    cfg = tiny_config(algorithm="reptile", outer_optimizer="sgd", beta=0.3, alpha=0.02, k=3, iterations=1,
                      dtype="float64")
    trainer = Trainer(cfg)
    theta0 = trainer.initialization()
    batch = _first_batch(cfg)
    trainer.step()
    support = {n: v.clone() for n, v in theta0.items()}
    for i in range(batch.n_tasks):
        theta_k = _per_task_sgd(theta0, batch.x_support[i], batch.y_support[i], 0.02, 3)
        for n in support:
            support[n] += 0.3 * (theta_k[n] - theta0[n]) / batch.n_tasks
    diff = max((trainer.initialization()[n] - support[n]).abs().max().item() for n in theta0)
    assert diff > 1e-6


def test_reptile_with_adam_moves_along_the_mean_displacement():
    # Adam's first step is β·g/(|g| + eps): each coordinate moves by β towards mean_i θ_k^i.
    beta = 1e-3
    cfg = tiny_config(algorithm="reptile", beta=beta, alpha=0.02, k=3, iterations=1, dtype="float64")
    trainer = Trainer(cfg)
    theta0 = trainer.initialization()
    batch = _first_batch(cfg)
    trainer.step()
    for n, v in trainer.initialization().items():
        mean_k = torch.stack([
            _per_task_sgd(theta0, torch.cat([batch.x_support[i], batch.x_query[i]]),
                          torch.cat([batch.y_support[i], batch.y_query[i]]), 0.02, 3)[n]
            for i in range(batch.n_tasks)
        ]).mean(dim=0)
        d = mean_k - theta0[n]
        step = beta * d / (d.abs() + 1e-8)
        assert torch.allclose(v - theta0[n], step, atol=1e-9), n


def test_linear_beta_schedule_anneals_to_zero():
    n_it, beta = 8, 0.2
    trainer = Trainer(tiny_config(algorithm="reptile", outer_optimizer="sgd", beta=beta, k=2, iterations=n_it,
                                  beta_schedule="linear"))
    lrs = []
    for _ in range(n_it):
        lrs.append(trainer.optimizer.param_groups[0]["lr"])  # the step size of the update about to happen
        trainer.step()
    assert lrs == pytest.approx([beta * (1 - t / n_it) for t in range(n_it)], abs=1e-15)
    assert trainer.optimizer.param_groups[0]["lr"] == 0.0
    constant = Trainer(tiny_config(algorithm="reptile", outer_optimizer="sgd", beta=beta, iterations=3))
    list(constant)
    assert constant.scheduler is None and constant.optimizer.param_groups[0]["lr"] == beta


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_linear_schedule_stop_and_resume_equals_one_straight_run(tmp_path, optimizer):
    def values(records):
        return [(r.meta_loss, r.post_loss, r.grad_norm) for r in records]

    cfg = tiny_config(algorithm="reptile", outer_optimizer=optimizer, beta=0.1, k=2, beta_schedule="linear")
    straight_trainer = Trainer(replace(cfg, iterations=6))
    straight = values(straight_trainer)
    first = Trainer(replace(cfg, iterations=6))
    history = MetricHistory()
    for _ in range(3):
        history.append(first.step())
    save_run(tmp_path, first.state_dict(), history)
    ckpt = load_checkpoint(tmp_path)
    second = Trainer(ckpt.config)
    second.load_state_dict(ckpt.state)
    assert second.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * (1 - 3 / 6))
    assert values(history.records()) + values(second) == straight
    for n, v in second.initialization().items():
        assert torch.equal(v, straight_trainer.initialization()[n]), n


def test_bad_beta_schedule_is_a_clear_error():
    with pytest.raises(ValueError, match="beta_schedule must be one of"):
        tiny_config(beta_schedule="cosine")
