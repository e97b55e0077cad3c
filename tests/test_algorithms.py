"""The algorithms beyond ``leo`` against independent references (issue #5).

Reptile against its update rule written per task; Meta-SGD with a uniform step against ``leo``;
iMAML's implicit gradient against a dense solve on the quadratic linear family; latent LEO
against finite differences; every algorithm through the CLI and a checkpoint round trip.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from leo_core.algorithms import ALGORITHMS, get_algorithm
from leo_core.algorithms.imaml import implicit_gradient, proximal_adapt
from leo_core.algorithms.meta_sgd import ALPHA_PREFIX
from leo_core.checkpoint import load_checkpoint, save_run
from leo_core.history import MetricHistory
from leo_core.losses import LOSSES
from leo_core.models import LinearModel
from leo_core.tasks import get_family
from leo_core.train import Trainer

from helpers import gen, tiny_config
from test_cli import run_cli
from test_inner import reference_forward, setup
from test_linear_closed_form import hessian

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


# -- iMAML --------------------------------------------------------------------------------------------

def _linear_problem(n_tasks=4, lam=0.7):
    model = LinearModel()
    batch = get_family("linear").sample(n_tasks, 6, 5, gen(11), dtype=torch.float64)
    theta0 = {"theta0": torch.tensor([0.4], dtype=torch.float64), "theta1": torch.tensor([-0.2], dtype=torch.float64)}
    exact = []
    for i in range(n_tasks):  # φ* = argmin L_s + (λ/2)‖φ − θ₀‖² = (H + λI)⁻¹(b + λθ₀), with ∇L_s = Hφ − b
        xs, ys = batch.x_support[i, :, 0], batch.y_support[i, :, 0]
        H = hessian(xs)
        b = 2 / xs.numel() * torch.stack([ys.sum(), (xs * ys).sum()])
        t0 = torch.cat([theta0["theta0"], theta0["theta1"]])
        exact.append(torch.linalg.solve(H + lam * torch.eye(2, dtype=torch.float64), b + lam * t0))
    return model, batch, theta0, torch.stack(exact), lam


def test_imaml_inner_solver_reaches_the_proximal_minimiser():
    model, batch, theta0, exact, lam = _linear_problem()
    phi = proximal_adapt(model, MSE, __import__("leo_core.inner", fromlist=["expand"]).expand(theta0, 4),
                         batch.x_support, batch.y_support, 0.1, lam, 400)
    got = torch.cat([phi["theta0"], phi["theta1"]], dim=1)
    assert torch.allclose(got, exact, atol=1e-10)


def test_imaml_implicit_gradient_equals_dense_solve_on_the_quadratic_family():
    model, batch, theta0, exact, lam = _linear_problem()
    phi = {"theta0": exact[:, :1].clone(), "theta1": exact[:, 1:].clone()}
    v, expected = {}, []
    for i in range(batch.n_tasks):
        xs, xq, yq = batch.x_support[i, :, 0], batch.x_query[i, :, 0], batch.y_query[i, :, 0]
        r = yq - exact[i, 0] - exact[i, 1] * xq
        gq = torch.stack([-2 / xq.numel() * r.sum(), -2 / xq.numel() * (xq * r).sum()])  # ∇L_q(φ*)
        expected.append(torch.linalg.solve(torch.eye(2, dtype=torch.float64) + hessian(xs) / lam, gq))
        v.setdefault("theta0", []).append(gq[:1])
        v.setdefault("theta1", []).append(gq[1:])
    v = {n: torch.stack(t) for n, t in v.items()}
    g, residual = implicit_gradient(model, MSE, phi, batch.x_support, batch.y_support, v, lam, cg_steps=2)
    assert torch.allclose(torch.cat([g["theta0"], g["theta1"]], dim=1), torch.stack(expected), atol=1e-10)
    assert (residual < 1e-8).all()  # CG solves a 2×2 SPD system in 2 iterations

    # The whole meta-step, with enough inner steps to reach φ*, gives the mean of those gradients.
    cfg = tiny_config(family="linear", algorithm="imaml", alpha=0.1, k=400, imaml_lambda=lam, cg_steps=2,
                      dtype="float64")
    step = get_algorithm("imaml").meta_step(model, get_family("linear"), theta0, batch, cfg)
    mean = torch.stack(expected).mean(dim=0)
    assert torch.allclose(torch.cat([step.grads["theta0"], step.grads["theta1"]]), mean, atol=1e-9)


def test_imaml_conjugate_gradient_converges_on_a_network():
    model, theta0, batch = setup(sizes=(1, 6, 1), n_tasks=3)
    phi = proximal_adapt(model, MSE, {n: v.detach() for n, v in
                                      __import__("leo_core.inner", fromlist=["expand"]).expand(theta0, 3).items()},
                         batch.x_support, batch.y_support, 0.05, 2.0, 3)
    v = {n: torch.randn(t.shape, generator=gen(5), dtype=torch.float64) for n, t in phi.items()}
    residuals = [implicit_gradient(model, MSE, phi, batch.x_support, batch.y_support, v, 2.0, s)[1].max().item()
                 for s in (1, 5, 40)]
    assert residuals[0] > residuals[1] > residuals[2] and residuals[2] < 1e-6


# -- latent LEO ---------------------------------------------------------------------------------------

def _latent_problem(family="sinusoid"):
    cfg = tiny_config(family=family, algorithm="leo-latent", hidden=(5,), alpha=0.05, k=1, dtype="float64")
    trainer = Trainer(cfg)
    meta = {n: v.detach().clone().requires_grad_() for n, v in trainer.meta_params.items()}
    batch = trainer.family.sample(3, 5, 4, gen(2), dtype=torch.float64)
    return trainer, cfg, meta, batch


def test_latent_inner_loop_lowers_support_loss():
    trainer, cfg, meta, batch = _latent_problem()
    path = list(trainer.algorithm.adapt_path(trainer.model, trainer.family, meta, batch.x_support, batch.y_support,
                                             cfg.alpha, 8))
    losses = [MSE.per_task(trainer.model.forward(p, batch.x_support), batch.y_support) for p in path]
    assert (losses[1] < losses[0]).all()  # a latent step
    assert (losses[-1] < losses[trainer.algorithm.latent_steps]).all()  # fine-tuning steps
    one = list(trainer.algorithm.adapt_path(trainer.model, trainer.family, meta, batch.x_support[0],
                                            batch.y_support[0], cfg.alpha, 8))
    for n, v in one[-1].items():  # one unbatched task = the same task inside a batch
        assert torch.allclose(v, path[-1][n][0], atol=1e-10)


def test_latent_meta_gradient_matches_finite_differences():
    trainer, cfg, meta, batch = _latent_problem()
    algo, model, fam = trainer.algorithm, trainer.model, trainer.family
    step = algo.meta_step(model, fam, meta, batch, cfg)
    eps = 1e-6
    rng = torch.Generator().manual_seed(0)
    for name, value in meta.items():
        for j in torch.randint(value.numel(), (2,), generator=rng).tolist():  # 2 coordinates per tensor
            vals = []
            for sign in (1, -1):
                p = {n: v.detach().clone().requires_grad_() for n, v in meta.items()}
                with torch.no_grad():
                    p[name].view(-1)[j] += sign * eps
                vals.append(algo.meta_step(model, fam, p, batch, cfg).meta_loss.item())
            fd = (vals[0] - vals[1]) / (2 * eps)
            assert step.grads[name].reshape(-1)[j].item() == pytest.approx(fd, abs=1e-6, rel=1e-5), (name, j)


def test_latent_works_on_the_linear_model_and_refuses_classification():
    trainer, cfg, meta, batch = _latent_problem("linear")
    assert set(trainer.initialization()) == {"theta0", "theta1"}
    step = trainer.algorithm.meta_step(trainer.model, trainer.family, meta, batch, cfg)
    assert all(torch.isfinite(g).all() for g in step.grads.values())
    fam = replace(get_family("sinusoid"), name="digits-like")
    object.__setattr__(fam, "is_classification", True)
    with pytest.raises(ValueError, match="'digits-like' is a classification family"):
        next(iter(trainer.algorithm.adapt_path(trainer.model, fam, meta, batch.x_support, batch.y_support, 0.1, 1)))


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

@pytest.mark.slow  # a CLI subprocess per algorithm: 20–45 s each on a busy 2-core machine
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


@pytest.mark.parametrize("argv, fragment", [
    (["--imaml-lambda", "0"], "imaml_lambda must be"),
    (["--cg-steps", "0"], "cg_steps must be"),
])
def test_bad_imaml_settings_are_one_line_errors(capsys, argv, fragment):
    from test_cli import one_line_error

    assert fragment in one_line_error(capsys, ["train", *argv, "--out", "x"])
