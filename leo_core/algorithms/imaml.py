"""iMAML (Rajeswaran, Finn, Kakade, Levine 2019): the meta-gradient by implicit differentiation.

Inner problem per task: φ_i = argmin_φ  G_i(φ) = L_support,i(φ) + (λ/2)‖φ − θ₀‖². At a minimiser,
dφ/dθ₀ = (I + H_i/λ)^{-1} with H_i = ∇²L_support,i(φ_i), so

    ∇_θ₀ L_query,i(φ_i) = (I + H_i/λ)^{-1} ∇L_query,i(φ_i),

solved for all tasks at once by conjugate gradients (at most ``cfg.cg_steps`` iterations, each one
Hessian-vector product of the support loss at φ; a task stops once its residual is below
``_CG_TOL`` of ‖∇L_query‖). The meta-gradient is the mean over tasks. No graph is kept through the
inner solve, so memory does not grow with its length.

The inner solver (``proximal_path``) is gradient descent on G with a per-task step that is safe by
construction: it starts at 1/(ρ_i + λ), where ρ_i estimates the largest Hessian eigenvalue (in
magnitude) of the task's support loss at θ₀ by ``_POWER_ITERS`` power iterations of Hessian-vector
products, and a step is accepted only if it satisfies the Armijo condition
G(φ − t∇G) ≤ G(φ) − (t/2)‖∇G‖²; otherwise that task stays put and halves its step. After an
accepted step the next one tries ``_GROW`` times the step (at most 1/λ): the top curvature is a
worst case, and along the path the curvature is usually far smaller, so a step fixed at 1/(ρ + λ)
would crawl. G never increases, whatever the curvature. A task stops once its stationarity residual
‖∇G(φ)‖ / ‖∇G(θ₀)‖ (relative to its start, where ∇G(θ₀) = ∇L_support(θ₀)) is at most
``cfg.imaml_tol``, or after ``cfg.imaml_max_steps`` steps (rejected steps count). The mean
residual of the meta-batch is reported as ``MetaStep.inner_residual``. No momentum: G is not convex
for a network (λ may be below the most negative curvature), and descent with this line search is
monotone and simple to check.

Deviations from the paper: the paper solves the inner problem by a few steps of gradient descent
or Nesterov's method with a hand-set step; here the step comes from the power iteration and the
line search, and the solve stops on the residual. ``cfg.k`` and ``cfg.first_order`` are not used.
At meta-test time ``adapt_path`` yields the iterates of the same proximal solve (λ, tolerance, safe
step; α is not used), so "after j steps" means j steps of the solve that training differentiates
through; ``cfg.imaml_adapt = "sgd"`` gives plain SGD with α from θ₀ instead, like the other
algorithms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import torch
from torch import Tensor

from ..i18n import N_, Message
from .. import inner
from ..config import TrainConfig
from ..losses import LOSSES, Loss
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily
from .base import MetaAlgorithm, MetaStep, outer_data, query_metrics

__all__ = ["IMAML", "ProximalSolve", "proximal_path", "proximal_solve", "proximal_objective", "implicit_gradient",
           "top_curvature"]

_POWER_ITERS = 8  # power iterations for the top curvature at θ₀ (one Hessian-vector product each)
_CG_TOL = 1e-6  # conjugate gradients stop per task at ‖r‖ ≤ _CG_TOL·‖v‖
_MAX_HALVINGS = 40  # a task whose step was halved this often in a row stops (its gradient is at roundoff level)
_GROW = 2.0  # after an accepted step the next one tries a step this much larger (capped at 1/λ)


def _dot(a: Params, b: Params) -> Tensor:
    """Per-task inner product of two stacked parameter sets: ``[T]``."""
    return sum((a[n] * b[n]).flatten(1).sum(dim=1) for n in a)


def _norm(a: Params) -> Tensor:
    return _dot(a, a).sqrt()


def _per_task(s: Tensor, like: Tensor) -> Tensor:
    """A per-task scalar ``[T]`` shaped to broadcast against a stacked parameter ``[T, ...]``."""
    return s.reshape(-1, *[1] * (like.dim() - 1))


def _axpy(a: Tensor, x: Params, y: Params) -> Params:
    """y + a·x with a per-task scalar ``a [T]``."""
    return {n: y[n] + _per_task(a, x[n]) * x[n] for n in x}


def _where(mask: Tensor, a: Params, b: Params) -> Params:
    return {n: torch.where(_per_task(mask, a[n]), a[n], b[n]) for n in a}


def proximal_objective(
    model: Model, loss: Loss, phi: Params, anchor: Params, x: Tensor, y: Tensor, lam: float,
) -> tuple[Tensor, Params]:
    """G_i(φ_i) = L_support,i(φ_i) + (λ/2)‖φ_i − θ₀‖² per task ``[T]`` and its gradient (detached)."""
    phi = {n: v.detach().requires_grad_(True) for n, v in phi.items()}
    with torch.enable_grad():
        diff = {n: phi[n] - anchor[n] for n in phi}
        g_val = loss.per_task(model.forward(phi, x), y) + 0.5 * lam * _dot(diff, diff)
        grads = torch.autograd.grad(g_val.sum(), list(phi.values()))
    return g_val.detach(), dict(zip(phi, grads))


def _hvp_operator(model: Model, loss: Loss, phi: Params, x: Tensor, y: Tensor):
    """A function p ↦ H_i p_i for every task, H_i = ∇²L_support,i(φ_i) (double backward)."""
    phi = {n: t.detach().requires_grad_(True) for n, t in phi.items()}
    with torch.enable_grad():
        total = loss.total(model.forward(phi, x), y)
        # create_graph=True: the support gradient must be differentiable once more for H·p.
        grad = torch.autograd.grad(total, list(phi.values()), create_graph=True)

    def apply(p: Params) -> Params:
        hp = torch.autograd.grad(grad, list(phi.values()), grad_outputs=[p[n] for n in phi], retain_graph=True)
        return dict(zip(phi, hp))

    return apply


def top_curvature(
    model: Model, loss: Loss, phi: Params, x: Tensor, y: Tensor, start: Params, iters: int = _POWER_ITERS,
) -> Tensor:
    """|Rayleigh quotient| after ``iters`` power iterations from ``start``: an estimate (from below) of
    each task's largest-magnitude Hessian eigenvalue of the support loss at φ, ``[T]``."""
    hvp = _hvp_operator(model, loss, phi, x, y)
    norm = _norm(start)
    fallback = {n: torch.ones_like(v) for n, v in start.items()}  # a task with a zero gradient
    v = _where(norm > 0, start, fallback)
    v = _axpy(1 / _norm(v) - 1, v, v)
    rho = torch.zeros_like(norm)
    for _ in range(iters):
        hv = hvp(v)
        rho = _dot(v, hv)
        hv_norm = _norm(hv)
        v = _where(hv_norm > 0, _axpy(1 / hv_norm.clamp_min(torch.finfo(hv_norm.dtype).tiny) - 1, hv, hv), v)
    return rho.abs().detach()


def proximal_path(
    model: Model, loss: Loss, theta0: Params, x: Tensor, y: Tensor, lam: float, tol: float,
) -> Iterator[tuple[Params, Tensor]]:
    """The iterates (φ, residual) of the safe gradient-descent solve of the proximal problem, from φ = θ₀.

    ``theta0`` is stacked ``[T, ...]``; φ is detached; residual ``[T]`` is ‖∇G(φ)‖/‖∇G(θ₀)‖ (1 at the
    start). Endless: the caller decides how many steps to take. A task whose residual is at most
    ``tol`` no longer moves, so its result does not depend on the other tasks in the batch.
    """
    anchor = {n: v.detach() for n, v in theta0.items()}
    phi = dict(anchor)
    g_val, grad = proximal_objective(model, loss, phi, anchor, x, y, lam)
    start_norm = _norm(grad)
    scale = start_norm.clamp_min(torch.finfo(start_norm.dtype).tiny)
    step = 1.0 / (top_curvature(model, loss, anchor, x, y, grad) + lam)
    halvings = torch.zeros_like(step)
    residual = torch.where(start_norm > 0, torch.ones_like(start_norm), torch.zeros_like(start_norm))
    yield phi, residual
    while True:
        sq = _dot(grad, grad)
        trial = _axpy(-step, grad, phi)
        t_val, t_grad = proximal_objective(model, loss, trial, anchor, x, y, lam)
        active = (residual > tol) & (halvings < _MAX_HALVINGS)
        # Armijo with c = 1/2: holds for any step ≤ 1/(largest curvature of G on the segment).
        ok = active & torch.isfinite(t_val) & (t_val <= g_val - 0.5 * step * sq)
        phi = _where(ok, trial, phi)
        grad = _where(ok, t_grad, grad)
        g_val = torch.where(ok, t_val, g_val)
        rejected = active & ~ok
        # An accepted step lets the next try a larger one (up to 1/λ); a rejected one halves it.
        step = torch.where(rejected, step / 2, torch.where(ok, (step * _GROW).clamp_max(1.0 / lam), step))
        halvings = torch.where(ok, torch.zeros_like(halvings), halvings + rejected.to(halvings.dtype))
        residual = _norm(grad) / scale
        yield phi, residual


@dataclass(frozen=True)
class ProximalSolve:
    phi: Params  # the approximate proximal solutions, detached ``[T, ...]``
    residual: Tensor  # ‖∇G(φ)‖/‖∇G(θ₀)‖ per task ``[T]``
    steps: int  # gradient steps taken (rejected ones included)


def proximal_solve(
    model: Model, loss: Loss, theta0: Params, x: Tensor, y: Tensor, lam: float, tol: float, max_steps: int,
) -> ProximalSolve:
    """Run ``proximal_path`` until every task's residual is at most ``tol`` or ``max_steps`` steps."""
    for steps, (phi, residual) in enumerate(proximal_path(model, loss, theta0, x, y, lam, tol)):
        if steps >= max_steps or bool((residual <= tol).all()):
            return ProximalSolve(phi, residual, steps)
    raise AssertionError("unreachable")  # proximal_path is endless


def implicit_gradient(
    model: Model, loss: Loss, phi: Params, x_support: Tensor, y_support: Tensor, v: Params, lam: float,
    cg_steps: int, tol: float = 0.0,
) -> tuple[Params, Tensor]:
    """Solve (I + H_i/λ) g_i = v_i for every task by conjugate gradients; H_i = ∇²L_support,i(φ_i).

    At most ``cg_steps`` iterations; a task stops once ‖r_i‖ ≤ ``tol``·‖v_i‖ and the loop ends when
    all have. Returns the stacked solution ``g`` and each task's final residual norm ``[T]``.
    """
    hvp = _hvp_operator(model, loss, phi, x_support, y_support)
    x = {n: torch.zeros_like(t) for n, t in v.items()}
    r = {n: t.detach().clone() for n, t in v.items()}
    p = dict(r)
    rs = _dot(r, r)
    stop = (tol * _norm(r)) ** 2
    for _ in range(cg_steps):
        if bool((rs <= stop).all()):
            break
        ap = _axpy(torch.full_like(rs, 1 / lam), hvp(p), p)
        pap = _dot(p, ap)
        # A task already solved or a direction of non-positive curvature stops moving.
        ok = (pap > 0) & (rs > stop)
        step = torch.where(ok, rs / torch.where(ok, pap, torch.ones_like(pap)), torch.zeros_like(pap))
        x = _axpy(step, p, x)
        r = _axpy(-step, ap, r)
        rs_new = _dot(r, r)
        beta = torch.where(ok, rs_new / torch.where(ok, rs, torch.ones_like(rs)), torch.zeros_like(rs))
        p = _where(ok, _axpy(beta, p, r), p)
        rs = torch.where(ok, rs_new, rs)
    return x, rs.sqrt()


@dataclass(frozen=True)
class IMAML(MetaAlgorithm):
    key: str = "imaml"
    title: str = N_("iMAML (implicit meta-gradient)")
    citation: str = N_("Rajeswaran, Finn, Kakade, Levine. Meta-Learning with Implicit Gradients. NeurIPS 2019.")
    summary: str = (
        N_("Each task solves a regularised inner problem, phi = argmin L_support(phi) + (lambda/2) ||phi - theta0||^2, "
        "here by gradient descent with a step safe for the task's curvature, until the gradient is small. At the "
        "solution, implicit differentiation gives the meta-gradient (I + H/lambda)^(-1) grad L_query(phi), with H "
        "the support-loss Hessian at phi; it is computed by a few conjugate-gradient steps using only "
        "Hessian-vector products. Memory does not grow with the number of inner steps, because no graph is kept "
        "through them.")
    )
    uses_inner_steps: bool = False  # the proximal solve runs to imaml_tol; α and k play no part in meta_step
    # Meta-test settings, taken from the run's TrainConfig by ``configure`` (defaults: TrainConfig's).
    lam: float = TrainConfig.imaml_lambda
    tol: float = TrainConfig.imaml_tol
    adapt: str = TrainConfig.imaml_adapt

    def divergence_hint(self, cfg: TrainConfig) -> Message:
        # The inner solve's step is safe by construction; what is left is the outer step and λ.
        return Message(N_("β={beta} is likely too large for λ={lam}; try a smaller β or a larger λ"),
                       beta=f"{cfg.beta:g}", lam=f"{cfg.imaml_lambda:g}")

    def configure(self, cfg: TrainConfig) -> "IMAML":
        return replace(self, lam=cfg.imaml_lambda, tol=cfg.imaml_tol, adapt=cfg.imaml_adapt)

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        loss = LOSSES[family.loss]
        theta0 = self.initialization(meta_params)
        start = inner.expand({n: t.detach() for n, t in theta0.items()}, batch.n_tasks)
        solve = proximal_solve(model, loss, start, batch.x_support, batch.y_support, cfg.imaml_lambda,
                               cfg.imaml_tol, cfg.imaml_max_steps)
        phi = solve.phi
        x_out, y_out = outer_data(batch, cfg)
        phi_leaf = {n: t.detach().requires_grad_(True) for n, t in phi.items()}
        with torch.enable_grad():
            outer = loss.total(model.forward(phi_leaf, x_out), y_out)  # Σ_i: its gradient is each task's own
            v = dict(zip(phi_leaf, torch.autograd.grad(outer, list(phi_leaf.values()))))
        g, _ = implicit_gradient(model, loss, phi, batch.x_support, batch.y_support, v, cfg.imaml_lambda,
                                 cfg.cg_steps, _CG_TOL)
        grads = {n: g[n].mean(dim=0) for n in theta0}
        pre_loss, pre_acc = query_metrics(model, family, theta0, batch)
        post_loss, post_acc = query_metrics(model, family, phi, batch)
        meta_loss = outer.detach() / batch.n_tasks
        return MetaStep(grads, meta_loss, pre_loss, post_loss, pre_acc, post_acc,
                        inner_residual=solve.residual.mean())

    def adapt_path(
        self, model: Model, family: TaskFamily, meta_params: Params, x: Tensor, y: Tensor, alpha: float,
        steps: int,
    ) -> Iterator[Params]:
        """The proximal solve's iterates φ_0 = θ₀, φ_1, …, φ_steps (α unused); plain SGD with α when
        ``adapt`` is "sgd"."""
        if self.adapt == "sgd":
            yield from super().adapt_path(model, family, meta_params, x, y, alpha, steps)
            return
        theta0 = {n: t.detach() for n, t in self.initialization(meta_params).items()}
        single = x.dim() == 2
        if single:  # one unbatched task: solve it as a batch of one
            x, y = x.unsqueeze(0), y.unsqueeze(0)
        path = proximal_path(model, LOSSES[family.loss], inner.expand(theta0, x.shape[0]), x, y, self.lam, self.tol)
        for j, (phi, _) in enumerate(path):
            yield {n: v[0] for n, v in phi.items()} if single else phi
            if j >= steps:
                return
