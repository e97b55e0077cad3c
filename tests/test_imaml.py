"""iMAML (Rajeswaran et al. 2019) against independent references.

The inner solve against a per-task stationarity check written with nn.functional; the implicit
gradient against a dense solve (I + H/λ)⁻¹∇L_query with H from torch.autograd.functional.hessian
per task; the safe step against a fixed step on a sharp problem; meta-test adaptation against the
solve itself; the residual through the trainer, the history and the CLI.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from leo_core import inner
from leo_core.algorithms import get_algorithm
from leo_core.algorithms.imaml import (
    implicit_gradient, proximal_objective, proximal_path, proximal_solve, top_curvature,
)
from leo_core.checkpoint import load_checkpoint
from leo_core.history import MetricHistory
from leo_core.losses import LOSSES
from leo_core.models import MLP, LinearModel
from leo_core.tasks import get_family
from leo_core.train import Trainer

from helpers import gen, tiny_config
from test_cli import one_line_error, run_cli

MSE = LOSSES["mse"]


def _tanh_forward(params, x):
    """A tanh MLP written with F.linear, independent of MLP.forward's batched matmul path."""
    n = len(params) // 2
    h = x
    for i in range(n):
        h = F.linear(h, params[f"w{i}"].T, params[f"b{i}"])
        if i < n - 1:
            h = torch.tanh(h)
    return h


def _mlp_problem(n_tasks=4, activation="tanh", seed=0):
    model = MLP(sizes=(1, 8, 8, 1), activation=activation)
    theta0 = model.init(gen(seed), torch.float64)
    batch = get_family("sinusoid").sample(n_tasks, 6, 5, gen(seed + 1), dtype=torch.float64)
    return model, theta0, batch


def test_solve_reaches_the_tolerance_and_each_task_is_stationary():
    """Smooth (tanh) network, float64: after the solve ‖∇G_i(φ_i)‖ ≤ tol·‖∇L_i(θ₀)‖ for every task,
    checked task by task with an independent forward."""
    model, theta0, batch = _mlp_problem()
    lam, tol = 2.0, 1e-6
    solve = proximal_solve(model, MSE, inner.expand(theta0, 4), batch.x_support, batch.y_support, lam, tol, 2000)
    assert solve.steps < 2000 and (solve.residual <= tol).all()
    for i in range(batch.n_tasks):
        def grad_g(p, anchor):
            p = {n: v.clone().requires_grad_() for n, v in p.items()}
            g = ((_tanh_forward(p, batch.x_support[i]) - batch.y_support[i]) ** 2).mean()
            g = g + lam / 2 * sum(((p[n] - anchor[n]) ** 2).sum() for n in p)
            return torch.cat([t.reshape(-1) for t in torch.autograd.grad(g, list(p.values()))])

        at_phi = grad_g({n: v[i] for n, v in solve.phi.items()}, theta0)
        at_start = grad_g(theta0, theta0)
        assert at_phi.norm() <= tol * at_start.norm() * (1 + 1e-9)
        assert at_phi.norm() / at_start.norm() == pytest.approx(solve.residual[i].item(), rel=1e-8)


def test_growing_step_reaches_the_same_stationary_point_as_the_fixed_safe_step(monkeypatch):
    """The step starts at 1/(ρ + λ) and grows after each accepted step (at most 1/λ): both solvers end at
    the same stationary point, and the growing one takes no more steps here."""
    import leo_core.algorithms.imaml as imaml

    model, theta0, batch = _mlp_problem()
    start = inner.expand(theta0, 4)
    grown = proximal_solve(model, MSE, start, batch.x_support, batch.y_support, 2.0, 1e-6, 5000)
    monkeypatch.setattr(imaml, "_GROW", 1.0)
    fixed = proximal_solve(model, MSE, start, batch.x_support, batch.y_support, 2.0, 1e-6, 5000)
    assert (grown.residual <= 1e-6).all() and (fixed.residual <= 1e-6).all()
    assert grown.steps <= fixed.steps, (grown.steps, fixed.steps)
    for n in grown.phi:
        torch.testing.assert_close(grown.phi[n], fixed.phi[n], rtol=0, atol=1e-5)


def test_solve_stops_each_task_at_its_tolerance_independently_of_the_batch():
    model, theta0, batch = _mlp_problem()
    together = proximal_solve(model, MSE, inner.expand(theta0, 4), batch.x_support, batch.y_support, 2.0, 1e-3, 500)
    alone = proximal_solve(model, MSE, inner.expand(theta0, 1), batch.x_support[2:3], batch.y_support[2:3], 2.0,
                           1e-3, 500)
    for n in theta0:
        assert torch.allclose(together.phi[n][2], alone.phi[n][0], atol=1e-12), n
    capped = proximal_solve(model, MSE, inner.expand(theta0, 4), batch.x_support, batch.y_support, 2.0, 1e-12, 3)
    assert capped.steps == 3 and (capped.residual > 1e-12).all()


def _linear_problem(n_tasks=4, lam=0.7, x_scale=1.0):
    model = LinearModel()
    batch = get_family("linear").sample(n_tasks, 6, 5, gen(11), dtype=torch.float64)
    batch = type(batch)(batch.x_support * x_scale, batch.y_support, batch.x_query * x_scale, batch.y_query)
    theta0 = {"theta0": torch.tensor([0.4], dtype=torch.float64), "theta1": torch.tensor([-0.2], dtype=torch.float64)}
    return model, batch, theta0, lam


def _loss_fn(x, y):
    """The MSE of f(x) = θ₀ + θ₁x as a function of the flat parameter vector, for autograd.functional."""
    return lambda t: ((t[0] + t[1] * x - y) ** 2).mean()


def test_implicit_gradient_equals_a_dense_solve_on_the_linear_family():
    model, batch, theta0, lam = _linear_problem()
    t0 = torch.cat([theta0["theta0"], theta0["theta1"]])
    expected = []
    for i in range(batch.n_tasks):
        ls = _loss_fn(batch.x_support[i, :, 0], batch.y_support[i, :, 0])
        lq = _loss_fn(batch.x_query[i, :, 0], batch.y_query[i, :, 0])
        H = torch.autograd.functional.hessian(ls, t0)
        eye = torch.eye(2, dtype=torch.float64)
        # The support loss is quadratic: φ* = θ₀ − (H + λI)⁻¹∇L_s(θ₀) minimises L_s + (λ/2)‖φ − θ₀‖².
        phi = t0 - torch.linalg.solve(H + lam * eye, torch.autograd.functional.jacobian(ls, t0))
        expected.append(torch.linalg.solve(eye + H / lam, torch.autograd.functional.jacobian(lq, phi)))
    expected = torch.stack(expected)
    cfg = tiny_config(family="linear", algorithm="imaml", imaml_lambda=lam, imaml_tol=1e-8, imaml_max_steps=5000,
                      cg_steps=2, dtype="float64")
    meta = {n: v.clone().requires_grad_() for n, v in theta0.items()}
    step = get_algorithm("imaml").meta_step(model, get_family("linear"), meta, batch, cfg)
    assert torch.allclose(torch.cat([step.grads["theta0"], step.grads["theta1"]]), expected.mean(dim=0), atol=1e-6)
    assert step.inner_residual.item() <= 1e-8

    # …and per task: CG solves the 2×2 SPD system in two iterations.
    solve = proximal_solve(model, MSE, inner.expand(theta0, 4), batch.x_support, batch.y_support, lam, 1e-8, 5000)
    phi = {n: v.detach().requires_grad_() for n, v in solve.phi.items()}
    total = MSE.total(model.forward(phi, batch.x_query), batch.y_query)
    v = dict(zip(phi, torch.autograd.grad(total, list(phi.values()))))
    g, residual = implicit_gradient(model, MSE, solve.phi, batch.x_support, batch.y_support, v, lam, cg_steps=2)
    assert torch.allclose(torch.cat([g["theta0"], g["theta1"]], dim=1), expected, atol=1e-6)
    assert (residual < 1e-8).all()


def test_conjugate_gradient_converges_on_a_network_and_stops_at_its_tolerance():
    model, theta0, batch = _mlp_problem(n_tasks=3, activation="relu")
    solve = proximal_solve(model, MSE, inner.expand(theta0, 3), batch.x_support, batch.y_support, 2.0, 1e-3, 20)
    v = {n: torch.randn(t.shape, generator=gen(5), dtype=torch.float64) for n, t in solve.phi.items()}
    res = [implicit_gradient(model, MSE, solve.phi, batch.x_support, batch.y_support, v, 2.0, s)[1].max().item()
           for s in (1, 5, 60)]
    assert res[0] > res[1] > res[2] and res[2] < 1e-6
    v_norm = torch.cat([t.flatten(1) for t in v.values()], dim=1).norm(dim=1)
    _, stopped = implicit_gradient(model, MSE, solve.phi, batch.x_support, batch.y_support, v, 2.0, 60, tol=1e-3)
    assert (stopped <= 1e-3 * v_norm).all() and stopped.max().item() > res[2]  # stopped early, at its tolerance


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_safe_step_never_increases_g_where_the_fixed_step_diverges(activation):
    """Inputs ×8 and output weights ×10 make the support loss sharp (top curvature in the thousands): the
    old fixed step α = 0.01 with λ = 5 has α(λ_max + λ) > 2 and blows up; the safe step lowers G at every step."""
    model = MLP(sizes=(1, 8, 8, 1), activation=activation)
    theta0 = model.init(gen(0), torch.float64)
    theta0["w2"] = theta0["w2"] * 10
    b = get_family("sinusoid").sample(4, 10, 5, gen(1), dtype=torch.float64)
    x, y = b.x_support * 8, b.y_support
    start, anchor = inner.expand(theta0, 4), inner.expand(theta0, 4)
    lam, alpha = 5.0, 0.01
    g0_val, g0 = proximal_objective(model, MSE, start, anchor, x, y, lam)
    assert (alpha * (top_curvature(model, MSE, start, x, y, g0) + lam) > 2).any()

    phi, fixed = dict(start), [g0_val]  # the old solver: fixed step α
    for _ in range(30):
        _, grad = proximal_objective(model, MSE, phi, anchor, x, y, lam)
        phi = {n: phi[n] - alpha * grad[n] for n in phi}
        fixed.append(proximal_objective(model, MSE, phi, anchor, x, y, lam)[0])
    fixed = torch.stack(fixed)
    assert (fixed[1:] > fixed[:-1]).any()  # the fixed step raises G somewhere…
    if activation == "relu":  # …and with ReLU (no saturation) it blows up
        assert (~torch.isfinite(fixed[-1]) | (fixed[-1] > 1e3 * fixed[0])).any()

    values = [proximal_objective(model, MSE, p, anchor, x, y, lam)[0]
              for p, _ in _take(proximal_path(model, MSE, start, x, y, lam, 1e-8), 60)]
    values = torch.stack(values)
    assert torch.isfinite(values).all()
    assert (values[1:] <= values[:-1]).all()
    assert (values[-1] < 0.5 * values[0]).all()


def _take(iterator, n):
    for j, item in enumerate(iterator):
        yield item
        if j >= n:
            return


# -- meta-test -------------------------------------------------------------------------------------

def test_adapt_path_is_the_proximal_solve_and_sgd_on_request():
    model, theta0, batch = _mlp_problem(activation="relu")
    fam = get_family("sinusoid")
    cfg = tiny_config(algorithm="imaml", hidden=(8, 8), imaml_lambda=3.0, imaml_tol=1e-4, dtype="float64")
    algo = get_algorithm("imaml", cfg)
    assert (algo.lam, algo.tol, algo.adapt) == (3.0, 1e-4, "proximal")
    path = list(algo.adapt_path(model, fam, theta0, batch.x_support, batch.y_support, 0.01, 7))
    assert len(path) == 8
    solve = proximal_solve(model, MSE, inner.expand(theta0, 4), batch.x_support, batch.y_support, 3.0, 1e-4, 7)
    for n in theta0:
        assert torch.equal(path[0][n], inner.expand(theta0, 4)[n])
        assert torch.equal(path[-1][n], solve.phi[n]), n
    one = list(algo.adapt_path(model, fam, theta0, batch.x_support[1], batch.y_support[1], 0.01, 7))
    for n in theta0:  # one unbatched task = the same task inside a batch
        assert torch.allclose(one[-1][n], path[-1][n][1], atol=1e-12)
    sgd = get_algorithm("imaml", tiny_config(algorithm="imaml", imaml_adapt="sgd"))
    plain = get_algorithm("leo")
    for a, b in zip(sgd.adapt_path(model, fam, theta0, batch.x_support, batch.y_support, 0.01, 3),
                    plain.adapt_path(model, fam, theta0, batch.x_support, batch.y_support, 0.01, 3)):
        for n in theta0:
            assert torch.equal(a[n], b[n])


# -- the residual in the metrics ---------------------------------------------------------------------

def test_trainer_reports_the_mean_residual_and_history_keeps_it(tmp_path):
    cfg = tiny_config(algorithm="imaml", iterations=3, imaml_max_steps=4)
    trainer = Trainer(cfg)
    records = list(trainer)
    assert all(r.inner_residual is not None and 0 < r.inner_residual <= 1 for r in records)
    assert all(r.inner_residual is None for r in Trainer(tiny_config(iterations=2)))
    history = MetricHistory()
    history.extend(records)
    assert "inner_residual" in history.to_csv().splitlines()[0].split(",")
    again = MetricHistory.from_columns(history.columns())
    assert [r.inner_residual for r in again.records()] == [r.inner_residual for r in records]
    old = {k: v for k, v in history.columns().items() if k != "inner_residual"}  # a history from before the field
    assert all(r.inner_residual is None for r in MetricHistory.from_columns(old).records())


def test_cli_flags_reach_the_config_and_evaluate_uses_the_proximal_path(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("train", "--algorithm", "imaml", "--iterations", "3", "--meta-batch", "3", "--hidden", "8,8",
                   "--imaml-tol", "0.2", "--imaml-max-steps", "4", "--imaml-adapt", "sgd", "--quiet",
                   "--device", "cpu", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    cfg = load_checkpoint(out).config
    assert (cfg.imaml_tol, cfg.imaml_max_steps, cfg.imaml_adapt) == (0.2, 4, "sgd")
    assert "inner_residual" in (out / "metrics.csv").read_text().splitlines()[0]
    proc = run_cli("evaluate", str(out), "--tasks", "6", "--steps", "3", "--json", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["loss_by_step"]) == 4


@pytest.mark.parametrize("argv, fragment", [
    (["--imaml-lambda", "0"], "imaml_lambda must be"),
    (["--cg-steps", "0"], "cg_steps must be"),
    (["--imaml-tol", "0"], "imaml_tol must be"),
    (["--imaml-max-steps", "0"], "imaml_max_steps must be"),
])
def test_bad_imaml_settings_are_one_line_errors(capsys, argv, fragment):
    assert fragment in one_line_error(capsys, ["train", *argv, "--out", "x"])


def test_old_config_dicts_without_the_new_fields_load():
    from leo_core.config import TrainConfig

    d = tiny_config(algorithm="imaml").to_dict()
    for key in ("imaml_tol", "imaml_max_steps", "imaml_adapt"):
        d.pop(key)
    cfg = TrainConfig.from_dict(d)
    assert (cfg.imaml_tol, cfg.imaml_max_steps, cfg.imaml_adapt) == (0.05, 25, "proximal")
    with pytest.raises(ValueError, match="imaml_adapt must be"):
        tiny_config(imaml_adapt="newton")
