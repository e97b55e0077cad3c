"""What every meta-learning algorithm provides to the trainer, the evaluator and the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor

from .. import inner
from ..config import TrainConfig
from ..i18n import N_, Message
from ..losses import LOSSES, accuracy
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily

__all__ = ["MetaStep", "MetaAlgorithm", "query_metrics", "meta_gradient", "outer_data", "require_keys"]


@dataclass(frozen=True)
class MetaStep:
    """One meta-iteration's result: the meta-gradient and its scalar metrics (0-d tensors).

    Metrics stay tensors so the trainer can move them to the host in one synchronisation.
    """

    grads: Params
    meta_loss: Tensor
    pre_loss: Tensor  # mean query loss at θ₀, before adaptation
    post_loss: Tensor  # mean query loss after the k inner steps
    pre_accuracy: Tensor | None = None
    post_accuracy: Tensor | None = None
    # How far the inner problem is from solved, mean over tasks (an algorithm that solves its inner
    # problem to a tolerance reports it; iMAML: ‖∇G(φ)‖/‖∇G(θ₀)‖). None where it means nothing.
    inner_residual: Tensor | None = None


def query_metrics(
    model: Model, family: TaskFamily, params: Params, batch: TaskBatch
) -> tuple[Tensor, Tensor | None]:
    """Mean query loss (and accuracy for classification) of ``params``, without a graph."""
    with torch.no_grad():
        out = model.forward(params, batch.x_query)
        loss = LOSSES[family.loss].mean(out, batch.y_query)
        acc = accuracy(out, batch.y_query).mean() if family.is_classification else None
    return loss, acc


def meta_gradient(objective: Tensor, meta_params: Params) -> Params:
    """∇ of ``objective`` w.r.t. every meta-parameter; zeros for those it does not use (Meta-SGD's
    step sizes with k = 0, say), so the trainer always receives a complete gradient."""
    names = list(meta_params)
    grads = torch.autograd.grad(objective, [meta_params[n] for n in names], allow_unused=True)
    return {n: torch.zeros_like(meta_params[n]) if g is None else g for n, g in zip(names, grads)}


def outer_data(batch: TaskBatch, cfg: TrainConfig) -> tuple[Tensor, Tensor]:
    """The data J_i is measured on: the query set, or the support set (the document's variant)."""
    if cfg.outer_loss == "query":
        return batch.x_query, batch.y_query
    return batch.x_support, batch.y_support


def require_keys(meta_params: Params, keys: list[str], algorithm: str) -> None:
    """A clear error when an algorithm is handed θ₀ alone instead of all its meta-parameters."""
    missing = [k for k in keys if k not in meta_params]
    if missing:
        raise ValueError(
            f"{algorithm} needs all its meta-parameters (missing {', '.join(missing[:3])}"
            f"{', …' if len(missing) > 3 else ''}); pass the trainer's meta_params, not only the initialization"
        )


class MetaAlgorithm:
    """Base class: the meta-parameters are θ₀ itself and adaptation is plain SGD with α.

    Subclasses override ``meta_step`` (how the meta-gradient is formed) and, where they learn
    more than θ₀ (Meta-SGD's step sizes, say), ``init_meta_params``/``initialization``/``step_size``.
    """

    key: str = ""
    title: str = ""
    citation: str = ""
    summary: str = ""  # 2-4 plain-text sentences for the theory page
    # True: meta_step draws random numbers and takes the trainer's generator (``generator=``), so
    # a seeded run stays reproducible without the global RNG.
    stochastic: bool = False
    # False: meta_step does not read α or k (iMAML solves its inner problem to a tolerance, not in k steps of
    # α), so its update at θ₀ is the same for every α and k (the Landscape page's cosine sweep computes it once).
    uses_inner_steps: bool = True

    def configure(self, cfg: TrainConfig) -> "MetaAlgorithm":
        """This algorithm with the run's settings that adaptation needs at meta-test time (iMAML's λ,
        say); most algorithms need none and return themselves."""
        return self

    def init_meta_params(self, theta0: Params, cfg: TrainConfig) -> Params:
        return dict(theta0)

    def initialization(self, meta_params: Params) -> Params:
        """The model parameters a new task starts from."""
        return meta_params

    def divergence_hint(self, cfg: TrainConfig) -> Message:
        """What most likely made a run of this algorithm diverge, for the error message."""
        return Message(N_("α={alpha} with k={k} is likely too large"), alpha=f"{cfg.alpha:g}", k=cfg.k)

    def step_size(self, meta_params: Params, alpha: float) -> float | Params:
        return alpha

    def meta_step(
        self, model: Model, family: TaskFamily, meta_params: Params, batch: TaskBatch, cfg: TrainConfig
    ) -> MetaStep:
        raise NotImplementedError

    def adapt_path(
        self, model: Model, family: TaskFamily, meta_params: Params, x: Tensor, y: Tensor, alpha: float,
        steps: int,
    ) -> Iterator[Params]:
        """Parameters after 0, 1, …, ``steps`` adaptation steps on one or more tasks' support data."""
        start = self.initialization(meta_params)
        if x.dim() == 3:
            start = inner.expand(start, x.shape[0])
        return inner.adapt_path(
            model, LOSSES[family.loss], start, x, y, self.step_size(meta_params, alpha), steps
        )
