from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from leo_core.checkpoint import load_checkpoint, save_run
from leo_core.history import MetricHistory
from leo_core.flat_params import fused_adam_step
from leo_core.train import Trainer, TrainingDiverged

from helpers import tiny_config


def _values(records):
    return [(r.iteration, r.meta_loss, r.pre_loss, r.post_loss, r.grad_norm) for r in records]


def test_same_seed_same_metrics_and_different_seed_differs():
    a = _values(Trainer(tiny_config(iterations=15)))
    b = _values(Trainer(tiny_config(iterations=15)))
    c = _values(Trainer(tiny_config(iterations=15, seed=1)))
    assert a == b and a != c


def test_records_are_complete_and_finite():
    records = list(Trainer(tiny_config(iterations=5)))
    assert [r.iteration for r in records] == [1, 2, 3, 4, 5]
    for r in records:
        assert all(math.isfinite(v) for v in (r.meta_loss, r.pre_loss, r.post_loss, r.grad_norm, r.elapsed))
        assert r.its_per_sec > 0


def test_meta_training_improves_post_adaptation_loss():
    trainer = Trainer(tiny_config(hidden=(40, 40), meta_batch=10, shots=10, query=10, iterations=400, k=1,
                                  beta=0.003))
    records = list(trainer)
    first = sum(r.post_loss for r in records[:50]) / 50
    last = sum(r.post_loss for r in records[-50:]) / 50
    assert last < 0.7 * first


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_stop_and_resume_equals_one_straight_run(tmp_path, optimizer):
    straight = _values(Trainer(tiny_config(iterations=12, outer_optimizer=optimizer)))
    first = Trainer(tiny_config(iterations=5, outer_optimizer=optimizer))
    history = MetricHistory()
    history.extend(first)
    save_run(tmp_path, first.state_dict(), history)
    ckpt = load_checkpoint(tmp_path)
    second = Trainer(replace(ckpt.config, iterations=12))
    second.load_state_dict(ckpt.state)
    resumed = _values(history.records()) + _values(second)
    assert resumed == straight


def test_divergence_stops_at_once_and_keeps_finite_theta():
    trainer = Trainer(tiny_config(alpha=50.0, k=5, iterations=50))
    with pytest.raises(TrainingDiverged, match="α=50"):
        for _ in trainer:
            pass
    theta = trainer.initialization()
    assert all(torch.isfinite(v).all() for v in theta.values())
    assert trainer.iteration < 50


def test_divergence_from_huge_outer_step_restores_last_finite_theta():
    trainer = Trainer(tiny_config(family="linear", outer_optimizer="sgd", beta=1e30, alpha=0.01, iterations=50))
    with pytest.raises(TrainingDiverged):
        for _ in trainer:
            pass
    assert all(torch.isfinite(v).all() for v in trainer.initialization().values())


def test_linear_family_uses_the_two_parameter_model():
    trainer = Trainer(tiny_config(family="linear"))
    assert set(trainer.initialization()) == {"theta0", "theta1"}
    assert sum(v.numel() for v in trainer.initialization().values()) == 2


def test_history_stays_bounded_and_keeps_latest():
    history = MetricHistory(capacity=10)
    trainer = Trainer(tiny_config(iterations=100))
    history.extend(trainer)
    assert len(history) <= 11
    assert history.records()[-1].iteration == 100
    its = [r.iteration for r in history.records()]
    assert its == sorted(its)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_direct_fused_adam_equals_adam_step_bit_for_bit(weight_decay):
    """fused_adam_step calls torch's fused Adam kernel itself; with a β schedule and weight decay the
    parameter and the optimizer state match Adam.step() exactly, and a checkpoint of one loads in the other."""
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(300, generator=gen)
    runs = []
    for direct in (True, False):
        p = start.clone().requires_grad_(True)
        opt = torch.optim.Adam([p], lr=0.01, fused=True, weight_decay=weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 - t / 40)
        grads = torch.Generator().manual_seed(1)
        for _ in range(30):
            p.grad = torch.randn(300, generator=grads)
            if not (direct and fused_adam_step(opt, p)):
                opt.step()
            sched.step()
        runs.append((p.detach(), opt.state_dict()))
    (p1, s1), (p2, s2) = runs
    assert torch.equal(p1, p2)
    for key in ("exp_avg", "exp_avg_sq", "step"):
        assert torch.equal(s1["state"][0][key], s2["state"][0][key])


def test_direct_adam_declines_what_it_does_not_cover():
    p = torch.zeros(3, requires_grad=True)
    p.grad = torch.ones(3)
    assert not fused_adam_step(torch.optim.Adam([p], lr=0.1, fused=True), p)  # no state yet: step() creates it
    assert not fused_adam_step(torch.optim.SGD([p], lr=0.1), p)
    opt = torch.optim.Adam([p], lr=0.1, amsgrad=True, fused=True)
    opt.step()
    assert not fused_adam_step(opt, p)


def test_a_trainer_built_under_no_grad_still_trains_through_autograd():
    """The meta-parameter views are made once; made under no_grad they would carry no gradient."""
    from leo_core import analytic

    with torch.no_grad():
        trainer = Trainer(tiny_config(iterations=3))
    with analytic.gradient_path("autograd"):
        records = [trainer.step() for _ in range(3)]
    assert all(r.grad_norm > 0 for r in records)


@pytest.mark.parametrize("family, algorithm, optimizer", [
    ("sinusoid", "leo", "adam"),  # the MLP: the trainer's closed-form meta-gradient against autograd's
    ("linear", "leo", "sgd"),
    ("points2d", "meta-sgd", "adam"),  # learned step sizes are meta-parameters too
])
def test_the_trainer_runs_the_plain_step(family, algorithm, optimizer):
    """``Trainer`` (flat store, fused Adam, closed-form gradient) and ``plain_step`` (a dict of leaf
    tensors, ``optimizer.step()``, autograd) train the same θ₀ from the same seed, in float64."""
    from leo_core.analytic import gradient_path
    from leo_core.step import plain_step
    from leo_core.train import make_family, make_model
    from leo_core.algorithms import get_algorithm

    cfg = tiny_config(family=family, algorithm=algorithm, outer_optimizer=optimizer, dtype="float64", iterations=6,
                      k=2, ways=3, shots=2)
    trainer = Trainer(cfg)
    for _ in trainer:
        pass
    model, fam, algo = make_model(make_family(cfg), cfg), make_family(cfg), get_algorithm(cfg.algorithm, cfg)
    theta0 = model.init(torch.Generator().manual_seed(cfg.seed), torch.float64)
    params = {k: v.clone().requires_grad_(True) for k, v in algo.init_meta_params(theta0, cfg).items()}
    opt = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[optimizer](params.values(), lr=cfg.beta)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    with gradient_path("autograd"):
        for _ in range(cfg.iterations):
            plain_step(model, fam, algo, params, opt, cfg, gen, torch.float64)
    for name, value in trainer.meta_params.items():
        torch.testing.assert_close(params[name].detach(), value.detach(), rtol=1e-9, atol=1e-10)
