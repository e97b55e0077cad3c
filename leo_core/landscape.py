"""Loss landscapes: losses on 2-D planes through parameter space, evaluated in one batch.

A plane is ``center + a·d₁ + b·d₂`` over a grid of (a, b). Every grid point is a full parameter
set, so the grid is a stack ``[G, ...]`` evaluated with ``torch.func.vmap`` over the model's
forward (or, for the meta-objective, adapted k steps as G×T independent problems in one batched
inner loop). Work is chunked to bound memory.

Directions: for the two-parameter linear model the plane *is* the parameter space (exact); for
networks, filter-normalised random directions (Li et al. 2018, "Visualizing the Loss Landscape of
Neural Nets") or the top two principal components of adaptation paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor
from torch.func import vmap

from . import inner
from .losses import Loss
from .models import Model, Params, flatten, unflatten

__all__ = [
    "Plane", "filter_normalized_directions", "pca_directions", "principal_axes", "axis_plane",
    "plane_params", "loss_grid", "meta_objective_grid", "project", "DEFAULT_CHUNK",
]

DEFAULT_CHUNK = 4096  # parameter sets per batched evaluation
Progress = Callable[[float], None]


@dataclass(frozen=True)
class Plane:
    """center + a·d1 + b·d2 for a in ``a_values``, b in ``b_values`` (all as name -> tensor)."""

    center: Params
    d1: Params
    d2: Params
    a_values: Tensor  # [A]
    b_values: Tensor  # [B]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.b_values.numel(), self.a_values.numel())  # rows = b, columns = a (as contours draw)


def filter_normalized_directions(params: Params, generator: torch.Generator) -> tuple[Params, Params]:
    """Two random Gaussian directions, each filter rescaled to the norm of its weight filter.

    A filter is one output unit's incoming weights: column j of a weight stored ``[in, out]``.
    Biases (1-D tensors) get zero direction, as Li et al. do for biases and batch-norm parameters.
    """
    def one() -> Params:
        d = {}
        for name, p in params.items():
            if p.dim() < 2:
                d[name] = torch.zeros_like(p)
                continue
            r = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
            d[name] = r * (p.norm(dim=0, keepdim=True) / r.norm(dim=0, keepdim=True).clamp_min(1e-12))
        return d

    return one(), one()


def pca_directions(paths: list[Tensor], center: Tensor, like: Params) -> tuple[Params, Params, Tensor]:
    """Top-2 principal directions of the displacements θ_j − center over adaptation paths.

    ``paths`` are ``[steps + 1, P]`` flat paths; returns the two directions (unit norm) and the
    fraction of the displacements' variance each explains.
    """
    disp = torch.cat([p - center for p in paths])
    if disp.abs().max() == 0:
        raise ValueError("the adaptation paths do not move; PCA directions are undefined")
    vh, explained = principal_axes(disp)
    d2 = vh[1] if vh.shape[0] > 1 else torch.zeros_like(vh[0])
    return unflatten(vh[0], like), unflatten(d2, like), explained[:2]


def principal_axes(disp: Tensor) -> tuple[Tensor, Tensor]:
    """Principal directions of the rows of ``disp [n, P]`` (taken around zero, not centred) as the
    rows of ``vh``, and the fraction of ``‖disp‖²`` each explains."""
    _, s, vh = torch.linalg.svd(disp, full_matrices=False)
    return vh, s.pow(2) / s.pow(2).sum()


def axis_plane(center: Params, span: float | tuple[float, float], resolution: int) -> Plane:
    """For a two-scalar model: the exact (p₁, p₂) plane around ``center``."""
    names = list(center)
    if len(names) != 2 or any(center[n].numel() != 1 for n in names):
        raise ValueError("axis_plane needs a model with exactly two scalar parameters")
    s1, s2 = (span, span) if isinstance(span, (int, float)) else span
    d1 = {names[0]: torch.ones_like(center[names[0]]), names[1]: torch.zeros_like(center[names[1]])}
    d2 = {names[0]: torch.zeros_like(center[names[0]]), names[1]: torch.ones_like(center[names[1]])}
    dtype = center[names[0]].dtype
    return Plane(center, d1, d2, torch.linspace(-s1, s1, resolution, dtype=dtype),
                 torch.linspace(-s2, s2, resolution, dtype=dtype))


def plane_params(plane: Plane) -> Params:
    """Every grid point's parameters, stacked ``[B·A, ...]`` (row-major: b outer, a inner)."""
    b, a = torch.meshgrid(plane.b_values, plane.a_values, indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    out = {}
    for name, c in plane.center.items():
        shape = (-1,) + (1,) * c.dim()
        dev = c.device
        out[name] = c + a.to(dev).reshape(shape) * plane.d1[name] + b.to(dev).reshape(shape) * plane.d2[name]
    return out


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def loss_grid(
    model: Model, loss: Loss, plane: Plane, xs: Tensor, ys: Tensor, chunk: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
) -> Tensor:
    """Mean over the given tasks of each task's loss at every grid point: ``[B, A]``.

    ``xs``, ``ys``: ``[T, N, ...]`` (one or more tasks; T = 1 for a single task's landscape).
    """
    grid = plane_params(plane)
    n = next(iter(grid.values())).shape[0]

    def point_loss(params: Params) -> Tensor:  # one parameter set, all T tasks at once
        return loss.per_task(model.forward(params, xs), ys).mean()

    batched = vmap(point_loss)
    out = []
    with torch.no_grad():
        for i, sl in enumerate(_chunks(n, max(1, chunk // xs.shape[0]))):
            out.append(batched({k: v[sl] for k, v in grid.items()}))
            if progress:
                progress(min(1.0, sl.stop / n))
    return torch.cat(out).reshape(plane.shape)


def meta_objective_grid(
    model: Model, loss: Loss, plane: Plane, x_support: Tensor, y_support: Tensor, x_query: Tensor,
    y_query: Tensor, alpha: float, k: int, chunk: int = DEFAULT_CHUNK, progress: Progress | None = None,
) -> Tensor:
    """J(θ) = mean over tasks of L_query(θ_k) with θ_k after k support steps, at every grid point.

    Each (grid point, task) pair is an independent inner problem; G·T of them run as one batched
    inner loop per chunk. k = 0 gives the plain average query loss (what joint pretraining
    minimises).
    """
    grid = plane_params(plane)
    n = next(iter(grid.values())).shape[0]
    t = x_support.shape[0]
    per_chunk = max(1, chunk // t)
    out = []
    for sl in _chunks(n, per_chunk):
        g = sl.stop - sl.start
        # [g, ...] -> [g·t, ...]: every grid point repeated once per task.
        params = {k_: v[sl].repeat_interleave(t, dim=0) for k_, v in grid.items()}

        def tile(x: Tensor) -> Tensor:
            return x.repeat(g, *([1] * (x.dim() - 1)))

        xs, ys, xq, yq = tile(x_support), tile(y_support), tile(x_query), tile(y_query)
        path = inner.adapt_path(model, loss, params, xs, ys, alpha, k)
        for theta_k in path:
            pass
        with torch.no_grad():
            out.append(loss.per_task(model.forward(theta_k, xq), yq).reshape(g, t).mean(dim=1))
        if progress:
            progress(min(1.0, sl.stop / n))
    return torch.cat(out).reshape(plane.shape)


def project(points: Tensor, plane: Plane) -> tuple[Tensor, Tensor]:
    """Least-squares plane coordinates ``[n, 2]`` of flat points ``[n, P]``, and the distance of
    each point from the plane (what the 2-D picture cannot show)."""
    c = flatten(plane.center)
    basis = torch.stack([flatten(plane.d1), flatten(plane.d2)], dim=1)  # [P, 2]
    disp = points - c
    coords = torch.linalg.lstsq(basis, disp.T).solution.T  # [n, 2]
    residual = (disp - coords @ basis.T).norm(dim=1)
    return coords, residual
