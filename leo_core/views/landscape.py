"""What the Landscape page draws, computed from a θ₀ and a few tasks (no Streamlit, no plotly).

- ``linear_landscape``: the exact (θ₀, θ₁) plane of the two-parameter linear model — one task's
  support and query loss, the meta-objective J after k steps, the plain average loss (k = 0), the
  task optima (closed-form least squares), the pretrained optimum and the k-step paths.
- ``network_slice``: a 2-D slice through a network's θ₀ along filter-normalised random or PCA
  directions, with one task's adaptation path projected onto it and the error that projection makes.

Results are plain lists (cheap to cache and to send to a browser).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor
from torch.func import vmap

from .. import landscape as ls
from .adaptation import least_squares_line
from ..algorithms import MetaAlgorithm
from ..i18n import N_
from ..losses import LOSSES
from ..models import Model, Params, unflatten
from ..tasks import RegressionFamily, TaskBatch, TaskFamily

__all__ = ["LinearLandscape", "NetworkSlice", "linear_landscape", "network_slice", "family_optimum", "SURFACES", "DIRECTIONS"]

Progress = Callable[[float], None]
SURFACES = {  # key → what it is (marked for the catalog: translate with ``_`` where it is shown)
    "support": N_("support loss of the shown task"),
    "query": N_("query loss of the shown task"),
    "average": N_("average query loss over tasks (k = 0)"),
    "meta": N_("meta-objective J after k steps"),
}
DIRECTIONS = {"random": N_("filter-normalised random directions"), "pca": N_("PCA of the tasks' adaptation paths")}
FAMILY_TASKS = 20_000  # fresh tasks behind the family's J (its minimiser moves by ~0.01 between draws)
_MARGIN = 0.25  # extra room around the points a linear plane must show, as a fraction of its extent


@dataclass(frozen=True)
class LinearLandscape:
    a: list[float]  # θ₀ (intercept) axis
    b: list[float]  # θ₁ (slope) axis
    support: list[list[float]]  # [len(b)][len(a)]: the shown task's support loss
    query: list[list[float]]
    meta: list[list[float]]  # J: mean over tasks of the query loss after k steps
    average: list[list[float]]  # mean over tasks of the query loss at θ (k = 0)
    theta0: tuple[float, float]
    pretrained: tuple[float, float]  # the minimiser of ``average`` (closed form: pooled least squares)
    task_optima: list[tuple[float, float]]  # least squares on each task's support set
    paths: list[list[tuple[float, float]]]  # each task's k-step path from θ₀
    k: int
    alpha: float
    # The minimiser of J over the whole family (not only the drawn tasks): where meta-training takes θ₀.
    family_optimum: tuple[float, float] | None = None


@dataclass(frozen=True)
class NetworkSlice:
    a: list[float]
    b: list[float]
    z: list[list[float]]  # [len(b)][len(a)]
    surface: str  # key of SURFACES
    directions: str  # key of DIRECTIONS
    explained: list[float] | None  # PCA: variance fraction of each direction
    path: list[tuple[float, float]]  # the shown task's path, projected (plane coordinates)
    residual: list[float]  # distance of each path point from the plane
    path_loss: list[float]  # support loss at the true θ_j
    projected_loss: list[float]  # support loss at the projected point on the plane
    step_norm: list[float]  # ‖θ_j − θ₀‖, for scale


def _rows(t: Tensor) -> list[list[float]]:
    return t.detach().to("cpu", torch.float64).tolist()


def _pair(p: Params) -> tuple[float, float]:
    return float(p["theta0"].detach().reshape(-1)[0]), float(p["theta1"].detach().reshape(-1)[0])


def linear_landscape(
    model: Model, family: RegressionFamily, algorithm: MetaAlgorithm, meta_params: Params, batch: TaskBatch,
    alpha: float, k: int, resolution: int, shown: int = 0, device: torch.device | str = "cpu",
    progress: Progress | None = None,
) -> LinearLandscape:
    """All four losses on one exact (θ₀, θ₁) grid that shows θ₀, every task optimum and the paths."""
    if model.kind != "linear":
        raise ValueError("the exact plane needs the two-parameter linear model")
    device = torch.device(device)
    loss = LOSSES[family.loss]
    theta0 = algorithm.initialization(meta_params)
    path = list(algorithm.adapt_path(model, family, meta_params, batch.x_support, batch.y_support, alpha, k))
    paths = [[_pair({n: v[t] for n, v in p.items()}) for p in path] for t in range(batch.n_tasks)]
    optima = [least_squares_line(batch.x_support[t], batch.y_support[t]) for t in range(batch.n_tasks)]
    pretrained = least_squares_line(batch.x_query, batch.y_query)  # equal-size tasks: pooled LS = mean MSE's min
    points = [_pair(theta0), pretrained, *optima, *(q for p in paths for q in p)]
    lo = [min(min(p[i] for p in points), family.param_ranges[n][0]) for i, n in enumerate(("intercept", "slope"))]
    hi = [max(max(p[i] for p in points), family.param_ranges[n][1]) for i, n in enumerate(("intercept", "slope"))]
    half = [(h - l) * (0.5 + _MARGIN) for l, h in zip(lo, hi)]
    center = {"theta0": torch.tensor([(lo[0] + hi[0]) / 2]), "theta1": torch.tensor([(lo[1] + hi[1]) / 2])}
    dtype = batch.x_support.dtype
    center = {n: v.to(device, dtype) for n, v in center.items()}
    plane = ls.axis_plane(center, (half[0], half[1]), resolution)
    plane = ls.Plane(plane.center, plane.d1, plane.d2, plane.a_values.to(device), plane.b_values.to(device))
    b = batch.to(device)

    def part(i: int) -> Progress | None:  # four grids, one progress bar
        return (lambda f: progress((i + f) / 4)) if progress else None

    one = b.select(shown)
    support = ls.loss_grid(model, loss, plane, one.x_support, one.y_support, progress=part(0))
    query = ls.loss_grid(model, loss, plane, one.x_query, one.y_query, progress=part(1))
    meta = ls.meta_objective_grid(model, loss, plane, b.x_support, b.y_support, b.x_query, b.y_query, alpha, k,
                                  progress=part(2))
    average = ls.loss_grid(model, loss, plane, b.x_query, b.y_query, progress=part(3))
    a_vals = (plane.a_values + float(center["theta0"][0])).tolist()
    b_vals = (plane.b_values + float(center["theta1"][0])).tolist()
    shots = batch.x_support.shape[1]
    return LinearLandscape(a_vals, b_vals, _rows(support), _rows(query), _rows(meta), _rows(average), _pair(theta0),
                           pretrained, optima, paths, k, alpha, family_optimum(model, family, shots, alpha, k))


def family_optimum(model: Model, family: RegressionFamily, shots: int, alpha: float, k: int,
                   n_tasks: int = FAMILY_TASKS, seed: int = 0) -> tuple[float, float] | None:
    """The exact minimiser of the family's J (k plain steps of ``alpha`` on ``shots`` support points), from
    ``n_tasks`` fresh tasks: the model is linear, so each adapted θ is affine in θ₀ and J is a quadratic — six
    coefficients fitted to J on a 3 × 3 grid give it exactly. None where J has no minimum (α too large). Kept per
    family and setting: a live run's every redraw and the shown task's changes reuse it."""
    key = (family.name, repr(model.spec()), shots, float(alpha), int(k), n_tasks, seed)
    if key not in _OPTIMA:
        if len(_OPTIMA) >= _OPTIMA_KEPT:
            _OPTIMA.clear()
        _OPTIMA[key] = _family_optimum(model, family, shots, alpha, k, n_tasks, seed)
    return _OPTIMA[key]


_OPTIMA: dict[tuple, tuple[float, float] | None] = {}  # family_optimum's results: it depends on none of θ₀'s run
_OPTIMA_KEPT = 256


def _family_optimum(model: Model, family: RegressionFamily, shots: int, alpha: float, k: int, n_tasks: int,
                    seed: int) -> tuple[float, float] | None:
    gen = torch.Generator().manual_seed(seed)
    b = family.sample(n_tasks, shots, shots, gen, "cpu", torch.float64)
    center = {"theta0": torch.zeros(1, dtype=torch.float64), "theta1": torch.zeros(1, dtype=torch.float64)}
    plane = ls.axis_plane(center, 1.0, 3)
    j = ls.meta_objective_grid(model, LOSSES[family.loss], plane, b.x_support, b.y_support, b.x_query, b.y_query,
                               alpha, k).reshape(-1)
    u = plane.a_values.repeat(3)  # grid order: b (rows) outer, a inner
    v = plane.b_values.repeat_interleave(3)
    design = torch.stack([torch.ones_like(u), u, v, u * u, u * v, v * v], dim=1)
    c = torch.linalg.lstsq(design, j.unsqueeze(1)).solution.reshape(-1)
    hessian = torch.tensor([[2 * c[3], c[4]], [c[4], 2 * c[5]]], dtype=torch.float64)
    if not bool(torch.isfinite(hessian).all()) or float(torch.linalg.eigvalsh(hessian).min()) <= 0:
        return None
    opt = torch.linalg.solve(hessian, -c[1:3])
    return float(opt[0]), float(opt[1])


def _losses_at(model: Model, loss, params: Params, x: Tensor, y: Tensor) -> Tensor:
    """Loss of one task at each of a stack of parameter sets ``[n, ...]``."""
    with torch.no_grad():
        return vmap(lambda p: loss.per_task(model.forward(p, x), y))(params)


def network_slice(
    model: Model, family: TaskFamily, algorithm: MetaAlgorithm, meta_params: Params, batch: TaskBatch,
    alpha: float, steps: int, k: int, resolution: int, directions: str = "random", surface: str = "support",
    span: float = 1.0, seed: int = 0, device: torch.device | str = "cpu", progress: Progress | None = None,
) -> NetworkSlice:
    """A slice through θ₀ with task 0's ``steps``-step path projected onto it.

    ``span``: half-width of the grid in units of the directions (random) — PCA grids are sized to
    the paths. The comparison of true and projected path losses uses task 0's support loss, the
    loss the inner steps descend. Any family's loss works: MSE for regression, cross-entropy (int
    labels) for classification.
    """
    if directions not in DIRECTIONS:
        raise ValueError(f"directions must be one of {', '.join(DIRECTIONS)}, got {directions!r}")
    if surface not in SURFACES:
        raise ValueError(f"surface must be one of {', '.join(SURFACES)}, got {surface!r}")
    device = torch.device(device)
    loss = LOSSES[family.loss]
    meta = {n: v.to(device) for n, v in meta_params.items()}
    b = batch.to(device)
    theta0 = {n: v.detach() for n, v in algorithm.initialization(meta).items()}
    path = list(algorithm.adapt_path(model, family, meta, b.x_support, b.y_support, alpha, steps))
    flat_paths = [torch.stack([ls.flatten({n: v[t] for n, v in p.items()}) for p in path])
                  for t in range(b.n_tasks)]
    explained = None
    if directions == "pca":
        d1, d2, ex = ls.pca_directions(flat_paths, ls.flatten(theta0), theta0)
        explained = ex.tolist()
    else:
        d1, d2 = ls.filter_normalized_directions({n: v.cpu() for n, v in theta0.items()},
                                                 torch.Generator().manual_seed(seed))
        d1, d2 = ({n: v.to(device) for n, v in d.items()} for d in (d1, d2))
    unit = ls.Plane(theta0, d1, d2, torch.zeros(1, device=device), torch.zeros(1, device=device))
    coords, residual = ls.project(flat_paths[0], unit)
    reach = float(coords.abs().max()) if coords.numel() else 0.0
    extent = max(reach * (1 + _MARGIN), 1e-3) if directions == "pca" else max(span, reach * (1 + _MARGIN))
    values = torch.linspace(-extent, extent, resolution, device=device, dtype=b.x_support.dtype)
    plane = ls.Plane(theta0, d1, d2, values, values)
    one = b.select(0)
    if surface == "support":
        z = ls.loss_grid(model, loss, plane, one.x_support, one.y_support, progress=progress)
    elif surface == "query":
        z = ls.loss_grid(model, loss, plane, one.x_query, one.y_query, progress=progress)
    elif surface == "average":
        z = ls.loss_grid(model, loss, plane, b.x_query, b.y_query, progress=progress)
    else:
        z = ls.meta_objective_grid(model, loss, plane, b.x_support, b.y_support, b.x_query, b.y_query, alpha, k,
                                   progress=progress)
    true_params = unflatten(flat_paths[0], theta0)
    projected = ls.unflatten(ls.flatten(theta0) + coords @ torch.stack([ls.flatten(d1), ls.flatten(d2)]), theta0)
    xs, ys = one.x_support[0], one.y_support[0]
    path_loss = _losses_at(model, loss, true_params, xs, ys)
    projected_loss = _losses_at(model, loss, projected, xs, ys)
    step_norm = (flat_paths[0] - flat_paths[0][0]).norm(dim=1)
    return NetworkSlice(values.tolist(), values.tolist(), _rows(z), surface, directions, explained,
                        [tuple(c) for c in coords.tolist()], residual.tolist(), path_loss.tolist(),
                        projected_loss.tolist(), step_norm.tolist())
