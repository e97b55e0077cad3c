"""Task families: seeded samplers of meta-batches of few-shot tasks, one object per family.

A family draws T tasks at once as tensors ``[T, N, ...]`` on the requested device from an explicit
``torch.Generator``; no hidden global random state is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor

from .models import LinearModel, MLP, Model

__all__ = ["TaskBatch", "TaskFamily", "RegressionFamily", "TASK_FAMILIES", "get_family", "SPLITS", "check_split"]

TaskParams = dict[str, Tensor]

# Which tasks ``sample`` draws: meta-training ("train") or meta-test ("test"). Families with a
# finite set of classes (digits) draw the two from disjoint classes; regression families have a
# continuum of tasks and draw both from the same distribution.
SPLITS = ("train", "test")


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


@dataclass(frozen=True)
class TaskBatch:
    """A meta-batch of T tasks. Regression: ``x [T, N, 1]``, ``y [T, N, 1]``."""

    x_support: Tensor
    y_support: Tensor
    x_query: Tensor
    y_query: Tensor
    task_params: TaskParams = field(default_factory=dict)

    @property
    def n_tasks(self) -> int:
        return self.x_support.shape[0]

    def select(self, index: int | slice | Tensor) -> "TaskBatch":
        """Tasks ``index`` as a smaller batch (an int keeps a task axis of length 1)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return TaskBatch(
            self.x_support[index], self.y_support[index], self.x_query[index], self.y_query[index],
            {k: v[index] for k, v in self.task_params.items()},
        )

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> "TaskBatch":
        def move(t: Tensor) -> Tensor:
            return t.to(device, dtype) if dtype is not None and t.is_floating_point() else t.to(device)

        return TaskBatch(
            move(self.x_support), move(self.y_support), move(self.x_query), move(self.y_query),
            {k: move(v) for k, v in self.task_params.items()},
        )


def _uniform(n: int, low: float, high: float, g: torch.Generator, device: torch.device, dtype: torch.dtype) -> Tensor:
    return torch.rand(n, generator=g, device=device, dtype=dtype) * (high - low) + low


class TaskFamily:
    """Interface every family implements (regression here; classification families add theirs)."""

    name: str
    title: str
    description: str
    loss: str  # key into losses.LOSSES
    is_classification: bool = False
    eval_query: int = 100  # default query examples at meta-test (per class for classification)

    def default_model(self) -> Model:
        raise NotImplementedError

    def configure(self, cfg: object) -> "TaskFamily":
        """The family as a run configures it (classification: ``cfg.ways``); regression: itself."""
        return self

    def sample(
        self, n_tasks: int, shots: int, query: int, generator: torch.Generator,
        device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, split: str = "train",
    ) -> TaskBatch:
        raise NotImplementedError


@dataclass(frozen=True)
class RegressionFamily(TaskFamily):
    """y = target(task_params, x) + noise, x ~ U(x_range), task params ~ U(param_ranges).

    ``sample_params`` may be replaced for families whose parameters are not independent uniforms
    (the sine/line mixture draws a discrete kind).
    """

    name: str
    title: str
    description: str
    param_ranges: dict[str, tuple[float, float]]
    target: Callable[[TaskParams, Tensor], Tensor]
    x_range: tuple[float, float] = (-5.0, 5.0)
    noise_std: float = 0.0
    model_factory: Callable[[], Model] = MLP
    loss: str = "mse"
    extra_params: Callable[[int, torch.Generator, torch.device, torch.dtype], TaskParams] | None = None

    def default_model(self) -> Model:
        return self.model_factory()

    def sample_params(
        self, n_tasks: int, generator: torch.Generator, device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> TaskParams:
        device = torch.device(device)
        params = {k: _uniform(n_tasks, lo, hi, generator, device, dtype) for k, (lo, hi) in self.param_ranges.items()}
        if self.extra_params is not None:
            params.update(self.extra_params(n_tasks, generator, device, dtype))
        return params

    def sample_inputs(
        self, n_tasks: int, n_points: int, generator: torch.Generator, device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> Tensor:
        lo, hi = self.x_range
        return torch.rand(n_tasks, n_points, 1, generator=generator, device=device, dtype=dtype) * (hi - lo) + lo

    def observe(self, task_params: TaskParams, x: Tensor, generator: torch.Generator | None) -> Tensor:
        """Targets at ``x`` for tasks ``task_params`` with the family's observation noise."""
        y = self.target(task_params, x)
        if self.noise_std > 0 and generator is not None:
            y = y + self.noise_std * torch.randn(y.shape, generator=generator, device=y.device, dtype=y.dtype)
        return y

    def make_batch(
        self, task_params: TaskParams, shots: int, query: int, generator: torch.Generator,
    ) -> TaskBatch:
        """Support and query sets for given task parameters (e.g. a task set by hand)."""
        any_param = next(iter(task_params.values()))
        n_tasks, device, dtype = any_param.shape[0], any_param.device, any_param.dtype
        x = self.sample_inputs(n_tasks, shots + query, generator, device, dtype)
        y = self.observe(task_params, x, generator)
        return TaskBatch(x[:, :shots], y[:, :shots], x[:, shots:], y[:, shots:], task_params)

    def sample(
        self, n_tasks: int, shots: int, query: int, generator: torch.Generator,
        device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, split: str = "train",
    ) -> TaskBatch:
        check_split(split)  # both splits draw from the same continuum of tasks
        if n_tasks < 1 or shots < 1 or query < 1:
            raise ValueError(f"need at least one task, shot and query point (got {n_tasks}, {shots}, {query})")
        params = self.sample_params(n_tasks, generator, device, dtype)
        return self.make_batch(params, shots, query, generator)


def _col(v: Tensor) -> Tensor:
    """Task parameters ``[T]`` as ``[T, 1, 1]`` to broadcast against ``x [T, N, 1]``."""
    return v.reshape(-1, 1, 1)


def _sinusoid(p: TaskParams, x: Tensor) -> Tensor:
    return _col(p["amplitude"]) * torch.sin(x - _col(p["phase"]))


def _line(p: TaskParams, x: Tensor) -> Tensor:
    return _col(p["intercept"]) + _col(p["slope"]) * x


def _sine_or_line(p: TaskParams, x: Tensor) -> Tensor:
    return torch.where(_col(p["is_line"]) > 0.5, _line(p, x), _sinusoid(p, x))


def _coin(n: int, g: torch.Generator, device: torch.device, dtype: torch.dtype) -> TaskParams:
    return {"is_line": (torch.rand(n, generator=g, device=device, dtype=dtype) < 0.5).to(dtype)}


def _cubic(p: TaskParams, x: Tensor) -> Tensor:
    return sum(_col(p[f"c{i}"]) * x.pow(i) for i in range(4))


TASK_FAMILIES: dict[str, TaskFamily] = {
    "sinusoid": RegressionFamily(
        name="sinusoid",
        title="Sinusoids (Finn et al. 2017)",
        description="y = A·sin(x − φ), A ∈ [0.1, 5], φ ∈ [0, π], x ∈ [−5, 5]; the MAML paper's regression benchmark.",
        param_ranges={"amplitude": (0.1, 5.0), "phase": (0.0, math.pi)},
        target=_sinusoid,
    ),
    "linear": RegressionFamily(
        name="linear",
        title="Lines (the source document's example)",
        description="y = θ₀ + θ₁·x + noise, intercept ∈ [−1, 3], slope ∈ [−1, 2], x ∈ [−2, 2], fitted by the "
        "two-parameter model f(x) = θ₀ + θ₁x, so its whole loss landscape can be drawn exactly.",
        param_ranges={"intercept": (-1.0, 3.0), "slope": (-1.0, 2.0)},
        target=_line,
        x_range=(-2.0, 2.0),
        noise_std=0.1,
        model_factory=LinearModel,
    ),
    "sine-line": RegressionFamily(
        name="sine-line",
        title="Sines or lines (multimodal, Rusu et al. 2019)",
        description="Each task is, with probability ½, a sinusoid (A ∈ [0.1, 5], φ ∈ [0, π]) or a line "
        "(slope ∈ [−3, 3], intercept ∈ [−3, 3]); x ∈ [−5, 5], noise σ = 0.3.",
        param_ranges={"amplitude": (0.1, 5.0), "phase": (0.0, math.pi), "slope": (-3.0, 3.0), "intercept": (-3.0, 3.0)},
        target=_sine_or_line,
        noise_std=0.3,
        extra_params=_coin,
    ),
    "polynomial": RegressionFamily(
        name="polynomial",
        title="Cubic polynomials",
        description="y = c₀ + c₁x + c₂x² + c₃x³, each cᵢ ∈ [−1, 1], x ∈ [−2, 2].",
        param_ranges={f"c{i}": (-1.0, 1.0) for i in range(4)},
        target=_cubic,
        x_range=(-2.0, 2.0),
    ),
}


def get_family(name: str) -> TaskFamily:
    """The family registered as ``name``; a clear ``ValueError`` for an unknown one."""
    try:
        return TASK_FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown task family {name!r}; choose one of {', '.join(TASK_FAMILIES)}") from None


# The classification families build on the classes above and register themselves on import.
from . import classification as _classification  # noqa: E402,F401
