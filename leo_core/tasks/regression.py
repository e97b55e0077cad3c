"""Regression task families: y = target(task parameters, x) + noise, sampled on any device.

A family draws T tasks at once as tensors ``[T, N, 1]`` from an explicit ``torch.Generator``;
no hidden global random state is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ..i18n import N_
from ..models import LinearModel, MLP, Model
from .base import TaskBatch, TaskFamily, TaskParams, check_split, uniform

__all__ = ["RegressionFamily", "REGRESSION_FAMILIES"]


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
        params = {k: uniform(n_tasks, lo, hi, generator, device, dtype) for k, (lo, hi) in self.param_ranges.items()}
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


REGRESSION_FAMILIES: dict[str, RegressionFamily] = {
    "sinusoid": RegressionFamily(
        name="sinusoid",
        title=N_("Sinusoids (Finn et al. 2017)"),
        description=N_("y = A·sin(x − φ), A ∈ [0.1, 5], φ ∈ [0, π], x ∈ [−5, 5]; the MAML paper's regression benchmark."),
        param_ranges={"amplitude": (0.1, 5.0), "phase": (0.0, math.pi)},
        target=_sinusoid,
    ),
    "linear": RegressionFamily(
        name="linear",
        title=N_("Lines (the source document's example)"),
        description=N_("y = θ₀ + θ₁·x + noise, intercept ∈ [−1, 3], slope ∈ [−1, 2], x ∈ [−2, 2], fitted by the "
        "two-parameter model f(x) = θ₀ + θ₁x, so its whole loss landscape can be drawn exactly."),
        param_ranges={"intercept": (-1.0, 3.0), "slope": (-1.0, 2.0)},
        target=_line,
        x_range=(-2.0, 2.0),
        noise_std=0.1,
        model_factory=LinearModel,
    ),
    "sine-line": RegressionFamily(
        name="sine-line",
        title=N_("Sines or lines (multimodal, Rusu et al. 2019)"),
        description=N_("Each task is, with probability ½, a sinusoid (A ∈ [0.1, 5], φ ∈ [0, π]) or a line "
        "(slope ∈ [−3, 3], intercept ∈ [−3, 3]); x ∈ [−5, 5], noise σ = 0.3."),
        param_ranges={"amplitude": (0.1, 5.0), "phase": (0.0, math.pi), "slope": (-3.0, 3.0), "intercept": (-3.0, 3.0)},
        target=_sine_or_line,
        noise_std=0.3,
        extra_params=_coin,
    ),
    "polynomial": RegressionFamily(
        name="polynomial",
        title=N_("Cubic polynomials"),
        description=N_("y = c₀ + c₁x + c₂x² + c₃x³, each cᵢ ∈ [−1, 1], x ∈ [−2, 2]."),
        param_ranges={f"c{i}": (-1.0, 1.0) for i in range(4)},
        target=_cubic,
        x_range=(-2.0, 2.0),
    ),
}
