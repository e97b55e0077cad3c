"""Reptile (Nichol, Achiam, Schulman 2018): move θ₀ towards each task's adapted parameters.

Each task takes k plain SGD steps from θ₀ on its support set (no graph through them). The
"meta-gradient" handed to the outer optimizer is  g = −mean_i(θ_k^i − θ₀),  so plain SGD with
step β = ε gives exactly Reptile's update  θ₀ ← θ₀ + ε·mean_i(θ_k^i − θ₀).  With Adam the same
direction is rescaled per coordinate. With k = 1, g = α∇L_support(θ₀): joint training, which is
why Reptile needs k ≥ 2 to learn anything beyond a pretrained average.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

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
    title: str = "Reptile (first order, no outer loss)"
    citation: str = "Nichol, Achiam, Schulman. On First-Order Meta-Learning Algorithms. arXiv:1803.02999, 2018."
    summary: str = (
        "Each task takes k plain gradient steps from theta0 on its own data, reaching theta_k. Instead of "
        "differentiating a query loss, Reptile moves theta0 towards the adapted weights: "
        "theta0 <- theta0 + epsilon * mean_i (theta_k^i - theta0). No second derivatives and no query set are "
        "needed; with k = 1 it reduces to joint training, so it needs k >= 2."
    )

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        loss = LOSSES[family.loss]
        theta0 = {n: v.detach() for n, v in self.initialization(meta_params).items()}
        start = {n: v.requires_grad_(True) for n, v in inner.expand(theta0, batch.n_tasks).items()}
        # No graph through the inner steps: Reptile never differentiates them.
        theta_k = inner.detached(
            inner.adapt(model, loss, start, batch.x_support, batch.y_support, cfg.alpha, cfg.k, create_graph=False)
        )
        grads = {n: theta0[n] - theta_k[n].mean(dim=0) for n in theta0}  # −mean_i(θ_k^i − θ₀)
        pre_loss, pre_acc = query_metrics(model, family, theta0, batch)
        post_loss, post_acc = query_metrics(model, family, theta_k, batch)
        return MetaStep(grads, post_loss, pre_loss, post_loss, pre_acc, post_acc)
