"""iMAML (Rajeswaran, Finn, Kakade, Levine 2019): the meta-gradient by implicit differentiation.

Inner problem per task: φ_i = argmin_φ  L_support,i(φ) + (λ/2)‖φ − θ₀‖², approximated by k
gradient steps with step α from φ = θ₀, with no autograd graph kept (memory does not grow with k).
At a minimiser, dφ/dθ₀ = (I + H_i/λ)^{-1} with H_i = ∇²L_support,i(φ_i), so

    ∇_θ₀ L_query,i(φ_i) = (I + H_i/λ)^{-1} ∇L_query,i(φ_i),

solved for all tasks at once by ``cfg.cg_steps`` conjugate-gradient iterations that need only
Hessian-vector products of the support loss at φ (one double-backward each). The meta-gradient is
the mean over tasks. Only the stationarity of φ is assumed, not how it was reached.

Simplifications: the proximal problem is solved only approximately (k steps), as in the paper;
``cfg.first_order`` is ignored. At meta-test time, ``adapt_path`` takes plain gradient steps with
α from θ₀ like every other algorithm here (the proximal term shapes training only), so the
comparison page compares initializations under one adaptation rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .. import inner
from ..config import TrainConfig
from ..losses import LOSSES, Loss
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily
from .base import MetaAlgorithm, MetaStep, outer_data, query_metrics

__all__ = ["IMAML", "proximal_adapt", "implicit_gradient"]


def _dot(a: Params, b: Params) -> Tensor:
    """Per-task inner product of two stacked parameter sets: ``[T]``."""
    return sum((a[n] * b[n]).flatten(1).sum(dim=1) for n in a)


def _axpy(a: Tensor, x: Params, y: Params) -> Params:
    """y + a·x with a per-task scalar ``a [T]``."""
    return {n: y[n] + a.reshape(-1, *[1] * (x[n].dim() - 1)) * x[n] for n in x}


def proximal_adapt(
    model: Model, loss: Loss, theta0: Params, x: Tensor, y: Tensor, alpha: float, lam: float, steps: int,
) -> Params:
    """φ after ``steps`` gradient steps on L_support(φ) + (λ/2)‖φ − θ₀‖² from φ = θ₀ (detached, ``[T, ...]``)."""
    anchor = {n: v.detach() for n, v in theta0.items()}
    phi = {n: v.clone() for n, v in anchor.items()}
    for _ in range(steps):
        phi = {n: v.requires_grad_(True) for n, v in phi.items()}
        with torch.enable_grad():
            total = loss.total(model.forward(phi, x), y)
            grads = torch.autograd.grad(total, list(phi.values()))
        phi = {n: (phi[n] - alpha * (g + lam * (phi[n] - anchor[n]))).detach() for n, g in zip(phi, grads)}
    return phi


def implicit_gradient(
    model: Model, loss: Loss, phi: Params, x_support: Tensor, y_support: Tensor, v: Params, lam: float,
    cg_steps: int,
) -> tuple[Params, Tensor]:
    """Solve (I + H_i/λ) g_i = v_i for every task by conjugate gradients; H_i = ∇²L_support,i(φ_i).

    Returns the stacked solution ``g`` and each task's final residual norm ``[T]``.
    """
    phi = {n: t.detach().requires_grad_(True) for n, t in phi.items()}
    with torch.enable_grad():
        total = loss.total(model.forward(phi, x_support), y_support)
        # create_graph=True: the support gradient must be differentiable once more for H·p.
        grad = torch.autograd.grad(total, list(phi.values()), create_graph=True)

    def apply_a(p: Params) -> Params:
        hp = torch.autograd.grad(grad, list(phi.values()), grad_outputs=[p[n] for n in phi], retain_graph=True)
        return {n: p[n] + h / lam for n, h in zip(phi, hp)}

    x = {n: torch.zeros_like(t) for n, t in v.items()}
    r = {n: t.detach().clone() for n, t in v.items()}
    p = dict(r)
    rs = _dot(r, r)
    for _ in range(cg_steps):
        ap = apply_a(p)
        pap = _dot(p, ap)
        # A task already solved (rs = 0) or a direction of non-positive curvature stops moving.
        ok = (pap > 0) & (rs > 0)
        step = torch.where(ok, rs / torch.where(ok, pap, torch.ones_like(pap)), torch.zeros_like(pap))
        x = _axpy(step, p, x)
        r = _axpy(-step, ap, r)
        rs_new = _dot(r, r)
        beta = torch.where(ok, rs_new / torch.where(ok, rs, torch.ones_like(rs)), torch.zeros_like(rs))
        p = _axpy(beta, p, r)
        rs = rs_new
    return x, rs.sqrt()


@dataclass(frozen=True)
class IMAML(MetaAlgorithm):
    key: str = "imaml"
    title: str = "iMAML (implicit meta-gradient)"
    citation: str = "Rajeswaran, Finn, Kakade, Levine. Meta-Learning with Implicit Gradients. NeurIPS 2019."
    summary: str = (
        "Each task solves a regularised inner problem, phi = argmin L_support(phi) + (lambda/2) ||phi - theta0||^2 "
        "(here by k gradient steps). At the solution, implicit differentiation gives the meta-gradient "
        "(I + H/lambda)^(-1) grad L_query(phi), with H the support-loss Hessian at phi; it is computed by a few "
        "conjugate-gradient steps using only Hessian-vector products. Memory does not grow with k, because "
        "no graph is kept through the inner steps."
    )

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        loss = LOSSES[family.loss]
        theta0 = self.initialization(meta_params)
        start = inner.expand({n: t.detach() for n, t in theta0.items()}, batch.n_tasks)
        phi = proximal_adapt(model, loss, start, batch.x_support, batch.y_support, cfg.alpha, cfg.imaml_lambda,
                             cfg.k)
        x_out, y_out = outer_data(batch, cfg)
        phi_leaf = {n: t.requires_grad_(True) for n, t in phi.items()}
        with torch.enable_grad():
            outer = loss.total(model.forward(phi_leaf, x_out), y_out)  # Σ_i: its gradient is each task's own
            v = dict(zip(phi_leaf, torch.autograd.grad(outer, list(phi_leaf.values()))))
        g, _ = implicit_gradient(model, loss, phi, batch.x_support, batch.y_support, v, cfg.imaml_lambda,
                                 cfg.cg_steps)
        grads = {n: g[n].mean(dim=0) for n in theta0}
        pre_loss, pre_acc = query_metrics(model, family, theta0, batch)
        post_loss, post_acc = query_metrics(model, family, phi, batch)
        meta_loss = outer.detach() / batch.n_tasks
        return MetaStep(grads, meta_loss, pre_loss, post_loss, pre_acc, post_acc)
