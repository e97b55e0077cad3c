"""Baselines a lecture compares meta-learning against: a pretrained model and a random start.

Both plug into the trainer unchanged: ``meta_step`` returns a gradient that the configured outer
optimizer applies to the meta-parameters, and at test time both adapt through ``adapt_path``
with α for the evaluation's number of steps, so the comparison isolates what meta-learning adds.

``pretrained`` is two baselines, by family:

* Classification: the "Baseline" of Chen, Liu, Kira, Wang and Huang 2019 (*A Closer Look at
  Few-shot Classification*, ICLR). Pretraining is plain supervised learning of one classifier over
  *all* meta-training classes with global labels (``family.global_labels``: 28 classes for
  digits), so the body learns features that separate classes. At meta-test the classifier's head
  is thrown away, a new N-way linear head is put on the frozen body, and only that head is
  fine-tuned on the task's support set. (Training jointly on the per-task labels instead, which
  are permuted per task, can only learn a uniform guess: 0.21 accuracy on 5-way digits.)
* Regression: no finite set of classes and no labels to permute, so it stays the joint-training
  transfer baseline of Finn et al. 2017, §5.1: θ₀ minimises the average loss over all tasks, and
  every parameter is fine-tuned at test time.

Deviations from Chen et al. 2019:

* The pretraining minibatch is a meta-batch's examples (support and query of every task, mapped
  to global labels), not a uniform draw over the base set: classes appear as often as tasks
  sample them. The objective (cross-entropy over all meta-training classes) is theirs.
* The new head starts at zero (theirs: PyTorch's random default). Zero makes the start the same
  for every task and unbiased between classes (loss exactly log N before the first step).
* The head is fine-tuned with full-batch plain SGD with α for the evaluation's steps, like every
  other algorithm here (theirs: SGD with momentum 0.9, weight decay, 100 minibatch iterations).
* ``points2d`` has no finite class set: a blob's global class is the cell of its centre on a grid
  over the centre range (``Points2DFamily.pretrain_grid``), a class structure that holds in every
  task.
* Baseline++ (cosine-similarity head) is not implemented.

Meta-parameters of the classification baseline: the model's body, the N-way head (kept at zero,
never trained: it only fixes the model's output size) and the pretraining head
``pretrain_head.w [h, C]`` and ``pretrain_head.b [C]`` over the C global classes. Checkpoints of
the earlier joint-training classification baseline (meta-parameters without ``pretrain_head.*``)
still load and evaluate as before: from their θ₀, adapting every parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
import torch
from torch import Tensor

from ..i18n import N_
from ..config import TrainConfig
from ..losses import LOSSES
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily, get_family
from .base import MetaAlgorithm, MetaStep, meta_gradient, query_metrics

__all__ = ["Pretrained", "RandomInit", "PRETRAIN_HEAD", "head_names", "uses_pretrain_head"]

PRETRAIN_HEAD = "pretrain_head."  # prefix of the pretraining classifier's weights in the meta-parameters
_HEAD_SEED_OFFSET = 7919  # the pretraining head's init draws from seed + this, apart from the body's draw


def head_names(params: Params) -> tuple[str, str]:
    """The names of an MLP's last layer (``w{L-1}``, ``b{L-1}``): the classifier head."""
    layers = [int(n[1:]) for n in params if n.startswith("w") and n[1:].isdigit()]
    if not layers:
        raise ValueError("the pretrained classification baseline needs an MLP (parameters w0, b0, …)")
    last = max(layers)
    return f"w{last}", f"b{last}"


def uses_pretrain_head(meta_params: Params) -> bool:
    """True for Chen et al.'s baseline; False for joint training (regression, older checkpoints)."""
    return PRETRAIN_HEAD + "w" in meta_params


def _adapted_metrics(
    algorithm: MetaAlgorithm, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch,
    cfg: TrainConfig,
) -> tuple[Tensor, Tensor | None]:
    """Query metrics after k adaptation steps (for the live curves only; no meta-gradient)."""
    *_, theta_k = algorithm.adapt_path(model, family, meta_params, batch.x_support, batch.y_support, cfg.alpha, cfg.k)
    return query_metrics(model, family, theta_k, batch)


@dataclass(frozen=True)
class Pretrained(MetaAlgorithm):
    key: str = "pretrained"
    title: str = N_("Baseline: pretrained model, then fine-tuned (Chen et al. 2019 for classification)")
    citation: str = (N_("Classification: the Baseline of Chen et al. 2019 (A Closer Look at Few-shot Classification). "
                     "Regression: the transfer-learning baseline of Finn et al. 2017, section 5.1."))
    summary: str = (
        N_("Classification: one classifier is trained over all meta-training classes with their global labels, "
        "then for a new task its head is replaced by a new N-way head starting at zero, and only that head is "
        "fine-tuned on the support set with alpha while the body stays frozen. Regression: theta0 minimises the "
        "plain average loss over the support and query sets of every task, and all of it is fine-tuned with "
        "alpha. On sinusoids that learns roughly the average curve, close to zero, from which a few steps "
        "cannot recover amplitude and phase.")
    )

    # -- meta-parameters ---------------------------------------------------------------------------

    def init_meta_params(self, theta0: Params, cfg: TrainConfig) -> Params:
        family = get_family(cfg.family).configure(cfg)
        if not family.is_classification:
            return dict(theta0)
        w, b = head_names(theta0)
        fan_in = theta0[w].shape[0]
        classes = family.pretrain_classes()
        # nn.Linear's default init for the pretraining head, drawn on the CPU from its own seed.
        gen = torch.Generator().manual_seed(cfg.seed + _HEAD_SEED_OFFSET)
        bound = 1.0 / math.sqrt(fan_in)
        dtype, device = theta0[w].dtype, theta0[w].device
        head_w = (torch.rand(fan_in, classes, generator=gen, dtype=dtype) * 2 - 1) * bound
        head_b = (torch.rand(classes, generator=gen, dtype=dtype) * 2 - 1) * bound
        meta = {n: v for n, v in theta0.items() if n not in (w, b)}
        meta[w], meta[b] = torch.zeros_like(theta0[w]), torch.zeros_like(theta0[b])
        meta[PRETRAIN_HEAD + "w"], meta[PRETRAIN_HEAD + "b"] = head_w.to(device), head_b.to(device)
        return meta

    def initialization(self, meta_params: Params) -> Params:
        """The pretrained body with a fresh N-way head at zero (classification), or θ₀ itself."""
        if not uses_pretrain_head(meta_params):
            return meta_params
        model_params = {n: v for n, v in meta_params.items() if not n.startswith(PRETRAIN_HEAD)}
        w, b = head_names(model_params)
        model_params[w], model_params[b] = torch.zeros_like(model_params[w]), torch.zeros_like(model_params[b])
        return model_params

    def step_size(self, meta_params: Params, alpha: float) -> float | Params:
        """α for the head and 0 for the body (frozen), or α everywhere for joint training."""
        if not uses_pretrain_head(meta_params):
            return alpha
        names = [n for n in meta_params if not n.startswith(PRETRAIN_HEAD)]
        head = set(head_names(meta_params))
        return {n: alpha if n in head else 0.0 for n in names}

    def pretrain_params(self, meta_params: Params) -> Params:
        """The body with the pretraining head: the classifier over all global classes."""
        model_params = {n: v for n, v in meta_params.items() if not n.startswith(PRETRAIN_HEAD)}
        w, b = head_names(model_params)
        model_params[w], model_params[b] = meta_params[PRETRAIN_HEAD + "w"], meta_params[PRETRAIN_HEAD + "b"]
        return model_params

    # -- training ----------------------------------------------------------------------------------

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        x = torch.cat([batch.x_support, batch.x_query], dim=1)
        if uses_pretrain_head(meta_params):
            # Chen et al.'s pretraining: cross-entropy over all meta-training classes, global labels.
            y = torch.cat(family.global_labels(batch), dim=1)
            objective = LOSSES["cross_entropy"].mean(model.forward(self.pretrain_params(meta_params), x), y)
        else:
            y = torch.cat([batch.y_support, batch.y_query], dim=1)
            # θ₀ shared by all tasks: one batched forward of the plain average loss.
            objective = LOSSES[family.loss].mean(model.forward(meta_params, x), y)
        grads = meta_gradient(objective, meta_params)  # zeros for the unused N-way head
        pre_loss, pre_acc = query_metrics(model, family, self.initialization(meta_params), batch)
        post_loss, post_acc = _adapted_metrics(self, model, family, meta_params, batch, cfg)
        return MetaStep(grads, objective.detach(), pre_loss, post_loss, pre_acc, post_acc)


@dataclass(frozen=True)
class RandomInit(MetaAlgorithm):
    key: str = "random"
    title: str = N_("Baseline: random initialization (no meta-training)")
    citation: str = N_("The model's default initialization (PyTorch nn.Linear).")
    summary: str = (
        N_("No meta-training at all: each new task is fine-tuned with alpha for k steps from the model's random "
        "initial weights. Training runs are allowed (so every algorithm shares one interface) but the "
        "meta-gradient is zero, so theta0 never moves. It is the floor every meta-learned initialization "
        "must beat.")
    )

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        # A zero gradient leaves θ₀ exactly where it is under SGD and Adam alike (Adam's update is
        # m/(√v + ε) with m = v = 0), so the trainer, checkpoints and resume need no special case.
        theta0 = self.initialization(meta_params)
        grads = {n: torch.zeros_like(v) for n, v in meta_params.items()}
        pre_loss, pre_acc = query_metrics(model, family, theta0, batch)
        post_loss, post_acc = _adapted_metrics(self, model, family, meta_params, batch, cfg)
        return MetaStep(grads, pre_loss, pre_loss, post_loss, pre_acc, post_acc)
