"""Frozen run configurations with validated, typed defaults.

Defaults follow Finn et al.'s sinusoid setup (α = 0.01, β = 0.001 with Adam, k = 1, 10 shots,
meta-batch 25, MLP 1-40-40-1 ReLU).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["TrainConfig", "EvalConfig", "OUTER_OPTIMIZERS", "OUTER_LOSSES"]

OUTER_OPTIMIZERS = ("adam", "sgd")
# "query": J_i is the loss on the task's query set (standard practice, the default).
# "support": the source document's literal variant, J_i on the data it adapted on.
OUTER_LOSSES = ("query", "support")


def _check_positive(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_int(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    family: str = "sinusoid"
    algorithm: str = "leo"
    alpha: float = 0.01  # inner step size; too large and k steps overshoot or diverge
    beta: float = 0.001  # outer (meta) step size
    k: int = 1  # inner steps during meta-training; cost and memory grow linearly with k
    shots: int = 10  # support examples per task (per class for classification)
    query: int = 10  # query examples per task used for the outer loss
    meta_batch: int = 25  # tasks per meta-iteration; more = smoother meta-gradient, slower step
    iterations: int = 10_000
    seed: int = 0
    first_order: bool = False  # drop the second-order term (cheaper, usually close)
    outer_loss: str = "query"
    outer_optimizer: str = "adam"
    # iMAML's proximal strength λ: large → φ stays near θ₀ (≈ first order). On sinusoids (α = 0.01,
    # k = 5, 3,000 iterations) λ = 5 trained to the end with 10-step MSE 1.35 ± 0.13 (random ≈ 4.2);
    # λ = 1 was stable but weak (3.47); λ = 2 and λ = 10 diverged late (iterations 2688 and 1131).
    imaml_lambda: float = 5.0
    cg_steps: int = 5  # iMAML's conjugate-gradient iterations for (I + H/λ)⁻¹v; one Hessian-vector product each
    hidden: tuple[int, ...] = (40, 40)  # hidden widths of the MLP (ignored by the linear model)
    device: str = "auto"
    dtype: str = "float32"
    ways: int = 5  # classes per task (N) for classification families; regression ignores it
    cuda_graph: bool = False  # CUDA only: replay one meta-iteration as a captured graph (leo_core/cuda_graph.py)

    def __post_init__(self) -> None:
        _check_positive("alpha", self.alpha)
        _check_positive("beta", self.beta)
        _check_int("k", self.k, 0)
        _check_int("shots", self.shots, 1)
        _check_int("query", self.query, 1)
        _check_int("meta_batch", self.meta_batch, 1)
        _check_int("iterations", self.iterations, 0)
        _check_int("seed", self.seed, 0)
        _check_positive("imaml_lambda", self.imaml_lambda)
        _check_int("cg_steps", self.cg_steps, 1)
        _check_int("ways", self.ways, 2)
        if not isinstance(self.cuda_graph, bool):
            raise ValueError(f"cuda_graph must be true or false, got {self.cuda_graph!r}")
        if self.outer_loss not in OUTER_LOSSES:
            raise ValueError(f"outer_loss must be one of {OUTER_LOSSES}, got {self.outer_loss!r}")
        if self.outer_optimizer not in OUTER_OPTIMIZERS:
            raise ValueError(f"outer_optimizer must be one of {OUTER_OPTIMIZERS}, got {self.outer_optimizer!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
            raise ValueError(f"hidden must be positive layer widths, got {self.hidden!r}")
        # Local imports: the registries import this module.
        from .algorithms import get_algorithm
        from .tasks import get_family

        get_family(self.family).configure(self)  # also checks ways against the family's classes
        get_algorithm(self.algorithm)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(sorted(unknown))}")
        d = dict(d)
        if "hidden" in d:
            d["hidden"] = tuple(d["hidden"])
        return cls(**d)


@dataclass(frozen=True)
class EvalConfig:
    tasks: int = 600  # fresh test tasks
    shots: int = 10
    query: int = 100  # query points per regression task (per class for classification)
    steps: int = 10  # evaluate after 0, 1, …, steps inner steps
    alpha: float | None = None  # None: the α the checkpoint was trained with
    seed: int = 12345  # kept apart from training seeds so test tasks are fresh
    chunk: int = 200  # tasks per batched computation (bounds memory)
    split: str = "test"  # meta-test tasks; "train" measures on meta-training classes (the gap)

    def __post_init__(self) -> None:
        _check_int("tasks", self.tasks, 1)
        _check_int("shots", self.shots, 1)
        _check_int("query", self.query, 1)
        _check_int("steps", self.steps, 0)
        _check_int("seed", self.seed, 0)
        _check_int("chunk", self.chunk, 1)
        if self.split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {self.split!r}")
        if self.alpha is not None:
            _check_positive("alpha", self.alpha)
