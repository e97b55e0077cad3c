"""The algorithms beyond ``leo`` against independent references (issue #5).

Reptile against its update rule written per task; Meta-SGD with a uniform step against ``leo``;
every algorithm through the CLI and a checkpoint round trip. iMAML's tests are in test_imaml.py,
latent LEO's in test_latent.py.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from leo_core.algorithms import ALGORITHMS, get_algorithm
from leo_core.algorithms.meta_sgd import ALPHA_PREFIX
from leo_core.checkpoint import load_checkpoint, save_run
from leo_core.history import MetricHistory
from leo_core.losses import LOSSES
from leo_core.tasks import get_family
from leo_core.train import Trainer

from helpers import gen, tiny_config
from test_cli import run_cli
from test_inner import reference_forward, setup

NEW = ["reptile", "meta-sgd", "imaml", "leo-latent", "pretrained", "random"]
MSE = LOSSES["mse"]


def test_registry_has_every_algorithm_with_theory_text():
    assert set(NEW) | {"leo", "leo-fo"} <= set(ALGORITHMS)
    for key, algo in ALGORITHMS.items():
        assert algo.key == key and algo.title and algo.citation
        assert 2 <= algo.summary.count(". ") + 1 <= 5, key


# -- Reptile ------------------------------------------------------------------------------------------

def test_reptile_sgd_step_is_epsilon_times_mean_displacement():
    eps, alpha, k = 0.3, 0.02, 3
    cfg = tiny_config(algorithm="reptile", outer_optimizer="sgd", beta=eps, alpha=alpha, k=k, iterations=1,
                      dtype="float64")
    trainer = Trainer(cfg)
    theta0 = trainer.initialization()
    batch = trainer.family.sample(cfg.meta_batch, cfg.shots, cfg.query, gen(cfg.seed + 1), "cpu", torch.float64)
    trainer.step()
    expected = {n: v.clone() for n, v in theta0.items()}
    for i in range(batch.n_tasks):  # plain per-task loop, nn.functional forward
        params = {n: v.clone().requires_grad_() for n, v in theta0.items()}
        for _ in range(k):
            loss = ((reference_forward(params, batch.x_support[i]) - batch.y_support[i]) ** 2).mean()
            grads = torch.autograd.grad(loss, list(params.values()))
            params = {n: (params[n] - alpha * g).detach().requires_grad_() for n, g in zip(params, grads)}
        for n in expected:
            expected[n] += eps * (params[n].detach() - theta0[n]) / batch.n_tasks
    for n, v in trainer.initialization().items():
        assert torch.allclose(v, expected[n], atol=1e-12), n


# -- Meta-SGD -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2])
def test_meta_sgd_with_uniform_step_gives_leos_theta_gradient(k):
    model, theta0, batch = setup()
    cfg = tiny_config(alpha=0.05, k=k, hidden=model.sizes[1:-1], dtype="float64")
    meta_sgd = get_algorithm("meta-sgd")
    meta = {n: v if v.requires_grad else v.requires_grad_() for n, v in meta_sgd.init_meta_params(theta0, cfg).items()}
    assert all(torch.all(meta[ALPHA_PREFIX + n] == cfg.alpha) for n in theta0)
    ours = meta_sgd.meta_step(model, get_family("sinusoid"), meta, batch, cfg)
    ref = get_algorithm("leo").meta_step(model, get_family("sinusoid"), theta0, batch, cfg)
    assert ours.meta_loss.item() == pytest.approx(ref.meta_loss.item(), abs=1e-12)
    for n in theta0:
        assert torch.allclose(ours.grads[n], ref.grads[n], atol=1e-10), n
    # …and the step sizes get a gradient of their own: ∂J/∂α = −Σ_j ∇L_q · ∇L_s for k = 1.
    assert all(ours.grads[ALPHA_PREFIX + n].abs().sum() > 0 for n in theta0)


def test_meta_sgd_learned_step_is_used_at_test_time_and_survives_checkpoint(tmp_path):
    trainer = Trainer(tiny_config(algorithm="meta-sgd", iterations=4, beta=0.01))
    history = MetricHistory()
    history.extend(trainer)
    save_run(tmp_path, trainer.state_dict(), history)
    ckpt = load_checkpoint(tmp_path)
    assert set(ckpt.meta_params) == set(trainer.meta_params)
    for n, v in trainer.meta_params.items():
        assert torch.equal(ckpt.meta_params[n], v.detach()), n
    alpha = ckpt.meta_params[ALPHA_PREFIX + "w0"]
    assert not torch.allclose(alpha, torch.full_like(alpha, 0.01))  # α was learned
    algo, fam = trainer.algorithm, trainer.family
    batch = fam.sample(3, 5, 5, gen(9))
    step1 = list(algo.adapt_path(trainer.model, fam, ckpt.meta_params, batch.x_support, batch.y_support, 0.01, 1))[1]
    theta = {n: v.detach().requires_grad_() for n, v in algo.initialization(ckpt.meta_params).items()}
    total = MSE.total(trainer.model.forward(theta, batch.x_support), batch.y_support)
    grads = dict(zip(theta, torch.autograd.grad(total, list(theta.values()))))
    for n in theta:  # one task's gradient = that task's slice: the model is shared, so sum → per task
        per_task = []
        for i in range(3):
            t = {m: v.detach().requires_grad_() for m, v in theta.items()}
            g = torch.autograd.grad(MSE.total(trainer.model.forward(t, batch.x_support[i]), batch.y_support[i]),
                                    [t[n]])[0]
            step = ckpt.meta_params[ALPHA_PREFIX + n].clamp(0.0, 0.01)  # clipped to [0, cfg.alpha]
            per_task.append(theta[n].detach() - step * g)
        assert torch.allclose(step1[n], torch.stack(per_task), atol=1e-6), n
    del grads
    with pytest.raises(ValueError, match="meta_params"):
        list(algo.adapt_path(trainer.model, fam, algo.initialization(ckpt.meta_params), batch.x_support,
                             batch.y_support, 0.01, 1))


def test_meta_sgd_clips_learned_steps_to_the_configured_alpha():
    from leo_core.algorithms.meta_sgd import MetaSGD

    meta = {"w": torch.zeros(3), ALPHA_PREFIX + "w": torch.tensor([-0.5, 0.004, 0.5])}
    assert torch.equal(get_algorithm("meta-sgd").step_size(meta, 0.01)["w"], torch.tensor([0.0, 0.004, 0.01]))
    assert torch.equal(MetaSGD(max_step_factor=3.0).step_size(meta, 0.01)["w"], torch.tensor([0.0, 0.004, 0.03]))
    assert torch.equal(MetaSGD(max_step_factor=None).step_size(meta, 0.01)["w"], meta[ALPHA_PREFIX + "w"])


def test_evaluate_reports_the_first_non_finite_step():
    from leo_core.algorithms.meta_sgd import MetaSGD
    from leo_core.config import EvalConfig
    from leo_core.evaluate import evaluate

    trainer = Trainer(tiny_config(algorithm="meta-sgd", iterations=0))
    meta = {n: (torch.full_like(v, 5.0) if n.startswith(ALPHA_PREFIX) else v.detach())
            for n, v in trainer.meta_params.items()}
    ev = EvalConfig(tasks=4, query=5, steps=40, seed=1)
    blown = evaluate(trainer.model, trainer.family, MetaSGD(max_step_factor=None), meta, 0.01, ev)
    j = blown.first_nonfinite_step
    assert not blown.finite and j >= 1 and all(torch.isfinite(torch.tensor(blown.loss_by_step[:j])))
    assert not torch.isfinite(torch.tensor(blown.loss_by_step[j]))
    assert blown.to_dict()["first_nonfinite_step"] == j
    clipped = evaluate(trainer.model, trainer.family, trainer.algorithm, meta, 0.01, ev)  # |α| ≤ 0.01
    assert clipped.finite and "first_nonfinite_step" not in clipped.to_dict()


@pytest.mark.parametrize("algorithm", ["meta-sgd", "leo-latent", "imaml"])
def test_stop_and_resume_equals_one_straight_run(tmp_path, algorithm):
    def values(records):
        return [(r.meta_loss, r.post_loss, r.grad_norm) for r in records]

    straight = values(Trainer(tiny_config(algorithm=algorithm, iterations=6)))
    first = Trainer(tiny_config(algorithm=algorithm, iterations=3))
    history = MetricHistory()
    history.extend(first)
    save_run(tmp_path, first.state_dict(), history)
    ckpt = load_checkpoint(tmp_path)
    second = Trainer(replace(ckpt.config, iterations=6))
    second.load_state_dict(ckpt.state)
    assert values(history.records()) + values(second) == straight




# -- baselines ----------------------------------------------------------------------------------------

def test_random_never_moves_and_pretrained_minimises_the_joint_loss():
    rnd = Trainer(tiny_config(algorithm="random", iterations=5, beta=0.1))
    before = rnd.initialization()
    records = list(rnd)
    assert all(r.grad_norm == 0 for r in records)
    for n, v in rnd.initialization().items():
        assert torch.equal(v, before[n])

    model, theta0, batch = setup()
    cfg = tiny_config(hidden=model.sizes[1:-1], dtype="float64")
    step = get_algorithm("pretrained").meta_step(model, get_family("sinusoid"), theta0, batch, cfg)
    joint = 0.0
    for i in range(batch.n_tasks):
        x = torch.cat([batch.x_support[i], batch.x_query[i]])
        y = torch.cat([batch.y_support[i], batch.y_query[i]])
        joint = joint + ((reference_forward(theta0, x) - y) ** 2).mean() / batch.n_tasks
    ref = torch.autograd.grad(joint, list(theta0.values()))
    for n, g in zip(theta0, ref):
        assert torch.allclose(step.grads[n], g, atol=1e-12), n


# -- command line -------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", NEW)
def test_cli_trains_and_evaluates_every_algorithm(tmp_path, algorithm):
    out = tmp_path / algorithm
    proc = run_cli("train", "--algorithm", algorithm, "--iterations", "5", "--meta-batch", "3", "--hidden", "8,8",
                   "--k", "2", "--cg-steps", "2", "--imaml-lambda", "0.5", "--quiet", "--device", "cpu",
                   "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("evaluate", str(out), "--tasks", "8", "--steps", "6", "--json", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["algorithm"] == algorithm and len(result["loss_by_step"]) == 7
    assert all(v == v for v in result["loss_by_step"])  # no NaN
    if algorithm == "imaml":
        cfg = load_checkpoint(out).config
        assert (cfg.imaml_lambda, cfg.cg_steps) == (0.5, 2)
