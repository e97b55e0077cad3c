"""Reptile (Nichol, Achiam, Schulman 2018): move θ₀ towards each task's adapted parameters.

Meta-training (the paper's Algorithm 2, batched): each task takes k plain SGD steps with step α
from θ₀ on all of its data, support ∪ query (the paper's "train on task τ"; Reptile has no outer
loss, so it has no use for a held-out set), reaching θ_k^i, with no graph through the steps. The
"meta-gradient" handed to the outer optimizer is  g = −mean_i(θ_k^i − θ₀),  so plain SGD with step
β = ε (``outer_optimizer="sgd"``) gives exactly Reptile's update  θ₀ ← θ₀ + ε·mean_i(θ_k^i − θ₀),
and ``beta_schedule="linear"`` anneals ε linearly to 0 over the run, as the paper does. At meta-test
a task adapts on its support set only, as for every algorithm.

Deviations from the paper:
- The inner steps are full-batch gradient steps with a constant α on the task's data (the paper's
  sinusoid inner loop is SGD on the 10 points too; its classification inner loop uses Adam on
  mini-batches).
- The outer optimizer defaults to the project's Adam (the paper's variant "Reptile with Adam"
  rescales the same direction per coordinate); the paper's plain SGD is ``outer_optimizer="sgd"``.
- The paper's classification runs anneal ε linearly from 1.0 to 0 (after tens of Adam inner steps);
  here ε is ``beta``, chosen per family (``leo_core/recommended.py`` says what worked).
- The metrics a record reports (post-adaptation query loss, meta_loss) come from a second, separate
  adaptation on the support set only, so they measure what meta-test measures and are not flattered
  by adapting on the query set.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..i18n import N_
from .. import inner
from ..config import TrainConfig
from ..losses import LOSSES
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily
from .base import MetaAlgorithm, MetaStep, query_metrics

__all__ = ["Reptile"]


@dataclass(frozen=True)
class Reptile(MetaAlgorithm):
    key: str = "reptile"
    title: str = N_("Reptile (first order, no outer loss)")
    citation: str = N_("Nichol, Achiam, Schulman. On First-Order Meta-Learning Algorithms. arXiv:1803.02999, 2018.")
    summary: str = (
        N_("Each task takes k plain gradient steps from theta0 on all of its training data, reaching theta_k. "
        "Instead of differentiating a query loss, Reptile moves theta0 towards the adapted weights: "
        "theta0 <- theta0 + epsilon * mean_i (theta_k^i - theta0), with epsilon annealed to 0 over training. "
        "No second derivatives and no held-out query set are needed; with k = 1 it reduces to joint training, "
        "so it needs k >= 2.")
    )

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        theta0 = {n: v.detach() for n, v in self.initialization(meta_params).items()}
        x_all = torch.cat([batch.x_support, batch.x_query], dim=1)
        y_all = torch.cat([batch.y_support, batch.y_query], dim=1)
        theta_k = self._adapt(model, family, theta0, x_all, y_all, cfg, batch.n_tasks)
        grads = {n: theta0[n] - theta_k[n].mean(dim=0) for n in theta0}  # −mean_i(θ_k^i − θ₀)
        # What meta-test sees: k steps on the support set alone, scored on the query set.
        support_only = self._adapt(model, family, theta0, batch.x_support, batch.y_support, cfg, batch.n_tasks)
        pre_loss, pre_acc = query_metrics(model, family, theta0, batch)
        post_loss, post_acc = query_metrics(model, family, support_only, batch)
        return MetaStep(grads, post_loss, pre_loss, post_loss, pre_acc, post_acc)

    @staticmethod
    def _adapt(
        model: Model, family: TaskFamily, theta0: Params, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig,
        n_tasks: int,
    ) -> Params:
        """θ_k^i for every task: k plain SGD steps on (x, y), detached (Reptile never differentiates them)."""
        start = {n: v.requires_grad_(True) for n, v in inner.expand(theta0, n_tasks).items()}
        with torch.enable_grad():
            return inner.detached(
                inner.adapt(model, LOSSES[family.loss], start, x, y, cfg.alpha, cfg.k, create_graph=False)
            )
