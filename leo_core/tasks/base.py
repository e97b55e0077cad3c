"""What every task family shares: the meta-batch type and the family interface.

A family draws T tasks at once as tensors ``[T, N, ...]`` on the requested device from an explicit
``torch.Generator``; no hidden global random state is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..models import Model

__all__ = ["TaskBatch", "TaskFamily", "TaskParams", "SPLITS", "check_split", "uniform"]

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


def uniform(n: int, low: float, high: float, g: torch.Generator, device: torch.device, dtype: torch.dtype) -> Tensor:
    return torch.rand(n, generator=g, device=device, dtype=dtype) * (high - low) + low


class TaskFamily:
    """Interface every family implements (regression here; classification families add theirs)."""

    name: str
    title: str
    description: str
    loss: str  # key into losses.LOSSES
    is_classification: bool = False
    eval_query: int = 100  # default query examples at meta-test (per class for classification)
    eval_chunk: int = 200  # tasks per batched evaluation step (bounds memory; images need fewer)

    def default_model(self) -> Model:
        raise NotImplementedError

    def model(self, name: str) -> Model:
        """The model called ``name`` (``"auto"``: the default); a family offers its default only unless
        it says otherwise (Omniglot: ``conv4`` and ``mlp``)."""
        default = self.default_model()
        if name in ("auto", default.kind):
            return default
        raise ValueError(f"unknown model {name!r} for {self.name}; it uses {default.kind}")

    def configure(self, cfg: object) -> "TaskFamily":
        """The family as a run configures it (classification: ``cfg.ways``); regression: itself."""
        return self

    def train_defaults(self) -> dict[str, object]:
        """Problem settings (``TrainConfig`` fields) this family's runs take when the command line leaves
        them out, where ``TrainConfig``'s defaults do not fit it (Omniglot: one query image per class)."""
        return {}

    def check_sizes(self, shots: int, query: int) -> None:
        """A clear ``ValueError`` when tasks of ``shots`` support and ``query`` query examples (per class
        for classification) cannot be drawn; families with a finite number of examples per class say so."""

    def sample(
        self, n_tasks: int, shots: int, query: int, generator: torch.Generator,
        device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, split: str = "train",
    ) -> TaskBatch:
        raise NotImplementedError
