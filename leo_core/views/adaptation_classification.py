"""One few-shot classification task adapted step by step from several starts (no Streamlit, no plotly).

The Adaptation page's classification view: a task drawn with a seed from the meta-test split
(classes never trained on), adapted from each ``adaptation.Start`` (meta-learned θ₀, the pretrained
baseline, a random init). For every inner step it reports accuracy and cross-entropy on the
support and query sets (``step_metrics``); the pictures reuse ``classification_preview``:
decision regions after every step for 2-D points (``regions_by_step``), support images and query
predictions at a few steps for digits (``predictions_at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .adaptation import Start
from .classification_preview import GRID_RESOLUTION, images_preview, preview_kind, regions_preview
from ..losses import LOSSES, accuracy
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily

__all__ = ["TASK_QUERY", "StepMetrics", "sample_task", "step_metrics", "regions_by_step", "predictions_at",
           "shown_stages"]

# Query examples per class, by picture kind: 2-D query points are not drawn (more of them, a steadier
# accuracy); every digits query image is drawn at each shown step (few, so the tiles stay large).
TASK_QUERY: dict[str, int] = {"regions": 15, "images": 5}


@dataclass(frozen=True)
class StepMetrics:
    """One start's adaptation of one task: metrics after 0, 1, …, steps inner steps."""

    key: str
    label: str
    support_accuracy: list[float]
    query_accuracy: list[float]
    support_loss: list[float]  # cross-entropy
    query_loss: list[float]


def sample_task(family: TaskFamily, shots: int, seed: int, query: int | None = None) -> TaskBatch:
    """One N-way ``shots``-shot task from the meta-test split, drawn with ``seed`` (a batch of one)."""
    if not family.is_classification:
        raise ValueError(f"{family.name!r} is a regression family; this view draws classification tasks")
    if query is None:
        query = TASK_QUERY[preview_kind(family)]
    return family.sample(1, shots, query, torch.Generator().manual_seed(seed), "cpu", torch.float32, split="test")


def _meta(start: Start, task: TaskBatch) -> Params:
    return {k: v.detach().to("cpu", task.x_support.dtype) for k, v in start.meta_params.items()}


def step_metrics(model: Model, family: TaskFamily, start: Start, task: TaskBatch, alpha: float,
                 steps: int) -> StepMetrics:
    """Accuracy and cross-entropy on support and query after each of 0 … ``steps`` steps (task 0)."""
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    loss = LOSSES[family.loss]
    support_acc, query_acc, support_loss, query_loss = [], [], [], []
    path = start.algorithm.adapt_path(model, family, _meta(start, task), task.x_support, task.y_support,
                                      start.step(alpha), steps)
    for p in path:
        with torch.no_grad():
            for x, y, accs, losses in ((task.x_support, task.y_support, support_acc, support_loss),
                                       (task.x_query, task.y_query, query_acc, query_loss)):
                logits = model.forward(p, x)
                accs.append(round(float(accuracy(logits, y)[0]), 4))
                losses.append(float(loss.per_task(logits, y)[0]))
    return StepMetrics(start.key, start.label, support_acc, query_acc, support_loss, query_loss)


def regions_by_step(model: Model, family: TaskFamily, start: Start, task: TaskBatch, alpha: float, steps: int,
                    resolution: int = GRID_RESOLUTION) -> dict[str, Any]:
    """Decision regions after every step 0 … ``steps`` (``classification_preview.regions_preview``)."""
    data = regions_preview(model, family, start.algorithm, _meta(start, task), task, start.step(alpha), steps,
                           stages=range(steps + 1), resolution=resolution)
    return {**data, "key": start.key, "label": start.label}


def predictions_at(model: Model, family: TaskFamily, start: Start, task: TaskBatch, alpha: float, steps: int,
                   stages: list[int]) -> dict[str, Any]:
    """Support images and query predictions at ``stages`` (``classification_preview.images_preview``)."""
    data = images_preview(model, family, start.algorithm, _meta(start, task), task, start.step(alpha), steps,
                          stages=stages)
    return {**data, "key": start.key, "label": start.label}


def shown_stages(steps: int, k: int) -> list[int]:
    """The steps a lecture looks at: the start, one step, the training k, and the last."""
    return sorted({s for s in (0, 1, k, steps) if 0 <= s <= steps})
