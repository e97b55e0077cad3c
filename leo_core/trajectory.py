"""The adaptation trajectory of one task: parameters and losses after each inner step."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .algorithms import MetaAlgorithm
from .losses import LOSSES
from .models import Model, Params, flatten
from .tasks import TaskFamily

__all__ = ["Trajectory", "adaptation_trajectory"]


@dataclass(frozen=True)
class Trajectory:
    params: list[Params]  # θ after 0, 1, …, steps inner steps
    support_loss: list[float]
    query_loss: list[float]

    @property
    def steps(self) -> int:
        return len(self.params) - 1

    def flat(self) -> Tensor:
        """The path as a ``[steps + 1, n_params]`` matrix (for PCA projections)."""
        return torch.stack([flatten(p) for p in self.params])


def adaptation_trajectory(
    model: Model, family: TaskFamily, algorithm: MetaAlgorithm, meta_params: Params,
    x_support: Tensor, y_support: Tensor, x_query: Tensor, y_query: Tensor, alpha: float, steps: int,
) -> Trajectory:
    """Adapt on one task's support set (``x [N, d]``, unbatched) for ``steps`` steps."""
    loss = LOSSES[family.loss]
    params, support, query = [], [], []
    for p in algorithm.adapt_path(model, family, meta_params, x_support, y_support, alpha, steps):
        with torch.no_grad():
            support.append(loss.per_task(model.forward(p, x_support), y_support).item())
            query.append(loss.per_task(model.forward(p, x_query), y_query).item())
        params.append({k: v.cpu() for k, v in p.items()})
    return Trajectory(params, support, query)
