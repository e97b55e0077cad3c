"""Few-shot classification task families: 2-D points and scikit-learn's 8×8 handwritten digits.

A task is N-way K-shot: N classes, K support and Q query examples per class. Labels 0…N−1 are
assigned to the task's classes in a random order, so the same class gets different labels in
different tasks and an initialization cannot memorise "class c is label 2" — it must adapt.

Shapes: ``x_support [T, N·K, D]``, ``y_support [T, N·K]`` (int64), ``x_query [T, N·Q, D]``,
``y_query [T, N·Q]``; examples are grouped by label (K of label 0, then K of label 1, …).
``task_params`` holds what the app needs to draw a task (blob centres, or the digit classes);
``global_labels(batch)`` turns it into labels that mean the same class in every task (the
pretrained baseline trains one classifier on them).

``ways`` is part of the family because the model's output size depends on it: ``configure(cfg)``
returns a frozen copy with ``cfg.ways``; ``default_model()`` is then the MLP D-40-40-N.

Meta-train and meta-test: ``sample(..., split="train" | "test")``. The digits family draws each
split from its own disjoint set of classes; the 2-D family has a continuum of tasks, so both
splits draw from the same distribution (fresh tasks through the seed).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Any, Sequence

import torch
from torch import Tensor

from ..i18n import N_, _
from ..models import MLP, Model
from .base import TaskBatch, TaskFamily, check_split

__all__ = [
    "ClassificationFamily", "Points2DFamily", "DigitsFamily", "CLASSIFICATION_FAMILIES",
    "digits_data", "digit_class", "DIGIT_ROTATIONS",
]

DIGIT_ROTATIONS = (0, 90, 180, 270)  # each rotation of each digit is its own class: 10 × 4 = 40
_DIGIT_SIDE = 8
_DIGIT_MAX = 16.0  # pixel values in the bundled data are 0…16


@dataclass(frozen=True)
class ClassificationFamily(TaskFamily):
    """What both classification families share: ways, the model, argument checks, the labels."""

    name: str
    title: str
    description: str
    ways: int = 5  # classes per task (N); the model's output size
    loss: str = "cross_entropy"
    is_classification: bool = True
    eval_query: int = 15  # query examples per class at meta-test (the usual few-shot protocol)

    input_dim: int = 0  # set by subclasses

    def __post_init__(self) -> None:
        if not isinstance(self.ways, int) or self.ways < 2:
            raise ValueError(f"ways must be an integer >= 2, got {self.ways!r}")
        limit = self.max_ways()
        if limit is not None and self.ways > limit:
            raise ValueError(_("{family} has at most {limit} classes per split, so ways must be <= {limit} (got "
                               "{ways})").format(family=self.name, limit=limit, ways=self.ways))

    def max_ways(self) -> int | None:
        """The most classes a task can have (None: unlimited)."""
        return None

    def configure(self, cfg: Any) -> "ClassificationFamily":
        """This family with ``cfg.ways`` classes per task (a frozen copy)."""
        ways = getattr(cfg, "ways", self.ways)
        return self if ways == self.ways else replace(self, ways=ways)

    def default_model(self) -> Model:
        return MLP(sizes=(self.input_dim, 40, 40, self.ways))

    # -- global labels for the pretrained baseline (Chen et al. 2019) --------------------------------

    def pretrain_classes(self) -> int:
        """How many global classes the pretrained baseline's classifier has (its head's outputs)."""
        return len(self.split_classes("train"))

    def global_class_ids(self, task_params: dict[str, Tensor]) -> Tensor:
        """``[T, N]``: the global class (0 … ``pretrain_classes()`` − 1) behind each task label. Families with
        a finite class set (``split_classes``, ``n_classes``): each task class's position among the
        meta-training classes; meta-test classes have none, a ``ValueError``."""
        classes = task_params["classes"]
        lookup = torch.full((self.n_classes(),), -1, dtype=torch.long, device=classes.device)
        train = torch.as_tensor(self.split_classes("train"), device=classes.device)
        lookup[train] = torch.arange(train.numel(), device=classes.device)
        ids = lookup[classes]
        if bool((ids < 0).any()):
            raise ValueError("global labels exist only for meta-training classes (split='train')")
        return ids

    def n_classes(self) -> int:
        """How many classes the family has, both splits (class ids run 0 … n − 1)."""
        raise NotImplementedError

    def split_classes(self, split: str) -> Sequence[int] | Tensor:
        """The class ids of a split."""
        raise NotImplementedError

    def global_labels(self, batch: TaskBatch) -> tuple[Tensor, Tensor]:
        """The global class of every support and query example (``[T, N·K]``, ``[T, N·Q]``): the
        task label ``l`` of task ``t`` becomes ``global_class_ids(...)[t, l]``, the same class
        everywhere, so a classifier over all meta-training classes can be trained on them."""
        ids = self.global_class_ids(batch.task_params)
        return ids.gather(1, batch.y_support), ids.gather(1, batch.y_query)

    def _check(self, n_tasks: int, shots: int, query: int, split: str) -> None:
        check_split(split)
        if n_tasks < 1 or shots < 1 or query < 1:
            raise ValueError(f"need at least one task, shot and query example (got {n_tasks}, {shots}, {query})")

    def _labels(self, n_tasks: int, per_class: int, device: torch.device) -> Tensor:
        """``[T, N·per_class]``: 0 × per_class, 1 × per_class, … (examples are grouped by label)."""
        labels = torch.arange(self.ways, device=device).repeat_interleave(per_class)
        return labels.expand(n_tasks, -1).contiguous()

    def _batch(self, x: Tensor, shots: int, task_params: dict[str, Tensor]) -> TaskBatch:
        """Split ``x [T, N, K+Q, D]`` into support and query, with labels."""
        t, n, kq, d = x.shape
        query = kq - shots
        return TaskBatch(
            x[:, :, :shots].reshape(t, n * shots, d), self._labels(t, shots, x.device),
            x[:, :, shots:].reshape(t, n * query, d), self._labels(t, query, x.device),
            task_params,
        )


@dataclass(frozen=True)
class Points2DFamily(ClassificationFamily):
    """N Gaussian blobs in the plane: centres ~ U(centre_range)², points = centre + σ·ε.

    Two input dimensions, so the decision regions of a model can be drawn over ``extent``².
    """

    input_dim: int = 2
    centre_range: tuple[float, float] = (-3.0, 3.0)
    spread: float = 0.6  # σ of each blob; larger = more overlap between classes, harder tasks
    extent: tuple[float, float] = (-5.0, 5.0)  # square to draw decision regions on
    # The pretrained baseline's global classes: blobs have no finite class set, so a blob's global
    # class is the cell of its centre on a grid × grid partition of centre_range² (6: cells of
    # width 1, about 1.7σ; finer grids give labels the points barely tell apart).
    pretrain_grid: int = 6

    def __post_init__(self) -> None:
        if not isinstance(self.pretrain_grid, int) or self.pretrain_grid < 1:
            raise ValueError(f"pretrain_grid must be an integer >= 1, got {self.pretrain_grid!r}")
        super().__post_init__()

    def pretrain_classes(self) -> int:
        return self.pretrain_grid * self.pretrain_grid

    def global_class_ids(self, task_params: dict[str, Tensor]) -> Tensor:
        """The grid cell (row-major over (x, y)) of each blob's centre: ``[T, N]``."""
        lo, hi = self.centre_range
        cell = ((task_params["centres"] - lo) / (hi - lo) * self.pretrain_grid).floor().long()
        cell = cell.clamp(0, self.pretrain_grid - 1)
        return cell[..., 0] * self.pretrain_grid + cell[..., 1]

    def sample(
        self, n_tasks: int, shots: int, query: int, generator: torch.Generator,
        device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, split: str = "train",
    ) -> TaskBatch:
        self._check(n_tasks, shots, query, split)
        device = torch.device(device)
        lo, hi = self.centre_range
        centres = torch.rand(n_tasks, self.ways, 2, generator=generator, device=device, dtype=dtype) * (hi - lo) + lo
        noise = torch.randn(n_tasks, self.ways, shots + query, 2, generator=generator, device=device, dtype=dtype)
        x = centres.unsqueeze(2) + self.spread * noise
        return self._batch(x, shots, {"centres": centres})


@functools.lru_cache(maxsize=1)
def _digits_cpu() -> tuple[Tensor, Tensor]:
    """All 40 classes as ``[40, M, 64]`` in [0, 1] (padded to the largest class) and counts ``[40]``.

    Reads the copy of the UCI digits bundled inside scikit-learn: no network, read once.
    """
    from sklearn.datasets import load_digits  # local: only the digits family needs scikit-learn

    digits = load_digits()
    images = torch.as_tensor(digits.images, dtype=torch.float32) / _DIGIT_MAX  # [n, 8, 8]
    targets = torch.as_tensor(digits.target)
    per_digit = [images[targets == d] for d in range(10)]
    classes = [torch.rot90(img, r // 90, dims=(1, 2)) for r in DIGIT_ROTATIONS for img in per_digit]
    counts = torch.tensor([c.shape[0] for c in classes])
    data = torch.zeros(len(classes), int(counts.max()), _DIGIT_SIDE * _DIGIT_SIDE)
    for i, c in enumerate(classes):
        data[i, : c.shape[0]] = c.reshape(c.shape[0], -1)
    return data, counts


@functools.lru_cache(maxsize=4)
def digits_data(device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """``_digits_cpu()`` on ``device`` in ``dtype``, kept there (one copy per device and dtype)."""
    data, counts = _digits_cpu()
    return data.to(device, dtype), counts.to(device)


def digit_class(class_id: int) -> tuple[int, int]:
    """Class id → (digit, rotation in degrees); class ids run digit-fastest: id = 10·r + digit."""
    return class_id % 10, DIGIT_ROTATIONS[class_id // 10]


@dataclass(frozen=True)
class DigitsFamily(ClassificationFamily):
    """N-way K-shot on scikit-learn's 8×8 digits, each of 4 rotations a class (40 classes).

    The split is fixed and by digit, as Omniglot's is by character: the ``test_digits`` (all four
    rotations of each, 12 classes) are never seen in meta-training, which uses the other 7 digits
    (28 classes), so no meta-test class is a rotated copy of a meta-training class. The held-out
    digits are ones a half turn changes: 0, 1 and 8 look almost the same turned by 180°, and a
    turned 6 is a 9; holding any of them out would put near-duplicate classes into meta-test tasks
    (or a train class's copy into the test split).
    """

    input_dim: int = _DIGIT_SIDE * _DIGIT_SIDE
    side: int = _DIGIT_SIDE  # images are side × side
    items: str = N_("digits")  # what one image shows, in the app's words
    test_digits: tuple[int, ...] = (3, 4, 7)

    def __post_init__(self) -> None:
        if not self.test_digits or len(set(self.test_digits)) != len(self.test_digits) or not all(
            0 <= d <= 9 for d in self.test_digits
        ) or len(self.test_digits) == 10:
            raise ValueError(f"test_digits must be distinct digits 0-9, not all ten, got {self.test_digits!r}")
        super().__post_init__()

    def class_name(self, class_id: int) -> str:
        digit, rotation = digit_class(class_id)
        return _("digit {digit}, {rotation}°").format(digit=digit, rotation=rotation)

    def max_ways(self) -> int:
        return len(DIGIT_ROTATIONS) * min(len(self.test_digits), 10 - len(self.test_digits))

    def split_classes(self, split: str) -> tuple[int, ...]:
        """Class ids (10·rotation_index + digit) of a split; see ``digit_class``."""
        check_split(split)
        held_out = set(self.test_digits)
        digits = [d for d in range(10) if (d in held_out) == (split == "test")]
        return tuple(10 * r + d for r in range(len(DIGIT_ROTATIONS)) for d in digits)

    def n_classes(self) -> int:
        return len(DIGIT_ROTATIONS) * 10

    def sample(
        self, n_tasks: int, shots: int, query: int, generator: torch.Generator,
        device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, split: str = "train",
    ) -> TaskBatch:
        self._check(n_tasks, shots, query, split)
        device = torch.device(device)
        data, counts = digits_data(device, dtype)
        pool = torch.tensor(self.split_classes(split), device=device)
        smallest = int(counts[pool].min())
        if shots + query > smallest:
            raise ValueError(_("shots + query per class must be <= {limit} for {family} (got {shots} + {query})"
                               ).format(limit=smallest, family="digits", shots=shots, query=query))
        # A random order of the split's classes per task; its first N are the task's classes, and
        # the position in that order is the label, so labels are permuted per task.
        order = torch.rand(n_tasks, pool.numel(), generator=generator, device=device).argsort(dim=-1)
        classes = pool[order[:, : self.ways]]  # [T, N]
        # K+Q distinct examples per class: the smallest random keys among the class's real rows.
        keys = torch.rand(n_tasks, self.ways, data.shape[1], generator=generator, device=device)
        row = torch.arange(data.shape[1], device=device)
        keys = keys.masked_fill(row >= counts[classes].unsqueeze(-1), math.inf)
        rows = keys.argsort(dim=-1)[..., : shots + query]  # [T, N, K+Q]
        x = data[classes.unsqueeze(-1), rows]  # [T, N, K+Q, 64]
        return self._batch(x, shots, {"classes": classes})


CLASSIFICATION_FAMILIES: dict[str, ClassificationFamily] = {
    "points2d": Points2DFamily(
        name="points2d",
        title=N_("2-D point clouds (few-shot classification)"),
        description=N_("N Gaussian blobs (σ = 0.6) at random centres in [−3, 3]²; each class a blob, labels "
        "shuffled per task. K support and Q query points per class; decision regions can be drawn."),
    ),
    "digits": DigitsFamily(
        name="digits",
        title=N_("Handwritten digits, N-way K-shot (scikit-learn 8×8)"),
        description=N_("The 8×8 digits bundled with scikit-learn, rotated by 0°, 90°, 180°, 270° into 40 classes; "
        "3 digits (12 classes) are held out for meta-test. Labels are shuffled per task."),
    ),
}
