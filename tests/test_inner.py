"""The batched meta-gradient against independent references: a per-task Python loop written
with nn.functional, and central finite differences."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from leo_core.algorithms import get_algorithm
from leo_core.config import TrainConfig
from leo_core.models import MLP
from leo_core.tasks import get_family

from helpers import gen

ALPHA = 0.05


def reference_forward(params, x):
    """An MLP written with F.linear, independent of MLP.forward's batched matmul path."""
    n = len(params) // 2
    h = x
    for i in range(n):
        h = F.linear(h, params[f"w{i}"].T, params[f"b{i}"])
        if i < n - 1:
            h = torch.relu(h)
    return h


def reference_meta_gradient(theta0, batch, k, alpha, first_order, outer="query"):
    """Per-task loop: adapt each task separately, average the losses, differentiate."""
    names = list(theta0)
    total = 0.0
    for i in range(batch.n_tasks):
        params = dict(theta0)
        for _ in range(k):
            loss = ((reference_forward(params, batch.x_support[i]) - batch.y_support[i]) ** 2).mean()
            grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=not first_order)
            params = {n: params[n] - alpha * g for n, g in zip(names, grads)}
        xo, yo = (batch.x_query[i], batch.y_query[i]) if outer == "query" else (batch.x_support[i], batch.y_support[i])
        total = total + ((reference_forward(params, xo) - yo) ** 2).mean()
    meta_loss = total / batch.n_tasks
    return meta_loss, dict(zip(names, torch.autograd.grad(meta_loss, [theta0[n] for n in names])))


def setup(sizes=(1, 6, 6, 1), n_tasks=5, family="sinusoid", seed=0):
    model = MLP(sizes=sizes)
    theta0 = {k: v.requires_grad_() for k, v in model.init(gen(seed), torch.float64).items()}
    batch = get_family(family).sample(n_tasks, 6, 7, gen(seed + 1), dtype=torch.float64)
    return model, theta0, batch


def core_meta_step(model, theta0, batch, k, first_order, outer="query"):
    cfg = TrainConfig(alpha=ALPHA, k=k, first_order=first_order, outer_loss=outer, hidden=model.sizes[1:-1],
                      dtype="float64")
    return get_algorithm("leo").meta_step(model, get_family("sinusoid"), theta0, batch, cfg)


@pytest.mark.parametrize("k", [0, 1, 3])
@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("outer", ["query", "support"])
def test_batched_meta_gradient_equals_per_task_loop(k, first_order, outer):
    model, theta0, batch = setup()
    step = core_meta_step(model, theta0, batch, k, first_order, outer)
    ref_loss, ref_grads = reference_meta_gradient(theta0, batch, k, ALPHA, first_order, outer)
    assert step.meta_loss.item() == pytest.approx(ref_loss.item(), abs=1e-12)
    for name in theta0:
        assert torch.allclose(step.grads[name], ref_grads[name], atol=1e-8, rtol=0), name


def test_second_order_and_first_order_differ():
    # Guards against a "second order" path that silently detaches the inner gradient.
    model, theta0, batch = setup()
    so = core_meta_step(model, theta0, batch, 2, False)
    fo = core_meta_step(model, theta0, batch, 2, True)
    diff = max((so.grads[n] - fo.grads[n]).abs().max().item() for n in theta0)
    assert diff > 1e-6


def _meta_loss_value(model, theta0, batch, k):
    with torch.enable_grad():
        return core_meta_step(model, {n: v.detach().requires_grad_() for n, v in theta0.items()}, batch, k,
                              False).meta_loss.item()


@pytest.mark.parametrize("k", [1, 2])
def test_second_order_meta_gradient_matches_finite_differences(k):
    model, theta0, batch = setup(sizes=(1, 3, 1), n_tasks=3)
    step = core_meta_step(model, theta0, batch, k, False)
    eps = 1e-6
    for name, value in theta0.items():
        flat = value.detach().reshape(-1)
        for j in range(flat.numel()):
            plus = {n: v.detach().clone() for n, v in theta0.items()}
            minus = {n: v.detach().clone() for n, v in theta0.items()}
            plus[name].view(-1)[j] += eps
            minus[name].view(-1)[j] -= eps
            fd = (_meta_loss_value(model, plus, batch, k) - _meta_loss_value(model, minus, batch, k)) / (2 * eps)
            assert step.grads[name].reshape(-1)[j].item() == pytest.approx(fd, abs=1e-6, rel=1e-5), (name, j)


def test_first_order_gradient_matches_finite_differences_of_query_loss_at_adapted_params():
    """FOMAML's gradient is the mean over tasks of ∇L_query at θ_k (θ_k held fixed)."""
    model, theta0, batch = setup(sizes=(1, 3, 1), n_tasks=3)
    k, eps = 2, 1e-6
    step = core_meta_step(model, theta0, batch, k, True)
    expected = {n: torch.zeros_like(v) for n, v in theta0.items()}
    for i in range(batch.n_tasks):
        params = {n: v.detach().clone().requires_grad_() for n, v in theta0.items()}
        for _ in range(k):
            loss = ((reference_forward(params, batch.x_support[i]) - batch.y_support[i]) ** 2).mean()
            grads = torch.autograd.grad(loss, list(params.values()))
            params = {n: (params[n] - ALPHA * g).detach().requires_grad_() for n, g in zip(params, grads)}

        def q(p):
            return ((reference_forward(p, batch.x_query[i]) - batch.y_query[i]) ** 2).mean().item()

        for name in params:
            for j in range(params[name].numel()):
                plus = {n: v.detach().clone() for n, v in params.items()}
                minus = {n: v.detach().clone() for n, v in params.items()}
                plus[name].view(-1)[j] += eps
                minus[name].view(-1)[j] -= eps
                expected[name].view(-1)[j] += (q(plus) - q(minus)) / (2 * eps) / batch.n_tasks
    for name in theta0:
        assert torch.allclose(step.grads[name], expected[name], atol=1e-6), name


def test_one_inner_step_lowers_support_loss():
    from leo_core import inner
    from leo_core.losses import LOSSES

    model, theta0, batch = setup(sizes=(1, 40, 40, 1), n_tasks=20)
    path = list(inner.adapt_path(model, LOSSES["mse"], inner.expand(theta0, 20), batch.x_support,
                                 batch.y_support, 0.01, 1))
    before = inner.task_losses(model, LOSSES["mse"], path[0], batch.x_support, batch.y_support)
    after = inner.task_losses(model, LOSSES["mse"], path[1], batch.x_support, batch.y_support)
    assert (after < before).all()
