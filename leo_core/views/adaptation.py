"""One regression task's adaptation from several starting points, prepared for plotting.

The Adaptation page picks a task (sampled, set by its parameters, or typed as points), adapts it
from each available start (the meta-learned θ₀, the jointly pretrained baseline, a random
initialization) and draws the fit after every step. Everything here is plain torch: the page
turns the results into figures with ``figures.adaptation``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..algorithms import MetaAlgorithm, get_algorithm
from ..i18n import _
from ..landscape import principal_axes
from ..models import Model, Params
from ..tasks import RegressionFamily, TaskFamily
from ..trajectory import adaptation_trajectory

__all__ = [
    "Start", "RegressionTask", "FitPath", "PlottedFit", "plotted_fit", "sample_task", "task_from_params", "parse_points", "typed_task",
    "fit_path", "pca_path_2d", "least_squares_line", "random_start",
    "GRID_POINTS", "MAX_TYPED_POINTS", "fingerprint",
]

GRID_POINTS = 200  # where the fitted curves are drawn
MAX_TYPED_POINTS = 200


@dataclass(frozen=True)
class Start:
    """Where a task's adaptation begins: an algorithm and all its meta-parameters."""

    key: str  # "meta", "pretrained", "random"
    label: str  # legend text
    algorithm: MetaAlgorithm
    meta_params: Params
    alpha: float | None = None  # its own inner step (a baseline's recommended α); None: the page's α

    def step(self, alpha: float) -> float:
        """The inner step this start adapts with when the page's step is ``alpha``."""
        return alpha if self.alpha is None else self.alpha


@dataclass(frozen=True)
class RegressionTask:
    """One task: support and query points (``[N, 1]``), and the true function on a grid if known."""

    x_support: Tensor
    y_support: Tensor
    x_query: Tensor  # [0, 1] when the task was typed by hand (no query set)
    y_query: Tensor
    x_grid: Tensor  # [G, 1]
    y_true: Tensor | None  # [G, 1]; None for typed points
    description: str

    @property
    def has_query(self) -> bool:
        return self.x_query.shape[0] > 0


@dataclass(frozen=True)
class FitPath:
    """One start's adaptation on one task: predictions on the grid and losses after each step."""

    key: str
    label: str
    predictions: list[list[float]]  # [steps + 1][G]
    support_loss: list[float]
    query_loss: list[float]  # NaN where the task has no query set
    flat: Tensor  # [steps + 1, P]: the path in parameter space


@dataclass(frozen=True)
class PlottedFit:
    """A ``FitPath`` as plain lists for the figures, with its path in two dimensions: exact for a
    two-parameter model, else in the path's own top-2 principal directions (``explained``)."""

    key: str
    label: str
    predictions: list[list[float]]
    support_loss: list[float]
    query_loss: list[float]
    coords: list[list[float]]  # [steps + 1][2]
    explained: list[float] | None  # fraction of the path's variance per direction; None when exact


def plotted_fit(fp: FitPath) -> PlottedFit:
    coords, explained = pca_path_2d(fp.flat) if fp.flat.shape[1] != 2 else (fp.flat.tolist(), None)
    return PlottedFit(fp.key, fp.label, fp.predictions, fp.support_loss, fp.query_loss, coords, explained)


def _regression(family: TaskFamily) -> RegressionFamily:
    if family.is_classification or not isinstance(family, RegressionFamily):
        raise ValueError(f"{family.name!r} is a classification family; this view draws regression tasks")
    return family


def _grid(lo: float, hi: float, dtype: torch.dtype) -> Tensor:
    return torch.linspace(lo, hi, GRID_POINTS, dtype=dtype).reshape(-1, 1)


def task_from_params(family: TaskFamily, values: dict[str, float], shots: int, query: int, seed: int,
                     dtype: torch.dtype = torch.float32) -> RegressionTask:
    """A task with the given parameters (e.g. amplitude and phase), points drawn with ``seed``."""
    fam = _regression(family)
    missing = set(fam.param_ranges) - set(values)
    if missing:
        raise ValueError(f"missing task parameters: {', '.join(sorted(missing))}")
    params = {k: torch.tensor([float(v)], dtype=dtype) for k, v in values.items()}
    batch = fam.make_batch(params, shots, query, torch.Generator().manual_seed(seed))
    grid = _grid(*fam.x_range, dtype)
    y_true = fam.target(params, grid.unsqueeze(0))[0]
    text = ", ".join(f"{_(k)} = {float(v):.2f}" for k, v in values.items())  # names: page_settings.TASK_PARAM_NAMES
    return RegressionTask(batch.x_support[0], batch.y_support[0], batch.x_query[0], batch.y_query[0], grid, y_true,
                          text)


def sample_task(family: TaskFamily, shots: int, query: int, seed: int,
                dtype: torch.dtype = torch.float32) -> tuple[RegressionTask, dict[str, float]]:
    """A task drawn from the family with ``seed``; also returns its parameters."""
    fam = _regression(family)
    params = fam.sample_params(1, torch.Generator().manual_seed(seed), "cpu", dtype)
    values = {k: float(v[0]) for k, v in params.items()}
    return task_from_params(fam, values, shots, query, seed + 1, dtype), values


def parse_points(text: str) -> tuple[list[float], list[float]]:
    """``x, y`` pairs, one per line (or separated by ``;``). Raises ``ValueError`` naming the bad line."""
    xs, ys = [], []
    items = [s.strip() for line in text.splitlines() for s in line.split(";")]
    for n, item in enumerate((s for s in items if s and not s.startswith("#")), start=1):
        parts = [p for p in item.replace("\t", " ").replace(",", " ").split() if p]
        if len(parts) != 2:
            raise ValueError(_("point {n} ({item}): write it as 'x, y' — two numbers").format(n=n, item=repr(item)))
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(_("point {n} ({item}): {x} or {y} is not a number").format(
                n=n, item=repr(item), x=repr(parts[0]), y=repr(parts[1]))) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(_("point {n} ({item}): values must be finite").format(n=n, item=repr(item)))
        xs.append(x)
        ys.append(y)
    if not xs:
        raise ValueError(_("no points: type at least one 'x, y' pair"))
    if len(xs) > MAX_TYPED_POINTS:
        raise ValueError(_("at most {limit} points, got {n}").format(limit=MAX_TYPED_POINTS, n=len(xs)))
    return xs, ys


def typed_task(family: TaskFamily, text: str, dtype: torch.dtype = torch.float32) -> RegressionTask:
    """A task from typed support points (no true function, no query set)."""
    fam = _regression(family)
    xs, ys = parse_points(text)
    lo, hi = min(fam.x_range[0], *xs), max(fam.x_range[1], *xs)
    empty = torch.zeros(0, 1, dtype=dtype)
    return RegressionTask(torch.tensor(xs, dtype=dtype).reshape(-1, 1), torch.tensor(ys, dtype=dtype).reshape(-1, 1),
                          empty, empty, _grid(lo, hi, dtype), None, _("{n} typed points").format(n=len(xs)))


def fit_path(model: Model, family: TaskFamily, start: Start, task: RegressionTask, alpha: float,
             steps: int) -> FitPath:
    """Adapt ``task`` from ``start`` for ``steps`` steps; the fit on the grid after each."""
    meta = {k: v.to(task.x_support.dtype) for k, v in start.meta_params.items()}
    xq, yq = (task.x_query, task.y_query) if task.has_query else (task.x_support, task.y_support)
    traj = adaptation_trajectory(model, family, start.algorithm, meta, task.x_support, task.y_support, xq, yq,
                                 start.step(alpha), steps)
    with torch.no_grad():
        preds = [model.forward(p, task.x_grid).reshape(-1).tolist() for p in traj.params]
    query = traj.query_loss if task.has_query else [float("nan")] * len(traj.query_loss)
    return FitPath(start.key, start.label, preds, traj.support_loss, query, traj.flat())


def pca_path_2d(flat: Tensor) -> tuple[list[list[float]], list[float]]:
    """A path ``[n, P]`` in its own top-2 principal directions, starting at the origin.

    Returns the ``[n][2]`` coordinates and the fraction of the path's variance (around its start)
    each direction explains.
    """
    disp = (flat - flat[0]).double()
    if disp.abs().max() == 0:
        return [[0.0, 0.0] for _row in range(flat.shape[0])], [0.0, 0.0]
    vh, fraction = principal_axes(disp)
    basis = vh[:2].T  # [P, ≤2]
    coords = disp @ basis
    if coords.shape[1] < 2:
        coords = torch.cat([coords, torch.zeros_like(coords)], dim=1)
    explained = fraction.tolist() + [0.0]
    return coords.tolist(), explained[:2]


def least_squares_line(x: Tensor, y: Tensor) -> tuple[float, float]:
    """The (intercept, slope) minimising the MSE of a line through points ``x, y`` (closed form)."""
    a = torch.cat([torch.ones_like(x.reshape(-1, 1)), x.reshape(-1, 1)], dim=1).double()
    sol = torch.linalg.lstsq(a, y.reshape(-1, 1).double()).solution.reshape(-1)
    return float(sol[0]), float(sol[1])


def random_start(model: Model, seed: int, alpha: float | None = None) -> Start:
    """The model's own random initialization with ``seed`` (what a run starts from); ``alpha``: its own
    inner step (shown in the label), else the page's."""
    algo = get_algorithm("random")
    theta = model.init(torch.Generator().manual_seed(seed))
    label = _("random init") if alpha is None else _("random init (α {alpha})").format(alpha=f"{alpha:g}")
    return Start("random", label, algo, theta, alpha)


def fingerprint(params: Params) -> str:
    """A short hash of tensor values: a cache key for anything computed from them."""
    h = hashlib.sha1()
    for name, v in sorted(params.items()):
        h.update(name.encode())
        h.update(str(v.dtype).encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
