"""The Train page's live adaptation preview (regression families): a few fixed tasks, and θ₀'s fit on
them before and after some inner steps, taken from the app's run snapshot while the run trains.
(Classification families have ``classification_preview``.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from ..algorithms import MetaAlgorithm
from ..config import TrainConfig
from ..models import Model, Params
from ..tasks import TaskFamily

__all__ = ["PreviewTasks", "PreviewCurves", "TrainedRun", "preview_tasks", "preview_curves", "PREVIEW_SEED"]

PREVIEW_SEED = 2026  # the fixed tasks shown in the live adaptation panel


class TrainedRun(Protocol):
    """What a preview needs of a run: the app's ``RunSnapshot`` is one (``None`` before training starts)."""

    meta_params: Params | None
    model: Model | None
    config: TrainConfig | None
    algorithm: MetaAlgorithm | None
    family: TaskFamily | None


@dataclass(frozen=True)
class PreviewTasks:
    """A few fixed tasks to show adaptation on: support points and the true function on a grid."""

    x_support: torch.Tensor  # [T, S, 1]
    y_support: torch.Tensor
    x_grid: torch.Tensor  # [T, G, 1]
    y_true: torch.Tensor  # [T, G, 1]


def preview_tasks(family: TaskFamily, shots: int, n_tasks: int = 3, points: int = 120,
                  seed: int = PREVIEW_SEED, dtype: torch.dtype = torch.float32) -> PreviewTasks:
    """``n_tasks`` tasks drawn with a fixed seed, so the panel shows the same tasks all run long."""
    if family.is_classification:
        raise ValueError(f"preview_tasks draws regression tasks; {family.name!r} is a classification family "
                         "(use leo_core.views.classification_preview.classification_preview)")
    g = torch.Generator().manual_seed(seed)
    batch = family.sample(n_tasks, shots, 1, g, "cpu", dtype)
    lo, hi = family.x_range
    grid = torch.linspace(lo, hi, points, dtype=dtype).reshape(1, points, 1).expand(n_tasks, points, 1)
    y_true = family.target(batch.task_params, grid)
    return PreviewTasks(batch.x_support, batch.y_support, grid.contiguous(), y_true)


@dataclass(frozen=True)
class PreviewCurves:
    """θ₀'s fit and its adapted fit on each preview task: one list of numbers per task."""

    x: list[list[float]]  # the grid
    y_true: list[list[float]]
    x_support: list[list[float]]
    y_support: list[list[float]]
    before: list[list[float]]  # θ₀'s prediction on the grid
    after: list[list[float]]  # after ``steps`` inner steps
    steps: int


def preview_curves(snapshot: TrainedRun, tasks: PreviewTasks, steps: int) -> PreviewCurves:
    """θ₀'s prediction and its ``steps``-step adaptation on each preview task (for
    ``figures.training.adaptation_preview_figure``)."""
    if snapshot.meta_params is None or snapshot.model is None or snapshot.config is None:
        raise ValueError("no θ₀ to preview yet")
    model, cfg = snapshot.model, snapshot.config
    theta = {k: v.to(tasks.x_support.dtype) for k, v in snapshot.meta_params.items()}
    path = list(snapshot.algorithm.adapt_path(model, snapshot.family, theta, tasks.x_support, tasks.y_support,
                                              cfg.alpha, steps))
    with torch.no_grad():
        before = model.forward(path[0], tasks.x_grid)
        after = model.forward(path[-1], tasks.x_grid)

    def rows(t: torch.Tensor) -> list[list[float]]:
        # 4 decimals are plenty for a plot and halve the JSON sent to the browser.
        return [[round(v, 4) for v in row] for row in t.squeeze(-1).tolist()]

    return PreviewCurves(x=rows(tasks.x_grid), y_true=rows(tasks.y_true), x_support=rows(tasks.x_support),
                         y_support=rows(tasks.y_support), before=rows(before), after=rows(after), steps=steps)
