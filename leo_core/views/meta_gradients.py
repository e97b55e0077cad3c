"""Each algorithm's update direction for θ₀ on one shared meta-batch, θ₀'s path, and their cosines.

Every direction comes from the algorithm's own ``meta_step`` — the code path training uses — on the
same meta-batch: the outer optimizer descends, so the direction is −grads restricted to θ₀ (the
model parameters ``initialization`` returns). Algorithms that learn no θ₀ directly (a latent code
decoded into θ₀) or whose direction at a fresh start equals another's are left out with a reason
(``SKIPPED``).

- ``directions``: the directions at one θ₀, their norms and cosines with the true meta-gradient (``leo``).
- ``linear_meta_gradients``: for the two-parameter linear model, the exact J and average-loss grids
  over a plane that holds θ₀'s whole meta-training path, and the directions at up to ``frames``
  points along that path (the figure's animation frames).
- ``cosine_sweep``: each direction's cosine with ``leo``'s as α and as k change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import torch
from torch import Tensor

from .. import landscape as ls
from ..algorithms import ALGORITHMS, get_algorithm
from ..config import TrainConfig
from ..i18n import N_, _
from ..losses import LOSSES
from ..models import Model, Params
from ..tasks import TaskBatch, TaskFamily
from .adaptation import least_squares_line

__all__ = ["ARROW_ALGORITHMS", "SKIPPED", "REFERENCE", "Direction", "PathFrame", "LinearMetaGradients",
           "CosineCurve", "CosineSweep", "arrow_keys", "direction_config", "directions", "path_frames",
           "linear_meta_gradients", "cosine_sweep"]

Progress = Callable[[float], None]
REFERENCE = "leo"  # the true (second-order) meta-gradient the others are compared with
# In the order they are drawn; those not registered (yet) are left out.
ARROW_ALGORITHMS = ("leo", "leo-fo", "reptile", "imaml", "pretrained")
SKIPPED = {  # the reasons are marked for the catalog: translate with ``_`` where they are shown
    "meta-sgd": N_("its step sizes start at α, where its θ₀ direction is leo's exactly"),
    "anil": N_("on the two-parameter line the head is the whole model, so it equals leo"),
    "leo-latent": N_("it learns a latent code decoded into θ₀, not θ₀ itself"),
    "random": N_("it never moves θ₀"),
}
_MARGIN = 0.25
MIN_HALF_WIDTH = 0.5  # the plane is at least this far from its centre on each side
MAX_PATH_POINTS = 400  # the drawn path is thinned to this many points (the frames use the whole record)
_ZERO = 1e-6  # a direction shorter than this times the longest one is round-off: zero


@dataclass(frozen=True)
class Direction:
    key: str  # the algorithm's registry key
    vector: tuple[float, ...]  # −grads on θ₀ (the update direction before the step size β), flattened
    norm: float
    cosine: float | None  # with the reference direction; None when either is zero


@dataclass(frozen=True)
class PathFrame:
    iteration: int
    theta0: tuple[float, float]
    directions: tuple[Direction, ...]


@dataclass(frozen=True)
class LinearMetaGradients:
    a: list[float]  # θ₀ (intercept) axis
    b: list[float]  # θ₁ (slope) axis
    meta: list[list[float]]  # J after k steps, [len(b)][len(a)]
    average: list[list[float]]  # mean query loss at θ (k = 0)
    path_iterations: list[int]  # θ₀'s meta-training path (as recorded, thinned to MAX_PATH_POINTS)
    path: list[tuple[float, float]]
    frames: tuple[PathFrame, ...]  # the last is the current θ₀
    pretrained: tuple[float, float]
    k: int
    alpha: float


@dataclass(frozen=True)
class CosineCurve:
    key: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class CosineSweep:
    alphas: tuple[float, ...]
    by_alpha: tuple[CosineCurve, ...]  # at ``k``
    ks: tuple[int, ...]
    by_k: tuple[CosineCurve, ...]  # at ``alpha``
    k: int
    alpha: float


def arrow_keys(keys: Sequence[str] = ARROW_ALGORITHMS) -> tuple[str, ...]:
    """The registered algorithms among ``keys``, the reference first."""
    keys = [k for k in keys if k in ALGORITHMS]
    return tuple([REFERENCE] + [k for k in keys if k != REFERENCE]) if REFERENCE in ALGORITHMS else tuple(keys)


def direction_config(cfg: TrainConfig, alpha: float, k: int) -> TrainConfig:
    """The run's settings (iMAML's λ and CG steps, …) with the page's α and k, J on the query set and
    no first-order switch: the directions then belong to the J drawn beside them."""
    return replace(cfg, alpha=float(alpha), k=int(k), outer_loss="query", first_order=False)


def _cos(u: Tensor, v: Tensor) -> float | None:
    nu, nv = float(u.norm()), float(v.norm())
    if nu == 0 or nv == 0 or not math.isfinite(nu * nv):
        return None
    return max(-1.0, min(1.0, float(u @ v) / (nu * nv)))


def _direction(model: Model, family: TaskFamily, key: str, theta0: Params, batch: TaskBatch,
               cfg: TrainConfig) -> Tensor:
    """−grads of ``key``'s ``meta_step`` on θ₀ (flattened, in θ₀'s key order)."""
    algorithm = get_algorithm(key, cfg)
    start = {n: v.detach().clone() for n, v in theta0.items()}
    init = algorithm.init_meta_params(start, cfg)
    # As the trainer holds them: one flat leaf, the meta-parameters views into it.
    flat = torch.cat([v.detach().reshape(-1) for v in init.values()]).requires_grad_(True)
    meta, offset = {}, 0
    for name, value in init.items():
        meta[name] = flat[offset:offset + value.numel()].view(value.shape)
        offset += value.numel()
    with torch.enable_grad():
        step = algorithm.meta_step(model, family, meta, batch, cfg)
    names = list(theta0)
    missing = [n for n in names if n not in step.grads]
    if missing:
        raise ValueError(_("{algorithm} has no gradient on θ₀ ({names}): it cannot be drawn as an arrow").format(
            algorithm=key, names=", ".join(missing)))
    return -torch.cat([step.grads[n].detach().reshape(-1) for n in names]).to(torch.float64)


def directions(model: Model, family: TaskFamily, theta0: Params, batch: TaskBatch, cfg: TrainConfig,
               keys: Sequence[str] = ARROW_ALGORITHMS, *, strict: bool = True,
               reuse: dict[str, Tensor] | None = None) -> tuple[Direction, ...]:
    """Each algorithm's update direction at ``theta0`` on ``batch`` with ``cfg``'s α, k, λ, …

    A non-finite direction (α too large for k steps) raises ``ValueError``; with ``strict=False`` its
    cosine is None instead. ``reuse`` (a dict kept by the caller across calls with the same θ₀, batch and
    settings other than α and k) holds the directions of algorithms that do not use α and k
    (``uses_inner_steps``), each computed once.
    """
    keys = arrow_keys(keys)
    vectors = {}
    for key in keys:
        fixed = reuse is not None and not ALGORITHMS[key].uses_inner_steps
        if fixed and key in reuse:
            vectors[key] = reuse[key]
            continue
        vectors[key] = _direction(model, family, key, theta0, batch, cfg)
        if fixed:
            reuse[key] = vectors[key]
    finite = [float(v.norm()) for v in vectors.values() if bool(torch.isfinite(v).all())]
    scale = max(finite, default=0.0)
    for key, v in vectors.items():  # round-off "directions" (Reptile's with k = 0) are zero, not an arrow
        if bool(torch.isfinite(v).all()) and float(v.norm()) <= _ZERO * scale:
            vectors[key] = torch.zeros_like(v)
    ref = vectors.get(REFERENCE)
    if ref is not None and not bool(torch.isfinite(ref).all()):
        ref = None
    out = []
    for key, v in vectors.items():
        norm = float(v.norm())
        if not math.isfinite(norm):
            if not strict:
                out.append(Direction(key, tuple(v.tolist()), norm, None))
                continue
            raise ValueError(_("{algorithm}'s update at θ₀ is not finite (α = {alpha} with k = {k} is too "
                               "large)").format(algorithm=key, alpha=f"{cfg.alpha:g}", k=cfg.k))
        out.append(Direction(key, tuple(v.tolist()), norm, _cos(v, ref) if ref is not None else None))
    return tuple(out)


def _pick(n: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``range(n)``, first and last included."""
    if n <= count:
        return list(range(n))
    return sorted({round(i * (n - 1) / (count - 1)) for i in range(count)})


def _theta(names: Sequence[str], point: tuple[float, float], like: Tensor) -> Params:
    return {n: torch.tensor([v], dtype=like.dtype, device=like.device) for n, v in zip(names, point)}


def path_frames(model: Model, family: TaskFamily, names: Sequence[str], path_iterations: Sequence[int],
                path: Sequence[tuple[float, float]], batch: TaskBatch, cfg: TrainConfig, frames: int,
                keys: Sequence[str] = ARROW_ALGORITHMS, progress: Progress | None = None) -> tuple[PathFrame, ...]:
    """The directions at ``frames`` points spread along the path (its start and its end included)."""
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    picked = _pick(len(path), max(2, frames)) if len(path) > 1 else [0]
    out = []
    for j, i in enumerate(picked):
        theta = _theta(names, path[i], batch.x_support)
        out.append(PathFrame(int(path_iterations[i]), tuple(path[i]),
                             directions(model, family, theta, batch, cfg, keys)))
        if progress:
            progress((j + 1) / len(picked))
    return tuple(out)


def linear_meta_gradients(
    model: Model, family: TaskFamily, theta0: Params, path: Sequence[tuple[int, float, float]] | None,
    batch: TaskBatch, cfg: TrainConfig, alpha: float, k: int, resolution: int, frames: int,
    keys: Sequence[str] = ARROW_ALGORITHMS, progress: Progress | None = None,
) -> LinearMetaGradients:
    """J and the average loss on a plane that holds θ₀'s whole path, and the directions along it.

    ``path``: (iteration, θ₀, θ₁) per meta-iteration, as the trainer records it; None or empty: θ₀ alone.
    """
    if model.kind != "linear":
        raise ValueError("the meta-gradient arrows are drawn for the two-parameter linear model")
    if resolution < 3:
        raise ValueError(f"resolution must be >= 3, got {resolution}")
    names = list(theta0)
    here = tuple(float(theta0[n].detach().reshape(-1)[0]) for n in names)
    points = list(path or [])
    if not points or any(abs(p - q) > 1e-6 * (1 + abs(q)) for p, q in zip(points[-1][1:], here)):
        points.append((points[-1][0] + 1 if points else 0, *here))  # the path ends at the θ₀ shown
    its = [int(p[0]) for p in points]
    xy = [(float(p[1]), float(p[2])) for p in points]
    pcfg = direction_config(cfg, alpha, k)
    pretrained = least_squares_line(batch.x_query, batch.y_query)
    # A square around the path and the pretrained optimum (the figure's axes share one scale).
    lo = [min([p[i] for p in xy] + [pretrained[i]]) for i in (0, 1)]
    hi = [max([p[i] for p in xy] + [pretrained[i]]) for i in (0, 1)]
    side = max(max(h - l for l, h in zip(lo, hi)) * (0.5 + _MARGIN), MIN_HALF_WIDTH)
    half = [side, side]
    dtype, device = batch.x_support.dtype, batch.x_support.device
    center = {n: torch.tensor([(l + h) / 2], dtype=dtype, device=device) for n, l, h in zip(names, lo, hi)}
    plane = ls.axis_plane(center, (half[0], half[1]), resolution)
    plane = ls.Plane(plane.center, plane.d1, plane.d2, plane.a_values.to(device), plane.b_values.to(device))
    loss = LOSSES[family.loss]

    def part(start: float, width: float) -> Progress | None:
        return (lambda f: progress(start + width * f)) if progress else None

    meta = ls.meta_objective_grid(model, loss, plane, batch.x_support, batch.y_support, batch.x_query,
                                  batch.y_query, float(alpha), int(k), progress=part(0.0, 0.3))
    average = ls.loss_grid(model, loss, plane, batch.x_query, batch.y_query, progress=part(0.3, 0.1))
    shown = path_frames(model, family, names, its, xy, batch, pcfg, frames, keys, progress=part(0.4, 0.6))
    a_vals = (plane.a_values + float(center[names[0]][0])).tolist()
    b_vals = (plane.b_values + float(center[names[1]][0])).tolist()
    rows = lambda t: t.detach().to("cpu", torch.float64).tolist()  # noqa: E731
    keep = _pick(len(xy), MAX_PATH_POINTS)
    return LinearMetaGradients(a_vals, b_vals, rows(meta), rows(average), [its[i] for i in keep],
                               [xy[i] for i in keep], shown, pretrained, int(k), float(alpha))


def cosine_sweep(model: Model, family: TaskFamily, theta0: Params, batch: TaskBatch, cfg: TrainConfig,
                 alpha: float, k: int, alphas: Sequence[float], ks: Sequence[int],
                 keys: Sequence[str] = ARROW_ALGORITHMS, progress: Progress | None = None) -> CosineSweep:
    """cos(direction, leo's) at ``theta0`` for each α in ``alphas`` (at ``k``) and each k in ``ks`` (at ``alpha``)."""
    keys = arrow_keys(keys)
    total = len(alphas) + len(ks)
    by_alpha: dict[str, list[float | None]] = {key: [] for key in keys}
    by_k: dict[str, list[float | None]] = {key: [] for key in keys}
    reuse: dict[str, Tensor] = {}  # iMAML's direction does not change with α and k: computed once
    for j, (a, kk, into) in enumerate([(a, k, by_alpha) for a in alphas] + [(alpha, kk, by_k) for kk in ks]):
        for d in directions(model, family, theta0, batch, direction_config(cfg, a, kk), keys, strict=False,
                            reuse=reuse):
            into[d.key].append(d.cosine)
        if progress:
            progress((j + 1) / total)
    return CosineSweep(tuple(float(a) for a in alphas), tuple(CosineCurve(key, tuple(v)) for key, v in by_alpha.items()),
                       tuple(int(kk) for kk in ks), tuple(CosineCurve(key, tuple(v)) for key, v in by_k.items()),
                       int(k), float(alpha))
