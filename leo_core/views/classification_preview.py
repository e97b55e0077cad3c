"""What the app draws for few-shot classification: fixed tasks, decision regions, digit predictions.

Two kinds of picture, chosen by a registry keyed by the family's class (``PREVIEW_KINDS``):

- ``"regions"`` (2-D points): the class each point of a grid over ``family.extent`` is given by a
  model, for θ₀ and for adapted parameters; all stages and tasks in one batched forward.
- ``"images"`` (digits, Omniglot): one task's support images and the predicted label of every query
  image at each stage, with the model's probability for each class.

Results are plain lists (JSON-ready, rounded) for ``classification_figures``; the functions take
the model, family, algorithm and meta-parameters, so any page can call them — the Train page's
live preview, or an adaptation page that shows every inner step.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from ..algorithms import MetaAlgorithm
from ..i18n import _, ngettext
from ..tasks.classification import ClassificationFamily, DigitsFamily, Points2DFamily
from ..tasks.omniglot import OmniglotFamily
from ..losses import accuracy
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily

__all__ = [
    "PREVIEW_KINDS", "PREVIEW_SEED", "PREVIEW_QUERY", "GRID_RESOLUTION", "preview_kind", "fixed_tasks",
    "grid_axis", "grid_points", "region_labels", "stage_accuracy", "stage_name", "regions_preview", "images_preview",
    "classification_preview",
]

PREVIEW_SEED = 2026  # the same fixed tasks all run long (and in every session)
PREVIEW_QUERY = 3  # query examples per class on the preview tasks: few enough for large tiles
GRID_RESOLUTION = 40  # cells per side of the decision-region grid: 1.6k points, cheap to redraw live


def preview_kind(family: TaskFamily) -> str:
    """``"regions"`` or ``"images"``; a clear ``ValueError`` for a family with no picture."""
    for cls, kind in PREVIEW_KINDS.items():
        if isinstance(family, cls):
            return kind
    raise ValueError(_("no classification preview for the {family} family").format(family=repr(family.name)))


@functools.lru_cache(maxsize=8)
def fixed_tasks(family: TaskFamily, shots: int, n_tasks: int, query: int = PREVIEW_QUERY,
                seed: int = PREVIEW_SEED) -> TaskBatch:
    """``n_tasks`` tasks drawn with a fixed seed from the meta-test split (classes never trained on).

    Cached: the same (frozen) family and sizes give the very same tensors; do not modify them.
    """
    g = torch.Generator().manual_seed(seed)
    return family.sample(n_tasks, shots, query, g, "cpu", torch.float32, split="test")


def grid_axis(extent: tuple[float, float], resolution: int = GRID_RESOLUTION) -> list[float]:
    lo, hi = extent
    return [round(lo + (hi - lo) * i / (resolution - 1), 4) for i in range(resolution)]


def grid_points(extent: tuple[float, float], resolution: int = GRID_RESOLUTION) -> Tensor:
    """``[R·R, 2]`` grid points, x fastest: row ``i`` of the reshaped ``[R, R]`` is y = axis[i]."""
    axis = torch.linspace(extent[0], extent[1], resolution)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)


def _stack(path: Sequence[Params]) -> Params:
    """Stages of per-task params ``[T, …]`` as one stack ``[S·T, …]`` (stage-major)."""
    return {k: torch.cat([p[k] for p in path]) for k in path[0]}


def region_labels(model: Model, path: Sequence[Params], points: Tensor) -> Tensor:
    """Predicted class at each grid point: ``[S, T, G]`` for ``S`` stages of ``[T, …]`` params.

    One batched forward over all stages and tasks (the grid is broadcast, not copied).
    """
    stacked = _stack(path)
    n = next(iter(stacked.values())).shape[0]
    with torch.no_grad():
        logits = model.forward(stacked, points.to(next(iter(stacked.values())).dtype).expand(n, *points.shape))
    return logits.argmax(dim=-1).reshape(len(path), -1, points.shape[0])


def stage_accuracy(model: Model, path: Sequence[Params], x: Tensor, y: Tensor) -> Tensor:
    """Accuracy of each stage on each task's ``(x [T, M, D], y [T, M])``: ``[S, T]``, one forward."""
    s = len(path)
    with torch.no_grad():
        logits = model.forward(_stack(path), x.repeat(s, 1, 1))
    return accuracy(logits, y.repeat(s, 1)).reshape(s, -1)


def _path(model: Model, family: TaskFamily, algorithm: MetaAlgorithm, meta_params: Params, batch: TaskBatch,
          alpha: float, steps: int) -> list[Params]:
    return list(algorithm.adapt_path(model, family, meta_params, batch.x_support, batch.y_support, alpha, steps))


def _stages(steps: int, stages: Sequence[int] | None) -> list[int]:
    chosen = sorted(set(stages)) if stages is not None else sorted({0, steps})
    if not chosen or chosen[0] < 0 or chosen[-1] > steps:
        raise ValueError(f"stages must lie in 0…{steps}, got {list(stages or [])}")
    return chosen


def stage_name(step: int) -> str:
    return "θ₀" if step == 0 else ngettext("θ₀ + {n} step", "θ₀ + {n} steps", step).format(n=step)


def regions_preview(model: Model, family: Points2DFamily, algorithm: MetaAlgorithm, meta_params: Params,
                    batch: TaskBatch, alpha: float, steps: int, stages: Sequence[int] | None = None,
                    resolution: int = GRID_RESOLUTION) -> dict[str, Any]:
    """Decision regions after each of ``stages`` (default: 0 and ``steps``) inner steps, per task.

    Returns ``{"kind", "x", "y", "regions" [S][T][R][R], "accuracy" [S][T] (query), "stage_names",
    "steps" [S], "x_support" [T][n][2], "y_support" [T][n], "ways"}``.
    """
    chosen = _stages(steps, stages)
    path = _path(model, family, algorithm, meta_params, batch, alpha, steps)
    picked = [path[s] for s in chosen]
    points = grid_points(family.extent, resolution)
    labels = region_labels(model, picked, points).reshape(len(chosen), batch.n_tasks, resolution, resolution)
    acc = stage_accuracy(model, picked, batch.x_query, batch.y_query)
    axis = grid_axis(family.extent, resolution)
    return {
        "kind": "regions", "x": axis, "y": axis, "regions": labels.tolist(),
        "accuracy": [[round(a, 4) for a in row] for row in acc.tolist()],
        "stage_names": [stage_name(s) for s in chosen], "steps": chosen,
        "x_support": [[[round(v, 3) for v in p] for p in task] for task in batch.x_support.tolist()],
        "y_support": batch.y_support.tolist(), "ways": family.ways,
    }


def images_preview(model: Model, family: ClassificationFamily, algorithm: MetaAlgorithm, meta_params: Params,
                   batch: TaskBatch, alpha: float, steps: int, stages: Sequence[int] | None = None) -> dict[str, Any]:
    """One image task (the first of ``batch``): support images and query predictions per stage.

    Returns ``{"kind", "support" [N·K][side²], "y_support", "query" [N·Q][side²], "y_query",
    "predictions" [S][N·Q], "probabilities" [S][N·Q][N], "accuracy" [S], "stage_names", "steps", "ways",
    "shots", "side", "classes" [N] (each label's class in words, ``family.class_name``)}``.
    """
    chosen = _stages(steps, stages)
    task = batch.select(0)
    path = _path(model, family, algorithm, meta_params, task, alpha, steps)
    picked = [path[s] for s in chosen]
    with torch.no_grad():
        logits = model.forward(_stack(picked), task.x_query.repeat(len(chosen), 1, 1))
    preds = logits.argmax(dim=-1)  # [S, N·Q]
    probs = logits.softmax(dim=-1)
    acc = (preds == task.y_query).float().mean(dim=-1)

    def images(x: Tensor) -> list[list[float]]:
        return [[round(v, 2) for v in img] for img in x[0].tolist()]

    classes = task.task_params["classes"][0].tolist()
    return {
        "kind": "images", "support": images(task.x_support), "y_support": task.y_support[0].tolist(),
        "query": images(task.x_query), "y_query": task.y_query[0].tolist(), "predictions": preds.tolist(),
        "probabilities": [[[round(v, 3) for v in row] for row in stage] for stage in probs.tolist()],
        "accuracy": [round(a, 4) for a in acc.tolist()], "stage_names": [stage_name(s) for s in chosen],
        "steps": chosen, "ways": family.ways, "shots": task.x_support.shape[1] // family.ways,
        "side": family.side, "classes": [family.class_name(c) for c in classes],
    }


# family class -> picture kind; kind -> (tasks shown, compute)
PREVIEW_KINDS: dict[type, str] = {Points2DFamily: "regions", DigitsFamily: "images", OmniglotFamily: "images"}
# kind -> (tasks shown, query examples per class, compute); 2-D query points are not drawn, so
# there are more of them, for a steadier accuracy in the panel titles.
_COMPUTE: dict[str, tuple[int, int, Callable[..., dict[str, Any]]]] = {
    "regions": (3, 20, regions_preview),
    "images": (1, PREVIEW_QUERY, images_preview),
}


def classification_preview(model: Model, family: TaskFamily, algorithm: MetaAlgorithm, meta_params: Params,
                           shots: int, alpha: float, steps: int, stages: Sequence[int] | None = None
                           ) -> dict[str, Any]:
    """The family's picture of θ₀ and its adaptation on its fixed preview tasks (see the module doc)."""
    n_tasks, query, compute = _COMPUTE[preview_kind(family)]
    batch = fixed_tasks(family, shots, n_tasks, query)
    theta = {k: v.to(torch.float32) for k, v in meta_params.items()}
    return compute(model, family, algorithm, theta, batch, alpha, steps, stages)
