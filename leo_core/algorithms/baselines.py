"""Baselines a lecture compares meta-learning against: joint pretraining and a random start.

Both plug into the trainer unchanged: ``meta_step`` returns a gradient that the configured outer
optimizer applies to θ₀. At test time both adapt like every other algorithm (k plain SGD steps
with α from θ₀), so the comparison isolates what meta-learning adds to the initialization.
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

__all__ = ["Pretrained", "RandomInit"]


def _adapted_metrics(model: Model, family: TaskFamily, theta0: Params, batch: TaskBatch, cfg: TrainConfig):
    """Query metrics after k plain steps from θ₀ (for the live curves only; no meta-gradient)."""
    start = {n: v.detach().requires_grad_(True) for n, v in inner.expand(theta0, batch.n_tasks).items()}
    with torch.enable_grad():
        theta_k = inner.adapt(model, LOSSES[family.loss], start, batch.x_support, batch.y_support, cfg.alpha,
                              cfg.k, create_graph=False)
    return query_metrics(model, family, inner.detached(theta_k), batch)


@dataclass(frozen=True)
class Pretrained(MetaAlgorithm):
    key: str = "pretrained"
    title: str = "Baseline: one model pretrained jointly on all tasks"
    citation: str = "The transfer-learning baseline of Finn et al. 2017, §5.1."
    summary: str = (
        "No adaptation during training: theta0 minimises the plain average loss mean_i L_i(theta0) over the "
        "support and query sets of every task in the meta-batch. At test time it is fine-tuned with the same "
        "alpha and number of steps as the meta-learned initializations. On sinusoids it learns roughly the "
        "average curve, close to zero, from which a few steps cannot recover amplitude and phase."
    )

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        loss = LOSSES[family.loss]
        theta0 = self.initialization(meta_params)
        x = torch.cat([batch.x_support, batch.x_query], dim=1)
        y = torch.cat([batch.y_support, batch.y_query], dim=1)
        joint = loss.mean(model.forward(theta0, x), y)  # θ₀ shared by all tasks: one batched forward
        names = list(meta_params)
        grads = dict(zip(names, torch.autograd.grad(joint, [meta_params[n] for n in names])))
        pre_loss, pre_acc = query_metrics(model, family, theta0, batch)
        post_loss, post_acc = _adapted_metrics(model, family, theta0, batch, cfg)
        return MetaStep(grads, joint.detach(), pre_loss, post_loss, pre_acc, post_acc)


@dataclass(frozen=True)
class RandomInit(MetaAlgorithm):
    key: str = "random"
    title: str = "Baseline: random initialization (no meta-training)"
    citation: str = "The model's default initialization (PyTorch nn.Linear)."
    summary: str = (
        "No meta-training at all: each new task is fine-tuned with alpha for k steps from the model's random "
        "initial weights. Training runs are allowed (so every algorithm shares one interface) but the "
        "meta-gradient is zero, so theta0 never moves. It is the floor every meta-learned initialization "
        "must beat."
    )

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        # A zero gradient leaves θ₀ exactly where it is under SGD and Adam alike (Adam's update is
        # m/(√v + ε) with m = v = 0), so the trainer, checkpoints and resume need no special case.
        theta0 = self.initialization(meta_params)
        grads = {n: torch.zeros_like(v) for n, v in meta_params.items()}
        pre_loss, pre_acc = query_metrics(model, family, theta0, batch)
        post_loss, post_acc = _adapted_metrics(model, family, theta0, batch, cfg)
        return MetaStep(grads, pre_loss, pre_loss, post_loss, pre_acc, post_acc)
