from __future__ import annotations

import pytest
import torch

from leo_core import landscape as ls
from leo_core.losses import LOSSES
from leo_core.models import MLP, LinearModel
from leo_core.tasks import get_family

from helpers import gen

MSE = LOSSES["mse"]


def mlp_setup():
    model = MLP(sizes=(1, 8, 8, 1))
    theta = model.init(gen(0), torch.float64)
    batch = get_family("sinusoid").sample(3, 5, 6, gen(1), dtype=torch.float64)
    return model, theta, batch


def test_loss_grid_equals_direct_evaluation():
    model, theta, batch = mlp_setup()
    d1, d2 = ls.filter_normalized_directions(theta, gen(2))
    plane = ls.Plane(theta, d1, d2, torch.linspace(-1, 1, 5, dtype=torch.float64),
                     torch.linspace(-0.5, 0.5, 4, dtype=torch.float64))
    grid = ls.loss_grid(model, MSE, plane, batch.x_query, batch.y_query, chunk=7)
    assert grid.shape == (4, 5)
    for i, b in enumerate(plane.b_values):
        for j, a in enumerate(plane.a_values):
            p = {n: theta[n] + a * d1[n] + b * d2[n] for n in theta}
            direct = sum(((model.forward(p, batch.x_query[t]) - batch.y_query[t]) ** 2).mean()
                         for t in range(3)) / 3
            assert grid[i, j].item() == pytest.approx(direct.item(), rel=1e-12)


def test_meta_objective_grid_equals_direct_adaptation():
    model, theta, batch = mlp_setup()
    d1, d2 = ls.filter_normalized_directions(theta, gen(3))
    vals = torch.tensor([-0.5, 0.0, 0.5], dtype=torch.float64)
    plane = ls.Plane(theta, d1, d2, vals, vals)
    alpha, k = 0.02, 2
    grid = ls.meta_objective_grid(model, MSE, plane, batch.x_support, batch.y_support, batch.x_query,
                                  batch.y_query, alpha, k, chunk=4)
    i, j = 2, 0
    total = 0.0
    for t in range(3):
        p = {n: (theta[n] + vals[j] * d1[n] + vals[i] * d2[n]).clone().requires_grad_() for n in theta}
        for _ in range(k):
            loss = ((model.forward(p, batch.x_support[t]) - batch.y_support[t]) ** 2).mean()
            g = torch.autograd.grad(loss, list(p.values()))
            p = {n: (p[n] - alpha * gg).detach().requires_grad_() for n, gg in zip(p, g)}
        total += ((model.forward(p, batch.x_query[t]) - batch.y_query[t]) ** 2).mean().item() / 3
    assert grid[i, j].item() == pytest.approx(total, rel=1e-10)


def test_linear_meta_objective_equals_closed_form():
    """For f = θ₀ + θ₁x with MSE, θ_k = Aθ + c is affine, so J is a quadratic in θ with
    A = (I − αH)^k, c = Σ_j (I − αH)^j αb, H = (2/n)Σ[[1,x],[x,x²]], b = (2/n)Σ[y, xy]."""
    alpha, k = 0.05, 3
    model = LinearModel()
    batch = get_family("linear").sample(4, 6, 5, gen(5), dtype=torch.float64)
    center = {"theta0": torch.tensor([0.5], dtype=torch.float64), "theta1": torch.tensor([0.2], dtype=torch.float64)}
    plane = ls.axis_plane(center, 2.0, 9)
    grid = ls.meta_objective_grid(model, MSE, plane, batch.x_support, batch.y_support, batch.x_query,
                                  batch.y_query, alpha, k)
    I2 = torch.eye(2, dtype=torch.float64)

    def closed(theta):
        total = 0.0
        for t in range(4):
            x, y = batch.x_support[t, :, 0], batch.y_support[t, :, 0]
            n = x.numel()
            X = torch.stack([torch.ones_like(x), x], dim=1)
            H, b = 2 / n * X.T @ X, 2 / n * X.T @ y
            M = I2 - alpha * H
            A = torch.linalg.matrix_power(M, k)
            c = sum(torch.linalg.matrix_power(M, j) @ (alpha * b) for j in range(k))
            th = A @ theta + c
            xq, yq = batch.x_query[t, :, 0], batch.y_query[t, :, 0]
            total += ((yq - th[0] - th[1] * xq) ** 2).mean() / 4
        return total

    for i in (0, 4, 8):
        for j in (0, 3, 8):
            theta = torch.stack([0.5 + plane.a_values[j], 0.2 + plane.b_values[i]])
            assert grid[i, j].item() == pytest.approx(closed(theta).item(), rel=1e-10)


def test_filter_normalization_gives_each_filter_its_weight_norm():
    model, theta, _ = mlp_setup()
    d1, d2 = ls.filter_normalized_directions(theta, gen(7))
    for d in (d1, d2):
        for name, p in theta.items():
            if p.dim() == 2:
                assert torch.allclose(d[name].norm(dim=0), p.norm(dim=0), rtol=1e-10)
            else:
                assert torch.count_nonzero(d[name]) == 0
    assert not torch.allclose(d1["w1"], d2["w1"])


def test_projection_recovers_in_plane_points_and_measures_distance():
    model, theta, _ = mlp_setup()
    d1, d2 = ls.filter_normalized_directions(theta, gen(8))
    plane = ls.Plane(theta, d1, d2, torch.zeros(1), torch.zeros(1))
    pts = torch.stack([ls.flatten({n: theta[n] + 0.3 * d1[n] - 0.7 * d2[n] for n in theta})])
    coords, residual = ls.project(pts, plane)
    assert torch.allclose(coords[0], torch.tensor([0.3, -0.7], dtype=torch.float64), atol=1e-10)
    assert residual[0].item() < 1e-10
    off = pts + 0.1
    assert ls.project(off, plane)[1][0].item() > 0.01


def test_pca_directions_span_a_planar_path():
    model, theta, _ = mlp_setup()
    c = ls.flatten(theta)
    u, v = torch.zeros_like(c), torch.zeros_like(c)
    u[0], v[5] = 1.0, 1.0
    path = torch.stack([c + a * u + b * v for a, b in [(0, 0), (1, 0.2), (2, 0.1), (3, -0.4)]])
    d1, d2, explained = ls.pca_directions([path], c, theta)
    plane = ls.Plane(theta, d1, d2, torch.zeros(1), torch.zeros(1))
    assert ls.project(path, plane)[1].max().item() < 1e-10
    assert explained.sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("alpha, k", [(0.05, 1), (0.2, 3)])
def test_family_optimum_is_where_the_true_meta_gradient_vanishes(alpha, k):
    """The exact minimiser of the family's J (a quadratic fitted on a 3 × 3 grid) against autograd: leo's
    meta-gradient on the same tasks is zero there, and not at a point 0.1 away."""
    from dataclasses import replace

    from leo_core.config import TrainConfig
    from leo_core.views import meta_gradients as mg
    from leo_core.views.landscape import family_optimum

    family, model = get_family("linear"), LinearModel()
    opt = family_optimum(model, family, 10, alpha, k, n_tasks=500, seed=3)
    tasks = family.sample(500, 10, 10, torch.Generator().manual_seed(3), "cpu", torch.float64)
    cfg = replace(TrainConfig(family="linear", algorithm="leo", shots=10, query=10, dtype="float64"), alpha=alpha, k=k)

    def grad_norm(point):
        theta = {"theta0": torch.tensor([point[0]], dtype=torch.float64),
                 "theta1": torch.tensor([point[1]], dtype=torch.float64)}
        return mg.directions(model, family, theta, tasks, mg.direction_config(cfg, alpha, k), keys=("leo",))[0].norm

    assert grad_norm(opt) < 1e-8
    assert grad_norm((opt[0] + 0.1, opt[1])) > 1e-2
