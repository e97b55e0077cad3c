"""The linear family against the source document's closed-form formulas.

For f(x) = θ₀ + θ₁x with MSE: ∇θ₀L = −(2/n)Σ(y − θ₀ − θ₁x), ∇θ₁L = −(2/n)Σx(y − θ₀ − θ₁x).
The inner step is affine in θ, so θ_k = Aθ + c with A = (I − αH)^k, H = (2/n)Σ[[1, x], [x, x²]],
and the meta-gradient is ∇J = Aᵀ ∇L_query(θ_k).
"""

from __future__ import annotations

import torch

from leo_core import inner
from leo_core.algorithms import get_algorithm
from leo_core.config import TrainConfig
from leo_core.losses import LOSSES
from leo_core.models import LinearModel
from leo_core.tasks import get_family

from helpers import gen


def document_gradient(theta, x, y):
    r = y - theta[0] - theta[1] * x
    n = x.numel()
    return torch.stack([-2 / n * r.sum(), -2 / n * (x * r).sum()])


def hessian(x):
    n = x.numel()
    return 2 / n * torch.stack([torch.stack([torch.tensor(float(n), dtype=x.dtype), x.sum()]),
                                torch.stack([x.sum(), (x * x).sum()])])


def test_inner_gradient_equals_document_formula():
    model = LinearModel()
    batch = get_family("linear").sample(6, 8, 4, gen(3), dtype=torch.float64)
    theta = {"theta0": torch.tensor([0.7], dtype=torch.float64), "theta1": torch.tensor([-0.4], dtype=torch.float64)}
    stacked = {k: v.requires_grad_() for k, v in inner.expand(theta, 6).items()}
    new, _ = inner.inner_step(model, LOSSES["mse"], stacked, batch.x_support, batch.y_support, 1.0, False)
    for i in range(6):
        g = document_gradient(torch.tensor([0.7, -0.4], dtype=torch.float64), batch.x_support[i, :, 0],
                              batch.y_support[i, :, 0])
        got = torch.stack([0.7 - new["theta0"][i, 0], -0.4 - new["theta1"][i, 0]])  # α = 1: θ − θ' = ∇L
        assert torch.allclose(got, g, atol=1e-12)


def test_meta_objective_and_gradient_equal_closed_form():
    alpha, k, n_tasks = 0.05, 3, 5
    model = LinearModel()
    batch = get_family("linear").sample(n_tasks, 8, 6, gen(4), dtype=torch.float64)
    theta0 = torch.tensor([0.3, 0.9], dtype=torch.float64)
    params = {"theta0": theta0[:1].clone().requires_grad_(), "theta1": theta0[1:].clone().requires_grad_()}
    cfg = TrainConfig(family="linear", alpha=alpha, k=k, dtype="float64")
    step = get_algorithm("leo").meta_step(model, get_family("linear"), params, batch, cfg)

    J, grad = 0.0, torch.zeros(2, dtype=torch.float64)
    for i in range(n_tasks):
        xs, ys = batch.x_support[i, :, 0], batch.y_support[i, :, 0]
        xq, yq = batch.x_query[i, :, 0], batch.y_query[i, :, 0]
        A = torch.linalg.matrix_power(torch.eye(2, dtype=torch.float64) - alpha * hessian(xs), k)
        theta = theta0.clone()
        for _ in range(k):
            theta = theta - alpha * document_gradient(theta, xs, ys)
        J += ((yq - theta[0] - theta[1] * xq) ** 2).mean() / n_tasks
        grad += A.T @ document_gradient(theta, xq, yq) / n_tasks
    assert abs(step.meta_loss.item() - J.item()) < 1e-12
    got = torch.cat([step.grads["theta0"], step.grads["theta1"]])
    assert torch.allclose(got, grad, atol=1e-12)
