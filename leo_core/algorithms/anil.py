"""ANIL, Almost No Inner Loop (Raghu, Raghu, Bengio, Vinyals. Rapid Learning or Feature Reuse? Towards
Understanding the Effectiveness of MAML. ICLR 2020).

Raghu et al. found that a MAML-trained network barely changes its body (every layer but the last)
during the inner loop: the learned features are reused across tasks, and only the head (the last
layer) really adapts. ANIL makes that explicit. With θ₀ = (body φ, head w₀):

    w_{j+1}ⁱ = w_jⁱ − α ∇_w L_i(φ, w_jⁱ)   (k steps on task i's support set; φ is not touched)
    J(φ, w₀) = (1/n) Σᵢ L_i(φ, w_kⁱ)        (on the query set)

and (φ, w₀) ← (φ, w₀) − β∇J. The body is shared by all tasks and moves only in the outer loop.
∇J is second order through the head's inner steps (each w_kⁱ depends on φ through the support
features, and that dependence is differentiated), unless ``first_order`` is set, in which case the
inner gradients are constants, as in first-order MAML. Meta-test adaptation (``adapt_path``) also
updates the head alone.

Which parameters are the head is read from the model (``head_names()``): for the MLP (parameters
``w0, b0, …, w{L-1}, b{L-1}``) the head is ``w{L-1}`` and ``b{L-1}``, for the conv net its linear
classifier ``w4``, ``b4`` (the paper's setting); the two-parameter linear model f(x) = θ₀ + θ₁x has
no body, so all its parameters are the head and ANIL is exactly MAML (``leo``).

Deviations from the paper: on the small families the head is the last layer of the project's MLPs
(the paper uses 4-layer convolutional networks, as on Omniglot here); the inner
loop's step α is plain SGD with one scalar α, and the outer optimizer and all sizes are the
project's (``TrainConfig``), not the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from ..i18n import N_
from .. import inner
from ..config import TrainConfig
from ..losses import LOSSES, Loss
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily
from .base import MetaAlgorithm, MetaStep, meta_gradient, outer_data, query_metrics

__all__ = ["ANIL", "head_names", "split_head"]


def head_names(model: Model, params: Params) -> tuple[str, ...]:
    """The names of the parameters the inner loop adapts: the network's last layer (the MLP's, the conv
    net's linear head); all of a model without one (the linear model)."""
    if not hasattr(model, "head_names"):
        return tuple(params)  # no body: the whole model is the head (ANIL = MAML)
    names = model.head_names()
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"ANIL: the model's head {', '.join(missing)} is missing from the parameters "
                         f"({', '.join(params)})")
    return names


def split_head(model: Model, params: Params) -> tuple[Params, Params]:
    """(body, head): the shared parameters and the ones the inner loop adapts."""
    head = head_names(model, params)
    return ({n: v for n, v in params.items() if n not in head}, {n: params[n] for n in head})


def _head_step(
    model: Model, loss: Loss, body: Params, head: Params, x: Tensor, y: Tensor, alpha: float, create_graph: bool,
) -> Params:
    """One SGD step on the head of each task, w ← w − α∇_w L_i(body, w); the body is only read.

    The body is one parameter set shared by all tasks (no task axis); the model applies it to each
    task's inputs. Summing the task losses gives each task's own head gradient (as in ``inner``).
    """
    total = loss.total(model.forward({**body, **head}, x), y)
    names = list(head)
    grads = torch.autograd.grad(total, [head[n] for n in names], create_graph=create_graph)
    return {n: head[n] - alpha * g for n, g in zip(names, grads)}


def _merge(order: Params, body: Params, head: Params) -> Params:
    """Body and head in the model's parameter order."""
    return {n: head[n] if n in head else body[n] for n in order}


@dataclass(frozen=True)
class ANIL(MetaAlgorithm):
    key: str = "anil"
    title: str = N_("ANIL (Almost No Inner Loop: adapt only the last layer)")
    citation: str = (N_("Raghu, Raghu, Bengio, Vinyals. Rapid Learning or Feature Reuse? Towards Understanding the "
                     "Effectiveness of MAML. ICLR 2020."))
    summary: str = (
        N_("Is MAML good because the whole network learns rapidly on each new task (rapid learning), or because "
        "it learns features that every task can reuse (feature reuse)? Raghu and colleagues found feature reuse: "
        "after MAML training the hidden layers barely change in the inner loop. ANIL therefore adapts only the "
        "last layer (the head) with k steps of alpha per task, while the shared body moves only in the outer "
        "loop, down grad J. The two-parameter linear model has no body, so there ANIL equals MAML.")
    )

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        loss = LOSSES[family.loss]
        theta0 = self.initialization(meta_params)
        body, head0 = split_head(model, theta0)
        head = inner.expand(head0, batch.n_tasks)
        # First order: the inner gradients are constants, so the support side need not reach the body.
        inner_body = inner.detached(body) if cfg.first_order else body
        for _ in range(cfg.k):
            # create_graph=True keeps each head gradient differentiable in both the head and the body
            # (through the support features): the second-order meta-gradient.
            head = _head_step(model, loss, inner_body, head, batch.x_support, batch.y_support,
                              self.step_size(meta_params, cfg.alpha), create_graph=not cfg.first_order)
        x_out, y_out = outer_data(batch, cfg)
        meta_loss = loss.mean(model.forward({**body, **head}, x_out), y_out)
        grads = meta_gradient(meta_loss, meta_params)
        pre_loss, pre_acc = query_metrics(model, family, theta0, batch)
        if cfg.outer_loss == "query" and not family.is_classification:
            post_loss, post_acc = meta_loss.detach(), None  # already computed on the query set
        else:
            adapted = _merge(theta0, inner.detached(body), inner.detached(head))
            post_loss, post_acc = query_metrics(model, family, adapted, batch)
        return MetaStep(grads, meta_loss.detach(), pre_loss, post_loss, pre_acc, post_acc)

    def adapt_path(
        self, model: Model, family: TaskFamily, meta_params: Params, x: Tensor, y: Tensor, alpha: float,
        steps: int,
    ) -> Iterator[Params]:
        """As the base class, but only the head moves; the body stays θ₀'s (repeated per task when batched)."""
        start = inner.detached(self.initialization(meta_params))
        body, head = split_head(model, start)
        shown = inner.expand(body, x.shape[0]) if x.dim() == 3 else body  # what callers see: one set per task
        if x.dim() == 3:
            head = inner.expand(head, x.shape[0])
        loss = LOSSES[family.loss]
        step = self.step_size(meta_params, alpha)
        current = {n: v.detach().requires_grad_(True) for n, v in head.items()}
        yield _merge(start, shown, inner.detached(current))
        for _ in range(steps):
            with torch.enable_grad():
                new = _head_step(model, loss, body, current, x, y, step, create_graph=False)
            current = {n: v.detach().requires_grad_(True) for n, v in new.items()}
            yield _merge(start, shown, inner.detached(current))
